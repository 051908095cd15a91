import { fileURLToPath } from 'node:url';
import * as z from 'zod';
import { withoutTrailingSlashes } from '../text/trailing-slashes.js';
import { GUID } from '../domain/caller.js';
import { DEFAULT_UNAWAITED_LINGER_MS, HTTP_TRIGGER_LIMIT_MS, maxLroTimeoutMs } from './deadlines.js';
import { EMERGENCY_MODES, type EmergencyMode } from '../policy/emergency-mode.js';

/**
 * Every setting the app reads, in one place. Values come from the environment (Function App settings in Azure,
 * local.settings.json under Core Tools, the sandbox launcher locally). Each is documented in
 * local.settings.sample.json; a missing or malformed setting stops the app with a message naming it.
 */
const list = (value: string) =>
  value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0);

const guid = z.string().regex(GUID, 'must be a GUID');
// linear: anchored literals: at most a few steps (configuration text).
const httpsUrl = z.url({ protocol: /^https$/, error: 'must be an https:// URL' });
/** An allowlist entry: a DNS name, IPv4 address or bracketed IPv6 address, and an optional port. */
// linear: anchored; the one unbounded run gives back a character at a time and each try of the bounded port fails at once.
const ALLOWED_HOST_ENTRY = /^(?:\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::\d{1,5})?$/i;
const secretName = (fallback: string) =>
  z
    .string()
    // linear: anchored, one character class of at most 127 characters.
    .regex(/^[0-9a-zA-Z-]{1,127}$/, 'must be a Key Vault secret name (1-127 letters, digits and dashes)')
    .default(fallback);
const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);
const flag = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0'])
    .default(fallback ? 'true' : 'false')
    .transform((value) => value === 'true' || value === '1');

const schema = z.object({
  AZURE_TENANT_ID: guid,
  AZURE_SUBSCRIPTION_ID: guid,
  AZURE_CLIENT_ID: guid,
  AZURE_RESOURCE_MANAGER_ENDPOINT: httpsUrl.default('https://management.azure.com'),
  KEY_VAULT_URL: httpsUrl,
  KEY_VAULT_VERIFY_CHALLENGE_RESOURCE: flag(true),
  MCP_POLICY_FILE: z.string().default(fileURLToPath(new URL('../../../shared/policy/department.yaml', import.meta.url))),
  AUTH_AUDIENCE: z.string().min(1, "set it to the app registration's client id (Entra v2 access tokens) or its Application ID URI (v1)"),
  AUTH_ISSUER: httpsUrl.optional(),
  AUTH_JWKS_URI: httpsUrl.optional(),
  AUTH_SCOPES: z.string().default('Mcp.Access').transform(list),
  AUTH_ALLOWED_CLIENT_APPS: z.string().default('').transform(list),
  MCP_ALLOWED_HOSTS: z
    .string()
    .optional()
    .transform((value) => (value === undefined ? undefined : list(value)))
    .refine(
      (hosts) => (hosts ?? []).every((host) => ALLOWED_HOST_ENTRY.test(host)),
      'each entry must be a host name or host:port (no scheme, path or wildcard)',
    ),
  MCP_ALLOWED_ORIGINS: z
    .string()
    .optional()
    .transform((value) => (value === undefined ? undefined : list(value))),
  MCP_PUBLIC_BASE_URL: z
    // linear: anchored literals: at most a few steps (configuration text).
    .url({ protocol: /^https?$/, error: 'must be the public URL of the app, e.g. https://mcp.department.gov.uk' })
    // linear: anchored literals and one digit run: one attempt, one pass (configuration text).
    .refine((value) => value.startsWith('https://') || /^http:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d+)?\/?$/.test(value), 'must use https')
    .optional(),
  MCP_MAX_BODY_BYTES: positiveInt(4 * 1024 * 1024),
  // Read as typed in a hurry (`Closed`, ` read-only `); anything else stops the app, which refuses everything.
  MCP_EMERGENCY_MODE: z
    .string()
    .default('open')
    .transform((value) => value.trim().toLowerCase())
    .pipe(z.enum(EMERGENCY_MODES, `must be one of ${EMERGENCY_MODES.join(', ')} (the duty officer's switch; open is normal)`)),
  AZURE_IDENTITY_RESOURCE_ID: z
    .string()
    // linear: anchored; each [^/]+ stops at the literal '/' after it, so no two quantifiers compete for a character.
    .regex(
      /^\/subscriptions\/[^/]+\/resourcegroups\/[^/]+\/providers\/microsoft\.managedidentity\/userassignedidentities\/[^/]+$/i,
      'must be the resource id of the user-assigned identity',
    )
    .optional(),
  AUTH_CLIENT_ID: guid.optional(),
  // Whose rights Azure applies: the app's managed identity (default), or the caller's own, by on-behalf-of.
  AZURE_CALLS_AS: z.enum(['identity', 'caller'], 'must be identity (the managed identity, default) or caller (on behalf of the caller)').default('identity'),
  APPROVALS_TABLE_ENDPOINT: httpsUrl.optional(),
  // linear: anchored, at most 63 characters.
  APPROVALS_TABLE_NAME: z
    .string()
    .regex(/^[A-Za-z][A-Za-z0-9]{2,62}$/, 'must be a table name')
    .default('approvals'),
  APPROVAL_TTL_MINUTES: z.coerce
    .number()
    .positive()
    .max(24 * 60)
    .default(30),
  APPROVAL_SIGNIN_MAX_AGE_MINUTES: positiveInt(15),
  AUDIT_CONTAINER_URL: httpsUrl.optional(),
  AUDIT_KEY_SECRET_NAME: secretName('audit-hmac-key'),
  AUDIT_KEY_REFRESH_SECONDS: z.coerce.number().int().min(1).max(86_400).default(300),
  AUDIT_PSEUDONYM_KEY_SECRET_NAME: secretName('audit-pseudonym-key'),
  AUDIT_READ_LINGER_MS: z.coerce.number().int().min(0).max(1_000).default(DEFAULT_UNAWAITED_LINGER_MS),
  // linear: anchored, one character class of at most 127 characters.
  CATALOGUE_SIGNING_KEY_NAME: z
    .string()
    .regex(/^[0-9a-zA-Z-]{1,127}$/, 'must be a Key Vault key name (1-127 letters, digits and dashes)')
    .default('catalogue-signing'),
  AUDIT_ANCHOR_TABLE_ENDPOINT: httpsUrl.optional(),
  // linear: anchored, fixed at most 63 characters.
  AUDIT_ANCHOR_TABLE_NAME: z
    .string()
    .regex(/^[A-Za-z][A-Za-z0-9]{2,62}$/, 'must be a table name')
    .default('auditanchors'),
  APPLICATIONINSIGHTS_CONNECTION_STRING: z
    .string()
    // linear: attempts start only at the start or at ';', and the space runs after different starts never overlap.
    .refine(
      (value) => /(^|;)\s*IngestionEndpoint\s*=\s*https:\/\//i.test(value),
      'must hold IngestionEndpoint=https://… (copy it from the Application Insights resource)',
    )
    // linear: attempts start only at the start or at ';', and the space runs after different starts never overlap.
    .refine((value) => !/(^|;)\s*Authorization\s*=\s*(?!aad\b)/i.test(value), 'Entra authentication only: Authorization, if present, must be aad')
    .optional(),
  AZURE_CALL_TIMEOUT_MS: positiveInt(30_000),
  AZURE_LRO_TIMEOUT_MS: positiveInt(120_000),
  AZURE_TOKEN_TIMEOUT_MS: positiveInt(10_000),
  AZURE_LOCAL_CREDENTIAL: z.enum(['azure-cli'], "the only local credential is 'azure-cli'").optional(),
  MCP_SDK_PATH_ONLY: flag(false),
  PORT: z.coerce.number().int().min(0).max(65535).optional(),
  WEBSITE_HOSTNAME: z.string().optional(),
  WEBSITE_SITE_NAME: z.string().optional(),
  WEBSITE_AUTH_ENABLED: z.string().optional(),
});

/** Settings the App Service platform (or, for PORT, the local host) sets by itself; a deployment never sets them. */
export const PLATFORM_SETTING_NAMES: readonly string[] = ['WEBSITE_HOSTNAME', 'WEBSITE_SITE_NAME', 'WEBSITE_AUTH_ENABLED', 'PORT'];
/** The port the local host serves on when `PORT` is not set (Core Tools' default too). */
const LOCAL_PORT = 7071;
/** Settings for running on a workstation only; refused in Azure, never set by a deployment. */
export const LOCAL_ONLY_SETTING_NAMES: readonly string[] = ['AZURE_LOCAL_CREDENTIAL', 'MCP_SDK_PATH_ONLY'];
/** Every setting the app reads, by name: the deployment template is checked against this list. */
export const APP_SETTING_NAMES: readonly string[] = Object.keys(schema.shape);

const LOCALHOST_NAMES = ['localhost', '127.0.0.1', '[::1]'];

export interface Settings {
  tenantId: string;
  subscriptionId: string;
  /** Client id of the user-assigned managed identity the app calls Azure with. */
  identityClientId: string;
  armEndpoint: string;
  keyVaultUrl: string;
  keyVaultVerifyChallengeResource: boolean;
  /** The department policy file (YAML): scope, regions, protections, limits. */
  policyFile: string;
  auth: {
    audience: string;
    issuer: string;
    jwksUri: string;
    scopes: readonly string[];
    /**
     * Client app ids (azp/appid) allowed to call, people's client apps and agents' alike; 'any' for any app the
     * tenant lets obtain a token. Empty (none) is a deployment that has not named its client apps yet.
     */
    allowedClientApps: readonly string[] | 'any';
  };
  /** Host names, or `name:port` authorities, the app answers to (see shared/http/authority.ts). */
  allowedHosts: readonly string[];
  /** Locally, the port the local host serves on: a host entry without a port is allowed on it. Absent in Azure. */
  localPort?: number;
  allowedOrigins: readonly string[];
  /** The public origin used in metadata and challenges; absent means the (allowlisted) request origin. */
  publicBaseUrl?: string;
  maxBodyBytes: number;
  /** The duty officer's switch (MCP_EMERGENCY_MODE): what the deployment still does during an incident. */
  emergencyMode: EmergencyMode;
  azureCallTimeoutMs: number;
  /** Deadline for tools that follow a long-running operation (creating a storage account, deleting a group). */
  azureLroTimeoutMs: number;
  azureTokenTimeoutMs: number;
  /** A workstation-only developer credential instead of the managed identity. */
  localCredential?: 'azure-cli';
  /**
   * On-behalf-of mode (AZURE_CALLS_AS=caller): Azure is called with a token Entra issues for the caller, obtained with
   * the app registration `clientId` authenticating by a federated credential of its managed identity (no secret).
   */
  onBehalfOf?: { clientId: string; authorityHost: string };
  /**
   * MCP_SDK_PATH_ONLY, for tests and diagnosis on a workstation only: every /mcp request is answered by the MCP SDK,
   * never by the app's fast path for ping, tools/list and tools/call (shared/http/mcp-fast-path.ts).
   */
  mcpSdkPathOnly: boolean;
  /** Resource id of the user-assigned identity: storage accounts reach their customer-managed key through it. */
  identityResourceId?: string;
  /** The immutable blob container of the tamper-evident audit copy; without it, write and destructive tools are refused. */
  auditContainerUrl?: string;
  /** The Key Vault secret (in KEY_VAULT_URL) holding the HMAC key that authenticates audit records; re-read every `refreshMs`. */
  auditKey: { secretName: string; refreshMs: number };
  /** The Key Vault secret holding the key that pseudonymises people in the stored audit copy (re-read like the audit key). */
  auditPseudonymKeySecretName: string;
  /** How long a record nobody waits for (a read's) may wait to share an append in the tamper-evident store; 0: none. */
  auditReadLingerMs: number;
  /** The Key Vault key (in KEY_VAULT_URL, RSA) that signs the tool catalogue published at /tools/manifest. */
  catalogueSigningKey: string;
  /** Where audit writers are registered and their chain heads anchored, outside the container (set with auditContainerUrl). */
  auditAnchors?: { tableEndpoint: string; tableName: string };
  /** Application Insights (Entra authentication only): the audit trail as custom events, plus requests and Azure dependencies. */
  appInsightsConnectionString?: string;
  /** Human approval of destructive tools; absent means destructive tools are refused. */
  approvals?: {
    tableEndpoint: string;
    tableName: string;
    ttlMinutes: number;
    /** The approver's sign-in must be at most this old. */
    signInMaxAgeMinutes: number;
    /** The app registration's client id: the audience of approvers' ID tokens. */
    clientId: string;
  };
}

export class SettingsError extends Error {
  override name = 'SettingsError';
}

export function loadSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  // An empty value (as in local.settings.sample.json) means "use the default", like an absent one.
  const given = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value.trim() !== ''));
  const parsed = schema.safeParse(given);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const name = issue.path.join('.');
      return `  ${name}: ${name in given ? issue.message : 'required but not set'}`;
    });
    throw new SettingsError(`Sovereign MCP cannot start: invalid settings\n${problems.join('\n')}\nSee local.settings.sample.json for every setting.`);
  }
  const s = parsed.data;
  const inAzure = s.WEBSITE_SITE_NAME !== undefined;
  if (inAzure && !s.KEY_VAULT_VERIFY_CHALLENGE_RESOURCE) {
    throw new SettingsError(
      'Sovereign MCP cannot start: invalid settings\n  KEY_VAULT_VERIFY_CHALLENGE_RESOURCE: may only be false for the local sandbox, never in Azure',
    );
  }
  if (s.AZURE_CALLS_AS === 'caller' && !s.AUTH_CLIENT_ID) {
    throw new SettingsError(
      "Sovereign MCP cannot start: invalid settings\n  AZURE_CALLS_AS: caller needs AUTH_CLIENT_ID, the app registration's client id (it exchanges the caller's token on its own behalf)",
    );
  }
  if (s.AZURE_CALLS_AS === 'caller' && s.AZURE_LOCAL_CREDENTIAL) {
    throw new SettingsError(
      'Sovereign MCP cannot start: invalid settings\n  AZURE_CALLS_AS: caller needs the managed identity (its federated credential), not AZURE_LOCAL_CREDENTIAL',
    );
  }
  if (inAzure && s.AZURE_LOCAL_CREDENTIAL) {
    throw new SettingsError(
      'Sovereign MCP cannot start: invalid settings\n  AZURE_LOCAL_CREDENTIAL: a developer credential is for a workstation only; in Azure the app uses its managed identity',
    );
  }
  if (inAzure && s.MCP_SDK_PATH_ONLY) {
    throw new SettingsError(
      'Sovereign MCP cannot start: invalid settings\n  MCP_SDK_PATH_ONLY: a switch for tests and diagnosis on a workstation, never in Azure',
    );
  }
  if (inAzure && s.APPROVALS_TABLE_ENDPOINT && s.WEBSITE_AUTH_ENABLED?.toLowerCase() !== 'true') {
    // The approval page trusts the sign-in App Service Authentication performs; without it there is none.
    throw new SettingsError(
      'Sovereign MCP cannot start: invalid settings\n  APPROVALS_TABLE_ENDPOINT: approvals need App Service Authentication (Entra) switched on for the Function App',
    );
  }
  if (s.AUDIT_CONTAINER_URL && !s.AUDIT_ANCHOR_TABLE_ENDPOINT) {
    // Without anchors outside the container, a chain cut short or a whole writer emptied would still verify.
    throw new SettingsError(
      'Sovereign MCP cannot start: invalid settings\n  AUDIT_ANCHOR_TABLE_ENDPOINT: required with AUDIT_CONTAINER_URL: the Table endpoint (https://<account>.table.core.windows.net) where audit writers are registered and their chain heads anchored',
    );
  }
  const lroLimit = maxLroTimeoutMs({ azureCallTimeoutMs: s.AZURE_CALL_TIMEOUT_MS, azureTokenTimeoutMs: s.AZURE_TOKEN_TIMEOUT_MS });
  if (s.AZURE_LRO_TIMEOUT_MS > lroLimit) {
    // Azure ends an HTTP request after 230 s: a longer wait would be cut off before the clean-up of a failed create.
    throw new SettingsError(
      `Sovereign MCP cannot start: invalid settings\n  AZURE_LRO_TIMEOUT_MS: ${s.AZURE_LRO_TIMEOUT_MS} ms does not fit Azure's ${HTTP_TRIGGER_LIMIT_MS / 1000} s limit for an HTTP request ` +
        `together with the clean-up after a failed operation (twice AZURE_CALL_TIMEOUT_MS), AZURE_TOKEN_TIMEOUT_MS and the audit record; ` +
        `with the other deadlines as set, use at most ${Math.max(0, lroLimit)} ms (or shorten AZURE_CALL_TIMEOUT_MS)`,
    );
  }
  const authority = `https://login.microsoftonline.com/${s.AZURE_TENANT_ID}`;
  // Locally the defaults are the loopback names; in Azure only the app's own host name, plus what is configured.
  const hosts = [...(s.MCP_ALLOWED_HOSTS ?? (inAzure ? [] : LOCALHOST_NAMES)), ...(s.WEBSITE_HOSTNAME ? [s.WEBSITE_HOSTNAME] : [])];
  // The app's own origin is always allowed: its approval page posts back to itself.
  const origins = [...(s.MCP_ALLOWED_ORIGINS ?? (inAzure ? [] : LOCALHOST_NAMES)), ...(s.WEBSITE_HOSTNAME ? [s.WEBSITE_HOSTNAME] : [])];
  return {
    tenantId: s.AZURE_TENANT_ID,
    subscriptionId: s.AZURE_SUBSCRIPTION_ID,
    identityClientId: s.AZURE_CLIENT_ID,
    armEndpoint: withoutTrailingSlashes(s.AZURE_RESOURCE_MANAGER_ENDPOINT),
    keyVaultUrl: s.KEY_VAULT_URL.endsWith('/') ? s.KEY_VAULT_URL : `${s.KEY_VAULT_URL}/`,
    keyVaultVerifyChallengeResource: s.KEY_VAULT_VERIFY_CHALLENGE_RESOURCE,
    policyFile: s.MCP_POLICY_FILE,
    auth: {
      audience: s.AUTH_AUDIENCE,
      issuer: s.AUTH_ISSUER ?? `${authority}/v2.0`,
      jwksUri: s.AUTH_JWKS_URI ?? `${authority}/discovery/v2.0/keys`,
      scopes: s.AUTH_SCOPES,
      // Unset: closed in Azure (a deployment names its client apps), open locally; '*' opens it explicitly.
      allowedClientApps: s.AUTH_ALLOWED_CLIENT_APPS.includes('*')
        ? 'any'
        : s.AUTH_ALLOWED_CLIENT_APPS.length === 0
          ? inAzure
            ? []
            : 'any'
          : s.AUTH_ALLOWED_CLIENT_APPS.map((app) => app.toLowerCase()),
    },
    allowedHosts: hosts.map((host) => host.toLowerCase()),
    ...(inAzure ? {} : { localPort: s.PORT || LOCAL_PORT }),
    allowedOrigins: origins.map((origin) => origin.toLowerCase()),
    ...(s.MCP_PUBLIC_BASE_URL ? { publicBaseUrl: withoutTrailingSlashes(s.MCP_PUBLIC_BASE_URL) } : {}),
    maxBodyBytes: s.MCP_MAX_BODY_BYTES,
    emergencyMode: s.MCP_EMERGENCY_MODE,
    azureCallTimeoutMs: s.AZURE_CALL_TIMEOUT_MS,
    azureLroTimeoutMs: s.AZURE_LRO_TIMEOUT_MS,
    ...(s.AUDIT_CONTAINER_URL ? { auditContainerUrl: withoutTrailingSlashes(s.AUDIT_CONTAINER_URL) } : {}),
    auditKey: { secretName: s.AUDIT_KEY_SECRET_NAME, refreshMs: s.AUDIT_KEY_REFRESH_SECONDS * 1000 },
    auditReadLingerMs: s.AUDIT_READ_LINGER_MS,
    auditPseudonymKeySecretName: s.AUDIT_PSEUDONYM_KEY_SECRET_NAME,
    catalogueSigningKey: s.CATALOGUE_SIGNING_KEY_NAME,
    ...(s.AUDIT_ANCHOR_TABLE_ENDPOINT
      ? { auditAnchors: { tableEndpoint: withoutTrailingSlashes(s.AUDIT_ANCHOR_TABLE_ENDPOINT), tableName: s.AUDIT_ANCHOR_TABLE_NAME } }
      : {}),
    ...(s.APPLICATIONINSIGHTS_CONNECTION_STRING ? { appInsightsConnectionString: s.APPLICATIONINSIGHTS_CONNECTION_STRING } : {}),
    ...(s.AZURE_IDENTITY_RESOURCE_ID ? { identityResourceId: s.AZURE_IDENTITY_RESOURCE_ID } : {}),
    ...(s.APPROVALS_TABLE_ENDPOINT && s.AUTH_CLIENT_ID
      ? {
          approvals: {
            tableEndpoint: withoutTrailingSlashes(s.APPROVALS_TABLE_ENDPOINT),
            tableName: s.APPROVALS_TABLE_NAME,
            ttlMinutes: s.APPROVAL_TTL_MINUTES,
            signInMaxAgeMinutes: s.APPROVAL_SIGNIN_MAX_AGE_MINUTES,
            clientId: s.AUTH_CLIENT_ID,
          },
        }
      : {}),
    azureTokenTimeoutMs: s.AZURE_TOKEN_TIMEOUT_MS,
    ...(s.AZURE_LOCAL_CREDENTIAL ? { localCredential: s.AZURE_LOCAL_CREDENTIAL } : {}),
    ...(s.AZURE_CALLS_AS === 'caller' && s.AUTH_CLIENT_ID
      ? { onBehalfOf: { clientId: s.AUTH_CLIENT_ID, authorityHost: new URL(s.AUTH_ISSUER ?? authority).origin } }
      : {}),
    mcpSdkPathOnly: s.MCP_SDK_PATH_ONLY,
  };
}
