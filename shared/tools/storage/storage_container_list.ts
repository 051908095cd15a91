import * as z from 'zod';
import { defineTool } from '../tool.js';
import { continuationOf, nextCursorOutput, pageInput, readPage, segments } from '../paging.js';
import { resourceGroupName, storageAccountName } from '../names.js';
import { isoTime } from '../common.js';
import { openCmkAccount } from './data-plane.js';

export default defineTool({
  name: 'storage_container_list',
  version: '1.0.0',
  title: 'List blob containers',
  description:
    'Lists the blob containers of a storage account encrypted with a customer-managed key, with public-access level and legal-hold/immutability flags. Paged.',
  risk: 'read',
  azurePermissions: { actions: ['Microsoft.Storage/storageAccounts/read', 'Microsoft.Storage/storageAccounts/blobServices/containers/read'], dataActions: [] },
  input: z.strictObject({ resourceGroup: resourceGroupName, account: storageAccountName, ...pageInput }),
  output: z.object({
    containers: z.array(
      z.object({
        name: z.string(),
        lastModified: z.string().optional(),
        publicAccess: z.string().optional(),
        hasImmutabilityPolicy: z.boolean().optional(),
        hasLegalHold: z.boolean().optional(),
      }),
    ),
    nextCursor: nextCursorOutput,
  }),
  target: ({ resourceGroup }) => ({ group: resourceGroup }),
  async handler({ resourceGroup, account, top, cursor }, context) {
    const { dataPlane } = await openCmkAccount(context, resourceGroup, account);
    const service = await dataPlane.account();
    const page = await readPage({
      cursor,
      top,
      rule: 'marker',
      open: (marker) =>
        segments(
          service.listContainers({ abortSignal: context.signal }).byPage({ maxPageSize: 100, ...(marker ? { continuationToken: marker } : {}) }),
          (segment) => segment.containerItems,
          (segment) => segment.continuationToken,
        ),
      linkOf: continuationOf,
      map: (container) => ({
        name: container.name,
        lastModified: isoTime(container.properties.lastModified),
        publicAccess: container.properties.publicAccess,
        hasImmutabilityPolicy: container.properties.hasImmutabilityPolicy,
        hasLegalHold: container.properties.hasLegalHold,
      }),
    });
    return { containers: page.items, nextCursor: page.nextCursor };
  },
});
