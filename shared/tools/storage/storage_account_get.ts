import { z } from 'zod';
import { defineTool } from '../tool.js';
import { resourceGroupName, storageAccountName } from '../names.js';
import { isoTime, tagsOf, tagsOutput } from '../common.js';
import { encryptionOf, encryptionOutput } from './encryption.js';

export default defineTool({
  name: 'storage_account_get',
  title: 'Get a storage account',
  description:
    'Shows one storage account: region, SKU, security settings (HTTPS only, minimum TLS, public blob access, shared-key access) and encryption, including whether it uses a customer-managed key and which one.',
  risk: 'read',
  azurePermissions: { actions: ['Microsoft.Storage/storageAccounts/read'], dataActions: [] },
  input: z.strictObject({ resourceGroup: resourceGroupName, name: storageAccountName }),
  output: z.object({
    id: z.string(),
    name: z.string(),
    resourceGroup: z.string(),
    location: z.string(),
    kind: z.string().optional(),
    sku: z.string().optional(),
    provisioningState: z.string().optional(),
    createdAt: z.string().optional(),
    httpsOnly: z.boolean().optional(),
    minimumTlsVersion: z.string().optional(),
    allowBlobPublicAccess: z.boolean().optional(),
    allowSharedKeyAccess: z.boolean().optional(),
    encryption: encryptionOutput,
    tags: tagsOutput,
  }),
  target: ({ resourceGroup }) => ({ group: resourceGroup }),
  async handler({ resourceGroup, name }, { azure, settings, signal }) {
    const account = await (await azure.storage()).storageAccounts.getProperties(resourceGroup, name, { abortSignal: signal });
    return {
      id: account.id ?? '',
      name: account.name ?? name,
      resourceGroup,
      location: account.location,
      kind: account.kind,
      sku: account.sku?.name,
      provisioningState: account.provisioningState,
      createdAt: isoTime(account.creationTime),
      httpsOnly: account.enableHttpsTrafficOnly,
      minimumTlsVersion: account.minimumTlsVersion,
      allowBlobPublicAccess: account.allowBlobPublicAccess,
      allowSharedKeyAccess: account.allowSharedKeyAccess,
      encryption: encryptionOf(account),
      tags: tagsOf(account.tags),
    };
  },
});
