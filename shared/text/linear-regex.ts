import { RE2JS } from 're2js';

/**
 * A regular expression run by re2js (RE2's automata, no backtracking): its time is linear in the text, whatever the
 * pattern and the text. Every pattern that runs on text a caller or Azure wrote, and that could backtrack in V8's
 * engine, is one of these; `test/hostile/regex-review.test.ts` fails on any other regular expression in the source
 * that is not reviewed as linear.
 *
 * Written as a JavaScript literal, so it reads like the rest of the code, and translated to RE2 syntax with the same
 * meaning: `\s` is JavaScript's whitespace set (RE2's is ASCII only), `\uXXXX` becomes `\x{XXXX}`. Patterns RE2
 * cannot run (lookaround, backreferences) fail at start, not at run time. With the `i` flag RE2 folds case by
 * Unicode rules, so it also matches the few non-ASCII letters that fold to ASCII ones (the Kelvin sign, long s).
 */
export class LinearRegex {
  private readonly compiled: RE2JS;
  /** The same pattern without capturing groups: re2js answers "is there a match?" with its fast DFA then. */
  private readonly detector: RE2JS;

  constructor(readonly source: RegExp) {
    let flags = 0;
    if (source.flags.includes('i')) flags |= RE2JS.CASE_INSENSITIVE;
    if (source.flags.includes('m')) flags |= RE2JS.MULTILINE;
    if (source.flags.includes('s')) flags |= RE2JS.DOTALL;
    this.compiled = RE2JS.compile(toRe2Syntax(source.source), flags);
    this.detector = RE2JS.compile(toRe2Syntax(source.source, { captures: false }), flags);
  }

  test(text: string): boolean {
    return this.detector.test(text);
  }

  /** Every match replaced, as `String.replace` with a global pattern (`$1` names a group). */
  replaceAll(text: string, replacement: string): string {
    // Most text holds no match: the DFA says so in a fraction of the time the capturing matcher takes.
    return this.detector.test(text) ? this.compiled.matcher(text).replaceAll(replacement) : text;
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
