import { afterAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { createPublicKey } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { GENERATED_CATALOGUE_FILE, TOOL_SNAPSHOT_DIR } from '../dev/catalogue-docs.js';
import { MANIFEST_FILE, README_FILE, VSCODE_MCP_FILE } from '../dev/generated-files.js';
import { LOOKALIKES_FILE } from '../dev/lookalikes-file.js';
import * as prettier from 'prettier';
import { buildSeed, modulusBits, PUBLIC_KEYS_IN_FILE, SEEDED_KEY_VERSIONS, VAULT_NAME } from '../dev/sandbox/seed.js';
import { renderSeedPublicKeys, SEED_PUBLIC_KEYS_FILE } from '../dev/sandbox/seed-key-file.js';
import { SEED_PUBLIC_KEYS } from '../dev/sandbox/seed-public-keys.js';

/**
 * `npm run generate [-- --check]` (dev/generate.ts) run as CI runs it, in a copy of the repository's generated files
 * and their sources (a temporary folder), so drift can be made without touching the working tree.
 */
const GENERATE = resolve('dist/dev/generate.js');
const COPIED = [README_FILE, TOOL_SNAPSHOT_DIR, GENERATED_CATALOGUE_FILE, MANIFEST_FILE, VSCODE_MCP_FILE, SEED_PUBLIC_KEYS_FILE, LOOKALIKES_FILE, 'infra'];
const copies: string[] = [];

function copyOfRepository(): string {
  const root = mkdtempSync(join(tmpdir(), 'sovereign-mcp-generate-'));
  copies.push(root);
  for (const path of COPIED) cpSync(path, join(root, path), { recursive: true });
  return root;
}

// Without the test run's CA setting, a path relative to the repository (the command makes no TLS connection).
const { NODE_EXTRA_CA_CERTS: _testRunCa, ...env } = process.env;

function generate(root: string, ...args: string[]) {
  return spawnSync(process.execPath, [GENERATE, ...args], { cwd: root, env, encoding: 'utf8' });
}

/** Every file under `root` with its bytes, to show a run changed nothing. */
function contents(root: string): Record<string, string> {
  const files: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else files[relative(root, path)] = readFileSync(path, 'utf8');
    }
  };
  walk(root);
  return files;
}

const edit = (root: string, path: string, change: (text: string) => string) => writeFileSync(join(root, path), change(readFileSync(join(root, path), 'utf8')));
const snapshotOf = (tool: string) => `${TOOL_SNAPSHOT_DIR}/${tool}.json`;

afterAll(() => {
  for (const root of copies) rmSync(root, { recursive: true, force: true });
});

describe('npm run generate', () => {
  it('--check passes on the committed files', () => {
    const run = generate(copyOfRepository(), '--check');
    expect(run.stderr).toBe('');
    expect(run.stdout).toContain('Generated files are up to date');
    expect(run.status).toBe(0);
  });

  it('--check names each drifted file (and for a snapshot, the tool), exits 1 and writes nothing', () => {
    const root = copyOfRepository();
    edit(root, snapshotOf('group_get'), (text) => text.replace('"Resource group name"', '"Any resource group name"'));
    writeFileSync(join(root, snapshotOf('group_archive')), '{}\n');
    edit(root, README_FILE, (text) => text.replace('| `group_delete` | destructive |', '| `group_delete` | write |'));
    edit(root, GENERATED_CATALOGUE_FILE, (text) => text.replace('Lists virtual machines', 'Lists and starts virtual machines'));
    edit(root, 'infra/main.bicep', (text) => `${text}// hand edit\n`);
    rmSync(join(root, VSCODE_MCP_FILE));
    const dropped = SEEDED_KEY_VERSIONS[0]!.version;
    edit(root, SEED_PUBLIC_KEYS_FILE, (text) => text.replace(new RegExp(`  '?${dropped}'?: \\{\\n[^}]*\\},\\n`), ''));
    // Cyrillic "о" (U+043E) no longer read as "o".
    edit(root, LOOKALIKES_FILE, (text) => text.replace('\\"\\u043e\\":\\"o\\",', ''));
    const before = contents(root);

    const run = generate(root, '--check');
    expect(run.status).toBe(1);
    const lines = run.stderr.trim().split('\n');
    expect(lines[0]).toBe('Drifted: 8 generated file(s) differ from their sources. Run `npm run generate`, review the diff and commit it.');
    expect(lines.slice(1).sort()).toEqual(
      [
        `  ${snapshotOf('group_get')}: the schema snapshot of tool group_get differs from what the sources give`,
        `  ${GENERATED_CATALOGUE_FILE}: the catalogue the app loads at start differs from what the sources give`,
        `  ${README_FILE}: the tool table differs from what the sources give`,
        `  ${VSCODE_MCP_FILE}: missing: the VS Code MCP example (dev/vscode-config.ts)`,
        `  ${SEED_PUBLIC_KEYS_FILE}: the file of the sandbox vault's seeded public keys differs from what the sources give`,
        `  ${LOOKALIKES_FILE}: the shield's look-alike table (from the unhomoglyph package) differs from what the sources give`,
        `  ${snapshotOf('group_archive')}: a snapshot of group_archive, which the registry does not hold`,
        '  infra/main.bicep: differs from its sources in infra/ (node infra/scripts/build.mjs)',
      ].sort(),
    );
    expect(contents(root)).toEqual(before);
  });

  it('writes what drifted (and deletes the snapshot of a tool that is gone), after which --check passes', () => {
    const root = copyOfRepository();
    const committed = contents(root);
    edit(root, snapshotOf('storage_blob_delete'), (text) => text.replace('"destructiveHint": true', '"destructiveHint": false'));
    writeFileSync(join(root, snapshotOf('group_archive')), '{}\n');
    edit(root, README_FILE, (text) => text.replace('| `group_delete` | destructive |', '| `group_delete` | write |'));
    edit(root, 'infra/main.bicep', (text) => `${text}// hand edit\n`);
    rmSync(join(root, VSCODE_MCP_FILE));

    const run = generate(root);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toContain(`Wrote ${snapshotOf('storage_blob_delete')}, ${README_FILE}, ${VSCODE_MCP_FILE}, ${snapshotOf('group_archive')} (deleted).`);
    expect(existsSync(join(root, snapshotOf('group_archive')))).toBe(false);
    expect(contents(root)).toEqual(committed);
    expect(generate(root, '--check').status).toBe(0);
  });

  it('writes nothing while a tool changed without a version bump, naming the tool', () => {
    const root = copyOfRepository();
    edit(root, snapshotOf('group_get'), (text) => text.replace('"Resource group name"', '"Any resource group name"'));
    // The record says group_get 1.0.0 had another definition: the registry's group_get changed without a new version.
    edit(root, MANIFEST_FILE, (text) => text.replace(/("name": "group_get",\s*"version": "1\.0\.0",\s*"sha256": ")[0-9a-f]{64}/, `$1${'0'.repeat(64)}`));
    const before = contents(root);

    for (const args of [[], ['--check']]) {
      const run = generate(root, ...args);
      expect(run.status).toBe(1);
      expect(run.stderr).toContain('Nothing written: 1 tool(s) changed without a version bump:');
      expect(run.stderr).toContain('group_get: its definition changed (digest 000000000000… →');
      expect(contents(root)).toEqual(before);
    }
  });
});

describe("the sandbox vault's committed public keys (dev/sandbox/seed-public-keys.ts)", () => {
  it('hold a real RSA public key of the right size for every seeded version and for the pool of created ones, and the seed serves them', async () => {
    const moduli = new Set<string>();
    for (const { version, bits } of PUBLIC_KEYS_IN_FILE) {
      const key = SEED_PUBLIC_KEYS[version];
      expect(key).toBeDefined();
      expect(createPublicKey({ key: { kty: 'RSA', n: key!.n, e: key!.e }, format: 'jwk' }).asymmetricKeyDetails?.modulusLength).toBe(bits);
      moduli.add(key!.n);
    }
    expect(moduli.size).toBe(PUBLIC_KEYS_IN_FILE.length);
    expect(Object.keys(SEED_PUBLIC_KEYS).sort()).toEqual(PUBLIC_KEYS_IN_FILE.map(({ version }) => version).sort());

    const seed = await buildSeed({ vaultUrls: {}, blobUrl: 'https://127.0.0.1:1', tableUrl: 'https://127.0.0.1:2' });
    const served = Object.values(seed.vaults[VAULT_NAME]!.keys).flatMap((key) => key.versions.map((v) => [v.version, v.n]));
    for (const { version } of SEEDED_KEY_VERSIONS) expect(served).toContainEqual([version, SEED_PUBLIC_KEYS[version]!.n]);
  });

  it('are kept when rendered again; a missing version gets a new key of its size; the text is in Prettier form', async () => {
    // The smallest seeded size (RSA-2048 generation takes a third or less of RSA-3072's CPU): what is checked is that
    // a missing version gets a new key of its own size.
    const missing = SEEDED_KEY_VERSIONS.reduce((smallest, version) => (version.bits < smallest.bits ? version : smallest));
    const rest = SEEDED_KEY_VERSIONS.filter((version) => version !== missing);
    expect(missing.bits).toBe(2048);
    const { [missing.version]: _dropped, ...others } = SEED_PUBLIC_KEYS;
    const text = renderSeedPublicKeys(others);
    for (const { version } of rest) expect(text).toContain(`    n: '${SEED_PUBLIC_KEYS[version]!.n}',`);
    const added = new RegExp(`'?${missing.version}'?: \\{\\n    n: '([A-Za-z0-9_-]+)'`).exec(text)?.[1];
    expect(added).toBeDefined();
    expect(added).not.toBe(SEED_PUBLIC_KEYS[missing.version]!.n);
    expect(modulusBits(added!)).toBe(missing.bits);
    expect(renderSeedPublicKeys()).toBe(readFileSync(SEED_PUBLIC_KEYS_FILE, 'utf8'));
    const options = { ...(await prettier.resolveConfig(SEED_PUBLIC_KEYS_FILE)), filepath: SEED_PUBLIC_KEYS_FILE };
    expect(await prettier.check(text, options)).toBe(true);
  });
});
