import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * Compiled tests whose source is gone. `tsc --build` never deletes what it emitted, so a test renamed or removed in
 * `test/` would still run from `dist/test/` — a test nobody can read or change. `npm run build` (which `npm test` runs first) removes them.
 * Returns the files removed, relative to `root`.
 */
export function pruneStaleTests(root: string): string[] {
  const compiled = join(root, 'dist', 'test');
  const removed: string[] = [];
  const walk = (dir: string): void => {
    if (!existsSync(dir)) return;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.test.js')) {
        const source = join(root, 'test', relative(compiled, path)).replace(/\.js$/, '.ts');
        if (existsSync(source)) continue;
        for (const output of [path, `${path}.map`, path.replace(/\.js$/, '.d.ts')]) {
          if (existsSync(output)) {
            rmSync(output);
            removed.push(relative(root, output));
          }
        }
      }
    }
  };
  walk(compiled);
  return removed;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const file of pruneStaleTests(process.cwd())) console.log(`removed ${file}: its test source is gone`);
}
