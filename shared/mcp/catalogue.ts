import { z } from 'zod';
import type { Tool } from '@modelcontextprotocol/server';
import { annotationsFor, type ToolDefinition } from '../tools/tool.js';
import { toolDigest } from './manifest.js';

/** Each listed tool carries its definition's digest, to check against the pinned manifest. */
export const TOOL_DIGEST_META_KEY = 'sovereign-mcp/sha256';

/** A tool as `tools/list` shows it. */
export type CatalogueEntry = Tool & { inputSchema: Tool['inputSchema']; outputSchema: NonNullable<Tool['outputSchema']> };

/**
 * The tool list with JSON Schemas converted once, at start (zod's own converter), so no request pays for schema
 * conversion. Input schemas describe what a caller may send (`io: 'input'`: defaulted fields are optional);
 * output schemas what the server returns.
 */
export function buildCatalogue(tools: readonly ToolDefinition[]): ReadonlyMap<string, CatalogueEntry> {
  return new Map(
    tools.map((tool) => {
      const entry: CatalogueEntry = {
        name: tool.name,
        title: tool.title,
        description: tool.description,
        inputSchema: z.toJSONSchema(tool.input, { io: 'input' }) as CatalogueEntry['inputSchema'],
        outputSchema: z.toJSONSchema(tool.output, { io: 'output' }) as CatalogueEntry['outputSchema'],
        annotations: annotationsFor(tool),
      };
      return [tool.name, { ...entry, _meta: { [TOOL_DIGEST_META_KEY]: toolDigest(entry) } }];
    }),
  );
}
