import { describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';

// The import graph's rules (.dependency-cruiser.cjs): no cycle, type-only imports included; shared/domain/ imports
// nothing of the app. The same command as `npm run deps:check`.
const run = promisify(execFile);
const ROOT = resolve('.');
const CLI = join(ROOT, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');
const CONFIG = join(ROOT, '.dependency-cruiser.cjs');
const SOURCES = ['functions', 'shared', 'dev', 'bench', 'test'];

async function cruise(cwd: string, sources: readonly string[]): Promise<{ passed: boolean; output: string }> {
  try {
    const { stdout } = await run(process.execPath, [CLI, '--config', CONFIG, '--output-type', 'err', ...sources], { cwd, maxBuffer: 16 * 1024 * 1024 });
    return { passed: true, output: stdout };
  } catch (e) {
    const failed = e as { stdout?: string; stderr?: string };
    return { passed: false, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}` };
  }
}

describe('architecture', () => {
  it('has no import cycle and a domain core that imports nothing of the app', async () => {
    const result = await cruise(ROOT, SOURCES);
    expect(result).toEqual({ passed: true, output: expect.stringContaining('no dependency violations found') });
  });

  it('the check fails on a cycle made only of type imports, and on a domain module that imports the app', async () => {
    const project = mkdtempSync(join(tmpdir(), 'deps-check-'));
    try {
      const write = (file: string, text: string) => {
        mkdirSync(dirname(join(project, file)), { recursive: true });
        writeFileSync(join(project, file), text);
      };
      write('tsconfig.json', JSON.stringify({ compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', strict: true } }));
      write('package.json', JSON.stringify({ type: 'module' }));
      write('shared/domain/caller.ts', "import type { Settings } from '../config/settings.js';\nexport interface Caller { settings: Settings }\n");
      write('shared/config/settings.ts', "import type { Caller } from '../domain/caller.js';\nexport interface Settings { owner?: Caller }\n");
      const result = await cruise(project, ['shared']);
      expect(result.passed).toBe(false);
      expect(result.output).toContain('no-circular: shared/config/settings.ts');
      expect(result.output).toContain('domain-is-a-leaf: shared/domain/caller.ts → shared/config/settings.ts');
    } finally {
      rmSync(project, { recursive: true, force: true });
    }
  });
});
