import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { APP_HOST_MAIN, atInterrupt, spawnReady, stopAllOnSignals } from './lib.js';
import { startSandbox } from '../dev/sandbox/index.js';
import { trustSandboxOrRelaunch } from '../dev/sandbox/relaunch.js';
import { SANDBOX_AUDIENCE, SANDBOX_DIR, SANDBOX_SCOPE, sandboxAppSettings } from '../dev/sandbox-settings.js';

/**
 * storage_cmk_report over a growing estate: the whole report, page by page through POST /tools, timed, with the
 * app process's peak memory (VmHWM). Linear time and flat memory are the claims under test.
 * Part of `npm run bench` (section `scale`); runnable alone: `node dist/bench/cmk-report.js`.
 */
const SIZES = (process.env.BENCH_CMK_SIZES ?? '1000,5000,20000').split(',').map(Number);

export interface CmkRow {
  accounts: number;
  pages: number;
  seconds: number;
  accountsPerSecond: number;
  peakRssMiB: number;
}

export async function measureCmkReport(extraStorageAccounts: number): Promise<CmkRow> {
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-cmk-'));
  const starting = startSandbox({ dataDir, tlsDir: join(SANDBOX_DIR, 'tls'), extraStorageAccounts });
  // Registered before it has started, so an interrupt during start-up still stops it (and its Azurite children).
  const forgetSandbox = atInterrupt(async () => (await starting).close());
  const sandbox = await starting;
  // The app process as dev/app-process.ts starts it (node dist/dev/host/main.js); spawnReady tracks it from spawn.
  const started = await spawnReady(APP_HOST_MAIN, { ...sandboxAppSettings(sandbox), PORT: '0' }).catch(async (error: unknown) => {
    forgetSandbox();
    await sandbox.close();
    throw error;
  });
  const app = { url: started.ready.url as string, child: started.child, stop: () => started.stop() };
  try {
    const tokenFor = (oid: string) =>
      sandbox.mintToken({ audience: SANDBOX_AUDIENCE, tenantId: sandbox.tenantId, oid, roles: ['Mcp.Reader'], extra: { scp: SANDBOX_SCOPE } });
    /** The whole report, page by page, as an automation client would read it. */
    const report = async (token: string) => {
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
      return { accounts, pages };
    };
    // The whole report once first (as another caller: the rate limit is per caller and tool), so the timing is
    // the report's and not the app's cold start (first token check, managed identity token, SDK imports, TLS,
    // JIT): that is measured on its own by `npm run bench -- --only cold`.
    await report(await tokenFor('b0b0b0b0-0000-4000-8000-000000000001'));
    const token = await tokenFor('b0b0b0b0-0000-4000-8000-000000000002');
    const timedFrom = performance.now();
    const { accounts, pages } = await report(token);
    const seconds = (performance.now() - timedFrom) / 1000;
    const status = readFileSync(`/proc/${app.child.pid}/status`, 'utf8');
    const peakRssMiB = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
    return { accounts, pages, seconds: Math.round(seconds * 100) / 100, accountsPerSecond: Math.round(accounts / seconds), peakRssMiB: round(peakRssMiB) };
  } finally {
    forgetSandbox();
    await app.stop();
    await sandbox.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const round = (value: number) => Math.round(value * 10) / 10;

const runAlone = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (runAlone && (await trustSandboxOrRelaunch(join(SANDBOX_DIR, 'tls')))) {
  stopAllOnSignals();
  const rows: CmkRow[] = [];
  for (const size of SIZES) {
    process.stdout.write(`storage_cmk_report with ${size} extra accounts… `);
    const row = await measureCmkReport(size);
    rows.push(row);
    console.log(`${row.seconds} s`);
  }
  console.log('\nstorage_cmk_report, whole estate through POST /tools (pages of 1,000)');
  console.table(rows);
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/cmk-report.json', `${JSON.stringify({ at: new Date().toISOString(), node: process.version, rows }, null, 2)}\n`);
  console.log('Written to bench/results/cmk-report.json');
}
