import canonicalize from 'canonicalize';
import { createHash } from 'node:crypto';
import type { Tool } from '@modelcontextprotocol/server';
import type { AzurePermissions, ToolDescriptor } from '../domain/tool-descriptor.js';
import { SERVER_INFO } from './server-factory.js';

/** Each listed tool carries its signed definition's digest and version in `_meta`, to check against the manifest. */
export const TOOL_DIGEST_META_KEY = 'sovereign-mcp/sha256';
export const TOOL_VERSION_META_KEY = 'sovereign-mcp/version';

/**
 * What the catalogue signs for one tool: everything that describes it to a model (as `tools/list` shows it) plus its
 * version and the Azure permissions it uses. Its digest is SHA-256 over the RFC 8785 canonical JSON.
 */
export interface SignedToolDefinition {
  name: string;
  version: string;
  title: string | undefined;
  description: string | undefined;
  inputSchema: Tool['inputSchema'];
  outputSchema: Tool['outputSchema'];
  annotations: Tool['annotations'];
  azurePermissions: AzurePermissions;
}

/** The signed catalogue (the JWS payload of /tools/manifest): every tool's full definition and digest. */
export interface CatalogueManifest {
  server: string;
  version: string;
  canonicalization: 'RFC8785-JCS';
  tools: (SignedToolDefinition & { sha256: string })[];
  /** Digest of the canonical JSON of the tools' names, versions and digests: one value for the whole catalogue. */
  sha256: string;
}

/**
 * The committed record of each tool's version and digest (shared/mcp/tool-manifest.json, `npm run snapshots`): the
 * tests and `npm run snapshots` refuse a definition whose digest changed while its version did not.
 */
export interface ToolVersionRecord {
  server: string;
  version: string;
  canonicalization: 'RFC8785-JCS';
  tools: { name: string; version: string; sha256: string }[];
  sha256: string;
}

const sha256 = (value: unknown) =>
  createHash('sha256')
    .update(canonicalize(value) ?? '')
    .digest('hex');

/** The signed definition of a tool, from its registry entry and the listing made from it. */
export function signedDefinition(tool: Pick<ToolDescriptor, 'name' | 'version' | 'azurePermissions'>, listed: Tool): SignedToolDefinition {
  const { title, description, inputSchema, outputSchema, annotations } = listed;
  const { actions, dataActions } = tool.azurePermissions;
  return {
    name: tool.name,
    version: tool.version,
    title,
    description,
    inputSchema,
    outputSchema,
    annotations,
    azurePermissions: { actions: [...actions], dataActions: [...dataActions] },
  };
}

export function toolDigest(definition: SignedToolDefinition): string {
  return sha256(definition);
}

/** A listed tool's version and digest, as its `_meta` carries them. */
export function listedVersionAndDigest(listed: Tool): { version: string; sha256: string } {
  const text = (value: unknown) => (typeof value === 'string' ? value : '');
  return { version: text(listed._meta?.[TOOL_VERSION_META_KEY]), sha256: text(listed._meta?.[TOOL_DIGEST_META_KEY]) };
}

/** The committed version record, from the catalogue's `_meta`. */
export function buildManifest(catalogue: ReadonlyMap<string, Tool>): ToolVersionRecord {
  const tools = [...catalogue.values()].map((entry) => ({ name: entry.name, ...listedVersionAndDigest(entry) }));
  return { server: SERVER_INFO.name, version: SERVER_INFO.version, canonicalization: 'RFC8785-JCS', tools, sha256: sha256(tools) };
}

/** The catalogue to sign: each tool's full definition with its digest, in catalogue order. */
export function buildCatalogueManifest(catalogue: ReadonlyMap<string, Tool>, tools: readonly ToolDescriptor[]): CatalogueManifest {
  const byName = new Map(tools.map((tool) => [tool.name, tool]));
  const signed = [...catalogue.values()].map((entry) => {
    const tool = byName.get(entry.name);
    if (!tool) throw new Error(`The catalogue lists '${entry.name}', which the registry does not hold.`);
    const definition = signedDefinition(tool, entry);
    return { ...definition, sha256: toolDigest(definition) };
  });
  const digests = signed.map(({ name, version, sha256: digest }) => ({ name, version, sha256: digest }));
  return { server: SERVER_INFO.name, version: SERVER_INFO.version, canonicalization: 'RFC8785-JCS', tools: signed, sha256: sha256(digests) };
}
