import { describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ROLES, ROLES_FOR_TIER } from '../shared/auth/roles.js';
import type { Caller } from '../shared/domain/caller.js';
import type { RiskTier } from '../shared/domain/risk-tier.js';
import { loadDepartmentPolicy } from '../shared/policy/department-policy.js';
import { createPolicyEngine } from '../shared/policy/engine.js';
import { TOOLS } from '../shared/tools/registry.js';

/**
 * The Cedar rules (shared/policy/rules.cedar) decide who may call each tier; ROLES_FOR_TIER only tells a refused
 * caller which role it lacks. Asking the engine itself, role by role, keeps the two from drifting apart.
 */
describe('the roles each risk tier needs', () => {
  const engine = createPolicyEngine(
    loadDepartmentPolicy(
      'shared/policy/department.yaml',
      TOOLS.map((tool) => tool.name),
    ),
    randomUUID(),
  );
  const person = (roles: string[]): Caller => ({
    oid: randomUUID(),
    tid: randomUUID(),
    roles,
    scopes: [],
    expiresAt: 0,
    authContexts: [],
    isAgent: false,
    groups: [],
    groupsOverage: false,
  });
  const tiers: RiskTier[] = ['read', 'write', 'destructive'];

  it('are, in ROLES_FOR_TIER, exactly the roles the Cedar rules permit for every tool of that tier', () => {
    for (const tier of tiers) {
      const tools = TOOLS.filter((tool) => tool.risk === tier);
      expect(tools.length).toBeGreaterThan(0);
      for (const tool of tools) {
        const permitted = Object.values(ROLES).filter((role) => engine.decide(person([role]), tool).allowed);
        expect({ tool: tool.name, roles: permitted.sort() }).toEqual({ tool: tool.name, roles: [...ROLES_FOR_TIER[tier]].sort() });
      }
      expect(engine.decide(person([]), tools[0]!)).toMatchObject({ allowed: false, rule: 'default-deny' });
    }
  });

  it('are named in the Cedar rules only from ROLES', () => {
    const rules = readFileSync('shared/policy/rules.cedar', 'utf8');
    // linear: a fixed prefix, then one character class up to a quote (the repository's own file).
    const named = [...rules.matchAll(/roles\.contains\("([^"]*)"\)/g)].map((match) => match[1]);
    expect(named.length).toBeGreaterThan(0);
    for (const role of named) expect(Object.values(ROLES)).toContain(role);
  });
});
