import type { TokenCredential } from '@azure/identity';
import { asRestError } from '../azure/rest-error.js';
import { loadOnFirstUse } from '../runtime/load-on-first-use.js';

/** One version of the audit HMAC key: the version names it in every record it authenticates. */
export interface AuditKey {
  version: string;
  key: Buffer;
}

export interface AuditKeyring {
  /** The key new records are authenticated with: the secret's latest version, re-read every `refreshMs`. */
  current(): Promise<AuditKey>;
  /** A named version (for verification); undefined when the vault has no such enabled version. */
  version(version: string): Promise<AuditKey | undefined>;
}

export interface AuditKeySource {
  vaultUrl: string;
  secretName: string;
  /** False only for the sandbox twin, whose vault is not on *.vault.azure.net. */
  verifyChallengeResource: boolean;
}

/** 256-bit HMAC-SHA256 keys at least: a shorter secret is refused, never padded. */
const MIN_KEY_BYTES = 32;
const FETCH_TIMEOUT_MS = 5_000;

export class AuditKeyError extends Error {
  override name = 'AuditKeyError';
}

function keyFrom(secretName: string, version: string | undefined, value: string | undefined): AuditKey {
  const key = Buffer.from(value ?? '', 'base64');
  if (!version) throw new AuditKeyError(`Key Vault secret '${secretName}' came back without a version.`);
  if (key.length < MIN_KEY_BYTES) {
    throw new AuditKeyError(`Key Vault secret '${secretName}' (version ${version}) must hold at least ${MIN_KEY_BYTES} random bytes, base64-encoded.`);
  }
  return { version, key };
}

/**
 * The audit trail's HMAC key, a Key Vault secret only the app's identity (and the auditors who verify) may read.
 * Rotation is a new secret version: new records name it, old records keep naming theirs, and verification reads
 * each version a record names. The SDK loads with the first use.
 */
export function createAuditKeyring(source: AuditKeySource, credential: TokenCredential, refreshMs: number): AuditKeyring {
  const secrets = loadOnFirstUse(async () => {
    const { SecretClient } = await import('@azure/keyvault-secrets');
    return new SecretClient(source.vaultUrl, credential, { disableChallengeResourceVerification: !source.verifyChallengeResource });
  });
  let latest: { key: AuditKey; at: number } | undefined;
  let fetching: Promise<AuditKey> | undefined;
  const byVersion = new Map<string, Promise<AuditKey | undefined>>();

  const fetchLatest = () =>
    (fetching ??= (async () => {
      const secret = await (await secrets()).getSecret(source.secretName, { abortSignal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
      const key = keyFrom(source.secretName, secret.properties.version, secret.value);
      latest = { key, at: Date.now() };
      byVersion.set(key.version, Promise.resolve(key));
      return key;
    })().finally(() => (fetching = undefined)));

  return {
    async current() {
      if (!latest) return fetchLatest();
      if (Date.now() - latest.at >= refreshMs) {
        // A vault that cannot be reached for a moment does not stop the audit: the key in hand is still the
        // department's key. Only a process that never obtained one refuses changes.
        return fetchLatest().catch(() => latest!.key);
      }
      return latest.key;
    },
    version(version) {
      let found = byVersion.get(version);
      if (!found) {
        found = (async () => {
          try {
            const secret = await (await secrets()).getSecret(source.secretName, { version, abortSignal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
            return keyFrom(source.secretName, secret.properties.version, secret.value);
          } catch (error) {
            if ((await asRestError(error))?.statusCode === 404) return undefined;
            byVersion.delete(version);
            throw error;
          }
        })();
        byVersion.set(version, found);
      }
      return found;
    },
  };
}
