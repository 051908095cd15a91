/* eslint-disable no-control-regex -- this file's patterns exist to find control and invisible characters */
import { allAtOnce, type Steps } from '../runtime/stepwise.js';

/**
 * Invisible Unicode is how instructions hide from the human reviewing an agent's context: zero-width characters
 * split words past filters, bidi controls reorder what is displayed, and tag characters (U+E0000–E007F) carry a
 * whole ASCII message that renders as nothing ("ASCII smuggling"). Neutralising makes the text show what it holds.
 */
export interface UnicodeFindings {
  /** Zero-width, format and other invisible characters removed. */
  invisible: number;
  /** Bidirectional controls removed (they can make text display reversed or reordered). */
  bidi: number;
  /** Text hidden in tag characters, decoded. */
  hiddenText: string[];
}

// linear: one character class, no quantifier: one step per character.
const BIDI = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/gu;
// Format characters (zero-width spaces, joiners, BOM, soft hyphen...), variation selectors and C0/C1 controls
// other than tab, newline and carriage return.
// linear: one character class, no quantifier: one step per character.
const INVISIBLE = /[\p{Cf}\u{FE00}-\u{FE0F}\u{E0100}-\u{E01EF}\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/gu;

/**
 * Any single character neutraliseUnicode would remove or decode (tag, bidi control, invisible or control
 * character): a union of single-character classes, so matching is linear.
 */
// linear: a union of single-character classes, no quantifier: one step per character.
const HIDDEN_CHARACTER =
  /[\u{E0000}-\u{E007F}]|[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]|[\p{Cf}\u{FE00}-\u{FE0F}\u{E0100}-\u{E01EF}\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/gu;

/**
 * For text shown to a person who must judge it (the approval page): every hidden character is replaced by what
 * `show` makes of its code point (e.g. a visible `\u202E` token), so the text cannot display as something else.
 */
export function revealHiddenCharacters(text: string, show: (codePoint: number) => string): string {
  return text.replace(HIDDEN_CHARACTER, (char) => show(char.codePointAt(0) ?? 0));
}

/** `\u202E` for a code point in the basic plane, `\u{E0041}` beyond it: how JavaScript and JSON readers write it. */
export function codePointEscape(codePoint: number): string {
  const hex = codePoint.toString(16).toUpperCase();
  return codePoint > 0xffff ? `\\u{${hex}}` : `\\u${hex.padStart(4, '0')}`;
}

/** Code units neutralised in one step when a long text is done in turns: a few milliseconds of work at most. */
const UNITS_PER_STEP = 32 * 1024;

export function neutraliseUnicode(text: string): { text: string; findings: UnicodeFindings } {
  return allAtOnce(neutralisingSteps(text));
}

/**
 * The same, a step at a time (see ../runtime/stepwise.ts): a megabyte of tag characters and bidi controls took
 * 30-75 ms at once here, during which no other request was answered.
 */
export function* neutralisingSteps(text: string): Steps<{ text: string; findings: UnicodeFindings }> {
  const findings: UnicodeFindings = { invisible: 0, bidi: 0, hiddenText: [] };
  // Most text holds nothing to neutralise: one linear scan says so.
  if (!ANY_HIDDEN.test(text)) return { text, findings };
  // One pass over the code units into a buffer, so the cost is proportional to the text whatever it holds (a
  // replace with a callback per hidden character, or a string built piece by piece, took seconds on a megabyte of
  // alternating hidden and plain characters). A run of tag characters is revealed as one piece even when bidi
  // controls or invisible characters are interleaved to split it.
  // Each revealed run adds its marker; past MAX_REVEAL_MARKERS runs only brackets (two units for at least two).
  const out = new Uint16Array(text.length * 2 + MAX_REVEAL_MARKERS * (REVEAL_OPEN.length + REVEAL_CLOSE.length));
  let length = 0;
  const write = (piece: string) => {
    for (let k = 0; k < piece.length; k += 1) out[length++] = piece.charCodeAt(k);
  };
  let runStart = -1; // where the open tag run's output starts (-1: none open)
  let decodedFrom = 0; // where its decoded ASCII starts in the output
  let tags = 0;
  let reveals = 0;
  const closeRun = () => {
    if (runStart < 0) return;
    if (length === decodedFrom) {
      // Only unprintable tags (language tag, cancel tag): invisible characters, nothing to reveal.
      findings.invisible += tags;
      length = runStart;
    } else {
      if (findings.hiddenText.length < MAX_HIDDEN_PIECES) {
        findings.hiddenText.push(String.fromCharCode(...out.subarray(decodedFrom, Math.min(length, decodedFrom + MAX_HIDDEN_PIECE))));
      }
      write(reveals < MAX_REVEAL_MARKERS ? REVEAL_CLOSE : ']');
      reveals += 1;
    }
    runStart = -1;
  };
  let stepEnd = UNITS_PER_STEP;
  for (let i = 0; i < text.length;) {
    if (i >= stepEnd) {
      stepEnd = i + UNITS_PER_STEP;
      yield;
    }
    const unit = text.charCodeAt(i);
    const astral = unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length && text.charCodeAt(i + 1) >= 0xdc00 && text.charCodeAt(i + 1) <= 0xdfff;
    const code = astral ? (text.codePointAt(i) ?? unit) : unit;
    const kind = !astral
      ? bmpKind(code)
      : code >= 0xe0000 && code <= 0xe007f
        ? TAG
        : ASTRAL_INVISIBLE.test(String.fromCodePoint(code))
          ? INVISIBLE_KIND
          : PLAIN;
    const width = astral ? 2 : 1;
    if (kind === PLAIN) {
      closeRun();
      out[length++] = unit;
      if (astral) out[length++] = text.charCodeAt(i + 1);
    } else if (kind === TAG) {
      if (runStart < 0) {
        runStart = length;
        write(reveals < MAX_REVEAL_MARKERS ? REVEAL_OPEN : '[');
        decodedFrom = length;
        tags = 0;
      }
      tags += 1;
      const ascii = code - 0xe0000;
      if (ascii >= 0x20 && ascii < 0x7f) out[length++] = ascii;
    } else if (kind === BIDI_KIND) findings.bidi += 1;
    else findings.invisible += 1;
    i += width;
  }
  closeRun();
  let result = '';
  for (let from = 0; from < length; from += 8_192) {
    if (from > 0 && from % UNITS_PER_STEP === 0) yield;
    result += String.fromCharCode(...out.subarray(from, Math.min(length, from + 8_192)));
  }
  return { text: result, findings };
}

const REVEAL_OPEN = ' [hidden text revealed: "';
const REVEAL_CLOSE = '"] ';
const PLAIN = 0;
const BIDI_KIND = 1;
const INVISIBLE_KIND = 2;
const TAG = 3;
/** At most this many hidden pieces are passed on to the injection checks (which read 64 KiB at most anyway). */
const MAX_HIDDEN_PIECES = 256;
const MAX_HIDDEN_PIECE = 4_096;
const MAX_REVEAL_MARKERS = 256;

// linear: a union of single-character classes, no quantifier: one step per character.
const ANY_HIDDEN =
  /[\u{E0000}-\u{E007F}]|[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]|[\p{Cf}\u{FE00}-\u{FE0F}\u{E0100}-\u{E01EF}\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/u;
// linear: anchored, one character class, no quantifier: tested on one character.
const ASTRAL_INVISIBLE = /^[\p{Cf}\u{FE00}-\u{FE0F}\u{E0100}-\u{E01EF}\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]$/u;

// The classes of BIDI and INVISIBLE above, without the global flag (a global pattern's test() keeps a position).
// linear: one character class, no quantifier: tested on one character.
const BIDI_ONE = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/u;
// linear: one character class, no quantifier: tested on one character.
const INVISIBLE_ONE = /[\p{Cf}\u{FE00}-\u{FE0F}\u{E0100}-\u{E01EF}\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/u;
if (BIDI_ONE.source !== BIDI.source || INVISIBLE_ONE.source !== INVISIBLE.source)
  throw new Error('unicode.ts: the one-character classes no longer match BIDI and INVISIBLE');
const UNKNOWN = 255;
let bmpKindTable: Uint8Array | undefined;
/**
 * What a character of the basic plane is (plain, bidi control, invisible), classified the first time it is seen
 * and kept: a table of the whole plane, built at once, took a first call about 70 ms.
 */
function bmpKind(code: number): number {
  const table = (bmpKindTable ??= new Uint8Array(0x10000).fill(UNKNOWN));
  let kind = table[code]!;
  if (kind === UNKNOWN) {
    // Lone surrogates as spaces, as before.
    const char = code >= 0xd800 && code <= 0xdfff ? ' ' : String.fromCharCode(code);
    kind = BIDI_ONE.test(char) ? BIDI_KIND : INVISIBLE_ONE.test(char) ? INVISIBLE_KIND : PLAIN;
    table[code] = kind;
  }
  return kind;
}
