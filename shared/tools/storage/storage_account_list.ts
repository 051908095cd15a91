import * as z from 'zod';
import { defineTool } from '../tool.js';
import { nextCursorOutput, pageInput } from '../paging.js';
import { groupOf, resourceGroupName } from '../names.js';
import { encryptionOf } from './encryption.js';
import { readAccountsInScope } from './accounts-in-scope.js';

export default defineTool({
  name: 'storage_account_list',
  version: '1.0.0',
  title: 'List storage accounts',
  description: 'Lists storage accounts in the managed resource groups (or one group), with region, SKU and whether each uses a customer-managed key. Paged.',
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
  async handler({ resourceGroup, top, cursor }, context) {
    const page = await readAccountsInScope(context, {
      resourceGroup,
      top,
      cursor,
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
