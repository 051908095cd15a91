import type { AppendBlobClient, ContainerClient } from '@azure/storage-blob';
import type { TokenCredential } from '@azure/identity';
import { randomUUID } from 'node:crypto';
import { AuditChain, type ChainedRecord } from './chain.js';
import type { AuditRecord } from './record.js';

/** Append blobs take at most 50,000 blocks; a new part starts well before that (a block holds one or more records). */
const RECORDS_PER_BLOB = 40_000;
const APPEND_TIMEOUT_MS = 5_000;
/** Records queued under load go in one append, whole lines only, well under the 4 MiB block limit. */
const MAX_BATCH_BYTES = 1024 * 1024;

export interface DurableAuditLog {
  /** Chains the record and queues it; `stored` resolves once it is in the store (callers decide whether to wait). */
  append(record: AuditRecord): { chained: ChainedRecord; stored: Promise<void> };
  /** Whether the store accepts records now: the queue drains, or a probe answers, within `timeoutMs`. */
  ready(timeoutMs: number): Promise<boolean>;
  /** Writes everything queued (at shutdown), within `timeoutMs`. */
  flush(timeoutMs: number): Promise<void>;
  readonly writer: string;
}

/**
 * The tamper-evident copy of the audit trail: hash-chained records appended, in order, to append blobs in the
 * department's CMK storage (the container carries an immutability policy in Azure). Writes are queued and
 * retried, never dropped: a record that cannot be stored now is stored when the store is back.
 */
export function createBlobAuditLog(containerUrl: string, credential: TokenCredential, log: (message: string, error?: unknown) => void): DurableAuditLog {
  // The Blob SDK (hundreds of modules) loads with the first record, not at start.
  let containerClient: Promise<ContainerClient> | undefined;
  const container = () =>
    (containerClient ??= import('@azure/storage-blob').then(({ ContainerClient }) => new ContainerClient(containerUrl, credential)));
  // linear: one character class, no quantifier: one step per character.
  const writer = `${new Date().toISOString().replace(/[:.]/g, '-')}-${randomUUID().slice(0, 8)}`;
  const chain = new AuditChain(writer);
  const queue: { record: ChainedRecord; done: () => void }[] = [];
  let failing = false;
  let draining: Promise<void> | undefined;
  let part = 0;
  let blob: AppendBlobClient | undefined;
  /** The blob's length as we know it: every append is conditional on it, so a retried append never lands twice. */
  let position = 0;
  /** An append whose answer was lost: where it started and how long it was. */
  let unanswered: { at: number; bytes: number; count: number } | undefined;

  async function openPart(wanted: number): Promise<AppendBlobClient> {
    if (!blob || wanted !== part) {
      part = wanted;
      const client = (await container()).getAppendBlobClient(`${writer}/${String(part).padStart(4, '0')}.jsonl`);
      const signal = AbortSignal.timeout(APPEND_TIMEOUT_MS);
      await client.createIfNotExists({ abortSignal: signal, blobHTTPHeaders: { blobContentType: 'application/x-ndjson' } });
      position = (await client.getProperties({ abortSignal: signal })).contentLength ?? 0;
      blob = client;
    }
    return blob;
  }

  /** The queued records that go in the next append: same blob part, whole lines, up to MAX_BATCH_BYTES. */
  function nextBatch(): { count: number; text: string; part: number } {
    const wanted = Math.floor((queue[0]!.record.seq - 1) / RECORDS_PER_BLOB);
    const lines: string[] = [];
    let bytes = 0;
    for (const { record } of queue) {
      if (Math.floor((record.seq - 1) / RECORDS_PER_BLOB) !== wanted) break;
      const line = `${JSON.stringify(record)}\n`;
      const size = Buffer.byteLength(line);
      if (lines.length > 0 && bytes + size > MAX_BATCH_BYTES) break;
      lines.push(line);
      bytes += size;
    }
    return { count: lines.length, text: lines.join(''), part: wanted };
  }

  async function drain(): Promise<void> {
    while (queue.length > 0) {
      const batch = nextBatch();
      const bytes = Buffer.byteLength(batch.text);
      try {
        const target = await openPart(batch.part);
        let written = batch.count;
        if (unanswered && position === unanswered.at + unanswered.bytes) {
          // The append whose answer was lost did land (the blob, just reopened, grew by exactly its length): those
          // records are stored, and are not written twice.
          written = unanswered.count;
        } else {
          unanswered = { at: position, bytes, count: batch.count };
          await target.appendBlock(batch.text, bytes, { abortSignal: AbortSignal.timeout(APPEND_TIMEOUT_MS), conditions: { appendPosition: position } });
          position += bytes;
        }
        unanswered = undefined;
        for (const done of queue.splice(0, written)) done.done();
        if (failing) log(`Audit store accepts records again; ${queue.length} still queued`);
        failing = false;
      } catch (error) {
        if (!failing) log(`Audit store is not accepting records; ${queue.length} queued and retried`, error);
        failing = true;
        blob = undefined; // reopened, and its length read again, before the retry
        await new Promise((resolve) => setTimeout(resolve, 1_000));
      }
    }
  }

  const kick = () => (draining ??= drain().finally(() => (draining = undefined)));

  return {
    writer,
    append(record) {
      const chained = chain.link(record);
      const stored = new Promise<void>((resolve) => {
        queue.push({ record: chained, done: resolve });
        void kick();
      });
      return { chained, stored };
    },
    async ready(timeoutMs) {
      const deadline = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), timeoutMs).unref());
      if (queue.length > 0 || failing) {
        // Records are waiting: the store is ready only if they drain in time.
        return Promise.race([kick().then(() => !failing), deadline]);
      }
      // Asked every time, with an append (what the audit needs), not a read: a write must not run on the hope that
      // a store which answered a while ago, or answers reads, also takes records.
      const probe = (async () => {
        const heartbeat = (await container()).getAppendBlobClient(`_probe/${writer}.log`);
        const signal = AbortSignal.timeout(timeoutMs);
        await heartbeat.createIfNotExists({ abortSignal: signal });
        const line = `${new Date().toISOString()}\n`;
        await heartbeat.appendBlock(line, Buffer.byteLength(line), { abortSignal: signal });
        return true;
      })().catch(() => false);
      return Promise.race([probe, deadline]);
    },
    async flush(timeoutMs) {
      await Promise.race([kick(), new Promise((resolve) => setTimeout(resolve, timeoutMs).unref())]);
    },
  };
}
