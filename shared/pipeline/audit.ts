import type { AuditRecord } from '../audit/record.js';

export type { AuditRecord };

export interface AuditSink {
  write(record: AuditRecord): void | Promise<void>;
}

/** Writes records as JSON lines to the host's log (Application Insights traces when running in Azure). */
export function logAuditSink(log: (line: string) => void): AuditSink {
  return { write: (record) => log(JSON.stringify({ audit: record })) };
}
