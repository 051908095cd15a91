import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ToolDefinition } from '../shared/tools/tool.js';
import { buildCatalogue } from '../shared/mcp/catalogue.js';
import { buildManifest } from '../shared/mcp/manifest.js';
import {
  GENERATED_CATALOGUE_FILE,
  renderGeneratedCatalogue,
  renderToolSnapshots,
  renderToolTable,
  replaceToolTable,
  TOOL_SNAPSHOT_DIR,
} from './catalogue-docs.js';
import { LOOKALIKES_FILE, renderLookalikes } from './lookalikes-file.js';
import { renderSeedPublicKeys, SEED_PUBLIC_KEYS_FILE } from './sandbox/seed-key-file.js';
import { LOCAL_MCP_URL, vsCodeConfigText } from './vscode-config.js';

/** The committed record of each tool's version and digest (checked against version bumps before it is rewritten). */
export const MANIFEST_FILE = 'shared/mcp/tool-manifest.json';
export const README_FILE = 'README.md';
export const VSCODE_MCP_FILE = '.vscode/mcp.json';

/** A file `npm run generate` owns: where it goes (relative to the repository root), what it holds, and what it is. */
export interface GeneratedFile {
  path: string;
  content: string;
  what: string;
}

/** A generated file that differs from what the sources give, or one that should not exist, and why. */
export interface Drift {
  path: string;
  problem: string;
  /** The file should not exist (a snapshot of a tool the registry no longer holds). */
  remove?: true;
}

/**
 * Every file generated from the tool registry (the infra outputs are infra/scripts/build.mjs's), the sandbox's
 * seeded public keys and the shield's look-alike table, for the repository at `root`: the README's table is put into that README's text.
 */
export function generatedFiles(tools: readonly ToolDefinition[], root: string): GeneratedFile[] {
  const snapshots = [...renderToolSnapshots(tools)].map(([path, content], i) => ({ path, content, what: `the schema snapshot of tool ${tools[i]!.name}` }));
  return [
    ...snapshots,
    { path: GENERATED_CATALOGUE_FILE, content: renderGeneratedCatalogue(tools), what: 'the catalogue the app loads at start' },
    {
      path: MANIFEST_FILE,
      content: `${JSON.stringify(buildManifest(buildCatalogue(tools)), null, 2)}\n`,
      what: "the record of each tool's version and digest",
    },
    { path: README_FILE, content: replaceToolTable(readFileSync(join(root, README_FILE), 'utf8'), renderToolTable(tools)), what: 'the tool table' },
    { path: VSCODE_MCP_FILE, content: vsCodeConfigText(LOCAL_MCP_URL), what: 'the VS Code MCP example (dev/vscode-config.ts)' },
    { path: SEED_PUBLIC_KEYS_FILE, content: renderSeedPublicKeys(), what: "the file of the sandbox vault's seeded public keys" },
    { path: LOOKALIKES_FILE, content: renderLookalikes(), what: "the shield's look-alike table (from the unhomoglyph package)" },
  ];
}

/** The generated files under `root` that differ from `files`, are missing, or are snapshots of tools no longer registered. */
export function driftOf(files: readonly GeneratedFile[], root: string): Drift[] {
  const drift: Drift[] = [];
  for (const file of files) {
    const path = join(root, file.path);
    if (!existsSync(path)) drift.push({ path: file.path, problem: `missing: ${file.what}` });
    else if (readFileSync(path, 'utf8') !== file.content) drift.push({ path: file.path, problem: `${file.what} differs from what the sources give` });
  }
  const expected = new Set(files.map((file) => file.path));
  const snapshotDir = join(root, TOOL_SNAPSHOT_DIR);
  const present = existsSync(snapshotDir) ? readdirSync(snapshotDir).map((name) => `${TOOL_SNAPSHOT_DIR}/${name}`) : [];
  for (const path of present.filter((candidate) => !expected.has(candidate)).sort()) {
    drift.push({
      path,
      problem: `a snapshot of ${path.slice(TOOL_SNAPSHOT_DIR.length + 1).replace(/\.json$/, '')}, which the registry does not hold`,
      remove: true,
    });
  }
  return drift;
}
