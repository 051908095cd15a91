import { allResources, linksOf, resourcesOf, type Json, type TemplateSet } from './templates.js';
import type { CheckContext } from './check-context.js';
import { checkDeployments } from './deployment-checks.js';

export const UK_REGIONS = ['uksouth', 'ukwest'] as const;

/**
 * Actions no role of this deployment may hold, in any form: reading or regenerating account keys, minting SAS tokens
 * (each is a way around Entra authentication and the audit trail), and anything under Microsoft.Authorization
 * (granting access or changing policy). '*' stands for any text.
 */
export const DANGEROUS_ACTIONS = ['*/listKeys/action', '*/regeneratekey/action', '*/listAccountSas/action', '*/listServiceSas/action', 'Microsoft.Authorization/*'];
const dangerous = (action: string) =>
  DANGEROUS_ACTIONS.find((pattern) => new RegExp(`^${pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\/]/g, '\\$&')).join('.*')}$`, 'i').test(action));

/** The longest renewal period rate-limit-by-key accepts, in seconds. */
export const MAX_RATE_LIMIT_PERIOD_SECONDS = 300;

/** Azure public regions outside the UK: none may appear anywhere in the templates. */
const NON_UK_REGIONS = [
  'australiacentral', 'australiacentral2', 'australiaeast', 'australiasoutheast', 'austriaeast', 'belgiumcentral',
  'brazilsouth', 'brazilsoutheast', 'canadacentral', 'canadaeast', 'centralindia', 'centralus', 'chilecentral',
  'eastasia', 'eastus', 'eastus2', 'francecentral', 'francesouth', 'germanynorth', 'germanywestcentral',
  'indonesiacentral', 'israelcentral', 'italynorth', 'japaneast', 'japanwest', 'jioindiacentral', 'jioindiawest',
  'koreacentral', 'koreasouth', 'malaysiawest', 'mexicocentral', 'newzealandnorth', 'northcentralus', 'northeurope',
  'norwayeast', 'norwaywest', 'polandcentral', 'qatarcentral', 'southafricanorth', 'southafricawest', 'southcentralus',
  'southeastasia', 'southindia', 'spaincentral', 'swedencentral', 'swedensouth', 'switzerlandnorth', 'switzerlandwest',
  'uaecentral', 'uaenorth', 'westcentralus', 'westeurope', 'westindia', 'westus', 'westus2', 'westus3',
];

/**
 * Resource types and whether they support diagnostic settings. Supported types must each have a setting that sends to
 * the workspace; the others say why not. A type missing from this table is itself a violation, so whoever adds a
 * resource decides.
 */
export const DIAGNOSTIC_SETTINGS: Record<string, true | string> = {
  'Microsoft.Web/sites': true,
  'Microsoft.KeyVault/vaults': true,
  'Microsoft.KeyVault/vaults/secrets': "a secret inside the vault: the vault's own setting logs every access to it",
  'Microsoft.Storage/storageAccounts': true,
  'Microsoft.Storage/storageAccounts/blobServices': true,
  'Microsoft.Storage/storageAccounts/tableServices': true,
  'Microsoft.Storage/storageAccounts/queueServices': true,
  'Microsoft.Storage/storageAccounts/fileServices': true,
  'Microsoft.OperationalInsights/workspaces': true,
  'Microsoft.ApiManagement/service': true,
  'Microsoft.Insights/components': 'workspace-based: its telemetry is stored in the workspace already',
  'Microsoft.Web/serverfarms': 'a Flex Consumption plan has platform metrics only, kept by Azure Monitor without a setting',
  'Microsoft.Web/sites/config': 'configuration of the site, which has its own setting',
  'Microsoft.Web/sites/basicPublishingCredentialsPolicies': 'configuration of the site',
  'Microsoft.ManagedIdentity/userAssignedIdentities': 'no diagnostic logs; its sign-ins are in Entra ID logs',
  'Microsoft.KeyVault/vaults/keys': 'logged by the vault',
  'Microsoft.Network/privateEndpoints': 'no diagnostic logs',
  'Microsoft.Network/privateEndpoints/privateDnsZoneGroups': 'no diagnostic logs',
  'Microsoft.Storage/storageAccounts/blobServices/containers': 'logged by the blob service',
  'Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies': 'logged by the blob service',
  'Microsoft.Storage/storageAccounts/tableServices/tables': 'logged by the table service',
  'Microsoft.OperationalInsights/workspaces/savedSearches': 'content of the workspace',
  'Microsoft.ApiManagement/service/apis': 'logged by the service',
  'Microsoft.ApiManagement/service/apis/policies': 'logged by the service',
  'Microsoft.ApiManagement/service/apis/operations': 'logged by the service',
  'Microsoft.ApiManagement/service/apis/operations/policies': 'logged by the service',
  'Microsoft.ApiManagement/service/apis/diagnostics': 'logged by the service',
  'Microsoft.ApiManagement/service/loggers': 'logged by the service',
  'Microsoft.Authorization/roleDefinitions': 'recorded in the Azure activity log',
  'Microsoft.Authorization/roleAssignments': 'recorded in the Azure activity log',
  'Microsoft.Authorization/policyAssignments': 'recorded in the Azure activity log',
  'Microsoft.Authorization/policyDefinitions': 'recorded in the Azure activity log',
  'Microsoft.Authorization/locks': 'recorded in the Azure activity log',
  'Microsoft.Resources/deployments': 'recorded in the Azure activity log',
  'Microsoft.Insights/diagnosticSettings': 'is the setting',
  'Microsoft.Insights/actionGroups': 'no diagnostic logs; its notifications are in the activity log',
  'Microsoft.Insights/scheduledQueryRules': 'its firings are in the activity log and Azure Monitor alerts',
  'Microsoft.SecurityInsights/onboardingStates': 'configuration of the workspace',
  'Microsoft.SecurityInsights/alertRules': 'content of the workspace',
};

/**
 * Resource types Azure only offers as global resources, with why that is acceptable: they are checked to be global
 * and nothing else. Everything else must be in a UK region.
 */
export const GLOBAL_ONLY: Record<string, string> = {
  'Microsoft.Insights/actionGroups': 'regional processing of action groups is not offered in any UK region; it holds only receiver addresses',
};

const KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER = 'e147488a-f6f5-4113-8e2d-b22465e65bf6';
/** Built-in roles that could hand out or take over access: never assigned by these templates. */
const PRIVILEGED_BUILT_IN_ROLES: Record<string, string> = {
  '8e3af657-a8ff-443c-a75c-2fe8c4bcb635': 'Owner',
  'b24988ac-6180-42a0-ab88-20f7382dd24c': 'Contributor',
  '18d7d88d-d35e-4fb5-a5c3-7773c20a72d9': 'User Access Administrator',
  'f58310d9-a9f6-439a-9e8d-f62e7b41a168': 'Role Based Access Control Administrator',
};
const ALLOWED_LOCATIONS_POLICY = 'e56962a6-4747-49cd-b67b-bf8b01975c4c';
const STORAGE_CMK_POLICY = '6fac406b-40ca-413b-bf8e-0bf964659c25';
export const DELETE_ROLE = 'Sovereign MCP Delete';
export const AUDIT_POLICY_CONDITION = "[not(parameters('auditImmutabilityLocked'))]";
export const UNAUTHENTICATED_PATHS = ['/health', '/.well-known/oauth-protected-resource', '/.well-known/oauth-protected-resource/mcp'];

// ---------------------------------------------------------------------------------------------------------------
// ARM expression helpers

/** The text inside an ARM expression string "[...]"; undefined for a literal (including "[[" escapes). */
export function expressionOf(value: unknown): string | undefined {
  if (typeof value !== 'string' || !value.startsWith('[') || value.startsWith('[[') || !value.endsWith(']')) return undefined;
  return value.slice(1, -1);
}

/** Arguments of `fn(...)` when the whole expression is that one call; undefined otherwise. */
export function callArguments(expression: string, fn: string): string[] | undefined {
  const text = expression.trim();
  if (!text.startsWith(`${fn}(`)) return undefined;
  const args: string[] = [];
  let depth = 0;
  let quoted = false;
  let current = '';
  for (let i = fn.length + 1; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      current += c;
      if (c === "'") {
        if (text[i + 1] === "'") {
          current += "'";
          i++;
        } else quoted = false;
      }
      continue;
    }
    if (c === "'") quoted = true;
    else if (c === '(' || c === '[') depth++;
    else if (c === ']') depth--;
    else if (c === ')') {
      if (depth === 0) {
        if (i !== text.length - 1) return undefined;
        args.push(current.trim());
        return args;
      }
      depth--;
    } else if (c === ',' && depth === 0) {
      args.push(current.trim());
      current = '';
      continue;
    }
    current += c;
  }
  return undefined;
}

const unquote = (literal: string) => (literal.startsWith("'") && literal.endsWith("'") ? literal.slice(1, -1).replace(/''/g, "'") : literal);
const squash = (text: string) => text.replace(/\s+/g, '');

/** Whether quotes, parentheses and brackets of an expression balance. */
function wellFormed(expression: string): boolean {
  let depth = 0;
  let quoted = false;
  for (let i = 0; i < expression.length; i++) {
    const c = expression[i]!;
    if (quoted) {
      if (c === "'") {
        if (expression[i + 1] === "'") i++;
        else quoted = false;
      }
    } else if (c === "'") quoted = true;
    else if (c === '(' || c === '[') depth++;
    else if (c === ')' || c === ']') {
      depth--;
      if (depth < 0) return false;
    }
  }
  return !quoted && depth === 0;
}

function* strings(value: Json, path = ''): Generator<[string, string]> {
  if (typeof value === 'string') yield [path, value];
  else if (Array.isArray(value)) for (const [index, item] of value.entries()) yield* strings(item, `${path}[${index}]`);
  else if (value && typeof value === 'object') for (const [key, item] of Object.entries(value)) {
    yield [`${path}.<key>`, key];
    yield* strings(item, path ? `${path}.${key}` : key);
  }
}

/** A resource name as a format string and its arguments: "[format('{0}/default', x)]" → {fmt: '{0}/default', args: [x]}. */
function nameForm(name: string): { fmt: string; args: string[] } {
  const expression = expressionOf(name);
  if (expression === undefined) return { fmt: name, args: [] };
  const format = callArguments(expression, 'format');
  if (format && format.length > 0) return { fmt: unquote(format[0]!), args: format.slice(1) };
  return { fmt: '{0}', args: [expression.trim()] };
}

/** The extension-resource scope that names a resource: type segments interleaved with name segments. */
function scopeOf(resource: Json): string | undefined {
  const { fmt, args } = nameForm(String(resource.name));
  const [namespace, ...types] = String(resource.type).split('/');
  const names = fmt.split('/');
  if (names.length !== types.length) return undefined;
  const scope = [namespace, ...types.flatMap((type, index) => [type, names[index]])].join('/');
  return squash(args.length ? `format('${scope}',${args.join(',')})` : `'${scope}'`);
}

function diagnosticScope(setting: Json): string | undefined {
  const expression = expressionOf(setting.scope);
  if (expression === undefined) return typeof setting.scope === 'string' ? squash(`'${setting.scope}'`) : undefined;
  const format = callArguments(expression, 'format');
  return squash(format ? `format('${unquote(format[0]!)}',${format.slice(1).join(',')})` : expression);
}

const label = (resource: Json) => String(resource.name);
const sorted = (items: readonly string[]) => [...items].sort();

// ---------------------------------------------------------------------------------------------------------------

/**
 * The deployment's invariants, as a function from templates to violations (empty: all hold). Each message names the
 * file and the resource, so a failing test says what broke; the mutation tests break one invariant at a time and
 * expect its message.
 */
/** How often `needle` occurs in `text` (non-overlapping). */
function occurrences(text: string, needle: string): number {
  let count = 0;
  for (let at = text.indexOf(needle); at !== -1; at = text.indexOf(needle, at + needle.length)) count += 1;
  return count;
}

export function checkTemplates(set: TemplateSet, context: CheckContext): string[] {
  const violations: string[] = [];
  const fail = (message: string) => violations.push(message);
  const everything = allResources(set);
  const ofType = (type: string) => everything.filter(({ resource }) => resource.type === type);

  // Structure, parameters, variables, expressions.
  for (const [file, template] of set.templates) {
    if (typeof template.$schema !== 'string' || !/eploymentTemplate\.json#$/.test(template.$schema)) fail(`${file}: $schema is not a deployment template schema`);
    if (!Array.isArray(template.resources)) fail(`${file}: has no resources array`);
    const parameters: Record<string, Json> = template.parameters ?? {};
    const variables: Record<string, Json> = template.variables ?? {};
    // Used = named somewhere outside its own declaration: more often in the whole template than in the declaration
    // (a reference cannot straddle where the declaration was cut out: it holds no quote). Counted in one rendering
    // of the template, not one rendering per name: the tests run these checks on a hundred changed copies.
    const whole = JSON.stringify(template);
    const usedElsewhere = (reference: string, declaration: Json) => occurrences(whole, reference) > occurrences(JSON.stringify(declaration) ?? '', reference);
    for (const [name, parameter] of Object.entries(parameters)) {
      if (typeof parameter?.metadata?.description !== 'string' || parameter.metadata.description.trim() === '') fail(`${file}: parameter ${name} has no metadata.description`);
      if (!usedElsewhere(`parameters('${name}')`, { [name]: parameter })) fail(`${file}: parameter ${name} is never used`);
    }
    for (const [name, variable] of Object.entries(variables)) {
      if (!usedElsewhere(`variables('${name}')`, { [name]: variable })) fail(`${file}: variable ${name} is never used`);
    }
    for (const [path, text] of strings(template)) {
      const expression = expressionOf(text);
      if (expression === undefined) continue;
      if (!wellFormed(expression)) fail(`${file}: malformed expression at ${path}: ${text}`);
      for (const [, kind, name] of expression.matchAll(/\b(parameters|variables)\('([^']*)'\)/g)) {
        const declared = kind === 'parameters' ? parameters : variables;
        if (!(name! in declared)) fail(`${file}: ${path} refers to undeclared ${kind === 'parameters' ? 'parameter' : 'variable'} ${name}`);
      }
    }
    for (const [path, text] of strings(template)) {
      if (/listKeys\(|listAccountSas\(|listServiceSas\(/i.test(text)) fail(`${file}: ${path} reads storage keys or SAS (${text.slice(0, 80)})`);
      if (/AccountKey=|SharedAccessSignature=|[?&]sig=/i.test(text)) fail(`${file}: ${path} holds an account key or SAS`);
      const region = text.toLowerCase().replace(/\s+/g, '');
      if (NON_UK_REGIONS.includes(region)) fail(`${file}: ${path} names the region ${text}, outside the UK`);
    }
  }

  // Linked deployments pass exactly the parameters their templates declare.
  for (const { from, to, deployment } of linksOf(set)) {
    const target = set.templates.get(to);
    if (!target) continue;
    const declared: Record<string, Json> = target.parameters ?? {};
    const passed: Record<string, Json> = deployment.properties?.parameters ?? {};
    for (const name of Object.keys(passed)) if (!(name in declared)) fail(`${from}: deployment of ${to} passes unknown parameter ${name}`);
    for (const [name, parameter] of Object.entries(declared)) {
      if (parameter.defaultValue === undefined && !(name in passed)) fail(`${from}: deployment of ${to} lacks required parameter ${name}`);
    }
  }

  // A linked deployment that reads another's outputs waits for it (the Function App's access restrictions read the
  // gateway instance's addresses, so the gateway service is deployed first).
  for (const { from, to, deployment } of linksOf(set)) {
    const read = new Set([...JSON.stringify(deployment.properties ?? {}).matchAll(/reference\((?:subscriptionR|r)esourceId\('Microsoft\.Resources\/deployments', variables\('deployments'\)\.(\w+)\)/g)].map(([, name]) => name!));
    const awaited = new Set((deployment.dependsOn ?? []).flatMap((entry: string) => [...entry.matchAll(/variables\('deployments'\)\.(\w+)/g)].map(([, name]) => name!)));
    for (const name of read) if (!awaited.has(name)) fail(`${from}: deployment of ${to} reads the outputs of deployment ${name} but does not depend on it`);
  }

  // UK regions only.
  for (const [file, template] of set.templates) {
    for (const [name, parameter] of Object.entries<Json>(template.parameters ?? {})) {
      if (name !== 'location') continue;
      const allowed: string[] = parameter.allowedValues ?? [];
      if (allowed.length === 0) fail(`${file}: parameter location must be restricted to ${UK_REGIONS.join('/')} with allowedValues`);
      const outside = allowed.filter((region) => !(UK_REGIONS as readonly string[]).includes(region));
      if (outside.length > 0) fail(`${file}: parameter location allows regions outside the UK: ${outside.join(', ')}`);
      if (parameter.defaultValue !== undefined && !(UK_REGIONS as readonly string[]).includes(parameter.defaultValue)) fail(`${file}: parameter location defaults to ${parameter.defaultValue}, outside the UK`);
    }
    for (const resource of resourcesOf(template)) {
      if (resource.location === undefined) continue;
      const ok =
        squash(String(resource.location)) === "[parameters('location')]" ||
        (UK_REGIONS as readonly string[]).includes(resource.location) ||
        (resource.type in GLOBAL_ONLY && String(resource.location).toLowerCase() === 'global');
      if (!ok) fail(`${file}: ${resource.type} ${label(resource)} has location ${resource.location}, not the location parameter or a UK region`);
    }
  }

  // Storage: customer-managed key through the identity, no shared keys, no public access, TLS 1.2, HTTPS, OAuth.
  for (const { file, resource } of ofType('Microsoft.Storage/storageAccounts')) {
    const name = `${file}: storage account ${label(resource)}`;
    const properties = resource.properties ?? {};
    const encryption = properties.encryption ?? {};
    if (encryption.keySource !== 'Microsoft.Keyvault') fail(`${name} is not encrypted with a customer-managed key (keySource Microsoft.Keyvault)`);
    const vault = encryption.keyvaultproperties ?? {};
    if (!vault.keyname || !vault.keyvaulturi) fail(`${name} does not name its key and vault (keyvaultproperties)`);
    if (vault.keyversion !== undefined) fail(`${name} pins a key version, so it would not follow rotation`);
    if (!encryption.identity?.userAssignedIdentity || !String(resource.identity?.type ?? '').includes('UserAssigned')) fail(`${name} does not reach its key through the user-assigned identity`);
    if (encryption.requireInfrastructureEncryption !== true) fail(`${name} has no infrastructure (double) encryption`);
    for (const service of ['table', 'queue']) {
      if (encryption.services?.[service]?.keyType !== 'Account') fail(`${name} leaves ${service} storage on Microsoft-managed keys (keyType Account)`);
    }
    if (properties.allowSharedKeyAccess !== false) fail(`${name} allows shared key access`);
    if (properties.allowBlobPublicAccess !== false) fail(`${name} allows public blob access`);
    if (properties.minimumTlsVersion !== 'TLS1_2') fail(`${name} allows TLS below 1.2`);
    if (properties.supportsHttpsTrafficOnly !== true) fail(`${name} accepts plain HTTP`);
    if (properties.defaultToOAuthAuthentication !== true) fail(`${name} does not default to Entra (OAuth) authentication`);
  }

  // The identity's right to use the key exists before any storage account needs it.
  const grantsCrypto = (template: Json) =>
    resourcesOf(template).some((resource) => {
      if (resource.type !== 'Microsoft.Authorization/roleAssignments') return false;
      const id = String(resource.properties?.roleDefinitionId ?? '');
      const viaVariable = [...id.matchAll(/variables\('([^']*)'\)/g)].some(([, variable]) => template.variables?.[variable!] === KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER);
      return id.includes(KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER) || viaVariable;
    });
  const links = linksOf(set);
  const cryptoLinks = links.filter(({ to }) => grantsCrypto(set.templates.get(to)));
  for (const storageLink of links.filter(({ to }) => resourcesOf(set.templates.get(to)).some((r: Json) => r.type === 'Microsoft.Storage/storageAccounts'))) {
    if (grantsCrypto(set.templates.get(storageLink.to))) continue;
    const ordered = cryptoLinks.some(({ deployment }) => {
      const name = expressionOf(deployment.name) ?? deployment.name;
      return (storageLink.deployment.dependsOn ?? []).some((dependency: string) => dependency.includes(name));
    });
    if (!ordered) fail(`${storageLink.from}: deployment of ${storageLink.to} does not depend on the one granting Key Vault Crypto Service Encryption User`);
  }

  // Function App.
  for (const { file, resource } of ofType('Microsoft.Web/sites')) {
    const name = `${file}: function app ${label(resource)}`;
    const properties = resource.properties ?? {};
    const site = properties.siteConfig ?? {};
    if (properties.httpsOnly !== true) fail(`${name} is not HTTPS only`);
    if (site.minTlsVersion !== '1.2') fail(`${name} allows TLS below 1.2`);
    if (site.scmMinTlsVersion !== '1.2') fail(`${name} allows TLS below 1.2 on its deployment endpoint`);
    if (site.ftpsState !== 'Disabled') fail(`${name} allows FTP`);
    if (site.remoteDebuggingEnabled !== false) fail(`${name} has remote debugging on`);
    const config = properties.functionAppConfig ?? {};
    if (config.runtime?.name !== 'node' || config.runtime?.version !== '22') fail(`${name} does not run Node 22 on Flex Consumption (functionAppConfig.runtime)`);
    if (config.deployment?.storage?.authentication?.type !== 'UserAssignedIdentity') fail(`${name} does not read its deployment package with the user-assigned identity`);
    if (!String(resource.identity?.type ?? '').includes('UserAssigned')) fail(`${name} does not run as the user-assigned identity`);
    const template = set.templates.get(file);
    const children = resourcesOf(template);
    const siteName = nameForm(label(resource));
    const child = (type: string, leaf: string) =>
      children.find((r: Json) => r.type === type && squash(nameForm(label(r)).fmt) === squash(`${siteName.fmt}/${leaf}`) && squash(nameForm(label(r)).args.join()) === squash(siteName.args.join()));
    for (const credential of ['ftp', 'scm']) {
      const policy = child('Microsoft.Web/sites/basicPublishingCredentialsPolicies', credential);
      if (policy?.properties?.allow !== false) fail(`${name} allows basic publishing credentials (${credential})`);
    }
    const auth = child('Microsoft.Web/sites/config', 'authsettingsV2')?.properties;
    if (!auth) fail(`${name} has no App Service Authentication (authsettingsV2)`);
    else {
      const resolve = (value: Json) => {
        const variable = /^variables\('([^']*)'\)$/.exec(expressionOf(value)?.trim() ?? '')?.[1];
        return variable !== undefined ? template.variables?.[variable] : value;
      };
      if (auth.platform?.enabled !== true) fail(`${name}: App Service Authentication is off`);
      if (auth.globalValidation?.requireAuthentication !== true) fail(`${name}: App Service Authentication does not require authentication`);
      if (auth.globalValidation?.unauthenticatedClientAction !== 'Return401') fail(`${name}: App Service Authentication does not answer 401 to unauthenticated requests`);
      const excluded = resolve(auth.globalValidation?.excludedPaths);
      if (!Array.isArray(excluded) || JSON.stringify(sorted(excluded)) !== JSON.stringify(sorted(UNAUTHENTICATED_PATHS))) {
        fail(`${name}: App Service Authentication must exclude exactly ${UNAUTHENTICATED_PATHS.join(', ')}`);
      }
      if (auth.login?.tokenStore?.enabled !== true) fail(`${name}: App Service Authentication token store is off (the approval page reads the ID token from it)`);
      if (auth.identityProviders?.azureActiveDirectory?.enabled !== true) fail(`${name}: App Service Authentication has no Entra ID provider`);
      if (auth.httpSettings?.requireHttps !== true) fail(`${name}: App Service Authentication does not require HTTPS`);
    }
  }

  // App settings: exactly what the app reads, plus the Functions host's own.
  const settings = appSettingsOf(set);
  if (settings) {
    for (const setting of context.expectedAppSettings) if (!settings.names.includes(setting)) fail(`app setting ${setting} is not set by the template`);
    for (const setting of settings.names) if (!context.expectedAppSettings.includes(setting)) fail(`the template sets app setting ${setting}, which neither the app nor the Functions host reads`);
    if (settings.values.AzureWebJobsStorage !== undefined) fail('AzureWebJobsStorage must be identity-based (AzureWebJobsStorage__accountName/__credential/__clientId), not a connection string');
    if (settings.values.AzureWebJobsStorage__credential !== 'managedidentity') fail('AzureWebJobsStorage__credential must be managedidentity');
  } else if (ofType('Microsoft.Web/sites').length > 0) fail('cannot find the Function App settings');

  // Key Vault and its key.
  for (const { file, resource } of ofType('Microsoft.KeyVault/vaults')) {
    const name = `${file}: key vault ${label(resource)}`;
    const properties = resource.properties ?? {};
    if (properties.enablePurgeProtection !== true) fail(`${name} has no purge protection`);
    if (properties.enableRbacAuthorization !== true) fail(`${name} does not use RBAC authorization`);
    if (properties.enableSoftDelete === false) fail(`${name} has soft delete off`);
    if (properties.softDeleteRetentionInDays === undefined) fail(`${name} does not set the soft-delete retention`);
    if (properties.publicNetworkAccess === undefined) fail(`${name} does not set public network access`);
  }
  for (const { file, resource } of ofType('Microsoft.KeyVault/vaults/keys')) {
    const name = `${file}: key ${label(resource)}`;
    const properties = resource.properties ?? {};
    const template = set.templates.get(file);
    const size = /^variables\('([^']*)'\)$/.exec(expressionOf(properties.keySize) ?? '')?.[1];
    const keySize = size !== undefined ? template.variables?.[size] : properties.keySize;
    const typeParameter = /^parameters\('([^']*)'\)$/.exec(expressionOf(properties.kty) ?? '')?.[1];
    const keyTypes: Json[] = typeParameter !== undefined ? (template.parameters?.[typeParameter]?.allowedValues ?? []) : [properties.kty];
    const rsa = keyTypes.length > 0 && keyTypes.every((type) => type === 'RSA' || type === 'RSA-HSM');
    if (!rsa || keySize !== 3072) fail(`${name} is not an RSA 3072 key`);
    if (properties.attributes?.exp === undefined) fail(`${name} has no expiry`);
    const actions: Json[] = properties.rotationPolicy?.lifetimeActions ?? [];
    if (!actions.some((action) => action.action?.type === 'rotate' && action.trigger?.timeBeforeExpiry)) fail(`${name} is not rotated before it expires`);
    if (!properties.rotationPolicy?.attributes?.expiryTime) fail(`${name}'s rotation policy sets no expiry for new versions`);
  }

  // Monitoring: Entra authentication only.
  for (const { file, resource } of ofType('Microsoft.Insights/components')) {
    if (resource.properties?.DisableLocalAuth !== true) fail(`${file}: Application Insights ${label(resource)} allows local (key) authentication`);
    if (!resource.properties?.WorkspaceResourceId) fail(`${file}: Application Insights ${label(resource)} is not workspace-based`);
  }
  for (const { file, resource } of ofType('Microsoft.OperationalInsights/workspaces')) {
    if (resource.properties?.features?.disableLocalAuth !== true) fail(`${file}: Log Analytics workspace ${label(resource)} allows local (key) authentication`);
  }

  // The audit container is write-once (WORM) and allows appends.
  const auditContainers = ofType('Microsoft.Storage/storageAccounts/blobServices/containers').filter(({ resource }) => /audit/i.test(label(resource)));
  if (auditContainers.length === 0) fail('no audit container found');
  for (const { file, resource } of auditContainers) {
    const container = nameForm(label(resource));
    const policy = resourcesOf(set.templates.get(file)).find(
      (r: Json) =>
        r.type === 'Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies' &&
        squash(nameForm(label(r)).fmt) === squash(`${container.fmt}/default`) &&
        squash(nameForm(label(r)).args.join()) === squash(container.args.join()),
    );
    if (!policy) fail(`${file}: audit container ${label(resource)} has no immutability (WORM) policy`);
    else {
      // Written on every deployment until the operator locks it (then only an extension is allowed): conditioned on
      // auditImmutabilityLocked alone, which defaults to false.
      if (policy.condition !== undefined && squash(String(policy.condition)) !== squash(AUDIT_POLICY_CONDITION)) {
        fail(`${file}: audit container ${label(resource)}'s immutability policy is conditioned on ${policy.condition}, not only ${AUDIT_POLICY_CONDITION}`);
      }
      if (policy.condition !== undefined && set.templates.get(file).parameters?.auditImmutabilityLocked?.type !== 'bool') fail(`${file}: parameter auditImmutabilityLocked must be a bool`);
      if (policy.condition !== undefined && set.templates.get(set.main).parameters?.auditImmutabilityLocked?.defaultValue !== false) {
        fail(`${set.main}: parameter auditImmutabilityLocked must default to false (the policy is written until an operator locks it)`);
      }
      if (policy.properties?.allowProtectedAppendWrites !== true) fail(`${file}: audit container ${label(resource)}'s immutability policy does not allow appends (the audit writer appends)`);
      if (policy.properties?.immutabilityPeriodSinceCreationInDays === undefined) fail(`${file}: audit container ${label(resource)}'s immutability policy sets no retention`);
    }
    if (resource.properties?.publicAccess !== 'None') fail(`${file}: audit container ${label(resource)} is not private`);
  }

  // Custom roles: exactly what the tools declare, no wildcard, no authorization writes, deletes only in the Delete role.
  const roles = new Map<string, { actions: string[]; dataActions: string[] }>();
  for (const { file, resource } of ofType('Microsoft.Authorization/roleDefinitions')) {
    const roleName = String(resource.properties?.roleName ?? '');
    const name = /format\('([^'(]+?)\s*\(/.exec(roleName)?.[1] ?? roleName;
    const permissions: Json[] = resource.properties?.permissions ?? [];
    const actions: string[] = permissions.flatMap((p) => p.actions ?? []);
    const dataActions: string[] = permissions.flatMap((p) => p.dataActions ?? []);
    roles.set(name, { actions, dataActions });
    for (const action of [...actions, ...dataActions]) {
      const pattern = dangerous(action);
      if (pattern) fail(`${file}: role ${name} grants the dangerous action ${action} (${pattern})`);
      if (action.includes('*')) fail(`${file}: role ${name} grants wildcard action ${action}`);
      if (/^Microsoft\.Authorization\//i.test(action) && !/\/read$/i.test(action)) fail(`${file}: role ${name} grants Microsoft.Authorization write ${action}`);
      if (/\/delete$/i.test(action) && name !== DELETE_ROLE) fail(`${file}: role ${name} grants delete ${action} outside the ${DELETE_ROLE} role`);
    }
    const expected = context.expectedRoles[name];
    if (!expected) fail(`${file}: role ${name} is not one the tools call for`);
    else {
      const missing = [...expected.actions.filter((a) => !actions.includes(a)), ...expected.dataActions.filter((a) => !dataActions.includes(a))];
      const extra = [...actions.filter((a) => !expected.actions.includes(a)), ...dataActions.filter((a) => !expected.dataActions.includes(a))];
      if (missing.length || extra.length) fail(`${file}: role ${name} differs from what the tools declare: missing [${missing.join(', ')}], extra [${extra.join(', ')}]`);
    }
  }
  for (const name of Object.keys(context.expectedRoles)) if (!roles.has(name)) fail(`role ${name} is missing`);
  for (const { file, resource } of ofType('Microsoft.Authorization/roleAssignments')) {
    const id = JSON.stringify(resource.properties?.roleDefinitionId ?? '') + JSON.stringify(set.templates.get(file).variables ?? {});
    for (const [guid, role] of Object.entries(PRIVILEGED_BUILT_IN_ROLES)) if (id.includes(guid)) fail(`${file}: assigns the privileged built-in role ${role}`);
  }

  // Diagnostic settings on every resource type that supports them.
  for (const { file, resource } of everything) {
    const support = DIAGNOSTIC_SETTINGS[resource.type];
    if (support === undefined) {
      fail(`${file}: resource type ${resource.type} is not classified in DIAGNOSTIC_SETTINGS (does it support diagnostic settings?)`);
      continue;
    }
    if (support !== true) continue;
    const scope = scopeOf(resource);
    const setting = resourcesOf(set.templates.get(file)).find((r: Json) => r.type === 'Microsoft.Insights/diagnosticSettings' && diagnosticScope(r) === scope);
    if (!setting) fail(`${file}: ${resource.type} ${label(resource)} has no diagnostic setting sending to the workspace`);
    else {
      const properties = setting.properties ?? {};
      const enabled = [...(properties.logs ?? []), ...(properties.metrics ?? [])].some((entry: Json) => entry.enabled === true);
      if (!properties.workspaceId || !enabled) fail(`${file}: the diagnostic setting of ${resource.type} ${label(resource)} sends nothing to the workspace`);
      if ((setting.condition ?? true) !== (resource.condition ?? true)) fail(`${file}: the diagnostic setting of ${resource.type} ${label(resource)} has a different condition than the resource`);
    }
  }

  // The audit queries, saved in the workspace exactly as in infra/kql.
  const searches = ofType('Microsoft.OperationalInsights/workspaces/savedSearches');
  for (const [base, text] of Object.entries(context.kqlFiles)) {
    const search = searches.find(({ resource }) => nameForm(label(resource)).fmt.endsWith(`/sovereign-mcp-${base}`));
    if (!search) {
      fail(`no saved search for infra/kql/${base}.kql`);
      continue;
    }
    const query = String(search.resource.properties?.query ?? '');
    if ((query.startsWith('[[') ? query.slice(1) : query) !== text) fail(`${search.file}: saved search for ${base}.kql differs from infra/kql/${base}.kql (run node infra/scripts/build.mjs)`);
    const alias = /\bas\s+(?:a|the)\s+function\s+(?:named\s+)?([A-Z][A-Za-z0-9_]*)/.exec(text.split('\n').filter((line) => line.startsWith('//')).join('\n'))?.[1];
    if (alias && search.resource.properties?.functionAlias !== alias) fail(`${search.file}: saved search for ${base}.kql should be the function ${alias}`);
  }

  // Detection as code: every rule in infra/kql/alerts is deployed, enabled, over the workspace, and notifies the
  // action group; the Sentinel copies follow the Sentinel switch.
  const logAlerts = ofType('Microsoft.Insights/scheduledQueryRules');
  const sentinelRules = ofType('Microsoft.SecurityInsights/alertRules');
  const actionGroups = ofType('Microsoft.Insights/actionGroups');
  for (const { file, resource } of actionGroups) {
    if (resource.properties?.enabled !== true) fail(`${file}: action group ${label(resource)} is disabled`);
    const receivers = JSON.stringify(resource.properties ?? {});
    if (!receivers.includes("parameters('alertEmailAddresses')")) fail(`${file}: action group ${label(resource)} does not notify the alertEmailAddresses receivers`);
  }
  for (const rule of context.alertRules) {
    const queryRef = `variables('alertQueries')['${rule.base}']`;
    const deployed = logAlerts.find(({ resource }) => label(resource) === `sovereign-mcp-${rule.base}`);
    if (!deployed) {
      fail(`no log alert rule for infra/kql/alerts/${rule.base}.kql`);
      continue;
    }
    const { file, resource } = deployed;
    const name = `${file}: alert rule ${label(resource)}`;
    const properties = resource.properties ?? {};
    const template = set.templates.get(file);
    const stored = String(template?.variables?.alertQueries?.[rule.base] ?? '');
    if ((stored.startsWith('[[') ? stored.slice(1) : stored) !== rule.query) fail(`${name}: its query differs from infra/kql/alerts/${rule.base}.kql (run node infra/scripts/build.mjs)`);
    if (properties.enabled !== true) fail(`${name} is disabled`);
    if (resource.kind !== 'LogAlert') fail(`${name} is not a log alert`);
    if (squash(JSON.stringify(properties.scopes ?? [])) !== squash(JSON.stringify(["[variables('workspaceId')]"]))) fail(`${name} does not query the workspace`);
    const criterion = properties.criteria?.allOf?.[0] ?? {};
    const query = squash(String(criterion.query ?? ''));
    if (!query.includes(squash(queryRef))) fail(`${name} does not run its own query`);
    if (rule.needsAppPrincipalId && !query.includes(squash("parameters('appPrincipalId')"))) fail(`${name} does not put the app's principal id into its query`);
    if (criterion.operator !== 'GreaterThan' || criterion.threshold !== 0 || criterion.timeAggregation !== 'Count') fail(`${name} does not fire on any returned row`);
    if (properties.severity !== rule.severity || properties.evaluationFrequency !== rule.evaluationFrequency || properties.windowSize !== rule.windowSize) {
      fail(`${name}: severity, frequency or window differ from rules.json`);
    }
    if ((properties.overrideQueryTimeRange ?? undefined) !== rule.overrideQueryTimeRange) fail(`${name}: query time range differs from rules.json`);
    const groups: string[] = properties.actions?.actionGroups ?? [];
    if (!groups.some((id) => squash(id).includes("'Microsoft.Insights/actionGroups'"))) fail(`${name} notifies no action group`);
    if (properties.autoMitigate !== false) fail(`${name} resolves itself: a security alert stays open until a person closes it`);
    const sentinel = sentinelRules.find(({ resource: r }) => squash(label(r)).includes(squash(`'sovereign-mcp-${rule.base}'`)));
    if (!sentinel) fail(`no Sentinel analytics rule for infra/kql/alerts/${rule.base}.kql`);
    else {
      if (squash(String(sentinel.resource.condition ?? '')) !== squash("[parameters('enableSentinel')]")) fail(`${sentinel.file}: Sentinel rule for ${rule.base} does not follow enableSentinel`);
      if (!squash(String(sentinel.resource.properties?.query ?? '')).includes(squash(queryRef))) fail(`${sentinel.file}: Sentinel rule for ${rule.base} does not run its own query`);
      if (sentinel.resource.properties?.enabled !== true) fail(`${sentinel.file}: Sentinel rule for ${rule.base} is disabled`);
    }
  }
  if (context.alertRules.length > 0 && actionGroups.length === 0) fail('no action group for the alert rules');

  // Azure Policy: UK locations only, and an audit of storage without a customer-managed key.
  const assignments = ofType('Microsoft.Authorization/policyAssignments');
  const definitionOf = ({ file, resource }: { file: string; resource: Json }) => {
    const id = String(resource.properties?.policyDefinitionId ?? '');
    const variable = /variables\('([^']*)'\)/.exec(id)?.[1];
    return variable !== undefined ? String(set.templates.get(file).variables?.[variable]) : id;
  };
  const locationAssignments = assignments.filter((entry) => definitionOf(entry).includes(ALLOWED_LOCATIONS_POLICY));
  const ukOnly = locationAssignments.some(({ file, resource }) => {
    const value = resource.properties?.parameters?.listOfAllowedLocations?.value;
    const variable = /^variables\('([^']*)'\)$/.exec(expressionOf(value) ?? '')?.[1];
    const list = variable !== undefined ? set.templates.get(file).variables?.[variable] : value;
    return Array.isArray(list) && JSON.stringify(sorted(list)) === JSON.stringify(sorted(UK_REGIONS));
  });
  if (!ukOnly) fail('no Allowed locations policy assignment restricted to uksouth and ukwest');
  for (const { file, resource } of assignments) {
    const mode = resource.properties?.enforcementMode;
    if (mode !== undefined && mode !== 'Default') fail(`${file}: policy assignment ${label(resource)} is not enforced (enforcementMode ${mode})`);
  }
  if (!assignments.some((entry) => definitionOf(entry).includes(STORAGE_CMK_POLICY))) fail('no policy assignment auditing storage accounts without a customer-managed key');

  // API Management: TLS 1.2, HTTPS, token validation, per-caller rate limit, no bodies in the logs.
  // (TLS per tier, the rendered token validation and the routes let through without a token are checked on the
  // evaluated deployment: deployment-checks.ts.)
  for (const file of new Set(ofType('Microsoft.ApiManagement/service/apis').map(({ file }) => file))) {
    const template = set.templates.get(file);
    for (const api of resourcesOf(template).filter((r: Json) => r.type === 'Microsoft.ApiManagement/service/apis')) {
      if (JSON.stringify(api.properties?.protocols) !== JSON.stringify(['https'])) fail(`${file}: API Management API ${label(api)} accepts plain HTTP`);
    }
    const policies = JSON.stringify(template.variables ?? {});
    if (!/<rate-limit-by-key[^>]*oid/.test(policies.replace(/&quot;|\\"/g, '"'))) fail(`${file}: API Management policy does not rate limit per caller (rate-limit-by-key on the token's oid)`);
    for (const diagnostic of resourcesOf(template).filter((r: Json) => r.type === 'Microsoft.ApiManagement/service/apis/diagnostics')) {
      for (const side of ['frontend', 'backend']) {
        for (const direction of ['request', 'response']) {
          if (diagnostic.properties?.[side]?.[direction]?.body?.bytes !== 0) fail(`${file}: API Management logs ${side} ${direction} bodies`);
        }
      }
    }
  }

  // The gateway's rate-limit period never exceeds what rate-limit-by-key accepts.
  for (const [file, template] of set.templates) {
    for (const [name, parameter] of Object.entries<Json>(template.parameters ?? {})) {
      if (!/RateLimitPeriodSeconds$/i.test(name)) continue;
      if (typeof parameter.maxValue !== 'number' || parameter.maxValue > MAX_RATE_LIMIT_PERIOD_SECONDS) {
        fail(`${file}: parameter ${name} must have maxValue ${MAX_RATE_LIMIT_PERIOD_SECONDS} or less (the longest renewal-period of rate-limit-by-key)`);
      }
    }
  }

  // What the deployment does for realistic parameters: grants and their scopes, rendered policies, authentication.
  violations.push(...checkDeployments(set, context));

  return violations;
}

/** The names (and literal values) of the Function App's settings, from the template and the deployment that feeds it. */
export function appSettingsOf(set: TemplateSet): { names: string[]; values: Record<string, Json> } | undefined {
  for (const { file, resource } of allResources(set)) {
    if (resource.type !== 'Microsoft.Web/sites') continue;
    const template = set.templates.get(file);
    const appSettings = resource.properties?.siteConfig?.appSettings;
    const values: Record<string, Json> = {};
    if (Array.isArray(appSettings)) {
      for (const setting of appSettings) values[setting.name] = setting.value;
    } else {
      const expression = expressionOf(appSettings) ?? '';
      for (const [, variable] of expression.matchAll(/variables\('([^']*)'\)/g)) Object.assign(values, template.variables?.[variable!] ?? {});
      for (const [, parameter] of expression.matchAll(/parameters\('([^']*)'\)/g)) {
        for (const link of linksOf(set).filter(({ to }) => to === file)) {
          Object.assign(values, link.deployment.properties?.parameters?.[parameter!]?.value ?? {});
        }
      }
    }
    return { names: Object.keys(values), values };
  }
  return undefined;
}
