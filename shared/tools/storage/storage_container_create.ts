import * as z from 'zod';
import { defineTool } from '../tool.js';
import { containerName, resourceGroupName, storageAccountName } from '../names.js';
import { openCmkAccount } from './data-plane.js';
import { containerId } from './storage-ids.js';
import { confirmedWrite } from '../confirmed-write.js';

export default defineTool({
  name: 'storage_container_create',
  version: '1.0.0',
  title: 'Create a blob container',
  description:
    'Creates a private blob container (no public access) in a storage account encrypted with a customer-managed key. Idempotent: an existing container is reported, not changed.',
  risk: 'write',
  azurePermissions: {
    actions: ['Microsoft.Storage/storageAccounts/read', 'Microsoft.Storage/storageAccounts/blobServices/containers/write'],
    dataActions: [],
  },
  input: z.strictObject({ resourceGroup: resourceGroupName, account: storageAccountName, container: containerName }),
  output: z.object({ account: z.string(), container: z.string(), created: z.boolean() }),
  target: ({ resourceGroup, account, container }, _department, subscription) => ({
    group: resourceGroup,
    resourceId: containerId(subscription, resourceGroup, account, container),
  }),
  async handler({ resourceGroup, account, container }, context) {
    const { dataPlane } = await openCmkAccount(context, resourceGroup, account, { authorizeChange: true });
    const client = await dataPlane.container(container);
    const created = await confirmedWrite(context, {
      what: `creating container '${container}' in '${account}'`,
      check: `storage_container_list with resourceGroup '${resourceGroup}' and account '${account}'`,
      write: async (abortSignal) => (await client.createIfNotExists({ abortSignal })).succeeded,
      // Whether this call or an earlier one made it cannot be told afterwards; the container is there either way.
      readBack: async (abortSignal) =>
        (await client.exists({ abortSignal }))
          ? { state: 'done', value: true }
          : { state: 'absent', detail: `no container '${container}' in '${account}': it was not created` },
    });
    return { account, container, created };
  },
});
