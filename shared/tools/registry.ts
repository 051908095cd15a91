import type { ToolDefinition } from './tool.js';
import accessWhoami from './access/access_whoami.js';
import computeVmList from './compute/compute_vm_list.js';
import groupCreate from './group/group_create.js';
import groupGet from './group/group_get.js';
import groupList from './group/group_list.js';
import groupResourceList from './group/group_resource_list.js';
import keyvaultKeyGet from './keyvault/keyvault_key_get.js';
import keyvaultKeyList from './keyvault/keyvault_key_list.js';
import monitorActivityLogList from './monitor/monitor_activity_log_list.js';
import storageAccountGet from './storage/storage_account_get.js';
import storageAccountList from './storage/storage_account_list.js';
import storageBlobList from './storage/storage_blob_list.js';
import storageBlobRead from './storage/storage_blob_read.js';
import storageContainerList from './storage/storage_container_list.js';

/** Every tool the server offers. Adding a tool is one file plus one line here. */
export const TOOLS: readonly ToolDefinition[] = [
  groupList,
  groupGet,
  groupResourceList,
  groupCreate,
  storageAccountList,
  storageAccountGet,
  storageContainerList,
  storageBlobList,
  storageBlobRead,
  keyvaultKeyList,
  keyvaultKeyGet,
  monitorActivityLogList,
  computeVmList,
  accessWhoami,
];

const TOOL_NAME = /^[a-z]+(_[a-z]+)+$/;
const byName = new Map<string, ToolDefinition>();
for (const tool of TOOLS) {
  if (!TOOL_NAME.test(tool.name)) throw new Error(`Tool name '${tool.name}' is not area_noun_verb snake_case.`);
  if (byName.has(tool.name)) throw new Error(`Tool '${tool.name}' is registered twice.`);
  byName.set(tool.name, tool);
}

export function findTool(name: string): ToolDefinition | undefined {
  return byName.get(name);
}
