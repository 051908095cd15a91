import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Advisory, AdvisorySnapshot } from './advisories.js';
import { readLockfile } from './lockfile.js';
import { REGISTRY } from './lockfile-lint.js';

/**
 * Refreshes the vendored advisory snapshot (supply-chain/advisories.json) from the npm registry's bulk advisory
 * endpoint — the data `npm audit` uses — for every package and version in the lockfile. Needs the registry, so it
 * runs in the department's online pipeline (these machines cannot reach the endpoint); commit the result.
 */
const { values } = parseArgs({
  options: {
    lockfile: { type: 'string', default: 'package-lock.json' },
    out: { type: 'string', default: 'supply-chain/advisories.json' },
    registry: { type: 'string', default: REGISTRY },
  },
});

const lock = readLockfile(values.lockfile);
const request: Record<string, string[]> = {};
for (const entry of lock.packages) {
  if (entry.link || !entry.version) continue;
  const versions = (request[entry.registryName] ??= []);
  if (!versions.includes(entry.version)) versions.push(entry.version);
}
const endpoint = new URL('-/npm/v1/security/advisories/bulk', values.registry.endsWith('/') ? values.registry : `${values.registry}/`);
const response = await fetch(endpoint, {
  method: 'POST',
  headers: { 'content-type': 'application/json', accept: 'application/json' },
  body: JSON.stringify(request),
  signal: AbortSignal.timeout(60_000),
});
if (!response.ok) {
  console.error(`refresh-advisories: ${endpoint.href} answered ${response.status} ${response.statusText}; the snapshot is unchanged.`);
  process.exit(1);
}
const body = (await response.json()) as Record<string, Advisory[]>;
if (typeof body !== 'object' || body === null || Array.isArray(body)) {
  console.error('refresh-advisories: the endpoint did not answer with an object of advisories per package; the snapshot is unchanged.');
  process.exit(1);
}
const advisories: Record<string, Advisory[]> = {};
for (const name of Object.keys(body).sort()) {
  advisories[name] = (body[name] ?? []).map(({ id, url, title, severity, vulnerable_versions }) => ({ id, url, title, severity, vulnerable_versions }));
}
const snapshot: AdvisorySnapshot = { source: endpoint.href, refreshedAt: new Date().toISOString(), advisories };
writeFileSync(values.out, `${JSON.stringify(snapshot, null, 2)}\n`);
const count = Object.values(advisories).reduce((sum, list) => sum + list.length, 0);
console.log(
  `refresh-advisories: ${Object.keys(request).length} packages asked, ${count} advisories for ${Object.keys(advisories).length} of them; wrote ${values.out}`,
);
