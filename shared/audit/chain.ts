import canonicalize from 'canonicalize';
import { createHash, createHmac } from 'node:crypto';
import type { AuditRecord } from './record.js';
import type { AuditKey } from './audit-key.js';

/** A record numbered in its writer's chain, not yet sealed (the log and telemetry copies carry at least this). */
export type NumberedRecord = AuditRecord & { writer: string; seq: number };

/**
 * A record as stored: numbered per writer, linked to the previous one by hash, and authenticated with the audit
 * key (HMAC-SHA256) whose Key Vault secret version it names.
 */
export type ChainedRecord = NumberedRecord & { prevHash: string; keyVersion: string; mac: string; hash: string };

export const GENESIS_HASH = '0'.repeat(64);

const canonical = (value: unknown): string => canonicalize(value) ?? '';

/** SHA-256 over the RFC 8785 canonical JSON of everything in the record but its own hash (the MAC included). */
export function recordHash(record: Omit<ChainedRecord, 'hash'>): string {
  return createHash('sha256').update(canonical(record)).digest('hex');
}

/** HMAC-SHA256 with the audit key over the canonical JSON of everything in the record but its MAC and hash. */
export function recordMac(key: Buffer, record: Omit<ChainedRecord, 'hash' | 'mac'>): string {
  return createHmac('sha256', key).update(canonical({ kind: 'record', record })).digest('hex');
}

/** HMAC-SHA256 with the audit key over a writer's registration and chain head (kept outside the container). */
export function anchorMac(key: Buffer, anchor: { writer: string; registeredAt: string; seq: number; hash: string; keyVersion: string; packageDigest?: string }): string {
  return createHmac('sha256', key).update(canonical({ kind: 'anchor', anchor })).digest('hex');
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

  seal(record: NumberedRecord, key: AuditKey): ChainedRecord {
    if (record.seq !== this.sealed + 1) throw new Error(`audit record ${record.seq} sealed out of order (next is ${this.sealed + 1})`);
    const unsigned = { ...record, prevHash: this.prev, keyVersion: key.version };
    const withMac = { ...unsigned, mac: recordMac(key.key, unsigned) };
    const hash = recordHash(withMac);
    this.sealed = record.seq;
    this.prev = hash;
    return { ...withMac, hash };
  }
}
