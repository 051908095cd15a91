import type { Tool } from '@modelcontextprotocol/server';

/** A tool as `tools/list` shows it. */
export type CatalogueEntry = Tool & { inputSchema: Tool['inputSchema']; outputSchema: NonNullable<Tool['outputSchema']> };
