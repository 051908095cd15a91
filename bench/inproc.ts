import functions from '@azure/functions';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { HTTP_FUNCTIONS, type HttpFunctionDefinition } from '../functions/definitions.js';
import { getApp } from '../shared/app.js';
import { createAzureClients } from '../shared/azure/clients.js';
import { createManagedIdentityCredential } from '../shared/azure/credential.js';
import { loadSettings } from '../shared/config/settings.js';
import { TRIVIAL_FUNCTION } from './baseline.js';
import { NO_AZURE_TOOL, READ_TOOL, TOOLS_LIST_BODY, isMcpSuccess, isToolsListAnswer, mcpHeaders, median, shuffled, toolsCallBody } from './lib.js';

// HttpRequest, HttpResponse and InvocationContext are not named ESM exports of @azure/functions.
const { HttpRequest, HttpResponse, InvocationContext } = functions;

/**
 * The in-process worker (spawned by bench/run.ts with the sandbox's app settings, stdout to /dev/null as the audit
 * log copy goes there, results over IPC). Calls the registered Function handlers directly — what the local host
 * or the Functions worker does after parsing HTTP: build an HttpRequest and an InvocationContext, await the
 * handler, build the HttpResponse and read its body — no sockets between caller and app. The tool's own Azure
 * calls still go over HTTPS to the sandbox twin.
 */
const TOKEN = process.env.BENCH_TOKEN ?? '';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 21);
const BATCH = Number(process.env.BENCH_BATCH ?? 50);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 300);
/** When set: profile this one case (inspector CPU profile around its calls only) to this file, and time nothing. */
const PROFILE_CASE = process.env.BENCH_PROFILE_CASE;
const PROFILE_FILE = process.env.BENCH_PROFILE_FILE ?? 'inproc.cpuprofile';
const PROFILE_CALLS = Number(process.env.BENCH_PROFILE_CALLS ?? 3000);

const BASE = 'http://127.0.0.1:7071';
const TRIVIAL_ANSWER = Buffer.from('{"ok":true}');
const mcp = HTTP_FUNCTIONS.find((definition) => definition.name === 'mcp') as HttpFunctionDefinition;

async function invoke(
  definition: HttpFunctionDefinition,
  path: string,
  body: string,
  headers: Record<string, string>,
): Promise<{ status: number; body: Buffer }> {
  const request = new HttpRequest({
    url: `${BASE}/${path}`,
    method: 'POST',
    headers: { host: '127.0.0.1:7071', 'content-length': String(Buffer.byteLength(body)), ...headers },
    body: { bytes: Buffer.from(body) },
  });
  const context = new InvocationContext({ invocationId: randomUUID(), functionName: definition.name });
  const result = await definition.handler(request, context);
  const response = result instanceof HttpResponse ? result : new HttpResponse(result ?? {});
  // Read as bytes, as a host passes a body on (dev/host/local-host.ts streams it; nothing there decodes it to text).
  return { status: response.status ?? 200, body: Buffer.from(await response.arrayBuffer()) };
}

const settings = loadSettings();
// The tool's own Azure call, made directly with the app's own client factory (same SDK, pipeline and policies).
const direct = createAzureClients(settings, createManagedIdentityCredential(settings.identityClientId, settings.azureTokenTimeoutMs));
const headers = mcpHeaders(TOKEN);

interface Case {
  name: string;
  /** One call; returns a description of what was wrong, or undefined. */
  call(): Promise<string | undefined>;
}

const expectMcp = async (request: string, isAnswer: (body: Buffer) => boolean = isMcpSuccess): Promise<string | undefined> => {
  const { status, body } = await invoke(mcp, 'mcp', request, headers);
  return status === 200 && isAnswer(body) ? undefined : `HTTP ${status}: ${body.subarray(0, 300).toString()}`;
};

const CASES: Case[] = [
  {
    name: 'trivial',
    async call() {
      const { status, body } = await invoke(TRIVIAL_FUNCTION, 'bench/trivial', TOOLS_LIST_BODY, headers);
      return status === 200 && body.equals(TRIVIAL_ANSWER) ? undefined : `HTTP ${status}: ${body.toString()}`;
    },
  },
  { name: 'tools/list', call: () => expectMcp(TOOLS_LIST_BODY, isToolsListAnswer) },
  { name: `tools/call ${NO_AZURE_TOOL.name}`, call: () => expectMcp(toolsCallBody(NO_AZURE_TOOL)) },
  { name: `tools/call ${READ_TOOL.name}`, call: () => expectMcp(toolsCallBody(READ_TOOL)) },
  {
    name: `direct SDK ${READ_TOOL.name}`,
    async call() {
      const group = await (await direct.resources()).resourceGroups.get(READ_TOOL.arguments.name);
      return group.name ? undefined : 'no group';
    },
  },
];

/**
 * Writes the records the calls left to be written after their answers (hash chain, log line, copies) and waits
 * until they are in the store: part of a call's cost, though not of its caller's wait.
 */
const drainAudit = () => {
  const app = getApp();
  app.audit.settle();
  return app.auditLog?.flush(30_000) ?? Promise.resolve();
};

/**
 * A batch of sequential calls: the per-call mean of the calls themselves (what a caller waits for), and apart
 * from it the per-call mean of draining the audit records they queued to the tamper-evident store afterwards
 * (asynchronous to the caller, mostly waiting on the store).
 */
async function batch(test: Case, calls: number): Promise<{ call: number; drain: number }> {
  await drainAudit();
  const started = performance.now();
  let problem: string | undefined;
  for (let i = 0; i < calls; i += 1) problem ??= await test.call();
  const called = performance.now();
  await drainAudit();
  const drained = performance.now();
  if (problem) throw new Error(`${test.name} failed: ${problem}`);
  return { call: (called - started) / calls, drain: (drained - called) / calls };
}

const report = (message: unknown) =>
  new Promise<void>((resolve, reject) => process.send!(message, undefined, undefined, (error: Error | null) => (error ? reject(error) : resolve())));
const log = (message: string) => process.stderr.write(`  … ${message}\n`);

if (PROFILE_CASE) {
  const test = CASES.find((candidate) => candidate.name === PROFILE_CASE);
  if (!test) throw new Error(`No case ${PROFILE_CASE}`);
  await batch(test, WARMUP);
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 100 });
  await session.post('Profiler.start');
  // In batches as timed (each ending with its records written and stored): one long batch would fill the queue of
  // records waiting to be written, and its calls would write them inline, which the timed calls never do.
  for (let calls = 0; calls < PROFILE_CALLS; calls += BATCH) await batch(test, BATCH);
  const { profile } = await session.post('Profiler.stop');
  writeFileSync(PROFILE_FILE, JSON.stringify(profile));
  session.disconnect();
  await report({ profiled: PROFILE_FILE });
} else {
  log(`warming up (${WARMUP} calls of each case)`);
  for (const test of CASES) await batch(test, WARMUP);
  const perRound: Record<string, number>[] = [];
  const drainPerRound: Record<string, number>[] = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    const times: Record<string, number> = {};
    const drains: Record<string, number> = {};
    // A different order every round, so drift on a shared machine does not favour one case.
    const order = shuffled(CASES);
    for (const test of order) ({ call: times[test.name], drain: drains[test.name] } = await batch(test, BATCH));
    perRound.push(times);
    drainPerRound.push(drains);
    if ((round + 1) % 5 === 0 || round + 1 === ROUNDS) log(`in-process round ${round + 1}/${ROUNDS}`);
  }
  const medians = Object.fromEntries(CASES.map((test) => [test.name, median(perRound.map((times) => times[test.name] as number))]));
  const drainMedians = Object.fromEntries(CASES.map((test) => [test.name, median(drainPerRound.map((times) => times[test.name] as number))]));
  await report({ perRound, medians, drainPerRound, drainMedians, rounds: ROUNDS, batch: BATCH });
}
await drainAudit();
process.exit(0);
