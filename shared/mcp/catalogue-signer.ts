import type { TokenCredential } from '@azure/identity';
import canonicalize from 'canonicalize';
import { base64url, calculateJwkThumbprint, flattenedVerify, importJWK, type FlattenedJWS, type JWK } from 'jose';
import { createHash } from 'node:crypto';
import type { CatalogueManifest } from './manifest.js';
import { loadOnFirstUse } from '../runtime/load-on-first-use.js';

/** The JWS `typ` of a signed catalogue, so it cannot be mistaken for (or replayed as) any other signed object. */
export const CATALOGUE_JWS_TYPE = 'sovereign-mcp-catalogue+jws';
const ALGORITHM = 'RS256';
/** Each Key Vault call (read the key, sign) gets this long; the caller waits at most about twice this. */
const VAULT_TIMEOUT_MS = 10_000;

/** What GET /tools/manifest answers: the catalogue as a flattened JWS, and the key that signed it. */
export interface SignedCatalogue {
  /** Flattened JWS JSON serialization: the payload is the RFC 8785 canonical JSON of the CatalogueManifest. */
  jws: FlattenedJWS & { protected: string; payload: string };
  /** The Key Vault key and version that signed it, `<name>/<version>` (also the JWS `kid`; no vault host name). */
  kid: string;
  alg: typeof ALGORITHM;
  /** The signing key's public half (also the JWS `jwk` header), and its RFC 7638 SHA-256 thumbprint to pin. */
  jwk: JWK;
  jwkThumbprint: string;
}

/** Signing failed; the message is for the caller (no host names, no SDK text), the cause for the log. */
export class CatalogueSigningError extends Error {}

export interface CatalogueSigningKey {
  vaultUrl: string;
  keyName: string;
  verifyChallengeResource: boolean;
}

/**
 * Signs the catalogue with a Key Vault key, once (the first request for it), and keeps the result; a failure is not
 * kept, so the next request tries again. The private key never leaves Key Vault: the app sends the SHA-256 of the JWS
 * signing input to Key Vault's sign operation (CryptographyClient) and places the signature it returns. jose has no
 * way to sign with a key it does not hold, so the JWS is put together here from jose's base64url encoding, and
 * checked with jose's own verification against the key's public half before it is ever published.
 */
export function createCatalogueSigner(
  key: CatalogueSigningKey,
  credential: TokenCredential,
  manifest: () => CatalogueManifest,
): () => Promise<SignedCatalogue> {
  return loadOnFirstUse(() => sign(key, credential, manifest()));
}

async function sign(source: CatalogueSigningKey, credential: TokenCredential, manifest: CatalogueManifest): Promise<SignedCatalogue> {
  const { KeyClient, CryptographyClient } = await import('@azure/keyvault-keys');
  const options = { disableChallengeResourceVerification: !source.verifyChallengeResource, userAgentOptions: { userAgentPrefix: 'sovereign-mcp' } };
  const unavailable = (what: string, cause: unknown) =>
    new CatalogueSigningError(
      `The tool catalogue cannot be signed: ${what} (Key Vault key '${source.keyName}'). Try again later; until it is signed the catalogue is not served.`,
      { cause },
    );
  let vaultKey;
  try {
    vaultKey = await new KeyClient(source.vaultUrl, credential, options).getKey(source.keyName, { abortSignal: AbortSignal.timeout(VAULT_TIMEOUT_MS) });
  } catch (error) {
    throw unavailable('the signing key could not be read', error);
  }
  const { n, e, kty } = vaultKey.key ?? {};
  if (!vaultKey.properties.version || !n || !e || (kty !== 'RSA' && kty !== 'RSA-HSM')) throw unavailable('the signing key is not an RSA key', undefined);
  const jwk: JWK = { kty: 'RSA', n: base64url.encode(n), e: base64url.encode(e) };
  // Names the key version without the vault's host name, which callers are never told.
  const kid = `${vaultKey.name}/${vaultKey.properties.version}`;
  const header = { alg: ALGORITHM, typ: CATALOGUE_JWS_TYPE, kid, jwk };
  const encodedHeader = base64url.encode(JSON.stringify(header));
  const payload = base64url.encode(canonicalize(manifest) ?? '');
  const digest = createHash('sha256').update(`${encodedHeader}.${payload}`).digest();
  let signature: Uint8Array;
  try {
    const result = await new CryptographyClient(vaultKey, credential, options).sign(ALGORITHM, digest, { abortSignal: AbortSignal.timeout(VAULT_TIMEOUT_MS) });
    signature = result.result;
  } catch (error) {
    throw unavailable('Key Vault did not sign', error);
  }
  const jws = { protected: encodedHeader, payload, signature: base64url.encode(signature) };
  try {
    await flattenedVerify(jws, await importJWK(jwk, ALGORITHM), { algorithms: [ALGORITHM] });
  } catch (error) {
    throw unavailable("the signature Key Vault returned does not verify with the key's public half", error);
  }
  return { jws, kid, alg: ALGORITHM, jwk, jwkThumbprint: await calculateJwkThumbprint(jwk, 'sha256') };
}
