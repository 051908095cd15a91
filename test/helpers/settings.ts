/** The settings every configuration must give (fictional ids and vault): what a test adds to them is what it tests. */
export const REQUIRED_SETTINGS = {
  AZURE_TENANT_ID: '11111111-1111-4111-8111-111111111111',
  AZURE_SUBSCRIPTION_ID: '22222222-2222-4222-8222-222222222222',
  AZURE_CLIENT_ID: '33333333-3333-4333-8333-333333333333',
  KEY_VAULT_URL: 'https://kv-dept-ukw.vault.azure.net/',
  AUTH_AUDIENCE: '44444444-4444-4444-8444-444444444444',
};

/** What App Service sets for a Function App named func-dept-mcp. */
export const IN_AZURE = { WEBSITE_SITE_NAME: 'func-dept-mcp', WEBSITE_HOSTNAME: 'func-dept-mcp.azurewebsites.net' };
