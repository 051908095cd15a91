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

  it('keeps configured origins and adds the app itself', () => {
    const settings = loadSettings({ ...REQUIRED, ...IN_AZURE, MCP_ALLOWED_ORIGINS: 'apim-dept.azure-api.net' });
    expect(settings.allowedOrigins).toEqual(['apim-dept.azure-api.net', 'func-dept-mcp.azurewebsites.net']);
  });

  it('accepts an Application Insights connection string for Entra authentication and refuses others, naming the setting', () => {
    const good = 'InstrumentationKey=55555555-5555-4555-8555-555555555555;IngestionEndpoint=https://ukwest-0.in.applicationinsights.azure.com/;Authorization=AAD';
    expect(loadSettings({ ...REQUIRED, APPLICATIONINSIGHTS_CONNECTION_STRING: good }).appInsightsConnectionString).toBe(good);
    expect(loadSettings(REQUIRED).appInsightsConnectionString).toBeUndefined();
    for (const bad of ['InstrumentationKey=55555555-5555-4555-8555-555555555555', 'InstrumentationKey=x;IngestionEndpoint=http://collector.example/', 'InstrumentationKey=x;IngestionEndpoint=https://ukwest-0.in.applicationinsights.azure.com/;Authorization=ikey']) {
      expect(() => loadSettings({ ...REQUIRED, APPLICATIONINSIGHTS_CONNECTION_STRING: bad })).toThrow(SettingsError);
      expect(() => loadSettings({ ...REQUIRED, APPLICATIONINSIGHTS_CONNECTION_STRING: bad })).toThrow(/APPLICATIONINSIGHTS_CONNECTION_STRING/);
    }
  });

  it('takes a developer credential (Azure CLI) on a workstation only, never in Azure', () => {
    expect(loadSettings({ ...REQUIRED, AZURE_LOCAL_CREDENTIAL: 'azure-cli' }).localCredential).toBe('azure-cli');
    expect(() => loadSettings({ ...REQUIRED, ...IN_AZURE, AZURE_LOCAL_CREDENTIAL: 'azure-cli' })).toThrow(/AZURE_LOCAL_CREDENTIAL: a developer credential is for a workstation only/);
    expect(() => loadSettings({ ...REQUIRED, AZURE_LOCAL_CREDENTIAL: 'browser' })).toThrow(/AZURE_LOCAL_CREDENTIAL/);
  });
});
