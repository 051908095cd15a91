import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * A CSRF token that needs no server state or secret: a hash of the approval id and the signed-in user's ID token.
 * Another site can make the browser send the session cookie, but cannot read the ID token behind it, so it cannot
 * produce this value.
 */
export function csrfToken(approvalId: string, idToken: string): string {
  return createHash('sha256').update(`${approvalId}\n${idToken}`).digest('base64url');
}

export function csrfMatches(expected: string, given: string | null): boolean {
  if (!given) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}
