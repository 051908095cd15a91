import * as z from 'zod';
import { defineTool } from '../tool.js';
import { nextCursorOutput } from '../paging.js';
import { groupOf, resourceGroupName } from '../names.js';
import { encryptionOf } from './encryption.js';
import { readAccountsInScope } from './accounts-in-scope.js';

export default defineTool({
  name: 'storage_cmk_report',
  version: '1.0.0',
  title: 'Report customer-managed key coverage',
  description:
    'Reports, for every storage account in scope (or one group), its key source, key, key version and rotation state: "follows-latest" (versionless CMK), "pinned" (a fixed key version that will not rotate), or "platform-key" (no CMK). Paged and bounded in memory: use nextCursor for large estates.',
  risk: 'read',
  azurePermissions: { actions: ['Microsoft.Storage/storageAccounts/read'], dataActions: [] },
  input: z.strictObject({
    resourceGroup: resourceGroupName.optional().describe('Only this resource group'),
    top: z.number().int().min(1).max(1000).default(200).describe('Accounts per page (1-1000, default 200)'),
    cursor: z.string().max(4096).optional().describe('nextCursor from the previous page'),
  }),
  output: z.object({
    accounts: z.array(
      z.object({
        name: z.string(),
        resourceGroup: z.string(),
        keySource: z.string(),
        keyName: z.string().optional(),
        keyVersion: z.string().optional(),
        currentKeyId: z.string().optional(),
        lastKeyRotation: z.string().optional(),
        rotation: z.enum(['follows-latest', 'pinned', 'platform-key']),
      }),
    ),
    page: z.object({ cmk: z.number(), platformKey: z.number(), pinned: z.number() }).describe('Counts for this page'),
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
        const rotation: 'follows-latest' | 'pinned' | 'platform-key' = !encryption.customerManagedKey
          ? 'platform-key'
          : encryption.keyVersion
            ? 'pinned'
            : 'follows-latest';
        return {
          name: account.name ?? '',
          resourceGroup: groupOf(account.id) ?? '',
          keySource: encryption.keySource,
          keyName: encryption.keyName,
          keyVersion: encryption.keyVersion,
          currentKeyId: encryption.currentKeyId,
          lastKeyRotation: encryption.lastKeyRotation,
          rotation,
        };
      },
    });
    const count = (rotation: string) => page.items.filter((item) => item.rotation === rotation).length;
    return {
      accounts: page.items,
      page: { cmk: page.items.length - count('platform-key'), platformKey: count('platform-key'), pinned: count('pinned') },
      nextCursor: page.nextCursor,
    };
  },
});
