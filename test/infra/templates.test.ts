import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { allResources, cloneSet, loadTemplateSet, resourcesOf, type Json, type TemplateSet } from './templates.js';
import { appSettingsOf, checkTemplates, expressionOf } from './template-checks.js';
import { actionScopeOf, checkContext, EXPECTED_APP_SETTINGS, EXPECTED_ROLES, PLATFORM_ROLES, roleFor, TOOL_ROLES } from './expectations.js';
import { checkTokenValidation, mainFor, renderGatewayPolicies, SAMPLE_CLIENT_ID, SAMPLE_GATEWAY_ADDRESSES, SAMPLE_SCOPE, SAMPLES } from './deployment-checks.js';
import { parseXml } from './xml.js';
import { TOOLS } from '../../shared/tools/registry.js';
import { requiredPermissions } from '../../dev/role-actions.js';
import { APP_NODE_OPTIONS, appNodeOptions } from '../../dev/app-node-options.js';

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
  'policy-definitions',
  'group-access',
  'app-access',
  'subscription-access',
  'policy',
  'api-management-service',
  'api-management',
  'alerts',
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
    // The worker's heap options: half the instance for the old space, as local processes of the app run with for the
    // smallest instance (dev/app-node-options.ts). ARM's format() is read here for each instance size it allows.
    // linear: anchored, literal text around one class run that excludes its closing quote.
    const [, format] = /^\[format\('([^']*)', div\(parameters\('instanceMemoryMB'\), 2\)\)\]$/.exec(String(settings.values.NODE_OPTIONS)) ?? [];
    const sizes: number[] = set.templates.get('infra/modules/function-app.json')?.parameters?.instanceMemoryMB?.allowedValues ?? [];
    expect(sizes).toContain(512);
    for (const size of sizes) expect(format?.replace('{0}', String(size / 2))).toBe(appNodeOptions(size));
    expect(appNodeOptions(512).split(' ')).toEqual(APP_NODE_OPTIONS);
  });

  it('keeps the standalone read roles in infra/roles equal to the template and, together, to what the read tools declare', () => {
    const file = (name: string) => JSON.parse(readFileSync(`infra/roles/${name}`, 'utf8'));
    const reader = file('sovereign-mcp-reader.json');
    const keyReader = file('sovereign-mcp-key-reader.json');
    const permissions = (label: string) => ({ actions: role(set, label).actions, dataActions: role(set, label).dataActions });
    expect({ actions: reader.Actions, dataActions: reader.DataActions }).toEqual(permissions('Sovereign MCP Reader'));
    expect({ actions: keyReader.Actions, dataActions: keyReader.DataActions }).toEqual(permissions('Sovereign MCP Key Reader'));
    const union = (...lists: string[][]) => [...new Set(lists.flat())].sort();
    expect({ actions: union(reader.Actions, keyReader.Actions), dataActions: union(reader.DataActions, keyReader.DataActions) }).toEqual(requiredPermissions(TOOLS, ['read']));
    for (const definition of [reader, keyReader]) expect(definition.AssignableScopes.every((scope: string) => scope.includes('/resourceGroups/'))).toBe(true);
  });

  it('puts every action a tool declares in exactly the role for its tier and scope, and no role holds more than the tools declare', () => {
    const template = new Map(
      resourcesOf(set.templates.get('infra/modules/roles.json'))
        .filter((r: Json) => r.type === 'Microsoft.Authorization/roleDefinitions')
        .map((r: Json) => [/format\('([^'(]+?)\s*\(/.exec(r.properties.roleName)![1]!, r.properties.permissions[0]]),
    );
    for (const tool of TOOLS) {
      for (const [kind, actions] of [['actions', tool.azurePermissions.actions], ['dataActions', tool.azurePermissions.dataActions]] as const) {
        for (const action of actions) {
          const owner = roleFor(tool.risk, action);
          expect({ tool: tool.name, action, in: template.get(owner)?.[kind]?.includes(action) }).toEqual({ tool: tool.name, action, in: true });
          // Key Vault and identity rights never sit in a role that is assigned on whole resource groups.
          if (actionScopeOf(action) !== 'managed groups') {
            for (const groupRole of ['Sovereign MCP Reader', 'Sovereign MCP Operator', 'Sovereign MCP Delete']) expect(template.get(groupRole)[kind]).not.toContain(action);
          }
        }
      }
    }
    const declared = requiredPermissions(TOOLS, ['read', 'write', 'destructive']);
    const roles = Object.entries(EXPECTED_ROLES).filter(([label]) => !PLATFORM_ROLES.includes(label));
    const union = (pick: (r: { actions: readonly string[]; dataActions: readonly string[] }) => readonly string[]) => [...new Set(roles.flatMap(([, r]) => pick(r)))].sort();
    expect({ actions: union((r) => r.actions), dataActions: union((r) => r.dataActions) }).toEqual(declared);
    expect(Object.keys(TOOL_ROLES).sort()).toEqual(
      ['Sovereign MCP Reader', 'Sovereign MCP Key Reader', 'Sovereign MCP Operator', 'Sovereign MCP Key Operator', 'Sovereign MCP Identity Assigner', 'Sovereign MCP Delete'].sort(),
    );
  });

  it('renders the gateway policy as well-formed XML: validate-jwt without client apps (the default), validate-azure-ad-token with them', () => {
    const main = set.templates.get('infra/main.json');
    expect(main.parameters.authAllowedClientApps.defaultValue).toEqual([]);
    const audiences = [SAMPLE_CLIENT_ID, `api://${SAMPLE_CLIENT_ID}`];
    // The default parameters: only what has no default is given.
    const defaults = renderGatewayPolicies(set, { entraClientId: SAMPLE_CLIENT_ID, managedResourceGroups: ['rg-one'] });
    const jwt = parseXml(defaults.api);
    expect(jwt.name).toBe('policies');
    expect(defaults.api).toContain('<validate-jwt ');
    expect(defaults.api).not.toContain('<validate-azure-ad-token');
    expect(defaults.api).toContain(`<openid-config url="https://login.microsoftonline.com/${SAMPLE_SCOPE.tenantId}/v2.0/.well-known/openid-configuration" />`);
    expect(defaults.api).toContain(`<issuer>https://login.microsoftonline.com/${SAMPLE_SCOPE.tenantId}/v2.0</issuer>`);
    expect(checkTokenValidation(defaults.api, { tenantId: SAMPLE_SCOPE.tenantId, audiences, clientApps: [] })).toEqual([]);

    const apps = ['c11e0000-0000-4000-8000-0000000000a1'];
    const listed = renderGatewayPolicies(set, { entraClientId: SAMPLE_CLIENT_ID, managedResourceGroups: ['rg-one'], authAllowedClientApps: apps });
    parseXml(listed.api);
    expect(listed.api).toContain(`<client-application-ids><application-id>${apps[0]}</application-id></client-application-ids>`);
    expect(listed.api).not.toContain('<validate-jwt');
    expect(checkTokenValidation(listed.api, { tenantId: SAMPLE_SCOPE.tenantId, audiences, clientApps: apps })).toEqual([]);
    // Each policy is a whole document, and the anonymous routes' policy skips the token validation only for them.
    for (const xml of Object.values(listed.operationPolicies)) expect(parseXml(xml).name).toBe('policies');
  });

  it('refuses XML that is not well-formed', () => {
    expect(() => parseXml('<a><b></a></b>')).toThrow(/closes/);
    expect(() => parseXml('<a x=1/>')).toThrow(/not quoted/);
    expect(() => parseXml('<a>fish & chips</a>')).toThrow(/bare '&'/);
    expect(() => parseXml('<a/><b/>')).toThrow(/after the root/);
    expect(parseXml('<a x="&quot;1&quot;"><!-- c --><b>t&amp;u</b></a>').children[0]!.text).toBe('t&u');
  });

  it('assigns the Delete role, the approvals table and group creation only behind their switches', () => {
    const main = set.templates.get('infra/main.json');
    const groupAccess = resourceIn(set, 'group-access', 'Microsoft.Authorization/roleAssignments', (r) => String(r.properties.roleDefinitionId).includes('deleteRoleId'));
    expect(groupAccess.condition).toBe("[and(parameters('assignDeleteRole'), not(parameters('readOnly')))]");
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

  it("admits behind the gateway exactly its instance's outbound addresses, deploying the gateway service before the app", () => {
    const siteOf = (parameters: Record<string, unknown>) => {
      const app = mainFor(set, parameters)
        .tree()
        .flatMap((instance) => instance.resources())
        .find((r) => r.active && r.resource.type === 'Microsoft.Web/sites')!;
      const config = app.resource.properties.siteConfig;
      return {
        rules: (app.evaluate(config.ipSecurityRestrictions) as Json[]).map((rule) => `${rule.action} ${rule.tag} ${rule.ipAddress}`),
        defaultAction: app.evaluate(config.ipSecurityRestrictionsDefaultAction),
        scm: [config.scmIpSecurityRestrictionsUseMain, config.scmIpSecurityRestrictionsDefaultAction],
      };
    };
    const everySwitchOn = SAMPLES.find((sample) => sample.label === 'every switch on')!.parameters;
    expect(siteOf(everySwitchOn)).toEqual({
      rules: SAMPLE_GATEWAY_ADDRESSES.map((address) => `Allow Default ${address}/32`),
      defaultAction: 'Deny',
      scm: [false, 'Allow'],
    });
    expect(siteOf(SAMPLES[0]!.parameters)).toEqual({ rules: [], defaultAction: 'Allow', scm: [false, 'Allow'] });
    // The service (whose addresses the app reads) before the app; the API (which forwards to the app's host) after it.
    const main = set.templates.get('infra/main.json');
    const deployment = (module: string) => resourcesOf(main).find((r: Json) => r.properties?.templateLink?.relativePath === `modules/${module}.json`);
    expect(deployment('api-management-service').condition).toBe("[parameters('enableApiManagement')]");
    expect(deployment('api-management-service').dependsOn.join()).not.toContain('functionApp');
    expect(deployment('function-app').dependsOn).toContain("[resourceId('Microsoft.Resources/deployments', variables('deployments').apiManagementService)]");
    expect(deployment('api-management').dependsOn).toContain("[resourceId('Microsoft.Resources/deployments', variables('deployments').functionApp)]");
    expect(set.templates.get('infra/modules/api-management-service.json').outputs.outboundAddresses.value).toBe(
      "[reference(resourceId('Microsoft.ApiManagement/service', parameters('apimName')), '2024-05-01').publicIPAddresses]",
    );
  });

  it('scopes the managed-group roles with one nested deployment per group, and policy on those groups and its own', () => {
    const main = set.templates.get('infra/main.json');
    const groupAccess = resourcesOf(main).find((r: Json) => r.properties?.templateLink?.relativePath === 'modules/group-access.json');
    // A copy for the app's own group is sent to a group that does not exist, so such a deployment fails.
    expect(groupAccess.resourceGroup).toBe(
      "[if(equals(toLower(parameters('managedResourceGroups')[copyIndex()]), toLower(resourceGroup().name)), variables('appGroupGuard'), parameters('managedResourceGroups')[copyIndex()])]",
    );
    expect(main.variables.appGroupGuard).toMatch(/^ERROR-/);
    expect(groupAccess.copy.count).toBe("[length(parameters('managedResourceGroups'))]");
    const policy = resourcesOf(main).find((r: Json) => r.properties?.templateLink?.relativePath === 'modules/policy.json');
    expect(policy.resourceGroup).toBe("[variables('policyResourceGroups')[copyIndex()]]");
    expect(main.variables.policyResourceGroups).toBe("[union(parameters('managedResourceGroups'), createArray(resourceGroup().name))]");
  });

  it('names every resource deterministically and declares every role definition with a deterministic guid', () => {
    for (const { resource } of allResources(set)) {
      expect(JSON.stringify(resource.name)).not.toMatch(/newGuid|utcNow/);
      if (resource.type === 'Microsoft.Authorization/roleDefinitions') expect(resource.name).toMatch(/^\[guid\(subscription\(\)\.id, parameters\('instanceId'\), '[a-z-]+'\)\]$/);
      if (resource.type === 'Microsoft.Authorization/policyDefinitions') expect(resource.name).toBe("[variables('storageCmkDenyName')]");
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
      'an alert rule switched off',
      (c) => (resourceIn(c, 'alerts', 'Microsoft.Insights/scheduledQueryRules').properties.enabled = false),
      'alert rule sovereign-mcp-injection-then-change is disabled',
    ],
    [
      'an alert rule left out',
      (c) => {
        const alerts = c.templates.get('infra/modules/alerts.json');
        alerts.resources = alerts.resources.filter((r: Json) => r.name !== 'sovereign-mcp-denial-burst');
      },
      'no log alert rule for infra/kql/alerts/denial-burst.kql',
    ],
    [
      'an alert rule that notifies nobody',
      (c) => (resourceIn(c, 'alerts', 'Microsoft.Insights/scheduledQueryRules').properties.actions.actionGroups = []),
      'notifies no action group',
    ],
    [
      'an alert query out of step with its .kql file',
      (c) => (c.templates.get('infra/modules/alerts.json').variables.alertQueries['denial-burst'] += '\n| take 1'),
      'its query differs from infra/kql/alerts/denial-burst.kql',
    ],
    [
      'the identity rule without the app identity',
      (c) => {
        const rule = resourceIn(c, 'alerts', 'Microsoft.Insights/scheduledQueryRules', (r) => r.name === 'sovereign-mcp-identity-without-audit');
        rule.properties.criteria.allOf[0].query = "[variables('alertQueries')['identity-without-audit']]";
      },
      "does not put the app's principal id into its query",
    ],
    [
      'an alert that resolves itself',
      (c) => (resourceIn(c, 'alerts', 'Microsoft.Insights/scheduledQueryRules').properties.autoMitigate = true),
      'resolves itself',
    ],
    [
      'Sentinel rules deployed without the switch',
      (c) => (resourceIn(c, 'alerts', 'Microsoft.SecurityInsights/alertRules').condition = true),
      'does not follow enableSentinel',
    ],
    [
      'an action group without the receivers',
      (c) => (resourceIn(c, 'alerts', 'Microsoft.Insights/actionGroups').properties = { groupShortName: 'x', enabled: true }),
      'does not notify the alertEmailAddresses receivers',
    ],
    [
      'a global resource that could be regional',
      (c) => (resourceIn(c, 'alerts', 'Microsoft.Insights/scheduledQueryRules').location = 'global'),
      'has location global, not the location parameter or a UK region',
    ],
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
      (c) => (c.templates.get('infra/modules/api-management-service.json').variables.classicTierSecurity['Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Protocols.Tls11'] = 'True'),
      'API Management Developer allows Tls11 (TLS below 1.2)',
    ],
    [
      'cipher settings sent to a v2 tier',
      (c) => (resourceIn(c, 'api-management-service', 'Microsoft.ApiManagement/service').properties.customProperties = "[variables('classicTierSecurity')]"),
      'API Management sets protocol and cipher settings (customProperties) on BasicV2, which does not support changing them',
    ],
    [
      'a tier the TLS check does not know',
      (c) => c.templates.get('infra/modules/api-management-service.json').parameters.skuName.allowedValues.push('Basic'),
      'API Management tier Basic is not known to the TLS check',
    ],
    [
      'a rate-limit period longer than rate-limit-by-key accepts',
      (c) => delete c.templates.get('infra/main.json').parameters.apiManagementRateLimitPeriodSeconds.maxValue,
      'infra/main.json: parameter apiManagementRateLimitPeriodSeconds must have maxValue 300 or less',
    ],
    [
      "the gateway module's rate-limit period above 300 seconds",
      (c) => (c.templates.get('infra/modules/api-management.json').parameters.rateLimitPeriodSeconds.maxValue = 3600),
      'infra/modules/api-management.json: parameter rateLimitPeriodSeconds must have maxValue 300 or less',
    ],
    [
      'validate-azure-ad-token without client application ids',
      (c) => {
        const variables = c.templates.get('infra/modules/api-management.json').variables;
        variables.validateAzureAdTokenTemplate = variables.validateAzureAdTokenTemplate.replace(/<client-application-ids>.*<\/client-application-ids>/, '');
      },
      'validate-azure-ad-token has no <client-application-ids>',
    ],
    [
      'validate-azure-ad-token for the default (empty) client-app list',
      (c) => (c.templates.get('infra/modules/api-management.json').variables.tokenValidation = "[replace(variables('validateAzureAdTokenTemplate'), '__CLIENT_APPLICATION_IDS__', variables('clientApplicationIdsXml'))]"),
      'with the gateway without a client-app list: without client applications, the API policy must validate the token with exactly one validate-jwt',
    ],
    [
      'validate-jwt trusting another issuer',
      (c) => {
        const variables = c.templates.get('infra/modules/api-management.json').variables;
        variables.validateJwtTemplate = variables.validateJwtTemplate.replace('<issuer>__ISSUER__</issuer>', '<issuer>https://sts.windows.net/__TENANT_ID__/</issuer>');
      },
      'validate-jwt accepts issuers [https://sts.windows.net/',
    ],
    [
      'a gateway policy that is not well-formed XML',
      (c) => {
        const variables = c.templates.get('infra/modules/api-management.json').variables;
        variables.validateJwtTemplate = variables.validateJwtTemplate.replace('</issuers>', '');
      },
      'the API policy is not well-formed XML',
    ],
    [
      'the gateway letting /mcp through without a token',
      (c) => c.templates.get('infra/modules/api-management.json').variables.anonymousOperations.push({ name: 'mcp-open', displayName: 'MCP', method: 'GET', urlTemplate: '/mcp', templateParameters: [] }),
      'API Management lets GET /mcp through without token validation',
    ],
    [
      'the gateway without GET /mcp (a gateway 404 instead of the server\'s 405)',
      (c) => {
        const apim = c.templates.get('infra/modules/api-management.json');
        apim.variables.validatedOperations = apim.variables.validatedOperations.filter((o: Json) => o.name !== 'mcp-get');
      },
      'API Management has no operation for GET /mcp',
    ],
    [
      'approval pages open at the gateway and excluded from App Service Authentication',
      (c) => c.templates.get('infra/modules/function-app.json').variables.unauthenticatedPaths.push('/approvals'),
      'API Management lets /approvals/{id} through without a token and App Service Authentication excludes /approvals',
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
        variables.apiPolicyTemplate = variables.apiPolicyTemplate.replace('__TOKEN_VALIDATION__', '');
      },
      'the API policy must validate the token with exactly one validate-azure-ad-token',
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
    // The audit container's immutability policy and its lock.
    [
      'the immutability policy conditioned on something else',
      (c) => (resourceIn(c, 'storage', 'Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies').condition = "[parameters('protectAuditStorage')]"),
      "immutability policy is conditioned on [parameters('protectAuditStorage')], not only [not(parameters('auditImmutabilityLocked'))]",
    ],
    [
      'the immutability policy locked by default',
      (c) => (c.templates.get('infra/main.json').parameters.auditImmutabilityLocked.defaultValue = true),
      'parameter auditImmutabilityLocked must default to false',
    ],
    [
      'the immutability policy written after it is locked',
      (c) => delete resourceIn(c, 'storage', 'Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies').condition,
      "with auditImmutabilityLocked true, the audit container's immutability policy is still written",
    ],
    // Least privilege: Key Vault and identity rights only on the vault and the identity.
    [
      'a Key Vault data action in a role assigned on resource groups',
      (c) => role(c, 'Sovereign MCP Reader').dataActions.push('Microsoft.KeyVault/vaults/keys/read'),
      'role Sovereign MCP Reader differs from what the tools declare: missing [], extra [Microsoft.KeyVault/vaults/keys/read]',
    ],
    [
      'identity assignment in the Operator role',
      (c) => role(c, 'Sovereign MCP Operator').actions.push('Microsoft.ManagedIdentity/userAssignedIdentities/assign/action'),
      'role Sovereign MCP Operator differs from what the tools declare: missing [], extra [Microsoft.ManagedIdentity/userAssignedIdentities/assign/action]',
    ],
    [
      'the Key Reader assigned on the whole app resource group',
      (c) => delete resourceIn(c, 'app-access', 'Microsoft.Authorization/roleAssignments', (r) => r.properties.roleDefinitionId.includes('keyReaderRoleId')).scope,
      `the deployment assigns Sovereign MCP Key Reader on /subscriptions/${SAMPLE_SCOPE.subscriptionId}/resourcegroups/rg-sovmcp-app to app, which ROLE_GRANTS does not allow`,
    ],
    [
      'the Identity Assigner assigned on another identity',
      (c) => (resourceIn(c, 'app-access', 'Microsoft.Authorization/roleAssignments', (r) => r.properties.roleDefinitionId.includes('identityAssignerRoleId')).scope = "[format('Microsoft.ManagedIdentity/userAssignedIdentities/{0}', 'id-someone-else')]"),
      'assigns Sovereign MCP Identity Assigner on',
    ],
    [
      'a custom role assignable on the whole subscription',
      (c) => (resourceIn(c, 'roles', 'Microsoft.Authorization/roleDefinitions', (r) => r.properties.roleName.includes("'Sovereign MCP Key Reader (")).properties.assignableScopes = '[createArray(subscription().id)]'),
      'role Sovereign MCP Key Reader is assignable on the whole subscription',
    ],
    [
      'the Key Operator assignable in the managed groups',
      (c) => (resourceIn(c, 'roles', 'Microsoft.Authorization/roleDefinitions', (r) => r.properties.roleName.includes("'Sovereign MCP Key Operator (")).properties.assignableScopes = "[parameters('managedResourceGroupIds')]"),
      'role Sovereign MCP Key Operator is assignable on [',
    ],
    // Protected groups and the app's own group.
    [
      'the Operator role in a protected group',
      (c) => delete resourceIn(c, 'group-access', 'Microsoft.Authorization/roleAssignments', (r) => r.properties.roleDefinitionId.includes('operatorRoleId')).condition,
      `the deployment assigns Sovereign MCP Operator on /subscriptions/${SAMPLE_SCOPE.subscriptionId}/resourcegroups/rg-locked to app`,
    ],
    [
      'the Delete role in a protected group',
      (c) => (resourceIn(c, 'group-access', 'Microsoft.Authorization/roleAssignments', (r) => r.properties.roleDefinitionId.includes('deleteRoleId')).condition = "[parameters('assignDeleteRole')]"),
      `the deployment assigns Sovereign MCP Delete on /subscriptions/${SAMPLE_SCOPE.subscriptionId}/resourcegroups/rg-locked to app`,
    ],
    [
      'the Delete role assignable in the app group',
      (c) => (resourceIn(c, 'roles', 'Microsoft.Authorization/roleDefinitions', (r) => r.properties.roleName.includes("'Sovereign MCP Delete (")).properties.assignableScopes = "[union(parameters('writableResourceGroupIds'), createArray(parameters('appResourceGroupId')))]"),
      'role Sovereign MCP Delete is assignable on [',
    ],
    [
      "the app's own group accepted as a managed group",
      (c) => (mainDeployment(c, 'group-access').resourceGroup = "[parameters('managedResourceGroups')[copyIndex()]]"),
      "listing the app's own resource group in managedResourceGroups does not make the deployment fail",
    ],
    [
      "the group roles assignable in the app's own group when it is listed",
      (c) => (c.templates.get('infra/main.json').variables.managedResourceGroupIds = "[map(parameters('managedResourceGroups'), lambda('group', format('{0}/resourceGroups/{1}', subscription().id, lambdaVariables('group'))))]"),
      "role Sovereign MCP Reader is assignable in the app's own resource group when it is listed as managed",
    ],
    // Built-in roles: an allow-list, each on its one resource.
    [
      'a built-in role outside the allow-list',
      (c) => (resourceIn(c, 'app-access', 'Microsoft.Authorization/roleAssignments', (r) => r.name.includes('hostStorageName')).properties.roleDefinitionId = "[subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'ba92f5b4-2d11-453d-a403-e96b0029c9fe')]"),
      'which is neither a Sovereign MCP role nor an allowed built-in role',
    ],
    [
      'Storage Blob Data Owner on the audit account',
      (c) => (resourceIn(c, 'app-access', 'Microsoft.Authorization/roleAssignments', (r) => r.name.includes('hostStorageName')).scope = "[format('Microsoft.Storage/storageAccounts/{0}', parameters('dataStorageName'))]"),
      'the deployment assigns Storage Blob Data Owner on /subscriptions/',
    ],
    [
      'Key Vault Crypto Service Encryption User on the resource group',
      (c) => delete resourceIn(c, 'keyvault', 'Microsoft.Authorization/roleAssignments').scope,
      `the deployment assigns Key Vault Crypto Service Encryption User on /subscriptions/${SAMPLE_SCOPE.subscriptionId}/resourcegroups/rg-sovmcp-app to app`,
    ],
    // Dangerous actions, wherever they are.
    ['reading storage keys', (c) => role(c, 'Sovereign MCP Operator').actions.push('Microsoft.Storage/storageAccounts/listKeys/action'), 'role Sovereign MCP Operator grants the dangerous action Microsoft.Storage/storageAccounts/listKeys/action (*/listKeys/action)'],
    ['regenerating keys', (c) => role(c, 'Sovereign MCP Platform').actions.push('Microsoft.Storage/storageAccounts/regeneratekey/action'), 'grants the dangerous action Microsoft.Storage/storageAccounts/regeneratekey/action'],
    ['minting an account SAS', (c) => role(c, 'Sovereign MCP Reader').actions.push('Microsoft.Storage/storageAccounts/ListAccountSas/action'), 'grants the dangerous action Microsoft.Storage/storageAccounts/ListAccountSas/action'],
    ['minting a service SAS', (c) => role(c, 'Sovereign MCP Key Operator').actions.push('Microsoft.Storage/storageAccounts/listServiceSas/action'), 'grants the dangerous action Microsoft.Storage/storageAccounts/listServiceSas/action'],
    ['reading role assignments', (c) => role(c, 'Sovereign MCP Reader').actions.push('Microsoft.Authorization/roleAssignments/read'), 'grants the dangerous action Microsoft.Authorization/roleAssignments/read (Microsoft.Authorization/*)'],
    // Policy: enforced, and storage without a customer-managed key denied.
    [
      'a policy assignment that does not enforce',
      (c) => (resourceIn(c, 'policy', 'Microsoft.Authorization/policyAssignments', (r) => r.name.includes('uk-only')).properties.enforcementMode = 'DoNotEnforce'),
      "infra/modules/policy.json: policy assignment [format('{0}-uk-only', parameters('baseName'))] is not enforced (enforcementMode DoNotEnforce)",
    ],
    [
      'the storage CMK deny not enforced',
      (c) => (resourceIn(c, 'policy', 'Microsoft.Authorization/policyAssignments', (r) => r.name.includes('storage-cmk-deny')).properties.enforcementMode = 'DoNotEnforce'),
      'resource group /subscriptions/',
    ],
    [
      'the storage CMK deny dropped',
      (c) => {
        const template = c.templates.get('infra/modules/policy.json');
        template.resources = template.resources.filter((r: Json) => !r.name.includes('storage-cmk-deny'));
      },
      `resource group /subscriptions/${SAMPLE_SCOPE.subscriptionId}/resourceGroups/rg-one has no enforced (enforcementMode Default) assignment of a policy denying storage accounts without a customer-managed key`,
    ],
    [
      'the storage CMK policy only auditing',
      (c) => (resourceIn(c, 'policy-definitions', 'Microsoft.Authorization/policyDefinitions').properties.policyRule.then.effect = 'audit'),
      'has no enforced (enforcementMode Default) assignment of a policy denying storage accounts without a customer-managed key',
    ],
    [
      'the storage CMK deny on the wrong alias',
      (c) => (resourceIn(c, 'policy-definitions', 'Microsoft.Authorization/policyDefinitions').properties.policyRule.if.allOf[1].field = 'Microsoft.Storage/storageAccounts/encryption.requireInfrastructureEncryption'),
      'has no enforced (enforcementMode Default) assignment of a policy denying storage accounts without a customer-managed key',
    ],
    // The Function App behind the gateway, and App Service Authentication.
    [
      'the app reachable around the gateway',
      (c) => (site(c).properties.siteConfig.ipSecurityRestrictionsDefaultAction = 'Allow'),
      'with every switch on: behind API Management, the Function App accepts traffic from outside the gateway (ipSecurityRestrictionsDefaultAction Allow, not Deny)',
    ],
    [
      'the app admitting the ApiManagement service tag again',
      (c) =>
        (c.templates.get('infra/modules/function-app.json').variables.gatewayOnly =
          "[createArray(createObject('name', 'api-management', 'action', 'Allow', 'tag', 'ServiceTag', 'ipAddress', 'ApiManagement', 'priority', 100))]"),
      "with every switch on: behind API Management, the Function App admits the service tag ApiManagement: the ApiManagement tag covers the control plane, not the gateway's calls to the app",
    ],
    [
      'the app admitting the service tag beside the gateway',
      (c) =>
        (site(c).properties.siteConfig.ipSecurityRestrictions =
          "[if(parameters('behindApiManagement'), concat(variables('gatewayOnly'), createArray(createObject('name', 'azure', 'action', 'Allow', 'tag', 'ServiceTag', 'ipAddress', 'AzureCloud', 'priority', 200))), createArray())]"),
      'with every switch on: behind API Management, the Function App admits the service tag AzureCloud',
    ],
    [
      'the app admitting an address range beside the gateway',
      (c) =>
        (site(c).properties.siteConfig.ipSecurityRestrictions =
          "[if(parameters('behindApiManagement'), concat(variables('gatewayOnly'), createArray(createObject('name', 'office', 'action', 'Allow', 'ipAddress', '0.0.0.0/0', 'priority', 200))), createArray())]"),
      'with every switch on: behind API Management, the Function App admits [192.0.2.10/32, 192.0.2.11/32, 0.0.0.0/0], not exactly the gateway',
    ],
    [
      "the gateway's addresses not passed to the app",
      (c) => (resourceIn(c, 'main', 'Microsoft.Resources/deployments', (r) => r.properties?.templateLink?.relativePath === 'modules/function-app.json').properties.parameters.gatewayAddresses.value = '[createArray()]'),
      "with every switch on: behind API Management, the Function App admits [], not exactly the gateway's outbound addresses [192.0.2.10/32, 192.0.2.11/32]",
    ],
    [
      "the app deployed before the gateway's addresses are known",
      (c) => (mainDeployment(c, 'function-app').dependsOn = mainDeployment(c, 'function-app').dependsOn.filter((d: string) => !d.includes('apiManagementService'))),
      'infra/main.json: deployment of infra/modules/function-app.json reads the outputs of deployment apiManagementService but does not depend on it',
    ],
    [
      'the app restricted to a gateway that is not deployed',
      (c) => (site(c).properties.siteConfig.ipSecurityRestrictionsDefaultAction = 'Deny'),
      'with the defaults: without API Management, the Function App is restricted to the gateway',
    ],
    [
      'the deployment endpoint sharing the gateway-only rules',
      (c) => (site(c).properties.siteConfig.scmIpSecurityRestrictionsUseMain = true),
      "with every switch on: the deployment (scm) endpoint uses the app's rules, which admit only the gateway",
    ],
    [
      'X-Forwarded-Host trusted without the gateway',
      (c) => (resourceIn(c, 'function-app', 'Microsoft.Web/sites/config').properties.httpSettings.forwardProxy.convention = 'Standard'),
      'with the defaults: without API Management, App Service Authentication trusts a forwarded host (forwardProxy Standard)',
    ],
    [
      'App Service Authentication accepting another audience',
      (c) => (resourceIn(c, 'function-app', 'Microsoft.Web/sites/config').properties.identityProviders.azureActiveDirectory.validation.allowedAudiences = ['api://someone-else']),
      'App Service Authentication accepts audiences [api://someone-else], not those of the app registration',
    ],
    [
      'App Service Authentication trusting any tenant',
      (c) => (resourceIn(c, 'function-app', 'Microsoft.Web/sites/config').properties.identityProviders.azureActiveDirectory.registration.openIdIssuer = "[format('{0}common/v2.0', environment().authentication.loginEndpoint)]"),
      'App Service Authentication trusts the issuer https://login.microsoftonline.com/common/v2.0',
    ],
    [
      "approvers' sign-in refused when client apps are listed",
      (c) => (resourceIn(c, 'function-app', 'Microsoft.Web/sites/config').properties.identityProviders.azureActiveDirectory.validation.defaultAuthorizationPolicy = "[if(empty(parameters('allowedClientApps')), createObject(), createObject('allowedApplications', parameters('allowedClientApps')))]"),
      'not authAllowedClientApps plus the app registration itself',
    ],
    // Names derived from baseName.
    [
      'a baseName too long for the storage account names',
      (c) => (c.templates.get('infra/main.json').parameters.baseName.maxLength = 20),
      "infra/main.json: with baseName 'sm9cm9cm9cm9cm9cm9cm' the storage account name stsm9cm9cm9cm9cm9cm9cmfn",
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
