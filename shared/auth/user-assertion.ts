import type { Caller } from '../domain/caller.js';

/**
 * On-behalf-of mode only: the caller's access token, kept beside the validated caller it came from so the Azure
 * credential can exchange it at Entra's token endpoint. Held in a WeakMap (never a field of the caller), so no
 * audit record, log line or JSON of the caller can carry it; it lives as long as the authenticator remembers the
 * caller (at most 60 s, never past the token's expiry).
 */
const assertions = new WeakMap<Caller, string>();

export function keepUserAssertion(caller: Caller, token: string): void {
  assertions.set(caller, token);
}

export function userAssertionOf(caller: Caller): string | undefined {
  return assertions.get(caller);
}
