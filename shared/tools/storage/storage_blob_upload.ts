import * as z from 'zod';
import { defineTool } from '../tool.js';
import { blobName, containerName, resourceGroupName, storageAccountName } from '../names.js';
import { asRestError } from '../../azure/rest-error.js';
import { ToolError } from '../../pipeline/errors.js';
import { openCmkAccount } from './data-plane.js';
import { containerId } from './storage-ids.js';
import { confirmedWrite } from '../confirmed-write.js';

const MAX_TEXT_BYTES = 1024 * 1024;

export default defineTool({
  name: 'storage_blob_upload',
  version: '1.0.0',
  title: 'Upload a text blob',
  description:
    'Uploads UTF-8 text (at most 1 MiB) as a block blob to a container of a storage account encrypted with a customer-managed key. Refuses to overwrite an existing blob unless overwrite is true.',
  risk: 'write',
  azurePermissions: {
    actions: ['Microsoft.Storage/storageAccounts/read'],
    dataActions: ['Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write'],
  },
  input: z.strictObject({
    resourceGroup: resourceGroupName,
    account: storageAccountName,
    container: containerName,
    name: blobName,
    content: z.string().describe('The text to store (UTF-8, at most 1 MiB)'),
    // linear: anchored; the runs are split by '/' and ';', which they exclude: one pass.
    contentType: z
      .string()
      .regex(/^[\w.+-]+\/[\w.+-]+(;\s*charset=[\w-]+)?$/, 'must be a MIME type')
      .default('text/plain; charset=utf-8'),
    overwrite: z.boolean().default(false).describe('Replace an existing blob'),
  }),
  output: z.object({ name: z.string(), size: z.number(), etag: z.string().optional(), overwritten: z.boolean() }),
  target: ({ resourceGroup, account, container }, _department, subscription) => ({
    group: resourceGroup,
    resourceId: containerId(subscription, resourceGroup, account, container),
  }),
  async handler({ resourceGroup, account, container, name, content, contentType, overwrite }, context) {
    const bytes = Buffer.from(content, 'utf8');
    if (bytes.byteLength > MAX_TEXT_BYTES) {
      throw new ToolError('invalid_arguments', `content is ${bytes.byteLength} bytes; at most ${MAX_TEXT_BYTES} can be uploaded.`);
    }
    const { dataPlane } = await openCmkAccount(context, resourceGroup, account, { authorizeChange: true });
    const blob = await dataPlane.blob(container, name);
    const existed = overwrite ? await blob.exists({ abortSignal: context.signal }) : false;
    const upload = (abortSignal: AbortSignal) =>
      blob
        .uploadData(bytes, {
          abortSignal,
          blobHTTPHeaders: { blobContentType: contentType },
          // The service refuses the write if a blob is already there, so two writers cannot both "create" it.
          ...(overwrite ? {} : { conditions: { ifNoneMatch: '*' } }),
        })
        .catch(async (error: unknown) => {
          const status = (await asRestError(error))?.statusCode;
          if (!overwrite && (status === 409 || status === 412)) {
            throw new ToolError('conflict', `Blob '${name}' already exists; pass overwrite: true to replace it.`);
          }
          throw error;
        });
    const etag = await confirmedWrite(context, {
      what: `uploading blob '${name}' to '${account}/${container}'`,
      check: `storage_blob_read with the same resourceGroup, account, container and name`,
      write: async (abortSignal) => (await upload(abortSignal)).etag,
      // At most 1 MiB: the stored bytes are compared with what this call sent.
      readBack: async (abortSignal) => {
        if (!(await blob.exists({ abortSignal }))) return { state: 'absent', detail: `no blob '${name}' in '${account}/${container}': it was not uploaded` };
        const stored = await blob.downloadToBuffer(0, MAX_TEXT_BYTES + 1, { abortSignal });
        return stored.equals(bytes)
          ? { state: 'done', value: (await blob.getProperties({ abortSignal })).etag }
          : { state: 'partial', detail: `a blob '${name}' is there but holds other content than this call sent` };
      },
    });
    return { name, size: bytes.byteLength, etag, overwritten: existed };
  },
});
