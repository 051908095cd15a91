import { describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { AUDIT_BODY_LIMIT, auditedBody } from '../shared/audit/body.js';

/** Long bodies: only a prefix is redacted and kept, never a secret, and the hash covers everything. */
const JWT = `eyJhbGciOiJSUzI1NiJ9.${'eyJzdWIiOiJ1c2VyIn0'.repeat(20)}.${'c2lnbmF0dXJl'.repeat(30)}`;

describe('audited bodies', () => {
  it('keeps a redacted, capped prefix of a long text body and the hash of all of it', () => {
    const raw = `event: message\ndata: Bearer ${JWT} ${'x'.repeat(60_000)} ${JWT}`;
    const body = auditedBody(raw);
    expect(body.text.length).toBe(AUDIT_BODY_LIMIT);
    expect(body.truncated).toBe(true);
    expect(body.bytes).toBe(Buffer.byteLength(raw));
    expect(body.sha256).toBe(createHash('sha256').update(raw).digest('hex'));
    expect(body.text).toContain('[REDACTED');
    expect(body.text).not.toContain('eyJhbGciOiJSUzI1NiJ9');
  });

  it('never shows part of a secret cut at the end of the scanned prefix', () => {
    // Secrets that shrink to short placeholders pull later text forward; tokens sit at every offset near the cut.
    for (let offset = 0; offset < 3 * AUDIT_BODY_LIMIT; offset += 997) {
      const raw = `${'y'.repeat(offset)} ${`${JWT} `.repeat(40)}${'z'.repeat(40_000)}`;
      expect(auditedBody(raw).text).not.toMatch(/eyJ[A-Za-z0-9_-]{5,}/);
    }
  });
});
