import type { AuditRecord } from '../audit/record.js';
import { isAuditedBody, type AuditedBody } from '../audit/body.js';
import { LONG_TEXT, longTextJson } from '../audit/long-text-json.js';
import type { ChainedRecord } from '../audit/chain.js';
import type { AzureCall } from '../audit/scope.js';
import type { TelemetryExport } from '../audit/app-insights.js';

export type { AuditRecord };

export interface AuditSink {
  /**
   * Writes the record: logs it, sends its copies and appends it to the tamper-evident store. `awaited` (a change):
   * written at once, and `stored` resolves once it is in the store, which does not hold it back for company. A
   * record nobody waits for (a read, a refusal) is written just after its answer is handed back, in the order
   * records came: its caller does not wait for the hashing, the log line and the copies.
   */
  write(record: AuditRecord, azureCalls?: readonly AzureCall[], options?: { awaited?: boolean }): { stored?: Promise<void> };
  /** Writes every record still waiting to be written (before a flush). */
  settle(): void;
  /** At shutdown: writes every record still waiting, and from then on each record at once. */
  close(): void;
}

/** A copy of each record that is sent on, not awaited: the host's log, Application Insights. */
export type AuditCopy = (record: AuditRecord, azureCalls: readonly AzureCall[]) => void;

/** Each record as a JSON line in the host's log (the Functions host forwards it to Application Insights traces). */
export function logCopy(log: (line: string) => void): AuditCopy {
  return (record) => log(auditLine(record));
}

/**
 * `JSON.stringify({ audit: record })`, the same text, with each long body text's JSON taken from the one remembered
 * (../audit/long-text-json.ts): every `tools/list` record's answer text is the same 8 KiB of the catalogue, whose JSON
 * the seal has just rendered. test/audit-line.test.ts compares the two on generated records.
 */
export function auditLine(record: AuditRecord): string {
  // Member by member costs more than one JSON.stringify: worth it only for a long text (a few µs against 15-20).
  if (!hasLongText(record.requestBody) && !hasLongText(record.responseBody)) return JSON.stringify({ audit: record });
  const members: string[] = [];
  for (const [key, value] of Object.entries(record) as [string, unknown][]) {
    const json = value !== null && typeof value === 'object' && isAuditedBody(value) && hasLongText(value) ? bodyJson(value) : JSON.stringify(value);
    // What JSON.stringify leaves out of an object (undefined, functions, symbols) renders as undefined.
    if (json !== undefined) members.push(`${JSON.stringify(key)}:${json}`);
  }
  return `{"audit":{${members.join(',')}}}`;
}

const hasLongText = (body: AuditedBody | undefined): boolean => typeof body?.text === 'string' && body.text.length >= LONG_TEXT;

/** A body as JSON.stringify renders it, its long text's JSON remembered. */
function bodyJson(body: AuditedBody): string {
  const members: string[] = [];
  for (const [key, value] of Object.entries(body) as [string, unknown][]) {
    const json = key === 'text' ? longTextJson(value as string).json : JSON.stringify(value);
    if (json !== undefined) members.push(`${JSON.stringify(key)}:${json}`);
  }
  return `{${members.join(',')}}`;
}

/** Each record as a custom event, with its request and Azure dependencies, in Application Insights. */
export function telemetryCopy(telemetry: TelemetryExport): AuditCopy {
  return (record, azureCalls) => telemetry.send(record, azureCalls);
}

/** How many waiting records are written in one turn of the event loop (each is tens to hundreds of µs). */
export const RECORDS_PER_TURN = 16;
/**
 * At most this many records wait (each at most a few tens of KB: a body keeps 8 KiB of text). Past it, a new record's caller first writes the oldest one
 * itself, as every caller did before records waited: a flood of reads answered faster than their records are written
 * slows down instead of growing the app's memory.
 */
export const MAX_WAITING_RECORDS = 256;

/**
 * The copies and the durable chain. The chain's append is queued, not awaited: a slow or absent store never
 * holds up a response (write calls check the store before they run instead). Copies carry the chain fields
 * (writer, seq, hashes), so the SOC can spot gaps there too, on the record as it was: the people the stored copy
 * pseudonymises stay named in the copies, whose retention is shorter.
 */
export function auditSinks(
  copies: readonly AuditCopy[],
  durable?: { append(record: AuditRecord, options?: { awaited?: boolean }): { chained: AuditRecord; stored: Promise<void> } },
  onError: (message: string, error: unknown) => void = () => {},
): AuditSink {
  /** A failure told to the operators; a logger that fails too cannot stop the records after it. */
  const report = (record: AuditRecord, error: unknown) => {
    try {
      onError(`Audit record ${record.correlationId} could not be written`, error);
    } catch {
      // Nothing else to tell it to.
    }
  };
  const writeNow = (record: AuditRecord, azureCalls: readonly AzureCall[], options: { awaited?: boolean }) => {
    const appended = durable?.append(record, options);
    const copied = appended ? { ...record, ...chainFields(appended.chained) } : record;
    // A copy that fails (the log stream, the exporter) neither stops the others nor loses a change's wait for the store.
    for (const copy of copies) {
      try {
        copy(copied, azureCalls);
      } catch (error) {
        report(record, error);
      }
    }
    return appended ? { stored: appended.stored } : {};
  };
  /** Records not yet written, oldest first: written on the next turns of the event loop. */
  const waiting: [AuditRecord, readonly AzureCall[]][] = [];
  let scheduled = false;
  /** Shutting down: every record is written at once. */
  let closing = false;
  /** Writes the oldest `count` records still waiting (all of them by default), taking each off as it goes. */
  const writeWaiting = (count = waiting.length) => {
    for (let written = 0; written < count; written += 1) {
      const next = waiting.shift();
      if (!next) return;
      try {
        writeNow(next[0], next[1], {});
      } catch (error) {
        report(next[0], error);
      }
    }
  };
  // A few at a time, a turn of the event loop between: a burst of answers never holds other requests (/health) for
  // the writing of all their records at once.
  const writeSome = () => {
    scheduled = false;
    writeWaiting(RECORDS_PER_TURN);
    schedule();
  };
  const schedule = () => {
    if (scheduled || waiting.length === 0) return;
    scheduled = true;
    setImmediate(writeSome);
  };
  return {
    write(record, azureCalls = [], options = {}) {
      if (options.awaited || closing) {
        // Records that came before it are written before it: the chain keeps the order calls finished in.
        writeWaiting();
        return writeNow(record, azureCalls, options);
      }
      if (waiting.length >= MAX_WAITING_RECORDS) writeWaiting(waiting.length - MAX_WAITING_RECORDS + 1);
      waiting.push([record, azureCalls]);
      schedule();
      return {};
    },
    settle: () => writeWaiting(),
    close() {
      closing = true;
      writeWaiting();
    },
  };
}

/** The chain's fields of the stored record (those of them it has so far: it is sealed once the keys are in hand). */
function chainFields(chained: AuditRecord): Partial<Omit<ChainedRecord, keyof AuditRecord>> {
  const { writer, seq, prevHash, keyVersion, mac, hash } = chained as Partial<ChainedRecord>;
  return Object.fromEntries(Object.entries({ writer, seq, prevHash, keyVersion, mac, hash }).filter(([, value]) => value !== undefined));
}
