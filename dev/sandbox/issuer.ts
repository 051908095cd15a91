// The sandbox's Entra-like token issuer: one RS256 key, persisted so tokens and JWKS survive restarts.
import { randomUUID, type webcrypto } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT, exportJWK, generateKeyPair, importJWK, jwtVerify, type JWK, type JWTPayload } from 'jose';

export interface IssuerKey {
  kid: string;
  privateKey: webcrypto.CryptoKey;
  publicKey: webcrypto.CryptoKey;
  publicJwk: JWK;
}

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

const ALG = 'RS256';

function publicPart(jwk: JWK): JWK {
  const { kty, n, e, kid } = jwk;
  return { kty, n, e, kid, alg: ALG, use: 'sig' };
}

export async function loadOrCreateIssuerKey(dataDir: string): Promise<IssuerKey> {
  const file = join(dataDir, 'issuer-key.json');
  let privateJwk: JWK;
  if (existsSync(file)) {
    privateJwk = JSON.parse(readFileSync(file, 'utf8')) as JWK;
    if (!privateJwk.kid || privateJwk.kty !== 'RSA') throw new Error(`${file} is not an RSA JWK with a kid; delete it to regenerate`);
  } else {
    const pair = await generateKeyPair(ALG, { modulusLength: 2048, extractable: true });
    privateJwk = { ...(await exportJWK(pair.privateKey)), kid: randomUUID(), alg: ALG };
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(file, JSON.stringify(privateJwk, null, 2), { mode: 0o600 });
  }
  const publicJwk = publicPart(privateJwk);
  return {
    kid: privateJwk.kid as string,
    privateKey: (await importJWK(privateJwk, ALG)) as webcrypto.CryptoKey,
    publicKey: (await importJWK(publicJwk, ALG)) as webcrypto.CryptoKey,
    publicJwk,
  };
}

export function jwks(key: IssuerKey): { keys: JWK[] } {
  return { keys: [key.publicJwk] };
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

/** Verifies a sandbox-issued token for one of `audiences`; throws jose errors on failure. */
export async function verifyToken(key: IssuerKey, token: string, audiences: string[]): Promise<JWTPayload> {
  const { payload } = await jwtVerify(token, key.publicKey, { audience: audiences, algorithms: [ALG] });
  return payload;
}
