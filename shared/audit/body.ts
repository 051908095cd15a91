import { createHash } from 'node:crypto';
import { redactValue, redactText } from './redact.js';

/** The most of a body the audit keeps (after redaction); the hash covers the whole original. */
export const AUDIT_BODY_LIMIT = 8 * 1024;

export interface AuditedBody {
  /** Redacted, and cut at AUDIT_BODY_LIMIT characters. */
  text: string;
  truncated: boolean;
  bytes: number;
  sha256: string;
}

/**
 * Data a tool moves (a blob's `content`) is not audit material: the immutable store keeps only its size and hash,
 * so personal data in documents is not copied into a log that cannot honour erasure.
 */
function summariseData(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(summariseData);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([key, item]) => [
        key,
        key === 'content' && typeof item === 'string'
          ? `[content: ${Buffer.byteLength(item)} bytes, sha256 ${createHash('sha256').update(item).digest('hex')}]`
          : summariseData(item),
      ]),
    );
  }
  return value;
}

/** Non-JSON text longer than this is cut before it is redacted (the hash still covers all of it). */
const TEXT_SCAN_LIMIT = 3 * AUDIT_BODY_LIMIT;

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

/** A request or response body as the audit keeps it: data summarised, redacted, capped, hash of the full original. */
export function auditedBody(raw: string): AuditedBody {
  let redacted: string;
  try {
    redacted = JSON.stringify(redactValue(summariseData(JSON.parse(raw))));
  } catch {
    redacted = redactTextCapped(raw);
  }
  return {
    text: redacted.slice(0, AUDIT_BODY_LIMIT),
    truncated: redacted.length > AUDIT_BODY_LIMIT,
    bytes: Buffer.byteLength(raw),
    sha256: createHash('sha256').update(raw).digest('hex'),
  };
}

/**
 * Redacting costs time in proportion to the text (a 44 KB tools/list answer as server-sent events took ~1 ms), and
 * only the first AUDIT_BODY_LIMIT characters are kept: so only a prefix is scanned. A secret cut in two at the end
 * of the prefix stays unredacted, so the redacted prefix must still run at least AUDIT_BODY_LIMIT past the kept part
 * (a fragment would have to be longer than that to reach it); when redaction shortened it more, the whole text is
 * redacted after all.
 */
function redactTextCapped(raw: string): string {
  if (raw.length <= TEXT_SCAN_LIMIT) return redactText(raw);
  const prefix = redactText(raw.slice(0, TEXT_SCAN_LIMIT));
  return prefix.length >= 2 * AUDIT_BODY_LIMIT ? prefix : redactText(raw);
}
