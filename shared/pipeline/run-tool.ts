import type { Caller } from '../domain/caller.js';
import type { AzureClients } from '../azure/clients.js';
import type { Settings } from '../config/settings.js';
import type { ToolContext, ToolDefinition } from '../tools/tool.js';
import { ToolError } from './errors.js';
import type { PolicyDecision, PolicyEngine } from '../policy/engine.js';
import type { RateLimits } from '../policy/rate-limits.js';
import { isAuditing, noteInAudit } from '../audit/audit-writer.js';
import { auditedBodyInTurns } from '../audit/body.js';
import { nextTurn } from '../runtime/next-turn.js';
import type { ApprovalStore } from '../approvals/store.js';
import type { ToolOutcome, ToolResult } from './outcome.js';
import {
  approvalGate,
  decideOn,
  decideRoleAndTier,
  decideTarget,
  execute,
  findTool,
  missingStepUp,
  rateLimit,
  requireAuditReady,
  shield,
  stepUp,
  unknownToolDecision,
  validateInput,
  validateOutput,
  type ApprovalUsed,
  type Gate,
} from './stages.js';

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

export { SHIELD_META_KEY, type ToolOutcome, type ToolResult } from './outcome.js';

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
 * The one path to every tool, shared by POST /mcp and POST /tools/{name}, as named stages (./stages.ts):
 * rate limit → decide (role × tier) → step-up → validate input → decide on the target (region, scope, protection)
 * → audit readiness → approval gate → execute → validate output → shield; what was decided goes into the request's
 * audit record. Authentication happened at the HTTP edge; the pipeline only accepts an already validated caller.
 */
export function createPipeline(deps: PipelineDeps): Pipeline {
  const byName = new Map(deps.tools.map((tool) => [tool.name, tool]));

  async function run(call: ToolCall): Promise<ToolOutcome> {
    /** The latest decision: what the audit record says was decided, and by which rule. */
    let decision = unknownToolDecision(call.toolName);
    /** Records a gate's decision, then refuses if it does. */
    const pass = (gate: Gate | undefined): void => {
      if (!gate) return;
      decision = gate.decision;
      if (gate.refusal) throw gate.refusal;
    };
    let approval: ApprovalUsed | undefined;
    let outcome: ToolOutcome;
    try {
      const tool = findTool(byName, call.toolName);
      pass(await rateLimit(deps.rateLimits, call.caller, tool));
      pass(decideRoleAndTier(deps.policy, call.caller, tool));
      pass(stepUp(deps.policy, call.caller, tool));
      const args = validateInput(tool, call.args);
      pass(decideTarget(deps.policy, deps.settings, call.caller, tool, args));
      const timeoutMs = tool.longRunning ? deps.settings.azureLroTimeoutMs : deps.settings.azureCallTimeoutMs;
      const deadline = AbortSignal.timeout(timeoutMs);
      const notes: string[] = [];
      const context: ToolContext = {
        azure: deps.azureFor ? deps.azureFor(call.caller) : deps.azure,
        settings: deps.settings,
        caller: call.caller,
        // With scoped authority, the tool sees only the groups this caller may read (list tools show nothing else).
        department: deps.policy.departmentFor(call.caller),
        authorize: (target) => pass(decideOn(deps.policy, call.caller, tool, target)),
        signal: call.signal ? AbortSignal.any([deadline, call.signal]) : deadline,
        progress: call.progress ?? (() => {}),
        note: (message) => void notes.push(message),
      };
      await requireAuditReady(deps.auditReady, tool);
      approval = await approvalGate(deps.approvals, deps.settings, tool, { args, caller: call.caller, origin: call.origin }, context);
      const output = await execute(tool, args, context, { signal: deadline, timeoutMs }, approval);
      outcome = await shield(tool, validateOutput(tool, output), call.args, notes);
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
    await recordInAudit(call, byName.get(call.toolName), decision, outcome, approval);
    return outcome;
  }

  return {
    visibleTools: (caller) => deps.tools.filter((tool) => deps.policy.offers(caller, tool)),
    missingStepUp(caller, toolName) {
      const tool = byName.get(toolName);
      const context = missingStepUp(deps.policy, caller, tool);
      return tool && context ? { tool, context } : undefined;
    },
    run,
  };
}

/** A result this long in JSON costs milliseconds in each step that handles it whole. */
const LARGE_RESULT_CHARS = 64 * 1024;

/**
 * The request's audit record (written once by the HTTP edge) learns what the pipeline decided and did. A large
 * result (a blob read) is serialised, redacted for the record and serialised again for the caller, each in a turn
 * of the event loop of its own, so other requests (/health) do not wait behind all three at once.
 */
async function recordInAudit(
  call: ToolCall,
  tool: ToolDefinition | undefined,
  decision: PolicyDecision,
  outcome: ToolOutcome,
  approval: ApprovalUsed | undefined,
): Promise<void> {
  if (!isAuditing()) return;
  const approvalId = approval?.approvalId ?? outcome.error?.details.approvalId;
  // The text blocks repeat structuredContent; errors have only text.
  const { content: _textCopy, ...structured } = outcome.result;
  // The value itself is walked for redaction (not a parse of its JSON text again: a blob's megabyte twice over).
  const audited = outcome.error ? outcome.result : structured;
  const auditedText = JSON.stringify(audited);
  const large = auditedText.length > LARGE_RESULT_CHARS;
  if (large) await nextTurn();
  const responseBody = await auditedBodyInTurns(auditedText, { json: audited });
  noteInAudit({
    tool: call.toolName.slice(0, 100),
    ...(tool ? { risk: tool.risk } : {}),
    decision: decision.allowed ? 'allowed' : 'denied',
    rule: decision.rule,
    reason: decision.reason,
    outcome: outcome.error ? (decision.allowed ? 'error' : 'denied') : 'success',
    ...(outcome.error ? { errorCode: outcome.error.code } : {}),
    ...(typeof approvalId === 'string' ? { approvalId } : {}),
    ...(approval?.approverOid ? { approverOid: approval.approverOid } : {}),
    ...(outcome.shield
      ? { untrustedFields: outcome.shield.untrustedFields, injectionFlags: [...new Set(outcome.shield.flags.flatMap((flag) => flag.kinds))] }
      : {}),
    responseBody,
  });
  if (large) await nextTurn();
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
