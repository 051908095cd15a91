import type { RiskTier } from '../domain/risk-tier.js';
import type { AuditedBody } from './body.js';

/**
 * One record per HTTP request that reaches the app, whatever happened to it. The log and telemetry copies carry it
 * as it is; the tamper-evident store keeps it with people pseudonymised (./pseudonym.ts): no oid, name or UPN.
 */
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
  /** Stored copy only: HMAC of the caller's oid with the pseudonym key (in place of callerOid and callerName). */
  callerPseudonym?: string;
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
  /** The approver's display name, where a refusal quotes it (a rejection): log copies only. */
  approverName?: string;
  /** Stored copy only: HMAC of the approver's oid with the pseudonym key (in place of approverOid and approverName). */
  approverPseudonym?: string;
  /** Stored copy only: the Key Vault secret version of the pseudonym key the pseudonyms were made with. */
  pseudonymKeyVersion?: string;
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
