import { createHash } from 'node:crypto';
import { redactingText, redactLongTextsAhead, redactValue, STEPPED_TEXT } from './redact.js';
import { allAtOnce, inTurns, type Steps } from '../runtime/stepwise.js';
import { jsonShape, MAX_JSON_DEPTH } from '../text/json-limits.js';

/** The most of a body the audit keeps (after redaction); the hash covers the whole original. */
export const AUDIT_BODY_LIMIT = 8 * 1024;

export interface AuditedBody {
  /** Redacted, and cut at AUDIT_BODY_LIMIT characters. */
  text: string;
  truncated: boolean;
  bytes: number;
  sha256: string;
}

/** Whether a record's value is a body as the audit keeps it (its text and hash). */
export function isAuditedBody(value: object): value is AuditedBody {
  const body = value as Partial<AuditedBody>;
  return typeof body.text === 'string' && typeof body.sha256 === 'string';
}

/** The UTF-8 size and SHA-256 of a body's text, taken as it arrived (see `BodyReceiver`), or here from the text. */
export interface BodyDigest {
  bytes: number;
  sha256: string;
}

/**
 * Data a tool moves (a blob's `content`) is not audit material: the immutable store keeps only its size and hash,
 * so personal data in documents is not copied into a log that cannot honour erasure.
 */
function summariseContent(item: string): string {
  return `[content: ${Buffer.byteLength(item)} bytes, sha256 ${createHash('sha256').update(item).digest('hex')}]`;
}

/**
 * Redaction is the costly part of a record (linear, but a 4 MiB body is a lot of text), and the audit keeps only
 * AUDIT_BODY_LIMIT characters: so only a prefix is redacted, the kept part and twice MARGIN past it. A secret cut in
 * two at the end of that prefix stays unredacted there, so when the text was cut, the last MARGIN characters of what
 * was redacted are never kept (a fragment would have to be longer than MARGIN, longer than a 4096-bit private key in
 * PEM, to reach the kept part). If redaction shortened the prefix a lot, less than the limit is kept.
 */
const MARGIN = 4 * 1024;

/**
 * An answer the server wrote entirely from its own fixed content (the catalogue of tools/list, the initialize
 * result): nothing of a caller's or of Azure's is in it, so it is capped and hashed without a redaction pass.
 */
export function auditedServerBody(raw: string): AuditedBody {
  return {
    text: raw.slice(0, AUDIT_BODY_LIMIT),
    truncated: raw.length > AUDIT_BODY_LIMIT,
    bytes: Buffer.byteLength(raw),
    sha256: createHash('sha256').update(raw).digest('hex'),
  };
}

/**
 * `auditedServerBody` for answers that all start with the same long text (the tools/list of one role set, before
 * its request id): the start is measured and hashed once, each answer hashes only its own end.
 */
export function auditedServerBodies(start: string): (end: string) => AuditedBody {
  const hashed = createHash('sha256').update(start);
  const startBytes = Buffer.byteLength(start);
  const kept = start.slice(0, AUDIT_BODY_LIMIT);
  return (end) => {
    const length = start.length + end.length;
    return {
      text: kept.length === AUDIT_BODY_LIMIT ? kept : (start + end).slice(0, AUDIT_BODY_LIMIT),
      truncated: length > AUDIT_BODY_LIMIT,
      bytes: startBytes + Buffer.byteLength(end),
      sha256: hashed.copy().update(end).digest('hex'),
    };
  };
}

/**
 * A request or response body as the audit keeps it: data summarised, redacted, capped, hash of the full original.
 * `known` is what the caller already found: the body parsed (within the JSON limits), so a large body is not parsed
 * twice, or `text` for a body that is not JSON or is over the limits (never parsed: parsing 200,000 keys alone takes
 * most of a second). `digest`, when given, is the text's size and hash taken as the body arrived (so a large body is
 * not hashed again in one step).
 */
export function auditedBody(raw: string, known?: { json: unknown } | 'text', digest?: BodyDigest): AuditedBody {
  const json = known === 'text' ? undefined : jsonPrefix(raw, known);
  return withDigest(raw, json ? redactedJson(json) : allAtOnce(redactingPrefix(raw, AUDIT_BODY_LIMIT)), digest);
}

/**
 * `auditedBody` with a turn of the event loop between the steps of redacting its long texts (each step ends between
 * two rules, or after a few dozen matches of one): other requests (/health) do not wait behind a body's redaction
 * in one piece.
 */
export async function auditedBodyInTurns(raw: string, known?: { json: unknown } | 'text', digest?: BodyDigest): Promise<AuditedBody> {
  // No text in a body shorter than that is long enough to be redacted in steps (most requests): no search for them.
  if (raw.length < STEPPED_TEXT) return auditedBody(raw, known, digest);
  const json = known === 'text' ? undefined : jsonPrefix(raw, known);
  const redacted = json ? redactedJson(json, await redactLongTextsAhead(json.value)) : await inTurns(redactingPrefix(raw, AUDIT_BODY_LIMIT));
  return withDigest(raw, redacted, digest);
}

function withDigest(raw: string, { text, truncated }: { text: string; truncated: boolean }, digest?: BodyDigest): AuditedBody {
  const { bytes, sha256 } = digest ?? { bytes: Buffer.byteLength(raw), sha256: createHash('sha256').update(raw).digest('hex') };
  return { text, truncated, bytes, sha256 };
}

/** Free text (a reason, an error) as the audit keeps it: redacted, at most `keep` characters, bounded work. */
export function redactedPrefix(raw: string, keep: number): { text: string; truncated: boolean } {
  return allAtOnce(redactingPrefix(raw, keep));
}

function* redactingPrefix(raw: string, keep: number): Steps<{ text: string; truncated: boolean }> {
  if (raw.length <= keep + 2 * MARGIN) {
    const redacted = yield* redactingText(raw);
    return { text: redacted.slice(0, keep), truncated: redacted.length > keep };
  }
  const redacted = yield* redactingText(raw.slice(0, keep + 2 * MARGIN));
  return { text: redacted.slice(0, Math.max(0, Math.min(keep, redacted.length - MARGIN))), truncated: true };
}

/**
 * The start of a JSON body, as far as the audit keeps plus the margins (the rest of the body is never visited), or
 * undefined when the text is not JSON or nests deeper than any request may (it is then audited as text).
 */
function jsonPrefix(raw: string, parsed?: { json: unknown }): { value: unknown; cut: boolean } | undefined {
  let value: unknown;
  if (parsed) value = parsed.json;
  else {
    if (jsonShape(raw).depth > MAX_JSON_DEPTH) return undefined;
    try {
      value = JSON.parse(raw);
    } catch {
      return undefined;
    }
  }
  const budget = { left: AUDIT_BODY_LIMIT + 2 * MARGIN, cut: false };
  const prefix = prefixOf(value, budget);
  return { value: prefix, cut: budget.cut };
}

/** That start redacted value by value (so secret-named keys lose their values), and cut to what the audit keeps. */
function redactedJson({ value, cut }: { value: unknown; cut: boolean }, ahead?: ReadonlyMap<string, string>): { text: string; truncated: boolean } {
  const redacted = JSON.stringify(redactValue(value, ahead));
  if (!cut) return { text: redacted.slice(0, AUDIT_BODY_LIMIT), truncated: redacted.length > AUDIT_BODY_LIMIT };
  return { text: redacted.slice(0, Math.max(0, Math.min(AUDIT_BODY_LIMIT, redacted.length - MARGIN))), truncated: true };
}

/**
 * The start of a JSON value, about `budget.left` characters of it in JSON, with the same keys in the same order (so
 * it serialises to a prefix of the whole, closed off), blobs' `content` already summarised. Sets `budget.cut` when
 * something was left out.
 */
function prefixOf(value: unknown, budget: { left: number; cut: boolean }): unknown {
  if (typeof value === 'string') {
    if (value.length + 2 <= budget.left) {
      budget.left -= value.length + 2;
      return value;
    }
    budget.cut = true;
    const start = value.slice(0, Math.max(0, budget.left));
    budget.left = 0;
    return start;
  }
  if (value === null || typeof value !== 'object') {
    budget.left -= String(value).length;
    return value;
  }
  budget.left -= 2;
  if (Array.isArray(value)) {
    const items: unknown[] = [];
    for (const item of value) {
      if (budget.left <= 0) {
        budget.cut = true;
        break;
      }
      items.push(prefixOf(item, budget));
      budget.left -= 1;
    }
    return items;
  }
  // Built as pairs: a key named __proto__ stays an ordinary key, as JSON.parse made it.
  const entries: [string, unknown][] = [];
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    if (budget.left <= 0) {
      budget.cut = true;
      break;
    }
    const name = prefixOf(key, budget) as string;
    if (budget.cut) {
      entries.push([name, null]);
      break;
    }
    const item = (value as Record<string, unknown>)[key];
    entries.push([name, key === 'content' && typeof item === 'string' ? prefixOf(summariseContent(item), budget) : prefixOf(item, budget)]);
    budget.left -= 2;
  }
  return Object.fromEntries(entries);
}
