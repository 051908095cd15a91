import canonicalize from 'canonicalize';
import { createHash } from 'node:crypto';
import type { AuditRecord } from './record.js';

/** A record as stored: numbered per writer and linked to the previous one by hash. */
export type ChainedRecord = AuditRecord & { writer: string; seq: number; prevHash: string; hash: string };

export const GENESIS_HASH = '0'.repeat(64);

/** SHA-256 over the RFC 8785 canonical JSON of everything in the record but its own hash. */
export function recordHash(record: Omit<ChainedRecord, 'hash'>): string {
  return createHash('sha256').update(canonicalize(record) ?? '').digest('hex');
}

/**
 * Hash-chains one writer's records (one writer per app instance): each carries a sequence number and the hash of
 * the one before, so a record deleted, inserted or edited anywhere breaks the chain at that point.
 */
export class AuditChain {
  private seq = 0;
  private prev = GENESIS_HASH;
  constructor(readonly writer: string) {}

  link(record: AuditRecord): ChainedRecord {
    this.seq += 1;
    const unsigned = { ...record, writer: this.writer, seq: this.seq, prevHash: this.prev };
    const hash = recordHash(unsigned);
    this.prev = hash;
    return { ...unsigned, hash };
  }
}

export interface ChainBreak {
  writer: string;
  /** 1-based line number in the writer's stored sequence where the chain first fails. */
  position: number;
  reason: string;
}

/** Walks each writer's records in stored order; reports the count and the first break per writer. */
export function verifyChains(writers: Map<string, unknown[]>): { count: number; breaks: ChainBreak[] } {
  let count = 0;
  const breaks: ChainBreak[] = [];
  for (const [writer, lines] of writers) {
    let prev = GENESIS_HASH;
    let expected = 1;
    for (const [index, line] of lines.entries()) {
      count += 1;
      const position = index + 1;
      const record = line as Partial<ChainedRecord>;
      const fail = (reason: string) => breaks.push({ writer, position, reason });
      if (typeof record !== 'object' || record === null || typeof record.hash !== 'string') {
        fail('not an audit record');
        break;
      }
      const { hash, ...unsigned } = record as ChainedRecord;
      if (record.seq !== expected) {
        fail(`sequence number ${String(record.seq)} where ${expected} was expected (a record was removed or inserted)`);
        break;
      }
      if (record.prevHash !== prev) {
        fail('previous-hash link does not match the record before it (a record was removed, inserted or edited)');
        break;
      }
      if (recordHash(unsigned) !== hash) {
        fail('record content does not match its hash (the record was edited)');
        break;
      }
      prev = hash;
      expected += 1;
    }
  }
  return { count, breaks };
}
