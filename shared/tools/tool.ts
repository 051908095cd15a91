import type { z } from 'zod';
import type { Caller } from '../auth/caller.js';
import type { AzureClients } from '../azure/clients.js';
import type { Settings } from '../config/settings.js';
import type { DepartmentPolicy } from '../policy/department-policy.js';
import type { PolicyTarget } from '../policy/engine.js';

/** How much harm a tool can do; roles, annotations, read-only mode and the approval gate all derive from it. */
export type RiskTier = 'read' | 'write' | 'destructive';

/** What a handler receives: injected clients, the validated caller, and one deadline for all its Azure calls. */
export interface ToolContext {
  azure: AzureClients;
  settings: Settings;
  caller: Caller;
  /** The department policy: the managed resource groups, regions, required tags. */
  department: DepartmentPolicy;
  /**
   * Checks a target only known after reading Azure (a resource's tags, for protection) against the policy;
   * throws the refusal, naming the rule, if the policy forbids it.
   */
  authorize: (target: PolicyTarget) => void;
  /** Fires at the call's deadline or when the caller goes away; pass it to every SDK call as `abortSignal`. */
  signal: AbortSignal;
  /** Reports progress of long work to clients that asked for it (MCP progress notifications); otherwise a no-op. */
  progress: (message: string, done?: number, total?: number) => void;
  /** Tells the caller something about how the call went (e.g. Azure answered late); shown with the result. */
  note: (message: string) => void;
}

export interface AzurePermissions {
  actions: readonly string[];
  dataActions: readonly string[];
}

export interface ToolDefinition<I extends z.ZodObject = z.ZodObject, O extends z.ZodObject = z.ZodObject> {
  /** `area_noun_verb`, snake_case. */
  name: string;
  /**
   * The definition's version (semver), signed in the catalogue and listed in `_meta`: raise it whenever the title,
   * description, schemas, risk or Azure permissions change (the tests and `npm run snapshots` refuse a change without
   * a higher version), so a client that pinned the catalogue sees which tools changed.
   */
  version: string;
  title: string;
  /** What the tool does and when to use it; read by the agent. */
  description: string;
  risk: RiskTier;
  /**
   * The Azure RBAC actions the app's managed identity needs for this tool, exactly. The custom roles in infra/
   * are checked against the union of these, so the identity holds no permission no tool uses.
   */
  azurePermissions: AzurePermissions;
  input: I;
  output: O;
  /**
   * What the call touches (group, region, resource id), for the policy decision before any Azure call. Every
   * write and destructive tool declares it (the registry refuses one that does not).
   */
  target?(args: z.output<I>, department: DepartmentPolicy, subscriptionId: string): PolicyTarget;
  /** Follows a long-running Azure operation: gets the longer deadline (AZURE_LRO_TIMEOUT_MS). */
  longRunning?: boolean;
  /**
   * For destructive tools: what the approver must see besides the arguments — the resources affected and what
   * depends on them (read from Azure when the approval is requested).
   */
  impact?(args: z.output<I>, context: ToolContext): Promise<{ targets: string[]; details: string[] }>;
  handler(args: z.output<I>, context: ToolContext): Promise<z.input<O>>;
}

/** Declares a tool; the identity function exists so TypeScript infers the handler's types from the schemas. */
export function defineTool<I extends z.ZodObject, O extends z.ZodObject>(definition: ToolDefinition<I, O>): ToolDefinition<I, O> {
  return definition;
}

export interface ToolAnnotations {
  title: string;
  readOnlyHint: boolean;
  destructiveHint: boolean;
  idempotentHint: boolean;
  openWorldHint: boolean;
}

/** MCP annotations follow from the risk tier alone, so they can never disagree with what the pipeline enforces. */
export function annotationsFor(tool: Pick<ToolDefinition, 'title' | 'risk'>): ToolAnnotations {
  return {
    title: tool.title,
    readOnlyHint: tool.risk === 'read',
    destructiveHint: tool.risk === 'destructive',
    idempotentHint: tool.risk === 'read',
    // The department's own estate is a closed domain, not the open web.
    openWorldHint: false,
  };
}
