// Runs Azurite (blob + table) over HTTPS with OAuth, one account per seeded storage account, and seeds its blobs.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer, connect } from 'node:net';
import { dirname, join } from 'node:path';
import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';
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
}

export interface Azurite {
  blobUrl: string;
  tableUrl: string;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 20_000;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

function azuriteBin(service: 'blob' | 'table'): string {
  const pkg = createRequire(import.meta.url).resolve('azurite/package.json');
  return join(dirname(pkg), 'dist', 'src', service, 'main.js');
}

async function waitForPort(port: number, child: ChildProcess, what: string, output: () => string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${what} exited with code ${child.exitCode} before listening on 127.0.0.1:${port}:\n${output()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const sock = connect(port, '127.0.0.1', () => {
        sock.destroy();
        resolve(true);
      });
      sock.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not accept connections on 127.0.0.1:${port} within ${READY_TIMEOUT_MS / 1000}s:\n${output()}`);
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  process.kill(child.pid, 'SIGTERM');
  const timer = setTimeout(() => child.pid !== undefined && child.exitCode === null && process.kill(child.pid, 'SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

function launch(service: 'blob' | 'table', port: number, opts: AzuriteOptions): { child: ChildProcess; output: () => string } {
  const storage = opts.dataDir ? ['--location', join(opts.dataDir, 'azurite')] : ['--inMemoryPersistence'];
  if (opts.dataDir) mkdirSync(join(opts.dataDir, 'azurite'), { recursive: true });
  const args = [
    azuriteBin(service),
    `--${service}Host`, '127.0.0.1',
    `--${service}Port`, String(port),
    ...storage,
    '--cert', opts.tls.certPath,
    '--key', opts.tls.keyPath,
    '--oauth', 'basic',
    '--disableTelemetry',
    '--skipApiVersionCheck',
    '--silent',
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
    if (blobs.length === 0) continue;
    const service = new BlobServiceClient(`${blobUrl}/${account.name}`, new StorageSharedKeyCredential(account.name, account.key));
    for (const container of new Set(blobs.map((b) => b.container))) await service.getContainerClient(container).createIfNotExists();
    for (const b of blobs) {
      const blob = service.getContainerClient(b.container).getBlockBlobClient(b.name);
      if (await blob.exists()) continue;
      await blob.upload(b.content, Buffer.byteLength(b.content), { blobHTTPHeaders: { blobContentType: b.contentType } });
    }
  }
}

/** Requires NODE_EXTRA_CA_CERTS (or equivalent trust) for the TLS cert so that seeding over HTTPS succeeds. */
export async function startAzurite(opts: AzuriteOptions): Promise<Azurite> {
  const blobPort = opts.blobPort || (await freePort());
  const tablePort = opts.tablePort || (await freePort());
  const blob = launch('blob', blobPort, opts);
  const table = launch('table', tablePort, opts);
  const stop = async (): Promise<void> => {
    await Promise.all([stopChild(blob.child), stopChild(table.child)]);
  };
  try {
    await Promise.all([
      waitForPort(blobPort, blob.child, 'azurite-blob', blob.output),
      waitForPort(tablePort, table.child, 'azurite-table', table.output),
    ]);
    const blobUrl = `https://127.0.0.1:${blobPort}`;
    await seedBlobs(blobUrl, opts);
    return { blobUrl, tableUrl: `https://127.0.0.1:${tablePort}`, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
