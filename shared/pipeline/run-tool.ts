import { z } from 'zod';
import type { Caller } from '../auth/caller.js';
import type { AzureClients } from '../azure/clients.js';
import { toToolError } from '../azure/errors.js';
import type { Settings } from '../config/settings.js';
import type { ToolDefinition } from '../tools/tool.js';
import type { AuditRecord, AuditSink } from './audit.js';
import { authorise, type Decision } from './authorise.js';
import { ToolError } from './errors.js';

export type Entrance = 'mcp' | 'tools';

export interface ToolCall {
  toolName: string;
  args: unknown;
  caller: Caller;
  entrance: Entrance;
  correlationId: string;
  /** Fires when the HTTP caller goes away. */
  signal?: AbortSignal;
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
}

export interface PipelineDeps {
  settings: Settings;
  azure: AzureClients;
  audit: AuditSink;
  tools: readonly ToolDefinition[];
  /** Where bugs (unexpected errors) are reported in full; callers only ever see a correlation id. */
  logError: (message: string, error: unknown) => void;
}

export interface Pipeline {
  run(call: ToolCall): Promise<ToolOutcome>;
  /** The tools this caller may call, in registry order (what tools/list shows them). */
  visibleTools(caller: Caller): ToolDefinition[];
}

/**
 * The one path to every tool, shared by POST /mcp and POST /tools/{name}:
 * authorise → validate input → approval gate → execute → validate output → audit (always).
 * Authentication happened at the HTTP edge; the pipeline only accepts an already validated caller.
 */
export function createPipeline(deps: PipelineDeps): Pipeline {
  const byName = new Map(deps.tools.map((tool) => [tool.name, tool]));

  async function execute(tool: ToolDefinition, call: ToolCall): Promise<Record<string, unknown>> {
    const parsed = tool.input.safeParse(call.args ?? {});
    if (!parsed.success) {
      throw new ToolError('invalid_arguments', `Invalid arguments for ${tool.name}: ${z.prettifyError(parsed.error).replace(/\n/g, '; ')}`);
    }
    if (tool.risk === 'destructive') {
      // Fail closed until the human approval flow exists: no destructive tool runs on an agent's say-so.
      throw new ToolError('forbidden', `Tool '${tool.name}' needs human approval, which this deployment does not offer yet.`);
    }
    const timeoutMs = deps.settings.azureCallTimeoutMs;
    const deadline = AbortSignal.timeout(timeoutMs);
    const signal = call.signal ? AbortSignal.any([deadline, call.signal]) : deadline;
    let output: unknown;
    try {
      output = await tool.handler(parsed.data, { azure: deps.azure, settings: deps.settings, caller: call.caller, signal });
    } catch (error) {
      throw toToolError(error, { timedOut: deadline.aborted, timeoutMs });
    }
    // A handler returning something its schema does not allow is our bug, not the caller's.
    return tool.output.parse(output) as Record<string, unknown>;
  }

  return {
    visibleTools: (caller) => deps.tools.filter((tool) => authorise(caller, tool).allowed),

    async run(call) {
      const started = performance.now();
      const tool = byName.get(call.toolName);
      let decision: Decision = { allowed: false, rule: 'tool:unknown', reason: `No tool is named '${call.toolName}'.` };
      let outcome: ToolOutcome;
      try {
        if (!tool) throw new ToolError('unknown_tool', `No tool is named '${call.toolName}'. Call tools/list to see the tools you may use.`);
        decision = authorise(call.caller, tool);
        if (!decision.allowed) throw new ToolError('forbidden', decision.reason, { rule: decision.rule });
        const structured = await execute(tool, call);
        outcome = { result: { content: [{ type: 'text', text: JSON.stringify(structured) }], structuredContent: structured } };
      } catch (thrown) {
        const error = asToolError(thrown, call.correlationId, deps.logError);
        outcome = { result: errorResult(error, call.correlationId), error };
      }
      await writeAudit(deps, {
        time: new Date().toISOString(),
        correlationId: call.correlationId,
        entrance: call.entrance,
        callerOid: call.caller.oid,
        callerTid: call.caller.tid,
        ...(call.caller.clientAppId ? { clientAppId: call.caller.clientAppId } : {}),
        tool: call.toolName,
        ...(tool ? { risk: tool.risk } : {}),
        decision: decision.allowed ? 'allowed' : 'denied',
        rule: decision.rule,
        outcome: outcome.error ? 'error' : 'success',
        ...(outcome.error ? { errorCode: outcome.error.code } : {}),
        durationMs: Math.round(performance.now() - started),
      });
      return outcome;
    },
  };
}

/** An audit sink failure must not turn into a caller-visible error after the tool has run; it is logged. */
async function writeAudit(deps: PipelineDeps, record: AuditRecord): Promise<void> {
  try {
    await deps.audit.write(record);
  } catch (error) {
    deps.logError(`Audit record for ${record.correlationId} could not be written`, error);
  }
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
