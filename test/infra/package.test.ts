import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { startAppProcess } from '../../dev/app-process.js';
import { sandboxAppSettings } from '../../dev/sandbox-settings.js';
import { startSandbox } from '../../dev/sandbox/index.js';

/**
 * What is deployed is exactly the built package: infra/scripts/package.sh stages it (the folder azd deploys through
 * azure.yaml's prepackage hook and dist, and the zip the manual steps upload), and it holds the compiled app, the
 * policy and production dependencies only — no tests, dev tools, sources, sandbox data or dev dependencies.
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

  it('has the production dependencies and none of the packages the lockfile marks as dev-only', () => {
    const manifest = JSON.parse(readFileSync('package.json', 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
    const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')) as { packages: Record<string, { dev?: boolean }> };
    for (const name of Object.keys(manifest.dependencies)) expect({ name, present: existsSync(join(stage, 'node_modules', name, 'package.json')) }).toEqual({ name, present: true });
    const devOnly = Object.entries(lock.packages).filter(([path, entry]) => path.startsWith('node_modules/') && entry.dev === true);
    expect(devOnly.length).toBeGreaterThan(100);
    expect(devOnly.filter(([path]) => existsSync(join(stage, path))).map(([path]) => path)).toEqual([]);
    for (const name of ['jest', 'typescript', 'azurite', 'playwright-core']) expect(existsSync(join(stage, 'node_modules', name))).toBe(false);
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

interface Component { name: string; group?: string; purl?: string; components?: Component[] }

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

  it('reports the package digest in /health when the staged package runs', async () => {
    // The staged app (its dist/ and node_modules) behind a copy of the dev host, linked in from beside the package
    // so the package itself stays exactly as staged; Node resolves the links, so the app reads the package's files.
    const host = join(stage, '..', 'host');
    mkdirSync(join(host, 'dist', 'dev', 'host'), { recursive: true });
    for (const file of ['main.js', 'easy-auth.js', 'local-host.js']) copyFileSync(join('dist', 'dev', 'host', file), join(host, 'dist', 'dev', 'host', file));
    for (const dir of ['dist/functions', 'dist/shared', 'node_modules']) symlinkSync(join(stage, dir), join(host, dir));
    copyFileSync(join(stage, 'package.json'), join(host, 'package.json'));
    const dataDir = mkdtempSync(join(tmpdir(), 'sovereign-mcp-package-app-'));
    const sandbox = await startSandbox({ dataDir, tlsDir: '.sandbox/tls' });
    try {
      const app = await startAppProcess(sandboxAppSettings(sandbox), { main: resolve(host, 'dist', 'dev', 'host', 'main.js') });
      try {
        const response = await fetch(`${app.url}/health`);
        const info = JSON.parse(readFileSync(join(stage, 'build-info.json'), 'utf8')) as { packageDigest: string };
        expect(response.status).toBe(200);
        expect(await response.json()).toMatchObject({ status: 'ok', package: info.packageDigest });
      } finally {
        await app.stop();
      }
    } finally {
      await sandbox.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 180_000);
});
