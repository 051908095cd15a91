import { base64url, type JWK } from 'jose';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { runtimeFile, type RuntimeInfo } from './runtime-file.js';
import { SANDBOX_DIR } from './sandbox-settings.js';
import { mintVaultTokenFromDataDir } from './sandbox/identity.js';
import { CATALOGUE_SIGNING_KEY_NAME } from './sandbox/seed.js';

/**
 * The sandbox's catalogue signing key, public half, read from the sandbox's Key Vault (the twin `npm start` runs) as
 * the app's identity — never from the app being checked — so `verify-catalogue --key sandbox` pins what an operator
 * would take from the department vault. The process must already trust the sandbox's certificate.
 */
export async function sandboxCatalogueKey(): Promise<JWK> {
  const file = process.env.SANDBOX_RUNTIME_FILE ?? runtimeFile();
  if (!existsSync(file)) throw new Error(`--key sandbox needs the running sandbox (${file}): start it with npm start.`);
  const runtime = JSON.parse(readFileSync(file, 'utf8')) as Partial<RuntimeInfo>;
  if (!runtime.vaultUrl) throw new Error(`${file} names no vault; restart npm start.`);
  const token = await mintVaultTokenFromDataDir(process.env.SANDBOX_DATA_DIR ?? resolve(SANDBOX_DIR, 'data'));
  const credential = { getToken: async () => ({ token, expiresOnTimestamp: Date.now() + 3_000_000 }) };
  // Loaded here, not at the top: verify-catalogue imports this module for every run, and most runs use no sandbox key.
  const { KeyClient } = await import('@azure/keyvault-keys');
  const key = await new KeyClient(runtime.vaultUrl, credential, { disableChallengeResourceVerification: true }).getKey(CATALOGUE_SIGNING_KEY_NAME);
  if (!key.key?.n || !key.key.e) throw new Error(`The sandbox vault's ${CATALOGUE_SIGNING_KEY_NAME} key has no RSA public half.`);
  return { kty: 'RSA', n: base64url.encode(key.key.n), e: base64url.encode(key.key.e) };
}
