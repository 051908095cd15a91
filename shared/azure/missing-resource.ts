/**
 * What a tool call points at, by the names in its arguments: every tool names a resource group as `resourceGroup`
 * (or, for group tools, `name`), an account as `account` (or `name` for account tools), a container as
 * `container`, and a blob or key as `name` in the blob and key tools. A `not_found` answer uses this to say which
 * of them is missing instead of Azure's generic words.
 */
export interface CallTargets {
  group?: string;
  account?: string;
  container?: string;
  blob?: string;
  key?: string;
}

export function targetsOf(toolName: string, args: unknown): CallTargets {
  const fields = (args ?? {}) as Record<string, unknown>;
  const text = (key: string) => (typeof fields[key] === 'string' ? fields[key].slice(0, 200) : undefined);
  const name = text('name');
  const area = toolName.startsWith('group_')
    ? 'group'
    : toolName.startsWith('storage_blob_')
      ? 'blob'
      : toolName.startsWith('keyvault_')
        ? 'key'
        : toolName.startsWith('storage_account_')
          ? 'account'
          : undefined;
  const targets: CallTargets = {};
  const group = area === 'group' ? name : text('resourceGroup');
  const account = area === 'account' ? name : text('account');
  if (group) targets.group = group;
  if (account) targets.account = account;
  if (text('container')) targets.container = text('container')!;
  if (area === 'blob' && name) targets.blob = name;
  if (area === 'key' && name) targets.key = name;
  return targets;
}

/**
 * The message for a 404: which resource is missing, from Azure's error code (Resource Manager, Blob storage, Key
 * Vault) and the call's own names; undefined when neither says.
 */
export function missingResourceMessage(azureCode: string | undefined, targets: CallTargets): string | undefined {
  const inGroup = targets.group ? ` in resource group '${targets.group}'` : '';
  const inAccount = targets.account ? ` of storage account '${targets.account}'` : '';
  switch (azureCode) {
    case 'ResourceGroupNotFound':
      return targets.group ? `Resource group '${targets.group}' does not exist.` : undefined;
    case 'ContainerNotFound':
      return targets.container ? `Container '${targets.container}'${inAccount} does not exist.` : undefined;
    case 'BlobNotFound':
      return targets.blob ? `Blob '${targets.blob}' does not exist in container '${targets.container ?? '?'}'${inAccount}.` : undefined;
    case 'KeyNotFound':
      return targets.key ? `Key '${targets.key}' does not exist in the department Key Vault.` : undefined;
    case 'ResourceNotFound':
    case 'StorageAccountNotFound':
    case 'ParentResourceNotFound':
      return targets.account ? `Storage account '${targets.account}' does not exist${inGroup}.` : undefined;
    default:
      return undefined;
  }
}

/** The names a call used, for a 404 whose code says nothing more: `resource group 'a', storage account 'b'`. */
export function describeTargets(targets: CallTargets): string {
  const parts = [
    targets.group && `resource group '${targets.group}'`,
    targets.account && `storage account '${targets.account}'`,
    targets.container && `container '${targets.container}'`,
    targets.blob && `blob '${targets.blob}'`,
    targets.key && `key '${targets.key}'`,
  ].filter((part): part is string => Boolean(part));
  return parts.join(', ');
}
