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

/** A request or response body as the audit keeps it: redacted, capped, with a hash of the full original. */
export function auditedBody(raw: string): AuditedBody {
  let redacted: string;
  try {
    redacted = JSON.stringify(redactValue(JSON.parse(raw)));
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
