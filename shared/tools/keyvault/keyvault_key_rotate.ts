import * as z from 'zod';
import { defineTool, type ToolContext } from '../tool.js';
import { isoTime } from '../common.js';
import { keyName } from './key-names.js';
import { encryptionOf } from '../storage/encryption.js';
import { isMissingResourceGroup } from '../../azure/errors.js';
import { asRestError } from '../../azure/rest-error.js';
import { authorizeKeyChange, keyTarget } from './key-protection.js';
import { withoutTrailingSlashes } from '../../text/trailing-slashes.js';
import { ToolError } from '../../pipeline/errors.js';
import { confirmedWrite, followOnSignal } from '../confirmed-write.js';

export default defineTool({
  name: 'keyvault_key_rotate',
  version: '1.0.0',
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
    const { azure, progress } = context;
    const keys = await azure.keys();
    // The version before, so a rotation whose answer was lost can be told from one that did not happen.
    const before = await keys.getKey(name, { abortSignal: context.signal }).catch(async (error: unknown) => {
      throw (await asRestError(error))?.statusCode === 404 ? new ToolError('not_found', `Key '${name}' does not exist in the department Key Vault.`) : error;
    });
    // The key's own tags and its vault's decide, before anything changes.
    await authorizeKeyChange(context, name, before.properties.tags);
    const rotated = await confirmedWrite(context, {
      what: `rotating key '${name}'`,
      check: `keyvault_key_get with name '${name}'`,
      write: (abortSignal) => keys.rotateKey(name, { abortSignal }),
      readBack: async (abortSignal) => {
        const current = await keys.getKey(name, { abortSignal });
        return current.properties.version !== before.properties.version
          ? { state: 'done', value: current }
          : { state: 'absent', detail: `key '${name}' is still at version ${before.properties.version}: it was not rotated` };
      },
    });
    progress(`Rotated ${name}; checking which storage accounts use it`);
    const accountsFollowing: string[] = [];
    const accountsPinned: { name: string; resourceGroup: string; version: string }[] = [];
    try {
      await listUsers(context, name, followOnSignal(context), accountsFollowing, accountsPinned);
    } catch (error) {
      // The key is rotated: a report that cannot be finished must not turn that into a failure.
      context.note(
        `Key '${name}' was rotated, but which storage accounts use it could not be read (${error instanceof Error && error.name === 'AbortError' ? 'no answer in time' : 'Azure error'}); the lists are empty for that reason: run storage_cmk_report.`,
      );
      accountsFollowing.length = 0;
      accountsPinned.length = 0;
    }
    return { name, newVersion: rotated.properties.version, createdOn: isoTime(rotated.properties.createdOn), accountsFollowing, accountsPinned };
  },
});

/** Sorts the storage accounts in scope that use this key into those following its latest version and those pinned. */
async function listUsers(
  { azure, department, settings }: ToolContext,
  name: string,
  signal: AbortSignal,
  accountsFollowing: string[],
  accountsPinned: { name: string; resourceGroup: string; version: string }[],
): Promise<void> {
  const storage = (await azure.storage()).storageAccounts;
  const vault = withoutTrailingSlashes(settings.keyVaultUrl).toLowerCase();
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
      if (!(await isMissingResourceGroup(error))) throw error;
    }
  }
}
