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

// linear: one character class repeated, nothing after it: each attempt fails at once or consumes a whole run.
const TAG_RUN = /[\u{E0000}-\u{E007F}]+/gu;
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
const HIDDEN_CHARACTER = new RegExp(`[\\u{E0000}-\\u{E007F}]|${BIDI.source}|${INVISIBLE.source}`, 'gu');

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

export function neutraliseUnicode(text: string): { text: string; findings: UnicodeFindings } {
  const findings: UnicodeFindings = { invisible: 0, bidi: 0, hiddenText: [] };
  let result = text.replace(TAG_RUN, (run) => {
    const decoded = [...run]
      .map((char) => (char.codePointAt(0) ?? 0) - 0xe0000)
      .filter((code) => code >= 0x20 && code < 0x7f)
      .map((code) => String.fromCharCode(code))
      .join('');
    if (!decoded) {
      findings.invisible += [...run].length;
      return '';
    }
    findings.hiddenText.push(decoded);
    return ` [hidden text revealed: "${decoded}"] `;
  });
  result = result.replace(BIDI, () => {
    findings.bidi += 1;
    return '';
  });
  result = result.replace(INVISIBLE, () => {
    findings.invisible += 1;
    return '';
  });
  return { text: result, findings };
}
