import type { ToolDefinition } from './tool.js';
import accessWhoami from './access/access_whoami.js';
import computeVmList from './compute/compute_vm_list.js';
import groupCreate from './group/group_create.js';
import groupDelete from './group/group_delete.js';
import groupGet from './group/group_get.js';
import groupList from './group/group_list.js';
import groupResourceList from './group/group_resource_list.js';
import keyvaultKeyCreate from './keyvault/keyvault_key_create.js';
import keyvaultKeyGet from './keyvault/keyvault_key_get.js';
import keyvaultKeyList from './keyvault/keyvault_key_list.js';
import keyvaultKeyRotate from './keyvault/keyvault_key_rotate.js';
import monitorActivityLogList from './monitor/monitor_activity_log_list.js';
import storageAccountCmkEnable from './storage/storage_account_cmk_enable.js';
import storageAccountCreate from './storage/storage_account_create.js';
import storageAccountDelete from './storage/storage_account_delete.js';
import storageAccountGet from './storage/storage_account_get.js';
import storageAccountList from './storage/storage_account_list.js';
import storageBlobDelete from './storage/storage_blob_delete.js';
import storageBlobList from './storage/storage_blob_list.js';
import storageBlobRead from './storage/storage_blob_read.js';
import storageBlobUpload from './storage/storage_blob_upload.js';
import storageCmkReport from './storage/storage_cmk_report.js';
import storageContainerCreate from './storage/storage_container_create.js';
import storageContainerList from './storage/storage_container_list.js';

/** Every tool the server offers. Adding a tool is one file plus one line here. */
export const TOOLS: readonly ToolDefinition[] = [
  groupList,
  groupGet,
  groupResourceList,
  groupCreate,
  groupDelete,
  storageAccountList,
  storageAccountGet,
  storageCmkReport,
  storageAccountCreate,
  storageAccountCmkEnable,
  storageAccountDelete,
  storageContainerList,
  storageContainerCreate,
  storageBlobList,
  storageBlobRead,
  storageBlobUpload,
  storageBlobDelete,
  keyvaultKeyList,
  keyvaultKeyGet,
  keyvaultKeyCreate,
  keyvaultKeyRotate,
  monitorActivityLogList,
  computeVmList,
  accessWhoami,
];

// linear: anchored; '_' separates the runs, so each character belongs to exactly one run.
const TOOL_NAME = /^[a-z]+(_[a-z]+)+$/;
const byName = new Map<string, ToolDefinition>();
for (const tool of TOOLS) {
  if (!TOOL_NAME.test(tool.name)) throw new Error(`Tool name '${tool.name}' is not area_noun_verb snake_case.`);
  if (byName.has(tool.name)) throw new Error(`Tool '${tool.name}' is registered twice.`);
  // linear: anchored; the dots separate the digit runs, each of at most 9 digits.
  if (!/^\d{1,9}\.\d{1,9}\.\d{1,9}$/.test(tool.version)) throw new Error(`Tool '${tool.name}' has version '${tool.version}': use major.minor.patch.`);
  // The policy decides every change on what it touches: a tool that changes anything must say what.
  if (tool.risk !== 'read' && !tool.target) throw new Error(`Tool '${tool.name}' changes resources but declares no target for the policy.`);
  byName.set(tool.name, tool);
}

export function findTool(name: string): ToolDefinition | undefined {
  return byName.get(name);
}
