import * as z from 'zod';
import { defineTool } from '../tool.js';
import { resourceGroupName, storageAccountName } from '../names.js';
import { encryptionOf, encryptionOutput } from './encryption.js';
import { requireIdentityResourceId, requireUsableCmkKey } from './cmk-key.js';
import { keyName } from '../keyvault/key-names.js';
import { storageAccountId } from './storage-ids.js';
import type { StorageAccount, StorageAccountUpdateParameters } from '@azure/arm-storage';
import { confirmedWrite } from '../confirmed-write.js';

export default defineTool({
  name: 'storage_account_cmk_enable',
  version: '1.0.0',
  title: 'Move a storage account to a customer-managed key',
  description:
    "Switches an existing storage account's encryption to a customer-managed key from the department Key Vault (default: the policy's key), reached through the app's user-assigned identity. Already-CMK accounts on the same key are left as they are.",
  risk: 'write',
  azurePermissions: {
    actions: [
      'Microsoft.Storage/storageAccounts/read',
      'Microsoft.Storage/storageAccounts/write',
      'Microsoft.ManagedIdentity/userAssignedIdentities/assign/action',
    ],
    dataActions: ['Microsoft.KeyVault/vaults/keys/read'],
  },
  input: z.strictObject({
    resourceGroup: resourceGroupName,
    name: storageAccountName,
    keyName: keyName.optional().describe("Key to use; default the department policy's storage key"),
  }),
  output: z.object({ name: z.string(), before: encryptionOutput, after: encryptionOutput, changed: z.boolean() }),
  target: ({ resourceGroup, name }, _department, subscription) => ({ group: resourceGroup, resourceId: storageAccountId(subscription, resourceGroup, name) }),
  async handler({ resourceGroup, name, keyName: requestedKey }, context) {
    const storage = (await context.azure.storage()).storageAccounts;
    const account = await storage.getProperties(resourceGroup, name, { abortSignal: context.signal });
    context.authorize({ group: resourceGroup, ...(account.id ? { resourceId: account.id } : {}), tags: account.tags ?? {} });
    const before = encryptionOf(account);
    const wanted = requestedKey ?? context.department.storage.cmkKey;
    if (before.customerManagedKey && before.keyName === wanted) return { name, before, after: before, changed: false };

    const identity = requireIdentityResourceId(context);
    const key = await requireUsableCmkKey(context, wanted);
    const update = cmkUpdate(account, identity, key);
    const updated = await confirmedWrite(context, {
      what: `moving storage account '${name}' to key '${key.keyName}'`,
      check: `storage_account_get with resourceGroup '${resourceGroup}' and name '${name}'`,
      write: (abortSignal) => storage.update(resourceGroup, name, update, { abortSignal }),
      readBack: async (abortSignal) => {
        const found = await storage.getProperties(resourceGroup, name, { abortSignal });
        const after = encryptionOf(found);
        return after.customerManagedKey && after.keyName === key.keyName
          ? { state: 'done', value: found }
          : { state: 'absent', detail: `'${name}' is still encrypted as before: it was not changed` };
      },
    });
    return { name, before, after: encryptionOf(updated), changed: true };
  },
});

function cmkUpdate(account: StorageAccount, identity: string, key: { keyName: string; vaultUri: string }): StorageAccountUpdateParameters {
  // Keep any identities the account already has; add ours.
  const identities = { ...(account.identity?.userAssignedIdentities ?? {}), [identity]: {} };
  return {
    identity: { type: account.identity?.type?.includes('SystemAssigned') ? 'SystemAssigned,UserAssigned' : 'UserAssigned', userAssignedIdentities: identities },
    encryption: {
      keySource: 'Microsoft.Keyvault',
      keyVaultProperties: { keyName: key.keyName, keyVaultUri: key.vaultUri },
      encryptionIdentity: { encryptionUserAssignedIdentity: identity },
      services: { blob: { enabled: true, keyType: 'Account' }, file: { enabled: true, keyType: 'Account' } },
    },
  };
}
