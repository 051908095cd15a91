import { describe, expect, it } from '@jest/globals';
// Inside fast-check properties, node:assert: jest's expect() builds every matcher and an Error on each call, which
// over thousands of generated cases was a large share of these files' CPU.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { assertBoundedRepetition, boundedRegex } from '../../shared/shield/bounded-regex.js';
import { LinearRegex, linearRegex } from '../../shared/text/linear-regex.js';
import { fragmentsOf, pathologicalFor, runPattern, scanSource, textOf, type Re2SourcePattern } from './helpers/patterns.js';

/**
 * Every regular expression in the app's code (shared/, functions/) runs on text someone else wrote — a caller's
 * request, Azure's answer, a blob — or is one edit away from it. So each one either runs on re2js (linear by
 * construction) or says, in a `// linear:` comment beside it, why it cannot backtrack. Each native one is measured
 * on texts built from its own fragments: four times the text may cost about four times the time, never sixteen
 * (re2js is linear by its construction; its patterns are checked to match what the JavaScript pattern matches).
 * The shield's patterns are strings given to its `boundedRegex` guard, which refuses any unbounded repetition when
 * the module loads: each is checked to pass the guard and timed like any native pattern. Patterns written in RE2's
 * syntax for `linearRegex` are compiled, run on texts from their fragments, and compared with JavaScript where the
 * same string means the same there. A pattern added later without either fails here; the end-to-end bounds are in bounded-cost.test.ts.
 */
const SEED = Number(process.env.HOSTILE_SEED ?? 11_2026_12);
const scan = scanSource();
const SMALL = 8 * 1024;
const LARGE = 4 * SMALL;

type Clock = () => number;
/** Wall time in ms. */
const wallMs: Clock = () => performance.now();
/**
 * This process's CPU time in ms. re2js takes a few milliseconds here, where a time slice lost to the other processes
 * on a loaded machine (tens of ms) would otherwise decide the ratio; CPU time does not count the time it waited.
 */
const cpuMs: Clock = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

/**
 * Whether `run` takes time linear in the text: the fastest of `rounds` runs on the small text against the fastest on
 * the large one, interleaved (small, large, small, ...) so a disturbance that lasts a while — the machine's other
 * work, a collection, a compile on a V8 thread, which CPU time counts too — falls on both. About 4× is linear and 16×
 * quadratic; below a few milliseconds the ratio is noise. A miss is measured again, up to three times in all:
 * disturbance only ever adds time, so a pattern that is really super-linear misses every time, where a loaded
 * machine once made re2js's 2.8 ms at 32,768 characters take 43 ms (CPU) in all five runs of one attempt.
 */
function linearity(run: (text: string) => void, pathological: Parameters<typeof textOf>[0], clock: Clock, rounds: number): string | undefined {
  const texts = [textOf(pathological, SMALL), textOf(pathological, LARGE)] as const;
  const misses: string[] = [];
  for (let attempt = 0; attempt < 3; attempt += 1) {
    const best = [Infinity, Infinity];
    for (let round = 0; round < rounds; round += 1) {
      texts.forEach((text, i) => {
        const started = clock();
        run(text);
        best[i] = Math.min(best[i] as number, clock() - started);
      });
    }
    const [small, large] = best as [number, number];
    if (!(large > 20 && large > 9 * Math.max(small, 0.5))) return undefined;
    misses.push(`${small.toFixed(1)} ms at ${SMALL} characters, ${large.toFixed(1)} ms at ${LARGE}`);
  }
  return `${JSON.stringify(textOf(pathological, 40))}…: ${misses.join('; then ')}`;
}

describe('regular expressions in the app', () => {
  it('are all found, and none is built at run time', () => {
    expect(scan.patterns.length).toBeGreaterThan(40);
    expect(scan.patterns.filter((pattern) => pattern.engine === 're2js').length + scan.re2Strings.length).toBeGreaterThan(15);
    expect(scan.patterns.filter((pattern) => pattern.engine === 'bounded').length).toBeGreaterThan(10);
    expect(scan.dynamic).toEqual([]);
    // The one place a RegExp is built from a string: the shield's guard, after it has checked the string.
    // A RegExp is built from a string only where the shield's guard has checked that string first.
    expect(scan.guardedConstructions).toContainEqual(expect.stringMatching(/shield\/bounded-regex\.ts:\d+$/));
  });

  it('given to the shield as strings, pass its guard, which refuses any unbounded repetition', () => {
    const guarded = scan.patterns.filter((pattern) => pattern.engine === 'bounded');
    for (const pattern of guarded) expect(() => assertBoundedRepetition(pattern.regex.source)).not.toThrow();
    for (const unbounded of ['a+', 'a*', 'a{2,}', '(?:ab|c)+d', 'x\\\\+', '[a-z]{1,3}b*', '\\bword\\s+']) {
      expect(() => boundedRegex(unbounded)).toThrow(/Unbounded repetition/);
    }
    for (const bounded of ['a\\+', '[+*]{1,4}', 'a{2,5}?', 'a{2}', '\\bword\\s{1,4}']) expect(() => boundedRegex(bounded)).not.toThrow();
  });

  it('run on re2js, or carry a `// linear:` review saying why they cannot backtrack', () => {
    const unreviewed = scan.patterns.filter((pattern) => pattern.engine === 'native' && pattern.review.length < 20);
    expect(unreviewed.map((pattern) => `${pattern.where} /${pattern.regex.source}/`)).toEqual([]);
  });

  it.each(scan.patterns.filter((pattern) => pattern.engine !== 're2js').map((pattern) => [pattern.where, pattern] as const))(
    'run natively in time linear in the text: %s',
    (_where, pattern) => {
      const run = (text: string) => runPattern(pattern, text);
      fc.assert(
        fc.property(pathologicalFor(pattern.regex), (pathological) => {
          const miss = linearity(run, pathological, wallMs, 3);
          if (miss) throw new Error(miss);
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
          assert.equal(linear.replaceAll(text, '\u0001'), text.replace(native, '\u0001'));
          assert.equal(linear.test(text), new RegExp(pattern.regex.source, pattern.regex.flags.replace('g', '')).test(text));
        }),
        { seed: SEED, numRuns: 300 },
      );
    },
  );

  it.each(scan.re2Strings.map((pattern) => [pattern.where, pattern] as const))(
    'written in RE2 syntax, compile on re2js, run in time linear in the text, and match as JavaScript does where the syntax agrees: %s',
    (_where, pattern) => {
      const linear = linearRegex(pattern.source, pattern.flags);
      const run = (text: string) => linear.matches(text);
      fc.assert(
        fc.property(pathologicalFor(pattern), (pathological) => {
          // Warmed on the large text first: the JIT and the automaton's first states would otherwise land on one side.
          run(textOf(pathological, LARGE));
          const miss = linearity(run, pathological, cpuMs, 5);
          if (miss) throw new Error(miss);
        }),
        { seed: SEED, numRuns: 2 },
      );
      const native = javaScriptEquivalent(pattern);
      if (!native) return; // RE2-only syntax (inline flags, \x{…}): compiled and run above
      const piece = fc.constantFrom(
        ...fragmentsOf(pattern).filter((fragment) => sameInBothEngines(fragment, pattern)),
        ' ',
        '\n',
        '\t',
        'x',
        '.',
        '=',
        '&',
        'A',
        '9',
        '@',
        ':',
      );
      fc.assert(
        fc.property(fc.array(piece, { maxLength: 24 }), (pieces) => {
          const text = pieces.join('');
          const expected = [...text.matchAll(native)].map((match) => [match.index, match[0]]);
          assert.deepEqual(
            linear.matches(text).map((match) => [match.index, match.text]),
            expected,
          );
        }),
        { seed: SEED, numRuns: 300 },
      );
    },
    60_000,
  );
});

/**
 * The same string as a JavaScript pattern, when it compiles there (no `(?i:…)`, no `\x{…}`). On the texts it is
 * compared on, the two engines agree on `\s`, `\b`, `.`, `^` and `$`.
 */
function javaScriptEquivalent({ source, flags }: Re2SourcePattern): RegExp | undefined {
  try {
    return new RegExp(source, `${flags}g`);
  } catch {
    return undefined;
  }
}

/**
 * Where RE2 and JavaScript differ by design: JavaScript's `\s` also takes \v and Unicode spaces, its `.`, `^` and `$`
 * also stop at \r, U+2028 and U+2029, and case folding differs outside ASCII. A fragment of printable ASCII, tab
 * and newline (or characters the pattern names itself, such as ’) means the same to both.
 */
function sameInBothEngines(fragment: string, { source }: Re2SourcePattern): boolean {
  return [...fragment].every((char) => /^[\x20-\x7e\t\n]$/.test(char) || (char.charCodeAt(0) > 0x7f && source.includes(char)));
}
