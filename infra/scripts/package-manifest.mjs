#!/usr/bin/env node
// What the deployed package says about itself, from esbuild's metafile (infra/scripts/package.sh):
//   node package-manifest.mjs <package.json> main <file>
//       "main" becomes <file>, the bundled Functions entry point.
//   node package-manifest.mjs <package.json> externals <esbuild metafile>
//       only the dependencies the bundle leaves outside it stay (esbuild's metafile lists each import it left
//       external), with their pinned versions; nothing of the dev tooling (devDependencies, scripts, jest's settings).
//       An external the production install holds only as another package's dependency stops the packaging: pruned,
//       it would fail on first use.
//   node package-manifest.mjs <bundled-packages.json> bundled <esbuild metafile>
//       writes the name@version of every package whose code went into the bundle (sorted), for the integrity trail.
// For `bundled`, <out.json> goes in the folder esbuild ran in (the metafile's paths are relative to it). Plain Node,
// no dependencies.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, resolve } from 'node:path';

const [file, command, metafileOrMain] = process.argv.slice(2);
if (!file || !metafileOrMain || !['main', 'externals', 'bundled'].includes(command)) {
  console.error('usage: package-manifest.mjs <package.json> main <file> | <package.json> externals <metafile> | <out.json> bundled <metafile>');
  process.exit(2);
}
const write = (value) => writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);
const meta = command === 'main' ? undefined : JSON.parse(readFileSync(metafileOrMain, 'utf8'));

if (command === 'main') {
  const manifest = JSON.parse(readFileSync(file, 'utf8'));
  manifest.main = metafileOrMain;
  write(manifest);
} else if (command === 'externals') {
  const manifest = JSON.parse(readFileSync(file, 'utf8'));
  const builtins = new Set(builtinModules);
  /** A bare import's package: `@scope/name` or `name`, without a subpath. */
  const packageOf = (path) => path.split('/').slice(0, path.startsWith('@') ? 2 : 1).join('/');
  const external = new Set(
    Object.values(meta.outputs)
      .flatMap((output) => output.imports)
      .filter((entry) => entry.external && !entry.path.startsWith('node:') && !builtins.has(entry.path))
      .map((entry) => packageOf(entry.path))
      // Provided by the Functions worker at run time, not installed.
      .filter((name) => name !== '@azure/functions-core'),
  );
  // An import the production install does not hold either (debug's optional `supports-color`, required inside a
  // try) fails at run time as it did before bundling, and the code expects that. One the install holds only as some
  // other package's dependency would be pruned away here: that stops the packaging.
  const installed = (name) => existsSync(resolve(dirname(file), 'node_modules', name, 'package.json'));
  const undeclared = [...external].filter((name) => !(name in manifest.dependencies) && installed(name));
  if (undeclared.length > 0) {
    console.error(`package-manifest: the bundle imports ${undeclared.join(', ')} at run time, which package.json does not declare: add it to dependencies`);
    process.exit(1);
  }
  manifest.dependencies = Object.fromEntries(Object.entries(manifest.dependencies).filter(([name]) => external.has(name)));
  // What the Functions host and npm read of a deployed app (overrides shape the locked tree); dev tooling stays behind.
  const kept = ['name', 'version', 'private', 'description', 'type', 'main', 'engines', 'dependencies', 'overrides'];
  for (const key of Object.keys(manifest)) if (!kept.includes(key)) delete manifest[key];
  write(manifest);
} else {
  const packages = new Set();
  for (const input of Object.keys(meta.inputs)) {
    const at = input.lastIndexOf('node_modules/');
    if (at < 0) continue;
    const rest = input.slice(at + 'node_modules/'.length).split('/');
    const dir = resolve(dirname(file), input.slice(0, at), 'node_modules', ...rest.slice(0, rest[0].startsWith('@') ? 2 : 1));
    const { name, version } = JSON.parse(readFileSync(resolve(dir, 'package.json'), 'utf8'));
    packages.add(`${name}@${version}`);
  }
  write([...packages].sort());
}
