import { linearRegex } from '../text/linear-regex.js';

/**
 * The other ways a text can carry words a reader does not see at a glance: inside HTML or Markdown comments, in
 * image alt text, or encoded as base64, hex or percent-escapes. Each view is scanned like the text itself, and
 * decoded text is opened once more (base64 inside percent-encoding, say), never deeper. Bounded: at most
 * MAX_VIEWS views, each at most MAX_VIEW_CHARS, and only decodings that come out as readable text count.
 */
export type ViewSource = 'text' | 'html-comment' | 'markdown-comment' | 'alt-text' | 'base64' | 'hex' | 'percent';

export interface TextView {
  via: ViewSource;
  text: string;
}

const MAX_VIEWS = 24;
const MAX_VIEW_CHARS = 16 * 1024;
const MAX_DEPTH = 2;

const MARKUP: [ViewSource, ReturnType<typeof linearRegex>][] = [
  ['html-comment', linearRegex('<!--+(.*?)-*->', 's')],
  ['markdown-comment', linearRegex('\\[(?://|comment|#)\\]: *(?:#|<>) *\\((.*?)\\) *$', 'm')],
  ['alt-text', linearRegex('!\\[([^\\]]+)\\]')],
  ['alt-text', linearRegex('\\b(?:alt|title|aria-label)\\s*=\\s*"([^"]+)"', 'i')],
];
// Runs of an encoding long enough to hold a sentence; base64 may be wrapped over lines.
const BASE64_RUN = linearRegex('(?:[A-Za-z0-9+/_-]{16,}\\r?\\n)*[A-Za-z0-9+/_-]{20,}={0,2}');
const HEX_RUN = linearRegex('(?:[0-9A-Fa-f]{2}[ :]?){16,}');
const PERCENT_RUN = linearRegex('(?:%[0-9A-Fa-f]{2}|[A-Za-z0-9._~+-]){12,}');
const ENTITY = linearRegex('&(quot|amp|lt|gt|apos|#[0-9]{1,6});');

/** Readable text: decodes as UTF-8 without replacement characters, and almost all of it printable. */
function readable(bytes: Buffer): string | undefined {
  if (bytes.length < 12) return undefined;
  const text = bytes.toString('utf8');
  if (text.includes('\uFFFD')) return undefined;
  let printable = 0;
  for (const char of text) if (/[\p{L}\p{N}\p{P}\p{Zs}\n\r\t$+<=>^`|~]/u.test(char)) printable += 1;
  return printable / [...text].length >= 0.95 && /\p{L}{3}/u.test(text) ? text : undefined;
}

function decodings(text: string): TextView[] {
  const found: TextView[] = [];
  for (const run of BASE64_RUN.matches(text)) {
    const compact = run.text.replace(/\s/g, '');
    if (compact.length < 24) continue;
    const decoded = readable(Buffer.from(compact.replace(/-/g, '+').replace(/_/g, '/'), 'base64'));
    if (decoded) found.push({ via: 'base64', text: decoded });
  }
  for (const run of HEX_RUN.matches(text)) {
    const decoded = readable(Buffer.from(run.text.replace(/[ :]/g, ''), 'hex'));
    if (decoded) found.push({ via: 'hex', text: decoded });
  }
  for (const run of PERCENT_RUN.matches(text)) {
    if (run.text.split('%').length < 4) continue;
    const decoded = readable(percentDecode(run.text));
    if (decoded) found.push({ via: 'percent', text: decoded });
  }
  return found;
}

function percentDecode(text: string): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (char === '%' && /^[0-9A-Fa-f]{2}$/.test(text.slice(i + 1, i + 3))) {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(...Buffer.from(char === '+' ? ' ' : char));
  }
  return Buffer.from(bytes);
}

const ENTITIES: Record<string, string> = { quot: '"', amp: '&', lt: '<', gt: '>', apos: "'" };
function decodeEntities(text: string): string {
  return ENTITY.replace(text, (match, name = '') =>
    name.startsWith('#') ? String.fromCodePoint(Math.min(Number(name.slice(1)), 0x10ffff)) : (ENTITIES[name] ?? match),
  );
}

/** The text itself (entities decoded) and every hidden or encoded view of it. */
export function textViews(text: string): TextView[] {
  const views: TextView[] = [{ via: 'text', text: decodeEntities(text.slice(0, MAX_VIEW_CHARS * 4)) }];
  for (const [via, pattern] of MARKUP) {
    for (const match of pattern.matches(views[0]!.text)) if (match.groups[0]?.trim()) views.push({ via, text: match.groups[0].trim() });
  }
  let frontier = views.slice();
  for (let depth = 0; depth < MAX_DEPTH && views.length < MAX_VIEWS; depth++) {
    const next = frontier.flatMap((view) => decodings(view.text)).map((view) => ({ ...view, text: view.text.slice(0, MAX_VIEW_CHARS) }));
    views.push(...next.slice(0, MAX_VIEWS - views.length));
    frontier = next;
  }
  return views;
}
