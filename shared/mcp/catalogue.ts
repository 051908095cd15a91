import { z } from 'zod';
import type { Tool } from '@modelcontextprotocol/server';
import { annotationsFor, type ToolDefinition } from '../tools/tool.js';
import { GENERATED_CATALOGUE } from './catalogue.generated.js';
import { TOOL_DIGEST_META_KEY, TOOL_VERSION_META_KEY, signedDefinition, toolDigest } from './manifest.js';
import { publishedOutput } from '../shield/frame.js';

export { TOOL_DIGEST_META_KEY, TOOL_VERSION_META_KEY } from './manifest.js';

/** A tool as `tools/list` shows it. */
export type CatalogueEntry = Tool & { inputSchema: Tool['inputSchema']; outputSchema: NonNullable<Tool['outputSchema']> };

/**
 * The tool list with JSON Schemas converted once, at start (zod's own converter), so no request pays for schema
 * conversion. Input schemas describe what a caller may send (`io: 'input'`: defaulted fields are optional);
 * output schemas what the server returns (the tool's fields plus the framing fields every result may carry).
 */
export function buildCatalogue(tools: readonly ToolDefinition[]): ReadonlyMap<string, CatalogueEntry> {
  return new Map(
    tools.map((tool) => {
      const entry: CatalogueEntry = {
        name: tool.name,
        title: tool.title,
        description: tool.description,
        inputSchema: z.toJSONSchema(tool.input, { io: 'input' }) as CatalogueEntry['inputSchema'],
        outputSchema: z.toJSONSchema(publishedOutput(tool.output), { io: 'output' }),
        annotations: annotationsFor(tool),
      };
      // The version and the signed definition's digest, to check against the signed catalogue (/tools/manifest).
      const _meta = { [TOOL_VERSION_META_KEY]: tool.version, [TOOL_DIGEST_META_KEY]: toolDigest(signedDefinition(tool, entry)) };
      return [tool.name, { ...entry, _meta }];
    }),
  );
}

/**
 * The catalogue the app serves: the one generated at build time (shared/mcp/catalogue.generated.ts, `npm run
 * snapshots`), which spares a cold start converting every zod schema to JSON Schema — 30-60 ms measured — when it
 * still describes these tools; otherwise converted here, as `buildCatalogue` does. The tests fail whenever the
 * generated file differs from `buildCatalogue` in any way; at run time the cheap parts are compared (the tools,
 * their order, titles, descriptions, annotations and argument names), so a build that skipped regenerating still
 * serves the registry's own definitions.
 */
export function loadCatalogue(tools: readonly ToolDefinition[], generated: readonly CatalogueEntry[] = GENERATED_CATALOGUE): ReadonlyMap<string, CatalogueEntry> {
  return describesTools(generated, tools) ? new Map(generated.map((entry) => [entry.name, entry])) : buildCatalogue(tools);
}

function describesTools(entries: readonly CatalogueEntry[], tools: readonly ToolDefinition[]): boolean {
  const sameKeys = (schema: Record<string, unknown>, shape: Record<string, unknown>) =>
    JSON.stringify(Object.keys((schema.properties as Record<string, unknown> | undefined) ?? {})) === JSON.stringify(Object.keys(shape));
  return (
    entries.length === tools.length &&
    tools.every((tool, i) => {
      const entry = entries[i];
      return (
        entry !== undefined &&
        entry.name === tool.name &&
        entry.title === tool.title &&
        entry.description === tool.description &&
        JSON.stringify(entry.annotations) === JSON.stringify(annotationsFor(tool)) &&
        sameKeys(entry.inputSchema, tool.input.shape) &&
        sameKeys(entry.outputSchema, publishedOutput(tool.output).shape) &&
        typeof entry._meta?.[TOOL_DIGEST_META_KEY] === 'string' &&
        entry._meta?.[TOOL_VERSION_META_KEY] === tool.version
      );
    })
  );
}
