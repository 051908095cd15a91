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
let lookalikeTable: Map<string, string> | undefined;
/** Built on the first non-ASCII text, not at start-up (it is 6,000 entries). */
function lookalikeOf(char: string): string | undefined {
  lookalikeTable ??= new Map(
    Object.entries(createRequire(import.meta.url)('unhomoglyph/data.json') as Record<string, string>)
      .filter(([from, to]) => from.charCodeAt(0) > 0x7f && ASCII_SKELETON.test(to))
      .map(([from, to]) => [from, to.toLowerCase()]),
  );
  return lookalikeTable.get(char);
}
// Letters with a stroke do not decompose, so dropping accents misses them.
const STROKED = new Map([['ł', 'l'], ['đ', 'd'], ['ø', 'o'], ['ħ', 'h']]);

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
const NON_ASCII = /[^\x00-\x7f]/;

export function foldForMatching(text: string): string {
  if (!NON_ASCII.test(text)) return text.toLowerCase();
  // Before and after compatibility decomposition: NFKD turns some look-alikes (lunate sigma) into other letters.
  return lookalikes(lookalikes(text).normalize('NFKD').replace(MARK, ''));
}
