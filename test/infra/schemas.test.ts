import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { checkResourceSchemas, loadResourceSchemas, resourceKinds, SCHEMA_DIR, schemaFileFor } from './resource-schemas.js';
import { cloneSet, loadTemplateSet, resourcesOf, type Json, type TemplateSet } from './templates.js';

/** Every resource of the templates against this team's strict schema for its type and API version (test/infra/schemas). */
const set = loadTemplateSet('infra/main.json');
const schemas = loadResourceSchemas();

function resourceIn(copy: TemplateSet, module: string, type: string, test: (resource: Json) => boolean = () => true): Json {
  const found = resourcesOf(copy.templates.get(`infra/modules/${module}.json`)).find((resource: Json) => resource.type === type && test(resource));
  if (!found) throw new Error(`no ${type} in ${module}`);
  return found;
}

function violationsAfter(change: (copy: TemplateSet) => void): string[] {
  const copy = cloneSet(set);
  change(copy);
  return checkResourceSchemas(copy, schemas);
}

describe('infra resources against their schemas', () => {
  it('validates every resource of main.json and every module, as written and as rendered for each sample parameters file', () => {
    expect(checkResourceSchemas(set, schemas)).toEqual([]);
  });

  it('has exactly one schema for each type and API version the templates deploy, in a file named after it', () => {
    expect([...schemas.keys()].sort()).toEqual(resourceKinds(set));
    for (const file of readdirSync(SCHEMA_DIR)) {
      const { $id } = JSON.parse(readFileSync(`${SCHEMA_DIR}/${file}`, 'utf8'));
      expect(file).toBe(schemaFileFor($id));
    }
  });

  it('fails on a resource type, or an API version, without a schema', () => {
    const added = violationsAfter((c) =>
      c.templates.get('infra/modules/function-app.json').resources.push({ type: 'Microsoft.Cache/redis', apiVersion: '2024-03-01', name: 'cache', location: "[parameters('location')]", properties: {} }),
    );
    expect(added.join('\n')).toContain(
      'infra/modules/function-app.json: Microsoft.Cache/redis@2024-03-01 cache: no schema in test/infra/schemas for Microsoft.Cache/redis@2024-03-01 (write Microsoft.Cache.redis@2024-03-01.json',
    );
    const bumped = violationsAfter((c) => (resourceIn(c, 'storage', 'Microsoft.Storage/storageAccounts').apiVersion = '2024-01-01'));
    expect(bumped.join('\n')).toContain("infra/modules/storage.json: Microsoft.Storage/storageAccounts@2024-01-01 [parameters('hostStorageName')]: no schema in test/infra/schemas");
  });

  const cases: [string, (copy: TemplateSet) => void, string][] = [
    [
      'an unknown property (a misspelt siteConfig key)',
      (c) => (resourceIn(c, 'function-app', 'Microsoft.Web/sites').properties.siteConfig.ipSecurityRestriction = []),
      "infra/modules/function-app.json: Microsoft.Web/sites@2024-04-01 [parameters('functionAppName')]: /properties/siteConfig has unknown property ipSecurityRestriction",
    ],
    [
      'a misspelt enum value',
      (c) => (resourceIn(c, 'storage', 'Microsoft.Storage/storageAccounts').properties.minimumTlsVersion = 'TLS1.2'),
      `infra/modules/storage.json: Microsoft.Storage/storageAccounts@2023-05-01 [parameters('hostStorageName')]: /properties/minimumTlsVersion is "TLS1.2", not one of "TLS1_0", "TLS1_1", "TLS1_2", "TLS1_3"`,
    ],
    [
      'a misspelt enum value that only an expression yields',
      (c) => (resourceIn(c, 'function-app', 'Microsoft.Web/sites').properties.siteConfig.ipSecurityRestrictionsDefaultAction = "[if(parameters('behindApiManagement'), 'Deny', 'Alow')]"),
      'with the defaults: infra/modules/function-app.json: Microsoft.Web/sites@2024-04-01 func-sovmcp-2wnl8jce: /properties/siteConfig/ipSecurityRestrictionsDefaultAction is "Alow", not one of "Allow", "Deny"',
    ],
    [
      'an unknown property on the resource itself',
      (c) => (resourceIn(c, 'alerts', 'Microsoft.Insights/actionGroups').$comment = 'a note'),
      "infra/modules/alerts.json: Microsoft.Insights/actionGroups@2023-01-01 [variables('actionGroupName')]: / has unknown property $comment",
    ],
    [
      'an unknown property in a property copy loop',
      (c) => (resourceIn(c, 'alerts', 'Microsoft.Insights/actionGroups').properties.copy[0].input.emailAdress = "[parameters('alertEmailAddresses')[copyIndex('emailReceivers')]]"),
      "infra/modules/alerts.json: Microsoft.Insights/actionGroups@2023-01-01 [variables('actionGroupName')]: /properties/emailReceivers/0 has unknown property emailAdress",
    ],
    [
      'an unknown property in an array item held in a variable',
      (c) => (c.templates.get('infra/modules/api-management.json').variables.validatedOperations.find((o: Json) => o.name === 'tool-call').templateParameters[0].requried = true),
      'with every switch on: infra/modules/api-management.json: Microsoft.ApiManagement/service/apis/operations@2024-05-01 apim-sovmcp-2wnl8jce/sovereign-mcp/tool-call: /properties/templateParameters/0 has unknown property requried',
    ],
    [
      'a role assignment to a misspelt principal type',
      (c) => (resourceIn(c, 'app-access', 'Microsoft.Authorization/roleAssignments').properties.principalType = 'ServicePrinciple'),
      `infra/modules/app-access.json: Microsoft.Authorization/roleAssignments@2022-04-01 [guid(resourceId('Microsoft.KeyVault/vaults/keys', parameters('vaultName'), parameters('catalogueSigningKeyName')), parameters('principalId'), parameters('catalogueSignerRoleId'))]: /properties/principalType is "ServicePrinciple", not one of "User", "Group", "ServicePrincipal", "ForeignGroup", "Device"`,
    ],
    [
      'a value out of the API range',
      (c) => (resourceIn(c, 'api-management', 'Microsoft.ApiManagement/service/apis/diagnostics').properties.frontend.request.body.bytes = 9000),
      "infra/modules/api-management.json: Microsoft.ApiManagement/service/apis/diagnostics@2024-05-01 [format('{0}/{1}/applicationinsights', parameters('apimName'), variables('apiName'))]: /properties/frontend/request/body/bytes must be <= 8192",
    ],
    [
      'a value of the wrong type',
      (c) => (resourceIn(c, 'keyvault', 'Microsoft.KeyVault/vaults').properties.enablePurgeProtection = 'true'),
      "infra/modules/keyvault.json: Microsoft.KeyVault/vaults@2023-07-01 [parameters('vaultName')]: /properties/enablePurgeProtection must be boolean",
    ],
  ];

  it.each(cases)('fails on %s', (_, change, message) => {
    expect(violationsAfter(change).join('\n')).toContain(message);
  });
});
