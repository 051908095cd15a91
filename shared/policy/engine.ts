import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { readFileSync } from 'node:fs';
import type { Caller } from '../auth/caller.js';
import { ROLES_FOR_TIER } from '../auth/roles.js';
import type { RiskTier } from '../tools/tool.js';
import type { DepartmentPolicy } from './department-policy.js';
import { canonicalRegion } from './regions.js';
import { withoutTrailingSlashes } from '../text/trailing-slashes.js';

/** What a call touches, as far as it is known before (or, for tags, after reading) the resource. */
export interface PolicyTarget {
  group?: string;
  region?: string;
  /** ARM id of the resource the call changes or reads. */
  resourceId?: string;
  /** The existing resource's tags, read from Azure (protection by tag). */
  tags?: Record<string, string>;
  /** Tags the call sets on a new resource (required tags). */
  newTags?: Record<string, string>;
}

export interface PolicyDecision {
  allowed: boolean;
  /** The Cedar rule (@id) that decided; `default-deny` when no rule permits. */
  rule: string;
  reason: string;
}

export interface PolicyEngine {
  readonly department: DepartmentPolicy;
  decide(caller: Caller, tool: { name: string; risk: RiskTier }, target?: PolicyTarget): PolicyDecision;
  /** Whether a tool could be allowed for this caller at all (what tools/list shows); cached per role set. */
  offers(caller: Caller, tool: { name: string; risk: RiskTier }): boolean;
}

const RULES_FILE = new URL('../../../shared/policy/rules.cedar', import.meta.url);
const POLICY_SET_ID = 'sovereign-mcp';
const MAX_REMEMBERED_DECISIONS = 10_000;

export class PolicyRulesError extends Error {
  override name = 'PolicyRulesError';
}

/**
 * Compiles the Cedar rules once at start and evaluates them per call. Cedar skips a rule whose evaluation fails,
 * which for a `forbid` would mean failing open; so any evaluation error, like any engine failure, is a denial.
 */
export function createPolicyEngine(
  department: DepartmentPolicy,
  subscriptionId: string,
  rulesText = readFileSync(RULES_FILE, 'utf8'),
): PolicyEngine {
  const policies = namedPolicies(rulesText);
  const parsed = cedar.preparsePolicySet(POLICY_SET_ID, { staticPolicies: policies });
  if (parsed.type === 'failure') throw new PolicyRulesError(`The Cedar rules do not parse: ${parsed.errors.map((e) => e.message).join('; ')}`);

  const departmentContext = {
    regions: [...department.regions],
    resourceGroups: [...department.resourceGroups],
    disabledTools: [...department.disabledTools],
    readOnly: department.readOnly,
    protectedResources: [...department.protected.resources],
    requiredTags: department.requiredTags.map((tag) => tag.toLowerCase()),
  };
  const offered = new Map<string, boolean>();
  const decided = new Map<string, PolicyDecision>();

  /**
   * The rules and the department policy are fixed for the life of the process, so a decision is a pure function
   * of caller, tool and target: remembered (bounded), it costs Cedar's ~100-300 µs only the first time.
   */
  function decide(caller: Caller, tool: { name: string; risk: RiskTier }, target: PolicyTarget = {}): PolicyDecision {
    const key = JSON.stringify([caller.oid, caller.roles, tool.name, target]);
    let decision = decided.get(key);
    if (!decision) {
      decision = evaluate(caller, tool, target);
      if (decided.size >= MAX_REMEMBERED_DECISIONS) decided.delete(decided.keys().next().value as string);
      decided.set(key, decision);
    }
    return decision;
  }

  function evaluate(caller: Caller, tool: { name: string; risk: RiskTier }, target: PolicyTarget): PolicyDecision {
    const context = { tool: tool.name, department: departmentContext, target: targetContext(target, department, subscriptionId) };
    let answer: cedar.AuthorizationAnswer;
    try {
      answer = cedar.statefulIsAuthorized({
        principal: { type: 'Caller', id: caller.oid },
        action: { type: 'Action', id: tool.name },
        resource: { type: 'Target', id: target.resourceId ?? target.group ?? 'subscription' },
        context,
        preparsedPolicySetId: POLICY_SET_ID,
        entities: [
          { uid: { type: 'Caller', id: caller.oid }, attrs: { roles: [...caller.roles] }, parents: [] },
          { uid: { type: 'Action', id: tool.name }, attrs: {}, parents: [{ type: 'Action', id: `tier:${tool.risk}` }] },
          { uid: { type: 'Action', id: `tier:${tool.risk}` }, attrs: {}, parents: [] },
        ],
      });
    } catch (error) {
      return { allowed: false, rule: 'policy.evaluation-error', reason: `The policy could not be evaluated (${String(error)}); refused.` };
    }
    if (answer.type === 'failure' || answer.response.diagnostics.errors.length > 0) {
      return { allowed: false, rule: 'policy.evaluation-error', reason: 'The policy could not be evaluated for this call; refused.' };
    }
    const [rule] = answer.response.diagnostics.reason;
    if (answer.response.decision === 'allow') return { allowed: true, rule: rule ?? 'unknown', reason: `Permitted by the department policy's rule '${rule ?? 'unknown'}'.` };
    if (!rule) return { allowed: false, rule: 'default-deny', reason: missingRole(caller, tool) };
    return { allowed: false, rule, reason: explain(rule, tool, context.target, department) };
  }

  return {
    department,
    decide,
    offers(caller, tool) {
      const key = `${tool.name}|${[...caller.roles].sort().join(',')}`;
      let allowed = offered.get(key);
      if (allowed === undefined) {
        allowed = decide(caller, tool).allowed;
        offered.set(key, allowed);
      }
      return allowed;
    },
  };
}

/**
 * A rule that starts with a plain `@id("...")` annotation (Cedar hands back each rule's own source text, and refuses
 * a rule with two @id annotations): its id, read without converting the rule to JSON — which costs a cold start
 * ~25 ms of WebAssembly compilation for nothing else. Anything else (escapes, another annotation first) is read
 * from Cedar's JSON form.
 */
// linear: anchored, one attempt; the name class excludes the closing quote: one pass.
const LEADING_ID = /^@id\("([A-Za-z0-9_.:-]+)"\)/;

/** Cedar names policies policy0, policy1…; the audit needs the rule's own name, its @id annotation. */
export function namedPolicies(text: string): Record<string, string> {
  const parts = cedar.policySetTextToParts(text);
  if (parts.type === 'failure') throw new PolicyRulesError(`The Cedar rules do not parse: ${parts.errors.map((e) => e.message).join('; ')}`);
  const named: Record<string, string> = {};
  for (const policy of parts.policies) {
    const id = LEADING_ID.exec(policy)?.[1] ?? annotatedId(policy);
    if (!id) throw new PolicyRulesError(`Every Cedar rule needs an @id annotation: ${policy.slice(0, 80)}`);
    if (named[id]) throw new PolicyRulesError(`Two Cedar rules share the @id ${id}`);
    named[id] = policy;
  }
  return named;
}

function annotatedId(policy: string): string | undefined {
  const json = cedar.policyToJson(policy);
  return json.type === 'success' ? json.json.annotations?.id : undefined;
}

/** A type alias, not an interface, so it fits Cedar's JSON value type. */
type TargetContext = {
  group?: string;
  region?: string;
  resourceId?: string;
  scopes?: string[];
  protectedByTag?: boolean;
  newTagNames?: string[];
};

function targetContext(target: PolicyTarget, department: DepartmentPolicy, subscriptionId: string): TargetContext {
  const context: TargetContext = {};
  if (target.group !== undefined) context.group = target.group.toLowerCase();
  if (target.region !== undefined) context.region = canonicalRegion(target.region);
  const id = target.resourceId === undefined ? undefined : withoutTrailingSlashes(target.resourceId.toLowerCase());
  if (id) context.resourceId = id;
  // The target and its resource group, so a listed group protects everything in it, known from the arguments.
  const groupId =
    // linear: anchored; each [^/]+ stops at the literal '/' after it: one pass.
    /^\/subscriptions\/[^/]+\/resourcegroups\/[^/]+/.exec(id ?? '')?.[0] ??
    (context.group ? `/subscriptions/${subscriptionId}/resourcegroups/${context.group}`.toLowerCase() : undefined);
  const scopes = [groupId, id].filter((scope): scope is string => scope !== undefined);
  if (scopes.length > 0) context.scopes = [...new Set(scopes)];
  if (target.tags) {
    const { name, value } = department.protected.tag;
    context.protectedByTag = Object.entries(target.tags).some(
      ([key, tagValue]) => key.toLowerCase() === name.toLowerCase() && tagValue.toLowerCase() === value.toLowerCase(),
    );
  }
  if (target.newTags) {
    // Azure tag names are case-insensitive; a required tag with an empty value does not count.
    context.newTagNames = Object.entries(target.newTags)
      .filter(([, value]) => value.trim() !== '')
      .map(([name]) => name.toLowerCase());
  }
  return context;
}

function missingRole(caller: Caller, tool: { name: string; risk: RiskTier }): string {
  const needed = ROLES_FOR_TIER[tool.risk].join(' or ');
  const held = caller.roles.length ? caller.roles.join(', ') : 'no roles';
  return `Tool '${tool.name}' is a ${tool.risk} tool and needs the ${needed} role; the caller has ${held}.`;
}

function explain(rule: string, tool: { name: string }, target: TargetContext, department: DepartmentPolicy): string {
  switch (rule) {
    case 'policy.tool-disabled':
      return `Tool '${tool.name}' is switched off for this deployment by the department policy.`;
    case 'policy.read-only-deployment':
      return `This deployment is read-only by department policy; '${tool.name}' would change resources.`;
    case 'policy.uk-regions-only':
      return `Region '${target.region}' is not allowed: resources may only be created in ${department.regions.join(' or ')}.`;
    case 'policy.resource-group-out-of-scope':
      return `Resource group '${target.group}' is outside the resource groups this app manages.`;
    case 'policy.required-tags': {
      const missing = department.requiredTags.filter((tag) => !target.newTagNames?.includes(tag.toLowerCase()));
      return `New resources must carry the tags ${department.requiredTags.join(', ')}; missing or empty: ${missing.join(', ')}.`;
    }
    case 'policy.protected-resource':
      return `'${target.resourceId ?? target.group}' is protected (tag ${department.protected.tag.name}=${department.protected.tag.value} or listed in the department policy); no tool may modify or delete it.`;
    default:
      return `Refused by the department policy rule ${rule}.`;
  }
}
