import canonicalize from 'canonicalize';
import { createHash } from 'node:crypto';
import type { CatalogueEntry } from './catalogue.js';
import { SERVER_INFO } from './server-factory.js';

export interface ToolManifest {
  server: string;
  version: string;
  /** How each digest is made: SHA-256 over the RFC 8785 canonical JSON of the definition. */
  canonicalization: 'RFC8785-JCS';
  tools: { name: string; sha256: string }[];
  /** Digest of the canonical JSON of `tools`: one value a client can pin for the whole catalogue. */
  sha256: string;
}

const sha256 = (value: unknown) => createHash('sha256').update(canonicalize(value) ?? '').digest('hex');

/**
 * A canonical, hashed manifest of the tool definitions (name, title, description, schemas, annotations), so a
 * client can pin the catalogue and notice if a definition changes under it (a "rug pull"). The checked-in copy
 * (shared/mcp/tool-manifest.json) is compared in the tests, so no definition changes without a reviewed diff.
 */
export function buildManifest(catalogue: ReadonlyMap<string, CatalogueEntry>): ToolManifest {
  const tools = [...catalogue.values()].map((entry) => ({ name: entry.name, sha256: sha256(definitionOf(entry)) }));
  return { server: SERVER_INFO.name, version: SERVER_INFO.version, canonicalization: 'RFC8785-JCS', tools, sha256: sha256(tools) };
}

/** The parts of a tool that describe it to a model; `_meta` is excluded (it carries the digest itself). */
export function definitionOf(entry: CatalogueEntry): Record<string, unknown> {
  const { name, title, description, inputSchema, outputSchema, annotations } = entry;
  return { name, title, description, inputSchema, outputSchema, annotations };
}

export function toolDigest(entry: CatalogueEntry): string {
  return sha256(definitionOf(entry));
}
