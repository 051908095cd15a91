import type { ToolContext } from '../tool.js';
import { asRestError } from '../../azure/rest-error.js';
import { ToolError } from '../../pipeline/errors.js';

/**
 * Checks the department key before any storage change: it must exist, be enabled, unexpired, and allow
 * wrapKey/unwrapKey, or the account could not be encrypted with it. The refusal says what to fix.
 */
export async function requireUsableCmkKey(context: ToolContext, keyName: string): Promise<{ keyName: string; vaultUri: string }> {
  const keys = await context.azure.keys();
  const vaultUri = context.settings.keyVaultUrl;
  const key = await keys.getKey(keyName, { abortSignal: context.signal }).catch(async (error: unknown) => {
    if ((await asRestError(error))?.statusCode === 404) {
      throw new ToolError(
        'conflict',
        `The customer-managed key '${keyName}' does not exist in ${vaultUri}. Create it (keyvault_key_create) or set storage.cmkKey in the department policy; nothing was changed.`,
      );
    }
    throw error;
  });
  const properties = key.properties;
  const problems = [
    properties.enabled === false ? 'is disabled' : undefined,
    properties.expiresOn && properties.expiresOn.getTime() <= Date.now() ? `expired on ${properties.expiresOn.toISOString()}` : undefined,
    !['wrapKey', 'unwrapKey'].every((op) => key.keyOperations?.includes(op as never)) ? 'does not allow wrapKey and unwrapKey' : undefined,
    key.keyType && !key.keyType.startsWith('RSA') ? `is a ${key.keyType} key, not RSA` : undefined,
  ].filter((problem): problem is string => problem !== undefined);
  if (problems.length > 0) {
    throw new ToolError(
      'conflict',
      `The customer-managed key '${keyName}' ${problems.join(' and ')}; fix it in ${vaultUri} (or rotate to a new key). Nothing was changed.`,
    );
  }
  return { keyName, vaultUri };
}

/** Without the identity's resource id no account can reach a customer-managed key, so nothing is attempted. */
export function requireIdentityResourceId(context: ToolContext): string {
  const id = context.settings.identityResourceId;
  if (!id) {
    throw new ToolError(
      'forbidden',
      'AZURE_IDENTITY_RESOURCE_ID is not set, so storage cannot be encrypted with the customer-managed key; ask the operators to set it. Nothing was changed.',
      {
        rule: 'cmk.identity-not-configured',
      },
    );
  }
  return id;
}
