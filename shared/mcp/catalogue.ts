import * as z from 'zod';
import { annotationsFor } from '../domain/tool-annotations.js';
import type { ToolDescriptor } from '../domain/tool-descriptor.js';
import type { CatalogueEntry } from './catalogue-entry.js';
import { GENERATED_CATALOGUE } from './catalogue.generated.js';
import { TOOL_DIGEST_META_KEY, TOOL_VERSION_META_KEY, signedDefinition, toolDigest } from './manifest.js';
import { publishedOutput } from '../shield/frame.js';

export { TOOL_DIGEST_META_KEY, TOOL_VERSION_META_KEY } from './manifest.js';

/**
 * The tool list with JSON Schemas converted once, at start (zod's own converter), so no request pays for schema
 * conversion. Input schemas describe what a caller may send (`io: 'input'`: defaulted fields are optional);
 * output schemas what the server returns (the tool's fields plus the framing fields every result may carry).
 */
export function buildCatalogue(tools: readonly ToolDescriptor[]): ReadonlyMap<string, CatalogueEntry> {
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

/** The generated catalogue no longer describes the registry's tools: the app stops at start rather than serve it. */
export class StaleCatalogueError extends Error {
  override name = 'StaleCatalogueError';
}

/**
 * The catalogue the app serves: the one generated at build time (shared/mcp/catalogue.generated.ts, `npm run
 * generate`), which spares a cold start converting every zod schema to JSON Schema — 30-60 ms measured. The tests
 * and `npm run generate -- --check` fail whenever the generated file differs from `buildCatalogue` in any way; here,
 * at start, the cheap parts are compared (the tools, their order, titles, descriptions, annotations, argument names
 * and versions, which every schema change raises), and a catalogue that no longer describes these tools stops the app
 * with what is stale: serving it would show clients old schemas, and converting silently would hide a skipped step.
 */
export function loadCatalogue(
  tools: readonly ToolDescriptor[],
  generated: readonly CatalogueEntry[] = GENERATED_CATALOGUE,
): ReadonlyMap<string, CatalogueEntry> {
  const stale = staleEntries(generated, tools);
  if (stale.length > 0) {
    throw new StaleCatalogueError(
      `Sovereign MCP cannot start: the generated tool catalogue (shared/mcp/catalogue.generated.ts) no longer describes the registry's tools, so it would serve stale schemas:\n${stale
        .map((line) => `  ${line}`)
        .join('\n')}\nRun \`npm run generate\` (it regenerates the catalogue and rebuilds), review the diff and commit it.`,
    );
  }
  return new Map(generated.map((entry) => [entry.name, entry]));
}

/** One line per tool whose generated entry differs from the registry in a part that is cheap to compare, naming the parts. */
function staleEntries(entries: readonly CatalogueEntry[], tools: readonly ToolDescriptor[]): string[] {
  const argumentNames = (schema: Record<string, unknown>) => JSON.stringify(Object.keys((schema.properties as Record<string, unknown> | undefined) ?? {}));
  const byName = new Map(entries.map((entry) => [entry.name, entry]));
  const registered = new Set(tools.map((tool) => tool.name));
  const problems: string[] = [];
  tools.forEach((tool, i) => {
    const entry = byName.get(tool.name);
    if (!entry) {
      problems.push(`${tool.name}: in the registry but not in the generated catalogue`);
      return;
    }
    const differing = [
      entries[i]?.name !== tool.name ? 'position' : undefined,
      entry.title !== tool.title ? 'title' : undefined,
      entry.description !== tool.description ? 'description' : undefined,
      JSON.stringify(entry.annotations) !== JSON.stringify(annotationsFor(tool)) ? 'annotations (risk)' : undefined,
      argumentNames(entry.inputSchema) !== JSON.stringify(Object.keys(tool.input.shape)) ? 'arguments' : undefined,
      argumentNames(entry.outputSchema) !== JSON.stringify(Object.keys(publishedOutput(tool.output).shape)) ? 'output fields' : undefined,
      typeof entry._meta?.[TOOL_DIGEST_META_KEY] !== 'string' ? 'digest' : undefined,
      entry._meta?.[TOOL_VERSION_META_KEY] !== tool.version
        ? `version (generated ${String(entry._meta?.[TOOL_VERSION_META_KEY])}, registry ${tool.version})`
        : undefined,
    ].filter((part) => part !== undefined);
    if (differing.length > 0) problems.push(`${tool.name}: the generated entry differs in ${differing.join(', ')}`);
  });
  for (const entry of entries) if (!registered.has(entry.name)) problems.push(`${entry.name}: in the generated catalogue but not in the registry`);
  return problems;
}
