// Runs Azurite (blob + table) over HTTPS with OAuth, one account per seeded storage account, and seeds its blobs.
// With recordRequests, each service writes a debug log that azurite-log.ts reads back as the requests it received.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { freePorts } from '../free-ports.js';
import { AzuriteLog, type AzuriteRequest } from './azurite-log.js';
import type { SeedBlob } from './model.js';

export interface AzuriteOptions {
  /** Persist under {dataDir}/azurite; in-memory when absent. */
  dataDir?: string;
  tls: { certPath: string; keyPath: string };
  blobPort?: number;
  tablePort?: number;
  accounts: { name: string; key: string }[];
  /** Blobs to create if missing (idempotent). */
  blobs?: readonly SeedBlob[];
  /** Containers to create empty if missing (idempotent). */
  containers?: readonly { account: string; container: string }[];
  /**
   * Keep each service's debug log, so `requests()` can say what storage received. Off by default: the log costs
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
  /** SIGSTOPs both services: connections are accepted by the kernel but never answered, until resume(). Idempotent. */
  pause(): void;
  /** SIGCONTs both services. Idempotent. */
  resume(): void;
  /** Resumes first, since a stopped process would not act on SIGTERM. */
  stop(): Promise<void>;
}

/** Azurite starts in about a second; on a machine busy with other test runs it has been seen to take over 20 s. */
const READY_TIMEOUT_MS = 90_000;

function azuriteBin(service: 'blob' | 'table'): string {
  const pkg = createRequire(import.meta.url).resolve('azurite/package.json');
  return join(dirname(pkg), 'dist', 'src', service, 'main.js');
}

/**
 * Resolves when the service says it listens on `port` (its own line, so a stranger that took the port in the
 * meantime is never mistaken for it); rejects if it exits first, saying whether the port was taken.
 */
async function listening(launched: Launched, port: number, what: string): Promise<void> {
  const { child, output } = launched;
  // Blob says 'successfully listens on https://127.0.0.1:PORT', table 'successfully started on 127.0.0.1:PORT'.
  const said = [`successfully listens on https://127.0.0.1:${port}\n`, `successfully started on 127.0.0.1:${port}\n`];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanUp();
      reject(new Error(`${what} did not listen on 127.0.0.1:${port} within ${READY_TIMEOUT_MS / 1000}s:\n${output()}`));
    }, READY_TIMEOUT_MS);
    const check = (): void => {
      if (said.some((line) => output().includes(line))) {
        cleanUp();
        resolve();
      }
    };
    // 'close', not 'exit': only then has everything it printed (the reason it exited) been read.
    const exited = (code: number | null): void => {
      cleanUp();
      reject(new AzuriteExitedError(`${what} exited with code ${code} before listening on 127.0.0.1:${port}:\n${output()}`, /EADDRINUSE/.test(output())));
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

class AzuriteExitedError extends Error {
  constructor(
    message: string,
    /** Another process took the port between finding it free and Azurite binding it: worth another pair. */
    readonly portTaken: boolean,
  ) {
    super(message);
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  process.kill(child.pid, 'SIGTERM');
  const timer = setTimeout(() => child.pid !== undefined && child.exitCode === null && process.kill(child.pid, 'SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

interface Launched {
  child: ChildProcess;
  /** The last 4,000 characters it printed. */
  output: () => string;
}

function launch(service: 'blob' | 'table', port: number, opts: AzuriteOptions, debugLog: string | undefined): Launched {
  const storage = opts.dataDir ? ['--location', join(opts.dataDir, 'azurite')] : ['--inMemoryPersistence'];
  if (opts.dataDir) mkdirSync(join(opts.dataDir, 'azurite'), { recursive: true });
  // Each start begins a fresh log, so evidence never mixes runs and the file cannot grow across them.
  if (debugLog) rmSync(debugLog, { force: true });
  const args = [
    azuriteBin(service),
    `--${service}Host`,
    '127.0.0.1',
    `--${service}Port`,
    String(port),
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
      if (await blob.exists()) continue;
      await blob.upload(b.content, Buffer.byteLength(b.content), { blobHTTPHeaders: { blobContentType: b.contentType } });
    }
  }
}

/** Free ports are found, then bound by Azurite a second later: another process may take one in between. */
const PORT_ATTEMPTS = 3;

/** Requires NODE_EXTRA_CA_CERTS (or equivalent trust) for the TLS cert so that seeding over HTTPS succeeds. */
export async function startAzurite(opts: AzuriteOptions): Promise<Azurite> {
  // A port the caller chose stays taken: only ports found here are worth finding again.
  const attempts = opts.blobPort || opts.tablePort ? 1 : PORT_ATTEMPTS;
  for (let attempt = 1; ; attempt++) {
    const [freeBlob, freeTable] = await freePorts(2);
    try {
      return await startAzuriteOn(opts, opts.blobPort || freeBlob!, opts.tablePort || freeTable!);
    } catch (error) {
      if (!(error instanceof AzuriteExitedError && error.portTaken && attempt < attempts)) throw error;
    }
  }
}

async function startAzuriteOn(opts: AzuriteOptions, blobPort: number, tablePort: number): Promise<Azurite> {
  const tempLogDir = opts.recordRequests && !opts.dataDir ? mkdtempSync(join(tmpdir(), 'azurite-debug-')) : undefined;
  const blobUrl = `https://127.0.0.1:${blobPort}`;
  const tableUrl = `https://127.0.0.1:${tablePort}`;
  const logDir = tempLogDir ?? (opts.recordRequests && opts.dataDir ? join(opts.dataDir, 'azurite') : undefined);
  const logs = logDir
    ? ([new AzuriteLog(join(logDir, 'debug-blob.log'), 'blob', blobUrl), new AzuriteLog(join(logDir, 'debug-table.log'), 'table', tableUrl)] as const)
    : undefined;
  const blob = launch('blob', blobPort, opts, logs?.[0].file);
  const table = launch('table', tablePort, opts, logs?.[1].file);
  let paused = false;
  const signal = (sig: 'SIGSTOP' | 'SIGCONT'): void => {
    for (const { child } of [blob, table]) {
      if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) process.kill(child.pid, sig);
    }
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
    await Promise.all([stopChild(blob.child), stopChild(table.child)]);
    if (tempLogDir) rmSync(tempLogDir, { recursive: true, force: true });
  };
  try {
    await Promise.all([listening(blob, blobPort, 'azurite-blob'), listening(table, tablePort, 'azurite-table')]);
    await seedBlobs(blobUrl, opts);
    // Seeding is set-up, not evidence.
    await Promise.all((logs ?? []).map((l) => l.clear()));
    return {
      blobUrl,
      tableUrl,
      async requests() {
        if (!logs) throw new Error('Azurite was started without recordRequests (recordStorageRequests for a sandbox), so it kept no log of requests.');
        // Both logs' ISO times share a clock; the sort is stable, so same-millisecond requests keep their order per service.
        return (await Promise.all(logs.map((l) => l.requests()))).flat().sort((a, b) => (a.at ?? '').localeCompare(b.at ?? ''));
      },
      clearRequests: async () => {
        await Promise.all((logs ?? []).map((l) => l.clear()));
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
