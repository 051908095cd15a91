import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { bodyDimension, DIMENSION_MAX_BYTES, listDimension } from '../shared/audit/app-insights.js';
import { AUDIT_BODY_LIMIT } from '../shared/audit/body.js';
import { codePointString } from './helpers/code-point-string.js';

/**
 * A body as Application Insights receives it: a custom dimension holds 8,192 UTF-8 bytes and the exporter cuts longer
 * values wherever they fall, so the app fits the body itself — JSON, with its hash and size whole, its text a prefix.
 */
const digest = { bytes: 123_456, sha256: 'ab'.repeat(32) };

function expectFitted(text: string, truncated: boolean): void {
  const dimension = bodyDimension({ text, truncated, ...digest });
  expect(Buffer.byteLength(dimension)).toBeLessThanOrEqual(DIMENSION_MAX_BYTES);
  const sent = JSON.parse(dimension) as { text: string; truncated: boolean; bytes: number; sha256: string };
  expect(sent).toMatchObject(digest);
  expect(text.startsWith(sent.text)).toBe(true);
  expect(sent.truncated).toBe(truncated || sent.text.length < text.length);
  // Nothing is cut that would have fitted: with the next character (both halves of a pair) it would not.
  if (sent.text.length < text.length) {
    const next = text.codePointAt(sent.text.length)! > 0xffff ? 2 : 1;
    const longer = JSON.stringify({ ...digest, truncated: true, text: text.slice(0, sent.text.length + next) });
    expect(Buffer.byteLength(longer)).toBeGreaterThan(DIMENSION_MAX_BYTES);
  }
}

describe('a body as a custom dimension', () => {
  it('is the body as it is when it fits', () => {
    const dimension = bodyDimension({ text: '{"jsonrpc":"2.0","id":1}', truncated: false, ...digest });
    expect(JSON.parse(dimension)).toEqual({ text: '{"jsonrpc":"2.0","id":1}', truncated: false, ...digest });
  });

  it('fits texts of the audit limit whatever they hold: quotes, escapes, multi-byte characters, emoji, lone surrogates', () => {
    for (const unit of ['"', '\\', '\n', '\u0001', 'é', '€', '😀', '\ud800', 'a', '"é😀\u0001']) {
      const text = unit.repeat(Math.ceil(AUDIT_BODY_LIMIT / unit.length)).slice(0, AUDIT_BODY_LIMIT);
      expectFitted(text, false);
      expectFitted(text, true);
    }
  });

  it("is the same cut each time a long text comes again, and never another text's cut", () => {
    const catalogue = `{"result":{"tools":[${'{"name":"tool","description":"Lists what you may see — «quoted»"},'.repeat(200)}`;
    const once = bodyDimension({ text: catalogue, truncated: true, ...digest });
    expectFitted(catalogue, true);
    expect(bodyDimension({ text: catalogue, truncated: true, ...digest })).toBe(once);
    // Right after it: a text that differs early, and the same text with a longer digest (less room for the text).
    expectFitted(catalogue.replace('tool', 'loot'), true);
    expectFitted(catalogue, true);
    const longer = { bytes: 123_456_789_012, sha256: digest.sha256 };
    const withLonger = JSON.parse(bodyDimension({ text: catalogue, truncated: true, ...longer })) as { text: string };
    expect(withLonger).toMatchObject(longer);
    expect(Buffer.byteLength(JSON.stringify(withLonger))).toBeLessThanOrEqual(DIMENSION_MAX_BYTES);
    const oneMore = JSON.stringify({ ...longer, truncated: true, text: catalogue.slice(0, withLonger.text.length + 1) });
    expect(Buffer.byteLength(oneMore)).toBeGreaterThan(DIMENSION_MAX_BYTES);
  });

  it('never splits a surrogate pair', () => {
    const text = `${'x'.repeat(8150)}${'😀'.repeat(30)}`;
    const sent = JSON.parse(bodyDimension({ text, truncated: true, ...digest })) as { text: string };
    // Well formed: UTF-8 carries it unchanged (a lone surrogate would become U+FFFD).
    expect(Buffer.from(sent.text, 'utf8').toString('utf8')).toBe(sent.text);
  });

  it('fits any text up to the audit limit', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: fc.constantFrom('"', '\\', '😀', '\u0002', 'é', 'a', '\ud800'), maxLength: AUDIT_BODY_LIMIT }),
          codePointString({ maxLength: AUDIT_BODY_LIMIT }),
        ),
        fc.boolean(),
        (text, truncated) => expectFitted(text, truncated),
      ),
      { numRuns: 200 },
    );
  });
});

describe('a list as a custom dimension', () => {
  it('is the list as it is when it fits', () => {
    expect(listDimension(['a', 'b'])).toEqual({ json: '["a","b"]', omitted: 0 });
  });

  it('keeps as many of its first items as fit, as a JSON list, and says how many were left out', () => {
    // More Azure request ids than a dimension holds: a call that retried a few hundred times, or a long report.
    const ids = Array.from({ length: 400 }, (_, index) => `00000000-0000-4000-8000-${String(index).padStart(12, '0')}`);
    const { json, omitted } = listDimension(ids);
    expect(Buffer.byteLength(json)).toBeLessThanOrEqual(DIMENSION_MAX_BYTES);
    const kept = JSON.parse(json) as string[];
    expect(kept).toEqual(ids.slice(0, kept.length));
    expect(omitted).toBe(ids.length - kept.length);
    // Nothing left out that would have fitted.
    expect(Buffer.byteLength(JSON.stringify(ids.slice(0, kept.length + 1)))).toBeGreaterThan(DIMENSION_MAX_BYTES);
  });

  it('fits any list of texts', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: fc.constantFrom('"', '😀', 'é', 'a', '\u0001'), maxLength: 300 }), { maxLength: 200 }), (items) => {
        const { json, omitted } = listDimension(items);
        expect(Buffer.byteLength(json)).toBeLessThanOrEqual(DIMENSION_MAX_BYTES);
        const kept = JSON.parse(json) as string[];
        expect(kept).toEqual(items.slice(0, kept.length));
        expect(omitted).toBe(items.length - kept.length);
      }),
      { numRuns: 200 },
    );
  });
});
