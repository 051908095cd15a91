import { AUDIT_KEY_SECRET_NAME, AUDIT_PSEUDONYM_KEY_SECRET_NAME, CATALOGUE_SIGNING_KEY_NAME, IDENTITY_RESOURCE_ID } from './sandbox/seed.js';

/** The app settings that point the Function app at a running sandbox instead of Azure. */
export interface SandboxEndpoints {
  armUrl: string;
  vaultUrl: string;
  identityEndpoint: string;
  identityHeader: string;
  tenantId: string;
  subscriptionId: string;
  identityClientId: string;
  issuer: string;
  jwksUri: string;
  caCertPath: string;
  tableEndpoint: string;
  appClientId: string;
  auditContainerUrl: string;
  appInsightsConnectionString: string;
}

/** The audience sandbox tokens are minted for, like an Entra app's Application ID URI. */
export const SANDBOX_AUDIENCE = 'api://sovereign-mcp';

/** Where `npm start` keeps the sandbox (git-ignored): state, issuer key, Azurite data, TLS certificate. */
export const SANDBOX_DIR = process.env.SANDBOX_DIR ?? '.sandbox';

/** Fixed ports for `npm start`, so the issuer URL, and tokens minted for it, stay valid across restarts. */
export const SANDBOX_PORTS = {
  arm: Number(process.env.SANDBOX_ARM_PORT ?? 8443),
  vault: Number(process.env.SANDBOX_VAULT_PORT ?? 8444),
  blob: Number(process.env.SANDBOX_BLOB_PORT ?? 10000),
  table: Number(process.env.SANDBOX_TABLE_PORT ?? 10002),
};

/** The delegated scope sandbox user tokens carry, as Entra puts it in `scp` for the app's exposed API. */
export const SANDBOX_SCOPE = 'Mcp.Access';

/** The developer `npm start` hands a token to. */
export const DEV_USER = { oid: '0b6f1d2e-3c4a-4b5d-8e6f-7a8b9c0d1e2f', name: 'Dev Engineer' };

export function sandboxAppSettings(sandbox: SandboxEndpoints): Record<string, string> {
  return {
    NODE_EXTRA_CA_CERTS: sandbox.caCertPath,
    IDENTITY_ENDPOINT: sandbox.identityEndpoint,
    IDENTITY_HEADER: sandbox.identityHeader,
    AZURE_TENANT_ID: sandbox.tenantId,
    AZURE_SUBSCRIPTION_ID: sandbox.subscriptionId,
    AZURE_CLIENT_ID: sandbox.identityClientId,
    AZURE_RESOURCE_MANAGER_ENDPOINT: sandbox.armUrl,
    KEY_VAULT_URL: sandbox.vaultUrl,
    // The twin's vault lives on 127.0.0.1, not *.vault.azure.net, so the challenge's resource cannot match.
    KEY_VAULT_VERIFY_CHALLENGE_RESOURCE: 'false',
    AUTH_AUDIENCE: SANDBOX_AUDIENCE,
    AUTH_ISSUER: sandbox.issuer,
    AUTH_JWKS_URI: sandbox.jwksUri,
    // The app registration the approval page's sign-in is for, and the table the approvals live in.
    AUTH_CLIENT_ID: sandbox.appClientId,
    APPROVALS_TABLE_ENDPOINT: sandbox.tableEndpoint,
    AZURE_IDENTITY_RESOURCE_ID: IDENTITY_RESOURCE_ID,
    // The tamper-evident audit copy, in the app's own storage account.
    AUDIT_CONTAINER_URL: sandbox.auditContainerUrl,
    // Its writers' registrations and chain heads, in the same account's tables; its HMAC key, a secret in the vault.
    AUDIT_ANCHOR_TABLE_ENDPOINT: sandbox.tableEndpoint,
    AUDIT_KEY_SECRET_NAME: AUDIT_KEY_SECRET_NAME,
    // The key that pseudonymises people in the stored records, another secret in the same vault.
    AUDIT_PSEUDONYM_KEY_SECRET_NAME: AUDIT_PSEUDONYM_KEY_SECRET_NAME,
    CATALOGUE_SIGNING_KEY_NAME: CATALOGUE_SIGNING_KEY_NAME,
    // Application Insights: the twin's ingestion capture (Entra-only, like the department's resource).
    APPLICATIONINSIGHTS_CONNECTION_STRING: sandbox.appInsightsConnectionString,
  };
}
