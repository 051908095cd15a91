import { SecretClient } from '@azure/keyvault-secrets';
import { mintIdentityToken, VAULT_RESOURCE } from '../../dev/sandbox/identity.js';
import { AUDIT_PSEUDONYM_KEY_SECRET_NAME } from '../../dev/sandbox/seed.js';
import { pseudonymOf } from '../../shared/audit/pseudonym.js';
import type { TestStack } from './stack.js';

/**
 * What the stored audit copy calls a person: the pseudonym of their oid under the pseudonym key as it is in the
 * stack's Key Vault twin now (read over HTTPS with the Key Vault SDK, as an auditor holding the key would).
 */
export async function pseudonymKeyOf(stack: TestStack): Promise<{ version: string; key: Buffer }> {
  const token = await mintIdentityToken(await stack.sandbox.issuerKeys.current(), VAULT_RESOURCE);
  const client = new SecretClient(
    stack.sandbox.vaultUrl,
    { getToken: async () => ({ token, expiresOnTimestamp: Date.now() + 3_000_000 }) },
    { disableChallengeResourceVerification: true },
  );
  const secret = await client.getSecret(AUDIT_PSEUDONYM_KEY_SECRET_NAME);
  return { version: secret.properties.version!, key: Buffer.from(secret.value!, 'base64') };
}

/** A function from oid to stored pseudonym, with the stack's current pseudonym key. */
export async function pseudonymsOf(stack: TestStack): Promise<(oid: string) => string> {
  const { key } = await pseudonymKeyOf(stack);
  return (oid) => pseudonymOf(key, oid);
}
