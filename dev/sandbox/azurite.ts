// Runs Azurite (blob + table, in one process) over HTTPS with OAuth, one account per seeded storage account, and
// seeds its blobs. With recordRequests, it writes a debug log that azurite-log.ts reads back as the requests it received.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { AzuriteLog, type AzuriteRequest } from './azurite-log.js';
import type { SeedBlob } from './model.js';

export interface AzuriteOptions {
  /** Persist under {dataDir}/azurite (unless `inMemory`); in memory when absent. */
  dataDir?: string;
  /**
   * Blobs and tables in memory even with a dataDir (which then holds only the request log): for sandboxes that
   * nothing outlives, such as the tests'. Writing them to disk cost a test stack about 6 % more CPU (start, 50 calls,
   * stop: 2.56 against 2.40 CPU-s, four alternated runs each).
   */
  inMemory?: boolean;
  tls: { certPath: string; keyPath: string };
  blobPort?: number;
  tablePort?: number;
  accounts: { name: string; key: string }[];
  /** Blobs to create if missing (idempotent). */
  blobs?: readonly SeedBlob[];
  /** Containers to create empty if missing (idempotent). */
  containers?: readonly { account: string; container: string }[];
  /**
   * Keep Azurite's debug log, so `requests()` can say what storage received. Off by default: the log costs
   * Azurite about a fifth more CPU per request (600 blob appends: 1.8 s against 1.4-1.5 s).
   */
  recordRequests?: boolean;
}

export interface Azurite {
  blobUrl: string;
  tableUrl: string;
  /**
   * Requests blob and table received since start (or the last clearRequests), in the order Azurite logged them.
   * Rejects when started without `recordRequests`.
   */
  requests(): Promise<AzuriteRequest[]>;
  clearRequests(): Promise<void>;
  /** SIGSTOPs Azurite: connections are accepted by the kernel but never answered, until resume(). Idempotent. */
  pause(): void;
  /** SIGCONTs Azurite. Idempotent. */
  resume(): void;
  /** Resumes first, since a stopped process would not act on SIGTERM. */
  stop(): Promise<void>;
}

/** Azurite starts in about a second; on a machine busy with other test runs it has been seen to take over 20 s. */
const READY_TIMEOUT_MS = 90_000;

/** Azurite as one file (dev/bundle.sh makes it, and npm start, npm test and npm run build run that). */
const BUNDLED_AZURITE = fileURLToPath(new URL('../../bundle/azurite/azurite.cjs', import.meta.url));

/**
 * Blob, queue and table in one process: started as two (azurite-blob, azurite-table) they cost 0.92 + 0.73 CPU-seconds
 * to start, against 0.99 for all three in one — and a test run starts a sandbox a few dozen times. Nothing here uses
 * the queue service; it listens on a port of the kernel's choosing. The bundled file when there is one (cheaper to
 * start: see dev/bundle.sh), else the package's own entry point.
 */
function azuriteBin(): string {
  if (existsSync(BUNDLED_AZURITE)) return BUNDLED_AZURITE;
  const pkg = createRequire(import.meta.url).resolve('azurite/package.json');
  return join(dirname(pkg), 'dist', 'src', 'azurite.js');
}

type Service = 'Blob' | 'Table';

/** The port a service says it listens on, in its own line (e.g. 'Azurite Blob service is successfully listening at https://127.0.0.1:41000'). */
function saidPort(output: string, service: Service): number | undefined {
  // linear: anchored on a fixed text, then one run of digits.
  const said = new RegExp(`Azurite ${service} service is successfully listening at https://127\\.0\\.0\\.1:(\\d+)\\n`).exec(output);
  return said ? Number(said[1]) : undefined;
}

/**
 * Resolves with the ports blob and table say they listen on (their own lines, so a stranger on a port asked for is
 * never mistaken for them); rejects if Azurite exits first, with what it printed (EADDRINUSE when a port asked for
 * was taken). A port asked for (not 0) must be the one it says.
 */
async function listening(launched: Launched, asked: { blob: number; table: number }): Promise<{ blob: number; table: number }> {
  const { child, output } = launched;
  const wanted = `blob on 127.0.0.1:${asked.blob || 'any port'}, table on 127.0.0.1:${asked.table || 'any port'}`;
  return await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanUp();
      reject(new Error(`azurite did not listen (${wanted}) within ${READY_TIMEOUT_MS / 1000}s:\n${output()}`));
    }, READY_TIMEOUT_MS);
    const check = (): void => {
      const blob = saidPort(output(), 'Blob');
      const table = saidPort(output(), 'Table');
      if (blob === undefined || table === undefined) return;
      cleanUp();
      if ((asked.blob && blob !== asked.blob) || (asked.table && table !== asked.table)) {
        reject(new Error(`azurite listened on blob ${blob} and table ${table}, not as asked (${wanted}):\n${output()}`));
      } else resolve({ blob, table });
    };
    // 'close', not 'exit': only then has everything it printed (the reason it exited) been read.
    const exited = (code: number | null): void => {
      cleanUp();
      reject(new Error(`azurite exited with code ${code} before listening (${wanted}):\n${output()}`));
    };
    const cleanUp = (): void => {
      clearTimeout(timer);
      child.stdout?.off('data', check);
      child.off('close', exited);
    };
    child.stdout?.on('data', check);
    child.once('close', exited);
  });
}

/** How long Azurite has to exit on SIGTERM before it is killed. */
export const AZURITE_STOP_GRACE_MS = 5000;

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  process.kill(child.pid, 'SIGTERM');
  const timer = setTimeout(() => child.pid !== undefined && child.exitCode === null && process.kill(child.pid, 'SIGKILL'), AZURITE_STOP_GRACE_MS);
  await exited;
  clearTimeout(timer);
}

interface Launched {
  child: ChildProcess;
  /** The last 4,000 characters it printed. */
  output: () => string;
}

function launch(ports: { blob: number; table: number }, opts: AzuriteOptions, debugLog: string | undefined): Launched {
  const storage = opts.dataDir && !opts.inMemory ? ['--location', join(opts.dataDir, 'azurite')] : ['--inMemoryPersistence'];
  if (opts.dataDir) mkdirSync(join(opts.dataDir, 'azurite'), { recursive: true });
  // Each start begins a fresh log, so evidence never mixes runs and the file cannot grow across them.
  if (debugLog) rmSync(debugLog, { force: true });
  const args = [
    azuriteBin(),
    ...['--blobHost', '127.0.0.1', '--blobPort', String(ports.blob)],
    ...['--queueHost', '127.0.0.1', '--queuePort', '0'],
    ...['--tableHost', '127.0.0.1', '--tablePort', String(ports.table)],
    ...storage,
    '--cert',
    opts.tls.certPath,
    '--key',
    opts.tls.keyPath,
    '--oauth',
    'basic',
    '--disableTelemetry',
    '--skipApiVersionCheck',
    '--silent',
    ...(debugLog ? ['--debug', debugLog] : []),
  ];
  const child = spawn(process.execPath, args, {
    env: { ...process.env, AZURITE_ACCOUNTS: opts.accounts.map((a) => `${a.name}:${a.key}`).join(';') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  const keep = (chunk: Buffer): void => {
    log = (log + chunk.toString('utf8')).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return { child, output: () => log };
}

async function seedBlobs(blobUrl: string, opts: AzuriteOptions): Promise<void> {
  for (const account of opts.accounts) {
    const blobs = (opts.blobs ?? []).filter((b) => b.account === account.name);
    const containers = new Set([
      ...blobs.map((b) => b.container),
      ...(opts.containers ?? []).filter((c) => c.account === account.name).map((c) => c.container),
    ]);
    if (containers.size === 0) continue;
    const service = new BlobServiceClient(`${blobUrl}/${account.name}`, new StorageSharedKeyCredential(account.name, account.key));
    for (const container of containers) await service.getContainerClient(container).createIfNotExists();
    for (const b of blobs) {
      const blob = service.getContainerClient(b.container).getBlockBlobClient(b.name);
      // A store in memory starts empty: asking first would be a request per blob for nothing.
      if (!opts.inMemory && (await blob.exists())) continue;
      await blob.upload(b.content, Buffer.byteLength(b.content), { blobHTTPHeaders: { blobContentType: b.contentType } });
    }
  }
}

/**
 * Requires NODE_EXTRA_CA_CERTS (or equivalent trust) for the TLS cert so that seeding over HTTPS succeeds. Without
 * ports asked for, the kernel picks them as Azurite binds, so no other process can take one in between.
 */
export async function startAzurite(opts: AzuriteOptions): Promise<Azurite> {
  const asked = { blob: opts.blobPort ?? 0, table: opts.tablePort ?? 0 };
  const tempLogDir = opts.recordRequests && !opts.dataDir ? mkdtempSync(join(tmpdir(), 'azurite-debug-')) : undefined;
  const logDir = tempLogDir ?? (opts.recordRequests && opts.dataDir ? join(opts.dataDir, 'azurite') : undefined);
  const logFile = logDir ? join(logDir, 'debug.log') : undefined;
  const azurite = launch(asked, opts, logFile);
  let paused = false;
  const signal = (sig: 'SIGSTOP' | 'SIGCONT'): void => {
    const { child } = azurite;
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) process.kill(child.pid, sig);
  };
  const pause = (): void => {
    if (paused) return;
    signal('SIGSTOP');
    paused = true;
  };
  const resume = (): void => {
    if (!paused) return;
    signal('SIGCONT');
    paused = false;
  };
  const stop = async (): Promise<void> => {
    resume();
    await stopChild(azurite.child);
    if (tempLogDir) rmSync(tempLogDir, { recursive: true, force: true });
  };
  try {
    const ports = await listening(azurite, asked);
    const blobUrl = `https://127.0.0.1:${ports.blob}`;
    const tableUrl = `https://127.0.0.1:${ports.table}`;
    const log = logFile ? new AzuriteLog(logFile, { blob: blobUrl, table: tableUrl }) : undefined;
    await seedBlobs(blobUrl, opts);
    // Seeding is set-up, not evidence.
    await log?.clear();
    return {
      blobUrl,
      tableUrl,
      async requests() {
        if (!log) throw new Error('Azurite was started without recordRequests (recordStorageRequests for a sandbox), so it kept no log of requests.');
        return log.requests();
      },
      clearRequests: async () => {
        await log?.clear();
      },
      pause,
      resume,
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
