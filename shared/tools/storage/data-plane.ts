import type { StorageAccount } from '@azure/arm-storage';
import type { BlobServiceClient, BlockBlobClient, ContainerClient } from '@azure/storage-blob';
import { ToolError } from '../../pipeline/errors.js';
import type { ToolContext } from '../tool.js';
import { encryptionOf } from './encryption.js';
import { withoutTrailingSlashes } from '../../text/trailing-slashes.js';

/**
 * The data plane of one checked account. Each client addresses exactly the one resource named here (the account,
 * one container or one blob) and refuses any request the SDK builds for anything else (names.url-mismatch).
 */
export interface AccountDataPlane {
  account(): Promise<BlobServiceClient>;
  container(container: string): Promise<ContainerClient>;
  blob(container: string, name: string): Promise<BlockBlobClient>;
}

/**
 * Opens an account's blob endpoint for a data-plane tool, but only for accounts encrypted with a customer-managed
 * key: the check runs against Resource Manager before any data is touched. Tools that change data also pass the
 * account's tags to the policy (protection) with `authorizeChange`.
 */
export async function openCmkAccount(
  context: ToolContext,
  resourceGroup: string,
  account: string,
  options: { authorizeChange?: boolean } = {},
): Promise<{ dataPlane: AccountDataPlane; account: StorageAccount }> {
  const storage = await context.azure.storage();
  const properties = await storage.storageAccounts.getProperties(resourceGroup, account, { abortSignal: context.signal });
  if (holdsAppState(properties, context.settings)) {
    // The audit trail names every caller and keeps their (redacted) requests; approvals are the human gate. The
    // app's identity can reach them, callers must not through it: no reading others' records, no editing the gate.
    throw new ToolError('forbidden', `Storage account '${account}' holds this app's own audit trail and approvals; no tool reads or changes it.`, {
      rule: 'policy.app-state',
    });
  }
  const encryption = encryptionOf(properties);
  if (encryption.customerManagedKey && !sameVault(encryption.keyVaultUri, context.settings.keyVaultUrl)) {
    throw new ToolError(
      'forbidden',
      `Storage account '${account}' is encrypted with a key outside the department's Key Vault; data tools only work on accounts whose key the department holds.`,
      { rule: 'cmk.key-outside-department-vault' },
    );
  }
  if (!encryption.customerManagedKey) {
    throw new ToolError(
      'forbidden',
      `Storage account '${account}' is encrypted with platform-managed keys (${encryption.keySource}); data tools only work on accounts encrypted with a customer-managed key. Move it to CMK first (storage_account_cmk_enable).`,
      { rule: 'cmk.platform-managed-keys' },
    );
  }
  if (options.authorizeChange) {
    context.authorize({ group: resourceGroup, ...(properties.id ? { resourceId: properties.id } : {}), tags: properties.tags ?? {} });
  }
  const endpoint = properties.primaryEndpoints?.blob;
  if (!endpoint) throw new ToolError('not_found', `Storage account '${account}' has no blob endpoint.`);
  const { azure } = context;
  return {
    dataPlane: {
      account: () => azure.blobAccount(endpoint),
      container: (container) => azure.blobContainer(endpoint, container),
      blob: (container, name) => azure.blob(endpoint, container, name),
    },
    account: properties,
  };
}

/** Whether the account hosts the audit container (AUDIT_CONTAINER_URL), its anchors (AUDIT_ANCHOR_TABLE_ENDPOINT) or the approvals table (APPROVALS_TABLE_ENDPOINT). */
function holdsAppState(properties: StorageAccount, settings: ToolContext['settings']): boolean {
  const within = (url: string | undefined, endpoint: string | undefined) => {
    if (!url || !endpoint) return false;
    try {
      const inner = new URL(url);
      const outer = new URL(endpoint);
      const folder = (path: string) => `${withoutTrailingSlashes(path)}/`.toLowerCase();
      return inner.origin === outer.origin && folder(inner.pathname).startsWith(folder(outer.pathname));
    } catch {
      return false;
    }
  };
  return (
    within(settings.auditContainerUrl, properties.primaryEndpoints?.blob) ||
    within(settings.approvals?.tableEndpoint, properties.primaryEndpoints?.table) ||
    within(settings.auditAnchors?.tableEndpoint, properties.primaryEndpoints?.table)
  );
}

/** Whether two Key Vault URLs name the same vault (host case, default port and trailing slash aside). */
export function sameVault(a: string | undefined, b: string): boolean {
  if (!a) return false;
  try {
    const normalise = (url: string) => {
      const parsed = new URL(url);
      return `${parsed.origin}${withoutTrailingSlashes(parsed.pathname)}`.toLowerCase();
    };
    return normalise(a) === normalise(b);
  } catch {
    return false;
  }
}
