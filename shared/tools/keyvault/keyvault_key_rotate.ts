import { z } from 'zod';
import { defineTool } from '../tool.js';
import { isoTime } from '../common.js';
import { keyName } from './key-names.js';
import { encryptionOf } from '../storage/encryption.js';
import { isMissingResourceGroup } from '../../azure/errors.js';
import { authorizeKeyChange, keyTarget } from './key-protection.js';
import { withoutTrailingSlashes } from '../../text/trailing-slashes.js';

export default defineTool({
  name: 'keyvault_key_rotate',
  title: 'Rotate a key',
  description:
    'Makes a new version of a key in the department Key Vault and reports which storage accounts in scope follow it automatically (versionless) and which are pinned to an older version and need updating. Refuses a key tagged protected, and keys in a protected vault unless the department policy makes an exception for it.',
  risk: 'write',
  azurePermissions: {
    actions: ['Microsoft.KeyVault/vaults/read', 'Microsoft.Storage/storageAccounts/read'],
    dataActions: ['Microsoft.KeyVault/vaults/keys/read', 'Microsoft.KeyVault/vaults/keys/rotate/action'],
  },
  input: z.strictObject({ name: keyName }),
  output: z.object({
    name: z.string(),
    newVersion: z.string().optional(),
    createdOn: z.string().optional(),
    accountsFollowing: z.array(z.string()).describe('Accounts using this key without a pinned version: they use the new version'),
    accountsPinned: z.array(z.object({ name: z.string(), resourceGroup: z.string(), version: z.string() })),
  }),
  target: ({ name }, department) => keyTarget(name, department),
  async handler({ name }, context) {
    const { azure, department, settings, signal, progress } = context;
    const keys = await azure.keys();
    // The key's own tags and its vault's decide, before anything changes.
    const current = await keys.getKey(name, { abortSignal: signal });
    await authorizeKeyChange(context, name, current.properties.tags);
    const rotated = await keys.rotateKey(name, { abortSignal: signal });
    progress(`Rotated ${name}; checking which storage accounts use it`);
    const storage = (await azure.storage()).storageAccounts;
    const vault = withoutTrailingSlashes(settings.keyVaultUrl).toLowerCase();
    const accountsFollowing: string[] = [];
    const accountsPinned: { name: string; resourceGroup: string; version: string }[] = [];
    for (const group of department.resourceGroups) {
      try {
        for await (const account of storage.listByResourceGroup(group, { abortSignal: signal })) {
          const encryption = encryptionOf(account);
          if (!encryption.customerManagedKey || encryption.keyName?.toLowerCase() !== name.toLowerCase()) continue;
          if (withoutTrailingSlashes(encryption.keyVaultUri ?? '').toLowerCase() !== vault) continue;
          if (encryption.keyVersion) accountsPinned.push({ name: account.name ?? '', resourceGroup: group, version: encryption.keyVersion });
          else accountsFollowing.push(account.name ?? '');
        }
      } catch (error) {
        if (!isMissingResourceGroup(error)) throw error;
      }
    }
    return { name, newVersion: rotated.properties.version, createdOn: isoTime(rotated.properties.createdOn), accountsFollowing, accountsPinned };
  },
});
