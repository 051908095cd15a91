import { z } from 'zod';
import { defineTool, type ToolContext } from '../tool.js';
import { resourceGroupName, storageAccountName } from '../names.js';
import { canonicalRegion } from '../../policy/regions.js';
import { ToolError } from '../../pipeline/errors.js';
import { encryptionOf } from './encryption.js';
import { accountDetails, accountDetailsOutput } from './account-details.js';
import { requireIdentityResourceId, requireUsableCmkKey } from './cmk-key.js';
import { ifExists } from '../../azure/errors.js';
import { storageAccountId } from './storage-ids.js';

export default defineTool({
  name: 'storage_account_create',
  title: 'Create a CMK-encrypted storage account',
  description:
    "Creates a StorageV2 account encrypted with the department's customer-managed key (through the app's user-assigned identity), HTTPS only, TLS 1.2, no public blob access, shared-key access off. There is no option for platform-managed keys. Waits for Azure to finish; idempotent for an identical existing CMK account.",
  risk: 'write',
  longRunning: true,
  azurePermissions: {
    actions: [
      'Microsoft.Storage/storageAccounts/read',
      'Microsoft.Storage/storageAccounts/write',
      'Microsoft.Storage/storageAccounts/delete',
      'Microsoft.ManagedIdentity/userAssignedIdentities/assign/action',
    ],
    dataActions: ['Microsoft.KeyVault/vaults/keys/read'],
  },
  input: z.strictObject({
    resourceGroup: resourceGroupName,
    name: storageAccountName,
    location: z.string().min(1).max(40).describe('Azure region: uksouth or ukwest'),
    sku: z
      .enum(['Standard_LRS', 'Standard_ZRS', 'Standard_GRS', 'Standard_GZRS', 'Standard_RAGRS', 'Standard_RAGZRS'])
      .optional()
      .describe('Redundancy; must be one the department policy allows (default its first)'),
    tags: z.record(z.string().min(1).max(512), z.string().max(256)).describe('Tags; the department policy says which are required'),
  }),
  output: accountDetailsOutput.extend({ created: z.boolean() }),
  target: ({ resourceGroup, name, location, tags }, _department, subscription) => ({
    group: resourceGroup,
    resourceId: storageAccountId(subscription, resourceGroup, name),
    region: location,
    newTags: tags,
  }),
  async handler({ resourceGroup, name, location, sku, tags }, context) {
    const { azure, department, signal } = context;
    const storage = (await azure.storage()).storageAccounts;
    const chosenSku = sku ?? department.storage.skus[0]!;
    if (!department.storage.skus.includes(chosenSku)) {
      throw new ToolError('forbidden', `SKU ${chosenSku} is not allowed by the department policy (allowed: ${department.storage.skus.join(', ')}).`, {
        rule: 'policy.storage-sku',
      });
    }
    const identity = requireIdentityResourceId(context);
    const key = await requireUsableCmkKey(context, department.storage.cmkKey);

    const existing = await ifExists(storage.getProperties(resourceGroup, name, { abortSignal: signal }));
    if (existing) {
      context.authorize({ group: resourceGroup, ...(existing.id ? { resourceId: existing.id } : {}), tags: existing.tags ?? {} });
      if (!encryptionOf(existing).customerManagedKey) {
        throw new ToolError('conflict', `Storage account '${name}' already exists without a customer-managed key; use storage_account_cmk_enable. Nothing was changed.`);
      }
      return describe(existing, resourceGroup, false);
    }

    context.progress(`Creating storage account ${name} with customer-managed key ${key.keyName}`);
    try {
      const poller = storage.create(
        resourceGroup,
        name,
        {
          location: canonicalRegion(location),
          kind: 'StorageV2',
          sku: { name: chosenSku },
          tags,
          identity: { type: 'UserAssigned', userAssignedIdentities: { [identity]: {} } },
          enableHttpsTrafficOnly: true,
          minimumTlsVersion: 'TLS1_2',
          allowBlobPublicAccess: false,
          allowSharedKeyAccess: false,
          encryption: {
            keySource: 'Microsoft.Keyvault',
            requireInfrastructureEncryption: department.storage.infrastructureEncryption,
            keyVaultProperties: { keyName: key.keyName, keyVaultUri: key.vaultUri },
            encryptionIdentity: { encryptionUserAssignedIdentity: identity },
            services: { blob: { enabled: true, keyType: 'Account' }, file: { enabled: true, keyType: 'Account' }, table: { enabled: true, keyType: 'Account' }, queue: { enabled: true, keyType: 'Account' } },
          },
        },
        { abortSignal: signal, updateIntervalInMs: 1000 },
      );
      await poller;
    } catch (error) {
      // Azure refused the request outright (name taken, invalid value): nothing was created.
      const status = (error as { statusCode?: number }).statusCode;
      if (status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429) throw error;
      // Otherwise the outcome is unknown (server error, reset, timeout): whatever Azure may have started is removed,
      // so no half-made account is left behind.
      throw await withCleanup(context, resourceGroup, name, tags, error);
    }
    context.progress(`Checking the encryption of ${name}`);
    const created = await storage.getProperties(resourceGroup, name, { abortSignal: signal });
    if (!encryptionOf(created).customerManagedKey) {
      // Never expected; but an account without CMK must not stay.
      throw await withCleanup(context, resourceGroup, name, tags, new ToolError('azure_error', `Azure created '${name}' without the customer-managed key.`));
    }
    return describe(created, resourceGroup, true);
  },
});

function describe(account: import('@azure/arm-storage').StorageAccount, resourceGroup: string, created: boolean) {
  return { ...accountDetails(account, resourceGroup), created };
}

/**
 * Deletes what a failed create may have left (with its own short deadline) and explains both outcomes. Only an
 * account that carries exactly the tags this call sent is removed, and only if the policy allows changing it: a
 * failed create never deletes an account someone else made meanwhile.
 */
async function withCleanup(context: ToolContext, resourceGroup: string, name: string, tags: Record<string, string>, cause: unknown): Promise<unknown> {
  const storage = (await context.azure.storage()).storageAccounts;
  const deadline = () => AbortSignal.timeout(context.settings.azureCallTimeoutMs);
  try {
    const left = await storage.getProperties(resourceGroup, name, { abortSignal: deadline() });
    const ours = JSON.stringify(Object.entries(left.tags ?? {}).sort()) === JSON.stringify(Object.entries(tags).sort());
    if (!ours) {
      return new ToolError('azure_error', `Creating storage account '${name}' failed, and an account of that name now exists that this call did not make; it was left alone. Check '${name}' in '${resourceGroup}'.`, {}, { cause });
    }
    context.authorize({ group: resourceGroup, ...(left.id ? { resourceId: left.id } : {}), tags: left.tags ?? {} });
    await storage.delete(resourceGroup, name, { abortSignal: deadline() });
    return new ToolError('azure_error', `Creating storage account '${name}' failed; what Azure had started was removed, so no account was left behind. Try again later.`, {}, { cause });
  } catch (cleanupError) {
    if ((cleanupError as { statusCode?: number }).statusCode === 404) {
      return new ToolError('azure_error', `Creating storage account '${name}' failed and nothing was created. Try again later.`, {}, { cause });
    }
    return new ToolError(
      'azure_error',
      `Creating storage account '${name}' failed, and removing what Azure may have started also failed: check '${name}' in '${resourceGroup}' and delete it if it exists.`,
      {},
      { cause },
    );
  }
}
