/**
 * A pure function of a text, remembered for short inputs seen lately: tool outputs repeat the same names,
 * locations, ids and field names call after call, and their redaction scan costs microseconds each time. Bounded:
 * only texts of at most `maxLength` characters are kept, and when `maxEntries` are held the memory starts again,
 * empty, so distinct texts (an attacker's) cost what the function costs anyway and the memory never holds more than
 * `maxEntries` inputs with their outputs. `fn` must depend on its input alone; an output that is an object is shared
 * by every call with the same text, so it must be frozen (nobody may change it).
 */
export function boundedMemo<T extends string | boolean | Readonly<object>>(
  fn: (text: string) => T,
  { maxEntries, maxLength }: { maxEntries: number; maxLength: number },
): (text: string) => T {
  let memory = new Map<string, T>();
  return (text) => {
    if (text.length > maxLength) return fn(text);
    const known = memory.get(text);
    if (known !== undefined) return known;
    const result = fn(text);
    if (memory.size >= maxEntries) memory = new Map();
    memory.set(text, result);
    return result;
  };
}
