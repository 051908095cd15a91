import * as z from 'zod';
import { defineTool } from '../tool.js';
import { resourceGroupName, storageAccountName } from '../names.js';
import { approvalInput } from '../../approvals/gate.js';
import { encryptionOf } from './encryption.js';
import { storageAccountId } from './storage-ids.js';

export default defineTool({
  name: 'storage_account_delete',
  version: '1.0.0',
  title: 'Delete a storage account',
  description:
    'Deletes a storage account and all its data. Destructive: the first call records an approval request and returns a link for a human approver; repeat the identical call with the approvalId once approved. Protected accounts cannot be deleted even with approval.',
  risk: 'destructive',
  azurePermissions: {
    actions: ['Microsoft.Storage/storageAccounts/read', 'Microsoft.Storage/storageAccounts/delete'],
    dataActions: [],
  },
  input: z.strictObject({ resourceGroup: resourceGroupName, name: storageAccountName, ...approvalInput }),
  output: z.object({ name: z.string(), deleted: z.boolean() }),
  target: ({ resourceGroup, name }, _department, subscription) => ({ group: resourceGroup, resourceId: storageAccountId(subscription, resourceGroup, name) }),
  async impact({ resourceGroup, name }, context) {
    const account = await (await context.azure.storage()).storageAccounts.getProperties(resourceGroup, name, { abortSignal: context.signal });
    context.authorize({ group: resourceGroup, ...(account.id ? { resourceId: account.id } : {}), tags: account.tags ?? {} });
    const encryption = encryptionOf(account);
    return {
      targets: [account.id ?? name],
      details: [
        `Storage account ${name} (${account.kind ?? 'storage'}, ${account.sku?.name ?? 'unknown SKU'}, ${account.location}) and every container, blob, file share, queue and table in it will be deleted.`,
        `Encryption: ${encryption.customerManagedKey ? `customer-managed key ${encryption.keyName}` : 'platform-managed keys'}.`,
        `Created ${account.creationTime?.toISOString() ?? 'at an unknown time'}; tags: ${JSON.stringify(account.tags ?? {})}.`,
      ],
    };
  },
  async handler({ resourceGroup, name }, context) {
    const storage = (await context.azure.storage()).storageAccounts;
    const account = await storage.getProperties(resourceGroup, name, { abortSignal: context.signal });
    context.authorize({ group: resourceGroup, ...(account.id ? { resourceId: account.id } : {}), tags: account.tags ?? {} });
    await storage.delete(resourceGroup, name, { abortSignal: context.signal });
    return { name, deleted: true };
  },
});
