import type { TokenCredential } from '@azure/identity';
import type { Settings } from '../config/settings.js';
import { createAnchorTable } from './anchors.js';
import { createAuditKeyring, type AuditKeyring } from './audit-key.js';
import { createBlobAuditLog, type DurableAuditLog } from './blob-sink.js';

/** A Key Vault secret of the department vault, read (and re-read when due) as an audit key. */
export function auditVaultSecret(settings: Settings, credential: TokenCredential, secretName: string): AuditKeyring {
  return createAuditKeyring(
    { vaultUrl: settings.keyVaultUrl, secretName, verifyChallengeResource: settings.keyVaultVerifyChallengeResource },
    credential,
    settings.auditKey.refreshMs,
  );
}

/**
 * The tamper-evident audit store the settings name (container, anchor table, the keys in the vault), with the key
 * that pseudonymises people in it; or none.
 */
export function createDurableAuditLog(
  settings: Settings,
  credential: TokenCredential,
  log: (message: string, error?: unknown) => void,
  options: { lingerMs?: number; unawaitedLingerMs?: number; pseudonyms?: AuditKeyring } = {},
): { auditLog: DurableAuditLog; pseudonyms: AuditKeyring } | undefined {
  if (!settings.auditContainerUrl || !settings.auditAnchors) return undefined;
  const pseudonyms = options.pseudonyms ?? auditVaultSecret(settings, credential, settings.auditPseudonymKeySecretName);
  const auditLog = createBlobAuditLog({
    containerUrl: settings.auditContainerUrl,
    credential,
    keyring: auditVaultSecret(settings, credential, settings.auditKey.secretName),
    pseudonyms,
    anchors: createAnchorTable(settings.auditAnchors, credential),
    log,
    ...(options.lingerMs === undefined ? {} : { lingerMs: options.lingerMs }),
    unawaitedLingerMs: options.unawaitedLingerMs ?? settings.auditReadLingerMs,
  });
  return { auditLog, pseudonyms };
}
