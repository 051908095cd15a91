import type { RiskTier } from '../domain/risk-tier.js';

/** The Entra app roles of the app registration (the token's `roles` claim). */
export const ROLES = {
  reader: 'Mcp.Reader',
  operator: 'Mcp.Operator',
  approver: 'Mcp.Approver',
} as const;

/**
 * Which roles the Cedar rules (shared/policy/rules.cedar) let call each tier; kept here to tell a refused caller
 * what it lacks. Approvers approve others' destructive requests; the role alone runs no tool.
 */
export const ROLES_FOR_TIER: Record<RiskTier, readonly string[]> = {
  read: [ROLES.reader, ROLES.operator],
  write: [ROLES.operator],
  destructive: [ROLES.operator],
};
