import fc from 'fast-check';

/** Code points there are, less the 2,048 surrogates (U+D800–U+DFFF), which no well-formed string holds alone. */
const CODE_POINTS = 0x110000 - 0x800;

/**
 * Strings of any Unicode code points, surrogates excepted: the values of fast-check's `{ unit: 'binary' }`. That unit
 * spends about a second of CPU, once per test file (jest loads fast-check afresh for each), building a map of all
 * 1.1 million code points so it can splice its built-in slices (`__proto__`, `constructor`, …) into the strings it
 * makes; this one builds nothing. Files that want those words name them in their own arbitraries.
 */
export function codePointString(constraints: Omit<fc.StringConstraints, 'unit'> = {}): fc.Arbitrary<string> {
  const unit = fc.integer({ min: 0, max: CODE_POINTS - 1 }).map((index) => String.fromCodePoint(index < 0xd800 ? index : index + 0x800));
  return fc.string({ ...constraints, unit });
}
