import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { LinearRegex } from '../../shared/text/linear-regex.js';
import { fragmentsOf, pathologicalFor, runPattern, scanSource, textOf, type SourcePattern } from './helpers/patterns.js';

/**
 * Every regular expression in the app's code (shared/, functions/) runs on text someone else wrote — a caller's
 * request, Azure's answer, a blob — or is one edit away from it. So each one either runs on re2js (linear by
 * construction) or says, in a `// linear:` comment beside it, why it cannot backtrack. Each native one is measured
 * on texts built from its own fragments: four times the text may cost about four times the time, never sixteen
 * (re2js is linear by its construction; its patterns are checked to match what the JavaScript pattern matches).
 * A pattern added later without either fails here; the end-to-end bounds are in bounded-cost.test.ts.
 */
const SEED = Number(process.env.HOSTILE_SEED ?? 11_2026_12);
const scan = scanSource();
const SMALL = 8 * 1024;
const LARGE = 4 * SMALL;

/** The fastest of a few runs (the machine is shared: the minimum is the least disturbed). */
function fastestMs(pattern: SourcePattern, text: string): number {
  let best = Infinity;
  for (let run = 0; run < 3; run += 1) {
    const started = performance.now();
    runPattern(pattern, text);
    best = Math.min(best, performance.now() - started);
  }
  return best;
}

describe('regular expressions in the app', () => {
  it('are all found, and none is built at run time', () => {
    expect(scan.patterns.length).toBeGreaterThan(40);
    expect(scan.patterns.filter((pattern) => pattern.engine === 're2js').length).toBeGreaterThan(15);
    expect(scan.dynamic).toEqual([]);
  });

  it('run on re2js, or carry a `// linear:` review saying why they cannot backtrack', () => {
    const unreviewed = scan.patterns.filter((pattern) => pattern.engine === 'native' && pattern.review.length < 20);
    expect(unreviewed.map((pattern) => `${pattern.where} /${pattern.regex.source}/`)).toEqual([]);
  });

  it.each(scan.patterns.filter((pattern) => pattern.engine === 'native').map((pattern) => [pattern.where, pattern] as const))(
    'run natively in time linear in the text: %s',
    (_where, pattern) => {
      fc.assert(
        fc.property(pathologicalFor(pattern.regex), (pathological) => {
          const small = fastestMs(pattern, textOf(pathological, SMALL));
          const large = fastestMs(pattern, textOf(pathological, LARGE));
          // Linear: about 4×. Quadratic: about 16×. Below a few milliseconds the ratio is noise.
          if (large > 20 && large > 9 * Math.max(small, 0.5)) {
            throw new Error(`${JSON.stringify(textOf(pathological, 40))}…: ${small.toFixed(1)} ms at ${SMALL} characters, ${large.toFixed(1)} ms at ${LARGE}`);
          }
        }),
        { seed: SEED, numRuns: 6 },
      );
    },
    60_000,
  );

  it.each(scan.patterns.filter((pattern) => pattern.engine === 're2js').map((pattern) => [pattern.where, pattern] as const))(
    'match on re2js what they match in JavaScript: %s',
    (_where, pattern) => {
      const linear = new LinearRegex(pattern.regex);
      const native = new RegExp(pattern.regex.source, pattern.regex.flags.includes('g') ? pattern.regex.flags : `${pattern.regex.flags}g`);
      // Short texts from the pattern's fragments and a few characters the two engines could treat differently
      // (Unicode spaces, line separators); ASCII letters only, where case folding agrees.
      const piece = fc.constantFrom(...fragmentsOf(pattern.regex), ' ', '\n', '\u00a0', '\u2028', '\ufeff', 'x', '.', '=', '&', 'A', '9');
      fc.assert(
        fc.property(fc.array(piece, { maxLength: 24 }), (pieces) => {
          // RE2's ^ and $ see only \n as a line end; where they are used (the shield), text is normalised first, and
          // \r, U+2028 and U+2029 are already spaces.
          const joined = pieces.join('');
          const text = pattern.regex.multiline ? joined.replace(/[\r\u2028\u2029]/g, ' ') : joined;
          expect(linear.replaceAll(text, '\u0001')).toBe(text.replace(native, '\u0001'));
          expect(linear.test(text)).toBe(new RegExp(pattern.regex.source, pattern.regex.flags.replace('g', '')).test(text));
        }),
        { seed: SEED, numRuns: 300 },
      );
    },
  );
});
