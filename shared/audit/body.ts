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

/** A request or response body as the audit keeps it: data summarised, redacted, capped, hash of the full original. */
export function auditedBody(raw: string): AuditedBody {
  let redacted: string;
  try {
    redacted = JSON.stringify(redactValue(summariseData(JSON.parse(raw))));
  } catch {
    redacted = redactText(raw);
  }
  return {
    text: redacted.slice(0, AUDIT_BODY_LIMIT),
    truncated: redacted.length > AUDIT_BODY_LIMIT,
    bytes: Buffer.byteLength(raw),
    sha256: createHash('sha256').update(raw).digest('hex'),
  };
}
