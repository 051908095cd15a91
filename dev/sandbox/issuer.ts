// The sandbox's Entra-like token issuer: mints and verifies RS256 tokens with the keys in issuer-keys.ts.
import { SignJWT, createLocalJWKSet, jwtVerify, type JWK, type JWTPayload } from 'jose';
import { ISSUER_ALG as ALG, IssuerKeyStore, type IssuerKey } from './issuer-keys.js';

export interface TokenClaims {
  issuer: string;
  audience: string;
  tenantId: string;
  oid: string;
  /** `sub`; defaults to `oid`, as in app-only Entra tokens (delegated and ID tokens carry a pairwise `sub`). */
  subject?: string;
  name?: string;
  roles?: string[];
  appid?: string;
  azp?: string;
  ttlSeconds?: number;
  /** Seconds from now before the token becomes valid (negative backdates it). */
  notBeforeSeconds?: number;
  extra?: Record<string, unknown>;
}

/** The current signing key of the set persisted in `dataDir` (created on first use). */
export async function loadOrCreateIssuerKey(dataDir: string): Promise<IssuerKey> {
  return (await IssuerKeyStore.open(dataDir)).current();
}

export function jwks(keys: readonly IssuerKey[]): { keys: JWK[] } {
  return { keys: keys.map((k) => k.publicJwk) };
}

export async function mintToken(key: IssuerKey, claims: TokenClaims): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const payload: JWTPayload = {
    ...claims.extra,
    tid: claims.tenantId,
    oid: claims.oid,
    ver: '2.0',
    ...(claims.name !== undefined && { name: claims.name }),
    ...(claims.roles !== undefined && { roles: claims.roles }),
    ...(claims.appid !== undefined && { appid: claims.appid }),
    ...(claims.azp !== undefined && { azp: claims.azp }),
  };
  return new SignJWT(payload)
    .setProtectedHeader({ alg: ALG, kid: key.kid, typ: 'JWT' })
    .setIssuer(claims.issuer)
    .setAudience(claims.audience)
    .setSubject(claims.subject ?? claims.oid)
    .setIssuedAt(now)
    .setNotBefore(now + (claims.notBeforeSeconds ?? 0))
    .setExpirationTime(now + (claims.ttlSeconds ?? 3600))
    .sign(key.privateKey);
}

/**
 * One key set per published set of keys (the store hands out the same array until the set changes): a key set
 * imports each key once, and the twin checks a token on every call it answers.
 */
const keySets = new WeakMap<readonly IssuerKey[], ReturnType<typeof createLocalJWKSet>>();

/** Verifies a sandbox-issued token, signed by any of the published `keys`, for one of `audiences`; throws jose errors on failure. */
export async function verifyToken(keys: readonly IssuerKey[], token: string, audiences: string[]): Promise<JWTPayload> {
  let keySet = keySets.get(keys);
  if (!keySet) keySets.set(keys, (keySet = createLocalJWKSet(jwks(keys))));
  const { payload } = await jwtVerify(token, keySet, { audience: audiences, algorithms: [ALG] });
  return payload;
}
