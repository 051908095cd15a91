#!/usr/bin/env node
// Regenerates the parts of infra/ that are derived from other files, so they never drift by hand:
//   - the saved searches in modules/monitoring.json, from kql/*.kql (ARM cannot read files, so the text is embedded);
//   - the alert rules in modules/alerts.json (log alerts, and Sentinel analytics rules), from kql/alerts/;
//   - the gateway policies in modules/api-management.json, from apim/*.xml;
//   - the token validation fragments apim/validate-*.xml, embedded next to the policies;
//   - the role table in README.md and the standalone read roles roles/*.json, from modules/roles.json;
//   - main.packed.json: main.json with every linked module inlined, for `az deployment group create --template-file`
//     (a local template file cannot use templateLink.relativePath);
//   - main.bicep: the entry point the Azure Developer CLI needs (it provisions Bicep only), which hands every
//     parameter to main.packed.json.
// Usage: node infra/scripts/build.mjs           write the derived files
//        node infra/scripts/build.mjs --check   exit 1 and name the stale files, writing nothing (the tests run this)
// Plain Node, no dependencies.
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const INFRA = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const check = process.argv.includes('--check');

const readJson = (path) => JSON.parse(readFileSync(path, 'utf8'));
const json = (value) => `${JSON.stringify(value, null, 2)}\n`;
/** ARM reads a string that starts with '[' as an expression; '[[' keeps it literal. */
export const armLiteral = (text) => (text.startsWith('[') ? `[${text}` : text);

// ---------------------------------------------------------------------------------------------------------------
// Saved searches from infra/kql

const SAVED_SEARCH_PREFIX = 'sovereign-mcp-';

/** A query whose header comment says to save it as a function (`as the function X`, `as a function named X`) gets X as its alias. */
export function functionAliasOf(kql) {
  const header = kql.split('\n').filter((line) => line.startsWith('//')).join('\n');
  return /\bas\s+(?:a|the)\s+function\s+(?:named\s+)?([A-Z][A-Za-z0-9_]*)/.exec(header)?.[1];
}

function savedSearches() {
  const dir = join(INFRA, 'kql');
  return readdirSync(dir)
    .filter((file) => file.endsWith('.kql'))
    .sort()
    .map((file) => {
      const base = file.replace(/\.kql$/, '');
      const query = readFileSync(join(dir, file), 'utf8');
      const alias = functionAliasOf(query);
      return {
        type: 'Microsoft.OperationalInsights/workspaces/savedSearches',
        apiVersion: '2020-08-01',
        name: `[format('{0}/${SAVED_SEARCH_PREFIX}${base}', parameters('workspaceName'))]`,
        dependsOn: ["[resourceId('Microsoft.OperationalInsights/workspaces', parameters('workspaceName'))]"],
        properties: {
          category: 'Sovereign MCP',
          displayName: `Sovereign MCP: ${base.replace(/-/g, ' ')}`,
          query: armLiteral(query),
          ...(alias ? { functionAlias: alias } : {}),
          version: 2,
        },
      };
    });
}

function withSavedSearches(monitoring) {
  const others = monitoring.resources.filter((r) => r.type !== 'Microsoft.OperationalInsights/workspaces/savedSearches');
  return { ...monitoring, resources: [...others, ...savedSearches()] };
}

// ---------------------------------------------------------------------------------------------------------------
// Alert rules from infra/kql/alerts

/** Stands in the identity rule's query for the app's managed identity principal id, which only the deployment knows. */
export const APP_PRINCIPAL_PLACEHOLDER = '__APP_PRINCIPAL_ID__';
const ALERT_TYPES = new Set(['Microsoft.Insights/scheduledQueryRules', 'Microsoft.SecurityInsights/alertRules']);
const SENTINEL_SEVERITY = ['High', 'High', 'Medium', 'Low', 'Informational'];

/** The rules of kql/alerts/rules.json, each with its query text. */
export function alertRules() {
  const dir = join(INFRA, 'kql', 'alerts');
  return readJson(join(dir, 'rules.json')).rules.map((rule) => ({
    ...rule,
    base: rule.file.replace(/\.kql$/, ''),
    query: readFileSync(join(dir, rule.file), 'utf8'),
  }));
}

function withAlertRules(alerts) {
  const rules = alertRules();
  const workspaceScope = "[format('Microsoft.OperationalInsights/workspaces/{0}', parameters('workspaceName'))]";
  // The deployed query: the file's text, with the app's principal id put in where the rule needs it.
  const query = (rule) =>
    rule.needsAppPrincipalId
      ? `[replace(variables('alertQueries')['${rule.base}'], '${APP_PRINCIPAL_PLACEHOLDER}', parameters('appPrincipalId'))]`
      : `[variables('alertQueries')['${rule.base}']]`;
  const logAlerts = rules.map((rule) => ({
    type: 'Microsoft.Insights/scheduledQueryRules',
    apiVersion: '2023-12-01',
    name: `sovereign-mcp-${rule.base}`,
    location: "[parameters('location')]",
    tags: "[parameters('tags')]",
    kind: 'LogAlert',
    dependsOn: ["[resourceId('Microsoft.Insights/actionGroups', variables('actionGroupName'))]"],
    properties: {
      displayName: `Sovereign MCP: ${rule.displayName}`,
      description: rule.description,
      severity: rule.severity,
      enabled: true,
      evaluationFrequency: rule.evaluationFrequency,
      windowSize: rule.windowSize,
      ...(rule.overrideQueryTimeRange ? { overrideQueryTimeRange: rule.overrideQueryTimeRange } : {}),
      scopes: ["[variables('workspaceId')]"],
      criteria: {
        allOf: [
          {
            query: query(rule),
            timeAggregation: 'Count',
            operator: 'GreaterThan',
            threshold: 0,
            failingPeriods: { numberOfEvaluationPeriods: 1, minFailingPeriodsToAlert: 1 },
          },
        ],
      },
      autoMitigate: false,
      actions: { actionGroups: ["[resourceId('Microsoft.Insights/actionGroups', variables('actionGroupName'))]"] },
    },
  }));
  const sentinelRules = rules.map((rule) => ({
    condition: "[parameters('enableSentinel')]",
    type: 'Microsoft.SecurityInsights/alertRules',
    apiVersion: '2024-03-01',
    scope: workspaceScope,
    name: `[guid(variables('workspaceId'), 'sovereign-mcp-${rule.base}')]`,
    kind: 'Scheduled',
    dependsOn: ["[extensionResourceId(variables('workspaceId'), 'Microsoft.SecurityInsights/onboardingStates', 'default')]"],
    properties: {
      displayName: `Sovereign MCP: ${rule.displayName}`,
      description: rule.description,
      severity: SENTINEL_SEVERITY[rule.severity],
      enabled: true,
      query: query(rule),
      queryFrequency: rule.evaluationFrequency,
      queryPeriod: rule.overrideQueryTimeRange ?? rule.windowSize,
      triggerOperator: 'GreaterThan',
      triggerThreshold: 0,
      suppressionDuration: 'PT1H',
      suppressionEnabled: false,
      tactics: rule.tactics,
    },
  }));
  const others = alerts.resources.filter((r) => !ALERT_TYPES.has(r.type));
  return {
    ...alerts,
    variables: { ...alerts.variables, alertQueries: Object.fromEntries(rules.map((rule) => [rule.base, armLiteral(rule.query)])) },
    resources: [...others, ...logAlerts, ...sentinelRules],
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Gateway policies from infra/apim

function withPolicies(apim) {
  const read = (file) => armLiteral(readFileSync(join(INFRA, 'apim', file), 'utf8'));
  // The token validation elements are fragments that replace a placeholder in api-policy.xml: no trailing newline.
  const fragment = (file) => armLiteral(readFileSync(join(INFRA, 'apim', file), 'utf8').trimEnd());
  return {
    ...apim,
    variables: {
      ...apim.variables,
      apiPolicyTemplate: read('api-policy.xml'),
      anonymousPolicyTemplate: read('anonymous-policy.xml'),
      validateAzureAdTokenTemplate: fragment('validate-azure-ad-token.xml'),
      validateJwtTemplate: fragment('validate-jwt.xml'),
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Roles: README table and the reader role file

/** The custom roles of modules/roles.json: label (roleName without the deployment suffix) and permissions. */
export function customRoles(roles) {
  return roles.resources
    .filter((r) => r.type === 'Microsoft.Authorization/roleDefinitions')
    .map((r) => {
      const label = /format\('([^'(]+?)\s*\(/.exec(r.properties.roleName)?.[1] ?? r.properties.roleName;
      const [permissions] = r.properties.permissions;
      return { label, description: r.properties.description, actions: permissions.actions, dataActions: permissions.dataActions };
    });
}

export const ROLE_TABLE_START = '<!-- roles:start (generated by infra/scripts/build.mjs from infra/modules/roles.json) -->';
export const ROLE_TABLE_END = '<!-- roles:end -->';

export function roleTable(roles) {
  const rows = customRoles(roles).map(({ label, description, actions, dataActions }) => {
    const list = (items) => (items.length ? items.map((item) => `\`${item}\``).join('<br>') : '—');
    return `| ${label} | ${description} | ${list(actions)} | ${list(dataActions)} |`;
  });
  return [ROLE_TABLE_START, '| Role | What it is for | Actions | Data actions |', '| --- | --- | --- | --- |', ...rows, ROLE_TABLE_END].join('\n');
}

function withRoleTable(readme, roles) {
  const start = readme.indexOf(ROLE_TABLE_START);
  const end = readme.indexOf(ROLE_TABLE_END);
  if (start < 0 || end < start) throw new Error(`infra/README.md lacks the role table markers ${ROLE_TABLE_START} … ${ROLE_TABLE_END}`);
  return readme.slice(0, start) + roleTable(roles) + readme.slice(end + ROLE_TABLE_END.length);
}

/**
 * The read roles as standalone definitions for `az role definition create` (a test principal, or a person running the
 * app locally with AZURE_LOCAL_CREDENTIAL): the Reader (for the managed resource groups) and the Key Reader (for the
 * department Key Vault only), exactly as modules/roles.json defines them.
 */
export const STANDALONE_ROLES = {
  'sovereign-mcp-reader.json': { label: 'Sovereign MCP Reader', scope: '/subscriptions/<subscription id>/resourceGroups/<managed resource group>' },
  'sovereign-mcp-key-reader.json': { label: 'Sovereign MCP Key Reader', scope: '/subscriptions/<subscription id>/resourceGroups/<resource group of the department Key Vault>' },
};

function standaloneRole({ label, scope }, roles) {
  const role = customRoles(roles).find((r) => r.label === label);
  if (!role) throw new Error(`modules/roles.json has no ${label} role`);
  return {
    Name: label,
    IsCustom: true,
    Description: role.description,
    Actions: [...role.actions],
    NotActions: [],
    DataActions: [...role.dataActions],
    NotDataActions: [],
    // Replace with the resource groups the role may be assigned in (never the whole subscription).
    AssignableScopes: [scope],
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Packing: inline every templateLink.relativePath

export function pack(templatePath, template = readJson(templatePath)) {
  const inline = (resource) => {
    const link = resource.type === 'Microsoft.Resources/deployments' ? resource.properties?.templateLink : undefined;
    if (!link?.relativePath) return resource;
    const childPath = join(dirname(templatePath), link.relativePath);
    const { templateLink, ...properties } = resource.properties;
    return {
      ...resource,
      properties: { ...properties, expressionEvaluationOptions: { scope: 'inner' }, template: pack(childPath) },
    };
  };
  return { ...template, resources: template.resources.map(inline) };
}

function packed() {
  const main = pack(join(INFRA, 'main.json'));
  return {
    ...main,
    metadata: {
      ...main.metadata,
      generated: 'Generated by infra/scripts/build.mjs from infra/main.json and infra/modules/*.json: do not edit; edit those and run the script.',
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// main.bicep for the Azure Developer CLI

const bicepString = (text) => `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\$\{/g, '\\${')}'`;

function bicepValue(value, indent = '') {
  if (typeof value === 'string') {
    // An ARM expression default such as [subscription().tenantId] or [utcNow()] is the same call in Bicep.
    if (/^\[[^[].*\]$/.test(value)) return value.slice(1, -1);
    return bicepString(value);
  }
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return `[\n${value.map((item) => `${inner}${bicepValue(item, inner)}`).join('\n')}\n${indent}]`;
  }
  const entries = Object.entries(value);
  if (entries.length === 0) return '{}';
  return `{\n${entries.map(([key, item]) => `${inner}${/^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? key : bicepString(key)}: ${bicepValue(item, inner)}`).join('\n')}\n${indent}}`;
}

const BICEP_TYPES = { string: 'string', securestring: 'string', int: 'int', bool: 'bool', array: 'array', object: 'object', secureobject: 'object' };

/** Outputs azd keeps in the environment (`azd env get-values`), from main.json's outputs. */
const AZD_OUTPUTS = {
  AZURE_FUNCTION_APP_NAME: 'functionAppName',
  SOVEREIGN_MCP_URL: 'mcpUrl',
  SOVEREIGN_MCP_IDENTITY_CLIENT_ID: 'identityClientId',
  SOVEREIGN_MCP_KEY_VAULT_URL: 'keyVaultUri',
  AUDIT_CONTAINER_URL: 'auditContainerUrl',
  APPLICATIONINSIGHTS_NAME: 'appInsightsName',
};

function bicep() {
  const main = readJson(join(INFRA, 'main.json'));
  const lines = [
    '// Generated by infra/scripts/build.mjs from infra/main.json: do not edit; edit main.json and run the script.',
    '// The Azure Developer CLI provisions Bicep (or Terraform) only, so `azd up` starts here; everything is in the',
    '// ARM template main.packed.json (main.json with its modules inlined). `az deployment group create` uses that',
    '// template directly and needs no Bicep.',
    "targetScope = 'resourceGroup'",
    '',
  ];
  for (const [name, parameter] of Object.entries(main.parameters)) {
    lines.push(`@description(${bicepString(parameter.metadata.description)})`);
    if (parameter.type.toLowerCase().startsWith('secure')) lines.push('@secure()');
    if (parameter.allowedValues) lines.push(`@allowed(${bicepValue(parameter.allowedValues)})`);
    for (const key of ['minLength', 'maxLength', 'minValue', 'maxValue']) {
      if (parameter[key] !== undefined) lines.push(`@${key}(${parameter[key]})`);
    }
    const type = BICEP_TYPES[parameter.type.toLowerCase()];
    if (!type) throw new Error(`main.json parameter ${name} has a type main.bicep cannot express: ${parameter.type}`);
    const defaultValue = parameter.defaultValue === undefined ? '' : ` = ${bicepValue(parameter.defaultValue)}`;
    lines.push(`param ${name} ${type}${defaultValue}`, '');
  }
  lines.push("module sovereignMcp 'main.packed.json' = {", "  name: 'sovereign-mcp'", '  params: {');
  for (const name of Object.keys(main.parameters)) lines.push(`    ${name}: ${name}`);
  lines.push('  }', '}', '');
  for (const [azdName, output] of Object.entries(AZD_OUTPUTS)) {
    if (!main.outputs[output]) throw new Error(`main.json has no output ${output} for ${azdName}`);
    lines.push(`output ${azdName} ${main.outputs[output].type} = sovereignMcp.outputs.${output}`);
  }
  return `${lines.join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------------------------

function outputs() {
  const roles = readJson(join(INFRA, 'modules', 'roles.json'));
  return new Map([
    [join(INFRA, 'modules', 'monitoring.json'), json(withSavedSearches(readJson(join(INFRA, 'modules', 'monitoring.json'))))],
    [join(INFRA, 'modules', 'alerts.json'), json(withAlertRules(readJson(join(INFRA, 'modules', 'alerts.json'))))],
    [join(INFRA, 'modules', 'api-management.json'), json(withPolicies(readJson(join(INFRA, 'modules', 'api-management.json'))))],
    [join(INFRA, 'README.md'), withRoleTable(readFileSync(join(INFRA, 'README.md'), 'utf8'), roles)],
    ...Object.entries(STANDALONE_ROLES).map(([file, role]) => [join(INFRA, 'roles', file), json(standaloneRole(role, roles))]),
  ]);
}

function main() {
  // The embedded modules are written first: the packed template and main.bicep are built from them.
  const stale = [];
  const handle = (path, content) => {
    let current;
    try {
      current = readFileSync(path, 'utf8');
    } catch {
      current = undefined;
    }
    if (current === content) return;
    stale.push(relative(resolve(INFRA, '..'), path));
    if (!check) writeFileSync(path, content);
  };
  for (const [path, content] of outputs()) handle(path, content);
  if (check && stale.length > 0) {
    // The derived files depend on the embedded ones: report what is stale without building on stale inputs.
    console.error(`Stale (run node infra/scripts/build.mjs): ${stale.join(', ')}`);
    process.exit(1);
  }
  handle(join(INFRA, 'main.packed.json'), json(packed()));
  handle(join(INFRA, 'main.bicep'), bicep());
  if (check) {
    if (stale.length > 0) {
      console.error(`Stale (run node infra/scripts/build.mjs): ${stale.join(', ')}`);
      process.exit(1);
    }
    console.log('infra/: every derived file is up to date.');
  } else {
    console.log(stale.length ? `Wrote ${stale.join(', ')}` : 'infra/: nothing to change.');
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
