import type { Caller } from '../auth/caller.js';
import type { RiskTier } from '../tools/tool.js';

/** Entra app roles (the token's `roles` claim). */
export const ROLES = {
  reader: 'Mcp.Reader',
  operator: 'Mcp.Operator',
  approver: 'Mcp.Approver',
} as const;

/** Which roles may call tools of each tier. Approvers approve others' requests; the role alone runs no tool. */
const ROLES_FOR_TIER: Record<RiskTier, readonly string[]> = {
  read: [ROLES.reader, ROLES.operator],
  write: [ROLES.operator],
  destructive: [ROLES.operator],
};

export interface Decision {
  allowed: boolean;
  /** The rule that decided, for the audit trail and the caller. */
  rule: string;
  reason: string;
}

/** Role × risk tier; deny by default. */
export function authorise(caller: Caller, tool: { name: string; risk: RiskTier }): Decision {
  const accepted = ROLES_FOR_TIER[tool.risk];
  const held = accepted.find((role) => caller.roles.includes(role));
  if (held) return { allowed: true, rule: `role:${held}:${tool.risk}`, reason: `${held} may call ${tool.risk} tools` };
  return {
    allowed: false,
    rule: `role:missing:${tool.risk}`,
    reason: `Tool '${tool.name}' is a ${tool.risk} tool and needs the ${accepted.join(' or ')} role; the caller has ${caller.roles.length ? caller.roles.join(', ') : 'no roles'}.`,
  };
}
