import type { z } from 'zod';
import type { AzureClients } from '../azure/clients.js';
import type { Settings } from '../config/settings.js';
import type { Caller } from '../domain/caller.js';
import type { PolicyTarget } from '../domain/policy-target.js';
import type { ToolDescriptor } from '../domain/tool-descriptor.js';
import type { DepartmentPolicy } from '../policy/department-policy.js';

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

/** A tool as the pipeline runs it: its descriptor (shared/domain) plus what it touches and what it does. */
export interface ToolDefinition<I extends z.ZodObject = z.ZodObject, O extends z.ZodObject = z.ZodObject> extends ToolDescriptor<I, O> {
  /**
   * What the call touches (group, region, resource id), for the policy decision before any Azure call. Every
   * write and destructive tool declares it (the registry refuses one that does not).
   */
  target?(args: z.output<I>, department: DepartmentPolicy, subscriptionId: string): PolicyTarget;
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
