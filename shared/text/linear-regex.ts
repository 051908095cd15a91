import { RE2JS } from 're2js';

/**
 * A regular expression compiled by re2js (RE2's automata): matching time grows linearly with the text whatever the
 * pattern, so untrusted text cannot make it backtrack. Flags: `i` case-insensitive, `m` multi-line anchors,
 * `s` dot matches newline.
 */
export interface LinearRegex {
  test(text: string): boolean;
  /** Every non-overlapping match, left to right: text and start offset. */
  matches(text: string): { text: string; index: number; groups: (string | undefined)[] }[];
  /** Replaces every match; the replacer gets the match and its numbered groups. */
  replace(text: string, replacer: (match: string, ...groups: (string | undefined)[]) => string): string;
}

/** Compiled on first use: compiling costs milliseconds each, and start-up should not pay for rules never needed. */
export function linearRegex(source: string, flags = ''): LinearRegex {
  let bits = 0;
  if (flags.includes('i')) bits |= RE2JS.CASE_INSENSITIVE;
  if (flags.includes('m')) bits |= RE2JS.MULTILINE;
  if (flags.includes('s')) bits |= RE2JS.DOTALL;
  let cached: RE2JS | undefined;
  const pattern = (): RE2JS => (cached ??= RE2JS.compile(source, bits));
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
    replace: (text, replacer) =>
      pattern().matcher(text).replaceAll((...args: unknown[]) => {
        // The replacer receives (match, ...groups, offset, input), as String.prototype.replace's does.
        const groups = args.slice(1, 1 + pattern().groupCount()).map((group) => (typeof group === 'string' ? group : undefined));
        return replacer(String(args[0]), ...groups);
      }),
  };
}
