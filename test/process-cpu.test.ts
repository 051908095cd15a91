import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';

// A grandchild that spins for 1.2 s of CPU, under a child that then exits with 3.
const SPIN =
  'const used = () => { const { user, system } = process.cpuUsage(); return user + system; }; const until = used() + 1200000; while (used() < until);';
const PARENT = `require('node:child_process').spawnSync(process.execPath, ['-e', ${JSON.stringify(SPIN)}], { stdio: 'inherit' }); process.exit(3);`;

describe('dev/process-cpu (where a command spends its CPU, by kind of process)', () => {
  it("counts the CPU of processes under the command, grandchildren included, and exits with the command's code", () => {
    const run = spawnSync(process.execPath, ['dist/dev/process-cpu.js', process.execPath, '-e', PARENT], { encoding: 'utf8' });
    expect(run.status).toBe(3);
    const total = /^\s*([\d.]+) CPU-s {2}in all$/m.exec(run.stdout);
    // The spinning grandchild alone used 1.2 s; what it used after the last read (0.25 s, more on a busy machine) is missed.
    expect(Number(total?.[1])).toBeGreaterThanOrEqual(0.5);
    // The child and the grandchild, each counted (the tool's own process is not).
    const processes = [...run.stdout.matchAll(/^\s*[\d.]+ CPU-s\s+(\d+) process(?:es)?\s+\S/gm)].reduce((sum, row) => sum + Number(row[1]), 0);
    expect(processes).toBe(2);
  });

  it('says how to use it when given no command', () => {
    const run = spawnSync(process.execPath, ['dist/dev/process-cpu.js'], { encoding: 'utf8' });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('usage: node dist/dev/process-cpu.js <command>');
  });
});
