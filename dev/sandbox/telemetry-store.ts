// What the Application Insights ingestion twin (monitor.ts) captured, for tests to read.

const LIMIT = 20_000;

/** A telemetry envelope as the exporter sent it (ver, name, time, iKey, tags, data, ...), plus when the twin got it. */
export interface TelemetryEnvelope {
  receivedAt: string;
  name?: string;
  time?: string;
  iKey?: string;
  tags?: Record<string, string>;
  data?: { baseType?: string; baseData?: Record<string, unknown> };
  [field: string]: unknown;
}

/** Bounded in memory (newest last); like the request log, kept across /_sandbox/reset and lost on restart. */
export class TelemetryStore {
  private entries: TelemetryEnvelope[] = [];

  add(envelopes: readonly Record<string, unknown>[], receivedAt: string): void {
    for (const e of envelopes) this.entries.push({ ...e, receivedAt });
    if (this.entries.length > LIMIT) this.entries.splice(0, this.entries.length - LIMIT);
  }

  list(): TelemetryEnvelope[] {
    return [...this.entries];
  }

  clear(): void {
    this.entries = [];
  }
}
