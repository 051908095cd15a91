import type { RiskTier } from '../shared/domain/risk-tier.js';
import type { ToolDescriptor } from '../shared/domain/tool-descriptor.js';

/** The exact RBAC actions the managed identity needs for the tools of the given tiers (sorted, unique). */
export function requiredPermissions(tools: readonly ToolDescriptor[], tiers: readonly RiskTier[]) {
  const chosen = tools.filter((tool) => tiers.includes(tool.risk));
  const union = (pick: (tool: ToolDescriptor) => readonly string[]) => [...new Set(chosen.flatMap(pick))].sort();
  return { actions: union((tool) => tool.azurePermissions.actions), dataActions: union((tool) => tool.azurePermissions.dataActions) };
}
