import { describe, expect, it } from '@jest/globals';
// Inside fast-check properties, node:assert: jest's expect() builds every matcher and an Error on each call, which
// over thousands of generated cases was a large share of these files' CPU.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SECRET_FIELD_SOURCE, secretFieldPattern } from '../shared/audit/detectors/secret-field.js';
import { redactText } from '../shared/audit/redact.js';
import { linearRegex } from '../shared/text/linear-regex.js';

/**
 * The secret-field rule finds its matches from each `:` or `=` by hand (shared/audit/detectors/secret-field.ts)
 * instead of running its pattern in re2js, which cost 60-130 ms on 16 KiB of letters before one `=`. Here the hand
 * matcher is held to the pattern: on texts built from the pieces the pattern cares about — every character class at
 * its edges, names at and past their length limits, blanks, quotes, surrogates — it finds the same matches with the
 * same groups, and so redacts exactly what re2js would.
 */
const SEED = Number(process.env.HOSTILE_SEED ?? 11_2026_12);
const spec = linearRegex(SECRET_FIELD_SOURCE);

const PIECES = [
  'a',
  'Z',
  'q',
  '7',
  '_',
  '.',
  '-',
  ' ',
  '\t',
  ':',
  '=',
  '"',
  "'",
  ',',
  ';',
  '&',
  '<',
  '>',
  '(',
  ')',
  '\n',
  '\r',
  '\f',
  '\v',
  '/',
  'é',
  '\u{1F600}',
  '\uD800',
  '\uDC00',
  'password',
  'client secret',
  'api key id',
  'sig',
  '[REDACTED',
  'https://',
  'x'.repeat(30),
  'y'.repeat(31),
  'w'.repeat(32),
  'v'.repeat(60),
  'u'.repeat(61),
  'k'.repeat(62),
  '3'.repeat(40),
  '  ',
];
const texts = fc.array(fc.constantFrom(...PIECES), { maxLength: 120 }).map((pieces) => pieces.join(''));
/** Shows what was matched and how it was split into groups. */
const shown = (match: string, ...groups: (string | undefined)[]) => `<${match}|${groups.join('|')}>`;

describe('secret-field: the hand matcher finds what its pattern finds', () => {
  it('the same matches, groups and answer to test(), on generated texts', () => {
    fc.assert(
      fc.property(texts, (text) => {
        assert.equal(secretFieldPattern.replace(text, shown), spec.replace(text, shown));
        assert.deepEqual(secretFieldPattern.matches(text), spec.matches(text));
        assert.equal(secretFieldPattern.test(text), spec.test(text));
      }),
      { seed: SEED, numRuns: 3_000 },
    );
  });

  it.each([
    ['a name at its 61-character limit, cut there', `${'n'.repeat(70)}password = hunter22`],
    ['three words, and a fourth that does not fit', 'my client secret key: "s3cr3t-value"'],
    ['a quote before the blanks', `"token"  :  'abc123'`],
    ['a value of two code points, then of three', 'pwd=\u{1F600}\u{1F600} pwd=\u{1F600}\u{1F600}\u{1F600}'],
    ['a value that holds separators', 'secret=a=b:c=d'],
    ['a name with a dot in a later word', 'x a.b=12345'],
    ['a later word of 31 characters, and of 32 (one past its limit)', `a ${'w'.repeat(31)}=12345 a ${'w'.repeat(32)}=12345`],
    ['a comma, a semicolon and brackets end a value', 'key=abc,def;ghi(jkl)mno<p>'],
  ])('%s', (_label, text) => {
    expect(secretFieldPattern.replace(text, shown)).toBe(spec.replace(text, shown));
  });

  it('redacts a secret-named value after a long run of letters, and leaves the run as it was', () => {
    const run = 'q'.repeat(16 * 1024);
    expect(redactText(`${run} password=hunter22`)).toBe(`${run} password=[REDACTED]`);
    expect(redactText(`${run} colour=blue`)).toBe(`${run} colour=blue`);
  });
});
