import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { startAppProcess } from '../../dev/app-process.js';
import { freePorts } from '../../dev/free-ports.js';
import { SANDBOX_AUDIENCE, SANDBOX_SCOPE, sandboxAppSettings } from '../../dev/sandbox-settings.js';
import { startSandbox } from '../../dev/sandbox/index.js';
import { DEV_OID, TEST_SANDBOX_OPTIONS } from '../helpers/stack.js';

/**
 * What is deployed is exactly the built package: infra/scripts/package.sh stages it (the folder azd deploys through
 * azure.yaml's prepackage hook and dist, and the zip the manual steps upload), and it holds the bundled app, the
 * policy and the production packages the bundle leaves outside it — no tests, dev tools, sources, sandbox data or
 * dev dependencies.
 */
const stage = join(mkdtempSync(join(tmpdir(), 'sovereign-mcp-package-')), 'package');
let files: string[] = [];

function listFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? listFiles(path) : [relative(stage, path)];
  });
}

beforeAll(() => {
  const run = spawnSync('bash', ['infra/scripts/package.sh', '--dir', stage], { encoding: 'utf8', timeout: 240_000 });
  if (run.status !== 0) throw new Error(`package.sh failed (${run.status}): ${run.stderr}`);
  files = listFiles(stage);
}, 300_000);
afterAll(() => rmSync(join(stage, '..'), { recursive: true, force: true }));

describe('the deployment package', () => {
  it('has the Functions entry point, host.json, the policy and the lockfile', () => {
    const main = JSON.parse(readFileSync(join(stage, 'package.json'), 'utf8')).main as string;
    expect(existsSync(join(stage, main))).toBe(true);
    for (const file of ['host.json', 'package-lock.json', 'shared/policy/department.yaml', 'shared/policy/rules.cedar', '.funcignore']) expect(files).toContain(file);
  });

  it('holds no tests, dev tools, benchmarks, TypeScript sources, source maps, settings or sandbox state', () => {
    const outside = files.filter((file) => !file.startsWith('node_modules/'));
    expect(outside.filter((file) => /^(test|dev|bench|infra|\.sandbox|\.ci)\//.test(file) || /^dist\/(test|dev|bench)\//.test(file))).toEqual([]);
    expect(outside.filter((file) => /\.(ts|map)$/.test(file) && !file.endsWith('.d.ts'))).toEqual([]);
    expect(outside.filter((file) => /local\.settings\.json$|\.env$/.test(file))).toEqual([]);
  });

  it('runs the app from one bundle, and installs only the packages the bundle leaves outside it', () => {
    const manifest = JSON.parse(readFileSync('package.json', 'utf8')) as { dependencies: Record<string, string> };
    const staged = JSON.parse(readFileSync(join(stage, 'package.json'), 'utf8')) as { main: string; dependencies: Record<string, string>; devDependencies?: unknown; scripts?: unknown };
    expect(staged.main).toBe('dist/bundle/app/start.js');
    // The app's own code is bundled: no compiled module tree beside it.
    expect(files.filter((file) => file.startsWith('dist/') && !file.startsWith('dist/bundle/app/'))).toEqual([]);
    // Cedar alone (it reads its WebAssembly beside its module), at the repository's pinned version; nothing of the dev
    // tooling. The Azure Monitor exporter and OpenTelemetry are in the bundle, in a chunk loaded after the first answer.
    expect(staged.dependencies).toEqual({ '@cedar-policy/cedar-wasm': manifest.dependencies['@cedar-policy/cedar-wasm'] });
    expect({ devDependencies: staged.devDependencies, scripts: staged.scripts }).toEqual({ devDependencies: undefined, scripts: undefined });
    for (const name of Object.keys(staged.dependencies)) expect({ name, present: existsSync(join(stage, 'node_modules', name, 'package.json')) }).toEqual({ name, present: true });
    for (const name of ['zod', '@modelcontextprotocol/server', '@azure/identity', '@azure/arm-resources', '@azure/monitor-opentelemetry-exporter', '@opentelemetry/sdk-logs', 'jose', 'jest', 'typescript', 'azurite', 'playwright-core'])
      expect({ name, present: existsSync(join(stage, 'node_modules', name)) }).toEqual({ name, present: false });
    // The staged lockfile is the repository's, pruned to what is installed: each package it names is there.
    const lock = JSON.parse(readFileSync(join(stage, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
    const locked = Object.keys(lock.packages).filter((path) => path.startsWith('node_modules/'));
    expect(locked.filter((path) => !existsSync(join(stage, path, 'package.json')))).toEqual([]);
    expect(Object.entries(lock.packages).filter(([, entry]) => entry.dev === true)).toEqual([]);
  });

  it('keeps everything staged when azd packages it (the .funcignore leaves nothing out)', () => {
    const ignore = readFileSync(join(stage, '.funcignore'), 'utf8').split('\n').filter((line) => line.trim() && !line.startsWith('#'));
    expect(ignore).toEqual([]);
  });

  it('is what azd deploys: azure.yaml stages it before packaging and deploys that folder', () => {
    const project = parseYaml(readFileSync('azure.yaml', 'utf8'));
    const api = project.services.api;
    expect(api.hooks.prepackage.run).toBe(`infra/scripts/package.sh --dir ${api.dist}`);
    expect(readFileSync('.gitignore', 'utf8').split('\n')).toContain(`${api.dist}/`);
  });
});

interface Component { name: string; group?: string; version?: string; purl?: string; components?: Component[] }

function componentNames(components: Component[]): string[] {
  return components.flatMap((component) => [component.group ? `${component.group}/${component.name}` : component.name, ...componentNames(component.components ?? [])]);
}

function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

describe('the bill of materials and integrity trail', () => {
  it('holds a CycloneDX SBOM naming the production dependencies and none of the dev-only ones', () => {
    const bom = JSON.parse(readFileSync(join(stage, 'sbom.cdx.json'), 'utf8')) as { bomFormat: string; specVersion: string; metadata: { component: { name: string } }; components: Component[] };
    expect({ format: bom.bomFormat, spec: bom.specVersion, subject: bom.metadata.component.name }).toEqual({ format: 'CycloneDX', spec: '1.6', subject: 'sovereign-mcp' });
    const names = new Set(componentNames(bom.components));
    const manifest = JSON.parse(readFileSync('package.json', 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
    expect(Object.keys(manifest.dependencies).filter((name) => !names.has(name))).toEqual([]);
    // Dev-only: every copy of the name in the lockfile is marked dev (semver, say, is also a production dependency's).
    const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')) as { packages: Record<string, { dev?: boolean }> };
    const entries = Object.entries(lock.packages).filter(([path]) => path.startsWith('node_modules/')).map(([path, entry]) => [path.slice(path.lastIndexOf('node_modules/') + 13), entry.dev === true] as const);
    const devOnly = [...new Set(entries.filter(([, dev]) => dev).map(([name]) => name))].filter((name) => !entries.some(([other, dev]) => other === name && !dev));
    expect(devOnly.length).toBeGreaterThan(100);
    expect(devOnly.filter((name) => names.has(name))).toEqual([]);
    for (const name of ['jest', 'typescript', 'azurite', 'lockfile-lint']) expect(names.has(name)).toBe(false);
  });

  it('names every package whose code is in the bundle (bundled-packages.json), none of them dev-only', () => {
    const bundled = JSON.parse(readFileSync(join(stage, 'bundled-packages.json'), 'utf8')) as string[];
    const bom = JSON.parse(readFileSync(join(stage, 'sbom.cdx.json'), 'utf8')) as { components: Component[] };
    const versioned = (components: Component[]): string[] =>
      components.flatMap((component) => [`${component.group ? `${component.group}/` : ''}${component.name}@${component.version}`, ...versioned(component.components ?? [])]);
    const named = new Set(versioned(bom.components));
    expect(bundled).toEqual(expect.arrayContaining(['zod@4.6.7', '@modelcontextprotocol/server@2.4.0', '@azure/identity@4.13.1']));
    expect(bundled.filter((entry) => !named.has(entry))).toEqual([]);
    // Bundled from the package's production install, not the repository's: debug's optional supports-color (a dev
    // dependency's here) is not in it.
    const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')) as { packages: Record<string, { version?: string; dev?: boolean }> };
    const devOnly = new Set(
      Object.entries(lock.packages)
        .filter(([path, entry]) => path.startsWith('node_modules/') && entry.dev === true)
        .map(([path, entry]) => `${path.slice(path.lastIndexOf('node_modules/') + 13)}@${entry.version}`),
    );
    expect(bundled.filter((entry) => devOnly.has(entry))).toEqual([]);
  });

  it('lists every file with its SHA-256 (sha256sum -c passes), and build-info.json records the digest of that list', () => {
    const check = spawnSync('sha256sum', ['--check', '--quiet', 'package-files.sha256'], { cwd: stage, encoding: 'utf8' });
    expect({ status: check.status, stderr: check.stderr }).toEqual({ status: 0, stderr: '' });
    const listed = readFileSync(join(stage, 'package-files.sha256'), 'utf8').trim().split('\n').map((line) => line.slice(66));
    const expected = files.filter((file) => file !== 'package-files.sha256' && file !== 'build-info.json').map((file) => `./${file}`).sort();
    expect([...listed].sort()).toEqual(expected);
    const info = JSON.parse(readFileSync(join(stage, 'build-info.json'), 'utf8')) as { packageDigest: string };
    expect(info.packageDigest).toBe(`sha256:${sha256(join(stage, 'package-files.sha256'))}`);
  });

  it('zips the staged package with a SHA-256 beside it that sha256sum -c accepts, and the SBOM beside it', () => {
    const out = join(stage, '..', 'sovereign-mcp.zip');
    const zip = spawnSync('bash', ['infra/scripts/zip-package.sh', stage, out], { encoding: 'utf8', timeout: 240_000 });
    expect({ status: zip.status, stderr: zip.stderr }).toEqual({ status: 0, stderr: '' });
    expect(readFileSync(`${out}.sha256`, 'utf8')).toBe(`${sha256(out)}  sovereign-mcp.zip\n`);
    expect(spawnSync('sha256sum', ['--check', 'sovereign-mcp.zip.sha256'], { cwd: join(stage, '..'), encoding: 'utf8' }).status).toBe(0);
    expect(readFileSync(join(stage, '..', 'sovereign-mcp.cdx.json'), 'utf8')).toBe(readFileSync(join(stage, 'sbom.cdx.json'), 'utf8'));
  }, 300_000);

  it('runs as staged: /health reports the package digest; tools/list, a read tool per Azure SDK and an approval request answer', async () => {
    // The staged files themselves, loaded through the Functions worker's interface (the package's main, with the worker's
    // @azure/functions-core answered as the worker answers it) and served on the local host: dev/host/package-host.ts.
    const dataDir = mkdtempSync(join(tmpdir(), 'sovereign-mcp-package-app-'));
    const sandbox = await startSandbox({ dataDir, ...TEST_SANDBOX_OPTIONS });
    try {
      const app = await startAppProcess(sandboxAppSettings(sandbox), { port: (await freePorts(1))[0]!, main: resolve('dist/dev/host/package-host.js'), args: [stage] });
      try {
        const response = await fetch(`${app.url}/health`);
        const info = JSON.parse(readFileSync(join(stage, 'build-info.json'), 'utf8')) as { packageDigest: string };
        expect(response.status).toBe(200);
        expect(await response.json()).toMatchObject({ status: 'ok', package: info.packageDigest });
        // And the bundle answers MCP: tools/list through the whole pipeline (token, policy, audit).
        const token = await sandbox.mintToken({ audience: SANDBOX_AUDIENCE, tenantId: sandbox.tenantId, oid: DEV_OID, name: 'Package Test', roles: ['Mcp.Reader'], extra: { scp: SANDBOX_SCOPE } });
        const listed = await fetch(`${app.url}/mcp`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-06-18' },
          body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
        });
        expect(listed.status).toBe(200);
        expect(await listed.text()).toContain('"name":"group_get"');
        // And a tool end to end: the blob SDK's chunk loaded on first use, Azurite, and the shield folding the
        // text's non-ASCII characters (its look-alike table once came from a file the bundle did not carry: a 500).
        const read = await fetch(`${app.url}/tools/storage_blob_read`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ resourceGroup: 'rg-ddr-records-prod-uks', account: 'stddrrecordsprod', container: 'case-files', name: '2025/CASE-10482/summary.txt' }),
        });
        expect({ status: read.status, subject: (await read.text()).includes('Case CASE-10482 \u2014 Subject access request') }).toEqual({ status: 200, subject: true });
        // One read tool per Azure SDK the bundle loads on first use, each chunk from the package's own files (the test
        // suite runs the repository's bundle, whose imports would also find the repository's node_modules).
        for (const [tool, args] of [
          ['group_list', {}],
          ['storage_account_list', {}],
          ['compute_vm_list', {}],
          ['monitor_activity_log_list', { days: 30, top: 5 }],
          ['keyvault_key_list', {}],
        ] as const) {
          const answer = await fetch(`${app.url}/tools/${tool}`, {
            method: 'POST',
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
            body: JSON.stringify(args),
          });
          const body = (await answer.json()) as { isError?: boolean };
          expect({ tool, status: answer.status, isError: body.isError ?? false }).toEqual({ tool, status: 200, isError: false });
        }
        // And the approvals store (the Table SDK, loaded with the first destructive call): a delete waits for a human.
        const operator = await sandbox.mintToken({ audience: SANDBOX_AUDIENCE, tenantId: sandbox.tenantId, oid: DEV_OID, name: 'Package Test', roles: ['Mcp.Operator'], extra: { scp: SANDBOX_SCOPE } });
        const remove = await fetch(`${app.url}/tools/storage_blob_delete`, {
          method: 'POST',
          headers: { authorization: `Bearer ${operator}`, 'content-type': 'application/json' },
          body: JSON.stringify({ resourceGroup: 'rg-ddr-records-prod-uks', account: 'stddrrecordsprod', container: 'case-files', name: '2025/CASE-10482/summary.txt' }),
        });
        expect({ status: remove.status, approval: (await remove.text()).includes('approval_required') }).toEqual({ status: 428, approval: true });
      } finally {
        await app.stop();
      }
    } finally {
      await sandbox.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 180_000);
});
