import { describe, expect, it } from '@jest/globals';
import { setImmediate as nextMacrotask } from 'node:timers/promises';
import type { AuditRecord } from '../shared/audit/record.js';
import { MAX_WAITING_RECORDS, RECORDS_PER_TURN, auditSinks } from '../shared/pipeline/audit.js';

/**
 * A read's record is written just after its answer is handed back (its caller does not wait for the hashing, the
 * log line and the copies); a change's at once. Either way every record is written, once, in the order the calls
 * finished — the chain's order — and a flush or a shutdown writes what is still waiting.
 */
const record = (correlationId: string, risk: AuditRecord['risk']): AuditRecord => ({
  time: new Date().toISOString(),
  correlationId,
  entrance: 'mcp',
  httpMethod: 'POST',
  path: '/mcp',
  httpStatus: 200,
  authenticated: true,
  azureRequestIds: [],
  outcome: 'success',
  durationMs: 1,
  ...(risk ? { risk } : {}),
});

function sinkWithCopies() {
  const logged: string[] = [];
  const appended: string[] = [];
  const sink = auditSinks([(written) => logged.push(written.correlationId)], {
    append(written) {
      appended.push(written.correlationId);
      return { chained: written, stored: Promise.resolve() };
    },
  });
  return { sink, logged, appended };
}

describe('audit records written after the answer', () => {
  it("writes a read's record on the next turn of the event loop, not before its answer", async () => {
    const { sink, logged, appended } = sinkWithCopies();
    const written = sink.write(record('read-1', 'read'));
    expect(written.stored).toBeUndefined();
    expect(logged).toEqual([]);
    expect(appended).toEqual([]);
    await nextMacrotask();
    expect(logged).toEqual(['read-1']);
    expect(appended).toEqual(['read-1']);
  });

  it('writes a change at once, after the reads that finished before it, so the chain keeps the order calls finished in', async () => {
    const { sink, logged, appended } = sinkWithCopies();
    sink.write(record('read-1', 'read'));
    sink.write(record('refused-2', undefined));
    const change = sink.write(record('write-3', 'write'), [], { awaited: true });
    expect(change.stored).toBeInstanceOf(Promise);
    expect(appended).toEqual(['read-1', 'refused-2', 'write-3']);
    sink.write(record('read-4', 'read'));
    await nextMacrotask();
    expect(appended).toEqual(['read-1', 'refused-2', 'write-3', 'read-4']);
    expect(logged).toEqual(appended);
  });

  it('writes what is still waiting when settled (before a flush), and never twice', async () => {
    const { sink, appended } = sinkWithCopies();
    sink.write(record('read-1', 'read'));
    sink.write(record('read-2', 'read'));
    sink.settle();
    expect(appended).toEqual(['read-1', 'read-2']);
    await nextMacrotask();
    expect(appended).toEqual(['read-1', 'read-2']);
  });

  it('writes a burst of records a few per turn, so other work (a /health answer) runs between them', async () => {
    const { sink, appended } = sinkWithCopies();
    for (let i = 0; i < 5 * RECORDS_PER_TURN; i += 1) sink.write(record(`read-${i}`, 'read'));
    // Queued after the burst: it runs once the first few records are written, not after all of them.
    const writtenWhenOtherWorkRan = await new Promise<number>((resolve) => setImmediate(() => resolve(appended.length)));
    expect(writtenWhenOtherWorkRan).toBeGreaterThan(0);
    expect(writtenWhenOtherWorkRan).toBeLessThan(5 * RECORDS_PER_TURN);
    for (let turn = 0; turn < 10 && appended.length < 5 * RECORDS_PER_TURN; turn += 1) await nextMacrotask();
    expect(appended).toEqual(Array.from({ length: 5 * RECORDS_PER_TURN }, (_, i) => `read-${i}`));
  });

  it('holds at most MAX_WAITING_RECORDS waiting: past it, each new record has the oldest written first, in order', async () => {
    const { sink, appended } = sinkWithCopies();
    const flood = MAX_WAITING_RECORDS + 40;
    // All in one turn of the event loop, as a flood of answers would come.
    for (let i = 0; i < flood; i += 1) sink.write(record(`read-${i}`, 'read'));
    expect(appended).toEqual(Array.from({ length: 40 }, (_, i) => `read-${i}`));
    for (let turn = 0; turn < 50 && appended.length < flood; turn += 1) await nextMacrotask();
    expect(appended).toEqual(Array.from({ length: flood }, (_, i) => `read-${i}`));
  });

  it('writes every record at once after close (shutdown), those still waiting first', () => {
    const { sink, appended } = sinkWithCopies();
    sink.write(record('read-1', 'read'));
    sink.close();
    expect(appended).toEqual(['read-1']);
    sink.write(record('read-2', 'read'));
    expect(appended).toEqual(['read-1', 'read-2']);
  });

  it("keeps a change's wait for the store when one of its copies fails, and writes the other copies", () => {
    const failures: string[] = [];
    const logged: string[] = [];
    const stored = Promise.resolve();
    const sink = auditSinks(
      [
        () => {
          throw new Error('exporter gone');
        },
        (written) => logged.push(written.correlationId),
      ],
      { append: (written) => ({ chained: written, stored }) },
      (message) => failures.push(message),
    );
    expect(sink.write(record('write-1', 'write'), [], { awaited: true }).stored).toBe(stored);
    expect(logged).toEqual(['write-1']);
    expect(failures).toEqual(['Audit record write-1 could not be written']);
  });

  it('goes on with the records after one that fails even when telling the operators fails too', async () => {
    const appended: string[] = [];
    const sink = auditSinks(
      [
        (written) => {
          if (written.correlationId === 'bad') throw new Error('log stream closed');
        },
      ],
      {
        append(written) {
          appended.push(written.correlationId);
          return { chained: written, stored: Promise.resolve() };
        },
      },
      () => {
        throw new Error('stderr closed as well');
      },
    );
    sink.write(record('bad', 'read'));
    sink.write(record('good', 'read'));
    await nextMacrotask();
    expect(appended).toEqual(['bad', 'good']);
  });

  it('goes on with the records after one whose copy fails, and says which failed', async () => {
    const failures: string[] = [];
    const logged: string[] = [];
    const sink = auditSinks(
      [
        (written) => {
          if (written.correlationId === 'bad') throw new Error('log stream closed');
          logged.push(written.correlationId);
        },
      ],
      undefined,
      (message) => failures.push(message),
    );
    sink.write(record('bad', 'read'));
    sink.write(record('good', 'read'));
    await nextMacrotask();
    expect(logged).toEqual(['good']);
    expect(failures).toEqual(['Audit record bad could not be written']);
  });
});
