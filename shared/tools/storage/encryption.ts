import * as z from 'zod';
import type { StorageAccount } from '@azure/arm-storage';
import { isoTime } from '../common.js';

export const encryptionOutput = z.object({
  keySource: z.string().describe('Microsoft.Keyvault (customer-managed key) or Microsoft.Storage (platform key)'),
  customerManagedKey: z.boolean(),
  keyVaultUri: z.string().optional(),
  keyName: z.string().optional(),
  keyVersion: z.string().optional().describe('Pinned key version; absent means the account follows the latest version'),
  currentKeyId: z.string().optional(),
  lastKeyRotation: z.string().optional(),
  identity: z.string().optional().describe('User-assigned identity the account uses to reach the key'),
  infrastructureEncryption: z.boolean(),
});

export type EncryptionSummary = z.infer<typeof encryptionOutput>;

/** Whether (and with which key) an account is encrypted with a customer-managed key. */
export function encryptionOf(account: StorageAccount): EncryptionSummary {
  const encryption = account.encryption;
  const keySource = encryption?.keySource ?? 'Microsoft.Storage';
  const vault = encryption?.keyVaultProperties;
  const customerManagedKey = keySource.toLowerCase() === 'microsoft.keyvault' && Boolean(vault?.keyName);
  return {
    keySource,
    customerManagedKey,
    keyVaultUri: vault?.keyVaultUri,
    keyName: vault?.keyName,
    keyVersion: vault?.keyVersion || undefined,
    currentKeyId: vault?.currentVersionedKeyIdentifier,
    lastKeyRotation: isoTime(vault?.lastKeyRotationTimestamp),
    identity: encryption?.encryptionIdentity?.encryptionUserAssignedIdentity,
    infrastructureEncryption: encryption?.requireInfrastructureEncryption ?? false,
  };
}
