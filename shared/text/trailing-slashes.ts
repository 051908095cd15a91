/**
 * The text without its trailing slashes. Not `replace(/\/+$/, '')`: V8 tries that pattern at every slash of a run
 * and scans the rest of the run each time, so a long run of slashes not at the end costs quadratic time.
 */
export function withoutTrailingSlashes(text: string): string {
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === 0x2f) end -= 1;
  return text.slice(0, end);
}
