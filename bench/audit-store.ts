import { ContainerClient } from '@azure/storage-blob';
import { createHash, randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import type { AuditRecord } from '../shared/audit/record.js';
import { DEFAULT_LINGER_MS } from '../shared/audit/blob-sink.js';
import { createDurableAuditLog } from '../shared/audit/durable-log.js';
import { createAppCredential } from '../shared/azure/credential.js';
import { loadSettings } from '../shared/config/settings.js';
import { median, shuffled, sleep } from './lib.js';

/**
 * The durable-audit worker (forked by bench/run.ts with the sandbox's app settings; results over IPC): the app's
 * own tamper-evident store (shared/audit/durable-log.ts: Blob SDK to Azurite, anchors in its table, the key from
 * the twin's vault) fed records the way calls feed it, and the CPU this process spends per stored record
 * (process.cpuUsage from the first record queued until the last is stored and anchored, less what the callers
 * alone use to make and pace the same records, measured in the same round). Each case runs with
 * the store's group commit (the default linger) and without it (linger 0, the store as it was: one append as soon
 * as the previous one is done), interleaved, in the same process.
 */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const RECORDS = Number(process.env.BENCH_RECORDS ?? 600);
/** When set: profile this one case, with group commit, to this file (inspector CPU profile of the measured window). */
const PROFILE_CASE = process.env.BENCH_PROFILE_CASE;
const PROFILE_FILE = process.env.BENCH_PROFILE_FILE ?? 'audit.cpuprofile';

const settings = loadSettings();
const credential = createAppCredential(settings);
const quiet = () => {};
const container = new ContainerClient(settings.auditContainerUrl ?? '', credential);
/** Appends so far to the writer's chain blob (its committed blocks), as the store reports them. */
const blocksOf = async (writer: string) => (await container.getAppendBlobClient(`${writer}/0000.jsonl`).getProperties()).blobCommittedBlockCount ?? 0;

const bodyText = JSON.stringify({
  jsonrpc: '2.0',
  id: 7,
  result: {
    content: [{ type: 'text', text: 'x'.repeat(900) }],
    structuredContent: { name: 'rg-ddr-records-prod-uks', location: 'uksouth', tags: { owner: 'records-team' } },
  },
});
const body = { text: bodyText, truncated: false, bytes: bodyText.length, sha256: createHash('sha256').update(bodyText).digest('hex') };

/** A record as a read call leaves it (token-attributed, with redacted request and response bodies). */
const record = (): AuditRecord => ({
  time: new Date().toISOString(),
  correlationId: randomUUID(),
  entrance: 'mcp',
  httpMethod: 'POST',
  path: '/mcp',
  httpStatus: 200,
  authenticated: true,
  callerOid: 'a0b1c2d3-0000-4000-8000-00000000be4c',
  callerTid: '11111111-2222-4333-8444-555555555555',
  callerName: 'Bench Caller',
  clientAppId: '99999999-2222-4333-8444-555555555555',
  jsonRpcMethod: 'tools/call',
  tool: 'group_get',
  risk: 'read',
  decision: 'allowed',
  rule: 'department.read',
  targets: ['/subscriptions/00000000-0000-4000-8000-000000000000/resourceGroups/rg-ddr-records-prod-uks'],
  azureRequestIds: [randomUUID()],
  outcome: 'success',
  requestBody: { ...body, text: '{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"group_get","arguments":{"name":"rg-ddr-records-prod-uks"}}}' },
  responseBody: body,
  durationMs: 3.2,
});

interface Case {
  name: string;
  /** Callers at once. */
  callers: number;
  /** A read's caller does not wait for its record to be stored (it is paced as a call of about a millisecond); a write's does. */
  waits: boolean;
}

const CASES: Case[] = [
  { name: 'reads, 1 caller', callers: 1, waits: false },
  { name: 'reads, 4 callers', callers: 4, waits: false },
  { name: 'reads, 32 callers', callers: 32, waits: false },
  { name: 'writes, 1 caller', callers: 1, waits: true },
  { name: 'writes, 32 callers', callers: 32, waits: true },
];

/** The callers alone (the same records made and paced, nothing stored): what is not the store's. */
async function callersAlone(test: Case): Promise<number> {
  const perCaller = Math.ceil(RECORDS / test.callers);
  const cpu = process.cpuUsage();
  await Promise.all(
    Array.from({ length: test.callers }, async () => {
      for (let i = 0; i < perCaller; i += 1) {
        record();
        await (test.waits ? Promise.resolve() : sleep(1));
      }
    }),
  );
  const used = process.cpuUsage(cpu);
  return (used.user + used.system) / (perCaller * test.callers);
}

async function run(test: Case, lingerMs: number, session?: Session): Promise<{ cpuMicrosPerRecord: number; appends: number; msPerRecord: number }> {
  // Linger 0 is the store without group commit: no linger for any record, awaited or not.
  const log = createDurableAuditLog(settings, credential, quiet, lingerMs === 0 ? { lingerMs: 0, unawaitedLingerMs: 0 } : { lingerMs })?.auditLog;
  if (!log) throw new Error('AUDIT_CONTAINER_URL and AUDIT_ANCHOR_TABLE_ENDPOINT must be set');
  // Warm: key, registration, the SDK's modules and connections, outside the measure.
  await Promise.all(Array.from({ length: 20 }, () => log.append(record(), { awaited: true }).stored));
  const blocksBefore = await blocksOf(log.writer);
  const stored: Promise<void>[] = [];
  const perCaller = Math.ceil(RECORDS / test.callers);
  if (session) await session.post('Profiler.start');
  const cpu = process.cpuUsage();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: test.callers }, async () => {
      for (let i = 0; i < perCaller; i += 1) {
        const { stored: done } = log.append(record(), { awaited: test.waits });
        stored.push(done);
        await (test.waits ? done : sleep(1));
      }
    }),
  );
  await Promise.all(stored);
  const used = process.cpuUsage(cpu);
  const elapsed = performance.now() - started;
  if (session) writeFileSync(PROFILE_FILE, JSON.stringify((await session.post('Profiler.stop')).profile));
  const count = perCaller * test.callers;
  const appends = (await blocksOf(log.writer)) - blocksBefore;
  return { cpuMicrosPerRecord: (used.user + used.system) / count, appends, msPerRecord: elapsed / count };
}

const report = (message: unknown) =>
  new Promise<void>((resolve, reject) => process.send!(message, undefined, undefined, (error: Error | null) => (error ? reject(error) : resolve())));

if (PROFILE_CASE) {
  const test = CASES.find((candidate) => candidate.name === PROFILE_CASE);
  if (!test) throw new Error(`No case ${PROFILE_CASE}`);
  await run(test, DEFAULT_LINGER_MS);
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 100 });
  await run(test, DEFAULT_LINGER_MS, session);
  session.disconnect();
  await report({ profiled: PROFILE_FILE });
  process.exit(0);
}

const perRound: Record<string, { grouped: number; ungrouped: number; callers: number; groupedAppends: number; ungroupedAppends: number }>[] = [];
for (let round = 0; round < ROUNDS; round += 1) {
  const times: (typeof perRound)[number] = {};
  for (const test of shuffled(CASES)) {
    // Alternated, so drift on a shared machine favours neither.
    const [first, second] = round % 2 === 0 ? [DEFAULT_LINGER_MS, 0] : [0, DEFAULT_LINGER_MS];
    const a = await run(test, first);
    const b = await run(test, second);
    const [grouped, ungrouped] = first === 0 ? [b, a] : [a, b];
    const alone = await callersAlone(test);
    times[test.name] = {
      grouped: grouped.cpuMicrosPerRecord - alone,
      ungrouped: ungrouped.cpuMicrosPerRecord - alone,
      callers: alone,
      groupedAppends: grouped.appends,
      ungroupedAppends: ungrouped.appends,
    };
  }
  perRound.push(times);
  process.stderr.write(
    `  … durable audit round ${round + 1}/${ROUNDS}: ${CASES.map((c) => `${c.name} ${Math.round(times[c.name]!.grouped)} µs (without ${Math.round(times[c.name]!.ungrouped)} µs)`).join(', ')}\n`,
  );
}
const medians = Object.fromEntries(
  CASES.map((test) => [
    test.name,
    {
      grouped: median(perRound.map((times) => times[test.name]!.grouped)),
      ungrouped: median(perRound.map((times) => times[test.name]!.ungrouped)),
      callers: median(perRound.map((times) => times[test.name]!.callers)),
      groupedAppends: median(perRound.map((times) => times[test.name]!.groupedAppends)),
      ungroupedAppends: median(perRound.map((times) => times[test.name]!.ungroupedAppends)),
    },
  ]),
);
await report({ perRound, medians, records: RECORDS, rounds: ROUNDS, lingerMs: DEFAULT_LINGER_MS });
process.exit(0);
