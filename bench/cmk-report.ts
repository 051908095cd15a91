import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAppProcess } from '../dev/app-process.js';
import { startSandbox } from '../dev/sandbox/index.js';
import { trustSandboxOrRelaunch } from '../dev/sandbox/relaunch.js';
import { SANDBOX_AUDIENCE, SANDBOX_DIR, SANDBOX_SCOPE, sandboxAppSettings } from '../dev/sandbox-settings.js';

/**
 * storage_cmk_report over a growing estate: the whole report, page by page through POST /tools, timed, with the
 * app process's peak memory (VmHWM). Linear time and flat memory are the claims under test.
 */
const SIZES = (process.env.BENCH_CMK_SIZES ?? '1000,5000,20000').split(',').map(Number);

interface Row {
  accounts: number;
  pages: number;
  seconds: number;
  accountsPerSecond: number;
  peakRssMiB: number;
}

async function measure(extraStorageAccounts: number): Promise<Row> {
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-cmk-'));
  const sandbox = await startSandbox({ dataDir, tlsDir: join(SANDBOX_DIR, 'tls'), extraStorageAccounts });
  const app = await startAppProcess(sandboxAppSettings(sandbox));
  try {
    const token = await sandbox.mintToken({ audience: SANDBOX_AUDIENCE, tenantId: sandbox.tenantId, oid: 'bench', roles: ['Mcp.Reader'], extra: { scp: SANDBOX_SCOPE } });
    const started = performance.now();
    let cursor: string | undefined;
    let accounts = 0;
    let pages = 0;
    do {
      const response = await fetch(`${app.url}/tools/storage_cmk_report`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ top: 1000, ...(cursor ? { cursor } : {}) }),
      });
      const body = (await response.json()) as { structuredContent?: { accounts: unknown[]; nextCursor?: string } };
      if (!body.structuredContent) throw new Error(`storage_cmk_report failed: ${JSON.stringify(body).slice(0, 300)}`);
      accounts += body.structuredContent.accounts.length;
      cursor = body.structuredContent.nextCursor;
      pages += 1;
    } while (cursor);
    const seconds = (performance.now() - started) / 1000;
    const status = readFileSync(`/proc/${app.child.pid}/status`, 'utf8');
    const peakRssMiB = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
    return { accounts, pages, seconds: round(seconds), accountsPerSecond: Math.round(accounts / seconds), peakRssMiB: round(peakRssMiB) };
  } finally {
    await app.stop();
    await sandbox.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const round = (value: number) => Math.round(value * 10) / 10;

if (await trustSandboxOrRelaunch(join(SANDBOX_DIR, 'tls'))) {
  const rows: Row[] = [];
  for (const size of SIZES) {
    process.stdout.write(`storage_cmk_report with ${size} extra accounts… `);
    const row = await measure(size);
    rows.push(row);
    console.log(`${row.seconds} s`);
  }
  console.log('\nstorage_cmk_report, whole estate through POST /tools (pages of 1,000)');
  console.table(rows);
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/cmk-report.json', `${JSON.stringify({ at: new Date().toISOString(), node: process.version, rows }, null, 2)}\n`);
  console.log('Written to bench/results/cmk-report.json');
}
