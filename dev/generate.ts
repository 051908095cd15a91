import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { TOOLS } from '../shared/tools/registry.js';
import { buildCatalogue } from '../shared/mcp/catalogue.js';
import { buildManifest, type ToolVersionRecord } from '../shared/mcp/manifest.js';
import { GENERATED_CATALOGUE_FILE } from './catalogue-docs.js';
import { driftOf, generatedFiles, MANIFEST_FILE, type GeneratedFile } from './generated-files.js';
import { SEED_PUBLIC_KEYS_FILE } from './sandbox/seed-key-file.js';
import { unversionedChanges } from './tool-versions.js';

/**
 * `npm run generate [-- --check]`, from the repository root: regenerates everything derived from the sources — one
 * schema snapshot per tool (test/snapshots/tools/<tool>.json), the catalogue the app loads at start, the version
 * record (shared/mcp/tool-manifest.json), README's tool table, .vscode/mcp.json, the sandbox's seeded public keys
 * (dev/sandbox/seed-public-keys.ts), the shield's look-alike table (shared/shield/lookalikes.generated.ts) and the infra outputs (infra/scripts/build.mjs) — then rebuilds when something
 * compiled in changed. It writes nothing while a tool changed without a version bump. --check writes nothing and
 * exits 1 naming each drifted file (CI runs it).
 */
const usage = 'usage: npm run generate [-- --check]';
let check: boolean;
try {
  check = parseArgs({ options: { check: { type: 'boolean', default: false } } }).values.check;
} catch (error) {
  console.error(`${(error as Error).message}\n${usage}`);
  process.exit(2);
}
const root = process.cwd();

const committed: ToolVersionRecord = existsSync(MANIFEST_FILE)
  ? (JSON.parse(readFileSync(MANIFEST_FILE, 'utf8')) as ToolVersionRecord)
  : { server: '', version: '', canonicalization: 'RFC8785-JCS', tools: [], sha256: '' };
const unversioned = unversionedChanges(committed, buildManifest(buildCatalogue(TOOLS)));
if (unversioned.length > 0) {
  console.error(`Nothing written: ${unversioned.length} tool(s) changed without a version bump:\n${unversioned.map((line) => `  ${line}`).join('\n')}`);
  process.exit(1);
}

let files: GeneratedFile[];
try {
  files = generatedFiles(TOOLS, root);
} catch (error) {
  console.error(`Nothing checked or written: ${(error as Error).message}`);
  process.exit(2);
}
const drift = driftOf(files, root);
const infra = spawnSync(process.execPath, ['infra/scripts/build.mjs', ...(check ? ['--check'] : [])], { encoding: 'utf8' });

if (check) {
  const lines = drift.map(({ path, problem }) => `${path}: ${problem}`);
  if (infra.status !== 0) lines.push(...infraStale(infra.stderr));
  if (lines.length > 0) {
    console.error(
      `Drifted: ${lines.length} generated file(s) differ from their sources. Run \`npm run generate\`, review the diff and commit it.\n${lines.map((line) => `  ${line}`).join('\n')}`,
    );
    process.exit(1);
  }
  console.log(
    `Generated files are up to date (${TOOLS.length} tool snapshots, the catalogue, the version record, the README tool table, .vscode/mcp.json, the sandbox's seeded keys, the shield's look-alike table, infra/).`,
  );
} else {
  const contents = new Map(files.map((file) => [file.path, file.content]));
  for (const { path, remove } of drift) {
    if (remove) {
      rmSync(path);
      continue;
    }
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, contents.get(path)!);
  }
  if (infra.status !== 0) {
    console.error(`infra/scripts/build.mjs failed:\n${infra.stderr}`);
    process.exit(1);
  }
  console.log(
    drift.length > 0 ? `Wrote ${drift.map(({ path, remove }) => (remove ? `${path} (deleted)` : path)).join(', ')}.` : 'Tool files: nothing to change.',
  );
  console.log(infra.stdout.trim());
  // The app's catalogue and the sandbox's seeded keys are compiled in: rebuild so dist/ serves what was just written.
  if (drift.some(({ path }) => path === GENERATED_CATALOGUE_FILE || path === SEED_PUBLIC_KEYS_FILE)) {
    const build = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '--build', 'tsconfig.json'], { stdio: 'inherit' });
    if (build.status !== 0) process.exit(build.status ?? 1);
    console.log('Rebuilt dist/ with what was written.');
  }
}

/** The files infra/scripts/build.mjs --check named as stale (its own message when it said something else). */
function infraStale(stderr: string): string[] {
  const marker = '): ';
  const line = stderr.trim();
  if (!line.startsWith('Stale (') || !line.includes(marker)) return [`infra/scripts/build.mjs --check failed: ${line}`];
  return line
    .slice(line.indexOf(marker) + marker.length)
    .split(', ')
    .map((path) => `${path}: differs from its sources in infra/ (node infra/scripts/build.mjs)`);
}
