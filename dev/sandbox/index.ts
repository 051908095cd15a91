// Starts the whole sandbox: Azurite (blob + table) and the HTTPS twin of the Azure REST APIs.
import { randomBytes } from 'node:crypto';
import { startAzurite } from './azurite.js';
import { sandboxIssuer } from './discovery.js';
import type { FaultSpec } from './faults.js';
import { STORAGE_RESOURCE, mintIdentityToken } from './identity.js';
import { IssuerKeyStore } from './issuer-keys.js';
import { mintToken, type TokenClaims } from './issuer.js';
import type { AzuriteRequest } from './azurite-log.js';
import {
  ALLOWED_RESOURCE_GROUPS,
  APP_CLIENT_ID,
  APP_INSIGHTS_APPLICATION_ID,
  APP_INSIGHTS_INSTRUMENTATION_KEY,
  APP_STORAGE_ACCOUNT,
  AUDIT_CONTAINER,
  IDENTITY_CLIENT_ID,
  IDENTITY_PRINCIPAL_ID,
  SEEDED_ACCOUNTS,
  SPARE_DATA_PLANE_ACCOUNTS,
  SEED_BLOBS,
  SEED_CONTAINERS,
  SUBSCRIPTION_ID,
  TENANT_ID,
  VAULT_NAME,
  accountKey,
} from './seed.js';
import { ensureTls, processTrusts } from './tls.js';
import { IDENTITY_PATH, startTwin } from './twin.js';
import { keptRsaKeys, newRsaKeys } from './kept-keys.js';

export type { StoredStorageAccount } from './admin.js';
export type { AzuriteRequest } from './azurite-log.js';
export type { Fault, FaultSpec } from './faults.js';
export type { IssuerKey, IssuerKeyStore } from './issuer-keys.js';
export type { TokenClaims } from './issuer.js';
export type { TelemetryEnvelope } from './telemetry-store.js';
export { mintStorageTokenFromDataDir, mintVaultTokenFromDataDir } from './identity.js';

export interface SandboxOptions {
  dataDir: string;
  tlsDir: string;
  armPort?: number;
  vaultPort?: number;
  blobPort?: number;
  tablePort?: number;
  pageSize?: number;
  faults?: FaultSpec[];
  /**
   * Synthetic StorageV2 accounts (stbulk000001, ...) for benchmarks: spread over the allowed UK groups, ~70 % CMK.
   * Kept in memory only (regenerated at every start and reset, never in state.json) and not served by Azurite.
   */
  extraStorageAccounts?: number;
  /** Azurite keeps blobs and tables in memory, not under dataDir: for a sandbox nothing outlives (the tests'). */
  storageInMemory?: boolean;
  /** Keep a log of what Azurite received, for `azuriteRequests()` (tests' evidence); off, Azurite spends less CPU. */
  recordStorageRequests?: boolean;
  /**
   * A folder where a fresh data folder's first RSA keys (the issuer's, the catalogue signing key) are made once and
   * kept for the next fresh one (./kept-keys.ts): what the tests' sandboxes use. Absent, each fresh one makes its own.
   */
  keptKeysDir?: string;
}

export interface Sandbox {
  /** https://127.0.0.1:PORT (no trailing slash): ARM, managed identity, issuer discovery and /_sandbox admin. */
  armUrl: string;
  /** The seeded vault's URL, with trailing slash. */
  vaultUrl: string;
  vaultName: string;
  /** Azurite blob/table origins; accounts are path-style: {blobUrl}/{account}/{container}/{blob}. */
  blobUrl: string;
  tableUrl: string;
  /** The app's own storage account's table endpoint, {tableUrl}/{APP_STORAGE_ACCOUNT}: approvals live here. */
  tableEndpoint: string;
  /** The app's own storage account's blob endpoint, {blobUrl}/{APP_STORAGE_ACCOUNT}. */
  appBlobEndpoint: string;
  /** {appBlobEndpoint}/{AUDIT_CONTAINER}: the audit trail's container, seeded empty (Azurite has no immutability policies). */
  auditContainerUrl: string;
  /** Value for IDENTITY_ENDPOINT. */
  identityEndpoint: string;
  /** Value for IDENTITY_HEADER (random per start). */
  identityHeader: string;
  tenantId: string;
  subscriptionId: string;
  identityClientId: string;
  identityPrincipalId: string;
  /** {armUrl}/{tenantId}/v2.0 — the `iss` of tokens minted with mintToken's default issuer. */
  issuer: string;
  jwksUri: string;
  /** {armUrl}/{tenantId}/oauth2/v2.0/authorize: the sandbox sign-in page (OpenID Connect, id_token + form_post). */
  authorizeUrl: string;
  /** The app registration's client id: the only client_id the sign-in page accepts, and its ID tokens' `aud`. */
  appClientId: string;
  /** The issuer's persisted key set: `current()` signs, `published()` is the JWKS; shared with the admin API. */
  issuerKeys: IssuerKeyStore;
  /**
   * APPLICATIONINSIGHTS_CONNECTION_STRING for the app: ingestion goes to the twin's capture ({armUrl}/v2.1/track),
   * which needs an Entra token for https://monitor.azure.com; read what arrived with SandboxAdmin.telemetry().
   */
  appInsightsConnectionString: string;
  caCertPath: string;
  allowedResourceGroups: string[];
  /** Mints a token signed by the issuer's current key; `issuer` defaults to `issuer` above. */
  mintToken(claims: Omit<TokenClaims, 'issuer'> & { issuer?: string }): Promise<string>;
  /**
   * Requests Azurite's blob and table services received (from their debug logs) since start or the last clear.
   * Rejects unless the sandbox was started with `recordStorageRequests`.
   */
  azuriteRequests(): Promise<AzuriteRequest[]>;
  clearAzuriteRequests(): Promise<void>;
  /** A storage token as the managed-identity endpoint issues it to the app (resource https://storage.azure.com); Azurite accepts it. */
  mintStorageToken(): Promise<string>;
  /** SIGSTOPs Azurite blob + table: requests then hang (no error) until resumeStorage(). Idempotent. */
  pauseStorage(): void;
  /** SIGCONTs Azurite blob + table. Idempotent; close() also resumes. */
  resumeStorage(): void;
  close(): Promise<void>;
}

export async function startSandbox(opts: SandboxOptions): Promise<Sandbox> {
  const tls = await ensureTls(opts.tlsDir);
  if (!processTrusts(tls.cert)) {
    throw new Error(
      `startSandbox needs NODE_EXTRA_CA_CERTS=${tls.certPath} set when node starts, so Azure SDK clients trust the sandbox's HTTPS endpoints (currently ${process.env['NODE_EXTRA_CA_CERTS'] ?? 'unset'}).`,
    );
  }
  const rsaKeys = opts.keptKeysDir === undefined ? newRsaKeys : keptRsaKeys(opts.keptKeysDir);
  const issuerKeys = await IssuerKeyStore.open(opts.dataDir, rsaKeys);
  const azurite = await startAzurite({
    dataDir: opts.dataDir,
    tls,
    ...(opts.blobPort !== undefined && { blobPort: opts.blobPort }),
    ...(opts.tablePort !== undefined && { tablePort: opts.tablePort }),
    accounts: [...SEEDED_ACCOUNTS, ...SPARE_DATA_PLANE_ACCOUNTS].map((name) => ({ name, key: accountKey(name) })),
    blobs: SEED_BLOBS,
    containers: SEED_CONTAINERS,
    ...(opts.recordStorageRequests && { recordRequests: true }),
    ...(opts.storageInMemory && { inMemory: true }),
  });
  const identityHeader = randomBytes(24).toString('hex');
  let twin;
  try {
    twin = await startTwin({
      dataDir: opts.dataDir,
      tls,
      issuerKeys,
      identityHeader,
      blobUrl: azurite.blobUrl,
      tableUrl: azurite.tableUrl,
      ...(opts.armPort !== undefined && { armPort: opts.armPort }),
      ...(opts.vaultPort !== undefined && { vaultPort: opts.vaultPort }),
      ...(opts.pageSize !== undefined && { pageSize: opts.pageSize }),
      ...(opts.faults !== undefined && { faults: opts.faults }),
      ...(opts.extraStorageAccounts !== undefined && { extraStorageAccounts: opts.extraStorageAccounts }),
      rsaKeys,
    });
  } catch (e) {
    await azurite.stop();
    throw e;
  }
  const { armUrl } = twin;
  const issuer = sandboxIssuer(armUrl, TENANT_ID);
  let closing: Promise<void> | undefined;
  const started = twin;
  return {
    armUrl,
    vaultUrl: twin.vaultUrls[VAULT_NAME] as string,
    vaultName: VAULT_NAME,
    blobUrl: azurite.blobUrl,
    tableUrl: azurite.tableUrl,
    tableEndpoint: `${azurite.tableUrl}/${APP_STORAGE_ACCOUNT}`,
    appBlobEndpoint: `${azurite.blobUrl}/${APP_STORAGE_ACCOUNT}`,
    auditContainerUrl: `${azurite.blobUrl}/${APP_STORAGE_ACCOUNT}/${AUDIT_CONTAINER}`,
    identityEndpoint: `${armUrl}${IDENTITY_PATH}`,
    identityHeader,
    tenantId: TENANT_ID,
    subscriptionId: SUBSCRIPTION_ID,
    identityClientId: IDENTITY_CLIENT_ID,
    identityPrincipalId: IDENTITY_PRINCIPAL_ID,
    issuer,
    jwksUri: `${armUrl}/${TENANT_ID}/discovery/v2.0/keys`,
    authorizeUrl: `${armUrl}/${TENANT_ID}/oauth2/v2.0/authorize`,
    appClientId: APP_CLIENT_ID,
    issuerKeys,
    appInsightsConnectionString: `InstrumentationKey=${APP_INSIGHTS_INSTRUMENTATION_KEY};IngestionEndpoint=${armUrl}/;LiveEndpoint=${armUrl}/;ApplicationId=${APP_INSIGHTS_APPLICATION_ID}`,
    caCertPath: tls.certPath,
    allowedResourceGroups: [...ALLOWED_RESOURCE_GROUPS],
    mintToken: async (claims) => mintToken(await issuerKeys.current(), { ...claims, issuer: claims.issuer ?? issuer }),
    azuriteRequests: () => azurite.requests(),
    clearAzuriteRequests: () => azurite.clearRequests(),
    mintStorageToken: async () => mintIdentityToken(await issuerKeys.current(), STORAGE_RESOURCE),
    pauseStorage: () => azurite.pause(),
    resumeStorage: () => azurite.resume(),
    close: () =>
      (closing ??= (async () => {
        // Resumed first, so nothing in the shutdown waits on a stopped Azurite.
        azurite.resume();
        await started.close();
        await azurite.stop();
      })()),
  };
}
