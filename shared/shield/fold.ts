import { LOOKALIKES_JSON } from './lookalikes.generated.js';

/**
 * Folds text for matching, not for reading: compatibility forms (NFKC/NFKD), accents dropped (so Welsh "dilëwch" and
 * Polish "usuń" match "dilewch", "usun"), lower case, and look-alike letters from other scripts mapped to the Latin
 * letter they imitate (Cyrillic "о", Greek "ο" → "o"). The look-alike table is Unicode's confusables data
 * (UTS #39 confusables.txt, as shipped by the `unhomoglyph` package, compiled in by `npm run generate`:
 * ./lookalikes.generated.ts); only non-ASCII characters whose skeleton is plain ASCII letters or digits are mapped,
 * so ASCII text and real non-Latin words are left as they are.
 */
let lookalikeTable: Map<string, string> | undefined;
/** The table is parsed on the first non-ASCII text, not at start-up (about 0.2 ms for its 1,449 entries). */
function lookalikeOf(char: string): string | undefined {
  lookalikeTable ??= new Map(Object.entries(JSON.parse(LOOKALIKES_JSON) as Record<string, string>));
  return lookalikeTable.get(char);
}
// Letters with a stroke do not decompose, so dropping accents misses them.
const STROKED = new Map([
  ['ł', 'l'],
  ['đ', 'd'],
  ['ø', 'o'],
  ['ħ', 'h'],
]);

/** A combining mark (accent) left by NFKD. */
// linear: one character class.
const MARK = /\p{M}/gu;

/** The lower-case letter's skeleton first (Cyrillic "І" is "i", not "l"), then the letter's own. */
function lookalikes(text: string): string {
  let folded = '';
  for (const char of text) {
    const lower = char.toLowerCase();
    folded += STROKED.get(lower) ?? lookalikeOf(lower) ?? lookalikeOf(char) ?? lower;
  }
  return folded;
}

// linear: one character class.
// eslint-disable-next-line no-control-regex -- the range starts at NUL on purpose: everything outside ASCII
const NON_ASCII = /[^\x00-\x7f]/;

export function foldForMatching(text: string): string {
  if (!NON_ASCII.test(text)) return text.toLowerCase();
  // Before and after compatibility decomposition: NFKD turns some look-alikes (lunate sigma) into other letters.
  return lookalikes(lookalikes(text).normalize('NFKD').replace(MARK, ''));
}
