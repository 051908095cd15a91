import * as z from 'zod';
import { defineTool } from '../tool.js';
import { resourceGroupName, storageAccountName } from '../names.js';
import { canonicalRegion } from '../../policy/regions.js';
import { ToolError } from '../../pipeline/errors.js';
import { encryptionOf } from './encryption.js';
import { accountDetails, accountDetailsOutput } from './account-details.js';
import { requireIdentityResourceId, requireUsableCmkKey } from './cmk-key.js';
import { ifExists } from '../../azure/errors.js';
import { storageAccountId } from './storage-ids.js';
import { confirmedWrite, readOrAbsent } from '../confirmed-write.js';
import type { StorageAccount, StorageAccountCreateParameters } from '@azure/arm-storage';

export default defineTool({
  name: 'storage_account_create',
  version: '1.0.0',
  title: 'Create a CMK-encrypted storage account',
  description:
    "Creates a StorageV2 account encrypted with the department's customer-managed key (through the app's user-assigned identity), HTTPS only, TLS 1.2, no public blob access, shared-key access off. There is no option for platform-managed keys. Waits for Azure to finish; idempotent for an identical existing CMK account.",
  risk: 'write',
  longRunning: true,
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
    location: z.string().min(1).max(40).describe('Azure region: uksouth or ukwest'),
    sku: z
      .enum(['Standard_LRS', 'Standard_ZRS', 'Standard_GRS', 'Standard_GZRS', 'Standard_RAGRS', 'Standard_RAGZRS'])
      .optional()
      .describe(
        'Redundancy; must be one the department policy allows in the chosen region (default: its first for that region; UK West offers no zone-redundant SKU)',
      ),
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
    // The policy already allowed the region, so it is one of the policy's regions and has its SKU list.
    const region = canonicalRegion(location) as keyof typeof department.storage.skus;
    const allowed = department.storage.skus[region] ?? [];
    const chosenSku = sku ?? allowed[0];
    if (!chosenSku || !allowed.includes(chosenSku)) {
      throw new ToolError(
        'forbidden',
        `SKU ${chosenSku ?? '(none)'} is not allowed in ${region} by the department policy (allowed in ${region}: ${allowed.join(', ') || 'none'}); leave sku out for ${allowed[0] ?? 'the default'}.`,
        { rule: 'policy.storage-sku' },
      );
    }
    const identity = requireIdentityResourceId(context);
    const key = await requireUsableCmkKey(context, department.storage.cmkKey);

    const existing = await ifExists(storage.getProperties(resourceGroup, name, { abortSignal: signal }));
    if (existing) {
      context.authorize({ group: resourceGroup, ...(existing.id ? { resourceId: existing.id } : {}), tags: existing.tags ?? {} });
      if (!encryptionOf(existing).customerManagedKey) {
        throw new ToolError(
          'conflict',
          `Storage account '${name}' already exists without a customer-managed key; use storage_account_cmk_enable. Nothing was changed.`,
        );
      }
      return describe(existing, resourceGroup, false);
    }

    context.progress(`Creating storage account ${name} with customer-managed key ${key.keyName}`);
    const parameters: StorageAccountCreateParameters = {
      location: region,
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
        services: {
          blob: { enabled: true, keyType: 'Account' },
          file: { enabled: true, keyType: 'Account' },
          table: { enabled: true, keyType: 'Account' },
          queue: { enabled: true, keyType: 'Account' },
        },
      },
    };
    // Nothing is deleted after a failure (the app holds no delete right without approvals): an answer lost on the
    // way — a server error, a dropped connection, the deadline — is settled by reading the account back.
    const created = await confirmedWrite(context, {
      what: `creating storage account '${name}'`,
      check: `storage_account_get with resourceGroup '${resourceGroup}' and name '${name}'`,
      write: async (abortSignal) => {
        await storage.create(resourceGroup, name, parameters, { abortSignal, updateIntervalInMs: 1000 });
        context.progress(`Checking the encryption of ${name}`);
        return storage.getProperties(resourceGroup, name, { abortSignal });
      },
      readBack: (abortSignal) =>
        readOrAbsent(
          storage.getProperties(resourceGroup, name, { abortSignal }),
          `no storage account '${name}' in '${resourceGroup}': it was not created`,
          (found) => {
            if (found.provisioningState === 'Succeeded') return { state: 'done', value: found };
            return { state: 'partial', detail: `Azure holds '${name}' in state '${found.provisioningState ?? 'unknown'}' and may still finish it` };
          },
        ),
    });
    if (!encryptionOf(created).customerManagedKey) {
      // Never expected (Azure Policy denies it in the managed groups), and data tools refuse such an account.
      throw new ToolError(
        'azure_error',
        `Azure created '${name}' without the customer-managed key. Data tools refuse it; move it with storage_account_cmk_enable, or delete it with storage_account_delete (which needs a person's approval).`,
      );
    }
    return describe(created, resourceGroup, true);
  },
});

function describe(account: StorageAccount, resourceGroup: string, created: boolean) {
  return { ...accountDetails(account, resourceGroup), created };
}
