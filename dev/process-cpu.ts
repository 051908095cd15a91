import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { procStat, TICKS_PER_SECOND, type ProcessStat } from './proc-stat.js';

/**
 * `node dist/dev/process-cpu.js <command> [arguments…]` runs a command (e.g. `sh dev/test.sh`) and then prints the CPU
 * time, user and system, that it and every process under it used, by kind of process: the app's processes, jest,
 * Azurite, Chromium, and the rest by their command. The suite is CPU-bound on 2 cores, so this, not wall time, says
 * where its time goes. Linux only: it reads /proc every SAMPLE_MS, so a process that starts and ends between two reads
 * is not counted, and of the others the CPU of their last SAMPLE_MS is missed (each at most SAMPLE_MS of CPU).
 */
const SAMPLE_MS = 250;

interface Seen {
  command: string;
  ticks: number;
}

/** A process's stat, or undefined once it is gone. */
function statOf(pid: number): ProcessStat | undefined {
  try {
    return procStat(pid);
  } catch {
    return undefined;
  }
}

function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return '';
  }
}

/** What a process is, for the totals. */
function kindOf(command: string): string {
  if (command.includes('/bundle/app/') || command.includes('/dev/host/')) return 'app (local host)';
  if (command.includes('jest')) return 'jest';
  if (command.includes('azurite')) return 'Azurite';
  if (command.includes('chromium')) return 'Chromium';
  const words = command.split(' ').filter((word) => word !== '' && !word.startsWith('-'));
  return words.slice(0, 2).join(' ') || '(unnamed)';
}

/**
 * Every process under `root` (itself included) seen so far, by pid and start time (pids are reused, often after
 * 32,768: /proc/sys/kernel/pid_max), with its latest CPU ticks.
 */
function sample(root: number, seen: Map<string, Seen>): void {
  const stats = new Map<number, ProcessStat>();
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const stat = statOf(pid);
    if (stat) stats.set(pid, stat);
  }
  const keyOf = (pid: number, stat: ProcessStat) => `${pid}@${stat.started}`;
  // A process counts when the command is among its ancestors, or its parent was counted already.
  const under = (pid: number, depth = 0): boolean => {
    const stat = stats.get(pid);
    if (!stat) return false;
    if (pid === root || seen.has(keyOf(pid, stat))) return true;
    return stat.parent > 1 && depth < 64 && under(stat.parent, depth + 1);
  };
  for (const [pid, stat] of stats) {
    const known = seen.get(keyOf(pid, stat));
    if (known) known.ticks = stat.ticks;
    else if (under(pid)) seen.set(keyOf(pid, stat), { command: commandOf(pid), ticks: stat.ticks });
  }
}

async function main(): Promise<void> {
  const [command, ...args] = process.argv.slice(2);
  if (!command) {
    console.error('usage: node dist/dev/process-cpu.js <command> [arguments…]   (e.g. sh dev/test.sh)');
    process.exit(2);
  }
  const child = spawn(command, args, { stdio: 'inherit' });
  const root = child.pid;
  if (root === undefined) throw new Error(`Could not start ${command}`);
  const seen = new Map<string, Seen>();
  const timer = setInterval(() => sample(root, seen), SAMPLE_MS);
  sample(root, seen);
  const code = await new Promise<number>((resolve) => child.once('exit', (exitCode, signal) => resolve(exitCode ?? (signal ? 1 : 0))));
  clearInterval(timer);

  const byKind = new Map<string, { seconds: number; processes: number }>();
  for (const { command: line, ticks } of seen.values()) {
    const kind = kindOf(line);
    const total = byKind.get(kind) ?? { seconds: 0, processes: 0 };
    total.seconds += ticks / TICKS_PER_SECOND;
    total.processes += 1;
    byKind.set(kind, total);
  }
  const rows = [...byKind].sort((a, b) => b[1].seconds - a[1].seconds);
  const all = rows.reduce((sum, [, { seconds }]) => sum + seconds, 0);
  console.log(`\nCPU time by kind of process (user + system, read every ${SAMPLE_MS} ms):`);
  for (const [kind, { seconds, processes }] of rows) {
    console.log(`${seconds.toFixed(1).padStart(8)} CPU-s  ${String(processes).padStart(4)} process${processes === 1 ? ' ' : 'es'}  ${kind}`);
  }
  console.log(`${all.toFixed(1).padStart(8)} CPU-s  in all`);
  process.exit(code);
}

await main();
