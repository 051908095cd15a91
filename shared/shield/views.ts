import { assertBoundedRepetition } from './bounded-regex.js';

/**
 * The other ways a text can carry words a reader does not see at a glance: inside HTML or Markdown comments, in
 * image alt text, or encoded as base64, hex or percent-escapes. Each view is scanned like the text itself, and
 * decoded text is opened once more (base64 inside percent-encoding, say), never deeper. Bounded: at most
 * MAX_VIEWS views, each at most MAX_VIEW_CHARS, and only decodings that come out as readable text count.
 * Comments and encoded runs are found by plain scanning (one pass, no regular expression); the Markdown patterns
 * have bounded repetition only (see bounded-regex.ts).
 */
export type ViewSource = 'text' | 'html-comment' | 'markdown-comment' | 'alt-text' | 'base64' | 'hex' | 'percent';

export interface TextView {
  via: ViewSource;
  text: string;
}

const MAX_VIEWS = 24;
const MAX_VIEW_CHARS = 16 * 1024;
const MAX_DEPTH = 2;

const bounded = (source: string, flags: string): RegExp => {
  assertBoundedRepetition(source);
  return new RegExp(source, flags);
};
const MARKUP: [ViewSource, RegExp][] = [
  ['markdown-comment', bounded('\\[(?://|comment|#)\\]: {0,4}(?:#|<>) {0,4}\\(([^)\\n]{1,2000})\\)', 'g')],
  ['alt-text', bounded('!\\[([^\\]\\n]{1,2000})\\]', 'g')],
  ['alt-text', bounded('\\b(?:alt|title|aria-label) {0,4}= {0,4}"([^"]{1,2000})"', 'gi')],
];

/** Every HTML comment's text; an unclosed comment runs to the end. One pass with indexOf. */
function htmlComments(text: string): string[] {
  const found: string[] = [];
  let from = 0;
  for (;;) {
    const open = text.indexOf('<!--', from);
    if (open < 0) return found;
    const close = text.indexOf('-->', open + 4);
    // linear: at most 8 characters tried from each start.
    found.push(text.slice(open + 4, close < 0 ? text.length : close).replace(/^-{1,8}|-{1,8}$/g, ''));
    if (close < 0) return found;
    from = close + 3;
  }
}

/** Maximal runs of characters accepted by `inRun`, at least `min` long. One pass. */
function runs(text: string, inRun: (code: number) => boolean, min: number): string[] {
  const found: string[] = [];
  let start = -1;
  for (let i = 0; i <= text.length; i++) {
    if (i < text.length && inRun(text.charCodeAt(i))) {
      if (start < 0) start = i;
    } else if (start >= 0) {
      if (i - start >= min) found.push(text.slice(start, i));
      start = -1;
    }
  }
  return found;
}

const isAlnum = (c: number) => (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
const isHex = (c: number) => (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
// Base64 (standard and URL alphabets, padding) and the line breaks that wrap it.
const inBase64 = (c: number) => isAlnum(c) || c === 43 || c === 47 || c === 95 || c === 45 || c === 61 || c === 10 || c === 13;
const inHex = (c: number) => isHex(c) || c === 32 || c === 58;
const inPercent = (c: number) => isAlnum(c) || c === 37 || c === 46 || c === 95 || c === 126 || c === 43 || c === 45;

/** Readable text: decodes as UTF-8 without replacement characters, and almost all of it printable. */
function readable(bytes: Buffer): string | undefined {
  if (bytes.length < 12) return undefined;
  const text = bytes.toString('utf8');
  if (text.includes('\uFFFD')) return undefined;
  let printable = 0;
  // linear: one character class; then three letters (fixed width).
  for (const char of text) if (/[\p{L}\p{N}\p{P}\p{Zs}\n\r\t$+<=>^`|~]/u.test(char)) printable += 1;
  return printable / [...text].length >= 0.95 && /\p{L}{3}/u.test(text) ? text : undefined;
}

function decodings(text: string): TextView[] {
  const found: TextView[] = [];
  for (const run of runs(text, inBase64, 24)) {
    // linear: single characters, no repetition (`\s` here, `-` and `_` two lines below).
    const compact = run.replace(/\s/g, '');
    if (compact.length < 24) continue;
    const decoded = readable(Buffer.from(compact.replace(/-/g, '+').replace(/_/g, '/'), 'base64'));
    if (decoded) found.push({ via: 'base64', text: decoded });
  }
  for (const run of runs(text, inHex, 32)) {
    // linear: one character class.
    const decoded = readable(Buffer.from(run.replace(/[ :]/g, ''), 'hex'));
    if (decoded) found.push({ via: 'hex', text: decoded });
  }
  for (const run of runs(text, inPercent, 12)) {
    if (run.split('%').length < 4) continue;
    const decoded = readable(percentDecode(run));
    if (decoded) found.push({ via: 'percent', text: decoded });
  }
  return found;
}

function percentDecode(text: string): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    // linear: anchored, fixed length (two hex digits).
    if (char === '%' && /^[0-9A-Fa-f]{2}$/.test(text.slice(i + 1, i + 3))) {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(...Buffer.from(char === '+' ? ' ' : char));
  }
  return Buffer.from(bytes);
}

const ENTITIES: Record<string, string> = { quot: '"', amp: '&', lt: '<', gt: '>', apos: "'" };
const ENTITY = bounded('&(quot|amp|lt|gt|apos|#[0-9]{1,6});', 'g');
function decodeEntities(text: string): string {
  return text.replace(ENTITY, (match, name: string) =>
    name.startsWith('#') ? String.fromCodePoint(Math.min(Number(name.slice(1)), 0x10ffff)) : (ENTITIES[name] ?? match),
  );
}

/** The text itself (entities decoded) and every hidden or encoded view of it. */
export function textViews(text: string): TextView[] {
  const views: TextView[] = [{ via: 'text', text: decodeEntities(text.slice(0, MAX_VIEW_CHARS * 4)) }];
  for (const comment of htmlComments(views[0]!.text)) if (comment.trim()) views.push({ via: 'html-comment', text: comment.trim() });
  for (const [via, pattern] of MARKUP) {
    for (const match of views[0]!.text.matchAll(pattern)) if (match[1]?.trim()) views.push({ via, text: match[1].trim() });
  }
  let frontier = views.slice();
  for (let depth = 0; depth < MAX_DEPTH && views.length < MAX_VIEWS; depth++) {
    const next = frontier.flatMap((view) => decodings(view.text)).map((view) => ({ ...view, text: view.text.slice(0, MAX_VIEW_CHARS) }));
    views.push(...next.slice(0, MAX_VIEWS - views.length));
    frontier = next;
  }
  return views;
}
