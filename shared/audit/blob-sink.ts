import type { AppendBlobClient } from '@azure/storage-blob';
import type { TokenCredential } from '@azure/identity';
import { randomUUID } from 'node:crypto';
import type { AnchorTable, WriterAnchor } from './anchors.js';
import type { AuditKey, AuditKeyring } from './audit-key.js';
import { AuditChain, type ChainedRecord, type NumberedRecord } from './chain.js';
import { pseudonymised } from './pseudonym.js';
import type { AuditRecord } from './record.js';
import { packageDigest } from '../http/package-digest.js';
import { DEFAULT_UNAWAITED_LINGER_MS } from '../config/deadlines.js';
import { asRestError } from '../azure/rest-error.js';
import { loadOnFirstUse } from '../runtime/load-on-first-use.js';

/** Append blobs take at most 50,000 blocks; a new part starts well before that (a block holds one or more records). */
const RECORDS_PER_BLOB = 40_000;
const APPEND_TIMEOUT_MS = 5_000;
/** Records queued under load go in one append, whole lines only, well under the 4 MiB block limit. */
const MAX_BATCH_BYTES = 1024 * 1024;
/**
 * Group commit: while records come together, the first of a batch waits this long for others before the append
 * goes, so records that arrive within a few milliseconds share one append and one anchor (each a whole HTTPS round trip through the SDK,
 * about a millisecond of CPU) instead of paying for their own. A write's answer waits this much longer, at most.
 */
export const DEFAULT_LINGER_MS = 4;
/** A batch this large goes at once, however young its records. */
const MAX_BATCH_RECORDS = 1_000;
/** An append position no blob reaches: the readiness probe's append is refused by its precondition, never stored. */
const PROBE_POSITION = Number.MAX_SAFE_INTEGER;

/** A sealed record as the queue keeps it until its append: its line (RFC 8785 JSON and a newline) in UTF-8, its number and hash. */
interface SealedLine {
  seq: number;
  hash: string;
  line: Buffer;
}

export interface DurableAuditLog {
  /**
   * Numbers the record (and seals it, when the audit key is in hand) and queues it; `stored` resolves once it is
   * in the store and its chain's head is anchored. `awaited`: the caller will wait for `stored`, so the record is
   * not held back for company longer than `lingerMs` (others linger up to `unawaitedLingerMs`).
   */
  append(record: AuditRecord, options?: { awaited?: boolean }): { chained: NumberedRecord | ChainedRecord; stored: Promise<void> };
  /** Whether the store accepts records now: the audit key is in hand, and the queue drains or a probe answers, within `timeoutMs`. */
  ready(timeoutMs: number): Promise<boolean>;
  /** Writes everything queued (at shutdown), within `timeoutMs`. */
  flush(timeoutMs: number): Promise<void>;
  /**
   * Gets the audit key, registers the writer and loads the Blob SDK in the background, so a change waits only for
   * the store's probe (the app calls it shortly after start: WARM_UP_DELAY_MS). Never throws; whatever fails
   * is done again by the first record or probe.
   */
  warmUp(): void;
  readonly writer: string;
}

export interface BlobAuditLogOptions {
  containerUrl: string;
  credential: TokenCredential;
  /** The HMAC key in Key Vault that authenticates records and anchors. */
  keyring: AuditKeyring;
  /** The key in Key Vault that pseudonymises people in stored records: no key, no record stored (./pseudonym.ts). */
  pseudonyms: AuditKeyring;
  /** Where the writer is registered and its chain's head anchored, outside the container. */
  anchors: AnchorTable;
  log: (message: string, error?: unknown) => void;
  /** How long the first queued record waits for others to share its append when someone waits for it (default DEFAULT_LINGER_MS; 0: none). */
  lingerMs?: number;
  /** The same when nobody waits for any queued record (default DEFAULT_UNAWAITED_LINGER_MS; 0: none). */
  unawaitedLingerMs?: number;
}

/**
 * The tamper-evident copy of the audit trail: hash-chained, HMAC-authenticated records appended, in order, to
 * append blobs in the department's CMK storage (the container carries an immutability policy in Azure). The
 * writer is registered, and the head of its chain anchored after every append, in Table storage. Writes are
 * queued and retried, never dropped: a record that cannot be stored now is stored when the store (and the key)
 * is back.
 */
export function createBlobAuditLog({
  containerUrl,
  credential,
  keyring,
  pseudonyms,
  anchors,
  log,
  lingerMs = DEFAULT_LINGER_MS,
  unawaitedLingerMs = DEFAULT_UNAWAITED_LINGER_MS,
}: BlobAuditLogOptions): DurableAuditLog {
  // The Blob SDK (hundreds of modules) loads with the first record, not at start.
  const container = loadOnFirstUse(async () => {
    const { ContainerClient } = await import('@azure/storage-blob');
    return new ContainerClient(containerUrl, credential);
  });
  // linear: one character class, no quantifier: one step per character.
  const writer = `${new Date().toISOString().replace(/[:.]/g, '-')}-${randomUUID().slice(0, 8)}`;
  const chain = new AuditChain(writer);
  /**
   * Records in order; each is sealed (hash and MAC) as soon as the key is in hand, always in sequence. A sealed
   * entry keeps only what the append and the anchor need — its line as UTF-8 bytes, its number and hash — not the
   * record: under load entries wait for their append long enough to outlive a young-generation collection or two,
   * and each object they hold is copied every time (a line made of pieces is dozens of them; bytes live outside the heap).
   */
  const queue: {
    seq: number;
    /** Until sealed (the key was not in hand when it came); then let go. */
    numbered?: NumberedRecord | undefined;
    sealed?: SealedLine;
    done: () => void;
    queuedAt: number;
    awaited: boolean;
  }[] = [];
  /** Queued records someone waits for, and readiness probes or flushes waiting: while any, no long linger. */
  let awaitedQueued = 0;
  let hurrying = 0;
  /** Ends the current linger early (a record someone waits for has arrived). */
  let wake: (() => void) | undefined;
  /** How many queued records wait for the key to be sealed (a new record is sealed at once only when none does). */
  let unsealed = 0;
  /** Sealed as stored (people pseudonymised first), with its line; the queue keeps the line's bytes (`kept`). */
  const sealAsLine = (numbered: NumberedRecord, key: AuditKey, pseudonymKey: AuditKey) => chain.sealAsLine(pseudonymised(numbered, pseudonymKey), key);
  const kept = ({ sealed, line }: { sealed: ChainedRecord; line: string }): SealedLine => ({ seq: sealed.seq, hash: sealed.hash, line: Buffer.from(line) });
  const seal = (entry: (typeof queue)[number], key: AuditKey, pseudonymKey: AuditKey) => {
    if (entry.sealed || !entry.numbered) return;
    entry.sealed = kept(sealAsLine(entry.numbered, key, pseudonymKey));
    entry.numbered = undefined;
    unsealed -= 1;
  };
  /** Records stored whose head is not anchored yet, and that head. */
  const unanchored: { done: () => void }[] = [];
  let head: { seq: number; hash: string } | undefined;
  let keyInHand: AuditKey | undefined;
  let pseudonymKeyInHand: AuditKey | undefined;
  let registration: Promise<WriterAnchor> | undefined;
  let failing = false;
  /** How many records the last append carried. */
  let lastBatch = 0;
  let draining: Promise<void> | undefined;
  let part = 0;
  let blob: AppendBlobClient | undefined;
  /** The blob's length as we know it: every append is conditional on it, so a retried append never lands twice. */
  let position = 0;
  /** An append whose answer was lost: where it started and how long it was. */
  let unanswered: { at: number; bytes: number; count: number } | undefined;

  const partName = (index: number) => `${writer}/${String(index).padStart(4, '0')}.jsonl`;

  async function openPart(wanted: number): Promise<AppendBlobClient> {
    if (!blob || wanted !== part) {
      part = wanted;
      const client = (await container()).getAppendBlobClient(partName(part));
      const signal = AbortSignal.timeout(APPEND_TIMEOUT_MS);
      await client.createIfNotExists({ abortSignal: signal, blobHTTPHeaders: { blobContentType: 'application/x-ndjson' } });
      position = (await client.getProperties({ abortSignal: signal })).contentLength ?? 0;
      blob = client;
    }
    return blob;
  }

  /** The key for the next records (re-read from the vault when due), and the writer registered with it once. */
  async function keyAndRegistration(): Promise<{ key: AuditKey; registered: WriterAnchor }> {
    const [key, pseudonymKey] = await Promise.all([keyring.current(), pseudonyms.current()]);
    keyInHand = key;
    pseudonymKeyInHand = pseudonymKey;
    if (unsealed > 0) for (const entry of queue) seal(entry, key, pseudonymKey);
    const registered = await (registration ??= anchors.register(writer, key, packageDigest()).catch((error: unknown) => {
      registration = undefined;
      throw error;
    }));
    return { key, registered };
  }

  /**
   * Lets the batch fill: waits until the oldest queued record has waited `lingerMs` when someone waits for a queued
   * record (records that queued during the last append have waited already, so under load this adds nothing), or
   * `unawaitedLingerMs` when nobody does. Woken early when that changes.
   */
  async function linger(): Promise<void> {
    for (;;) {
      const oldest = queue[0];
      if (!oldest || queue.length >= MAX_BATCH_RECORDS) return;
      // A change is not held back for company that does not come: not when the last append carried only its own
      // record (one change at a time), nor once the queue holds as many records as the last append carried (writers
      // that each wait for their own record before the next are all back: the company has come).
      const urgent = awaitedQueued > 0 || hurrying > 0;
      const wait = urgent ? (lastBatch < 2 || hurrying > 0 || queue.length >= lastBatch ? 0 : lingerMs) : unawaitedLingerMs;
      const left = oldest.queuedAt + wait - performance.now();
      if (left <= 0) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
  }

  /** Makes the queue go without a long linger while `work` runs (a probe or a flush waits on it). */
  async function hurried<T>(work: () => Promise<T>): Promise<T> {
    hurrying += 1;
    wake?.();
    try {
      return await work();
    } finally {
      hurrying -= 1;
    }
  }

  /** The queued records that go in the next append: same blob part, whole lines, up to MAX_BATCH_BYTES. */
  function nextBatch(): { count: number; content: Buffer; bytes: number; part: number } {
    const wanted = Math.floor((queue[0]!.seq - 1) / RECORDS_PER_BLOB);
    const lines: Buffer[] = [];
    let bytes = 0;
    for (const { sealed } of queue) {
      if (!sealed || Math.floor((sealed.seq - 1) / RECORDS_PER_BLOB) !== wanted) break;
      const { line } = sealed;
      if (lines.length > 0 && bytes + line.length > MAX_BATCH_BYTES) break;
      lines.push(line);
      bytes += line.length;
    }
    return { count: lines.length, content: Buffer.concat(lines, bytes), bytes, part: wanted };
  }

  async function drain(): Promise<void> {
    while (queue.length > 0 || head) {
      try {
        // No key, no record: nothing unauthenticated is ever stored (and write calls are refused meanwhile).
        const { key, registered } = await keyAndRegistration();
        if (queue.length > 0) {
          await linger();
          const batch = nextBatch();
          const { bytes } = batch;
          const target = await openPart(batch.part);
          let written = batch.count;
          if (unanswered && position === unanswered.at + unanswered.bytes) {
            // The append whose answer was lost did land (the blob, just reopened, grew by exactly its length): those
            // records are stored, and are not written twice.
            written = unanswered.count;
          } else {
            unanswered = { at: position, bytes, count: batch.count };
            // Bytes, not text: the SDK would otherwise encode it twice (once to measure it, once to send it).
            await target.appendBlock(batch.content, bytes, {
              abortSignal: AbortSignal.timeout(APPEND_TIMEOUT_MS),
              conditions: { appendPosition: position },
            });
            position += bytes;
          }
          unanswered = undefined;
          const landed = queue.splice(0, written);
          lastBatch = landed.length;
          for (const entry of landed) if (entry.awaited) awaitedQueued -= 1;
          head = landed.at(-1)?.sealed ?? head;
          unanchored.push(...landed);
        }
        // The head goes outside the container after every append: a chain cut shorter than its anchor is detected.
        if (head) {
          await anchors.anchor(registered, head.seq, head.hash, key);
          head = undefined;
          for (const entry of unanchored.splice(0)) entry.done();
        }
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

  // A record queued between the drain's last look at the queue and this `finally` (a waiting caller's next record,
  // queued in the same turn as its previous one was stored) starts the next drain here: nothing is left behind.
  const kick = (): Promise<void> =>
    (draining ??= drain().finally(() => {
      draining = undefined;
      if (queue.length > 0) void kick();
    }));

  return {
    writer,
    warmUp() {
      void Promise.all([keyAndRegistration(), container()]).catch(() => {});
    },
    append(record, { awaited = false } = {}) {
      const numbered = chain.number(record);
      // Sealed at once when the key is in hand and nothing older waits for it (records are sealed in order).
      const sealed = keyInHand && pseudonymKeyInHand && unsealed === 0 ? sealAsLine(numbered, keyInHand, pseudonymKeyInHand) : undefined;
      if (!sealed) unsealed += 1;
      const stored = new Promise<void>((resolve) => {
        const entry = sealed ? { sealed: kept(sealed) } : { numbered };
        queue.push({ seq: numbered.seq, ...entry, done: resolve, queuedAt: performance.now(), awaited });
        if (awaited) {
          awaitedQueued += 1;
          wake?.();
        }
        void kick();
      });
      return { chained: sealed?.sealed ?? numbered, stored };
    },
    async ready(timeoutMs) {
      const deadline = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), timeoutMs).unref());
      if (queue.length > 0 || head || failing) {
        // Records are waiting: the store is ready only if they drain (key, append, anchor) in time.
        return Promise.race([hurried(() => kick()).then(() => !failing), deadline]);
      }
      // Asked every time, and with an append (what the audit needs), not a read: a write must not run on the hope
      // that a store which answered a while ago, or answers reads, also takes records. The append names a position
      // no blob has, so the service checks the caller's right to append to this writer's blob and then refuses it
      // on that precondition (412): the whole write path is proven and nothing is added, so the probe never grows
      // a blob (append blobs take at most 50,000 blocks).
      const probe = (async () => {
        await keyAndRegistration();
        const signal = AbortSignal.timeout(timeoutMs);
        const target = (await container()).getAppendBlobClient(partName(part));
        // Before the first record the writer's blob may not exist yet (an append to nothing would answer 404).
        if (!blob) await target.createIfNotExists({ abortSignal: signal, blobHTTPHeaders: { blobContentType: 'application/x-ndjson' } });
        try {
          await target.appendBlock('\n', 1, { abortSignal: signal, conditions: { appendPosition: PROBE_POSITION } });
        } catch (error) {
          if ((await asRestError(error))?.statusCode === 412) return true;
          throw error;
        }
        log('Audit store probe: an append at an impossible position was accepted; the store is not behaving as Azure Storage');
        return false;
      })().catch(() => false);
      return Promise.race([probe, deadline]);
    },
    async flush(timeoutMs) {
      await Promise.race([hurried(() => kick()), new Promise((resolve) => setTimeout(resolve, timeoutMs).unref())]);
    },
  };
}
