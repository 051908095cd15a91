import type { Re2Pattern, Replacer } from '../../text/linear-regex.js';

/**
 * `name = value`, `name: value`, `"name": "value"`: what the secret-field rule looks for, as RE2 reads this
 * pattern (the specification: test/secret-field.test.ts checks `secretFieldPattern` against re2js running it on
 * generated texts). Groups: the name (up to three words), the separator with its quotes and blanks, the value.
 */
export const SECRET_FIELD_SOURCE =
  '([A-Za-z][A-Za-z0-9_.-]{0,60}(?:[ \\t][A-Za-z][A-Za-z0-9_-]{0,30}){0,2})(["\']?[ \\t]*[:=][ \\t]*["\']?)([^\\s"\',;&<>()]{3,})';

/**
 * The same matches, found from the separators instead of by an automaton. re2js runs the pattern with every start
 * of a name in the last 61 characters alive at once, so a 16 KiB run of letters before one `=` held the event loop
 * for 60-130 ms here (a Reader's request body is redacted before the call runs). Here each `:` or `=` is looked at
 * once: the name can only end just before it (after an optional quote and blanks), and its words are read backwards
 * from there, at most 125 characters: linear with a small constant.
 *
 * Why that finds what the automaton finds: no part before the separator may hold `:` or `=`, so the leftmost match
 * is the one that uses the first separator that has one, and it starts at the leftmost place a name ending just
 * before that separator's quote and blanks can start; after a match the search goes on where it ended.
 */
export const secretFieldPattern: Re2Pattern = {
  test: (text) => nextMatch(text, 0) !== undefined,
  matches: (text) => [...matchesIn(text)].map((match) => ({ text: text.slice(match.start, match.end), index: match.start, groups: groupsOf(text, match) })),
  replace: replaceAll,
  // Each separator costs a bounded look back, and a match is read once: cheap enough to need no steps.
  // eslint-disable-next-line require-yield
  *replaceInSteps(text, replacer) {
    return replaceAll(text, replacer);
  },
};

function replaceAll(text: string, replacer: Replacer): string {
  let result = '';
  let done = 0;
  for (const match of matchesIn(text)) {
    result += text.slice(done, match.start) + replacer(text.slice(match.start, match.end), ...groupsOf(text, match));
    done = match.end;
  }
  return result + text.slice(done);
}

/** Every match, left to right, each search starting where the last match ended. */
function* matchesIn(text: string): Generator<Match, void, void> {
  for (let match = nextMatch(text, 0); match; match = nextMatch(text, match.end)) yield match;
}

interface Match {
  start: number;
  /** Where the name ends and the separator part begins. */
  nameEnd: number;
  /** Where the value begins. */
  valueStart: number;
  end: number;
}

const groupsOf = (text: string, match: Match): string[] => [
  text.slice(match.start, match.nameEnd),
  text.slice(match.nameEnd, match.valueStart),
  text.slice(match.valueStart, match.end),
];

const COLON = 0x3a;
const EQUALS = 0x3d;
const isBlank = (code: number) => code === 0x20 || code === 0x09;
const isQuote = (code: number) => code === 0x22 || code === 0x27;
const isLetter = (code: number) => (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a);
const isDigit = (code: number) => code >= 0x30 && code <= 0x39;
/** [A-Za-z0-9_-]: the characters of the second and third words. */
const isWordChar = (code: number) => isLetter(code) || isDigit(code) || code === 0x5f || code === 0x2d;
/** [A-Za-z0-9_.-]: the characters of the first word. */
const isFirstWordChar = (code: number) => isWordChar(code) || code === 0x2e;
/** RE2's \s: [\t\n\f\r ]. */
const isSpace = (code: number) => code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0c || code === 0x0d;
/** [^\s"',;&<>()] */
const isValueChar = (code: number) =>
  !isSpace(code) && !isQuote(code) && code !== 0x2c && code !== 0x3b && code !== 0x26 && code !== 0x3c && code !== 0x3e && code !== 0x28 && code !== 0x29;

const FIRST_WORD_MAX = 61;
const OTHER_WORD_MAX = 31;

/** The leftmost match that starts at `from` or later, or undefined. */
function nextMatch(text: string, from: number): Match | undefined {
  for (let at = from; at < text.length; at += 1) {
    const code = text.charCodeAt(at);
    if (code !== COLON && code !== EQUALS) continue;
    const match = matchAround(text, from, at);
    if (match) return match;
  }
  return undefined;
}

/** The match that uses the separator at `separator`, starting at `from` or later, or undefined. */
function matchAround(text: string, from: number, separator: number): Match | undefined {
  // Before it: blanks, then an optional quote, then the name, which ends with a word character (read at most 125
  // characters back).
  let nameEnd = separator;
  while (nameEnd > from && isBlank(text.charCodeAt(nameEnd - 1))) nameEnd -= 1;
  if (nameEnd > from && isQuote(text.charCodeAt(nameEnd - 1))) nameEnd -= 1;
  const start = nameStart(text, from, nameEnd);
  if (start === undefined) return undefined;
  // After it: blanks, an optional quote, then a value of at least three code points, taken whole (nothing follows
  // it). Read to its end only once it is known to be a match, which the search then moves past: no character is
  // read twice for the values of a run of separators.
  let valueStart = separator + 1;
  while (valueStart < text.length && isBlank(text.charCodeAt(valueStart))) valueStart += 1;
  if (valueStart < text.length && isQuote(text.charCodeAt(valueStart))) valueStart += 1;
  let end = valueStart;
  for (let codePoints = 0; codePoints < 3; codePoints += 1) {
    if (end >= text.length || !isValueChar(text.charCodeAt(end))) return undefined;
    end += isSurrogatePair(text, end) ? 2 : 1;
  }
  while (end < text.length && isValueChar(text.charCodeAt(end))) end += 1;
  return { start, nameEnd, valueStart, end };
}

/** A surrogate pair is one code point to RE2 (and one character of the value's class). */
function isSurrogatePair(text: string, at: number): boolean {
  const high = text.charCodeAt(at);
  if (high < 0xd800 || high > 0xdbff || at + 1 >= text.length) return false;
  const low = text.charCodeAt(at + 1);
  return low >= 0xdc00 && low <= 0xdfff;
}

/**
 * The leftmost start, at `from` or later, of a name that ends exactly at `end`: a first word
 * ([A-Za-z][A-Za-z0-9_.-]{0,60}) and up to two more, each a blank and [A-Za-z][A-Za-z0-9_-]{0,30}. With more words
 * the name starts further left, so the most words that fit are tried first.
 */
function nameStart(text: string, from: number, end: number): number | undefined {
  let best: number | undefined;
  // `wordsEnd`: where the first word ends when `extra` more words follow it.
  let wordsEnd = end;
  for (let extra = 0; extra <= 2; extra += 1) {
    const start = firstWordStart(text, from, wordsEnd);
    if (start !== undefined) best = start;
    // One more word at the end: it runs back from wordsEnd to a blank, has no '.', starts with a letter.
    let wordStart = wordsEnd;
    while (wordStart > from && wordsEnd - wordStart < OTHER_WORD_MAX && isWordChar(text.charCodeAt(wordStart - 1))) wordStart -= 1;
    const blank = wordStart - 1;
    if (wordStart === wordsEnd || blank < from || !isBlank(text.charCodeAt(blank)) || !isLetter(text.charCodeAt(wordStart))) break;
    wordsEnd = blank;
  }
  return best;
}

/** The leftmost start, at `from` or later, of a first word that ends exactly at `end`. */
function firstWordStart(text: string, from: number, end: number): number | undefined {
  let runStart = end;
  while (runStart > from && end - runStart < FIRST_WORD_MAX && isFirstWordChar(text.charCodeAt(runStart - 1))) runStart -= 1;
  for (let start = runStart; start < end; start += 1) if (isLetter(text.charCodeAt(start))) return start;
  return undefined;
}
