/** Strings at least this long have their JSON rendering remembered (the last one only). */
export const LONG_TEXT = 1024;

/** String.prototype.isWellFormed (Node 20 and later; typed from lib ES2024, newer than this project's ES2023). */
export const wellFormed = (text: string): boolean => (text as string & { isWellFormed(): boolean }).isWellFormed();

/**
 * The last long string rendered, its JSON text, and whether it is well formed (RFC 8785 renders only those). Every
 * `tools/list` record carries the same 8 KiB of the catalogue as its answer's audit text, whose JSON (about 900
 * quotes escaped) took 22 µs to render each time it was needed: once for the seal, once for the log line.
 */
let last: { text: string; json: string; wellFormed: boolean } | undefined;

/** JSON.stringify(text) for a text of LONG_TEXT or more characters, remembered for the last one asked (compared by value). */
export function longTextJson(text: string): { json: string; wellFormed: boolean } {
  if (last === undefined || last.text !== text) last = { text, json: JSON.stringify(text), wellFormed: wellFormed(text) };
  return last;
}
