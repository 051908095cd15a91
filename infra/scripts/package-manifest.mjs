#!/usr/bin/env node
// The deployed package's package.json, written over the staged copy of the repository's (infra/scripts/package.sh):
//   node package-manifest.mjs <package.json> main <file>
//       "main" becomes <file>, the bundled Functions entry point.
//   node package-manifest.mjs <package.json> externals <esbuild metafile>
//       only the dependencies the bundle leaves outside it stay (esbuild's metafile lists each import it left
//       external), with their pinned versions; nothing of the dev tooling (devDependencies, scripts, jest's settings).
// Plain Node, no dependencies.
import { readFileSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';

const [file, command, argument] = process.argv.slice(2);
if (!file || !argument || !['main', 'externals'].includes(command)) {
  console.error('usage: package-manifest.mjs <package.json> main <file> | externals <metafile>');
  process.exit(2);
}
const manifest = JSON.parse(readFileSync(file, 'utf8'));

if (command === 'main') {
  manifest.main = argument;
} else {
  const meta = JSON.parse(readFileSync(argument, 'utf8'));
  const builtins = new Set(builtinModules);
  /** A bare import's package: `@scope/name` or `name`, without a subpath. */
  const packageOf = (path) => path.split('/').slice(0, path.startsWith('@') ? 2 : 1).join('/');
  const external = new Set(
    Object.values(meta.outputs)
      .flatMap((output) => output.imports)
      .filter((entry) => entry.external && !entry.path.startsWith('node:') && !builtins.has(entry.path))
      .map((entry) => packageOf(entry.path)),
  );
  manifest.dependencies = Object.fromEntries(Object.entries(manifest.dependencies).filter(([name]) => external.has(name)));
  // What the Functions host and npm read of a deployed app; dev tooling's settings (scripts, jest) stay behind.
  const kept = ['name', 'version', 'private', 'description', 'type', 'main', 'engines', 'dependencies'];
  for (const key of Object.keys(manifest)) if (!kept.includes(key)) delete manifest[key];
}
writeFileSync(file, `${JSON.stringify(manifest, null, 2)}\n`);
