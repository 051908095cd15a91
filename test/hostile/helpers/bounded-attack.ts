import fc from 'fast-check';
import { Worker } from 'node:worker_threads';
import { pathologicalFor, scanSource, textOf, type SourcePattern } from './patterns.js';
import type { RawRequest } from './raw-http.js';

/**
 * The bounded-cost attack, shared by `test/hostile/bounded-cost.test.ts` and `npm run bench -- --only hostile`: for
 * every regular expression in the app, texts built from its own fragments, sent where the app runs it — as tool
 * arguments, unknown argument names, non-JSON bodies and blob content — up to the body cap; and bodies whose shape
 * alone costs (deep nesting, hundreds of thousands of keys, a 4 MiB tool name).
 */
export interface AttackRequest {
  label: string;
  request: RawRequest;
  /** A read returns what it read (up to 1 MiB, twice in a CallToolResult); everything else answers briefly. */
  longAnswer?: boolean;
  /** Plants what a later request attacks (a blob upload: a write, which waits for the audit store): not timed. */
  setup?: boolean;
}

/** One /health answer: when it was asked (epoch ms) and how long it took. */
export interface HealthSample {
  at: number;
  ms: number;
}

export const BODY_CAP = 4 * 1024 * 1024;
/** What storage_blob_upload accepts as content (1 MiB of UTF-8). */
const BLOB_CAP = 1024 * 1024;
const RECORDS = { resourceGroup: 'rg-ddr-records-prod-uks', account: 'stddrrecordsprod', container: 'case-files' };
const MCP_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

/** Files whose patterns run on what tools return (the shield): attacked through blob content, read back. */
const SHIELD_FILES = /shared\/shield\//;

function mcpCall(id: number, name: string, args: unknown): string {
  return JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } });
}

/**
 * The body `build` makes of the longest start of `text` that fits in `cap` bytes. The body that fits is returned as
 * built, not built again: at 4 MiB each build is milliseconds, and this runs while the serial pass waits.
 */
function fitted(text: string, cap: number, build: (text: string) => string = (value) => value): string {
  let current = text;
  for (;;) {
    const body = build(current);
    const bytes = Buffer.byteLength(body);
    if (bytes <= cap) return body;
    current = current.slice(0, Math.floor(current.length * (cap / bytes)) - 64);
  }
}

export interface AttackPlan {
  /** Requests that each must be answered within the bound. */
  requests: (tokens: { reader: string; operator: string }) => AttackRequest[];
  patterns: SourcePattern[];
}

/**
 * One pathological text per pattern (fast-check, from the seed), at sizes taken in turn from `sizes`; `variants`
 * texts per pattern (the bench sends more).
 */
export function boundedCostAttack(options: { seed: number; sizes: readonly number[]; variants?: number }): AttackPlan {
  // The literals; the shield's guarded string patterns are timed one by one in regex-review.test.ts.
  const patterns = scanSource().patterns.filter((pattern) => pattern.engine !== 'bounded');
  const variants = options.variants ?? 1;
  return {
    patterns,
    requests: ({ reader, operator }) => {
      const requests: AttackRequest[] = [];
      let id = 0;
      patterns.forEach((pattern, index) => {
        const samples = fc.sample(pathologicalFor(pattern.regex), { seed: options.seed + index, numRuns: variants });
        samples.forEach((sample, variant) => {
          const size = options.sizes[(index + variant) % options.sizes.length]!;
          const text = textOf(sample, size);
          const who = (index + variant) % 2 === 0 ? { role: 'Reader', token: reader } : { role: 'Operator', token: operator };
          const label = (where: string) => `${pattern.where} ${JSON.stringify(text.slice(0, 24))}… ${where} as ${who.role}`;
          const auth = { authorization: `Bearer ${who.token}` };
          id += 1;
          // A tool argument: validated (zod), refused, echoed in an error, audited.
          const asArgument = (value: string) => mcpCall(id, 'storage_account_get', { resourceGroup: RECORDS.resourceGroup, name: value });
          requests.push({
            label: label(`${size} chars as an argument on /mcp`),
            request: { method: 'POST', path: '/mcp', headers: { ...MCP_HEADERS, ...auth }, body: fitted(text, BODY_CAP, asArgument) },
          });
          // An unknown argument name on /tools/{name}: listed in the error, audited.
          const asKey = (value: string) => JSON.stringify({ ...RECORDS, [value]: 'x' });
          requests.push({
            label: label(`${size} chars as an argument name on /tools/storage_blob_list`),
            request: {
              method: 'POST',
              path: '/tools/storage_blob_list',
              headers: { 'content-type': 'application/json', ...auth },
              body: fitted(text, BODY_CAP, asKey),
            },
          });
          // Not JSON at all: the parse error is audited with the body as text.
          requests.push({
            label: label(`${size} chars as a non-JSON body on ${index % 2 === 0 ? '/mcp' : '/tools/group_get'}`),
            request: {
              method: 'POST',
              path: index % 2 === 0 ? '/mcp' : '/tools/group_get',
              headers: { ...MCP_HEADERS, ...auth },
              body: fitted(text, BODY_CAP),
            },
          });
          if (SHIELD_FILES.test(pattern.where)) {
            // Text the shield reads: uploaded by an Operator, read back by a Reader (both timed).
            const name = `bounded-cost/${index}-${variant}.txt`;
            const asContent = (value: string) => JSON.stringify({ ...RECORDS, name, content: value, overwrite: true });
            const content = fitted(textOf(sample, BLOB_CAP), BLOB_CAP);
            requests.push({
              setup: true,
              label: label(`${content.length} chars uploaded as blob content`),
              request: {
                method: 'POST',
                path: '/tools/storage_blob_upload',
                headers: { 'content-type': 'application/json', authorization: `Bearer ${operator}` },
                body: asContent(content),
              },
            });
            requests.push({
              longAnswer: true,
              label: label('read back through the shield'),
              request: {
                method: 'POST',
                path: '/mcp',
                headers: { ...MCP_HEADERS, authorization: `Bearer ${reader}` },
                body: mcpCall(id, 'storage_blob_read', { ...RECORDS, name, maxBytes: BLOB_CAP }),
              },
            });
          }
        });
      });
      requests.push(...shapeAttacks({ reader, operator }));
      return requests;
    },
  };
}

/** 64 KiB texts whose redaction costs most per character. */
const REDACTION_SHAPES = {
  'runs of 2,000 letters, each before an =': `${'q'.repeat(2_000)}=value `.repeat(32),
  'runs of base64, each before a :': `${'QUJD'.repeat(500)}: value `.repeat(32),
  'a SAS query, percent-encoded in part, over and over': 'sv=2020&sig=abc%2B&se=1&'.repeat(2_731),
};

/** Bodies whose shape alone costs: nesting, keys, items, a huge tool name; texts that cost the audit's redaction most. */
export function shapeAttacks({ reader, operator }: { reader: string; operator: string }): AttackRequest[] {
  const mcp = (token: string, body: string): RawRequest => ({
    method: 'POST',
    path: '/mcp',
    headers: { ...MCP_HEADERS, authorization: `Bearer ${token}` },
    body,
  });
  const tools = (name: string, token: string, body: string): RawRequest => ({
    method: 'POST',
    path: `/tools/${name}`,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body,
  });
  const manyKeys = (count: number, extra: Record<string, unknown> = {}) => {
    const keys: string[] = [];
    for (let i = 0; i < count; i += 1) keys.push(`"k${i}":${i}`);
    const base = JSON.stringify(extra).slice(1, -1);
    return `{${base}${base ? ',' : ''}${keys.join(',')}}`;
  };
  const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
  const wideArray = `{"name":[${'0,'.repeat(1_500_000)}0]}`;
  return [
    { label: '200,000 keys on /tools/group_get', request: tools('group_get', reader, manyKeys(200_000)) },
    {
      label: '200,000 keys as tools/call arguments on /mcp',
      request: mcp(operator, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"group_get","arguments":${manyKeys(200_000)}}}`),
    },
    { label: '4,990 unknown keys (under the limit) on /tools/group_get', request: tools('group_get', operator, manyKeys(4_990, { name: 'rg-ddr-dr-ukw' })) },
    { label: '500,000 nested arrays on /mcp', request: mcp(reader, nested(500_000)) },
    { label: '2,000,000 nested arrays on /tools/group_get', request: tools('group_get', operator, nested(2_000_000)) },
    { label: '1,500,001 array items on /tools/group_get', request: tools('group_get', reader, wideArray) },
    {
      label: 'a 4 MiB tool name on /mcp',
      request: mcp(reader, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"${'a_b'.repeat(1_398_000)}","arguments":{}}}`),
    },
    { label: 'a 4 MiB method name on /mcp', request: mcp(operator, `{"jsonrpc":"2.0","id":1,"method":"${'x/'.repeat(2_097_000)}","params":{}}`) },
    // Request bodies are redacted for the audit before the call runs, the first 16 KiB of them: texts that cost the
    // redaction most per character (a long run of name characters before each separator, a SAS query over and over).
    ...Object.entries(REDACTION_SHAPES).flatMap(([shape, text]) => [
      { label: `redaction: ${shape}, as a tool argument on /mcp`, request: mcp(reader, mcpCall(1, 'group_get', { name: text })) },
      { label: `redaction: ${shape}, as a non-JSON body on /tools/group_get`, request: tools('group_get', reader, text) },
    ]),
  ];
}

/**
 * Polls /health from a worker thread (so the test's own work does not delay it) until stopped; every answer's
 * latency in milliseconds.
 */
export function healthProbe(baseUrl: string, everyMs = 20): { stop(): Promise<HealthSample[]> } {
  const url = new URL(baseUrl);
  const worker = new Worker(
    `
    const { parentPort, workerData } = require('node:worker_threads');
    const http = require('node:http');
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    let stopping = false;
    const latencies = [];
    parentPort.on('message', () => { stopping = true; });
    const once = () => new Promise((resolve) => {
      const at = Date.now();
      const started = performance.now();
      const request = http.get({ host: workerData.host, port: workerData.port, path: '/health', agent }, (response) => {
        response.resume();
        response.on('end', () => resolve({ at, ms: performance.now() - started }));
      });
      request.on('error', () => resolve({ at, ms: Infinity }));
    });
    (async () => {
      while (!stopping) {
        latencies.push(await once());
        await new Promise((resolve) => setTimeout(resolve, workerData.everyMs));
      }
      agent.destroy();
      parentPort.postMessage(latencies);
    })();
    `,
    { eval: true, workerData: { host: url.hostname, port: url.port, everyMs } },
  );
  const done = new Promise<HealthSample[]>((resolve, reject) => {
    worker.once('message', (latencies: HealthSample[]) => resolve(latencies));
    worker.once('error', reject);
  });
  return {
    async stop() {
      worker.postMessage('stop');
      const latencies = await done;
      await worker.terminate();
      return latencies;
    },
  };
}

/** The request in flight when `sample` was asked, by the requests' start times (epoch ms), in order. */
export function requestDuring<T extends { at: number }>(sample: HealthSample, sent: readonly T[]): T | undefined {
  return sent.filter((request) => request.at <= sample.at).at(-1);
}
