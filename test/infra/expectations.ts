import { readdirSync, readFileSync } from 'node:fs';
import { HTTP_FUNCTIONS } from '../../functions/definitions.js';
import { APP_SETTING_NAMES, LOCAL_ONLY_SETTING_NAMES, PLATFORM_SETTING_NAMES } from '../../shared/config/settings.js';
import { findTool, TOOLS } from '../../shared/tools/registry.js';
import type { RiskTier } from '../../shared/domain/risk-tier.js';
import type { ToolDescriptor } from '../../shared/domain/tool-descriptor.js';
import type { AlertRuleSpec, CheckContext } from './check-context.js';

const isDelete = (action: string) => /\/delete$/i.test(action);
const union = (...lists: (readonly string[])[]) => [...new Set(lists.flat())].sort();

/**
 * Where an action applies, by its provider namespace. The tools touch Key Vault only in the department vault
 * (KEY_VAULT_URL) and hand out only the app's own identity, so those rights belong on that one vault and that one
 * identity — never on whole managed resource groups, where they would reach every vault and identity inside.
 * Everything else the tools do is in the managed resource groups.
 */
export type ActionScope = 'managed groups' | 'department vault' | 'app identity';
const SCOPE_BY_NAMESPACE: Record<string, ActionScope> = {
  'Microsoft.KeyVault': 'department vault',
  'Microsoft.ManagedIdentity': 'app identity',
};
export const actionScopeOf = (action: string): ActionScope => SCOPE_BY_NAMESPACE[action.split('/')[0]!] ?? 'managed groups';

/** The custom role that carries a tool's action, by the tool's risk tier and where the action applies. */
export const ROLE_FOR: Record<RiskTier, Partial<Record<ActionScope, string>>> = {
  read: { 'managed groups': 'Sovereign MCP Reader', 'department vault': 'Sovereign MCP Key Reader' },
  write: { 'managed groups': 'Sovereign MCP Operator', 'department vault': 'Sovereign MCP Key Operator', 'app identity': 'Sovereign MCP Identity Assigner' },
  destructive: { 'managed groups': 'Sovereign MCP Delete' },
};

/**
 * The role for one action a tool declares. A delete always goes to the destructive tier, so it lives in the Delete
 * role and a deployment without destructive tools holds no delete right at all, whatever tier declares it.
 */
export function roleFor(tier: RiskTier, action: string): string {
  const effective: RiskTier = isDelete(action) ? 'destructive' : tier;
  const role = ROLE_FOR[effective][actionScopeOf(action)];
  if (!role) throw new Error(`no custom role carries ${effective} actions on the ${actionScopeOf(action)} (${action}): add one to ROLE_FOR and modules/roles.json`);
  return role;
}

/** Every role the tools call for, with exactly the actions routed to it. */
function toolRoles(tools: readonly ToolDescriptor[]): Record<string, { actions: string[]; dataActions: string[] }> {
  const roles: Record<string, { actions: string[]; dataActions: string[] }> = {};
  for (const labels of Object.values(ROLE_FOR)) for (const label of Object.values(labels)) roles[label] = { actions: [], dataActions: [] };
  for (const tool of tools) {
    for (const action of tool.azurePermissions.actions) roles[roleFor(tool.risk, action)]!.actions.push(action);
    for (const action of tool.azurePermissions.dataActions) roles[roleFor(tool.risk, action)]!.dataActions.push(action);
  }
  return Object.fromEntries(Object.entries(roles).map(([label, { actions, dataActions }]) => [label, { actions: union(actions), dataActions: union(dataActions) }]));
}

export const TOOL_ROLES = toolRoles(TOOLS);
const groupCreate = findTool('group_create')!.azurePermissions;

/**
 * What each custom role must hold, derived from the tools' declared permissions per risk tier and per scope
 * (ROLE_FOR): Reader / Operator / Delete on the managed groups, Key Reader / Key Operator on the department vault,
 * Identity Assigner on the app's identity. Two more:
 * - Group Writer: exactly group_create's actions, for the subscription scope a new group needs.
 * - Platform: not a tool's; what the app needs on its own audit storage (blob append for the audit chain, table
 *   entities for approvals), written out here because no tool declares it.
 */
export const EXPECTED_ROLES: CheckContext['expectedRoles'] = {
  ...TOOL_ROLES,
  'Sovereign MCP Group Writer': { actions: union(groupCreate.actions), dataActions: union(groupCreate.dataActions) },
  'Sovereign MCP Platform': {
    actions: [
      // createTable on first use (shared/approvals/store.ts); the template creates the table, Azure still checks the right.
      'Microsoft.Storage/storageAccounts/tableServices/tables/read',
      'Microsoft.Storage/storageAccounts/tableServices/tables/write',
    ],
    dataActions: [
      // The audit chain: create append blobs and append blocks (shared/audit/blob-sink.ts); never delete.
      'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/add/action',
      'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read',
      'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write',
      // Approvals: insert, read, conditional merge; audit anchors: upsert of each writer's head; never delete.
      'Microsoft.Storage/storageAccounts/tableServices/tables/entities/add/action',
      'Microsoft.Storage/storageAccounts/tableServices/tables/entities/read',
      'Microsoft.Storage/storageAccounts/tableServices/tables/entities/update/action',
      'Microsoft.Storage/storageAccounts/tableServices/tables/entities/write',
    ],
  },
  // The tool catalogue's signature (shared/mcp/catalogue-signer.ts): Key Vault's sign operation, nothing else.
  'Sovereign MCP Catalogue Signer': { actions: [], dataActions: ['Microsoft.KeyVault/vaults/keys/sign/action'] },
};

/** Roles that are the app's own, not the tools': they are left out when comparing the roles' union with the tools'. */
export const PLATFORM_ROLES = ['Sovereign MCP Platform', 'Sovereign MCP Catalogue Signer'];

/**
 * Where every role may be assigned (custom roles' assignableScopes): never the whole subscription, except Group
 * Writer, whose only purpose is creating groups that do not exist yet. A custom role cannot be limited to a single
 * resource, so the vault and identity roles are assignable in the app's own group and assigned on the one resource.
 */
export const ASSIGNABLE_SCOPES: CheckContext['assignableScopes'] = {
  'Sovereign MCP Reader': 'managed groups',
  'Sovereign MCP Key Reader': 'app group',
  'Sovereign MCP Operator': 'unprotected managed groups',
  'Sovereign MCP Key Operator': 'app group',
  'Sovereign MCP Identity Assigner': 'app group',
  'Sovereign MCP Delete': 'unprotected managed groups',
  'Sovereign MCP Group Writer': 'subscription',
  'Sovereign MCP Platform': 'app group',
  'Sovereign MCP Catalogue Signer': 'app group',
};

/**
 * Every role assignment the deployment may make: role (custom label, or built-in name) → where, to whom, and under
 * which switch. Anything else the templates assign is a violation, and so is anything here they do not assign.
 */
export const ROLE_GRANTS: CheckContext['roleGrants'] = {
  'Sovereign MCP Reader': [{ on: 'managed group' }],
  'Sovereign MCP Key Reader': [{ on: 'department vault' }],
  'Sovereign MCP Operator': [{ on: 'unprotected managed group' }],
  'Sovereign MCP Key Operator': [{ on: 'department vault' }],
  'Sovereign MCP Identity Assigner': [{ on: 'app identity' }],
  'Sovereign MCP Delete': [{ on: 'unprotected managed group', when: 'enableDestructiveTools' }],
  'Sovereign MCP Group Writer': [{ on: 'subscription', when: 'enableGroupCreate' }],
  'Sovereign MCP Platform': [{ on: 'audit container' }, { on: 'audit anchor table' }, { on: 'approvals table', when: 'enableDestructiveTools' }],
  // Signing the tool catalogue: that one key, sign only.
  'Sovereign MCP Catalogue Signer': [{ on: 'catalogue signing key' }],
  // The audit trail's HMAC key and its pseudonym key: read access to those two secrets, nothing else in the vault.
  'Key Vault Secrets User': [{ on: 'audit key secret' }, { on: 'audit pseudonym key secret' }],
  // Storage encrypted with the department's keys unwraps them through the identity.
  'Key Vault Crypto Service Encryption User': [{ on: 'department vault' }],
  // What the Functions host documents for identity-based AzureWebJobsStorage and the deployment package; never the audit account.
  'Storage Blob Data Owner': [{ on: 'host storage account' }],
  // Telemetry with Entra authentication: the app, and the gateway with its own identity.
  'Monitoring Metrics Publisher': [{ on: 'Application Insights' }, { on: 'Application Insights', principal: 'gateway', when: 'enableApiManagement' }],
};

/** The built-in roles the templates may assign (by role definition id); any other built-in role is a violation. */
export const BUILT_IN_ROLES: CheckContext['builtInRoles'] = {
  'e147488a-f6f5-4113-8e2d-b22465e65bf6': 'Key Vault Crypto Service Encryption User',
  '4633458b-17de-408a-b874-0445c86b69e6': 'Key Vault Secrets User',
  'b7e6dc6d-f1e8-4753-8033-0f276bb0955b': 'Storage Blob Data Owner',
  '3913510d-42f4-4e42-8a64-420c390055eb': 'Monitoring Metrics Publisher',
};

/**
 * Settings the Functions host (not the app) reads, which the template sets besides the app's own:
 * identity-based host storage, Entra authentication of the host's Application Insights telemetry, the
 * protected-resource metadata App Service Authentication publishes for MCP clients, and the worker's Node heap
 * options (NODE_OPTIONS, from the instance size: dev/app-node-options.ts). (On Flex Consumption the runtime is set in
 * functionAppConfig, so FUNCTIONS_WORKER_RUNTIME and FUNCTIONS_EXTENSION_VERSION are not settings.)
 */
export const FUNCTIONS_HOST_SETTINGS = [
  'AzureWebJobsStorage__accountName',
  'AzureWebJobsStorage__credential',
  'AzureWebJobsStorage__clientId',
  'APPLICATIONINSIGHTS_AUTHENTICATION_STRING',
  'WEBSITE_AUTH_PRM_DEFAULT_WITH_SCOPES',
  'NODE_OPTIONS',
];

/**
 * Settings with defaults that the template deliberately leaves to the app's default. Empty: the template sets every
 * setting explicitly, so a deployment shows its whole configuration.
 */
export const DEFAULTS_KEPT: readonly string[] = [];

export const EXPECTED_APP_SETTINGS = [
  ...APP_SETTING_NAMES.filter((name) => !PLATFORM_SETTING_NAMES.includes(name) && !LOCAL_ONLY_SETTING_NAMES.includes(name) && !DEFAULTS_KEPT.includes(name)),
  ...FUNCTIONS_HOST_SETTINGS,
];

export function kqlFiles(dir = 'infra/kql'): Record<string, string> {
  return Object.fromEntries(
    readdirSync(dir)
      .filter((file) => file.endsWith('.kql'))
      .map((file) => [file.replace(/\.kql$/, ''), readFileSync(`${dir}/${file}`, 'utf8')]),
  );
}

/** The alert rules of infra/kql/alerts/rules.json, each with its query text. */
export function alertRules(dir = 'infra/kql/alerts'): AlertRuleSpec[] {
  const { rules } = JSON.parse(readFileSync(`${dir}/rules.json`, 'utf8')) as { rules: (Omit<AlertRuleSpec, 'base' | 'query'> & { file: string })[] };
  return rules.map(({ file, ...rule }) => ({ ...rule, base: file.replace(/\.kql$/, ''), query: readFileSync(`${dir}/${file}`, 'utf8') }));
}

export function checkContext(): CheckContext {
  return {
    expectedRoles: EXPECTED_ROLES,
    assignableScopes: ASSIGNABLE_SCOPES,
    roleGrants: ROLE_GRANTS,
    builtInRoles: BUILT_IN_ROLES,
    expectedAppSettings: EXPECTED_APP_SETTINGS,
    kqlFiles: kqlFiles(),
    alertRules: alertRules(),
    appRoutes: HTTP_FUNCTIONS.map(({ route, methods }) => ({ route, methods })),
  };
}
