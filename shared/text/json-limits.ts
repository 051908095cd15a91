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

/**
 * Measures nesting and entries in the text of a JSON value: linear in its length, constant memory, and it stops
 * as soon as a limit is passed. It does not validate: malformed text is for JSON.parse to refuse.
 */
export function jsonShape(text: string): JsonShape {
  let depth = 0;
  let deepest = 0;
  let entries = 0;
  let inString = false;
  let awaitingFirst = false;
  for (let i = 0; i < text.length; i += 1) {
    const code = text.charCodeAt(i);
    if (inString) {
      if (code === 0x5c) i += 1; // backslash: the next character is escaped
      else if (code === 0x22) inString = false;
      continue;
    }
    if (code === 0x20 || code === 0x0a || code === 0x0d || code === 0x09) continue;
    if (awaitingFirst && code !== 0x5d && code !== 0x7d) entries += 1; // the first entry of a non-empty container
    awaitingFirst = false;
    if (code === 0x22) inString = true;
    else if (code === 0x5b || code === 0x7b) {
      depth += 1;
      awaitingFirst = true;
      if (depth > deepest) deepest = depth;
    } else if (code === 0x5d || code === 0x7d) depth -= 1;
    else if (code === 0x2c) entries += 1;
    if (deepest > MAX_JSON_DEPTH || entries > MAX_JSON_ENTRIES) break;
  }
  return { depth: deepest, entries };
}

/** What is wrong with a body's shape, in words a caller can act on, or undefined when it is within the limits. */
export function jsonLimitExceeded(text: string): string | undefined {
  const shape = jsonShape(text);
  if (shape.depth > MAX_JSON_DEPTH) return `the JSON nests deeper than ${MAX_JSON_DEPTH} levels (the limit); send flatter JSON.`;
  if (shape.entries > MAX_JSON_ENTRIES) {
    return `the JSON has more than ${MAX_JSON_ENTRIES.toLocaleString('en-GB')} keys and array items in all (the limit); send fewer.`;
  }
  return undefined;
}
