import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { APP_NODE_OPTIONS } from '../dev/app-node-options.js';
import { procStat, TICKS_PER_SECOND } from '../dev/proc-stat.js';
import { IssuerKeyStore } from '../dev/sandbox/issuer-keys.js';
import { mintToken } from '../dev/sandbox/issuer.js';
import { SANDBOX_AUDIENCE, SANDBOX_SCOPE, type SandboxEndpoints } from '../dev/sandbox-settings.js';

// ---------------------------------------------------------------------------------------------------------------
// Statistics

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

/** Nearest-rank percentile with linear interpolation; NaN for no values. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  return (sorted[low] as number) + ((sorted[high] as number) - (sorted[low] as number)) * (rank - low);
}

export const round = (value: number, digits = 1): number => {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
};

/** Fisher–Yates, for interleaving cases in a different order each round. */
export function shuffled<T>(items: readonly T[]): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i -= 1) {
    const j = Math.floor(Math.random() * (i + 1));
    [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
  }
  return copy;
}

export function fmtMicros(ms: number): string {
  return ms < 1 ? `${round(ms * 1000, 0)} µs` : `${round(ms, 2)} ms`;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------------------------
// The result table

export interface Row {
  section: string;
  measure: string;
  value: string;
  baseline: string;
  ratio: string;
  target: string;
  /** 'yes' / 'no' for rows with a target; '' for informational rows. */
  met: 'yes' | 'no' | '';
}

export interface SectionResult {
  rows: Row[];
  /** Definitions and caveats printed under the table. */
  notes: string[];
  /** Everything measured, for the JSON file. */
  data: Record<string, unknown>;
}

export function printTable(rows: readonly Row[]): void {
  const columns: (keyof Row)[] = ['section', 'measure', 'value', 'baseline', 'ratio', 'target', 'met'];
  const widths = columns.map((column) => Math.max(column.length, ...rows.map((row) => row[column].length)));
  const line = (cells: string[]) => cells.map((cell, i) => cell.padEnd(widths[i] as number)).join(' | ');
  console.log(line(columns));
  console.log(widths.map((width) => '-'.repeat(width)).join('-|-'));
  let previous = '';
  for (const row of rows) {
    console.log(line(columns.map((column) => (column === 'section' && row.section === previous ? '' : row[column]))));
    previous = row.section;
  }
}

export function progress(message: string): void {
  process.stderr.write(`  … ${message}\n`);
}

// ---------------------------------------------------------------------------------------------------------------
// MCP requests as a client sends them (Streamable HTTP, stateless, protocol 2025-11-25)

export const READ_TOOL = { name: 'group_get', arguments: { name: 'rg-ddr-records-prod-uks' } };
export const NO_AZURE_TOOL = { name: 'access_whoami', arguments: {} };

export function mcpHeaders(token: string): Record<string, string> {
  return {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    'mcp-protocol-version': '2025-11-25',
    authorization: `Bearer ${token}`,
  };
}

export const TOOLS_LIST_BODY = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' });
export const toolsCallBody = (tool: { name: string; arguments: Record<string, unknown> }) =>
  JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: tool });

type McpMessage = { result?: { tools?: unknown[]; isError?: boolean; structuredContent?: unknown }; error?: unknown };

/** The JSON-RPC message of a /mcp response (a JSON body, or the last `data:` line of an SSE body). */
export function mcpMessage(text: string): McpMessage {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) return JSON.parse(trimmed) as McpMessage;
  const data = trimmed
    .split('\n')
    .filter((line) => line.startsWith('data:'))
    .at(-1);
  if (!data) throw new Error(`Not an MCP response: ${trimmed.slice(0, 200)}`);
  return JSON.parse(data.slice(5)) as McpMessage;
}

/**
 * A cheap check that a /mcp body (its text, or its bytes as they came) is a successful result: no JSON-RPC error, no
 * tool error.
 */
export const isMcpSuccess = (body: string | Buffer) => body.includes('"result":') && !body.includes('"isError":true');

const TOOLS_LIST_HEAD = Buffer.from('{"result":{"tools":[{');
const TOOLS_LIST_TAIL = Buffer.from('}]},"jsonrpc":"2.0","id":1}');
/**
 * A JSON `tools/list` answer to TOOLS_LIST_BODY, checked at its two ends. `isMcpSuccess` scans the whole 44 KB
 * answer twice (about 15 µs a call on these machines), which the in-process figures would charge to the app.
 */
export const isToolsListAnswer = (body: Buffer) =>
  body.length > TOOLS_LIST_HEAD.length + TOOLS_LIST_TAIL.length &&
  body.subarray(0, TOOLS_LIST_HEAD.length).equals(TOOLS_LIST_HEAD) &&
  body.subarray(body.length - TOOLS_LIST_TAIL.length).equals(TOOLS_LIST_TAIL);

// ---------------------------------------------------------------------------------------------------------------
// Processes: the sandbox and the app, each in its own process, stopped by PID

const DIST = fileURLToPath(new URL('..', import.meta.url));
export const APP_HOST_MAIN = join(DIST, 'dev', 'host', 'main.js');
/** The local host bundled with the app (dev/bundle.sh), as npm start runs it. */
export const APP_BUNDLE_MAIN = join(DIST, 'bundle', 'app', 'host.js');
/** Runs a built deployment package as the Functions worker loads it (dev/host/package-host.ts). */
export const PACKAGE_HOST_MAIN = join(DIST, 'dev', 'host', 'package-host.js');
export const BENCH_HOST_MAIN = join(DIST, 'bench', 'host.js');
export const SANDBOX_MAIN = join(DIST, 'dev', 'sandbox', 'main.js');

/** Every process the benchmark started and has not stopped yet, so an interrupted run can stop them (by PID). */
const running = new Set<() => Promise<void>>();
let interrupted = false;

/** Stops everything still running (children first-started last), then exits; for SIGINT/SIGTERM. */
export function stopAllOnSignals(extra: () => Promise<void> = async () => {}): void {
  let stopping = false;
  const stopAll = async () => {
    if (stopping) return;
    stopping = true;
    interrupted = true; // nothing new is spawned from now on
    process.stderr.write('\nStopping what the benchmark started…\n');
    // Again while something is left: a start-up in flight when the signal came registers itself when it ends.
    for (let pass = 0; pass < 5 && running.size > 0; pass += 1) {
      for (const stop of [...running].reverse()) await stop().catch(() => undefined);
    }
    await extra().catch(() => undefined);
    process.exit(130);
  };
  process.once('SIGINT', () => void stopAll());
  process.once('SIGTERM', () => void stopAll());
}

export interface Child {
  child: ChildProcess;
  /** performance.now() just before spawn, and when the ready line arrived. */
  spawnedAt: number;
  readyAt: number;
  ready: Record<string, unknown>;
  stderr: string[];
  stop(): Promise<void>;
}

/**
 * Spawns `node [execArgv] script` and resolves with its first JSON line that has `ready`/`armUrl` (our hosts' and
 * the sandbox's start line). After that, stdout (the app's JSON log and audit lines) is drained unparsed. Hosts run
 * with the heap options a deployment has (dev/app-node-options.ts) before any `execArgv`; `asApp: false` (the
 * sandbox) leaves them out.
 */
export function spawnReady(
  script: string,
  env: Record<string, string>,
  options: { execArgv?: string[]; asApp?: boolean; args?: string[]; isReady?: (line: Record<string, unknown>) => boolean; timeoutMs?: number } = {},
): Promise<Child> {
  if (interrupted) return Promise.reject(new Error('interrupted'));
  const isReady = options.isReady ?? ((line) => line.ready === true);
  const spawnedAt = performance.now();
  const nodeOptions = options.asApp === false ? [] : APP_NODE_OPTIONS;
  const child = spawn(process.execPath, [...nodeOptions, ...(options.execArgv ?? []), script, ...(options.args ?? [])], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stderr: string[] = [];
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr.push(chunk);
    if (stderr.length > 200) stderr.shift();
  });
  const stop = () =>
    new Promise<void>((resolve) => {
      running.delete(stop);
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const force = setTimeout(() => child.kill('SIGKILL'), 10_000);
      child.once('exit', () => {
        clearTimeout(force);
        resolve();
      });
      child.kill('SIGTERM');
    });
  running.add(stop);
  child.once('exit', () => running.delete(stop));
  return new Promise<Child>((resolve, reject) => {
    let buffered = '';
    let done = false;
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`${script} did not start within ${options.timeoutMs ?? 60_000} ms:\n${stderr.join('')}`));
    }, options.timeoutMs ?? 60_000);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      if (done) return; // drained, not parsed
      buffered += chunk;
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        let parsed: Record<string, unknown> | undefined;
        try {
          parsed = JSON.parse(line) as Record<string, unknown>;
        } catch {
          continue;
        }
        if (parsed && isReady(parsed)) {
          done = true;
          buffered = '';
          clearTimeout(timer);
          resolve({ child, spawnedAt, readyAt: performance.now(), ready: parsed, stderr, stop });
          return;
        }
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (!done) reject(new Error(`${script} exited with code ${code} before it was ready:\n${stderr.join('')}`));
    });
  });
}

/** Registers a clean-up for an interrupted run (e.g. a sandbox started in this process); returns its removal. */
export function atInterrupt(stop: () => Promise<void>): () => void {
  running.add(stop);
  return () => running.delete(stop);
}

/** Registers a process started elsewhere (the in-process worker) so an interrupted run stops it too. */
export function track(child: ChildProcess): void {
  const stop = async () => {
    running.delete(stop);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  };
  running.add(stop);
  child.once('exit', () => running.delete(stop));
}

export interface SandboxProcess extends Child {
  info: SandboxEndpoints & { dataDir: string };
  token(roles: string[], oid?: string): Promise<string>;
}

/** The sandbox (Azure twin + Azurite) in its own process, so its work does not share the load generator's thread. */
export async function startSandboxProcess(dataDir: string, env: Record<string, string> = {}): Promise<SandboxProcess> {
  const started = await spawnReady(SANDBOX_MAIN, env, { asApp: false, args: ['--data', dataDir], isReady: (line) => typeof line.armUrl === 'string' });
  const info = started.ready as unknown as SandboxEndpoints & { dataDir: string };
  const keys = await IssuerKeyStore.open(dataDir);
  return {
    ...started,
    info,
    token: async (roles, oid = 'a0b1c2d3-0000-4000-8000-00000000be4c') =>
      mintToken(await keys.current(), {
        issuer: info.issuer,
        audience: SANDBOX_AUDIENCE,
        tenantId: info.tenantId,
        oid,
        name: 'Bench Caller',
        roles,
        ttlSeconds: 4 * 3600,
        extra: { scp: SANDBOX_SCOPE },
      }),
  };
}

/** Resident set size (and its peak, VmHWM) of a process, in MiB, from /proc. */
export function memoryOf(pid: number): { rssMiB: number; peakMiB: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? Number.NaN);
  return { rssMiB: round(kib('VmRSS') / 1024), peakMiB: round(kib('VmHWM') / 1024) };
}

/** CPU time (user + system) a process has used, in ms, from /proc/PID/stat. */
export function cpuMsOf(pid: number): number {
  return (procStat(pid).ticks * 1000) / TICKS_PER_SECOND;
}

/** The process and all its descendants (the sandbox runs Azurite as children), from /proc/PID/task/PID/children. */
export function withDescendants(pid: number): number[] {
  const all = [pid];
  for (let i = 0; i < all.length && all.length < 100; i += 1) {
    const current = all[i] as number;
    try {
      const children = readFileSync(`/proc/${current}/task/${current}/children`, 'utf8').trim();
      if (children) all.push(...children.split(/\s+/).map(Number));
    } catch {
      // gone
    }
  }
  return all;
}

/**
 * Waits until these processes are (nearly) idle — under 5 % of a CPU each over half a second — so one run does
 * not pay for work an earlier one left queued (the app's audit appends, the sandbox's answers to them). Bounded.
 */
export async function quiesce(pids: number[], maxMs = 30_000): Promise<number> {
  const started = performance.now();
  const cpu = (pid: number) => {
    try {
      return cpuMsOf(pid);
    } catch {
      return 0; // exited
    }
  };
  let before = pids.map(cpu);
  while (performance.now() - started < maxMs) {
    await sleep(500);
    const now = pids.map(cpu);
    const busy = now.some((value, i) => value - (before[i] as number) > 25);
    before = now;
    if (!busy) break;
  }
  return performance.now() - started;
}

/**
 * The department policy for benchmarks: the shipped one with the per-caller rate limit raised, since one bench
 * caller makes tens of thousands of calls a minute (the limiter still runs on every call, it just never refuses).
 */
export function writeBenchPolicy(dir: string): string {
  const source = fileURLToPath(new URL('../../shared/policy/department.yaml', import.meta.url));
  const policy = parse(readFileSync(source, 'utf8')) as { rateLimits?: unknown };
  policy.rateLimits = { default: { requests: 1_000_000, perSeconds: 60 }, tools: {} };
  const file = join(dir, 'bench-department.yaml');
  writeFileSync(file, stringify(policy));
  return file;
}

export const ALL_ROLES = ['Mcp.Reader', 'Mcp.Operator', 'Mcp.Approver'];
