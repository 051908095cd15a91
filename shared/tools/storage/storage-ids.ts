/** Resource Manager ids of storage resources, from validated names: what the storage tools declare they touch. */
export function storageAccountId(subscriptionId: string, resourceGroup: string, account: string): string {
  return `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.Storage/storageAccounts/${account}`;
}

/** A blob container is a child resource of its account's blob service. */
export function containerId(subscriptionId: string, resourceGroup: string, account: string, container: string): string {
  return `${storageAccountId(subscriptionId, resourceGroup, account)}/blobServices/default/containers/${container}`;
}
