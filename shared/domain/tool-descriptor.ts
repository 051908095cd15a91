import type { z } from 'zod';
import type { RiskTier } from './risk-tier.js';

/** The Azure RBAC actions and data actions a tool's calls need. */
export interface AzurePermissions {
  actions: readonly string[];
  dataActions: readonly string[];
}

/**
 * What a tool is, as every layer sees it (catalogue, manifest, policy, docs, infra roles): its name, version, text,
 * risk, permissions and schemas. How it runs (target, impact, handler) is the tools layer's ToolDefinition, which
 * extends this.
 */
export interface ToolDescriptor<I extends z.ZodObject = z.ZodObject, O extends z.ZodObject = z.ZodObject> {
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
  /** Follows a long-running Azure operation: gets the longer deadline (AZURE_LRO_TIMEOUT_MS). */
  longRunning?: boolean;
}
