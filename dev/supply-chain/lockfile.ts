import { readFileSync } from 'node:fs';

/** One installed package as the lockfile (npm lockfileVersion 2/3) records it. */
export interface LockedPackage {
  /** The key in `packages`, e.g. `node_modules/@azure/identity` or `node_modules/a/node_modules/b`. */
  path: string;
  /** The name npm installs it under (the last `node_modules/` segment of the path). */
  name: string;
  /** The registry name when the entry is an alias (`"name"` field), otherwise the install name. */
  registryName: string;
  version: string;
  resolved: string | undefined;
  integrity: string | undefined;
  link: boolean;
  dev: boolean;
  hasInstallScript: boolean;
}

export interface Lockfile {
  /** The root entry's direct dependencies, by kind, with the specs package.json gives them. */
  direct: { production: Record<string, string>; dev: Record<string, string>; optional: Record<string, string> };
  packages: LockedPackage[];
}

interface RawEntry {
  name?: unknown;
  version?: unknown;
  resolved?: unknown;
  integrity?: unknown;
  link?: unknown;
  dev?: unknown;
  hasInstallScript?: unknown;
  dependencies?: unknown;
  devDependencies?: unknown;
  optionalDependencies?: unknown;
}

function specs(value: unknown): Record<string, string> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('a dependency list in the lockfile root is not an object');
  return Object.fromEntries(Object.entries(value).map(([name, spec]) => [name, String(spec)]));
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** The install name of a `packages` key: whatever follows its last `node_modules/`. */
export function installName(path: string): string {
  const marker = 'node_modules/';
  const at = path.lastIndexOf(marker);
  return at === -1 ? path : path.slice(at + marker.length);
}

export function readLockfile(file: string): Lockfile {
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as { lockfileVersion?: unknown; packages?: unknown };
  if (parsed.lockfileVersion !== 2 && parsed.lockfileVersion !== 3)
    throw new Error(`${file}: lockfileVersion ${String(parsed.lockfileVersion)} is not supported (npm 7+ writes 2 or 3)`);
  if (typeof parsed.packages !== 'object' || parsed.packages === null) throw new Error(`${file}: no "packages" section`);
  const entries = Object.entries(parsed.packages as Record<string, RawEntry>);
  const root = (parsed.packages as Record<string, RawEntry>)[''];
  if (!root) throw new Error(`${file}: no root entry ("") in "packages"`);
  const packages = entries
    .filter(([path]) => path !== '')
    .map(([path, entry]): LockedPackage => {
      const name = installName(path);
      return {
        path,
        name,
        registryName: text(entry.name) ?? name,
        version: text(entry.version) ?? '',
        resolved: text(entry.resolved),
        integrity: text(entry.integrity),
        link: entry.link === true,
        dev: entry.dev === true,
        hasInstallScript: entry.hasInstallScript === true,
      };
    });
  return {
    direct: { production: specs(root.dependencies), dev: specs(root.devDependencies), optional: specs(root.optionalDependencies) },
    packages,
  };
}
