import { z } from 'zod';
import type { Tool } from '@modelcontextprotocol/server';
import { annotationsFor, type ToolDefinition } from '../tools/tool.js';

/** A tool as `tools/list` shows it. */
export type CatalogueEntry = Tool & { inputSchema: Tool['inputSchema']; outputSchema: NonNullable<Tool['outputSchema']> };

/**
 * The tool list with JSON Schemas converted once, at start (zod's own converter), so no request pays for schema
 * conversion. Input schemas describe what a caller may send (`io: 'input'`: defaulted fields are optional);
 * output schemas what the server returns.
 */
export function buildCatalogue(tools: readonly ToolDefinition[]): ReadonlyMap<string, CatalogueEntry> {
  return new Map(
    tools.map((tool) => [
      tool.name,
      {
        name: tool.name,
        title: tool.title,
        description: tool.description,
        inputSchema: z.toJSONSchema(tool.input, { io: 'input' }) as CatalogueEntry['inputSchema'],
        outputSchema: z.toJSONSchema(tool.output, { io: 'output' }) as CatalogueEntry['outputSchema'],
        annotations: annotationsFor(tool),
      },
    ]),
  );
}
