import type { RiskTier } from '../tools/tool.js';
import type { AuditedBody } from './body.js';

/** One record per HTTP request that reaches the app, whatever happened to it. */
export interface AuditRecord {
  time: string;
  /** Server-generated id of the request, quoted to the caller in errors. */
  correlationId: string;
  /** The W3C trace id from the caller's `traceparent`, if it sent a valid one; propagated to Azure calls. */
  traceId?: string;
  entrance: 'mcp' | 'tools' | 'approvals' | 'metadata' | 'health';
  httpMethod: string;
  path: string;
  httpStatus: number;
  /** Whether a token was validated; the caller fields below come only from a validated token. */
  authenticated: boolean;
  callerOid?: string;
  callerTid?: string;
  callerName?: string;
  clientAppId?: string;
  /** What the MCP client says it is (clientInfo): informational, never used for attribution. */
  mcpClient?: { name?: string; version?: string };
  jsonRpcMethod?: string;
  tool?: string;
  risk?: RiskTier;
  decision?: 'allowed' | 'denied';
  rule?: string;
  reason?: string;
  approvalId?: string;
  approverOid?: string;
  /** ARM ids of what the call touched, as far as known. */
  targets?: string[];
  /** `x-ms-request-id` of every Azure call made for this request. */
  azureRequestIds: string[];
  outcome: 'success' | 'denied' | 'error';
  errorCode?: string;
  untrustedFields?: number;
  injectionFlags?: string[];
  requestBody?: AuditedBody;
  responseBody?: AuditedBody;
  durationMs: number;
}
