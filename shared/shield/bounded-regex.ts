/**
 * The shield's patterns run on every untrusted string of every result, so they use V8's own engine, which is
 * 100-1000 times faster than re2js on them (measured: re2js took ~3 ms per tag value and over a second per 64 KiB
 * blob). They stay linear in the text because every pattern is checked here, when the module loads, to have only
 * bounded repetition: no `*`, no `+`, no `{n,}`. With every repetition bounded, the work the engine can do from one
 * start position (backtracking included) is bounded by a constant that depends on the pattern alone, so a scan
 * costs at most that constant times the text's length — and the text is capped (INJECTION_SCAN_LIMIT).
 */
export interface BoundedRegex {
  test(text: string): boolean;
  /** Start offsets of every non-overlapping match, left to right. */
  starts(text: string): number[];
}

export function assertBoundedRepetition(source: string): void {
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const char = source[i];
    if (char === '\\') {
      i += 1;
      continue;
    }
    if (inClass) {
      if (char === ']') inClass = false;
      continue;
    }
    if (char === '[') inClass = true;
    else if (char === '*' || char === '+') throw new Error(`Unbounded repetition at ${i} in /${source}/`);
    // linear: anchored; the digit run ends at the `,` it needs, so it is never retried.
    else if (char === '{' && /^\{\d+,\}/.test(source.slice(i))) throw new Error(`Unbounded repetition at ${i} in /${source}/`);
  }
}

export function boundedRegex(source: string, flags = ''): BoundedRegex {
  assertBoundedRepetition(source);
  const once = new RegExp(source, flags);
  const all = new RegExp(source, `${flags}g`);
  return {
    test: (text) => once.test(text),
    starts: (text) => [...text.matchAll(all)].map((match) => match.index),
  };
}
