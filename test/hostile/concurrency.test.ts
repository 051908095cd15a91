import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TOOLS } from '../../shared/tools/registry.js';
import { recordHash } from '../../shared/audit/chain.js';
import { SANDBOX_AUDIENCE } from '../../dev/sandbox-settings.js';
import { startTestStack, type TestStack } from '../helpers/stack.js';
import { pseudonymsOf } from '../helpers/pseudonyms.js';
import { auditChain, newTraceparent, type StoredRecord } from './helpers/audit-chain.js';
import { checkResponse } from './helpers/contract.js';
import { RECORDS, TAGS } from './helpers/catalogue.js';
import { mapLimit, rawClient, sseMessages, type RawRequest, type RawResponse } from './helpers/raw-http.js';

/**
 * Thousands of mixed calls from several callers at once (32 in flight): reads through both entrances, refusals,
 * unauthenticated requests, and one caller hammering a tool past its rate limit. Nothing a caller gets back belongs
 * to another caller (whoami, tools/list, identities, tokens, correlation ids), one caller's limit never throttles
 * another, and the audit trail holds exactly one record per request, attributed to the caller that sent it, in a
 * chain that verifies.
 */
const IN_FLIGHT = 32;
/** The per-caller limit of the hammered tool (the policy's copy below); others are far from their limits. */
const WHOAMI_LIMIT = 30;
const DEFAULT_LIMIT = 150;

interface Caller {
  key: string;
  oid: string;
  name?: string;
  roles: string[];
  appOnly?: boolean;
  token: string;
}

let stack: TestStack;
let client: ReturnType<typeof rawClient>;
let audit: ReturnType<typeof auditChain>;
let policyDir: string;
let callers: Caller[];
/** How the stored copy names a caller (./shared/audit/pseudonym.ts). */
let pseudonym: (oid: string) => string;

beforeAll(async () => {
  // The seeded policy with small, long-window limits, so the plan below knows exactly who must be throttled.
  policyDir = mkdtempSync(join(tmpdir(), 'hostile-concurrency-policy-'));
  const policy = readFileSync('shared/policy/department.yaml', 'utf8');
  const limited = policy.replace(
    /rateLimits:[\s\S]*$/,
    `rateLimits:\n  default: { requests: ${DEFAULT_LIMIT}, perSeconds: 3600 }\n  tools:\n    access_whoami: { requests: ${WHOAMI_LIMIT}, perSeconds: 3600 }\n    group_create: { requests: 10, perSeconds: 60 }\n`,
  );
  expect(limited).toContain(`access_whoami: { requests: ${WHOAMI_LIMIT}`);
  writeFileSync(join(policyDir, 'department.yaml'), limited);
  stack = await startTestStack({ MCP_POLICY_FILE: join(policyDir, 'department.yaml'), AZURE_CALL_TIMEOUT_MS: '20000' });
  client = rawClient(stack.baseUrl, { maxSockets: IN_FLIGHT, timeoutMs: 60_000 });
  audit = auditChain(stack);
  pseudonym = await pseudonymsOf(stack);
  const people: Omit<Caller, 'token'>[] = [
    { key: 'alpha', oid: 'a1a1a1a1-0000-4000-8000-000000000001', name: 'Caller Alpha', roles: ['Mcp.Reader'] },
    { key: 'bravo', oid: 'b2b2b2b2-0000-4000-8000-000000000002', name: 'Caller Bravo', roles: ['Mcp.Reader'] },
    { key: 'charlie', oid: 'c3c3c3c3-0000-4000-8000-000000000003', name: 'Caller Charlie', roles: ['Mcp.Operator'] },
    { key: 'delta', oid: 'd4d4d4d4-0000-4000-8000-000000000004', name: 'Caller Delta', roles: ['Mcp.Reader', 'Mcp.Approver'] },
    { key: 'echo', oid: 'e5e5e5e5-0000-4000-8000-000000000005', name: 'Caller Echo', roles: [] },
    { key: 'foxtrot', oid: 'f6f6f6f6-0000-4000-8000-000000000006', name: 'Caller Foxtrot', roles: ['Mcp.Operator'] },
    { key: 'agent', oid: '07070707-0000-4000-8000-000000000007', roles: ['Mcp.Reader'], appOnly: true },
    { key: 'greedy', oid: '08080808-0000-4000-8000-000000000008', name: 'Caller Greedy', roles: ['Mcp.Reader'] },
  ];
  callers = await Promise.all(
    people.map(async (person) => ({
      ...person,
      token: person.appOnly
        ? // A hosted agent: an app-only token (no scope, sub = oid) with an app role.
          await stack.sandbox.mintToken({
            audience: SANDBOX_AUDIENCE,
            tenantId: stack.sandbox.tenantId,
            oid: person.oid,
            azp: 'agent-client-id',
            roles: person.roles,
          })
        : await stack.token({ oid: person.oid, name: person.name!, roles: person.roles }),
    })),
  );
}, 120_000);

afterAll(async () => {
  client?.close();
  await stack?.stop();
  if (policyDir) rmSync(policyDir, { recursive: true, force: true });
});

// ---- The plan ---------------------------------------------------------------------------------------------------

type Entrance = 'tools' | 'mcp';
interface Planned {
  index: number;
  caller?: Caller;
  /** For unauthenticated requests: what stands in for the token. */
  authorization?: string;
  entrance: Entrance;
  /** A tool, or 'tools/list'. */
  tool: string;
  args: Record<string, unknown>;
  traceparent: string;
  traceId: string;
}

/** A small seeded generator: the plan (and so the run) is the same every time. */
function seeded(seed: number) {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

const READS: [string, Record<string, unknown>, number][] = [
  ['access_whoami', {}, 25],
  ['group_get', { name: 'rg-ddr-dr-ukw' }, 30],
  ['group_list', { top: 5 }, 20],
  ['storage_account_get', { resourceGroup: 'rg-ddr-records-prod-uks', name: 'stddrrecordsprod' }, 30],
  ['keyvault_key_get', { name: 'cmk-records' }, 30],
  ['storage_blob_read', { ...RECORDS, container: 'case-files', name: '2025/CASE-10482/metadata.json' }, 20],
  ['tools/list', {}, 20],
];
/** Calls every caller must be refused (403), whatever its role. `auditBlob` is the chain blob holding everyone's records. */
const refusals = (auditBlob: string): [string, Record<string, unknown>, number][] => [
  // Readers lack the role; operators are refused by scope or protection before anything is recorded or changed.
  ['group_create', { name: 'rg-not-in-policy', location: 'uksouth', tags: TAGS }, 8],
  ['group_delete', { name: 'rg-ddr-identity-uks' }, 8],
  ['group_get', { name: 'rg-ddr-sandbox-neu' }, 10],
  // The app's own audit trail holds every caller's records: never readable through the data tools.
  ['storage_blob_read', { resourceGroup: 'rg-ddr-identity-uks', account: 'stddrmcpapp', container: 'audit', name: auditBlob }, 6],
  ['storage_blob_list', { resourceGroup: 'rg-ddr-identity-uks', account: 'stddrmcpapp', container: 'audit' }, 4],
  ['storage_container_list', { resourceGroup: 'rg-ddr-identity-uks', account: 'stddrmcpapp' }, 4],
];
let REFUSED: [string, Record<string, unknown>, number][] = [];

function plan(auditBlob: string): Planned[] {
  REFUSED = refusals(auditBlob);
  const random = seeded(20261107);
  const items: Omit<Planned, 'index' | 'traceparent' | 'traceId'>[] = [];
  const entrance = (): Entrance => (random() < 0.5 ? 'tools' : 'mcp');
  for (const caller of callers) {
    const menu =
      caller.key === 'greedy' ? [...READS.filter(([tool]) => tool !== 'access_whoami'), ['access_whoami', {}, 400] as const] : [...READS, ...REFUSED];
    for (const [tool, args, count] of menu) {
      for (let n = 0; n < count; n += 1) items.push({ caller, entrance: tool === 'tools/list' ? 'mcp' : entrance(), tool, args });
    }
  }
  const anonymous = ['', 'Bearer not-a-token', `Bearer ${callers[0]!.token.slice(0, -4)}AAAA`];
  for (let n = 0; n < 240; n += 1) {
    const [tool, args] = READS[n % (READS.length - 1)]!;
    items.push({ authorization: anonymous[n % anonymous.length]!, entrance: entrance(), tool, args });
  }
  // Shuffled, so every caller's requests interleave with everyone else's.
  for (let i = items.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items.map((item, index) => ({ ...item, index, ...newTraceparent() }));
}

function toRequest(planned: Planned): RawRequest {
  const authorization = planned.caller ? `Bearer ${planned.caller.token}` : planned.authorization!;
  const headers: Record<string, string> = { 'content-type': 'application/json', traceparent: planned.traceparent, ...(authorization ? { authorization } : {}) };
  if (planned.entrance === 'tools') return { method: 'POST', path: `/tools/${planned.tool}`, headers, body: JSON.stringify(planned.args) };
  const message =
    planned.tool === 'tools/list'
      ? { jsonrpc: '2.0', id: planned.index, method: 'tools/list' }
      : { jsonrpc: '2.0', id: planned.index, method: 'tools/call', params: { name: planned.tool, arguments: planned.args } };
  return { method: 'POST', path: '/mcp', headers: { ...headers, accept: 'application/json, text/event-stream' }, body: JSON.stringify(message) };
}

// ---- What came back ---------------------------------------------------------------------------------------------

interface Seen {
  planned: Planned;
  request: RawRequest;
  response: RawResponse;
  /** structuredContent of a successful tool call, or the tools/list result. */
  result?: Record<string, unknown>;
  error?: { code: string; message: string; correlationId?: string; rule?: string };
}

function interpret(planned: Planned, request: RawRequest, response: RawResponse): Seen {
  const seen: Seen = { planned, request, response };
  try {
    let payload: {
      content?: { text: string }[];
      isError?: boolean;
      structuredContent?: Record<string, unknown>;
      tools?: unknown[];
      error?: { code: unknown; message: string };
    };
    if (planned.entrance === 'tools') payload = JSON.parse(response.text);
    else {
      const type = String(response.headers['content-type'] ?? '');
      const message = (type.startsWith('text/event-stream') ? sseMessages(response.text).at(-1) : JSON.parse(response.text)) as {
        result?: typeof payload;
        error?: { code: number; message: string };
      };
      if (message.error) return { ...seen, error: { code: String(message.error.code), message: message.error.message } };
      payload = message.result ?? {};
    }
    if (payload.tools) return { ...seen, result: payload };
    if (payload.isError) return { ...seen, error: (JSON.parse(payload.content!.at(-1)!.text) as { error: NonNullable<Seen['error']> }).error };
    if (payload.structuredContent) return { ...seen, result: payload.structuredContent };
    if (payload.error) return { ...seen, error: { code: String(payload.error.code), message: payload.error.message } };
  } catch {
    // the contract check reports unreadable answers
  }
  return seen;
}

const offered = (roles: string[]) =>
  TOOLS.filter((tool) => (tool.risk === 'read' ? roles.includes('Mcp.Reader') || roles.includes('Mcp.Operator') : roles.includes('Mcp.Operator')))
    .map((tool) => tool.name)
    .sort();

describe('several callers at once', () => {
  const seen: Seen[] = [];
  let before = 0;
  let logBefore = 0;
  let planned: Planned[] = [];
  const auditLines = () => stack.app.output.filter((line) => line.startsWith('{"audit"')).length;

  it("never hands one caller another caller's data, and throttles only the caller over its limit", async () => {
    // One call first, so the audit chain's blob exists and its name is known (the refusals try to read it).
    const warmup = await client.send(toRequest({ index: -1, caller: callers[0]!, entrance: 'tools', tool: 'access_whoami', args: {}, ...newTraceparent() }));
    expect(warmup.status).toBe(200);
    const [first] = await audit.waitFor((all) => all.length > 0);
    planned = plan(`${String(first!.writer)}/0000.jsonl`);
    expect(planned.length).toBeGreaterThanOrEqual(2_000);
    before = (await audit.records()).length;
    logBefore = auditLines();
    const started = Date.now();
    seen.push(
      ...(await mapLimit(planned, IN_FLIGHT, async (item) => {
        const request = toRequest(item);
        return interpret(item, request, await client.send(request));
      })),
    );
    const elapsed = Date.now() - started;
    console.log(`concurrency: ${seen.length} requests, ${IN_FLIGHT} in flight, in ${elapsed} ms (${Math.round((seen.length * 1000) / elapsed)} req/s)`);

    const tokens = callers.map((caller) => caller.token);
    const problems: string[] = [];
    const correlationIds = new Set<string>();
    for (const { planned: item, request, response, result, error } of seen) {
      const who = item.caller?.key ?? `anonymous(${item.authorization?.slice(0, 12)})`;
      const label = `#${item.index} ${who} ${item.entrance} ${item.tool}`;
      for (const problem of checkResponse({ request, secrets: tokens, port: new URL(stack.baseUrl).port }, response)) problems.push(`${label}: ${problem}`);
      // Nothing of another caller: their oid, their name, their token.
      for (const other of callers) {
        if (other === item.caller) continue;
        if (response.text.includes(other.oid) || (other.name && response.text.includes(other.name)))
          problems.push(`${label}: the answer names ${other.key}: ${response.text.slice(0, 300)}`);
      }
      if (error?.correlationId) {
        if (correlationIds.has(error.correlationId)) problems.push(`${label}: correlation id ${error.correlationId} was handed out twice`);
        correlationIds.add(error.correlationId);
      }
      if (!item.caller) {
        if (response.status !== 401) problems.push(`${label}: an unauthenticated request answered ${response.status}`);
        continue;
      }
      const caller = item.caller;
      const mayRead = caller.roles.includes('Mcp.Reader') || caller.roles.includes('Mcp.Operator');
      const rateLimited = error?.code === 'rate_limited';
      if (rateLimited && !(caller.key === 'greedy' && item.tool === 'access_whoami')) problems.push(`${label}: throttled by someone else's use`);
      if (item.tool === 'tools/list') {
        const names = ((result?.tools ?? []) as { name: string }[]).map((tool) => tool.name).sort();
        if (JSON.stringify(names) !== JSON.stringify(offered(caller.roles))) problems.push(`${label}: tools/list shows ${names.join(',')}`);
        continue;
      }
      if (item.tool === 'access_whoami' && result) {
        const expected = { oid: caller.oid, name: caller.name, roles: caller.roles };
        const actual = { oid: result.oid, name: result.name, roles: result.roles };
        if (JSON.stringify(actual) !== JSON.stringify(expected)) problems.push(`${label}: whoami answered ${JSON.stringify(actual)}`);
      }
      const refusedByPlan = REFUSED.some(([tool, args]) => tool === item.tool && args === item.args);
      const allowed = mayRead && !refusedByPlan && !rateLimited;
      if (allowed && !result) problems.push(`${label}: an allowed read failed: ${response.status} ${response.text.slice(0, 300)}`);
      if (!allowed && !rateLimited && (result || !['forbidden', 'out_of_scope'].includes(error?.code ?? ''))) {
        problems.push(`${label}: should have been refused (403), got ${response.status} ${response.text.slice(0, 300)}`);
      }
    }
    expect(problems.slice(0, 20)).toEqual([]);

    // The hammering caller got exactly its limit of whoami answers, whichever entrance it used; nobody else was throttled.
    const greedyWhoami = seen.filter((entry) => entry.planned.caller?.key === 'greedy' && entry.planned.tool === 'access_whoami');
    expect(greedyWhoami.filter((entry) => entry.result).length).toBe(WHOAMI_LIMIT);
    expect(greedyWhoami.filter((entry) => entry.error?.code === 'rate_limited').length).toBe(greedyWhoami.length - WHOAMI_LIMIT);
    expect(seen.filter((entry) => entry.error?.code === 'rate_limited' && entry.planned.caller?.key !== 'greedy')).toEqual([]);
  }, 180_000);

  it('audits every request exactly once, attributed to the caller that sent it, in a chain that verifies', async () => {
    expect(seen.length).toBe(planned.length);
    const mine = new Map(seen.map((entry) => [entry.planned.traceId, entry]));
    const records = await audit.waitFor((all) => all.length >= before + seen.length, 60_000);
    const added = records.slice(before);
    // Exactly one record per request: as many as were sent, none without one of this run's trace ids, none twice.
    expect(added.length).toBe(seen.length);
    const perTrace = new Map<string, StoredRecord[]>();
    for (const record of added) perTrace.set(record.traceId ?? '', [...(perTrace.get(record.traceId ?? '') ?? []), record]);
    const problems: string[] = [];
    for (const [traceId, list] of perTrace)
      if (!mine.has(traceId) || list.length !== 1)
        problems.push(`trace ${traceId}: ${list.length} record(s), ${mine.has(traceId) ? 'sent by this run' : 'not sent by this run'}`);
    const correlationIds = new Set(added.map((record) => record.correlationId));
    if (correlationIds.size !== added.length) problems.push('correlation ids repeat across records');
    for (const entry of seen) {
      const record = perTrace.get(entry.planned.traceId)?.[0];
      const label = `#${entry.planned.index} ${entry.planned.caller?.key ?? 'anonymous'} ${entry.planned.tool}`;
      if (!record) {
        problems.push(`${label}: no audit record`);
        continue;
      }
      const caller = entry.planned.caller;
      const expected = {
        authenticated: caller !== undefined,
        // The store names people only by pseudonym: never their oid or name.
        callerPseudonym: caller ? pseudonym(caller.oid) : undefined,
        callerOid: undefined,
        callerName: undefined,
        httpStatus: entry.response.status,
        entrance: entry.planned.entrance,
        ...(caller && entry.planned.tool !== 'tools/list' ? { tool: entry.planned.tool } : {}),
        // An anonymous body is never read (authentication comes first), so only callers' messages are noted.
        ...(caller && entry.planned.entrance === 'mcp' ? { jsonRpcMethod: entry.planned.tool === 'tools/list' ? 'tools/list' : 'tools/call' } : {}),
        ...(entry.error?.correlationId ? { correlationId: entry.error.correlationId } : {}),
        ...(entry.error?.code === 'rate_limited' ? { rule: 'policy.rate-limit' } : {}),
        // What the call came to, from either entrance: the same outcome and error code as the answer.
        ...(caller && entry.planned.tool !== 'tools/list'
          ? {
              outcome: entry.result ? 'success' : ['forbidden', 'out_of_scope', 'rate_limited'].includes(entry.error?.code ?? '') ? 'denied' : 'error',
              errorCode: entry.error?.code,
            }
          : {}),
      };
      const actual = Object.fromEntries(Object.keys(expected).map((key) => [key, record[key]]));
      if (JSON.stringify(actual) !== JSON.stringify(expected)) problems.push(`${label}: audit ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`);
    }
    expect(problems.slice(0, 20)).toEqual([]);
    // The log copy has the same count.
    expect(auditLines() - logBefore).toBe(seen.length);
    // Every stored record still matches its own hash (what verify checks, named here record by record).
    const edited = added.filter(({ hash, ...rest }) => recordHash(rest as Parameters<typeof recordHash>[0]) !== hash);
    expect(edited.map((record) => JSON.stringify(record).slice(0, 2000))).toEqual([]);
    const verified = await audit.verify();
    expect(verified.output).toMatch(/^OK: \d+ records in 1 chain\(s\); every chain is intact/);
    expect(verified.code).toBe(0);
  }, 120_000);
});
