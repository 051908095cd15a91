import { readdirSync, readFileSync } from 'node:fs';
import { APP_SETTING_NAMES, LOCAL_ONLY_SETTING_NAMES, PLATFORM_SETTING_NAMES } from '../../shared/config/settings.js';
import { findTool, TOOLS } from '../../shared/tools/registry.js';
import { requiredPermissions } from '../../dev/role-actions.js';
import type { CheckContext } from './template-checks.js';

const isDelete = (action: string) => /\/delete$/i.test(action);
const union = (...lists: (readonly string[])[]) => [...new Set(lists.flat())].sort();

const read = requiredPermissions(TOOLS, ['read']);
const write = requiredPermissions(TOOLS, ['write']);
const destructive = requiredPermissions(TOOLS, ['destructive']);
const groupCreate = findTool('group_create')!.azurePermissions;

/**
 * What each custom role must hold, derived from the tools' declared permissions per risk tier:
 * - Reader: exactly the read tools' actions.
 * - Operator: the write tools' actions without deletes. (storage_account_create declares storageAccounts/delete to
 *   remove an account whose creation failed half-way; that delete lives in the Delete role, so a deployment without
 *   destructive tools holds no delete right at all.)
 * - Delete: the destructive tools' actions plus any delete a write tool declares.
 * - Group Writer: exactly group_create's actions, for the subscription scope a new group needs.
 * - Platform: not a tool's; what the app needs on its own audit storage (blob append for the audit chain, table
 *   entities for approvals), written out here because no tool declares it.
 */
export const EXPECTED_ROLES: CheckContext['expectedRoles'] = {
  'Sovereign MCP Reader': read,
  'Sovereign MCP Operator': { actions: write.actions.filter((a) => !isDelete(a)), dataActions: write.dataActions.filter((a) => !isDelete(a)) },
  'Sovereign MCP Delete': {
    actions: union(destructive.actions, write.actions.filter(isDelete)),
    dataActions: union(destructive.dataActions, write.dataActions.filter(isDelete)),
  },
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
      // Approvals: insert, read, conditional merge; never delete.
      'Microsoft.Storage/storageAccounts/tableServices/tables/entities/add/action',
      'Microsoft.Storage/storageAccounts/tableServices/tables/entities/read',
      'Microsoft.Storage/storageAccounts/tableServices/tables/entities/update/action',
      'Microsoft.Storage/storageAccounts/tableServices/tables/entities/write',
    ],
  },
};

/**
 * Settings the Functions host (not the app) reads, which the template sets besides the app's own:
 * identity-based host storage, Entra authentication of the host's Application Insights telemetry, and the
 * protected-resource metadata App Service Authentication publishes for MCP clients. (On Flex Consumption the runtime
 * is set in functionAppConfig, so FUNCTIONS_WORKER_RUNTIME and FUNCTIONS_EXTENSION_VERSION are not settings.)
 */
export const FUNCTIONS_HOST_SETTINGS = [
  'AzureWebJobsStorage__accountName',
  'AzureWebJobsStorage__credential',
  'AzureWebJobsStorage__clientId',
  'APPLICATIONINSIGHTS_AUTHENTICATION_STRING',
  'WEBSITE_AUTH_PRM_DEFAULT_WITH_SCOPES',
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

export function checkContext(): CheckContext {
  return { expectedRoles: EXPECTED_ROLES, expectedAppSettings: EXPECTED_APP_SETTINGS, kqlFiles: kqlFiles() };
}
