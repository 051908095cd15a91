import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { readFileSync } from 'node:fs';
import type { Caller } from '../domain/caller.js';
import { ROLES_FOR_TIER } from '../auth/roles.js';
import type { PolicyTarget } from '../domain/policy-target.js';
import type { RiskTier } from '../domain/risk-tier.js';
import type { DepartmentPolicy } from './department-policy.js';
import { emergencyRefusal, type EmergencyMode } from './emergency-mode.js';
import { canonicalRegion } from './regions.js';
import { isBeneath, parseResourceId } from './resource-ids.js';

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
  /**
   * The department as this caller's tools see it: with scoped authority, only the resource groups the caller may
   * read (so list tools show nothing else); without it, the whole department.
   */
  departmentFor(caller: Caller): DepartmentPolicy;
}

/** The rule that permits work beneath a protected resource that the department policy excepts. */
const EXCEPTION_RULE = 'policy.protected-exception';
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
  emergencyMode: EmergencyMode = 'open',
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
    agentWriters: [...department.agents.write],
    agentDestructive: [...department.agents.destructive],
  };
  /** Per offer key (see offerKeyOf), whether each tool is offered: tools/list asks once per tool, per call. */
  const offered = new Map<string, Map<string, boolean>>();
  const decided = new Map<string, PolicyDecision>();
  const scopes = department.scopes;

  /** The groups (lower case) the caller's Entra groups and app roles grant, per tier; reading includes the others. */
  function grantsOf(caller: Caller): { read: string[]; change: string[]; delete: string[] } {
    const change = new Set<string>();
    const remove = new Set<string>();
    const read = new Set<string>();
    for (const grant of scopes ?? []) {
      const holds = grant.group !== undefined ? caller.groups.includes(grant.group) : caller.roles.includes(grant.role ?? '');
      if (!holds) continue;
      for (const group of grant.change) change.add(group.toLowerCase());
      for (const group of grant.delete) remove.add(group.toLowerCase());
      for (const group of [...grant.read, ...grant.change, ...grant.delete]) read.add(group.toLowerCase());
    }
    return { read: [...read], change: [...change], delete: [...remove] };
  }

  /**
   * The rules and the department policy are fixed for the life of the process, so a decision is a pure function
   * of caller, tool and target: remembered (bounded), it costs Cedar's ~100-300 µs only the first time.
   */
  function decide(caller: Caller, tool: { name: string; risk: RiskTier }, target: PolicyTarget = {}): PolicyDecision {
    const key = JSON.stringify([caller.oid, caller.roles, caller.isAgent, caller.clientAppId, caller.groups, caller.groupsOverage, tool.name, target]);
    let decision = decided.get(key);
    if (!decision) {
      decision = evaluate(caller, tool, target);
      if (decided.size >= MAX_REMEMBERED_DECISIONS) decided.delete(decided.keys().next().value as string);
      decided.set(key, decision);
    }
    return decision;
  }

  function evaluate(caller: Caller, tool: { name: string; risk: RiskTier }, target: PolicyTarget): PolicyDecision {
    const { context: targetFacts, protection, lifted, exception } = targetContext(target, department, subscriptionId, tool);
    const scope = { on: scopes !== undefined, overage: scopes !== undefined && caller.groupsOverage, ...grantsOf(caller) };
    const context = { tool: tool.name, department: departmentContext, target: targetFacts, emergencyMode, scope };
    let answer: cedar.AuthorizationAnswer;
    try {
      answer = cedar.statefulIsAuthorized({
        principal: { type: 'Caller', id: caller.oid },
        action: { type: 'Action', id: tool.name },
        resource: { type: 'Target', id: target.resourceId ?? target.group ?? 'subscription' },
        context,
        preparsedPolicySetId: POLICY_SET_ID,
        entities: [
          {
            uid: { type: 'Caller', id: caller.oid },
            attrs: { roles: [...caller.roles], isAgent: caller.isAgent, clientApp: caller.clientAppId?.toLowerCase() ?? '' },
            parents: [],
          },
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
    const reasons = answer.response.diagnostics.reason;
    if (answer.response.decision === 'allow') {
      // A call that passes only because of a protection exception is recorded under the exception's own rule.
      if (exception && reasons.includes(EXCEPTION_RULE)) {
        return {
          allowed: true,
          rule: EXCEPTION_RULE,
          reason: `Permitted by the department policy's exception for ${tool.name} beneath protected ${exception.resource} (${exception.reason}); lifted: ${lifted.join('; ')}.`,
        };
      }
      const rule = reasons.find((id) => id !== EXCEPTION_RULE) ?? 'unknown';
      return { allowed: true, rule, reason: `Permitted by the department policy's rule '${rule}'.` };
    }
    const [rule] = reasons;
    if (!rule) return { allowed: false, rule: 'default-deny', reason: missingRole(caller, tool) };
    if (rule.startsWith('scope.')) return { allowed: false, rule, reason: explainScope(rule, tool, context.target, scope) };
    return { allowed: false, rule, reason: explain(rule, tool, context.target, department, protection) };
  }

  return {
    department,
    decide,
    departmentFor(caller) {
      if (!scopes) return department;
      const readable = grantsOf(caller).read;
      return { ...department, resourceGroups: department.resourceGroups.filter((group) => readable.includes(group.toLowerCase())) };
    },
    offers(caller, tool) {
      // Two lookups by texts made once (the key per caller, the name per tool), not a key joined per tool.
      const key = offerKeyOf(caller);
      let byTool = offered.get(key);
      if (byTool === undefined) offered.set(key, (byTool = new Map<string, boolean>()));
      let allowed = byTool.get(tool.name);
      if (allowed === undefined) {
        // tools/list is per role (and per agent): scoped authority decides on the groups a call touches, not here.
        allowed = decide({ ...caller, groups: [], groupsOverage: false }, tool).allowed;
        byTool.set(tool.name, allowed);
      }
      return allowed;
    },
  };
}

/** What decides which tools a caller is offered (its roles, and which agent it is), per caller: tools/list asks once per tool. */
const offerKeys = new WeakMap<Caller, string>();

function offerKeyOf(caller: Caller): string {
  let key = offerKeys.get(caller);
  if (key === undefined) {
    key = `${[...caller.roles].sort().join(',')}|${caller.isAgent ? `agent:${caller.clientAppId?.toLowerCase() ?? ''}` : 'person'}`;
    offerKeys.set(caller, key);
  }
  return key;
}

/**
 * A rule that starts with a plain `@id("...")` annotation (Cedar hands back each rule's own source text, and refuses
 * a rule with two @id annotations): its id, read without converting the rule to JSON — which costs a cold start
 * ~25 ms of WebAssembly compilation for nothing else. Anything else (escapes, another annotation first) is read
 * from Cedar's JSON form.
 */
// linear: anchored; the class run excludes the `"` that ends it, so it is never retried.
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
  /** The target's id and each level above it (subscription, group, resource…) not lifted by an exception. */
  scopes?: string[];
  protectedByTag?: boolean;
  /** A listed protected resource lies beneath the target (deleting the target would delete it). */
  protectedBeneath?: boolean;
  /** The target's id is not one the policy can place in Azure's hierarchy. */
  unrecognisedId?: boolean;
  /** A protection exception of the department policy lifted protection that would otherwise refuse the call. */
  exceptionApplied?: boolean;
  newTagNames?: string[];
  /** The resource group the call touches (named, or the one its target id lies in), lower case. */
  scopeGroup?: string;
};

type Exception = DepartmentPolicy['protected']['exceptions'][number];

/**
 * What the rules see of a target, plus, for the explanation and the audit, what protects it and which exception
 * applies. Ids are compared normalised (lower case, no empty segments) at every level of the hierarchy.
 */
function targetContext(
  target: PolicyTarget,
  department: DepartmentPolicy,
  subscriptionId: string,
  tool: { name: string; risk: RiskTier },
): { context: TargetContext; protection: string[]; lifted: string[]; exception?: Exception } {
  const context: TargetContext = {};
  const protection: string[] = [];
  const liftedProtection: string[] = [];
  if (target.group !== undefined) context.group = target.group.toLowerCase();
  if (target.region !== undefined) context.region = canonicalRegion(target.region);
  // The target, or else the group the arguments name, placed in the hierarchy.
  const rawId = target.resourceId ?? (target.group !== undefined ? `/subscriptions/${subscriptionId}/resourceGroups/${target.group}` : undefined);
  const parsed = rawId === undefined ? undefined : parseResourceId(rawId);
  if (parsed && 'problem' in parsed) context.unrecognisedId = true;
  const levels = parsed && !('problem' in parsed) ? parsed.levels : [];
  const id = levels.at(-1);
  if (target.resourceId !== undefined) context.resourceId = id ?? target.resourceId.toLowerCase();
  // The resource group the call touches, named or inside the target's id: where scoped authority decides.
  const groupLevel = levels[1]?.split('/')[4];
  const scopeGroup = context.group ?? groupLevel;
  if (scopeGroup !== undefined) context.scopeGroup = scopeGroup;

  // The deepest exception for this tool at or above the target lifts protection from that level upwards; only
  // write tools are ever excepted (the loader refuses others; checked here again so a delete can never be).
  let exception: Exception | undefined;
  let liftedUpTo = -1;
  for (const candidate of tool.risk === 'write' ? department.protected.exceptions : []) {
    const at = levels.indexOf(candidate.resource);
    if (candidate.tool === tool.name && at > liftedUpTo) {
      exception = candidate;
      liftedUpTo = at;
    }
  }
  const lifted = new Set(levels.slice(0, liftedUpTo + 1));
  const protectedTag = (tags: Record<string, string>) => {
    const { name, value } = department.protected.tag;
    return Object.entries(tags).some(([key, tagValue]) => key.toLowerCase() === name.toLowerCase() && tagValue.toLowerCase() === value.toLowerCase());
  };
  const note = (level: string, why: string) => (lifted.has(level) ? liftedProtection : protection).push(`${level} ${why}`);

  for (const level of levels) if (department.protected.resources.includes(level)) note(level, 'is listed as protected');
  if (levels.length > 0) context.scopes = levels.filter((level) => !lifted.has(level));
  if (id !== undefined) context.protectedBeneath = department.protected.resources.some((listed) => isBeneath(listed, id));
  if (context.protectedBeneath) protection.push(`${id} holds protected resources`);

  let byTag = false;
  const tagged = (resourceId: string | undefined, tags: Record<string, string>) => {
    if (!protectedTag(tags)) return;
    const parsedAncestor = resourceId === undefined ? undefined : parseResourceId(resourceId);
    const level = parsedAncestor && !('problem' in parsedAncestor) ? parsedAncestor.id : (resourceId ?? id ?? 'the target').toLowerCase();
    note(level, `is tagged ${department.protected.tag.name}=${department.protected.tag.value}`);
    if (!lifted.has(level)) byTag = true;
  };
  if (target.tags) tagged(id ?? target.resourceId, target.tags);
  for (const ancestor of target.ancestors ?? []) tagged(ancestor.resourceId, ancestor.tags);
  if (target.tags || target.ancestors) context.protectedByTag = byTag;
  const applied = liftedProtection.length > 0 ? exception : undefined;
  if (applied) context.exceptionApplied = true;

  if (target.newTags) {
    // Azure tag names are case-insensitive; a required tag with an empty value does not count.
    context.newTagNames = Object.entries(target.newTags)
      .filter(([, value]) => value.trim() !== '')
      .map(([name]) => name.toLowerCase());
  }
  return { context, protection, lifted: liftedProtection, ...(applied ? { exception: applied } : {}) };
}

function explainScope(
  rule: string,
  tool: { name: string; risk: RiskTier },
  target: TargetContext,
  scope: { read: string[]; change: string[]; delete: string[] },
): string {
  if (rule === 'scope.groups-overage') {
    return (
      'Your token says you are in more Entra groups than it can list (groups overage), and this department grants ' +
      'authority by group, so nothing was decided by guessing. Ask the platform team to emit only the groups assigned ' +
      "to the application (app registration: groupMembershipClaims ApplicationGroup) and to assign the department's groups to it; then sign in again."
    );
  }
  const tier =
    { 'scope.read-not-granted': 'read in', 'scope.change-not-granted': 'change', 'scope.delete-not-granted': 'request deletion in' }[rule] ?? 'act in';
  const granted = rule === 'scope.read-not-granted' ? scope.read : rule === 'scope.change-not-granted' ? scope.change : scope.delete;
  return (
    `'${tool.name}' would ${tier} resource group '${target.scopeGroup}', which your groups do not grant (the department policy's scopes); ` +
    `you may ${tier} ${granted.length ? granted.join(', ') : 'no resource group'}.`
  );
}

function missingRole(caller: Caller, tool: { name: string; risk: RiskTier }): string {
  const needed = ROLES_FOR_TIER[tool.risk].join(' or ');
  const held = caller.roles.length ? caller.roles.join(', ') : 'no roles';
  return `Tool '${tool.name}' is a ${tool.risk} tool and needs the ${needed} role; the caller has ${held}.`;
}

function explain(rule: string, tool: { name: string }, target: TargetContext, department: DepartmentPolicy, protection: string[]): string {
  switch (rule) {
    case 'emergency.read-only':
    case 'emergency.no-destructive':
    case 'emergency.closed':
      return emergencyRefusal(rule.slice('emergency.'.length) as Exclude<EmergencyMode, 'open'>, `'${tool.name}'`);
    case 'agents.read-only-unless-named':
    case 'agents.destructive-unless-named':
      return (
        `'${tool.name}' changes the estate, and this caller is an agent acting as itself (an app-only token) whose client app ` +
        `is not listed under agents.${rule === 'agents.read-only-unless-named' ? 'write' : 'destructive'} in the department policy: agents read ` +
        `unless the department names them. Call as a signed-in person, or ask the platform team to list the agent.`
      );
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
      return `'${target.resourceId ?? target.group}' is protected (${protection.join('; ') || `tag ${department.protected.tag.name}=${department.protected.tag.value} or listed in the department policy`}); no tool may modify or delete it, or anything beneath it.`;
    case 'policy.target-unrecognised':
      return `'${target.resourceId}' is not an Azure resource id the policy can place; '${tool.name}' was refused.`;
    default:
      return `Refused by the department policy rule ${rule}.`;
  }
}
