import type { Caller } from '../auth/caller.js';
import type { AzureClients } from '../azure/clients.js';
import { toToolError } from '../azure/errors.js';
import { targetsOf } from '../azure/missing-resource.js';
import type { Settings } from '../config/settings.js';
import type { ToolDefinition } from '../tools/tool.js';
import { ToolError } from './errors.js';
import type { PolicyDecision, PolicyEngine, PolicyTarget } from '../policy/engine.js';
import type { RateLimits } from '../policy/rate-limits.js';
import { callerText, shieldOutput, type ShieldReport } from '../shield/shield.js';
import { frameResult } from '../shield/frame.js';
import { passApprovalGate } from '../approvals/gate.js';
import { currentAudit } from '../audit/scope.js';
import { auditedBody } from '../audit/body.js';
import { describeInvalidArguments, quoteName } from './invalid-arguments.js';
import type { ApprovalStore } from '../approvals/store.js';
import { AUDIT_READY_TIMEOUT_MS } from '../config/deadlines.js';
import { requiredContext, STEP_UP_RULE, stepUpMessage } from '../auth/step-up.js';

export interface ToolCall {
  toolName: string;
  args: unknown;
  caller: Caller;
  correlationId: string;
  /** The app's public origin, for links handed back to the caller (approval pages). */
  origin: string;
  /** Fires when the HTTP caller goes away. */
  signal?: AbortSignal;
  /** Progress notifications to the client, when it asked for them. */
  progress?: (message: string, done?: number, total?: number) => void;
}

/** The MCP `CallToolResult` both entrances return, byte for byte. */
export interface ToolResult {
  [key: string]: unknown;
  content: { type: 'text'; text: string }[];
  structuredContent?: Record<string, unknown>;
  isError?: boolean;
}

export interface ToolOutcome {
  result: ToolResult;
  /** Present when the call failed; carries the HTTP status for /tools/*. */
  error?: ToolError;
  /** What the shield found in untrusted content, when the result carries any. */
  shield?: ShieldReport;
}

/** The `_meta` key under which a result reports its untrusted content and any flags. */
export const SHIELD_META_KEY = 'sovereign-mcp/shield';

export interface PipelineDeps {
  settings: Settings;
  azure: AzureClients;
  /** On-behalf-of mode: the clients that call Azure as this caller (instead of `azure`, the managed identity). */
  azureFor?: (caller: Caller) => AzureClients;
  policy: PolicyEngine;
  rateLimits: RateLimits;
  /**
   * Whether the tamper-evident audit store accepts records now (absent: not configured). Write and destructive
   * calls are refused when it does not: nothing changes that could not be audited.
   */
  auditReady?: (timeoutMs: number) => Promise<boolean>;
  /** Absent when approvals are not configured: destructive tools are then refused. */
  approvals?: ApprovalStore;
  tools: readonly ToolDefinition[];
  /** Where bugs (unexpected errors) are reported in full; callers only ever see a correlation id. */
  logError: (message: string, error: unknown) => void;
}

export interface Pipeline {
  run(call: ToolCall): Promise<ToolOutcome>;
  /** The tools this caller may call, in registry order (what tools/list shows them). */
  visibleTools(caller: Caller): ToolDefinition[];
  /**
   * The authentication context a call of this tool still needs from this caller (a step-up), or undefined: the
   * tool needs none, the token carries it, or the caller may not call the tool at all (refused by its own rule).
   */
  missingStepUp(caller: Caller, toolName: string): { tool: ToolDefinition; context: string } | undefined;
}

/**
 * The one path to every tool, shared by POST /mcp and POST /tools/{name}:
 * rate limit → authorise (role × tier) → validate input → authorise the target (region, scope, protection)
 * → approval gate → execute → validate output → shield; what was decided goes into the request's audit record.
 * Authentication happened at the HTTP edge; the pipeline only accepts an already validated caller.
 */
export function createPipeline(deps: PipelineDeps): Pipeline {
  const byName = new Map(deps.tools.map((tool) => [tool.name, tool]));

  /** Refuses with the rule's own words; the rule travels to the caller and the audit. */
  function enforce(decision: PolicyDecision): void {
    if (decision.allowed) return;
    const code = decision.rule === 'policy.resource-group-out-of-scope' ? 'out_of_scope' : 'forbidden';
    throw new ToolError(code, decision.reason, { rule: decision.rule });
  }

  async function execute(
    tool: ToolDefinition,
    call: ToolCall,
    record: (decision: PolicyDecision) => void,
    noteApproval: (id: string, approver?: string) => void,
    notes: string[],
  ): Promise<Record<string, unknown>> {
    const parsed = tool.input.safeParse(call.args ?? {});
    if (!parsed.success) {
      throw new ToolError('invalid_arguments', describeInvalidArguments(tool.name, parsed.error));
    }
    const decide = (target: PolicyTarget) => {
      const decision = deps.policy.decide(call.caller, tool, target);
      record(decision);
      enforce(decision);
    };
    // Before any Azure call: what the arguments say the call touches.
    decide(tool.target?.(parsed.data, deps.policy.department, deps.settings.subscriptionId) ?? {});
    const timeoutMs = tool.longRunning ? deps.settings.azureLroTimeoutMs : deps.settings.azureCallTimeoutMs;
    const deadline = AbortSignal.timeout(timeoutMs);
    const signal = call.signal ? AbortSignal.any([deadline, call.signal]) : deadline;
    const context = {
      azure: deps.azureFor ? deps.azureFor(call.caller) : deps.azure,
      settings: deps.settings,
      caller: call.caller,
      // With scoped authority, the tool sees only the groups this caller may read (list tools show nothing else).
      department: deps.policy.departmentFor(call.caller),
      authorize: decide,
      signal,
      progress: call.progress ?? (() => {}),
      note: (message: string) => void notes.push(message),
    };
    if (tool.risk !== 'read') {
      if (!deps.auditReady) {
        throw new ToolError('forbidden', `Tool '${tool.name}' changes resources, and no audit store is configured (AUDIT_CONTAINER_URL).`, {
          rule: 'audit.not-configured',
        });
      }
      if (!(await deps.auditReady(AUDIT_READY_TIMEOUT_MS))) {
        throw new ToolError(
          'audit_unavailable',
          `The audit store is not accepting records, so '${tool.name}' was refused and nothing was changed (read tools still work). Try again shortly.`,
          { rule: 'audit.store-unavailable' },
        );
      }
    }
    let output: unknown;
    let approvalUsed: string | undefined;
    try {
      if (tool.risk === 'destructive') {
        // No destructive tool runs on an agent's say-so: a human other than the requester approves this exact call.
        if (!deps.approvals) {
          throw new ToolError('forbidden', `Tool '${tool.name}' needs human approval, and approvals are not configured for this deployment.`, {
            rule: 'approval.not-configured',
          });
        }
        const args = parsed.data;
        const { approval } = await passApprovalGate(deps.approvals, {
          tool: tool.name,
          args,
          caller: call.caller,
          origin: call.origin,
          ttlMinutes: deps.settings.approvals?.ttlMinutes ?? 30,
          impact: () => tool.impact?.(parsed.data, context) ?? Promise.resolve({ targets: [], details: [] }),
        });
        noteApproval(approval.id, approval.decidedByOid);
        approvalUsed = approval.id;
      }
      output = await tool.handler(parsed.data, context);
    } catch (error) {
      const failure = toToolError(error, { timedOut: deadline.aborted, timeoutMs }, targetsOf(tool.name, parsed.data));
      if (!approvalUsed) throw failure;
      // The approval was spent on this attempt (it runs its call at most once): "try again" needs a new one.
      throw new ToolError(
        failure.code,
        `${failure.message} Approval ${approvalUsed} has been used by this attempt: to try again, repeat the call without approvalId to request a new approval.`,
        { ...failure.details, approvalId: approvalUsed },
        { cause: failure.cause ?? failure },
      );
    }
    // A handler returning something its schema does not allow is our bug, not the caller's.
    return tool.output.parse(output);
  }

  function missingStepUp(caller: Caller, toolName: string): { tool: ToolDefinition; context: string } | undefined {
    const tool = byName.get(toolName);
    if (!tool || !deps.policy.offers(caller, tool)) return undefined;
    const context = requiredContext(deps.policy.department.stepUp, tool.risk);
    return context && !caller.authContexts.includes(context) ? { tool, context } : undefined;
  }

  return {
    visibleTools: (caller) => deps.tools.filter((tool) => deps.policy.offers(caller, tool)),
    missingStepUp,

    async run(call) {
      const tool = byName.get(call.toolName);
      let decision: PolicyDecision = { allowed: false, rule: 'tool.unknown', reason: `No tool is named ${quoteName(call.toolName)}.` };
      let outcome: ToolOutcome;
      let approval: { approvalId: string; approverOid?: string } | undefined;
      try {
        if (!tool) throw new ToolError('unknown_tool', `No tool is named ${quoteName(call.toolName)}. Call tools/list to see the tools you may use.`);
        const limit = await deps.rateLimits.consume(call.caller.oid, tool.name);
        if (!limit.allowed) {
          decision = { allowed: false, rule: 'policy.rate-limit', reason: `Rate limit of ${limit.limit} for ${tool.name}` };
          throw new ToolError('rate_limited', `Too many calls to ${tool.name}: the limit is ${limit.limit} per caller. Retry after ${limit.retryAfterSeconds} s.`, {
            rule: decision.rule,
            retryAfterSeconds: limit.retryAfterSeconds,
          });
        }
        // Role × tier first, so a caller without the role learns nothing about the tool's arguments.
        decision = deps.policy.decide(call.caller, tool);
        enforce(decision);
        // Then a fresh, stronger sign-in where the department demands one for this tier.
        const stepUp = missingStepUp(call.caller, tool.name);
        if (stepUp) {
          const message = stepUpMessage(tool.name, tool.risk, stepUp.context);
          decision = { allowed: false, rule: STEP_UP_RULE, reason: message };
          throw new ToolError('step_up_required', message, { rule: STEP_UP_RULE, authContext: stepUp.context });
        }
        const notes: string[] = [];
        const structured = await execute(
          tool,
          call,
          (latest) => (decision = latest),
          (id, approver) => (approval = { approvalId: id, ...(approver ? { approverOid: approver } : {}) }),
          notes,
        );
        outcome = shielded(tool, structured, call.args, notes);
      } catch (thrown) {
        const error = asToolError(thrown, call.correlationId, deps.logError);
        // A refusal by a rule past the role check (the approval gate, the storage SKU, the app's own state, Azure
        // refusing the app's identity) is a denial by that rule, in the audit as in the answer; a refusal that
        // names no rule is still a denial.
        const rule = error.details.rule;
        if (decision.allowed && (error.code === 'forbidden' || error.code === 'out_of_scope')) {
          decision = { allowed: false, rule: typeof rule === 'string' ? rule : 'refusal.unnamed', reason: error.message };
        }
        outcome = { result: errorResult(error, call.correlationId), error };
      }
      // A large result (a blob read) was shielded and validated in one go: let /health and other requests run
      // before it is serialised for the audit.
      await new Promise((resolve) => setImmediate(resolve));
      recordInAudit(call, tool, decision, outcome, approval);
      return outcome;
    },
  };
}

/**
 * Untrusted text in a result is neutralised and flagged, and the result is framed: the notice (only when a field
 * holds text the caller did not write) and any notes lead both the text and the structured content, the findings
 * go in `_meta` for clients and the audit, and the text is one short summary line plus the compact JSON.
 */
function shielded(tool: ToolDefinition, structured: Record<string, unknown>, args: unknown, notes: readonly string[]): ToolOutcome {
  const { value, report } = shieldOutput(tool.output, structured, callerText(args));
  const framed = frameResult(tool, value as Record<string, unknown>, report, notes);
  if (report.untrustedFields === 0) return { result: framed };
  return { result: { ...framed, _meta: { [SHIELD_META_KEY]: report } }, shield: report };
}

/** The request's audit record (written once by the HTTP edge) learns what the pipeline decided and did. */
function recordInAudit(
  call: ToolCall,
  tool: ToolDefinition | undefined,
  decision: PolicyDecision,
  outcome: ToolOutcome,
  approval: { approvalId: string; approverOid?: string } | undefined,
): void {
  const draft = currentAudit();
  if (!draft) return;
  draft.tool = call.toolName.slice(0, 100);
  if (tool) draft.risk = tool.risk;
  draft.decision = decision.allowed ? 'allowed' : 'denied';
  draft.rule = decision.rule;
  draft.reason = decision.reason;
  draft.outcome = outcome.error ? (decision.allowed ? 'error' : 'denied') : 'success';
  if (outcome.error) draft.errorCode = outcome.error.code;
  const approvalId = approval?.approvalId ?? outcome.error?.details.approvalId;
  if (typeof approvalId === 'string') draft.approvalId = approvalId;
  if (approval?.approverOid) draft.approverOid = approval.approverOid;
  if (outcome.shield) {
    draft.untrustedFields = outcome.shield.untrustedFields;
    draft.injectionFlags = [...new Set(outcome.shield.flags.flatMap((flag) => flag.kinds))];
  }
  // The text blocks repeat structuredContent; errors have only text.
  const { content: _textCopy, ...structured } = outcome.result;
  // The value itself is walked for redaction (not a parse of its JSON text again: a blob's megabyte twice over).
  const audited = outcome.error ? outcome.result : structured;
  draft.responseBody = auditedBody(JSON.stringify(audited), { json: audited });
}

/** Failures whose cause lives outside the app (identity, Azure): the caller gets a clean message, operators the cause. */
const LOGGED_CAUSES = new Set(['identity_unavailable', 'azure_error', 'azure_timeout']);

function asToolError(thrown: unknown, correlationId: string, logError: PipelineDeps['logError']): ToolError {
  if (thrown instanceof ToolError) {
    if (LOGGED_CAUSES.has(thrown.code) && thrown.cause) logError(`Tool call ${correlationId} failed: ${thrown.code}`, thrown.cause);
    return thrown;
  }
  logError(`Unexpected error in tool call ${correlationId}`, thrown);
  return new ToolError('internal_error', `The server hit an unexpected error; quote correlation id ${correlationId} to the operators.`);
}

/** Errors are results the agent can read and act on: code, message, correlation id and details as JSON text. */
function errorResult(error: ToolError, correlationId: string): ToolResult {
  const body = { error: { code: error.code, message: error.message, correlationId, ...error.details } };
  return { content: [{ type: 'text', text: JSON.stringify(body) }], isError: true };
}
