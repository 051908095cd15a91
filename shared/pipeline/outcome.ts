import type { ShieldReport } from '../shield/shield.js';
import type { ToolError } from './errors.js';

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
