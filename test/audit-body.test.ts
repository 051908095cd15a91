import { describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { AUDIT_BODY_LIMIT, auditedBody, auditedBodyInTurns } from '../shared/audit/body.js';
import { turnsWhile } from './helpers/turns.js';

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

describe('audited bodies, redacted in turns', () => {
  // Texts that cost redaction most per character: thousands of matches of several rules, percent-encoded in part.
  const COSTLY = [
    '--ab-cd 07700 900123 a.b@c.d sig=abc& Mr John Smith '.repeat(1_300),
    'sv=2020&sig=abc%2B&se=1&'.repeat(2_731),
    `${'q'.repeat(2_000)}=value `.repeat(32),
  ];

  it.each(COSTLY.map((text) => [text.slice(0, 24), text]))('gives the same record as at once for %j…, as JSON and as text', async (_start, text) => {
    const json = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'group_get', arguments: { name: text, [text.slice(0, 300)]: text } } };
    const raw = JSON.stringify(json);
    expect(await auditedBodyInTurns(raw, { json })).toEqual(auditedBody(raw, { json }));
    expect(await auditedBodyInTurns(text, 'text')).toEqual(auditedBody(text, 'text'));
  });

  it('lets other work run many times while it redacts such a body (no long hold)', async () => {
    const { value: body, turns } = await turnsWhile(() => auditedBodyInTurns(COSTLY[0]!, 'text'));
    // A turn between rules and after every 64 matches of one (16 KiB of this text: thousands of matches).
    expect(turns).toBeGreaterThan(30);
    expect(body.text.startsWith('--ab-cd [phone] a.b@c.d sig=[REDACTED SAS]& [name] --ab-cd [phone]')).toBe(true);
    expect(body.text.includes('900123') || body.text.includes('sig=abc') || body.text.includes('John Smith')).toBe(false);
    // The same as a tool argument in a JSON body: its long texts are redacted ahead, in turns, then the walk is quick.
    const json = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'group_get', arguments: { name: COSTLY[0] } } };
    const asJson = await turnsWhile(() => auditedBodyInTurns(JSON.stringify(json), { json }));
    expect(asJson.turns).toBeGreaterThan(30);
    expect(asJson.value.text.includes('900123')).toBe(false);
  });
});
