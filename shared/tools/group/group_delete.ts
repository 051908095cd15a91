import * as z from 'zod';
import { defineTool } from '../tool.js';
import { resourceGroupName } from '../names.js';
import { approvalInput } from '../../approvals/gate.js';

/** How many of a group's resources the approver is shown by name. */
const SHOWN = 50;

export default defineTool({
  name: 'group_delete',
  version: '1.0.0',
  title: 'Delete a resource group',
  description:
    'Deletes a resource group and everything in it. Destructive: the first call records an approval request and returns a link for a human approver; repeat the identical call with the approvalId once approved. Protected groups cannot be deleted even with approval.',
  risk: 'destructive',
  longRunning: true,
  azurePermissions: {
    actions: [
      'Microsoft.Resources/subscriptions/resourceGroups/read',
      'Microsoft.Resources/subscriptions/resourceGroups/resources/read',
      'Microsoft.Resources/subscriptions/resourceGroups/delete',
    ],
    dataActions: [],
  },
  input: z.strictObject({ name: resourceGroupName, ...approvalInput }),
  output: z.object({ name: z.string(), deleted: z.boolean() }),
  target: ({ name }) => ({ group: name }),
  async impact({ name }, context) {
    const client = await context.azure.resources();
    const group = await client.resourceGroups.get(name, { abortSignal: context.signal });
    context.authorize({ group: name, ...(group.id ? { resourceId: group.id } : {}), tags: group.tags ?? {} });
    const resources: string[] = [];
    let total = 0;
    for await (const resource of client.resources.listByResourceGroup(name, { abortSignal: context.signal })) {
      // Deleting the group deletes this too: a protected resource inside protects the group.
      context.authorize({ group: name, ...(resource.id ? { resourceId: resource.id } : {}), tags: resource.tags ?? {} });
      total += 1;
      if (resources.length < SHOWN) resources.push(`${resource.type}: ${resource.name}`);
    }
    return {
      targets: [group.id ?? name],
      details: [
        `Resource group ${name} in ${group.location} and all ${total} resources in it will be deleted.`,
        ...resources,
        ...(total > SHOWN ? [`…and ${total - SHOWN} more`] : []),
      ],
    };
  },
  async handler({ name }, context) {
    const client = await context.azure.resources();
    // Checked again at run time: the group or something in it may have been tagged protected since the approval.
    const group = await client.resourceGroups.get(name, { abortSignal: context.signal });
    context.authorize({ group: name, ...(group.id ? { resourceId: group.id } : {}), tags: group.tags ?? {} });
    for await (const resource of client.resources.listByResourceGroup(name, { abortSignal: context.signal })) {
      context.authorize({ group: name, ...(resource.id ? { resourceId: resource.id } : {}), tags: resource.tags ?? {} });
    }
    context.progress(`Deleting resource group ${name}`);
    await client.resourceGroups.beginDeleteAndWait(name, { abortSignal: context.signal, updateIntervalInMs: 1000 });
    return { name, deleted: true };
  },
});
