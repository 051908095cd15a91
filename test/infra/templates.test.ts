import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { allResources, cloneSet, loadTemplateSet, resourcesOf, type Json, type TemplateSet } from './templates.js';
import { appSettingsOf, checkTemplates, expressionOf } from './template-checks.js';
import { checkContext, EXPECTED_APP_SETTINGS, EXPECTED_ROLES } from './expectations.js';

/** Offline checks of the deployment templates in infra/: they parse, link, and keep every security invariant. */
const set = loadTemplateSet('infra/main.json');
const context = checkContext();

const MODULES = [
  'identity',
  'monitoring',
  'keyvault',
  'storage',
  'function-app',
  'roles',
  'group-access',
  'app-access',
  'subscription-access',
  'policy',
  'api-management',
];

/** The first resource of a type (optionally matching a test) in a module of a copy of the templates. */
function resourceIn(copy: TemplateSet, module: string, type: string, test: (resource: Json) => boolean = () => true): Json {
  const template = copy.templates.get(module === 'main' ? 'infra/main.json' : `infra/modules/${module}.json`);
  const found = resourcesOf(template).find((resource: Json) => resource.type === type && test(resource));
  if (!found) throw new Error(`no ${type} in ${module}`);
  return found;
}

const role = (copy: TemplateSet, label: string) =>
  resourceIn(copy, 'roles', 'Microsoft.Authorization/roleDefinitions', (r) => String(r.properties.roleName).includes(`'${label} (`)).properties.permissions[0];

/** The violations after one change to a copy of the templates. */
function violationsAfter(change: (copy: TemplateSet) => void): string[] {
  const copy = cloneSet(set);
  change(copy);
  return checkTemplates(copy, context);
}

describe('infra templates', () => {
  it('loads main.json and every module it links, each a deployment template', () => {
    expect([...set.templates.keys()].sort()).toEqual(['infra/main.json', ...MODULES.map((m) => `infra/modules/${m}.json`)].sort());
    for (const template of set.templates.values()) {
      expect(template.$schema).toMatch(/^https:\/\/schema\.management\.azure\.com\/schemas\/.*eploymentTemplate\.json#$/);
      expect(template.contentVersion).toBe('1.0.0.0');
    }
  });

  it('refuses a main template whose linked module is missing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'infra-'));
    try {
      mkdirSync(join(dir, 'modules'));
      writeFileSync(join(dir, 'modules', 'present.json'), JSON.stringify({ resources: [] }));
      const link = (path: string) => ({ type: 'Microsoft.Resources/deployments', name: path, properties: { templateLink: { relativePath: path } } });
      writeFileSync(join(dir, 'main.json'), JSON.stringify({ resources: [link('modules/present.json'), link('modules/missing.json')] }));
      expect(() => loadTemplateSet(join(dir, 'main.json'))).toThrow(/links modules\/missing\.json, which does not exist/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps every invariant: UK only, CMK, TLS 1.2, HTTPS, no shared keys, WORM audit, least-privilege roles, diagnostics', () => {
    expect(checkTemplates(set, context)).toEqual([]);
  });

  it('sets exactly the app settings the app reads (minus the platform ones) and the Functions host needs', () => {
    const settings = appSettingsOf(set)!;
    expect([...settings.names].sort()).toEqual([...EXPECTED_APP_SETTINGS].sort());
    // Values come from the resources they describe, not from parameters a person types.
    const fromOutput = (name: string, output: string) => expect(settings.values[name]).toContain(`.outputs.${output}.value`);
    fromOutput('APPLICATIONINSIGHTS_CONNECTION_STRING', 'connectionString');
    fromOutput('AUDIT_CONTAINER_URL', 'auditContainerUrl');
    fromOutput('APPROVALS_TABLE_ENDPOINT', 'approvalsTableEndpoint');
    fromOutput('KEY_VAULT_URL', 'vaultUri');
    fromOutput('AZURE_CLIENT_ID', 'clientId');
    fromOutput('AZURE_IDENTITY_RESOURCE_ID', 'id');
    expect(settings.values.APPLICATIONINSIGHTS_AUTHENTICATION_STRING).toBe("[format('ClientId={0};Authorization=AAD', parameters('identityClientId'))]");
    expect(settings.values.KEY_VAULT_VERIFY_CHALLENGE_RESOURCE).toBe('true');
  });

  it('keeps infra/roles/sovereign-mcp-reader.json equal to the Reader role of the template', () => {
    const reader = JSON.parse(readFileSync('infra/roles/sovereign-mcp-reader.json', 'utf8'));
    expect({ actions: reader.Actions, dataActions: reader.DataActions }).toEqual({
      actions: role(set, 'Sovereign MCP Reader').actions,
      dataActions: role(set, 'Sovereign MCP Reader').dataActions,
    });
    expect(EXPECTED_ROLES['Sovereign MCP Reader']).toEqual({ actions: [...reader.Actions].sort(), dataActions: [...reader.DataActions].sort() });
  });

  it('assigns the Delete role, the approvals table and group creation only behind their switches', () => {
    const main = set.templates.get('infra/main.json');
    const groupAccess = resourceIn(set, 'group-access', 'Microsoft.Authorization/roleAssignments', (r) => String(r.properties.roleDefinitionId).includes('deleteRoleId'));
    expect(groupAccess.condition).toBe("[parameters('assignDeleteRole')]");
    const deployment = resourcesOf(main).find((r: Json) => r.properties?.templateLink?.relativePath === 'modules/group-access.json');
    expect(deployment.properties.parameters.assignDeleteRole.value).toBe("[parameters('enableDestructiveTools')]");
    expect(main.parameters.enableDestructiveTools.defaultValue).toBe(false);
    expect(appSettingsOf(set)!.values.APPROVALS_TABLE_ENDPOINT).toMatch(/^\[if\(parameters\('enableDestructiveTools'\), .*, ''\)\]$/);
    const subscription = resourcesOf(main).find((r: Json) => r.properties?.templateLink?.relativePath === 'modules/subscription-access.json');
    expect(subscription.condition).toBe("[parameters('enableGroupCreate')]");
    expect(main.parameters.enableGroupCreate.defaultValue).toBe(false);
    const apim = resourcesOf(main).find((r: Json) => r.properties?.templateLink?.relativePath === 'modules/api-management.json');
    expect(apim.condition).toBe("[parameters('enableApiManagement')]");
  });

  it('scopes the managed-group roles with one nested deployment per group, and policy on those groups and its own', () => {
    const main = set.templates.get('infra/main.json');
    const groupAccess = resourcesOf(main).find((r: Json) => r.properties?.templateLink?.relativePath === 'modules/group-access.json');
    expect(groupAccess.resourceGroup).toBe("[parameters('managedResourceGroups')[copyIndex()]]");
    expect(groupAccess.copy.count).toBe("[length(parameters('managedResourceGroups'))]");
    const policy = resourcesOf(main).find((r: Json) => r.properties?.templateLink?.relativePath === 'modules/policy.json');
    expect(policy.resourceGroup).toBe("[variables('policyResourceGroups')[copyIndex()]]");
    expect(main.variables.policyResourceGroups).toBe("[union(parameters('managedResourceGroups'), createArray(resourceGroup().name))]");
  });

  it('names every resource deterministically and declares every role definition with a deterministic guid', () => {
    for (const { resource } of allResources(set)) {
      expect(JSON.stringify(resource.name)).not.toMatch(/newGuid|utcNow/);
      if (resource.type === 'Microsoft.Authorization/roleDefinitions') expect(resource.name).toMatch(/^\[guid\(subscription\(\)\.id, parameters\('instanceId'\), '[a-z-]+'\)\]$/);
    }
  });
});

describe('infra template checks catch a broken invariant', () => {
  const storageAccount = (copy: TemplateSet) => resourceIn(copy, 'storage', 'Microsoft.Storage/storageAccounts');
  const site = (copy: TemplateSet) => resourceIn(copy, 'function-app', 'Microsoft.Web/sites');
  const vault = (copy: TemplateSet) => resourceIn(copy, 'keyvault', 'Microsoft.KeyVault/vaults');
  const mainDeployment = (copy: TemplateSet, module: string) =>
    resourcesOf(copy.templates.get('infra/main.json')).find((r: Json) => r.properties?.templateLink?.relativePath === `modules/${module}.json`);

  const cases: [string, (copy: TemplateSet) => void, string][] = [
    ['shared key access on', (c) => (storageAccount(c).properties.allowSharedKeyAccess = true), "storage account [parameters('hostStorageName')] allows shared key access"],
    ['platform-managed keys', (c) => (storageAccount(c).properties.encryption.keySource = 'Microsoft.Storage'), 'is not encrypted with a customer-managed key (keySource Microsoft.Keyvault)'],
    ['a pinned key version', (c) => (storageAccount(c).properties.encryption.keyvaultproperties.keyversion = 'abc'), 'pins a key version'],
    ['tables on Microsoft-managed keys', (c) => (storageAccount(c).properties.encryption.services.table.keyType = 'Service'), 'leaves table storage on Microsoft-managed keys'],
    ['public blob access', (c) => (storageAccount(c).properties.allowBlobPublicAccess = true), 'allows public blob access'],
    ['TLS 1.0 on storage', (c) => (storageAccount(c).properties.minimumTlsVersion = 'TLS1_0'), "storage account [parameters('hostStorageName')] allows TLS below 1.2"],
    ['plain HTTP on storage', (c) => (storageAccount(c).properties.supportsHttpsTrafficOnly = false), 'accepts plain HTTP'],
    [
      'a delete in the Operator role',
      (c) => role(c, 'Sovereign MCP Operator').actions.push('Microsoft.Storage/storageAccounts/delete'),
      'role Sovereign MCP Operator grants delete Microsoft.Storage/storageAccounts/delete outside the Sovereign MCP Delete role',
    ],
    ['a wildcard action', (c) => role(c, 'Sovereign MCP Reader').actions.push('*'), 'role Sovereign MCP Reader grants wildcard action *'],
    ['a wildcard data action', (c) => role(c, 'Sovereign MCP Platform').dataActions.push('Microsoft.Storage/*'), 'role Sovereign MCP Platform grants wildcard action Microsoft.Storage/*'],
    ['an authorization write', (c) => role(c, 'Sovereign MCP Operator').actions.push('Microsoft.Authorization/roleAssignments/write'), 'role Sovereign MCP Operator grants Microsoft.Authorization write Microsoft.Authorization/roleAssignments/write'],
    ['a role missing what a tool declares', (c) => role(c, 'Sovereign MCP Reader').actions.pop(), 'role Sovereign MCP Reader differs from what the tools declare: missing [Microsoft.Storage/storageAccounts/read]'],
    [
      'a location outside the UK allowed',
      (c) => c.templates.get('infra/main.json').parameters.location.allowedValues.push('eastus'),
      'infra/main.json: parameter location allows regions outside the UK: eastus',
    ],
    ['a hard-coded region', (c) => (vault(c).location = 'westeurope'), 'has location westeurope, not the location parameter or a UK region'],
    ['a region named anywhere', (c) => (c.templates.get('infra/modules/identity.json').parameters.tags.defaultValue = { region: 'North Europe' }), 'names the region North Europe, outside the UK'],
    ['a key that is not RSA', (c) => (c.templates.get('infra/modules/keyvault.json').parameters.keyType.allowedValues = ['RSA', 'EC']), 'is not an RSA 3072 key'],
    [
      'a missing diagnostic setting',
      (c) => {
        const template = c.templates.get('infra/modules/keyvault.json');
        template.resources = template.resources.filter((r: Json) => r.type !== 'Microsoft.Insights/diagnosticSettings');
      },
      "infra/modules/keyvault.json: Microsoft.KeyVault/vaults [parameters('vaultName')] has no diagnostic setting sending to the workspace",
    ],
    [
      'a table service without its diagnostic setting',
      (c) => {
        const template = c.templates.get('infra/modules/storage.json');
        template.resources = template.resources.filter((r: Json) => !(r.type === 'Microsoft.Insights/diagnosticSettings' && String(r.scope).includes('tableServices')));
      },
      'Microsoft.Storage/storageAccounts/tableServices',
    ],
    [
      'the immutability policy dropped',
      (c) => {
        const template = c.templates.get('infra/modules/storage.json');
        template.resources = template.resources.filter((r: Json) => !r.type.endsWith('/immutabilityPolicies'));
      },
      'has no immutability (WORM) policy',
    ],
    [
      'appends refused by the immutability policy',
      (c) => (resourceIn(c, 'storage', 'Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies').properties.allowProtectedAppendWrites = false),
      'immutability policy does not allow appends',
    ],
    ['FTP on', (c) => (site(c).properties.siteConfig.ftpsState = 'AllAllowed'), 'allows FTP'],
    ['HTTP allowed on the app', (c) => (site(c).properties.httpsOnly = false), 'is not HTTPS only'],
    ['TLS 1.0 on the app', (c) => (site(c).properties.siteConfig.minTlsVersion = '1.0'), "function app [parameters('functionAppName')] allows TLS below 1.2"],
    ['remote debugging on', (c) => (site(c).properties.siteConfig.remoteDebuggingEnabled = true), 'has remote debugging on'],
    [
      'basic publishing credentials on',
      (c) => (resourceIn(c, 'function-app', 'Microsoft.Web/sites/basicPublishingCredentialsPolicies', (r) => r.name.includes('/scm')).properties.allow = true),
      'allows basic publishing credentials (scm)',
    ],
    [
      'another path open without authentication',
      (c) => c.templates.get('infra/modules/function-app.json').variables.unauthenticatedPaths.push('/mcp'),
      'App Service Authentication must exclude exactly',
    ],
    [
      'App Service Authentication letting anonymous requests through',
      (c) => (resourceIn(c, 'function-app', 'Microsoft.Web/sites/config').properties.globalValidation.unauthenticatedClientAction = 'AllowAnonymous'),
      'does not answer 401',
    ],
    ['Key Vault without purge protection', (c) => (vault(c).properties.enablePurgeProtection = false), 'has no purge protection'],
    ['Key Vault with access policies', (c) => (vault(c).properties.enableRbacAuthorization = false), 'does not use RBAC authorization'],
    ['a key that never rotates', (c) => (resourceIn(c, 'keyvault', 'Microsoft.KeyVault/vaults/keys').properties.rotationPolicy.lifetimeActions = []), 'is not rotated before it expires'],
    ['Application Insights with keys', (c) => (resourceIn(c, 'monitoring', 'Microsoft.Insights/components').properties.DisableLocalAuth = false), 'allows local (key) authentication'],
    [
      'an app setting the app reads left out',
      (c) => delete mainDeployment(c, 'function-app').properties.parameters.appSettings.value.KEY_VAULT_URL,
      'app setting KEY_VAULT_URL is not set by the template',
    ],
    [
      'host storage by connection string',
      (c) => (mainDeployment(c, 'function-app').properties.parameters.appSettings.value.AzureWebJobsStorage = 'DefaultEndpointsProtocol=https;AccountName=x;AccountKey=y'),
      'AzureWebJobsStorage must be identity-based',
    ],
    ['storage before the key permission', (c) => (mainDeployment(c, 'storage').dependsOn = mainDeployment(c, 'storage').dependsOn.filter((d: string) => !d.includes('keyVault'))), 'does not depend on the one granting Key Vault Crypto Service Encryption User'],
    [
      'a saved search out of step with its .kql file',
      (c) => (resourceIn(c, 'monitoring', 'Microsoft.OperationalInsights/workspaces/savedSearches').properties.query += '\n| take 1'),
      'differs from infra/kql/',
    ],
    [
      'the audit query saved without its function alias',
      (c) => delete resourceIn(c, 'monitoring', 'Microsoft.OperationalInsights/workspaces/savedSearches', (r) => r.name.includes('audit-records')).properties.functionAlias,
      'should be the function SovereignMcpAudit',
    ],
    [
      'locations policy allowing another region',
      (c) => (c.templates.get('infra/modules/policy.json').variables.ukRegions = ['uksouth', 'ukwest', 'francecentral']),
      'no Allowed locations policy assignment restricted to uksouth and ukwest',
    ],
    [
      'the storage CMK audit dropped',
      (c) => {
        const template = c.templates.get('infra/modules/policy.json');
        template.resources = template.resources.filter((r: Json) => !r.name.includes('storage-cmk'));
        delete template.variables.storageCmkPolicyId;
      },
      'no policy assignment auditing storage accounts without a customer-managed key',
    ],
    [
      'a privileged built-in role assigned',
      (c) => (resourceIn(c, 'app-access', 'Microsoft.Authorization/roleAssignments').properties.roleDefinitionId = "[subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '8e3af657-a8ff-443c-a75c-2fe8c4bcb635')]"),
      'assigns the privileged built-in role Owner',
    ],
    [
      'the gateway accepting TLS 1.1',
      (c) => (resourceIn(c, 'api-management', 'Microsoft.ApiManagement/service').properties.customProperties['Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Protocols.Tls11'] = 'True'),
      'allows Tls11 (TLS below 1.2)',
    ],
    [
      'the gateway logging bodies',
      (c) => (resourceIn(c, 'api-management', 'Microsoft.ApiManagement/service/apis/diagnostics').properties.frontend.request.body.bytes = 8192),
      'API Management logs frontend request bodies',
    ],
    [
      'the gateway without token validation',
      (c) => {
        const variables = c.templates.get('infra/modules/api-management.json').variables;
        variables.apiPolicyTemplate = variables.apiPolicyTemplate.replace(/<validate-azure-ad-token[\s\S]*?<\/validate-azure-ad-token>/, '');
      },
      'does not validate the Entra token',
    ],
    ['a parameter without a description', (c) => delete c.templates.get('infra/modules/storage.json').parameters.skuName.metadata, 'infra/modules/storage.json: parameter skuName has no metadata.description'],
    [
      'an unused parameter',
      (c) => (c.templates.get('infra/main.json').parameters.spare = { type: 'string', defaultValue: '', metadata: { description: 'Not used.' } }),
      'infra/main.json: parameter spare is never used',
    ],
    [
      'a module given a parameter it does not declare',
      (c) => (mainDeployment(c, 'identity').properties.parameters.colour = { value: 'blue' }),
      'deployment of infra/modules/identity.json passes unknown parameter colour',
    ],
    [
      'a reference to an undeclared variable',
      (c) => (site(c).properties.httpsOnly = "[variables('nowhere')]"),
      'refers to undeclared variable nowhere',
    ],
    [
      'a resource type nobody classified for diagnostics',
      (c) => c.templates.get('infra/modules/identity.json').resources.push({ type: 'Microsoft.Sql/servers', apiVersion: '2023-08-01', name: "[parameters('identityName')]", location: "[parameters('location')]" }),
      'resource type Microsoft.Sql/servers is not classified in DIAGNOSTIC_SETTINGS',
    ],
  ];

  it.each(cases)('fails on %s', (_, change, message) => {
    // Joined, so a failure prints every violation found next to the one expected.
    expect(violationsAfter(change).join('\n')).toContain(message);
  });

  it('reads the name forms of the templates the way Resource Manager does', () => {
    expect(expressionOf("[parameters('x')]")).toBe("parameters('x')");
    expect(expressionOf('[[literal]')).toBeUndefined();
    expect(expressionOf('plain')).toBeUndefined();
  });
});
