import * as z from 'zod';
import { defineTool } from '../tool.js';
import { blobName, containerName, resourceGroupName, storageAccountName } from '../names.js';
import { approvalInput } from '../../approvals/gate.js';
import { openCmkAccount } from './data-plane.js';
import { containerId } from './storage-ids.js';

export default defineTool({
  name: 'storage_blob_delete',
  version: '1.0.0',
  title: 'Delete a blob',
  description:
    'Deletes one blob (and its snapshots) from a storage account encrypted with a customer-managed key. Destructive: the first call records an approval request and returns a link for a human approver; repeat the identical call with the approvalId once approved.',
  risk: 'destructive',
  azurePermissions: {
    actions: ['Microsoft.Storage/storageAccounts/read'],
    dataActions: [
      'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read',
      'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete',
    ],
  },
  input: z.strictObject({
    resourceGroup: resourceGroupName,
    account: storageAccountName,
    container: containerName,
    name: blobName,
    ...approvalInput,
  }),
  output: z.object({ name: z.string(), deleted: z.boolean() }),
  target: ({ resourceGroup, account, container }, _department, subscription) => ({
    group: resourceGroup,
    resourceId: containerId(subscription, resourceGroup, account, container),
  }),
  async impact({ resourceGroup, account, container, name }, context) {
    const { dataPlane, account: properties } = await openCmkAccount(context, resourceGroup, account, { authorizeChange: true });
    const blob = await (await dataPlane.blob(container, name)).getProperties({ abortSignal: context.signal });
    return {
      targets: [`${properties.id ?? account}/blobServices/default/containers/${container}/blobs/${name}`],
      details: [
        `Blob ${name} in container ${container} of ${account} (${blob.contentLength ?? 0} bytes, ${blob.contentType ?? 'no content type'}, last changed ${blob.lastModified?.toISOString() ?? 'unknown'}) and its snapshots will be deleted.`,
      ],
    };
  },
  async handler({ resourceGroup, account, container, name }, context) {
    const { dataPlane } = await openCmkAccount(context, resourceGroup, account, { authorizeChange: true });
    await (await dataPlane.blob(container, name)).delete({ deleteSnapshots: 'include', abortSignal: context.signal });
    return { name, deleted: true };
  },
});
