import type { StorageAccount } from '@azure/arm-storage';
import type { ToolContext } from '../tool.js';
import { armCollectionRule, continuationOf, readPage, type PageOf } from '../paging.js';

/**
 * One page of the storage accounts in scope (one group, or every managed group in turn), so the identity needs
 * read access on the managed groups only, never on the subscription.
 */
export async function readAccountsInScope<R>(
  context: ToolContext,
  options: { resourceGroup: string | undefined; top: number; cursor: string | undefined; map: (account: StorageAccount) => R },
): Promise<PageOf<R>> {
  const { azure, settings, department, signal } = context;
  const accounts = (await azure.storage()).storageAccounts;
  return readPage({
    cursor: options.cursor,
    top: options.top,
    rule: armCollectionRule(settings.armEndpoint, settings.subscriptionId, 'providers/microsoft.storage/storageaccounts'),
    sources: options.resourceGroup ? [options.resourceGroup] : department.resourceGroups,
    open: (link, group) => accounts.listByResourceGroup(group ?? '', { abortSignal: signal }).byPage(link ? { continuationToken: link } : {}),
    linkOf: continuationOf,
    map: options.map,
  });
}
