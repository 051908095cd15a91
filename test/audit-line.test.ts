import { describe, expect, it } from '@jest/globals';
// Inside the fast-check property, node:assert: jest's expect() builds every matcher and an Error on each call.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { AuditRecord } from '../shared/audit/record.js';
import { auditLine } from '../shared/pipeline/audit.js';

/**
 * The log copy of each audit record is rendered by `auditLine`, which takes long body texts' JSON from a remembered
 * rendering instead of JSON.stringify-ing them again. Its line must be JSON.stringify's, character for character: on
 * generated records — bodies with long and short texts (quotes, control characters, lone surrogates), fields left
 * undefined, integer-like and `__proto__` keys, nested lists and objects, dates — and on one long text seen over and
 * over with others in between.
 */
const SEED = Number(process.env.HOSTILE_SEED ?? 11_2026_12);

const textPiece = fc.constantFrom('a', 'é', '"', '\\', '\n', '\u0000', '\u2028', '\ud800', '\udc00', '😀', '{"k":"v"}', ' ');
const text = (minLength: number, maxLength: number) => fc.array(textPiece, { minLength, maxLength }).map((pieces) => pieces.join(''));
const body = fc
  .record(
    {
      text: fc.oneof(text(0, 40), text(1024, 1400)),
      truncated: fc.boolean(),
      bytes: fc.nat(),
      sha256: fc.stringMatching(/^[0-9a-f]{64}$/),
      extra: fc.constant(undefined),
    },
    { requiredKeys: ['text', 'sha256'] },
  )
  // Members in any order: the line keeps the body's own order, as JSON.stringify does.
  .chain((made) => {
    const keys = Object.keys(made);
    return fc
      .shuffledSubarray(keys, { minLength: keys.length, maxLength: keys.length })
      .map((order) => Object.fromEntries(order.map((key) => [key, made[key as keyof typeof made]])));
  });
const anyValue = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constant(undefined), fc.date({ noInvalidDate: true }), text(0, 20));
const record = fc
  .tuple(
    fc.record({ requestBody: body, responseBody: body, correlationId: fc.uuid(), httpStatus: fc.nat(599), reason: fc.option(text(0, 30), { nil: undefined }) }),
    fc.dictionary(fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom('1', '01', '__proto__', 'text')), anyValue, { maxKeys: 4 }),
  )
  // Spread keeps a `__proto__` key an own member, as JSON.parse does.
  .map(([known, extra]): Record<string, unknown> => ({ ...extra, ...known }));

describe('the audit log line', () => {
  it('is JSON.stringify({ audit: record }), character for character, on generated records', () => {
    fc.assert(
      fc.property(record, (generated) => {
        const expected = JSON.stringify({ audit: generated });
        assert.equal(auditLine(generated as unknown as AuditRecord), expected);
      }),
      { seed: SEED, numRuns: 1_500 },
    );
  });

  it('renders the same long text rightly when other long texts come in between, and a __proto__ member as JSON.parse kept it', () => {
    const catalogue = `{"result":{"tools":[${'{"name":"group_get","description":"Shows \\"one\\" group"},'.repeat(40)}`;
    const other = `${'x"'.repeat(700)}\ud800`;
    const line = (responseText: string, requestText = '{}') =>
      ({
        correlationId: 'c',
        requestBody: { text: requestText, truncated: false, bytes: 2, sha256: '0'.repeat(64) },
        responseBody: { text: responseText, truncated: true, bytes: 44_000, sha256: '1'.repeat(64) },
      }) as unknown as AuditRecord;
    for (const record of [line(catalogue), line(other), line(catalogue, other), line(catalogue), line(other, catalogue)]) {
      expect(auditLine(record)).toBe(JSON.stringify({ audit: record }));
    }
    const withProto = JSON.parse('{"__proto__":{"polluted":true},"correlationId":"c"}') as AuditRecord;
    expect(auditLine(withProto)).toBe('{"audit":{"__proto__":{"polluted":true},"correlationId":"c"}}');
  });
});
