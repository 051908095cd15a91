import { createHmac } from 'node:crypto';
import type { AuditKey } from './audit-key.js';
import { isAuditedBody, type AuditedBody } from './body.js';
import type { NumberedRecord } from './chain.js';

/**
 * The tamper-evident store keeps records for years and cannot erase one, so it holds no person: the caller's and
 * approver's Entra object ids become keyed pseudonyms (HMAC-SHA256 with the pseudonym key, a Key Vault secret apart
 * from the audit key), their names are left out, and wherever the rest of the record (a reason, a body) quotes one
 * of them, the quote is replaced too. Whoever holds the key can find a person's records (hash their oid, see
 * `npm run audit -- pseudonym`); once every version of the key is destroyed, nobody can link a record to a person.
 * The log and telemetry copies, with their shorter retention, keep the record as it was.
 */

/** What a stored record shows where it quoted a person's name. */
export const NAME_PLACEHOLDER = '[person]';

/** The pseudonym of an Entra object id under one key: hex HMAC-SHA256 over `entra-oid:` and the lower-case oid. */
export function pseudonymOf(key: Buffer, oid: string): string {
  return createHmac('sha256', key).update(`entra-oid:${oid.toLowerCase()}`).digest('hex');
}

/** Pseudonyms made lately, per key: the same few callers make most records, each needing its pseudonym twice. */
const recentPseudonyms = new WeakMap<Buffer, Map<string, string>>();
const RECENT_PSEUDONYMS = 1_000;

function cachedPseudonymOf(key: Buffer, oid: string): string {
  let recent = recentPseudonyms.get(key);
  if (!recent) recentPseudonyms.set(key, (recent = new Map<string, string>()));
  let pseudonym = recent.get(oid);
  if (pseudonym === undefined) {
    if (recent.size >= RECENT_PSEUDONYMS) recent.clear();
    recent.set(oid, (pseudonym = pseudonymOf(key, oid)));
  }
  return pseudonym;
}

/** A body that quoted a person keeps a keyed digest: a plain SHA-256 of a short answer could be matched by guessing. */
export type StoredBody = Omit<AuditedBody, 'sha256'> & ({ sha256: string } | { hmacSha256: string });

interface Replacement {
  text: string;
  by: string;
  /** Names are replaced as whole words only ("Al" is not the start of "Allowed"). */
  wholeWord: boolean;
}

/** The record as the store keeps it: people pseudonymised with `key`. A record that names nobody is kept as it is. */
export function pseudonymised(record: NumberedRecord, key: AuditKey): NumberedRecord {
  const { callerOid, callerName, approverOid, approverName } = record;
  const replacements: Replacement[] = [];
  for (const oid of [callerOid, approverOid]) {
    if (!oid) continue;
    const pseudonym = cachedPseudonymOf(key.key, oid);
    for (const form of new Set([oid, oid.toLowerCase(), oid.toUpperCase()])) replacements.push({ text: form, by: pseudonym, wholeWord: false });
  }
  for (const name of [callerName, approverName]) {
    const trimmed = name?.trim();
    if (!trimmed) continue;
    // As it is, and as it appears inside a JSON body's text (quotes, backslashes and control characters escaped).
    for (const form of new Set([trimmed, JSON.stringify(trimmed).slice(1, -1)])) replacements.push({ text: form, by: NAME_PLACEHOLDER, wholeWord: true });
  }
  if (replacements.length === 0) return record;
  // Longest first, so a name that contains another is replaced whole.
  replacements.sort((a, b) => b.text.length - a.text.length);

  const stored: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(record)) {
    if (field === 'callerName' || field === 'approverName') continue;
    if (field === 'callerOid' && callerOid) {
      stored.callerPseudonym = cachedPseudonymOf(key.key, callerOid);
      stored.pseudonymKeyVersion = key.version;
    } else if (field === 'approverOid' && approverOid) {
      stored.approverPseudonym = cachedPseudonymOf(key.key, approverOid);
      stored.pseudonymKeyVersion = key.version;
    } else {
      stored[field] = scrubbed(value, replacements, key.key);
    }
  }
  return stored as unknown as NumberedRecord;
}

/** Every string in a value with each quote of a person replaced; a body whose text changed gets a keyed digest. */
function scrubbed(value: unknown, replacements: readonly Replacement[], key: Buffer): unknown {
  if (typeof value === 'string') return replaceAll(value, replacements);
  if (Array.isArray(value)) return value.map((item) => scrubbed(item, replacements, key));
  if (value === null || typeof value !== 'object') return value;
  if (isAuditedBody(value)) {
    const text = replaceAll(value.text, replacements);
    if (text === value.text) return value;
    const { sha256, ...rest } = value;
    const body: StoredBody = { ...rest, text, hmacSha256: createHmac('sha256', key).update(`body-sha256:${sha256}`).digest('hex') };
    return body;
  }
  return Object.fromEntries(Object.entries(value).map(([field, item]) => [field, scrubbed(item, replacements, key)]));
}

function replaceAll(text: string, replacements: readonly Replacement[]): string {
  let result = text;
  for (const replacement of replacements) result = replaceOne(result, replacement);
  return result;
}

/** One pass of indexOf over the text (bounded: the record's texts are capped), no regular expression. */
function replaceOne(text: string, { text: quoted, by, wholeWord }: Replacement): string {
  let out = '';
  let from = 0;
  let searchFrom = 0;
  for (let at = text.indexOf(quoted, searchFrom); at !== -1; at = text.indexOf(quoted, searchFrom)) {
    const end = at + quoted.length;
    if (!wholeWord || (!isWordCharacter(text[at - 1]) && !isWordCharacter(text[end]))) {
      out += text.slice(from, at) + by;
      from = end;
      searchFrom = end;
    } else {
      searchFrom = at + 1;
    }
  }
  return out + text.slice(from);
}

// linear: one character class tested against one character.
const WORD_CHARACTER = /^[\p{L}\p{N}_]$/u;

function isWordCharacter(character: string | undefined): boolean {
  return character !== undefined && WORD_CHARACTER.test(character);
}
