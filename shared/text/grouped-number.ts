/**
 * A count as people read it, digits grouped in threes (12,345), as en-GB writes it — without loading locale data:
 * the first toLocaleString of a process takes about 20 ms, and error messages for hostile bodies must be cheap.
 */
export function groupedNumber(count: number): string {
  const digits = String(Math.trunc(Math.abs(count)));
  let grouped = '';
  for (let i = 0; i < digits.length; i += 1) {
    if (i > 0 && (digits.length - i) % 3 === 0) grouped += ',';
    grouped += digits[i];
  }
  return count < 0 ? `-${grouped}` : grouped;
}
