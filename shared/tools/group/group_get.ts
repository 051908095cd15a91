import * as z from 'zod';
import { defineTool } from '../tool.js';
import { resourceGroupName } from '../names.js';
import { tagsOf, tagsOutput } from '../common.js';

export default defineTool({
  name: 'group_get',
  version: '1.0.0',
  title: 'Get a resource group',
  description: 'Shows one resource group: its id, region, provisioning state, tags and any managing resource.',
  risk: 'read',
  azurePermissions: { actions: ['Microsoft.Resources/subscriptions/resourceGroups/read'], dataActions: [] },
  input: z.strictObject({ name: resourceGroupName }),
  output: z.object({
    id: z.string(),
    name: z.string(),
    location: z.string(),
    provisioningState: z.string().optional(),
    managedBy: z.string().optional(),
    tags: tagsOutput,
  }),
  target: ({ name }) => ({ group: name }),
  async handler({ name }, { azure, signal }) {
    const group = await (await azure.resources()).resourceGroups.get(name, { abortSignal: signal });
    return {
      id: group.id ?? '',
      name: group.name ?? name,
      location: group.location,
      provisioningState: group.properties?.provisioningState,
      managedBy: group.managedBy,
      tags: tagsOf(group.tags),
    };
  },
});
