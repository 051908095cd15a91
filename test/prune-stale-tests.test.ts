import { describe, expect, it } from '@jest/globals';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pruneStaleTests } from '../dev/prune-stale-tests.js';

describe('compiled tests whose source is gone', () => {
  it('are removed before a run, with their maps; tests with a source and other files stay', () => {
    const root = mkdtempSync(join(tmpdir(), 'prune-stale-'));
    try {
      const files = {
        'test/kept.test.ts': '',
        'test/hostile/kept.test.ts': '',
        'dist/test/kept.test.js': '',
        'dist/test/hostile/kept.test.js': '',
        'dist/test/gone.test.js': '',
        'dist/test/gone.test.js.map': '',
        'dist/test/hostile/renamed.test.js': '',
        'dist/test/helpers/stack.js': '',
      };
      for (const [path, text] of Object.entries(files)) {
        mkdirSync(join(root, path, '..'), { recursive: true });
        writeFileSync(join(root, path), text);
      }
      expect(pruneStaleTests(root).sort()).toEqual(['dist/test/gone.test.js', 'dist/test/gone.test.js.map', 'dist/test/hostile/renamed.test.js']);
      for (const path of ['dist/test/kept.test.js', 'dist/test/hostile/kept.test.js', 'dist/test/helpers/stack.js'])
        expect(existsSync(join(root, path))).toBe(true);
      expect(existsSync(join(root, 'dist/test/gone.test.js'))).toBe(false);
      expect(pruneStaleTests(root)).toEqual([]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
