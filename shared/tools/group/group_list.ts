import { z } from 'zod';
import { defineTool } from '../tool.js';
import { armLinkRule, nextCursorOutput, pageInput, readPage } from '../paging.js';
import { isGroupInScope } from '../scope.js';
import { tagsOf, tagsOutput } from '../common.js';

export default defineTool({
  name: 'group_list',
  title: 'List resource groups',
  description:
    "Lists the department's resource groups that this app manages, with region, state and tags. Paged: pass nextCursor to continue.",
  risk: 'read',
  input: z.object({ ...pageInput }),
  output: z.object({
    subscriptionId: z.string(),
    groups: z.array(
      z.object({ name: z.string(), location: z.string(), provisioningState: z.string().optional(), tags: tagsOutput }),
    ),
    nextCursor: nextCursorOutput,
  }),
  async handler({ top, cursor }, { azure, settings, signal }) {
    const client = await azure.resources();
    // Imported here, not at the top, so a cold start loads this SDK only when a group tool runs.
    const { getContinuationToken } = await import('@azure/arm-resources');
    const page = await readPage({
      cursor,
      top,
      rule: armLinkRule(settings.armEndpoint, settings.subscriptionId),
      open: (link) => client.resourceGroups.list({ abortSignal: signal }).byPage(link ? { continuationToken: link } : {}),
      linkOf: getContinuationToken,
      keep: (group) => isGroupInScope(settings, group.name),
      map: (group) => ({
        name: group.name ?? '',
        location: group.location,
        provisioningState: group.properties?.provisioningState,
        tags: tagsOf(group.tags),
      }),
    });
    return { subscriptionId: settings.subscriptionId, groups: page.items, nextCursor: page.nextCursor };
  },
});
