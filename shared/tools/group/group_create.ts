import * as z from 'zod';
import { defineTool } from '../tool.js';
import { resourceGroupName } from '../names.js';
import { tagsOf, tagsOutput } from '../common.js';
import { canonicalRegion } from '../../policy/regions.js';
import { ToolError } from '../../pipeline/errors.js';
import { ifExists } from '../../azure/errors.js';
import { confirmedWrite, readOrAbsent } from '../confirmed-write.js';

export default defineTool({
  name: 'group_create',
  version: '1.0.0',
  title: 'Create a resource group',
  description:
    "Creates (or updates the tags of) a resource group the department policy lists, in an allowed UK region, with the department's required tags. Refuses protected groups. Idempotent.",
  risk: 'write',
  azurePermissions: {
    actions: ['Microsoft.Resources/subscriptions/resourceGroups/read', 'Microsoft.Resources/subscriptions/resourceGroups/write'],
    dataActions: [],
  },
  input: z.strictObject({
    name: resourceGroupName,
    location: z.string().min(1).max(40).describe('Azure region: uksouth or ukwest'),
    tags: z.record(z.string().min(1).max(512), z.string().max(256)).describe('Tags; the department policy says which are required'),
  }),
  output: z.object({
    id: z.string(),
    name: z.string(),
    location: z.string(),
    provisioningState: z.string().optional(),
    tags: tagsOutput,
    created: z.boolean().describe('false when the group already existed and only its tags were set'),
  }),
  target: ({ name, location, tags }) => ({ group: name, region: location, newTags: tags }),
  async handler({ name, location, tags }, context) {
    const { azure, settings, authorize, signal } = context;
    const groups = (await azure.resources()).resourceGroups;
    // The policy already allowed the region, so the canonical name is one of the allowed ones; Azure gets that.
    const region = canonicalRegion(location);
    const existing = await ifExists(groups.get(name, { abortSignal: signal }));
    if (existing) {
      // Updating an existing group is a change to it: protection by tag is only known now.
      authorize({ group: name, resourceId: existing.id ?? groupId(settings.subscriptionId, name), tags: existing.tags ?? {} });
      if (canonicalRegion(existing.location) !== region) {
        throw new ToolError('conflict', `Resource group '${name}' already exists in ${existing.location}; a group cannot move region.`);
      }
    }
    const sameTags = (found: Record<string, string> | undefined) =>
      JSON.stringify(Object.entries(found ?? {}).sort()) === JSON.stringify(Object.entries(tags).sort());
    const group = await confirmedWrite(context, {
      what: `${existing ? 'setting the tags of' : 'creating'} resource group '${name}'`,
      check: `group_get with name '${name}'`,
      write: (abortSignal) => groups.createOrUpdate(name, { location: region, tags }, { abortSignal }),
      readBack: (abortSignal) =>
        readOrAbsent(groups.get(name, { abortSignal }), `no resource group '${name}': it was not created`, (found) =>
          sameTags(found.tags)
            ? { state: 'done', value: found }
            : { state: existing ? 'absent' : 'partial', detail: `resource group '${name}' exists without the tags this call set` },
        ),
    });
    return {
      id: group.id ?? groupId(settings.subscriptionId, name),
      name: group.name ?? name,
      location: group.location,
      provisioningState: group.properties?.provisioningState,
      tags: tagsOf(group.tags),
      created: !existing,
    };
  },
});

function groupId(subscriptionId: string, name: string): string {
  return `/subscriptions/${subscriptionId}/resourceGroups/${name}`;
}
