import { z } from 'zod';
import { defineTool } from '../tool.js';
import { armCollectionRule, continuationOf, nextCursorOutput, pageInput, readPage } from '../paging.js';
import { groupOf, resourceGroupName } from '../names.js';
import { encryptionOf } from './encryption.js';

export default defineTool({
  name: 'storage_account_list',
  title: 'List storage accounts',
  description:
    'Lists storage accounts in the managed resource groups (or one group), with region, SKU and whether each uses a customer-managed key. Paged.',
  risk: 'read',
  azurePermissions: { actions: ['Microsoft.Storage/storageAccounts/read'], dataActions: [] },
  input: z.strictObject({ resourceGroup: resourceGroupName.optional().describe('Only this resource group'), ...pageInput }),
  output: z.object({
    accounts: z.array(
      z.object({
        name: z.string(),
        resourceGroup: z.string(),
        location: z.string(),
        kind: z.string().optional(),
        sku: z.string().optional(),
        customerManagedKey: z.boolean(),
        keySource: z.string(),
        keyName: z.string().optional(),
      }),
    ),
    nextCursor: nextCursorOutput,
  }),
  target: ({ resourceGroup }) => (resourceGroup ? { group: resourceGroup } : {}),
  async handler({ resourceGroup, top, cursor }, { azure, settings, department, signal }) {
    const accounts = (await azure.storage()).storageAccounts;
    const page = await readPage({
      cursor,
      top,
      rule: armCollectionRule(settings.armEndpoint, settings.subscriptionId, 'providers/microsoft.storage/storageaccounts'),
      // Group by group, so the identity needs read access on the managed groups only, not the subscription.
      sources: resourceGroup ? [resourceGroup] : department.resourceGroups,
      open: (link, group) => accounts.listByResourceGroup(group ?? '', { abortSignal: signal }).byPage(link ? { continuationToken: link } : {}),
      linkOf: continuationOf,
      map: (account) => {
        const encryption = encryptionOf(account);
        return {
          name: account.name ?? '',
          resourceGroup: groupOf(account.id) ?? '',
          location: account.location,
          kind: account.kind,
          sku: account.sku?.name,
          customerManagedKey: encryption.customerManagedKey,
          keySource: encryption.keySource,
          keyName: encryption.keyName,
        };
      },
    });
    return { accounts: page.items, nextCursor: page.nextCursor };
  },
});
