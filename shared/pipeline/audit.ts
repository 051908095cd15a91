import type { AuditRecord } from '../audit/record.js';

export type { AuditRecord };

export interface AuditSink {
  /** Resolves once the record is logged; `stored` (if any) once it is in the tamper-evident store. */
  write(record: AuditRecord): Promise<{ stored?: Promise<void> }> | { stored?: Promise<void> } | void;
}

/** Writes records as JSON lines to the host's log (Application Insights traces when running in Azure). */
export function logAuditSink(log: (line: string) => void): AuditSink {
  return {
    write: (record) => {
      log(JSON.stringify({ audit: record }));
      return {};
    },
  };
}

/**
 * The log line and the durable chain. The chain's append is queued, not awaited: a slow or absent store never
 * holds up a response (write calls check the store before they run instead).
 */
export function auditSinks(log: AuditSink, durable?: { append(record: AuditRecord): { chained: AuditRecord; stored: Promise<void> } }): AuditSink {
  return {
    async write(record) {
      if (!durable) {
        await log.write(record);
        return {};
      }
      const { chained, stored } = durable.append(record);
      // The log line carries the same chain fields (writer, seq, hashes), so the SOC can spot gaps there too.
      await log.write(chained);
      return { stored };
    },
  };
}
