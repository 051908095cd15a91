import canonicalize from 'canonicalize';
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import type { AuditRecord } from './record.js';
import type { AuditKey } from './audit-key.js';
import { LONG_TEXT, longTextJson, wellFormed } from './long-text-json.js';

/** A record numbered in its writer's chain, not yet sealed (the log and telemetry copies carry at least this). */
export type NumberedRecord = AuditRecord & { writer: string; seq: number };

/**
 * A record as stored: numbered per writer, linked to the previous one by hash, and authenticated with the audit
 * key (HMAC-SHA256) whose Key Vault secret version it names.
 */
export type ChainedRecord = NumberedRecord & { prevHash: string; keyVersion: string; mac: string; hash: string };

export const GENESIS_HASH = '0'.repeat(64);

const canonical = (value: unknown): string => canonicalize(value) ?? '';

/** The RFC 8785 form of a well-formed string, a finite number, a boolean or null (their JSON text, 3.2.2); else undefined. */
const scalar = (item: unknown): string | undefined => {
  if (typeof item === 'string' && item.length >= LONG_TEXT) {
    // A long text's rendering is remembered (see ./long-text-json.ts): every tools/list record carries the same one.
    const long = longTextJson(item);
    return long.wellFormed ? long.json : undefined;
  }
  return item === null || typeof item === 'boolean' || (typeof item === 'number' && Number.isFinite(item)) || (typeof item === 'string' && wellFormed(item))
    ? JSON.stringify(item)
    : undefined;
};

/**
 * The RFC 8785 form of a scalar (above), of a plain array of scalars, or of a plain object holding only scalars (its
 * members sorted, as `canonicalize` sorts them); undefined for anything else, which `canonicalize` renders. Every
 * record holds such values (its fields, its lists of targets and request ids, its bodies' text of up to 8 KiB), and
 * `canonicalize` checks each string for lone surrogates character by character in JavaScript where the engine's own
 * check is far quicker. test/audit-group-commit.test.ts compares the two on generated values.
 */
function flatCanonical(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return scalar(value);
  if (Array.isArray(value)) {
    // A hole or an undefined item (null to canonicalize), or an array that renders itself: left to canonicalize.
    if (Object.getPrototypeOf(value) !== Array.prototype || Object.hasOwn(value, 'toJSON')) return undefined;
    const items: string[] = [];
    for (const item of value as unknown[]) {
      const text = scalar(item);
      if (text === undefined) return undefined;
      items.push(text);
    }
    return `[${items.join(',')}]`;
  }
  if (Object.getPrototypeOf(value) !== Object.prototype) return undefined;
  const members: string[] = [];
  for (const name of Object.keys(value).sort()) {
    const item = (value as Record<string, unknown>)[name];
    if (item === undefined) continue;
    const text = scalar(item);
    if (text === undefined || !wellFormed(name)) return undefined;
    members.push(`${JSON.stringify(name)}:${text}`);
  }
  return `{${members.join(',')}}`;
}

/** An object's members as RFC 8785 canonical `"name":value` texts, in canonical order (what `canonicalize` joins). */
function canonicalMembers(value: object): [string, string][] {
  const members: [string, string][] = [];
  for (const name of Object.keys(value).sort()) {
    const member = (value as Record<string, unknown>)[name];
    if (member === undefined || typeof member === 'symbol') continue;
    members.push([name, `${scalar(name) ?? canonical(name)}:${flatCanonical(member) ?? canonical(member)}`]);
  }
  return members;
}

/** Runs of members as an object holds them: the non-empty ones, with a comma between each two. */
function commaSeparated(...runs: string[]): string[] {
  const pieces: string[] = [];
  for (const run of runs) {
    if (run === '') continue;
    if (pieces.length > 0) pieces.push(',');
    pieces.push(run);
  }
  return pieces;
}

/** The hex digest of texts fed in order: the same as of their concatenation, without making it. */
function digestOf(digest: Hash | Hmac, pieces: readonly string[]): string {
  for (const piece of pieces) digest.update(piece);
  return digest.digest('hex');
}

/** SHA-256 over the RFC 8785 canonical JSON of everything in the record but its own hash (the MAC included). */
export function recordHash(record: Omit<ChainedRecord, 'hash'>): string {
  return createHash('sha256').update(canonical(record)).digest('hex');
}

/** HMAC-SHA256 with the audit key over the canonical JSON of everything in the record but its MAC and hash. */
export function recordMac(key: Buffer, record: Omit<ChainedRecord, 'hash' | 'mac'>): string {
  return createHmac('sha256', key)
    .update(canonical({ kind: 'record', record }))
    .digest('hex');
}

/** HMAC-SHA256 with the audit key over a writer's registration and chain head (kept outside the container). */
export function anchorMac(
  key: Buffer,
  anchor: { writer: string; registeredAt: string; seq: number; hash: string; keyVersion: string; packageDigest?: string },
): string {
  return createHmac('sha256', key)
    .update(canonical({ kind: 'anchor', anchor }))
    .digest('hex');
}

/**
 * Hash-chains one writer's records (one writer per app instance): each carries a sequence number, the hash of the
 * one before and a MAC, so a record deleted, inserted or edited anywhere breaks the chain at that point, and
 * nobody without the key can make a record (or a whole chain) that verifies. Numbering happens at once, sealing
 * (which needs the key) in the same order as soon as the key is in hand.
 */
export class AuditChain {
  private numbered = 0;
  private sealed = 0;
  private prev = GENESIS_HASH;
  constructor(readonly writer: string) {}

  number(record: AuditRecord): NumberedRecord {
    this.numbered += 1;
    return { ...record, writer: this.writer, seq: this.numbered };
  }

  /**
   * The same MAC and hash as `recordMac` and `recordHash` (which verification uses), from one canonical rendering
   * of the record's members instead of two: the MAC's input holds them all, the hash's the same plus the MAC.
   */
  seal(record: NumberedRecord, key: AuditKey): ChainedRecord {
    return this.sealAsLine(record, key).sealed;
  }

  /**
   * Seals the record and gives the line that stores it: its RFC 8785 canonical JSON and a newline, made
   * from the same members. The members are joined once, in three runs around where `hash` and `mac` go (canonical
   * order), and the MAC, the hash and the line are made from those runs: no member is rendered or copied twice.
   */
  sealAsLine(record: NumberedRecord, key: AuditKey): { sealed: ChainedRecord; line: string } {
    if (record.seq !== this.sealed + 1) throw new Error(`audit record ${record.seq} sealed out of order (next is ${this.sealed + 1})`);
    const unsigned = { ...record, prevHash: this.prev, keyVersion: key.version };
    const members = canonicalMembers(unsigned);
    // Members before "hash", between "hash" and "mac", and after "mac" (the record has neither member yet).
    const beforeHash: string[] = [];
    const beforeMac: string[] = [];
    const afterMac: string[] = [];
    for (const [name, text] of members) (name < 'hash' ? beforeHash : name < 'mac' ? beforeMac : afterMac).push(text);
    const [a, b, c] = [beforeHash.join(','), beforeMac.join(','), afterMac.join(',')];
    // The MAC and the hash are fed the runs piece by piece: joining them first would copy the record twice more.
    const mac = digestOf(createHmac('sha256', key.key), ['{"kind":"record","record":{', ...commaSeparated(a, b, c), '}}']);
    const macMember = `"mac":${JSON.stringify(mac)}`;
    const hash = digestOf(createHash('sha256'), ['{', ...commaSeparated(a, b, macMember, c), '}']);
    this.sealed = record.seq;
    this.prev = hash;
    // The line is left as pieces put together, not copied into one text here: the store encodes it to UTF-8 once.
    let line = '{';
    for (const piece of commaSeparated(a, `"hash":${JSON.stringify(hash)}`, b, macMember, c)) line += piece;
    return { sealed: { ...unsigned, mac, hash }, line: `${line}}\n` };
  }
}
