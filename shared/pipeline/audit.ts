import type { AuditRecord } from '../audit/record.js';

export type { AuditRecord };

export interface AuditSink {
  write(record: AuditRecord): void | Promise<void>;
}

/** Writes records as JSON lines to the host's log (Application Insights traces when running in Azure). */
export function logAuditSink(log: (line: string) => void): AuditSink {
  return { write: (record) => log(JSON.stringify({ audit: record })) };
}

/**
 * The log line and the durable chain. The chain's append is queued, not awaited: a slow or absent store never
 * holds up a response (write calls check the store before they run instead).
 */
export function auditSinks(log: AuditSink, durable?: { append(record: AuditRecord): Promise<void> }): AuditSink {
  return {
    async write(record) {
      await log.write(record);
      if (durable) void durable.append(record);
    },
  };
}
