import * as z from 'zod';
import { defineTool } from '../tool.js';
import { decodeCursor, encodeCursor, nextCursorOutput, pageInput } from '../paging.js';
import { tagsOf, tagsOutput } from '../common.js';
import { ifExists } from '../../azure/errors.js';
import { allRequests } from '../../azure/all-requests.js';

export default defineTool({
  name: 'group_list',
  version: '1.0.0',
  title: 'List resource groups',
  description:
    "Lists the resource groups this app manages (the department's configured scope) with region, state and tags, and names any configured group that does not exist. Paged: pass nextCursor to continue.",
  risk: 'read',
  azurePermissions: { actions: ['Microsoft.Resources/subscriptions/resourceGroups/read'], dataActions: [] },
  input: z.strictObject({ ...pageInput }),
  output: z.object({
    subscriptionId: z.string(),
    groups: z.array(z.object({ name: z.string(), location: z.string(), provisioningState: z.string().optional(), tags: tagsOutput })),
    missing: z.array(z.string()).describe('Configured resource groups that do not exist in Azure'),
    nextCursor: nextCursorOutput,
  }),
  async handler({ top, cursor }, { azure, settings, department, signal }) {
    // The scope is the configured list: each group is read directly, so the identity never lists the subscription.
    const { offset } = decodeCursor(cursor, 'marker');
    const names = department.resourceGroups.slice(offset, offset + top);
    const client = await azure.resources();
    const found = await allRequests(signal, (abortSignal) => names.map((name) => ifExists(client.resourceGroups.get(name, { abortSignal }))));
    const next = offset + names.length;
    return {
      subscriptionId: settings.subscriptionId,
      groups: found.flatMap((group) =>
        group ? [{ name: group.name ?? '', location: group.location, provisioningState: group.properties?.provisioningState, tags: tagsOf(group.tags) }] : [],
      ),
      missing: names.filter((_, index) => !found[index]),
      nextCursor: next < department.resourceGroups.length ? encodeCursor({ offset: next }) : undefined,
    };
  },
});
