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
export function auditSinks(log: AuditSink, durable?: { append(record: AuditRecord): { chained: AuditRecord } }): AuditSink {
  return {
    async write(record) {
      // The log line carries the same chain fields (writer, seq, hashes), so the SOC can spot gaps there too.
      await log.write(durable ? durable.append(record).chained : record);
    },
  };
}
