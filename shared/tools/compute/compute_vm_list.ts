import * as z from 'zod';
import { defineTool } from '../tool.js';
import { armCollectionRule, continuationOf, nextCursorOutput, pageInput, readPage } from '../paging.js';
import { groupOf, resourceGroupName } from '../names.js';
import { tagsOf, tagsOutput } from '../common.js';

export default defineTool({
  name: 'compute_vm_list',
  version: '1.0.0',
  title: 'List virtual machines',
  description: 'Lists virtual machines in the managed resource groups (or one group): size, OS, region, provisioning and power state. Paged.',
  risk: 'read',
  azurePermissions: { actions: ['Microsoft.Compute/virtualMachines/read', 'Microsoft.Compute/virtualMachines/instanceView/read'], dataActions: [] },
  input: z.strictObject({ resourceGroup: resourceGroupName.optional().describe('Only this resource group'), ...pageInput }),
  output: z.object({
    vms: z.array(
      z.object({
        name: z.string(),
        resourceGroup: z.string(),
        location: z.string(),
        size: z.string().optional(),
        osType: z.string().optional(),
        provisioningState: z.string().optional(),
        powerState: z.string().optional().describe('e.g. running, deallocated'),
        tags: tagsOutput,
      }),
    ),
    nextCursor: nextCursorOutput,
  }),
  target: ({ resourceGroup }) => (resourceGroup ? { group: resourceGroup } : {}),
  async handler({ resourceGroup, top, cursor }, { azure, settings, department, signal }) {
    const vms = (await azure.compute()).virtualMachines;
    const page = await readPage({
      cursor,
      top,
      rule: armCollectionRule(settings.armEndpoint, settings.subscriptionId, 'providers/microsoft.compute/virtualmachines'),
      // Group by group, so the identity needs read access on the managed groups only, not the subscription.
      sources: resourceGroup ? [resourceGroup] : department.resourceGroups,
      open: (link, group) => vms.list(group ?? '', { abortSignal: signal, expand: 'instanceView' }).byPage(link ? { continuationToken: link } : {}),
      linkOf: continuationOf,
      map: (vm) => ({
        name: vm.name ?? '',
        resourceGroup: groupOf(vm.id) ?? '',
        location: vm.location,
        size: vm.hardwareProfile?.vmSize,
        osType: vm.storageProfile?.osDisk?.osType,
        provisioningState: vm.provisioningState,
        powerState: vm.instanceView?.statuses?.find((status) => status.code?.startsWith('PowerState/'))?.code?.slice('PowerState/'.length),
        tags: tagsOf(vm.tags),
      }),
    });
    return { vms: page.items, nextCursor: page.nextCursor };
  },
});
