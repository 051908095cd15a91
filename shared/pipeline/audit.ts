import type { RiskTier } from '../tools/tool.js';

/** One record per tool call, whatever its outcome. */
export interface AuditRecord {
  time: string;
  correlationId: string;
  entrance: 'mcp' | 'tools' | 'approvals';
  callerOid?: string;
  callerTid?: string;
  clientAppId?: string;
  tool: string;
  risk?: RiskTier;
  decision: 'allowed' | 'denied';
  rule: string;
  outcome: 'success' | 'error';
  errorCode?: string;
  /** The human approval a destructive call requested or used, and who granted it. */
  approvalId?: string;
  approverOid?: string;
  /** Untrusted strings in the result, and the kinds of injection or hidden text the shield flagged. */
  untrustedFields?: number;
  injectionFlags?: string[];
  durationMs: number;
}

export interface AuditSink {
  write(record: AuditRecord): void | Promise<void>;
}

/** Writes records as JSON lines to the host's log (Application Insights traces when running in Azure). */
export function logAuditSink(log: (line: string) => void): AuditSink {
  return { write: (record) => log(JSON.stringify({ audit: record })) };
}
