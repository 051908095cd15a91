// Key Vault's sign and verify operations for the twin: real RSASSA-PKCS1-v1_5 over the digest the client sends.
import { constants, createPublicKey, privateEncrypt, publicDecrypt, timingSafeEqual } from 'node:crypto';
import type { Call } from './context.js';
import { HttpError, readJson, sendJson } from './http.js';
import type { KeyVersion } from './model.js';

/**
 * The DER prefix of PKCS#1's DigestInfo for each hash (RFC 8017 §9.2, note 1): Key Vault signs a digest the client
 * computed, so the twin pads `DigestInfo || digest` with the private key itself, which is what RS256/384/512 are.
 */
const DIGEST_INFO: Record<string, { prefix: Buffer; bytes: number }> = {
  RS256: { prefix: Buffer.from('3031300d060960864801650304020105000420', 'hex'), bytes: 32 },
  RS384: { prefix: Buffer.from('3041300d060960864801650304020205000430', 'hex'), bytes: 48 },
  RS512: { prefix: Buffer.from('3051300d060960864801650304020305000440', 'hex'), bytes: 64 },
};

function algorithmOf(body: Record<string, unknown>, digest: Buffer): { prefix: Buffer } {
  const alg = typeof body['alg'] === 'string' ? body['alg'] : '';
  const spec = DIGEST_INFO[alg];
  if (!spec) throw new HttpError(400, 'BadParameter', `The sandbox vault signs with RS256, RS384 or RS512; got alg '${alg}'.`);
  if (digest.length !== spec.bytes) throw new HttpError(400, 'BadParameter', `The digest for ${alg} must be ${spec.bytes} bytes; got ${digest.length}.`);
  return spec;
}

function base64urlField(body: Record<string, unknown>, field: string): Buffer {
  const value = body[field];
  if (typeof value !== 'string' || value === '') throw new HttpError(400, 'BadParameter', `'${field}' must be a base64url string.`);
  return Buffer.from(value, 'base64url');
}

function usable(version: KeyVersion, operation: 'sign' | 'verify'): void {
  if (!version.enabled) throw new HttpError(403, 'Forbidden', 'Operation is not allowed on a disabled key.');
  if (!version.keyOps.includes(operation)) throw new HttpError(403, 'Forbidden', `Operation ${operation} is not permitted on this key.`);
}

/** POST keys/{name}/{version}/sign: `{alg, value: digest}` → `{kid, value: signature}`. */
export async function signDigest(call: Call, kid: string, version: KeyVersion): Promise<void> {
  usable(version, 'sign');
  const body = await readJson(call.req);
  const digest = base64urlField(body, 'value');
  const { prefix } = algorithmOf(body, digest);
  if (!version.privateKeyPem) {
    throw new HttpError(
      400,
      'BadParameter',
      'The sandbox vault keeps the private half only of the keys it seeds for signing (the catalogue signing key); this key cannot sign here.',
    );
  }
  const signature = privateEncrypt({ key: version.privateKeyPem, padding: constants.RSA_PKCS1_PADDING }, Buffer.concat([prefix, digest]));
  sendJson(call.res, 200, { kid, value: signature.toString('base64url') }, call.headers);
}

/** POST keys/{name}/{version}/verify: `{alg, digest, value: signature}` → `{value: boolean}`. */
export async function verifyDigest(call: Call, version: KeyVersion): Promise<void> {
  usable(version, 'verify');
  const body = await readJson(call.req);
  const digest = base64urlField(body, 'digest');
  const signature = base64urlField(body, 'value');
  const { prefix } = algorithmOf(body, digest);
  const publicKey = createPublicKey({ key: { kty: 'RSA', n: version.n, e: version.e }, format: 'jwk' });
  const expected = Buffer.concat([prefix, digest]);
  let recovered: Buffer;
  try {
    recovered = publicDecrypt({ key: publicKey, padding: constants.RSA_PKCS1_PADDING }, signature);
  } catch {
    // Not a signature of this key at all (wrong length, bad padding).
    return sendJson(call.res, 200, { value: false }, call.headers);
  }
  sendJson(call.res, 200, { value: recovered.length === expected.length && timingSafeEqual(recovered, expected) }, call.headers);
}
