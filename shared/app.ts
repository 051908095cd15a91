import { createMcpHandler, type McpHttpHandler } from '@modelcontextprotocol/server';
import { createAuthenticator, prefetchIssuerKeys, type Authenticator } from './auth/authenticate.js';
import { createIdTokenVerifier, type IdTokenCheck } from './auth/id-token.js';
import { ARM_SCOPE, createAzureClients, type AzureClients } from './azure/clients.js';
import { createAppCredential } from './azure/credential.js';
import { onBehalfOfClients } from './azure/on-behalf-of.js';
import { WARM_UP_DELAY_MS } from './config/deadlines.js';
import { loadSettings, type Settings } from './config/settings.js';
import { consoleLogger, type Logger } from './log.js';
import type { CatalogueEntry } from './mcp/catalogue-entry.js';
import { loadCatalogue } from './mcp/catalogue.js';
import { buildCatalogueManifest } from './mcp/manifest.js';
import { createCatalogueSigner, type SignedCatalogue } from './mcp/catalogue-signer.js';
import { createServerFactory } from './mcp/server-factory.js';
import { auditSinks, logCopy, telemetryCopy, type AuditSink } from './pipeline/audit.js';
import { createAppInsightsExport, type TelemetryExport } from './audit/app-insights.js';
import type { DurableAuditLog } from './audit/blob-sink.js';
import type { AuditKeyring } from './audit/audit-key.js';
import { createDurableAuditLog } from './audit/durable-log.js';
import { createPipeline, type Pipeline } from './pipeline/run-tool.js';
import { loadDepartmentPolicy, type DepartmentPolicy } from './policy/department-policy.js';
import { createPolicyEngine } from './policy/engine.js';
import { createRateLimits } from './policy/rate-limits.js';
import { TOOLS } from './tools/registry.js';
import { compileLinearPatterns } from './text/linear-regex.js';
import { shieldOutput } from './shield/shield.js';
import { untrusted } from './shield/untrusted.js';
import * as z from 'zod';
import type { ApprovalStore } from './approvals/store.js';
import { loadOnFirstUse } from './runtime/load-on-first-use.js';

/** Everything a request needs, built once per process (Functions instances are reused across requests). */
export interface App {
  settings: Settings;
  authenticate: Authenticator;
  pipeline: Pipeline;
  catalogue: ReadonlyMap<string, CatalogueEntry>;
  /** The department policy's step-up demands (authentication contexts per tier and for approving). */
  stepUp: DepartmentPolicy['stepUp'];
  /** The catalogue signed with the Key Vault signing key (signed on first use, then kept); rejects while it cannot be signed. */
  signedCatalogue(): Promise<SignedCatalogue>;
  audit: AuditSink;
  /** The tamper-evident copy of the audit trail, when AUDIT_CONTAINER_URL is set; flushed at shutdown. */
  auditLog?: DurableAuditLog;
  /** The key that pseudonymises people in the stored copy (with auditLog): no request is served without it. */
  auditPseudonyms?: AuditKeyring;
  /** The Application Insights copy, when APPLICATIONINSIGHTS_CONNECTION_STRING is set. */
  telemetry?: TelemetryExport;
  /** Present when approvals are configured (APPROVALS_TABLE_ENDPOINT and AUTH_CLIENT_ID). */
  approvals?: ApprovalStore;
  verifyIdToken?: (token: string | null) => Promise<IdTokenCheck>;
  mcp: McpHttpHandler;
  log: Logger;
  /** At shutdown: writes queued audit records to the store and sends queued telemetry, each within `timeoutMs`. */
  flush(timeoutMs: number): Promise<void>;
  /**
   * As the host starts (the local host, or the Functions host's app start): starts in the background what the
   * first request would otherwise wait for — the issuer's signing keys, a managed identity token for Resource
   * Manager, and (a second later, or with the first record stored: WARM_UP_DELAY_MS) the audit store's key
   * and writer registration, so a change waits only for the store's probe. Never throws and never fails the start:
   * whatever is not ready, the first request fetches itself and, if that fails, is refused as it always was. Reaches only the configured issuer, identity endpoint, Key Vault
   * and audit storage.
   */
  warmUp(): void;
}

export interface AppOverrides {
  azure?: AzureClients;
  audit?: AuditSink;
  log?: Logger;
}

export function createApp(settings: Settings, overrides: AppOverrides = {}): App {
  const log = overrides.log ?? consoleLogger;
  const credential = createAppCredential(settings);
  if (settings.localCredential) log.info('Calling Azure as the Azure CLI signed-in account (AZURE_LOCAL_CREDENTIAL=azure-cli): local development only.');
  const azure = overrides.azure ?? createAzureClients(settings, credential);
  // The department policy is validated here, at start: a bad file stops the app with the line to fix.
  const department = loadDepartmentPolicy(
    settings.policyFile,
    TOOLS.map((tool) => tool.name),
    TOOLS.filter((tool) => tool.risk === 'write').map((tool) => tool.name),
  );
  const logFailure = (message: string, error?: unknown) => (error ? log.error(message, error) : log.info(message));
  const durable = createDurableAuditLog(settings, credential, logFailure);
  const auditLog = durable?.auditLog;
  const auditPseudonyms = durable?.pseudonyms;
  const telemetry = settings.appInsightsConnectionString ? createAppInsightsExport(settings.appInsightsConnectionString, credential, logFailure) : undefined;
  const copies = [logCopy((line) => console.log(line)), ...(telemetry ? [telemetryCopy(telemetry)] : [])];
  const audit = overrides.audit ?? auditSinks(copies, auditLog, (message, error) => log.error(message, error));
  const approvalSettings = settings.approvals;
  // The Table SDK is loaded with the first approval, not at start: only destructive calls and the approval page need it.
  const approvals = approvalSettings
    ? loadedOnFirstUse(async () =>
        (await import('./approvals/store.js')).createTableApprovalStore(approvalSettings.tableEndpoint, approvalSettings.tableName, credential),
      )
    : undefined;
  const onBehalfOf = settings.onBehalfOf ? onBehalfOfClients(settings, credential, azure) : undefined;
  const pipeline = createPipeline({
    settings,
    azure,
    ...(onBehalfOf ? { azureFor: onBehalfOf } : {}),
    policy: createPolicyEngine(department, settings.subscriptionId, undefined, settings.emergencyMode),
    rateLimits: createRateLimits(department.rateLimits),
    ...(auditLog ? { auditReady: (timeoutMs: number) => auditLog.ready(timeoutMs) } : {}),
    ...(approvals ? { approvals } : {}),
    tools: TOOLS,
    logError: (message, error) => log.error(message, error),
  });
  const catalogue = loadCatalogue(TOOLS);
  const signedCatalogue = createCatalogueSigner(
    { vaultUrl: settings.keyVaultUrl, keyName: settings.catalogueSigningKey, verifyChallengeResource: settings.keyVaultVerifyChallengeResource },
    credential,
    () => buildCatalogueManifest(catalogue, TOOLS),
  );
  const mcp = createMcpHandler(createServerFactory(pipeline, catalogue), {
    legacy: 'stateless',
    maxRequestBodySize: settings.maxBodyBytes,
    onerror: (error) => log.error('MCP handler error', error),
  });
  return {
    settings,
    authenticate: createAuthenticator(settings.auth, settings.tenantId),
    pipeline,
    catalogue,
    stepUp: department.stepUp,
    // Signed on the first request for it (GET /tools/manifest), not at start: no Key Vault call until it is wanted.
    signedCatalogue,
    audit,
    ...(auditLog ? { auditLog } : {}),
    ...(auditPseudonyms ? { auditPseudonyms } : {}),
    ...(telemetry ? { telemetry } : {}),
    ...(approvals && settings.approvals
      ? { approvals, verifyIdToken: createIdTokenVerifier(settings.auth, settings.tenantId, settings.approvals.clientId) }
      : {}),
    mcp,
    log,
    async flush(timeoutMs) {
      audit.close();
      await Promise.all([auditLog?.flush(timeoutMs), telemetry?.flush(timeoutMs)]);
    },
    warmUp() {
      void prefetchIssuerKeys(settings.auth.jwksUri);
      if (!overrides.azure) credential.prefetch(ARM_SCOPE);
      // Not at once: see WARM_UP_DELAY_MS (the first record stored starts the audit store's part sooner).
      setTimeout(() => {
        auditLog?.warmUp();
        // Redaction's and the shield's patterns and tables, built then rather than by the requests that need them
        // later (one pattern per turn of the event loop, so requests arriving meanwhile barely wait).
        void compileLinearPatterns().then(() => {
          shieldOutput(z.object({ text: untrusted(z.string()) }), { text: 'Warm-up: \u200B caf\u00e9 \u0430 <!-- note --> aGVsbG8=' });
        });
      }, WARM_UP_DELAY_MS).unref();
    },
  };
}

/** An approval store made on first use (its SDK imported then); a failed import is retried by the next call. */
function loadedOnFirstUse(make: () => Promise<ApprovalStore>): ApprovalStore {
  const store = loadOnFirstUse(make);
  return {
    create: async (approval) => (await store()).create(approval),
    get: async (id) => (await store()).get(id),
    update: async (approval, changes) => (await store()).update(approval, changes),
    listUnused: async () => (await store()).listUnused(),
  };
}

let instance: App | undefined;

/**
 * The process-wide app, from the environment. Invalid settings or an invalid department policy throw here
 * (SettingsError, PolicyError), which stops the host at start.
 */
export function getApp(): App {
  instance ??= createApp(loadSettings());
  return instance;
}
