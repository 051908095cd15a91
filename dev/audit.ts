import { DefaultAzureCredential, type TokenCredential } from '@azure/identity';
import { ContainerClient } from '@azure/storage-blob';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { verifyChains } from '../shared/audit/chain.js';
import { mintStorageTokenFromDataDir } from './sandbox/index.js';
import { runtimeFile, type RuntimeInfo } from './runtime-file.js';
import { SANDBOX_DIR } from './sandbox-settings.js';
import { trustSandboxOrRelaunch } from './sandbox/relaunch.js';

/**
 * `npm run --silent audit -- verify` walks every writer's hash chain in the audit container and reports the record
 * count and any break with its position; `npm run --silent audit -- tail [N]` prints the last N records (default 20)
 * as JSON lines. Against Azure set AUDIT_CONTAINER_URL (signed-in `az` credentials are used); otherwise it reads the
 * sandbox that `npm start` runs.
 */
const [command = 'verify', countArg] = process.argv.slice(2);
const usage = 'usage: npm run --silent audit -- verify | tail [N]';

async function openContainer(): Promise<ContainerClient> {
  if (process.env.AUDIT_CONTAINER_URL) return new ContainerClient(process.env.AUDIT_CONTAINER_URL, new DefaultAzureCredential());
  const file = process.env.SANDBOX_RUNTIME_FILE ?? runtimeFile();
  if (!existsSync(file)) throw new Error(`No AUDIT_CONTAINER_URL, and no running sandbox (${file}): start it with npm start, or set AUDIT_CONTAINER_URL.`);
  const runtime = JSON.parse(readFileSync(file, 'utf8')) as RuntimeInfo;
  if (!runtime.auditContainerUrl) throw new Error(`${file} names no audit container; restart npm start.`);
  const token = await mintStorageTokenFromDataDir(process.env.SANDBOX_DATA_DIR ?? resolve(SANDBOX_DIR, 'data'));
  const credential: TokenCredential = { getToken: async () => ({ token, expiresOnTimestamp: Date.now() + 3_000_000 }) };
  return new ContainerClient(runtime.auditContainerUrl, credential);
}

/** Every writer's records in stored order (its blob parts in name order, lines in order). */
async function readWriters(container: ContainerClient): Promise<Map<string, unknown[]>> {
  const writers = new Map<string, unknown[]>();
  const names: string[] = [];
  // Chains are the .jsonl blobs; the store's write probes (_probe/) are not records.
  for await (const blob of container.listBlobsFlat()) if (blob.name.endsWith('.jsonl')) names.push(blob.name);
  names.sort();
  for (const name of names) {
    const writer = name.split('/')[0] ?? name;
    const text = (await container.getBlobClient(name).downloadToBuffer()).toString('utf8');
    const lines = text.split('\n').filter((line) => line.trim() !== '');
    const records = writers.get(writer) ?? [];
    for (const line of lines) {
      try {
        records.push(JSON.parse(line));
      } catch {
        records.push(line);
      }
    }
    writers.set(writer, records);
  }
  return writers;
}

// Against the sandbox, its HTTPS certificate must be trusted from the start (NODE_EXTRA_CA_CERTS).
const carryOn = process.env.AUDIT_CONTAINER_URL ? true : await trustSandboxOrRelaunch(resolve(SANDBOX_DIR, 'tls'));

if (carryOn) try {
  if (command !== 'verify' && command !== 'tail') throw new Error(usage);
  const writers = await readWriters(await openContainer());
  if (command === 'verify') {
    const { count, breaks } = verifyChains(writers);
    if (breaks.length === 0) {
      console.log(`OK: ${count} records in ${writers.size} chain(s); every chain is intact.`);
    } else {
      console.log(`BROKEN: ${count} records in ${writers.size} chain(s); ${breaks.length} chain(s) broken:`);
      for (const item of breaks) console.log(`  writer ${item.writer}, record ${item.position}: ${item.reason}`);
      process.exitCode = 1;
    }
  } else {
    const count = countArg === undefined ? 20 : Number(countArg);
    if (!Number.isInteger(count) || count < 1) throw new Error(`N must be a positive whole number. ${usage}`);
    const all = [...writers.values()].flat() as { time?: string }[];
    all.sort((a, b) => String(a.time).localeCompare(String(b.time)));
    for (const record of all.slice(-count)) console.log(JSON.stringify(record));
  }
} catch (error) {
  console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = 2;
}
