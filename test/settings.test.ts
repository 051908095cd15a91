import { describe, expect, it } from '@jest/globals';
import { loadSettings, SettingsError } from '../shared/config/settings.js';
import { IN_AZURE, REQUIRED_SETTINGS as REQUIRED } from './helpers/settings.js';

/** What an operator sees when configuring the app: defaults in Azure, and clear refusals of bad values. */
describe('settings', () => {
  it("in Azure, allows only the app's own host name as Host and as browser Origin by default", () => {
    const settings = loadSettings({ ...REQUIRED, ...IN_AZURE });
    expect(settings.allowedHosts).toEqual(['func-dept-mcp.azurewebsites.net']);
    expect(settings.allowedOrigins).toEqual(['func-dept-mcp.azurewebsites.net']);
  });

  it('allows no client app in Azure until the deployment names them, any locally, and any with "*"', () => {
    expect(loadSettings({ ...REQUIRED, ...IN_AZURE }).auth.allowedClientApps).toEqual([]);
    expect(loadSettings({ ...REQUIRED, ...IN_AZURE, AUTH_ALLOWED_CLIENT_APPS: '' }).auth.allowedClientApps).toEqual([]);
    expect(loadSettings(REQUIRED).auth.allowedClientApps).toBe('any');
    expect(loadSettings({ ...REQUIRED, ...IN_AZURE, AUTH_ALLOWED_CLIENT_APPS: '*' }).auth.allowedClientApps).toBe('any');
    expect(loadSettings({ ...REQUIRED, ...IN_AZURE, AUTH_ALLOWED_CLIENT_APPS: 'AAAA-app, bbbb-app' }).auth.allowedClientApps).toEqual(['aaaa-app', 'bbbb-app']);
  });

  it('calls Azure as the managed identity by default; on behalf of the caller only with the app registration named', () => {
    expect(loadSettings(REQUIRED).onBehalfOf).toBeUndefined();
    expect(() => loadSettings({ ...REQUIRED, AZURE_CALLS_AS: 'caller' })).toThrow(/AZURE_CALLS_AS: caller needs AUTH_CLIENT_ID/);
    expect(() => loadSettings({ ...REQUIRED, AZURE_CALLS_AS: 'user' })).toThrow(/AZURE_CALLS_AS: must be identity .* or caller/);
    const clientId = '0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9';
    expect(loadSettings({ ...REQUIRED, ...IN_AZURE, AZURE_CALLS_AS: 'caller', AUTH_CLIENT_ID: clientId }).onBehalfOf).toEqual({
      clientId,
      authorityHost: 'https://login.microsoftonline.com',
    });
    expect(() => loadSettings({ ...REQUIRED, AZURE_CALLS_AS: 'caller', AUTH_CLIENT_ID: clientId, AZURE_LOCAL_CREDENTIAL: 'azure-cli' })).toThrow(
      /federated credential/,
    );
  });

  it('keeps configured origins and adds the app itself', () => {
    const settings = loadSettings({ ...REQUIRED, ...IN_AZURE, MCP_ALLOWED_ORIGINS: 'apim-dept.azure-api.net' });
    expect(settings.allowedOrigins).toEqual(['apim-dept.azure-api.net', 'func-dept-mcp.azurewebsites.net']);
  });

  it('accepts an Application Insights connection string for Entra authentication and refuses others, naming the setting', () => {
    const good =
      'InstrumentationKey=55555555-5555-4555-8555-555555555555;IngestionEndpoint=https://ukwest-0.in.applicationinsights.azure.com/;Authorization=AAD';
    expect(loadSettings({ ...REQUIRED, APPLICATIONINSIGHTS_CONNECTION_STRING: good }).appInsightsConnectionString).toBe(good);
    expect(loadSettings(REQUIRED).appInsightsConnectionString).toBeUndefined();
    for (const bad of [
      'InstrumentationKey=55555555-5555-4555-8555-555555555555',
      'InstrumentationKey=x;IngestionEndpoint=http://collector.example/',
      'InstrumentationKey=x;IngestionEndpoint=https://ukwest-0.in.applicationinsights.azure.com/;Authorization=ikey',
    ]) {
      expect(() => loadSettings({ ...REQUIRED, APPLICATIONINSIGHTS_CONNECTION_STRING: bad })).toThrow(SettingsError);
      expect(() => loadSettings({ ...REQUIRED, APPLICATIONINSIGHTS_CONNECTION_STRING: bad })).toThrow(/APPLICATIONINSIGHTS_CONNECTION_STRING/);
    }
  });

  it('takes a developer credential (Azure CLI) on a workstation only, never in Azure', () => {
    expect(loadSettings({ ...REQUIRED, AZURE_LOCAL_CREDENTIAL: 'azure-cli' }).localCredential).toBe('azure-cli');
    expect(() => loadSettings({ ...REQUIRED, ...IN_AZURE, AZURE_LOCAL_CREDENTIAL: 'azure-cli' })).toThrow(
      /AZURE_LOCAL_CREDENTIAL: a developer credential is for a workstation only/,
    );
    expect(() => loadSettings({ ...REQUIRED, AZURE_LOCAL_CREDENTIAL: 'browser' })).toThrow(/AZURE_LOCAL_CREDENTIAL/);
  });

  it('needs an anchor table with the audit container, and takes the audit key secret name and refresh, naming each bad value', () => {
    const container = { AUDIT_CONTAINER_URL: 'https://stdeptmcpapp.blob.core.windows.net/audit' };
    expect(() => loadSettings({ ...REQUIRED, ...container })).toThrow(/AUDIT_ANCHOR_TABLE_ENDPOINT: required with AUDIT_CONTAINER_URL/);
    const settings = loadSettings({ ...REQUIRED, ...container, AUDIT_ANCHOR_TABLE_ENDPOINT: 'https://stdeptmcpapp.table.core.windows.net/' });
    expect(settings.auditAnchors).toEqual({ tableEndpoint: 'https://stdeptmcpapp.table.core.windows.net', tableName: 'auditanchors' });
    expect(settings.auditKey).toEqual({ secretName: 'audit-hmac-key', refreshMs: 300_000 });
    expect(() => loadSettings({ ...REQUIRED, AUDIT_KEY_SECRET_NAME: 'audit/key' })).toThrow(/AUDIT_KEY_SECRET_NAME: must be a Key Vault secret name/);
    expect(() => loadSettings({ ...REQUIRED, AUDIT_KEY_REFRESH_SECONDS: '0' })).toThrow(/AUDIT_KEY_REFRESH_SECONDS/);
    expect(settings.auditReadLingerMs).toBe(100);
    expect(loadSettings({ ...REQUIRED, AUDIT_READ_LINGER_MS: '0' }).auditReadLingerMs).toBe(0);
    expect(() => loadSettings({ ...REQUIRED, AUDIT_READ_LINGER_MS: '5000' })).toThrow(/AUDIT_READ_LINGER_MS/);
    expect(() => loadSettings({ ...REQUIRED, AUDIT_ANCHOR_TABLE_ENDPOINT: 'http://stdeptmcpapp.table.core.windows.net' })).toThrow(
      /AUDIT_ANCHOR_TABLE_ENDPOINT: must be an https:\/\/ URL/,
    );
  });
});
