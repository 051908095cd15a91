import canonicalize from 'canonicalize';
import { createHash } from 'node:crypto';
import type { Tool } from '@modelcontextprotocol/server';
import { listedVersionAndDigest, toolDigest, type CatalogueManifest } from '../shared/mcp/manifest.js';

/** What a client sees of a tool in tools/list, compared part by part with the signed definition. */
const LISTED_PARTS = ['title', 'description', 'inputSchema', 'outputSchema', 'annotations'] as const;

const same = (a: unknown, b: unknown) => canonicalize(a) === canonicalize(b);
const sha256 = (value: unknown) =>
  createHash('sha256')
    .update(canonicalize(value) ?? '')
    .digest('hex');

/**
 * Compares the tools a server lists with the catalogue it signed (already verified): one line per tool that is
 * missing, extra, changed or unsigned, naming it and what differs. Empty: the listing is exactly the signed catalogue.
 */
export function compareWithSignedCatalogue(listed: readonly Tool[], manifest: CatalogueManifest): string[] {
  const problems: string[] = [];
  const signed = new Map<string, CatalogueManifest['tools'][number]>();
  for (const tool of manifest.tools) {
    const { sha256: digest, ...definition } = tool;
    // The signed entry must be self-consistent, or its digest would vouch for something else.
    if (toolDigest(definition) !== digest) problems.push(`INCONSISTENT ${tool.name}: the signed catalogue's digest does not match its own definition.`);
    signed.set(tool.name, tool);
  }
  const digests = manifest.tools.map(({ name, version, sha256: digest }) => ({ name, version, sha256: digest }));
  if (sha256(digests) !== manifest.sha256) problems.push('INCONSISTENT catalogue: the signed catalogue digest does not match its tools.');
  const seen = new Set<string>();
  for (const tool of listed) {
    const name = typeof tool.name === 'string' ? tool.name : JSON.stringify(tool.name);
    if (seen.has(name)) problems.push(`DUPLICATE ${name}: listed more than once.`);
    seen.add(name);
    const expected = signed.get(name);
    if (!expected) {
      problems.push(`EXTRA ${name}: listed by the server but not in the signed catalogue.`);
      continue;
    }
    const meta = listedVersionAndDigest(tool);
    if (!meta.version || !meta.sha256) {
      problems.push(`UNSIGNED ${name}: tools/list gives no version and digest in _meta (expected version ${expected.version}).`);
    } else if (meta.version !== expected.version || meta.sha256 !== expected.sha256) {
      problems.push(
        `CHANGED ${name}: listed as version ${meta.version} (${meta.sha256.slice(0, 12)}…), signed as version ${expected.version} (${expected.sha256.slice(0, 12)}…).`,
      );
    }
    const differing = LISTED_PARTS.filter((part) => !same(tool[part], expected[part]));
    if (differing.length > 0)
      problems.push(`CHANGED ${name}: its ${differing.join(', ')} differ${differing.length === 1 ? 's' : ''} from the signed catalogue.`);
  }
  for (const name of signed.keys()) if (!seen.has(name)) problems.push(`MISSING ${name}: in the signed catalogue but not listed by the server.`);
  return problems;
}
