import * as z from 'zod';
import { defineTool } from '../tool.js';
import { armCollectionRule, nextCursorOutput, pageInput, readPage } from '../paging.js';
import { resourceGroupName } from '../names.js';
import { tagsOf, tagsOutput } from '../common.js';

export default defineTool({
  name: 'group_resource_list',
  version: '1.0.0',
  title: 'List resources in a resource group',
  description: 'Lists the resources in one resource group (any type, or one type such as Microsoft.Storage/storageAccounts). Paged.',
  risk: 'read',
  azurePermissions: { actions: ['Microsoft.Resources/subscriptions/resourceGroups/resources/read'], dataActions: [] },
  input: z.strictObject({
    resourceGroup: resourceGroupName,
    type: z
      .string()
      // linear: anchored; the first class excludes '/', so the split is fixed and the second run is scanned once.
      .regex(/^[A-Za-z0-9.]+\/[A-Za-z0-9/]+$/, 'type looks like Provider.Namespace/resourceType')
      .optional()
      .describe('Only resources of this type, e.g. Microsoft.Compute/virtualMachines'),
    ...pageInput,
  }),
  output: z.object({
    resources: z.array(
      z.object({
        id: z.string(),
        name: z.string(),
        type: z.string(),
        location: z.string().optional(),
        kind: z.string().optional(),
        sku: z.string().optional(),
        tags: tagsOutput,
      }),
    ),
    nextCursor: nextCursorOutput,
  }),
  target: ({ resourceGroup }) => ({ group: resourceGroup }),
  async handler({ resourceGroup, type, top, cursor }, { azure, settings, signal }) {
    const client = await azure.resources();
    // Imported here, not at the top, so a cold start loads this SDK only when a group tool runs.
    const { getContinuationToken } = await import('@azure/arm-resources');
    const filter = type ? `resourceType eq '${type}'` : undefined;
    const page = await readPage({
      cursor,
      top,
      rule: armCollectionRule(settings.armEndpoint, settings.subscriptionId, 'resources', resourceGroup),
      open: (link) =>
        client.resources
          .listByResourceGroup(resourceGroup, { abortSignal: signal, ...(filter ? { filter } : {}) })
          .byPage(link ? { continuationToken: link } : {}),
      linkOf: getContinuationToken,
      map: (resource) => ({
        id: resource.id ?? '',
        name: resource.name ?? '',
        type: resource.type ?? '',
        location: resource.location,
        kind: resource.kind,
        sku: resource.sku?.name,
        tags: tagsOf(resource.tags),
      }),
    });
    return { resources: page.items, nextCursor: page.nextCursor };
  },
});
