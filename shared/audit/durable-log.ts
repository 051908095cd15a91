import type { TokenCredential } from '@azure/identity';
import type { Settings } from '../config/settings.js';
import { createAnchorTable } from './anchors.js';
import { createAuditKeyring } from './audit-key.js';
import { createBlobAuditLog, type DurableAuditLog } from './blob-sink.js';

/** The tamper-evident audit store the settings name (container, anchor table, key in the vault), or none. */
export function createDurableAuditLog(
  settings: Settings,
  credential: TokenCredential,
  log: (message: string, error?: unknown) => void,
  lingerMs?: number,
): DurableAuditLog | undefined {
  if (!settings.auditContainerUrl || !settings.auditAnchors) return undefined;
  return createBlobAuditLog({
    containerUrl: settings.auditContainerUrl,
    credential,
    keyring: createAuditKeyring(
      { vaultUrl: settings.keyVaultUrl, secretName: settings.auditKey.secretName, verifyChallengeResource: settings.keyVaultVerifyChallengeResource },
      credential,
      settings.auditKey.refreshMs,
    ),
    anchors: createAnchorTable(settings.auditAnchors, credential),
    log,
    ...(lingerMs === undefined ? {} : { lingerMs }),
  });
}
