import * as z from 'zod';
import { defineTool } from '../tool.js';
import { continuationOf, nextCursorOutput, pageInput, readPage, segments } from '../paging.js';
import { containerName, resourceGroupName, storageAccountName } from '../names.js';
import { isoTime } from '../common.js';
import { untrusted } from '../../shield/untrusted.js';
import { openCmkAccount } from './data-plane.js';

export default defineTool({
  name: 'storage_blob_list',
  version: '1.0.0',
  title: 'List blobs',
  description:
    'Lists blobs in a container of a storage account encrypted with a customer-managed key: name, size, content type, last change, tier. Optional name prefix. Paged.',
  risk: 'read',
  azurePermissions: {
    actions: ['Microsoft.Storage/storageAccounts/read', 'Microsoft.Storage/storageAccounts/blobServices/containers/read'],
    dataActions: ['Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read'],
  },
  input: z.strictObject({
    resourceGroup: resourceGroupName,
    account: storageAccountName,
    container: containerName,
    prefix: z.string().max(1024).optional().describe('Only blobs whose names start with this'),
    ...pageInput,
  }),
  output: z.object({
    blobs: z.array(
      z.object({
        name: untrusted(z.string()).describe('Blob name, chosen by whoever uploaded it (untrusted text)'),
        size: z.number().optional(),
        contentType: z.string().optional(),
        lastModified: z.string().optional(),
        accessTier: z.string().optional(),
      }),
    ),
    nextCursor: nextCursorOutput,
  }),
  target: ({ resourceGroup }) => ({ group: resourceGroup }),
  async handler({ resourceGroup, account, container, prefix, top, cursor }, context) {
    const { dataPlane } = await openCmkAccount(context, resourceGroup, account);
    const containerClient = await dataPlane.container(container);
    const page = await readPage({
      cursor,
      top,
      rule: 'marker',
      open: (marker) =>
        segments(
          containerClient
            .listBlobsFlat({ abortSignal: context.signal, ...(prefix ? { prefix } : {}) })
            .byPage({ maxPageSize: 100, ...(marker ? { continuationToken: marker } : {}) }),
          (segment) => segment.segment.blobItems,
          (segment) => segment.continuationToken,
        ),
      linkOf: continuationOf,
      map: (blob) => ({
        name: blob.name,
        size: blob.properties.contentLength,
        contentType: blob.properties.contentType,
        lastModified: isoTime(blob.properties.lastModified),
        accessTier: blob.properties.accessTier,
      }),
    });
    return { blobs: page.items, nextCursor: page.nextCursor };
  },
});
