import fc from 'fast-check';

/** Code points there are, less the 2,048 surrogates (U+D800–U+DFFF), which no well-formed string holds alone. */
const CODE_POINTS = 0x110000 - 0x800;

/**
 * Any Unicode code point but a surrogate, as a string: the characters of fast-check's `'binary'` string unit. That
 * unit spends about a second of CPU, once per test file (jest loads fast-check afresh for each), building a map of all
 * 1.1 million code points so it can splice its built-in slices (`__proto__`, `constructor`, …) into the strings it
 * makes; this one builds nothing. Files that want those words name them in their own arbitraries. Use it wherever
 * fast-check takes a string unit (`fc.jsonValue`'s `stringUnit` too).
 */
export const codePoint: fc.Arbitrary<string> = fc
  .integer({ min: 0, max: CODE_POINTS - 1 })
  .map((index) => String.fromCodePoint(index < 0xd800 ? index : index + 0x800));

/** Strings of `codePoint`s: the values of `fc.string({ unit: 'binary' })`. */
export function codePointString(constraints: Omit<fc.StringConstraints, 'unit'> = {}): fc.Arbitrary<string> {
  return fc.string({ ...constraints, unit: codePoint });
}
