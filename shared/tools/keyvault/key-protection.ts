import { ToolError } from '../../pipeline/errors.js';
import type { DepartmentPolicy } from '../../policy/department-policy.js';
import type { PolicyTarget } from '../../domain/policy-target.js';
import { sameVault } from '../storage/data-plane.js';
import type { ToolContext } from '../tool.js';

/** Resource Manager API version used to read the vault resource (its tags and URI). */
const VAULT_API_VERSION = '2023-07-01';

/** Keys are child resources of their vault in Resource Manager (Microsoft.KeyVault/vaults/keys). */
function keyResourceId(vaultId: string, name: string): string {
  return `${vaultId}/keys/${name}`;
}

/**
 * What a key tool touches, known before any Azure call: the key beneath the department vault the policy names,
 * so a listed subscription, group, vault or key protects it. Nothing when the policy names no vault: the handler
 * then refuses (authorizeKeyChange).
 */
/** The department vault itself, for tools that read across its keys (its resource group is what scopes them). */
export function vaultTarget(department: DepartmentPolicy): PolicyTarget {
  const vault = department.keyVault?.resourceId;
  return vault ? { resourceId: vault } : {};
}

export function keyTarget(name: string, department: DepartmentPolicy): PolicyTarget {
  const vault = department.keyVault?.resourceId;
  return vault ? { resourceId: keyResourceId(vault, name) } : {};
}

/**
 * Decides a change to key `name` on everything that protects it, read from Azure: the key's own tags (when it
 * exists) and its vault's (the vault resource in Resource Manager). The vault the policy names must be the one
 * the app talks to (KEY_VAULT_URL), or the tags read would be another vault's: refused, fail closed.
 */
export async function authorizeKeyChange(context: ToolContext, name: string, keyTags: Record<string, string> | undefined): Promise<void> {
  const vaultId = context.department.keyVault?.resourceId;
  if (!vaultId) {
    throw new ToolError(
      'forbidden',
      "The department policy does not name the Key Vault's resource id (keyVault.resourceId), so the protection of its keys cannot be checked; nothing was changed.",
      { rule: 'policy.key-vault-undeclared' },
    );
  }
  // getById's path is "/{resourceId}": the id goes without its leading slash, or the request path starts "//".
  // linear: anchored at the start (tried at position 0 only), one literal run.
  const vault = await (await context.azure.resources()).resources.getById(vaultId.replace(/^\/+/, ''), VAULT_API_VERSION, { abortSignal: context.signal });
  const vaultUri = (vault.properties as { vaultUri?: unknown } | undefined)?.vaultUri;
  if (typeof vaultUri !== 'string' || !sameVault(vaultUri, context.settings.keyVaultUrl)) {
    throw new ToolError(
      'forbidden',
      'The Key Vault the department policy names (keyVault.resourceId) is not the vault this app uses (KEY_VAULT_URL); nothing was changed.',
      { rule: 'policy.key-vault-mismatch' },
    );
  }
  context.authorize({
    resourceId: keyResourceId(vaultId, name),
    tags: keyTags ?? {},
    ancestors: [{ resourceId: vault.id ?? vaultId, tags: vault.tags ?? {} }],
  });
}
