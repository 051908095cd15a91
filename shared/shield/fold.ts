import { createRequire } from 'node:module';

/**
 * Folds text for matching, not for reading: compatibility forms (NFKC/NFKD), accents dropped (so Welsh "dilëwch" and
 * Polish "usuń" match "dilewch", "usun"), lower case, and look-alike letters from other scripts mapped to the Latin
 * letter they imitate (Cyrillic "о", Greek "ο" → "o"). The look-alike table is Unicode's confusables data
 * (UTS #39 confusables.txt, as shipped by the `unhomoglyph` package); only non-ASCII characters whose skeleton is
 * plain ASCII letters or digits are mapped, so ASCII text and real non-Latin words are left as they are.
 */
// linear: anchored single class run.
const ASCII_SKELETON = /^[a-z0-9]+$/i;
let lookalikeData: Record<string, string> | undefined;
/** The characters looked up so far that have an ASCII look-alike, and theirs (at most the table's 6,000 entries). */
const lookalikeFound = new Map<string, string>();
/**
 * Looked up character by character in the table as shipped, and kept once found: the table is read on the first
 * non-ASCII text, not at start-up, and never filtered whole (that took a first call about 80 ms).
 */
function lookalikeOf(char: string): string | undefined {
  const known = lookalikeFound.get(char);
  if (known !== undefined) return known;
  lookalikeData ??= createRequire(import.meta.url)('unhomoglyph/data.json') as Record<string, string>;
  const to = Object.hasOwn(lookalikeData, char) ? lookalikeData[char] : undefined;
  if (to === undefined || char.charCodeAt(0) <= 0x7f || !ASCII_SKELETON.test(to)) return undefined;
  const lower = to.toLowerCase();
  lookalikeFound.set(char, lower);
  return lower;
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
