import type { RiskTier, ToolDefinition } from '../shared/tools/tool.js';

/** The exact RBAC actions the managed identity needs for the tools of the given tiers (sorted, unique). */
export function requiredPermissions(tools: readonly ToolDefinition[], tiers: readonly RiskTier[]) {
  const chosen = tools.filter((tool) => tiers.includes(tool.risk));
  const union = (pick: (tool: ToolDefinition) => readonly string[]) => [...new Set(chosen.flatMap(pick))].sort();
  return { actions: union((tool) => tool.azurePermissions.actions), dataActions: union((tool) => tool.azurePermissions.dataActions) };
}
