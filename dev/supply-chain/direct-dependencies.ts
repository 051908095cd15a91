import semver from 'semver';
import type { AllowedDependencies } from './config.js';
import type { Finding } from './finding.js';
import type { Lockfile } from './lockfile.js';

const LIST = 'supply-chain/allowed-dependencies.json';

export function scopeOf(name: string): string | undefined {
  return name.startsWith('@') && name.includes('/') ? name.slice(0, name.indexOf('/')) : undefined;
}

/**
 * Every direct dependency is pinned to one exact registry version and reviewed: listed with its kind and expected
 * publisher, a scoped one under a scope that publisher owns. A new, renamed or re-scoped dependency fails until
 * someone reviews it and updates the list.
 */
export function checkDirectDependencies(lock: Lockfile, allowed: AllowedDependencies): Finding[] {
  const findings: Finding[] = [];
  const declared: Array<[string, string, 'production' | 'dev']> = [
    ...Object.entries(lock.direct.production).map(([name, spec]): [string, string, 'production'] => [name, spec, 'production']),
    ...Object.entries(lock.direct.optional).map(([name, spec]): [string, string, 'production'] => [name, spec, 'production']),
    ...Object.entries(lock.direct.dev).map(([name, spec]): [string, string, 'dev'] => [name, spec, 'dev']),
  ];
  for (const [name, spec, kind] of declared) {
    if (semver.valid(spec) === null) {
      findings.push({
        check: 'pinned',
        subject: name,
        message: `is declared as "${spec}", not one exact registry version (no ^ ~ ranges, tags, git, URL or file specs). Pin it: npm install --save-exact ${name}@<version>.`,
      });
    }
    const entry = allowed.dependencies[name];
    if (!entry) {
      findings.push({
        check: 'allow-list',
        subject: name,
        message: `is a direct ${kind} dependency that nobody has reviewed. If it is wanted, check its publisher and add it to "dependencies" in ${LIST} with kind, publisher and purpose; otherwise remove it (npm uninstall ${name}).`,
      });
      continue;
    }
    if (entry.kind !== kind)
      findings.push({
        check: 'allow-list',
        subject: name,
        message: `is a ${kind} dependency but ${LIST} reviewed it as ${entry.kind}: move it back, or review the change and update the list.`,
      });
    const publisher = allowed.publishers[entry.publisher];
    const scope = scopeOf(name);
    if (!publisher)
      findings.push({
        check: 'allow-list',
        subject: name,
        message: `names publisher "${entry.publisher}", which ${LIST} does not describe under "publishers".`,
      });
    else if (scope && !publisher.scopes.includes(scope))
      findings.push({
        check: 'publisher',
        subject: name,
        message: `is under scope ${scope}, which its expected publisher ${publisher.name} does not own (${publisher.scopes.join(', ') || 'no scopes'}): a look-alike or moved package. Review it before changing ${LIST}.`,
      });
  }
  const names = new Set(declared.map(([name]) => name));
  for (const name of Object.keys(allowed.dependencies)) {
    if (!names.has(name))
      findings.push({ check: 'allow-list', subject: name, message: `is listed in ${LIST} but is no longer a dependency: remove it from the list.` });
  }
  return findings;
}
