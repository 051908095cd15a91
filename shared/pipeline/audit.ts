import type { AuditRecord } from '../audit/record.js';
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
  /** Writes every record still waiting to be written (before a flush or a shutdown). */
  settle(): void;
}

/** A copy of each record that is sent on, not awaited: the host's log, Application Insights. */
export type AuditCopy = (record: AuditRecord, azureCalls: readonly AzureCall[]) => void;

/** Each record as a JSON line in the host's log (the Functions host forwards it to Application Insights traces). */
export function logCopy(log: (line: string) => void): AuditCopy {
  return (record) => log(JSON.stringify({ audit: record }));
}

/** Each record as a custom event, with its request and Azure dependencies, in Application Insights. */
export function telemetryCopy(telemetry: TelemetryExport): AuditCopy {
  return (record, azureCalls) => telemetry.send(record, azureCalls);
}

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
  const writeNow = (record: AuditRecord, azureCalls: readonly AzureCall[], options: { awaited?: boolean }) => {
    const appended = durable?.append(record, options);
    const copied = appended ? { ...record, ...chainFields(appended.chained) } : record;
    for (const copy of copies) copy(copied, azureCalls);
    return appended ? { stored: appended.stored } : {};
  };
  /** Records not yet written, oldest first: written together on the next turn of the event loop. */
  let waiting: [AuditRecord, readonly AzureCall[]][] = [];
  const settle = () => {
    const records = waiting;
    waiting = [];
    for (const [record, azureCalls] of records) {
      try {
        writeNow(record, azureCalls, {});
      } catch (error) {
        onError(`Audit record ${record.correlationId} could not be written`, error);
      }
    }
  };
  return {
    write(record, azureCalls = [], options = {}) {
      if (options.awaited) {
        // Records that came before it are written before it: the chain keeps the order calls finished in.
        settle();
        return writeNow(record, azureCalls, options);
      }
      waiting.push([record, azureCalls]);
      if (waiting.length === 1) setImmediate(settle);
      return {};
    },
    settle,
  };
}

/** The chain's fields of the stored record (those of them it has so far: it is sealed once the keys are in hand). */
function chainFields(chained: AuditRecord): Partial<Omit<ChainedRecord, keyof AuditRecord>> {
  const { writer, seq, prevHash, keyVersion, mac, hash } = chained as Partial<ChainedRecord>;
  return Object.fromEntries(Object.entries({ writer, seq, prevHash, keyVersion, mac, hash }).filter(([, value]) => value !== undefined));
}
