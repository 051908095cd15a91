import type { Caller } from '../domain/caller.js';
import { requiredContext, STEP_UP_RULE, stepUpMessage } from '../auth/step-up.js';
import { toToolError } from '../azure/errors.js';
import { targetsOf } from '../azure/missing-resource.js';
import { passApprovalGate } from '../approvals/gate.js';
import type { ApprovalStore } from '../approvals/store.js';
import { AUDIT_READY_TIMEOUT_MS } from '../config/deadlines.js';
import type { Settings } from '../config/settings.js';
import type { PolicyTarget } from '../domain/policy-target.js';
import type { PolicyDecision, PolicyEngine } from '../policy/engine.js';
import type { RateLimits } from '../policy/rate-limits.js';
import { frameResult } from '../shield/frame.js';
import { callerText, examineTexts, largeTexts, shieldOutput, type Examined } from '../shield/shield.js';
import type { ToolContext, ToolDefinition } from '../tools/tool.js';
import { ToolError } from './errors.js';
import { describeInvalidArguments, quoteName } from './invalid-arguments.js';
import { SHIELD_META_KEY, type ToolOutcome } from './outcome.js';

/**
 * The stages of a tool call, in the order the pipeline runs them (shared/pipeline/run-tool.ts):
 * find the tool → rate limit → decide (role × tier) → step-up → validate input → decide on the target → audit
 * readiness → approval gate → execute → validate output → shield. Each returns what it found; a stage that refuses
 * throws a ToolError, and a stage that decides returns its decision for the audit record (the pipeline records it
 * before enforcing it).
 */

/** What a deciding stage found: the decision (for the audit) and, when it refuses, what the caller is told. */
export interface Gate {
  decision: PolicyDecision;
  refusal?: ToolError;
}

export function unknownToolDecision(toolName: string): PolicyDecision {
  return { allowed: false, rule: 'tool.unknown', reason: `No tool is named ${quoteName(toolName)}.` };
}

export function findTool(tools: ReadonlyMap<string, ToolDefinition>, toolName: string): ToolDefinition {
  const tool = tools.get(toolName);
  if (!tool) throw new ToolError('unknown_tool', `No tool is named ${quoteName(toolName)}. Call tools/list to see the tools you may use.`);
  return tool;
}

export async function rateLimit(rateLimits: RateLimits, caller: Caller, tool: ToolDefinition): Promise<Gate | undefined> {
  const limit = await rateLimits.consume(caller.oid, tool.name);
  if (limit.allowed) return undefined;
  const decision = { allowed: false, rule: 'policy.rate-limit', reason: `Rate limit of ${limit.limit} for ${tool.name}` };
  const refusal = new ToolError(
    'rate_limited',
    `Too many calls to ${tool.name}: the limit is ${limit.limit} per caller. Retry after ${limit.retryAfterSeconds} s.`,
    {
      rule: decision.rule,
      retryAfterSeconds: limit.retryAfterSeconds,
    },
  );
  return { decision, refusal };
}

/** A policy decision as a gate: refused with the rule's own words; the rule travels to the caller and the audit. */
export function policyGate(decision: PolicyDecision): Gate {
  if (decision.allowed) return { decision };
  const code = decision.rule === 'policy.resource-group-out-of-scope' ? 'out_of_scope' : 'forbidden';
  return { decision, refusal: new ToolError(code, decision.reason, { rule: decision.rule }) };
}

/** Role × tier first, so a caller without the role learns nothing about the tool's arguments. */
export function decideRoleAndTier(policy: PolicyEngine, caller: Caller, tool: ToolDefinition): Gate {
  return policyGate(policy.decide(caller, tool));
}

/**
 * The authentication context a call of this tool still needs from this caller (a step-up), or undefined: the
 * tool needs none, the token carries it, or the caller may not call the tool at all (refused by its own rule).
 */
export function missingStepUp(policy: PolicyEngine, caller: Caller, tool: ToolDefinition | undefined): string | undefined {
  if (!tool || !policy.offers(caller, tool)) return undefined;
  const context = requiredContext(policy.department.stepUp, tool.risk);
  return context && !caller.authContexts.includes(context) ? context : undefined;
}

/** Then a fresh, stronger sign-in where the department demands one for this tier. */
export function stepUp(policy: PolicyEngine, caller: Caller, tool: ToolDefinition): Gate | undefined {
  const context = missingStepUp(policy, caller, tool);
  if (!context) return undefined;
  const message = stepUpMessage(tool.name, tool.risk, context);
  return {
    decision: { allowed: false, rule: STEP_UP_RULE, reason: message },
    refusal: new ToolError('step_up_required', message, { rule: STEP_UP_RULE, authContext: context }),
  };
}

/** The arguments as the tool's schema reads them. */
export type ToolArguments = Record<string, unknown>;

export function validateInput(tool: ToolDefinition, args: unknown): ToolArguments {
  const parsed = tool.input.safeParse(args ?? {});
  if (!parsed.success) throw new ToolError('invalid_arguments', describeInvalidArguments(tool.name, parsed.error));
  return parsed.data;
}

/** Before any Azure call: what the arguments say the call touches. */
export function decideTarget(policy: PolicyEngine, settings: Settings, caller: Caller, tool: ToolDefinition, args: ToolArguments): Gate {
  return decideOn(policy, caller, tool, tool.target?.(args, policy.department, settings.subscriptionId) ?? {});
}

/** A target found while the tool runs (the tool's `authorize`), decided as the arguments' targets are. */
export function decideOn(policy: PolicyEngine, caller: Caller, tool: ToolDefinition, target: PolicyTarget): Gate {
  return policyGate(policy.decide(caller, tool, target));
}

/** Write and destructive calls are refused while the tamper-evident store does not take records: nothing changes that could not be audited. */
export async function requireAuditReady(auditReady: ((timeoutMs: number) => Promise<boolean>) | undefined, tool: ToolDefinition): Promise<void> {
  if (tool.risk === 'read') return;
  if (!auditReady) {
    throw new ToolError('forbidden', `Tool '${tool.name}' changes resources, and no audit store is configured (AUDIT_CONTAINER_URL).`, {
      rule: 'audit.not-configured',
    });
  }
  if (!(await auditReady(AUDIT_READY_TIMEOUT_MS))) {
    throw new ToolError(
      'audit_unavailable',
      `The audit store is not accepting records, so '${tool.name}' was refused and nothing was changed (read tools still work). Try again shortly.`,
      { rule: 'audit.store-unavailable' },
    );
  }
}

/** The approval this call runs under, when it needs one. */
export interface ApprovalUsed {
  approvalId: string;
  approverOid?: string;
}

/** No destructive tool runs on an agent's say-so: a human other than the requester approves this exact call. */
export async function approvalGate(
  approvals: ApprovalStore | undefined,
  settings: Settings,
  tool: ToolDefinition,
  request: { args: ToolArguments; caller: Caller; origin: string },
  context: ToolContext,
): Promise<ApprovalUsed | undefined> {
  if (tool.risk !== 'destructive') return undefined;
  if (!approvals) {
    throw new ToolError('forbidden', `Tool '${tool.name}' needs human approval, and approvals are not configured for this deployment.`, {
      rule: 'approval.not-configured',
    });
  }
  const { approval } = await passApprovalGate(approvals, {
    tool: tool.name,
    args: request.args,
    caller: request.caller,
    origin: request.origin,
    ttlMinutes: settings.approvals?.ttlMinutes ?? 30,
    impact: () => tool.impact?.(request.args, context) ?? Promise.resolve({ targets: [], details: [] }),
  });
  return { approvalId: approval.id, ...(approval.decidedByOid ? { approverOid: approval.decidedByOid } : {}) };
}

/** Runs the tool; a failure becomes the caller's error (an Azure error, a timeout), naming a spent approval. */
export async function execute(
  tool: ToolDefinition,
  args: ToolArguments,
  context: ToolContext,
  deadline: { signal: AbortSignal; timeoutMs: number },
  approval: ApprovalUsed | undefined,
): Promise<unknown> {
  try {
    return await tool.handler(args, context);
  } catch (error) {
    const failure = await toToolError(error, { timedOut: deadline.signal.aborted, timeoutMs: deadline.timeoutMs }, targetsOf(tool.name, args));
    if (!approval) throw failure;
    // The approval was spent on this attempt (it runs its call at most once): "try again" needs a new one.
    throw new ToolError(
      failure.code,
      `${failure.message} Approval ${approval.approvalId} has been used by this attempt: to try again, repeat the call without approvalId to request a new approval.`,
      { ...failure.details, approvalId: approval.approvalId },
      { cause: failure.cause ?? failure },
    );
  }
}

/** A handler returning something its schema does not allow is our bug, not the caller's. */
export function validateOutput(tool: ToolDefinition, output: unknown): Record<string, unknown> {
  return tool.output.parse(output);
}

/** What a result without long texts has examined ahead of the walk: nothing. */
const NOTHING_EXAMINED: ReadonlyMap<string, Examined> = new Map();

/**
 * Untrusted text in a result is neutralised and flagged, and the result is framed: the notice (only when a field
 * holds text the caller did not write) and any notes lead both the text and the structured content, the findings
 * go in `_meta` for clients and the audit, and the text is one short summary line plus the compact JSON.
 */
export async function shield(tool: ToolDefinition, structured: Record<string, unknown>, args: unknown, notes: readonly string[]): Promise<ToolOutcome> {
  // Nearly every result has no long text: then nothing is awaited (no turn, no promise) before the walk.
  const large = largeTexts(structured);
  const examined = large.size === 0 ? NOTHING_EXAMINED : await examineTexts(large);
  const { value, report } = shieldOutput(tool.output, structured, callerText(args), examined);
  const framed = frameResult(tool, value as Record<string, unknown>, report, notes);
  if (report.untrustedFields === 0) return { result: framed };
  return { result: { ...framed, _meta: { [SHIELD_META_KEY]: report } }, shield: report };
}
