import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parse as parseYaml } from 'yaml';

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
