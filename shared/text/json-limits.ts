import { groupedNumber } from './grouped-number.js';

/**
 * Limits on the shape of a JSON body, checked on its text in one pass before anything parses or walks it: a body
 * of half a million nested arrays, or an object of 200,000 keys, costs every later step (parsing, validation,
 * error messages, the audit) in proportion, while no request this server understands comes near either limit.
 */
export const MAX_JSON_DEPTH = 64;
export const MAX_JSON_ENTRIES = 5_000;

export interface JsonShape {
  /** The deepest nesting of objects and arrays seen (counting stops past MAX_JSON_DEPTH). */
  depth: number;
  /** Object keys and array items, all levels together (counting stops past MAX_JSON_ENTRIES). */
  entries: number;
}

/** Characters in a row that change nothing after which the scanner searches ahead for the next one that might. */
const RUN_BEFORE_SEARCH = 16;
/** What ends a run inside a string. */
const STRING_STOPS = ['"', '\\'];
/** What ends a run outside one (whitespace and anything else change nothing there once a container has an entry). */
const STRUCTURE_STOPS = ['"', '[', ']', '{', '}', ','];

/**
 * Where the nearest of `stops` is in `text` at or after `from` (`text.length` when none is), keeping in `found` where
 * each was found (-1: none in the rest of the text). A stop is looked for again only once passed (`from` beyond it),
 * so over a whole text the searches for each stop cover every character at most once: linear in the text, however
 * the stops are laid out. `found` starts filled with -2 (not looked for yet).
 */
function nearest(text: string, stops: readonly string[], found: Int32Array, from: number): number {
  let nearestAt = text.length;
  for (let k = 0; k < stops.length; k += 1) {
    let at = found[k]!;
    if (at !== -1 && at < from) found[k] = at = text.indexOf(stops[k]!, from);
    if (at !== -1 && at < nearestAt) nearestAt = at;
  }
  return nearestAt;
}

/**
 * Measures nesting and entries in the text of a JSON value, fed in pieces as it arrives (so a large body is never
 * scanned in one long step): linear in its length, constant memory, and it stops counting as soon as a limit is
 * passed. It does not validate: malformed text is for JSON.parse to refuse. After a run of characters that change
 * nothing (inside a string: all but a quote or backslash; outside: all but JSON's punctuation), it jumps to the next
 * one that might with the engine's own search: a 4 MiB string argument took 18-37 ms a character at a time, and takes
 * under 1 ms; dense punctuation, quotes and escapes still go a character at a time.
 */
export class JsonShapeScanner {
  private depth = 0;
  private deepest = 0;
  private entries = 0;
  private inString = false;
  /** A backslash ended the last piece inside a string: the next character is escaped. */
  private escaped = false;
  private awaitingFirst = false;

  feed(text: string): void {
    if (this.exceeded()) return;
    let { depth, deepest, entries, inString, escaped, awaitingFirst } = this;
    const length = text.length;
    const inStringStops = new Int32Array(STRING_STOPS.length).fill(-2);
    const structureStops = new Int32Array(STRUCTURE_STOPS.length).fill(-2);
    // Characters in a row, so far, that changed nothing.
    let run = 0;
    for (let i = 0; i < length; i += 1) {
      const code = text.charCodeAt(i);
      if (inString) {
        if (escaped) escaped = false;
        else if (code === 0x5c)
          escaped = true; // backslash: the next character is escaped
        else if (code === 0x22) {
          inString = false;
          run = 0;
        } else if (++run === RUN_BEFORE_SEARCH) {
          run = 0;
          i = nearest(text, STRING_STOPS, inStringStops, i) - 1; // the loop steps onto it
        }
        continue;
      }
      if (code === 0x20 || code === 0x0a || code === 0x0d || code === 0x09) {
        if (!awaitingFirst && ++run === RUN_BEFORE_SEARCH) {
          run = 0;
          i = nearest(text, STRUCTURE_STOPS, structureStops, i) - 1;
        }
        continue;
      }
      if (awaitingFirst && code !== 0x5d && code !== 0x7d) entries += 1; // the first entry of a non-empty container
      awaitingFirst = false;
      if (code === 0x22) {
        inString = true;
        run = 0;
      } else if (code === 0x5b || code === 0x7b) {
        depth += 1;
        awaitingFirst = true;
        if (depth > deepest) deepest = depth;
        run = 0;
      } else if (code === 0x5d || code === 0x7d) {
        depth -= 1;
        run = 0;
      } else if (code === 0x2c) {
        entries += 1;
        run = 0;
      } else if (++run === RUN_BEFORE_SEARCH) {
        run = 0;
        i = nearest(text, STRUCTURE_STOPS, structureStops, i) - 1;
      }
      if (deepest > MAX_JSON_DEPTH || entries > MAX_JSON_ENTRIES) break;
    }
    Object.assign(this, { depth, deepest, entries, inString, escaped, awaitingFirst });
  }

  get shape(): JsonShape {
    return { depth: this.deepest, entries: this.entries };
  }

  private exceeded(): boolean {
    return this.deepest > MAX_JSON_DEPTH || this.entries > MAX_JSON_ENTRIES;
  }
}

/** The shape of a whole JSON text at once (for texts the server holds already, such as answers). */
export function jsonShape(text: string): JsonShape {
  const scanner = new JsonShapeScanner();
  scanner.feed(text);
  return scanner.shape;
}

/** What is wrong with a body's shape, in words a caller can act on, or undefined when it is within the limits. */
export function jsonLimitExceeded(text: string | JsonShape): string | undefined {
  const shape = typeof text === 'string' ? jsonShape(text) : text;
  if (shape.depth > MAX_JSON_DEPTH) return `the JSON nests deeper than ${MAX_JSON_DEPTH} levels (the limit); send flatter JSON.`;
  if (shape.entries > MAX_JSON_ENTRIES) {
    return `the JSON has more than ${groupedNumber(MAX_JSON_ENTRIES)} keys and array items in all (the limit); send fewer.`;
  }
  return undefined;
}
