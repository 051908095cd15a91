import { GENESIS_HASH, anchorMac, recordHash, recordMac, type ChainedRecord } from './chain.js';
import type { AuditKey } from './audit-key.js';
import type { WriterAnchor } from './anchors.js';

/** What `audit verify` can find wrong, each named for what was done to the trail. */
export type FailureKind = 'forged-writer' | 'emptied-writer' | 'edited' | 'inserted' | 'deleted' | 'truncated';

export interface ChainFailure {
  writer: string;
  kind: FailureKind;
  /** 1-based line number in the writer's stored sequence, where one record is at fault. */
  position?: number;
  reason: string;
}

export interface AuditTrail {
  /** Each writer folder's records in stored order (blob parts in name order, lines in order). */
  writers: Map<string, unknown[]>;
  /** The registrations and chain heads kept outside the container. */
  anchors: readonly WriterAnchor[];
  /** A version of the audit key; undefined when the vault holds no such version. */
  key: (version: string) => Promise<AuditKey | undefined>;
}

export interface Verdict {
  count: number;
  failures: ChainFailure[];
}

type Check = { ok: true; record: ChainedRecord } | { ok: false; seq?: number; why: string };

// linear: anchored, fixed length (64 hex digits).
const isHex64 = (value: unknown): value is string => typeof value === 'string' && /^[0-9a-f]{64}$/.test(value);

/** Whether a stored line is a record the app made for this writer: well formed, hash intact, MAC valid. */
async function authenticate(line: unknown, writer: string, key: AuditTrail['key']): Promise<Check> {
  if (typeof line !== 'object' || line === null || Array.isArray(line)) return { ok: false, why: 'not an audit record' };
  const record = line as Partial<ChainedRecord>;
  const seq = Number.isSafeInteger(record.seq) && (record.seq as number) > 0 ? (record.seq as number) : undefined;
  const failed = (why: string): Check => ({ ok: false, ...(seq !== undefined ? { seq } : {}), why });
  if (seq === undefined || !isHex64(record.hash) || !isHex64(record.prevHash) || typeof record.keyVersion !== 'string' || typeof record.mac !== 'string') {
    return failed('not an audit record of this app (no sequence number, hash, key version or MAC)');
  }
  if (record.writer !== writer) return failed(`the record names writer '${String(record.writer)}', not the chain it is in`);
  const { hash, ...withoutHash } = record as ChainedRecord;
  if (recordHash(withoutHash) !== hash) return failed('record content does not match its hash');
  const version = await key(record.keyVersion);
  if (!version) return failed(`the record names audit key version '${record.keyVersion}', which the vault does not hold`);
  const { mac, ...unsigned } = withoutHash;
  if (recordMac(version.key, unsigned) !== mac) return failed('its MAC does not verify: it was made or changed without the audit key');
  return { ok: true, record: record as ChainedRecord };
}

async function anchorIsAuthentic(anchor: WriterAnchor, key: AuditTrail['key']): Promise<boolean> {
  const version = await key(anchor.keyVersion);
  if (!version || !Number.isSafeInteger(anchor.seq) || anchor.seq < 0) return false;
  const { writer, registeredAt, seq, hash, keyVersion, packageDigest } = anchor;
  return anchorMac(version.key, { writer, registeredAt, seq, hash, keyVersion, ...(packageDigest === undefined ? {} : { packageDigest }) }) === anchor.mac;
}

/** Walks one registered writer's records: what is not authentic, and where numbering or links break. */
async function walk(writer: string, lines: unknown[], anchor: WriterAnchor, key: AuditTrail['key']): Promise<ChainFailure[]> {
  const failures: ChainFailure[] = [];
  const fail = (kind: FailureKind, position: number | undefined, reason: string) => failures.push({ writer, kind, ...(position ? { position } : {}), reason });
  const hashes = new Map<number, string>();
  let expected = 1;
  let prev = GENESIS_HASH;
  /** Records that are not authentic, waiting for the next authentic one to tell whether they replaced or were added. */
  let bad: { position: number; seq?: number; why: string }[] = [];
  const settle = (nextSeq: number) => {
    for (const item of bad) {
      // A forged record numbered where a genuine one is missing took that one's place; any other was added.
      const replaced = item.seq !== undefined && item.seq >= expected && item.seq < nextSeq;
      fail(replaced ? 'edited' : 'inserted', item.position, item.why);
      if (replaced) expected = item.seq! + 1;
    }
    const resync = bad.length > 0;
    bad = [];
    return resync;
  };
  for (const [index, line] of lines.entries()) {
    const position = index + 1;
    const check = await authenticate(line, writer, key);
    if (!check.ok) {
      bad.push({ position, ...(check.seq !== undefined ? { seq: check.seq } : {}), why: check.why });
      continue;
    }
    const { record } = check;
    const resync = settle(record.seq);
    if (record.seq < expected) {
      fail('inserted', position, `a second copy of record ${record.seq}`);
      continue;
    }
    if (record.seq > expected) {
      fail('deleted', position, `record${record.seq - expected > 1 ? `s ${expected}-${record.seq - 1} are` : ` ${expected} is`} missing before this one`);
    } else if (!resync && record.prevHash !== prev) {
      fail('inserted', position, 'previous-hash link does not match the record before it');
    }
    hashes.set(record.seq, record.hash);
    prev = record.hash;
    expected = record.seq + 1;
  }
  settle(Math.max(expected, anchor.seq + 1));
  const head = expected - 1;
  if (anchor.seq > head) {
    if (hashes.size === 0) fail('emptied-writer', undefined, `no records are left, but its anchor (${anchor.anchoredAt}) says it had written ${anchor.seq}`);
    else fail('truncated', undefined, `the chain ends at record ${head}, but its anchor (${anchor.anchoredAt}) says it had reached record ${anchor.seq}`);
  } else if (anchor.seq > 0 && hashes.has(anchor.seq) && hashes.get(anchor.seq) !== anchor.hash) {
    fail('edited', undefined, `record ${anchor.seq} is not the one anchored at ${anchor.anchoredAt}`);
  }
  return failures;
}

/**
 * Verifies the whole trail: every writer folder must belong to an authentic registration (else: forged writer),
 * every record must be authentic and in sequence (else: edited, inserted or deleted), and every chain must reach
 * at least the head anchored outside the container (else: truncated, or emptied).
 */
export async function verifyAuditTrail(trail: AuditTrail): Promise<Verdict> {
  const failures: ChainFailure[] = [];
  let count = 0;
  const registered = new Map<string, WriterAnchor>();
  for (const anchor of trail.anchors) {
    if (await anchorIsAuthentic(anchor, trail.key)) registered.set(anchor.writer, anchor);
    else failures.push({ writer: anchor.writer, kind: 'forged-writer', reason: 'its registration outside the container does not verify with the audit key' });
  }
  for (const [writer, lines] of trail.writers) {
    count += lines.length;
    const anchor = registered.get(writer);
    if (!anchor) {
      if (!trail.anchors.some((item) => item.writer === writer)) {
        failures.push({ writer, kind: 'forged-writer', reason: `the app never registered this writer (${lines.length} record(s) in the container)` });
      }
      continue;
    }
    failures.push(...(await walk(writer, lines, anchor, trail.key)));
  }
  for (const [writer, anchor] of registered) {
    if (!trail.writers.has(writer) && anchor.seq > 0) {
      failures.push({
        writer,
        kind: 'emptied-writer',
        reason: `its blobs are gone, but its anchor (${anchor.anchoredAt}) says it had written ${anchor.seq} record(s)`,
      });
    }
  }
  return { count, failures };
}
