import { instantiate, Opaque, type DeploymentScope, type Instance, type ResourceInstance } from './arm.js';
import type { Json, TemplateSet } from './templates.js';
import type { CheckContext } from './check-context.js';
import { descendants, parseXml, type XmlElement } from './xml.js';

/**
 * Checks of what the deployment does for given parameters, evaluated offline (test/infra/arm.ts): which role lands
 * on which scope, where each custom role may be assigned, what the gateway policy renders to, which routes the
 * gateway lets through without a token, how App Service Authentication is configured, and which policies are enforced
 * in every managed group. Each sample is a realistic parameters file; the checks compare against what the samples
 * ask for, so a template that grants or renders anything else fails.
 */

export const SAMPLE_SCOPE: DeploymentScope = {
  subscriptionId: '5a1d0000-0000-4000-8000-000000000001',
  tenantId: '7e7a0000-0000-4000-8000-000000000002',
  resourceGroup: 'rg-sovmcp-app',
  location: 'ukwest',
  // What Azure reports for the gateway instance once it exists: its outbound public addresses (documentation range).
  answers: { 'Microsoft.ApiManagement/service': { publicIPAddresses: ['192.0.2.10', '192.0.2.11'] } },
};

/** The addresses the Function App must admit behind the gateway: exactly the instance's outbound addresses. */
export const SAMPLE_GATEWAY_ADDRESSES: readonly string[] = SAMPLE_SCOPE.answers!['Microsoft.ApiManagement/service'].publicIPAddresses;
export const SAMPLE_CLIENT_ID = 'c11e0000-0000-4000-8000-0000000000c1';

export interface Sample {
  label: string;
  parameters: Record<string, unknown>;
}

export const SAMPLES: Sample[] = [
  { label: 'the defaults', parameters: { entraClientId: SAMPLE_CLIENT_ID, managedResourceGroups: ['rg-one', 'rg-two'] } },
  {
    label: 'every switch on',
    parameters: {
      entraClientId: SAMPLE_CLIENT_ID,
      entraAppIdUri: 'api://sovereign-mcp.example.gov.uk',
      managedResourceGroups: ['rg-one', 'RG-Two', 'rg-locked'],
      protectedResourceGroups: ['RG-LOCKED'],
      enableDestructiveTools: true,
      enableGroupCreate: true,
      enableApiManagement: true,
      apiManagementPublisherEmail: 'platform@example.gov.uk',
      authAllowedClientApps: ['c11e0000-0000-4000-8000-0000000000a1', 'c11e0000-0000-4000-8000-0000000000a2'],
    },
  },
  {
    label: 'the gateway without a client-app list',
    parameters: {
      entraClientId: SAMPLE_CLIENT_ID,
      managedResourceGroups: ['rg-one'],
      protectedResourceGroups: ['rg-one'],
      enableApiManagement: true,
      apiManagementPublisherEmail: 'platform@example.gov.uk',
    },
  },
];

/** A parameters file that (wrongly) lists the app's own resource group as a managed one, in another case. */
export const APP_GROUP_LISTED: Sample = {
  label: "the app's own group listed as managed",
  parameters: { entraClientId: SAMPLE_CLIENT_ID, managedResourceGroups: ['rg-one', SAMPLE_SCOPE.resourceGroup!.toUpperCase()], enableDestructiveTools: true },
};

/** Routes API Management may pass on without validating a token, and why each is safe. */
export const ANONYMOUS_GATEWAY_ROUTES: Record<string, string> = {
  '/health': 'liveness only; App Service Authentication also lets it through',
  '/.well-known/oauth-protected-resource': 'the protected-resource metadata: how an MCP client learns where to sign in',
  '/.well-known/oauth-protected-resource/mcp': 'the same, for the /mcp resource',
  '/.auth/*': "App Service Authentication's own sign-in endpoints",
  '/approvals/{id}': 'App Service Authentication answers 401 without a signed-in session (not an excluded path); the app then demands Mcp.Approver and a recent sign-in',
};
/** Of those, the routes App Service Authentication itself must protect (so they must not be among its excluded paths). */
export const APP_SERVICE_AUTHENTICATED_ROUTES = ['/.auth/*', '/approvals/{id}'];

/**
 * API Management tiers that accept TLS 1.2 (or later) only and do not allow protocol or cipher changes ("Manage
 * protocols and ciphers in Azure API Management": Consumption, Basic v2 and Standard v2 don't support changes to the
 * default cipher configuration). The template must not send customProperties to them; on the other tiers it must
 * switch TLS 1.0, TLS 1.1 and SSL 3.0 off on both sides.
 */
export const TLS12_ONLY_TIERS = ['BasicV2', 'StandardV2'];
/** API Management tiers whose protocols and ciphers the template must set (customProperties). */
export const CONFIGURABLE_TLS_TIERS = ['Developer'];
const TLS_SETTINGS = ['Protocols.Tls10', 'Protocols.Tls11', 'Protocols.Ssl30', 'Backend.Protocols.Tls10', 'Backend.Protocols.Tls11', 'Backend.Protocols.Ssl30'];

/** Naming rules of the resources whose names main.json derives from baseName (variable → rule). */
export const NAME_RULES: Record<string, { what: string; rule: RegExp }> = {
  hostStorageName: { what: 'storage account', rule: /^[a-z0-9]{3,24}$/ },
  dataStorageName: { what: 'storage account', rule: /^[a-z0-9]{3,24}$/ },
  vaultName: { what: 'Key Vault', rule: /^[a-zA-Z](?!.*--)[a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$/ },
  functionAppName: { what: 'Function App', rule: /^[a-z0-9](?:[a-z0-9-]{0,58}[a-z0-9])?$/ },
  planName: { what: 'App Service plan', rule: /^[a-zA-Z0-9-]{1,60}$/ },
  apimName: { what: 'API Management service', rule: /^[a-zA-Z](?:[a-zA-Z0-9-]{0,48}[a-zA-Z0-9])?$/ },
  workspaceName: { what: 'Log Analytics workspace', rule: /^[a-zA-Z0-9][a-zA-Z0-9-]{2,61}[a-zA-Z0-9]$/ },
  appInsightsName: { what: 'Application Insights component', rule: /^[^%&\\?/]{1,260}$/ },
  identityName: { what: 'managed identity', rule: /^[a-zA-Z0-9][a-zA-Z0-9_-]{2,127}$/ },
};

const lower = (value: string) => value.toLowerCase();
const sameSet = (a: readonly string[], b: readonly string[]) => JSON.stringify([...new Set(a.map(lower))].sort()) === JSON.stringify([...new Set(b.map(lower))].sort());
const textOf = (value: unknown) => (value instanceof Opaque ? value.text : String(value));
const labelOf = (roleName: string) => roleName.replace(/\s*\([^)]*\)\s*$/, '');

/** The main template instantiated for a sample, at the sample subscription and app resource group. */
export function mainFor(set: TemplateSet, parameters: Record<string, unknown>): Instance {
  return instantiate(set, SAMPLE_SCOPE, parameters);
}

function instanceWith(main: Instance, type: string, includeInactive = false): Instance | undefined {
  return main.tree(includeInactive).find((instance) => instance.template.resources?.some((r: Json) => r.type === type));
}

function active(instance: Instance, type: string): ResourceInstance[] {
  return instance.resources().filter((r) => r.active && r.resource.type === type);
}

/** The rendered gateway policies for a sample: the API policy and each operation's policy, by operation name. */
export function renderGatewayPolicies(set: TemplateSet, parameters: Record<string, unknown>) {
  const main = mainFor(set, { enableApiManagement: true, apiManagementPublisherEmail: 'platform@example.gov.uk', ...parameters });
  const apim = instanceWith(main, 'Microsoft.ApiManagement/service/apis', true);
  if (!apim) throw new Error('no template deploys Microsoft.ApiManagement/service/apis');
  const policies = active(apim, 'Microsoft.ApiManagement/service/apis/policies').map((r) => String(r.evaluate(r.resource.properties?.value)));
  if (policies.length !== 1) throw new Error(`expected one API policy, found ${policies.length}`);
  const operations = active(apim, 'Microsoft.ApiManagement/service/apis/operations').map((r) => ({
    name: r.name.split('/').pop()!,
    method: String(r.evaluate(r.resource.properties?.method)),
    urlTemplate: String(r.evaluate(r.resource.properties?.urlTemplate)),
  }));
  const operationPolicies = Object.fromEntries(
    active(apim, 'Microsoft.ApiManagement/service/apis/operations/policies').map((r) => [r.name.split('/').slice(-2, -1)[0]!, String(r.evaluate(r.resource.properties?.value))]),
  );
  return { main, apim, api: policies[0]!, operations, operationPolicies };
}

/** The token validation the gateway must render for a sample: validate-jwt without client apps, validate-azure-ad-token with. */
export function checkTokenValidation(xml: string, expected: { tenantId: string; audiences: string[]; clientApps: string[] }): string[] {
  const problems: string[] = [];
  let root: XmlElement;
  try {
    root = parseXml(xml);
  } catch (error) {
    return [`the API policy is not well-formed XML: ${(error as Error).message}`];
  }
  const leftover = /__[A-Z][A-Z_]*__/.exec(xml);
  if (leftover) problems.push(`the API policy still holds the placeholder ${leftover[0]}`);
  const inbound = root.children.find((e) => e.name === 'inbound');
  if (!inbound) return [...problems, 'the API policy has no <inbound>'];
  const texts = (element: XmlElement | undefined, child: string, item: string) =>
    element?.children.find((e) => e.name === child)?.children.filter((e) => e.name === item).map((e) => e.text.trim()) ?? [];
  const aad = inbound.children.filter((e) => e.name === 'validate-azure-ad-token');
  const jwt = inbound.children.filter((e) => e.name === 'validate-jwt');
  const issuer = `https://login.microsoftonline.com/${expected.tenantId}/v2.0`;
  if (expected.clientApps.length > 0) {
    if (aad.length !== 1 || jwt.length !== 0) return [...problems, 'with client applications listed, the API policy must validate the token with exactly one validate-azure-ad-token (and no validate-jwt)'];
    const element = aad[0]!;
    if (element.attributes['tenant-id'] !== expected.tenantId) problems.push(`validate-azure-ad-token names tenant ${element.attributes['tenant-id']}, not ${expected.tenantId}`);
    const apps = texts(element, 'client-application-ids', 'application-id');
    if (apps.length === 0) problems.push('validate-azure-ad-token has no <client-application-ids> (the policy requires at least one application id)');
    else if (!sameSet(apps, expected.clientApps)) problems.push(`validate-azure-ad-token allows client applications [${apps.join(', ')}], not [${expected.clientApps.join(', ')}]`);
    if (!sameSet(texts(element, 'audiences', 'audience'), expected.audiences)) problems.push(`validate-azure-ad-token accepts audiences [${texts(element, 'audiences', 'audience').join(', ')}], not [${expected.audiences.join(', ')}]`);
    if (element.attributes['output-token-variable-name'] !== 'entraToken') problems.push('validate-azure-ad-token does not put the token in entraToken (the rate limit keys on it)');
  } else {
    if (jwt.length !== 1 || aad.length !== 0) return [...problems, 'without client applications, the API policy must validate the token with exactly one validate-jwt (validate-azure-ad-token needs at least one application id)'];
    const element = jwt[0]!;
    const config = element.children.find((e) => e.name === 'openid-config')?.attributes.url;
    if (config !== `${issuer}/.well-known/openid-configuration`) problems.push(`validate-jwt reads the OpenID configuration ${config}, not ${issuer}/.well-known/openid-configuration`);
    const issuers = texts(element, 'issuers', 'issuer');
    if (!sameSet(issuers, [issuer])) problems.push(`validate-jwt accepts issuers [${issuers.join(', ')}], not exactly ${issuer}`);
    if (!sameSet(texts(element, 'audiences', 'audience'), expected.audiences)) problems.push(`validate-jwt accepts audiences [${texts(element, 'audiences', 'audience').join(', ')}], not [${expected.audiences.join(', ')}]`);
    if (element.attributes['output-token-variable-name'] !== 'entraToken') problems.push('validate-jwt does not put the token in entraToken (the rate limit keys on it)');
    if (element.attributes['require-signed-tokens'] === 'false' || element.attributes['require-expiration-time'] === 'false') problems.push('validate-jwt accepts unsigned or non-expiring tokens');
  }
  return problems;
}

const expectedAudiences = (parameters: Record<string, unknown>) => {
  const client = String(parameters.entraClientId);
  const uri = typeof parameters.entraAppIdUri === 'string' && parameters.entraAppIdUri !== '' ? [parameters.entraAppIdUri] : [];
  return [client, `api://${client}`, ...uri];
};

// ---------------------------------------------------------------------------------------------------------------

export function checkDeployments(set: TemplateSet, context: CheckContext): string[] {
  const violations: string[] = [];
  const fail = (message: string) => violations.push(message);
  const guarded = (label: string, check: () => void) => {
    try {
      check();
    } catch (error) {
      fail(`cannot evaluate the deployment for ${label}: ${(error as Error).message}`);
    }
  };

  for (const sample of SAMPLES) guarded(sample.label, () => checkSample(set, context, sample, fail));
  guarded(APP_GROUP_LISTED.label, () => checkAppGroupListed(set, context, fail));
  guarded('each API Management tier', () => checkGatewayTls(set, fail));
  guarded('the smallest and largest baseName', () => checkNames(set, fail));
  return violations;
}

interface Places {
  appGroupId: string;
  managedGroupIds: string[];
  unprotectedGroupIds: string[];
  of: Record<string, string[]>;
}

function placesFor(main: Instance, parameters: Record<string, unknown>): Places {
  const subscriptionId = `/subscriptions/${SAMPLE_SCOPE.subscriptionId}`;
  const appGroupId = main.resourceGroupId!;
  const app = lower(SAMPLE_SCOPE.resourceGroup!);
  const managed = ((parameters.managedResourceGroups as string[]) ?? []).filter((group) => lower(group) !== app);
  const protectedGroups = ((parameters.protectedResourceGroups as string[]) ?? []).map(lower);
  const groupId = (group: string) => `${subscriptionId}/resourceGroups/${group}`;
  const variable = (name: string) => String(main.variable(name));
  const storage = (account: string) => `${appGroupId}/providers/Microsoft.Storage/storageAccounts/${variable(account)}`;
  const managedGroupIds = managed.map(groupId);
  const unprotectedGroupIds = managed.filter((group) => !protectedGroups.includes(lower(group))).map(groupId);
  return {
    appGroupId,
    managedGroupIds,
    unprotectedGroupIds,
    of: {
      'managed group': managedGroupIds,
      'unprotected managed group': unprotectedGroupIds,
      'department vault': [`${appGroupId}/providers/Microsoft.KeyVault/vaults/${variable('vaultName')}`],
      'app identity': [`${appGroupId}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${variable('identityName')}`],
      subscription: [subscriptionId],
      'audit container': [`${storage('dataStorageName')}/blobServices/default/containers/${variable('auditContainerName')}`],
      'approvals table': [`${storage('dataStorageName')}/tableServices/default/tables/${variable('approvalsTableName')}`],
      'audit anchor table': [`${storage('dataStorageName')}/tableServices/default/tables/${variable('auditAnchorTableName')}`],
      'audit key secret': [`${appGroupId}/providers/Microsoft.KeyVault/vaults/${variable('vaultName')}/secrets/${variable('auditKeySecretName')}`],
      'audit pseudonym key secret': [`${appGroupId}/providers/Microsoft.KeyVault/vaults/${variable('vaultName')}/secrets/${String(main.parameter('auditPseudonymKeySecretName'))}`],
      'catalogue signing key': [`${appGroupId}/providers/Microsoft.KeyVault/vaults/${variable('vaultName')}/keys/${variable('catalogueSigningKeyName')}`],
      'host storage account': [storage('hostStorageName')],
      'Application Insights': [`${appGroupId}/providers/Microsoft.Insights/components/${variable('appInsightsName')}`],
    },
  };
}

/** Every custom role definition of a deployment: id → label, and the resource (for its assignable scopes). */
function roleDefinitions(main: Instance): Map<string, { label: string; definition: ResourceInstance }> {
  const definitions = new Map<string, { label: string; definition: ResourceInstance }>();
  for (const instance of main.tree()) {
    for (const definition of active(instance, 'Microsoft.Authorization/roleDefinitions')) {
      const id = `/subscriptions/${instance.scope.subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${definition.name}`;
      definitions.set(lower(id), { label: labelOf(String(definition.evaluate(definition.resource.properties?.roleName))), definition });
    }
  }
  return definitions;
}

/** Every role assignment a deployment makes: role (custom label or built-in name), scope and principal. */
function roleAssignments(main: Instance, context: CheckContext, fail: (message: string) => void, where: string) {
  const definitions = roleDefinitions(main);
  const grants: { role: string; scope: string; principal: string }[] = [];
  for (const instance of main.tree()) {
    for (const assignment of active(instance, 'Microsoft.Authorization/roleAssignments')) {
      const id = textOf(assignment.evaluate(assignment.resource.properties?.roleDefinitionId));
      const builtIn = Object.entries(context.builtInRoles).find(([guid]) => lower(id).endsWith(`/roledefinitions/${guid}`));
      const custom = definitions.get(lower(id));
      const role = builtIn?.[1] ?? custom?.label;
      if (!role) {
        fail(`${where}: ${instance.file} assigns role definition ${id}, which is neither a Sovereign MCP role nor an allowed built-in role`);
        continue;
      }
      const principalText = textOf(assignment.evaluate(assignment.resource.properties?.principalId));
      const principal = /Microsoft\.ApiManagement\/service/i.test(principalText) ? 'gateway' : /userAssignedIdentities/i.test(principalText) ? 'app' : principalText;
      grants.push({ role, scope: assignment.scopeId, principal });
    }
  }
  return grants;
}

function checkSample(set: TemplateSet, context: CheckContext, sample: Sample, fail: (message: string) => void): void {
  const where = `with ${sample.label}`;
  const main = mainFor(set, sample.parameters);
  const places = placesFor(main, sample.parameters);
  const switchOn = (name: string) => main.parameter(name) === true;

  // Role assignments: exactly ROLE_GRANTS, each on its own scope, to the right principal.
  const actual = roleAssignments(main, context, fail, where).map(({ role, scope, principal }) => `${role} on ${lower(scope)} to ${principal}`);
  const expected: string[] = [];
  for (const [role, grants] of Object.entries(context.roleGrants)) {
    for (const grant of grants) {
      if (grant.when && !switchOn(grant.when)) continue;
      for (const scope of places.of[grant.on] ?? []) expected.push(`${role} on ${lower(scope)} to ${grant.principal ?? 'app'}`);
    }
  }
  for (const grant of actual) if (!expected.includes(grant)) fail(`${where}: the deployment assigns ${grant}, which ROLE_GRANTS does not allow`);
  for (const grant of expected) if (!actual.includes(grant)) fail(`${where}: the deployment does not assign ${grant}`);

  // Where each custom role may be assigned: exactly its scopes, never the subscription (but Group Writer).
  checkAssignableScopes(main, context, places, where, fail);

  // Gateway: token validation rendered for this sample, and only the allowed routes without a token.
  if (switchOn('enableApiManagement')) {
    const { api, operations, operationPolicies } = renderGatewayPolicies(set, sample.parameters);
    const clientApps = (main.parameter('authAllowedClientApps') as string[]) ?? [];
    for (const problem of checkTokenValidation(api, { tenantId: String(main.parameter('tenantId')), audiences: expectedAudiences(sample.parameters), clientApps })) fail(`${where}: ${problem}`);
    for (const operation of operations) {
      const xml = operationPolicies[operation.name];
      if (xml === undefined) continue;
      let root: XmlElement;
      try {
        root = parseXml(xml);
      } catch (error) {
        fail(`${where}: the policy of gateway operation ${operation.name} is not well-formed XML: ${(error as Error).message}`);
        continue;
      }
      const inbound = root.children.find((e) => e.name === 'inbound');
      const inheritsValidation = inbound?.children.some((e) => e.name === 'base') === true;
      const validates = descendants(root).some((e) => e.name === 'validate-jwt' || e.name === 'validate-azure-ad-token');
      if (inheritsValidation || validates) continue;
      if (!(operation.urlTemplate in ANONYMOUS_GATEWAY_ROUTES)) {
        fail(`${where}: API Management lets ${operation.method} ${operation.urlTemplate} through without token validation (allowed: ${Object.keys(ANONYMOUS_GATEWAY_ROUTES).join(', ')})`);
      }
      if (APP_SERVICE_AUTHENTICATED_ROUTES.includes(operation.urlTemplate)) {
        const prefix = operation.urlTemplate.replace(/\/(\{[^}]*\}|\*)$/, '');
        const excluded = excludedPaths(main).filter((path) => lower(path).startsWith(lower(prefix)));
        if (excluded.length > 0) fail(`${where}: API Management lets ${operation.urlTemplate} through without a token and App Service Authentication excludes ${excluded.join(', ')}: nothing authenticates it`);
      }
    }
    // Every route and method the app serves is an operation at the gateway, so a client behind it gets the app's own
    // answer (GET and DELETE /mcp: 405 from the server), not a gateway 404.
    const routeMatches = (template: string, route: string) => {
      const [want, have] = [template.split('/'), route.split('/')];
      return want.length === have.length && want.every((segment, i) => /^\{[^}]*\}$/.test(segment) || lower(segment) === lower(have[i]!));
    };
    for (const { route, methods } of context.appRoutes) {
      for (const method of methods) {
        const served = operations.some((operation) => operation.method === method && routeMatches(operation.urlTemplate, `/${route}`));
        if (!served) fail(`${where}: API Management has no operation for ${method} /${route}, which the app serves (callers get a gateway 404)`);
      }
    }
  }

  // App Service Authentication: the app registration's audiences, the tenant's issuer, the client-app list.
  const site = instanceWith(main, 'Microsoft.Web/sites');
  if (!site) fail(`${where}: no Function App is deployed`);
  else {
    const auth = active(site, 'Microsoft.Web/sites/config').find((r) => r.name.endsWith('/authsettingsV2'));
    if (!auth) fail(`${where}: the Function App has no authsettingsV2`);
    else {
      const aad = auth.resource.properties?.identityProviders?.azureActiveDirectory ?? {};
      const tenantId = String(main.parameter('tenantId'));
      const issuer = textOf(auth.evaluate(aad.registration?.openIdIssuer));
      if (issuer !== `https://login.microsoftonline.com/${tenantId}/v2.0`) fail(`${where}: App Service Authentication trusts the issuer ${issuer}, not the tenant's v2 issuer (tenantId parameter)`);
      const clientId = textOf(auth.evaluate(aad.registration?.clientId));
      if (clientId !== SAMPLE_CLIENT_ID) fail(`${where}: App Service Authentication signs in with client id ${clientId}, not the entraClientId parameter`);
      const audiences = auth.evaluate(aad.validation?.allowedAudiences);
      if (!Array.isArray(audiences) || !sameSet(audiences.map(textOf), expectedAudiences(sample.parameters))) {
        fail(`${where}: App Service Authentication accepts audiences [${Array.isArray(audiences) ? audiences.join(', ') : textOf(audiences)}], not those of the app registration (entraClientId, entraAppIdUri)`);
      }
      const policy = auth.evaluate(aad.validation?.defaultAuthorizationPolicy) ?? {};
      const allowed: string[] | undefined = policy.allowedApplications;
      const clientApps = (main.parameter('authAllowedClientApps') as string[]) ?? [];
      if (clientApps.length === 0) {
        if (allowed !== undefined && allowed.length > 0) fail(`${where}: App Service Authentication restricts client applications although authAllowedClientApps is empty`);
      } else if (!allowed || !sameSet(allowed, [...clientApps, SAMPLE_CLIENT_ID])) {
        fail(`${where}: App Service Authentication allows applications [${(allowed ?? []).join(', ')}], not authAllowedClientApps plus the app registration itself (approvers sign in with it)`);
      }
      // Only the gateway reaches the app when there is one; only then is X-Forwarded-Host trusted.
      const behind = switchOn('enableApiManagement');
      const convention = textOf(auth.evaluate(auth.resource.properties?.httpSettings?.forwardProxy?.convention ?? 'NoProxy'));
      if (behind && convention !== 'Standard') fail(`${where}: behind API Management, App Service Authentication does not use the gateway's X-Forwarded-Host (forwardProxy ${convention})`);
      if (!behind && convention !== 'NoProxy') fail(`${where}: without API Management, App Service Authentication trusts a forwarded host (forwardProxy ${convention}); it must be NoProxy`);
    }
    for (const app of active(site, 'Microsoft.Web/sites')) checkGatewayAdmission(app, switchOn('enableApiManagement'), where, fail);
  }

  // Storage without a customer-managed key is denied, enforced, in every managed group and the app's own.
  const denyDefinitions = new Set<string>();
  for (const instance of main.tree()) {
    for (const definition of active(instance, 'Microsoft.Authorization/policyDefinitions')) {
      const rule = definition.resource.properties?.policyRule ?? {};
      const conditions: Json[] = rule.if?.allOf ?? [];
      const storage = conditions.some((c) => c.field === 'type' && c.equals === 'Microsoft.Storage/storageAccounts');
      const keySource = conditions.some((c) => lower(String(c.field)) === 'microsoft.storage/storageaccounts/encryption.keysource' && lower(String(c.notEquals)) === 'microsoft.keyvault');
      if (storage && keySource && lower(String(rule.then?.effect)) === 'deny') {
        denyDefinitions.add(lower(`/subscriptions/${instance.scope.subscriptionId}/providers/Microsoft.Authorization/policyDefinitions/${definition.name}`));
      }
    }
  }
  for (const group of [...places.managedGroupIds, places.appGroupId]) {
    const enforced = main.tree().some(
      (instance) =>
        lower(instance.scopeId) === lower(group) &&
        active(instance, 'Microsoft.Authorization/policyAssignments').some(
          (assignment) =>
            denyDefinitions.has(lower(textOf(assignment.evaluate(assignment.resource.properties?.policyDefinitionId)))) &&
            assignment.evaluate(assignment.resource.properties?.enforcementMode) === 'Default',
        ),
    );
    if (!enforced) fail(`${where}: resource group ${group} has no enforced (enforcementMode Default) assignment of a policy denying storage accounts without a customer-managed key`);
  }

  // The audit container's immutability policy is written until it is locked, and never after.
  for (const locked of [false, true]) {
    const instance = mainFor(set, { ...sample.parameters, auditImmutabilityLocked: locked });
    const policies = instance
      .tree()
      .flatMap((i) => i.resources())
      .filter((r) => r.resource.type === 'Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies');
    if (policies.length === 0) fail(`${where}: no immutability policy for the audit container`);
    if (policies.some((policy) => policy.active === locked)) {
      fail(`${where}: with auditImmutabilityLocked ${locked}, the audit container's immutability policy is ${locked ? 'still written (a locked policy accepts no PUT)' : 'not written'}`);
    }
  }
}

/** The paths App Service Authentication lets through without authentication. */
function excludedPaths(main: Instance): string[] {
  const site = instanceWith(main, 'Microsoft.Web/sites');
  const auth = site && active(site, 'Microsoft.Web/sites/config').find((r) => r.name.endsWith('/authsettingsV2'));
  if (!auth) return [];
  const paths = auth.evaluate(auth.resource.properties?.globalValidation?.excludedPaths);
  return Array.isArray(paths) ? paths.map(textOf) : [];
}

function checkAssignableScopes(main: Instance, context: CheckContext, places: Places, where: string, fail: (message: string) => void): void {
  const subscriptionId = lower(`/subscriptions/${SAMPLE_SCOPE.subscriptionId}`);
  const expectedFor: Record<string, string[]> = {
    'managed groups': places.managedGroupIds,
    'unprotected managed groups': places.unprotectedGroupIds,
    'app group': [places.appGroupId],
    subscription: [`/subscriptions/${SAMPLE_SCOPE.subscriptionId}`],
  };
  for (const { label, definition } of roleDefinitions(main).values()) {
    const kind = context.assignableScopes[label];
    if (!kind) {
      fail(`${where}: role ${label} has no expected assignable scopes (ASSIGNABLE_SCOPES)`);
      continue;
    }
    const scopes = (definition.evaluate(definition.resource.properties?.assignableScopes) ?? []) as unknown[];
    const list = scopes.map(textOf);
    if (kind !== 'subscription' && list.some((scope) => lower(scope) === subscriptionId)) fail(`${where}: role ${label} is assignable on the whole subscription`);
    if (!sameSet(list, expectedFor[kind]!)) fail(`${where}: role ${label} is assignable on [${list.join(', ')}], not exactly the ${kind} [${expectedFor[kind]!.join(', ')}]`);
  }
}

function checkAppGroupListed(set: TemplateSet, context: CheckContext, fail: (message: string) => void): void {
  const main = mainFor(set, APP_GROUP_LISTED.parameters);
  const app = lower(SAMPLE_SCOPE.resourceGroup!);
  const groupRoles = Object.entries(context.roleGrants)
    .filter(([, grants]) => grants.some((grant) => grant.on === 'managed group' || grant.on === 'unprotected managed group'))
    .map(([role]) => role);
  const onAppGroup = roleAssignments(main, context, () => undefined, APP_GROUP_LISTED.label).filter(
    ({ role, scope }) => groupRoles.includes(role) && lower(scope) === lower(main.resourceGroupId!),
  );
  const redirected = main
    .deployments()
    .filter(({ resource }) => resource.active && resource.resource.resourceGroup !== undefined)
    .some(({ child }) => /^ERROR-/.test(child.scope.resourceGroup ?? '') && lower(child.scope.resourceGroup!) !== app);
  if (onAppGroup.length > 0 || !redirected) {
    fail(`listing the app's own resource group in managedResourceGroups does not make the deployment fail${onAppGroup.length ? ` (it would assign ${onAppGroup.map((g) => g.role).join(', ')} there)` : ''}`);
  }
  for (const { label, definition } of roleDefinitions(main).values()) {
    if (!groupRoles.includes(label)) continue;
    const scopes = ((definition.evaluate(definition.resource.properties?.assignableScopes) ?? []) as unknown[]).map(textOf);
    if (scopes.some((scope) => lower(scope) === lower(main.resourceGroupId!))) fail(`role ${label} is assignable in the app's own resource group when it is listed as managed`);
  }
}

function checkGatewayTls(set: TemplateSet, fail: (message: string) => void): void {
  const main = mainFor(set, { ...SAMPLES[0]!.parameters, enableApiManagement: true, apiManagementPublisherEmail: 'platform@example.gov.uk' });
  const tiers: string[] = main.template.parameters?.apiManagementSku?.allowedValues ?? [];
  for (const tier of tiers) {
    const apim = instanceWith(mainFor(set, { ...SAMPLES[0]!.parameters, enableApiManagement: true, apiManagementSku: tier, apiManagementPublisherEmail: 'x@example.gov.uk' }), 'Microsoft.ApiManagement/service');
    if (!apim) {
      fail('no template deploys Microsoft.ApiManagement/service');
      return;
    }
    const allowed: string[] = apim.template.parameters?.skuName?.allowedValues ?? [];
    for (const sku of allowed) {
      if (!TLS12_ONLY_TIERS.includes(sku) && !CONFIGURABLE_TLS_TIERS.includes(sku)) fail(`${apim.file}: API Management tier ${sku} is not known to the TLS check (TLS12_ONLY_TIERS or CONFIGURABLE_TLS_TIERS)`);
    }
    for (const service of active(apim, 'Microsoft.ApiManagement/service')) {
      const custom = service.evaluate(service.resource.properties?.customProperties);
      const settings = custom && typeof custom === 'object' ? (custom as Record<string, unknown>) : {};
      if (TLS12_ONLY_TIERS.includes(tier)) {
        if (Object.keys(settings).length > 0) fail(`${apim.file}: API Management sets protocol and cipher settings (customProperties) on ${tier}, which does not support changing them (it accepts TLS 1.2 only)`);
      } else {
        for (const setting of TLS_SETTINGS) {
          const key = `Microsoft.WindowsAzure.ApiManagement.Gateway.Security.${setting}`;
          if (lower(String(settings[key])) !== 'false') fail(`${apim.file}: API Management ${tier} allows ${setting.replace('Protocols.', '')} (TLS below 1.2)`);
        }
      }
    }
  }
}

function checkNames(set: TemplateSet, fail: (message: string) => void): void {
  const main = mainFor(set, SAMPLES[0]!.parameters);
  const baseName = main.template.parameters?.baseName ?? {};
  if (typeof baseName.minLength !== 'number' || typeof baseName.maxLength !== 'number') {
    fail('infra/main.json: parameter baseName must have minLength and maxLength (ARM cannot check a pattern)');
    return;
  }
  // Lowercase letters and digits, starting with a letter: the shortest and the longest the parameter allows.
  for (const length of [baseName.minLength, baseName.maxLength]) {
    const name = `s${'m9c'.repeat(20)}`.slice(0, length);
    const instance = mainFor(set, { ...SAMPLES[0]!.parameters, baseName: name });
    for (const [variable, { what, rule }] of Object.entries(NAME_RULES)) {
      let value: string;
      try {
        value = String(instance.variable(variable));
      } catch {
        fail(`infra/main.json: variable ${variable} (the ${what} name) is missing`);
        continue;
      }
      if (!rule.test(value)) fail(`infra/main.json: with baseName '${name}' the ${what} name ${value} does not fit its naming rules`);
    }
  }
}

/**
 * Who reaches the Function App. Behind the gateway: exactly the gateway instance's outbound addresses, everything else
 * denied. The ApiManagement service tag is not enough (it covers the control plane, not a gateway's calls to its back
 * ends), and would admit every API Management instance of every tenant. The deployment (scm) endpoint keeps its own
 * rules: the gateway does not forward to it, and with the gateway-only rules no deployment could reach it.
 */
function checkGatewayAdmission(app: ResourceInstance, behind: boolean, where: string, fail: (message: string) => void): void {
  const config = app.resource.properties?.siteConfig ?? {};
  const evaluated = app.evaluate(config.ipSecurityRestrictions) ?? [];
  const rules: Json[] = Array.isArray(evaluated) ? evaluated : [];
  if (!Array.isArray(evaluated)) fail(`${where}: the Function App's access restrictions cannot be known before deployment (${textOf(evaluated)})`);
  const defaultAction = app.evaluate(config.ipSecurityRestrictionsDefaultAction) ?? 'Allow';
  const serviceTags = rules.filter((rule) => lower(String(rule.tag ?? '')) === 'servicetag').map((rule) => String(rule.ipAddress));
  if (!behind) {
    const gatewayRules = serviceTags.some((tag) => lower(tag) === 'apimanagement') || rules.some((rule) => SAMPLE_GATEWAY_ADDRESSES.some((address) => String(rule.ipAddress).startsWith(`${address}/`)));
    if (gatewayRules || defaultAction === 'Deny') fail(`${where}: without API Management, the Function App is restricted to the gateway`);
    return;
  }
  if (defaultAction !== 'Deny') fail(`${where}: behind API Management, the Function App accepts traffic from outside the gateway (ipSecurityRestrictionsDefaultAction ${textOf(defaultAction)}, not Deny)`);
  if (serviceTags.length > 0) {
    fail(`${where}: behind API Management, the Function App admits the service tag ${serviceTags.join(', ')}: the ApiManagement tag covers the control plane, not the gateway's calls to the app, and any other tag admits others`);
  }
  const admitted = rules.filter((rule) => rule.action === 'Allow' && lower(String(rule.tag ?? 'default')) === 'default').map((rule) => String(rule.ipAddress));
  const expected = SAMPLE_GATEWAY_ADDRESSES.map((address) => `${address}/32`);
  if (!sameSet(admitted, expected)) {
    fail(`${where}: behind API Management, the Function App admits [${admitted.join(', ')}], not exactly the gateway's outbound addresses [${expected.join(', ')}]`);
  }
  if (config.scmIpSecurityRestrictionsUseMain !== false) fail(`${where}: the deployment (scm) endpoint uses the app's rules, which admit only the gateway: no deployment could reach it`);
}
