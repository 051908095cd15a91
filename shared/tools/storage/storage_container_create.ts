import { z } from 'zod';
import { defineTool } from '../tool.js';
import { containerName, resourceGroupName, storageAccountName } from '../names.js';
import { openCmkAccount } from './data-plane.js';
import { containerId } from './storage-ids.js';

export default defineTool({
  name: 'storage_container_create',
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
  target: ({ resourceGroup, account, container }, _department, subscription) => ({ group: resourceGroup, resourceId: containerId(subscription, resourceGroup, account, container) }),
  async handler({ resourceGroup, account, container }, context) {
    const { dataPlane } = await openCmkAccount(context, resourceGroup, account, { authorizeChange: true });
    const response = await (await dataPlane.container(container)).createIfNotExists({ abortSignal: context.signal });
    return { account, container, created: response.succeeded };
  },
});
