import { RE2JS } from 're2js';
import { allAtOnce, type Steps } from '../runtime/stepwise.js';

/**
 * A regular expression run by re2js (RE2's automata, no backtracking): its time is linear in the text, whatever the
 * pattern and the text. Every pattern that runs on text a caller or Azure wrote, and that could backtrack in V8's
 * engine, is one of these; `test/hostile/regex-review.test.ts` fails on any other regular expression in the source
 * that is not reviewed as linear.
 *
 * Written as a JavaScript literal, so it reads like the rest of the code, and translated to RE2 syntax with the same
 * meaning: `\s` is JavaScript's whitespace set (RE2's is ASCII only), `\uXXXX` becomes `\x{XXXX}`. Patterns RE2
 * cannot run (lookaround, backreferences) throw when first used; the review test uses every one. With the `i` flag
 * RE2 folds case by Unicode rules, so it also matches the few non-ASCII letters that fold to ASCII ones (the Kelvin
 * sign, long s).
 */
/**
 * Every pattern's compilation, for `compileLinearPatterns`: compiling is lazy (start-up should not wait for it), but
 * a request should not pay for it either — one compile can hold the event loop for tens of milliseconds.
 */
const uncompiled: (() => void)[] = [];

/**
 * Compiles (and runs once, so re2js builds its automata) every pattern not compiled yet, one per turn of the event
 * loop so nothing else waits long. Started in the background as the app starts; patterns made later compile on use.
 */
export async function compileLinearPatterns(): Promise<void> {
  for (let next = uncompiled.shift(); next; next = uncompiled.shift()) {
    try {
      next();
    } catch {
      // A pattern that does not compile fails where it is used, as it would without this.
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
}

export class LinearRegex {
  private compiled?: RE2JS;
  /** The same pattern without capturing groups: re2js answers "is there a match?" with its fast DFA then. */
  private detector?: RE2JS;
  private readonly flags: number;

  constructor(readonly source: RegExp) {
    let flags = 0;
    if (source.flags.includes('i')) flags |= RE2JS.CASE_INSENSITIVE;
    if (source.flags.includes('m')) flags |= RE2JS.MULTILINE;
    if (source.flags.includes('s')) flags |= RE2JS.DOTALL;
    this.flags = flags;
    uncompiled.push(() => this.test('warm-up: a short text to run the pattern once'));
  }

  // Compiled on first use: the shield's patterns alone take a few hundred milliseconds to compile, which a cold
  // start should not pay (test/hostile/regex-review.test.ts compiles and runs every one).
  private get matcherPattern(): RE2JS {
    return (this.compiled ??= RE2JS.compile(toRe2Syntax(this.source.source), this.flags));
  }

  private get detectorPattern(): RE2JS {
    return (this.detector ??= RE2JS.compile(toRe2Syntax(this.source.source, { captures: false }), this.flags));
  }

  test(text: string): boolean {
    return this.detectorPattern.test(text);
  }

  /** Every match replaced, as `String.replace` with a global pattern (`$1` names a group). */
  replaceAll(text: string, replacement: string): string {
    // Most text holds no match: the DFA says so in a fraction of the time the capturing matcher takes.
    return this.detectorPattern.test(text) ? this.matcherPattern.matcher(text).replaceAll(replacement) : text;
  }
}

/** JavaScript's `\s`: ECMAScript WhiteSpace and LineTerminator code points. */
const JS_SPACE = '\\t\\n\\x{0B}\\f\\r \\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}\\x{FEFF}';

/**
 * Rewrites the escapes whose meaning differs between the two engines; everything else is the same syntax. Without
 * `captures`, every capturing group becomes a non-capturing one (same matches, no group bookkeeping).
 */
export function toRe2Syntax(source: string, { captures = true }: { captures?: boolean } = {}): string {
  let out = '';
  let inClass = false;
  for (let i = 0; i < source.length; i += 1) {
    const char = source[i]!;
    if (char === '\\') {
      const next = source[i + 1] ?? '';
      i += 1;
      if (next === 's') out += inClass ? JS_SPACE : `[${JS_SPACE}]`;
      else if (next === 'S' && !inClass) out += `[^${JS_SPACE}]`;
      else if (next === 'S' && inClass) {
        // Only `[\s\S]` (any character) has the same meaning in both engines without expanding a complement.
        if (!source.startsWith('[\\s\\S]', i - 4)) throw new Error(`Unsupported \\S inside a character class: /${source}/`);
        out += '\\S';
      } else if (next === 'u' && source[i + 1] === '{') {
        const end = source.indexOf('}', i);
        out += `\\x{${source.slice(i + 2, end)}}`;
        i = end;
      } else if (next === 'u') {
        out += `\\x{${source.slice(i + 1, i + 5)}}`;
        i += 4;
      } else out += `\\${next}`;
      continue;
    }
    if (char === '[' && !inClass) inClass = true;
    else if (char === ']' && inClass) inClass = false;
    else if (char === '(' && !inClass && !captures && source[i + 1] !== '?') {
      out += '(?:';
      continue;
    }
    out += char;
  }
  return out;
}

/**
 * A pattern written in RE2's own syntax (a string), compiled by re2js (RE2's automata): matching time grows linearly with the text whatever the
 * pattern, so untrusted text cannot make it backtrack. Flags: `i` case-insensitive, `m` multi-line anchors,
 * `s` dot matches newline.
 */
export interface Re2Pattern {
  test(text: string): boolean;
  /** Every non-overlapping match, left to right: text and start offset. */
  matches(text: string): { text: string; index: number; groups: (string | undefined)[] }[];
  /** Replaces every match; the replacer gets the match and its numbered groups. */
  replace(text: string, replacer: Replacer): string;
  /** `replace` a step at a time: a step ends after every MATCHES_PER_STEP matches (each costs re2js up to tens of µs). */
  replaceInSteps(text: string, replacer: Replacer): Steps<string>;
}

export type Replacer = (match: string, ...groups: (string | undefined)[]) => string;

/** Matches replaced in one step of `replaceInSteps`: a few milliseconds of re2js at most. */
const MATCHES_PER_STEP = 64;

/** Compiled on first use: compiling costs milliseconds each, and start-up should not pay for rules never needed. */
export function linearRegex(source: string, flags = ''): Re2Pattern {
  let bits = 0;
  if (flags.includes('i')) bits |= RE2JS.CASE_INSENSITIVE;
  if (flags.includes('m')) bits |= RE2JS.MULTILINE;
  if (flags.includes('s')) bits |= RE2JS.DOTALL;
  let cached: RE2JS | undefined;
  const pattern = (): RE2JS => (cached ??= RE2JS.compile(source, bits));
  uncompiled.push(() => pattern().test('warm-up: a short text to run the pattern once'));
  return {
    test: (text) => pattern().test(text),
    matches: (text) => {
      const found: { text: string; index: number; groups: (string | undefined)[] }[] = [];
      const matcher = pattern().matcher(text);
      while (matcher.find()) {
        const groups: (string | undefined)[] = [];
        for (let g = 1; g <= matcher.groupCount(); g++) groups.push(matcher.group(g) ?? undefined);
        found.push({ text: matcher.group(0) ?? '', index: matcher.start(), groups });
      }
      return found;
    },
    replace: (text, replacer) => allAtOnce(replacing(pattern(), text, replacer)),
    replaceInSteps: (text, replacer) => replacing(pattern(), text, replacer),
  };
}

/**
 * Every match replaced, as re2js's own `replaceAll` with a replacer does it (the text before each match, then what
 * the replacer makes of the match and its groups, a group that took no part as undefined), with a step's end after
 * every MATCHES_PER_STEP matches.
 */
function* replacing(pattern: RE2JS, text: string, replacer: Replacer): Steps<string> {
  const matcher = pattern.matcher(text);
  const groupCount = pattern.groupCount();
  let result = '';
  let done = 0;
  for (let found = 1; matcher.find(); found += 1) {
    const groups: (string | undefined)[] = [];
    for (let group = 1; group <= groupCount; group += 1) groups.push(matcher.group(group) ?? undefined);
    result += text.slice(done, matcher.start()) + replacer(matcher.group(0) ?? '', ...groups);
    done = matcher.end();
    if (found % MATCHES_PER_STEP === 0) yield;
  }
  return result + text.slice(done);
}
