import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { CLIENT_CAPABILITIES_META_KEY, CLIENT_INFO_META_KEY, PROTOCOL_VERSION_META_KEY } from '@modelcontextprotocol/server';
import { startAppProcess, type AppProcess } from '../dev/app-process.js';
import { sandboxAppSettings } from '../dev/sandbox-settings.js';
import { acquireSharedStack } from './helpers/shared-stack.js';
import type { TestStack } from './helpers/stack.js';
import { newTraceparent } from './hostile/helpers/audit-chain.js';
import { rawClient, sseMessages, type RawResponse } from './hostile/helpers/raw-http.js';

describe('mcp-fast-path', () => {
  /**
   * The app answers ping, tools/list and tools/call on its own fast path (shared/http/mcp-fast-path.ts) and leaves
   * everything else to the MCP SDK. Here the same requests go to two apps on one sandbox — one as deployed, one with
   * MCP_SDK_PATH_ONLY=true (every request through the SDK) — and must get the same HTTP status, the same JSON-RPC
   * result or error, and audit records that say the same. Only transport framing (JSON or one server-sent event)
   * and per-call ids are ignored. The requests the fast path is meant to take must actually be taken by it (answered
   * as JSON), or the comparison would prove nothing.
   */
  const READER_OID = 'a1b2c3d4-0000-4000-8000-0000000fa571';
  const OPERATOR_OID = 'a1b2c3d4-0000-4000-8000-0000000fa572';
  const ACCEPT_BOTH = 'application/json, text/event-stream';

  let stack: TestStack;
  let sdkApp: AppProcess;
  let reader: string;
  let operator: string;

  beforeAll(async () => {
    stack = await acquireSharedStack();
    sdkApp = await startAppProcess({ ...sandboxAppSettings(stack.sandbox), MCP_SDK_PATH_ONLY: 'true' });
    reader = await stack.token({ roles: ['Mcp.Reader'], oid: READER_OID, name: 'Differential Reader' });
    operator = await stack.token({ roles: ['Mcp.Operator'], oid: OPERATOR_OID, name: 'Differential Operator' });
  }, 180_000);
  afterAll(async () => {
    await sdkApp?.stop();
    await stack?.stop();
  });

  interface Case {
    name: string;
    body: string;
    /** Headers beside Host, Authorization and traceparent; the default is what a 2025-11-25 client sends. */
    headers?: Record<string, string | undefined>;
    token?: 'reader' | 'operator';
    /** The fast path is meant to answer it (so its answer must come as JSON). */
    fast?: boolean;
  }

  const rpc = (method: string, params?: unknown, id: unknown = 1) =>
    JSON.stringify({ jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) });
  const call = (name: string, args?: unknown, id: unknown = 1) => rpc('tools/call', { name, ...(args === undefined ? {} : { arguments: args }) }, id);
  const initialize = (protocolVersion: string) =>
    rpc('initialize', { protocolVersion, capabilities: {}, clientInfo: { name: 'differential-test', version: '1.0.0' } });
  const modernMeta = {
    [PROTOCOL_VERSION_META_KEY]: '2026-07-28',
    [CLIENT_INFO_META_KEY]: { name: 'differential-test', version: '2.0.0' },
    [CLIENT_CAPABILITIES_META_KEY]: {},
  };
  const MODERN = { 'mcp-protocol-version': '2026-07-28' };

  const CASES: Case[] = [
    // The handshake and its negotiation: always the SDK's.
    { name: 'initialize, 2025-11-25', body: initialize('2025-11-25'), headers: { 'mcp-protocol-version': undefined } },
    { name: 'initialize, 2025-06-18', body: initialize('2025-06-18'), headers: { 'mcp-protocol-version': undefined } },
    { name: 'initialize, 2025-03-26', body: initialize('2025-03-26'), headers: { 'mcp-protocol-version': undefined } },
    { name: 'initialize, 2024-11-05', body: initialize('2024-11-05'), headers: { 'mcp-protocol-version': undefined } },
    { name: 'initialize, 2026-07-28 asked for in the body', body: initialize('2026-07-28'), headers: { 'mcp-protocol-version': undefined } },
    { name: 'initialize, unknown version', body: initialize('1999-01-01'), headers: { 'mcp-protocol-version': undefined } },
    { name: 'initialize without params', body: rpc('initialize') },
    { name: 'notifications/initialized', body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) },
    { name: 'notifications/cancelled', body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 7 } }) },
    { name: 'tools/call sent as a notification', body: JSON.stringify({ jsonrpc: '2.0', method: 'tools/call', params: { name: 'access_whoami' } }) },
    // The hot methods, as 2025-era clients send them.
    { name: 'ping', body: rpc('ping'), fast: true },
    { name: 'ping with empty params and a string id', body: rpc('ping', {}, 'ping-1'), fast: true },
    { name: 'ping, protocol 2025-06-18', body: rpc('ping'), headers: { 'mcp-protocol-version': '2025-06-18' }, fast: true },
    { name: 'ping without a protocol header', body: rpc('ping'), headers: { 'mcp-protocol-version': undefined }, fast: true },
    { name: 'ping with params that are not an object', body: rpc('ping', 'x') },
    { name: 'tools/list as a Reader', body: rpc('tools/list'), fast: true },
    { name: 'tools/list as an Operator', body: rpc('tools/list', undefined, 42), token: 'operator', fast: true },
    { name: 'tools/list with a cursor', body: rpc('tools/list', { cursor: 'abc' }), fast: true },
    { name: 'tools/list with a numeric cursor', body: rpc('tools/list', { cursor: 5 }) },
    { name: 'tools/list, protocol 2024-11-05', body: rpc('tools/list'), headers: { 'mcp-protocol-version': '2024-11-05' }, fast: true },
    { name: 'tools/call access_whoami', body: call('access_whoami', {}), fast: true },
    { name: 'tools/call access_whoami without arguments', body: call('access_whoami'), fast: true },
    { name: 'tools/call group_get, allowed', body: call('group_get', { name: 'rg-ddr-records-prod-uks' }), fast: true },
    { name: 'tools/call group_get out of scope (denied)', body: call('group_get', { name: 'rg-ddr-sandbox-neu' }), fast: true },
    { name: 'tools/call group_create as a Reader (denied by role)', body: call('group_create', { name: 'rg-ddr-never-ukw', location: 'ukwest' }), fast: true },
    {
      name: 'tools/call group_delete without approval (denied)',
      body: call('group_delete', { name: 'rg-ddr-records-dev-uks' }),
      token: 'operator',
      fast: true,
    },
    { name: 'tools/call group_get with invalid arguments', body: call('group_get', { name: 5 }), fast: true },
    { name: 'tools/call group_get with an unknown argument', body: call('group_get', { name: 'rg-ddr-records-prod-uks', extra: true }), fast: true },
    { name: 'tools/call of an unknown tool', body: call('no_such_tool', {}) },
    { name: 'tools/call without a name', body: rpc('tools/call', { arguments: {} }) },
    { name: 'tools/call with arguments that are not an object', body: call('access_whoami', 'x') },
    { name: 'tools/call with a progress token', body: rpc('tools/call', { name: 'access_whoami', arguments: {}, _meta: { progressToken: 'p1' } }) },
    // Protocol errors.
    { name: 'unknown method', body: rpc('foo/bar') },
    { name: 'resources/list (no such capability)', body: rpc('resources/list') },
    { name: 'a batch', body: JSON.stringify([JSON.parse(rpc('ping')), JSON.parse(rpc('tools/list', undefined, 2))]) },
    { name: 'not JSON', body: '{"jsonrpc":' },
    { name: 'jsonrpc 1.0', body: JSON.stringify({ jsonrpc: '1.0', id: 1, method: 'ping' }) },
    { name: 'id null', body: rpc('ping', undefined, null) },
    { name: 'id an object', body: rpc('tools/list', undefined, { a: 1 }) },
    { name: 'method not a string', body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 5 }) },
    { name: 'a response posted to the server', body: JSON.stringify({ jsonrpc: '2.0', id: 1, result: {} }) },
    // Headers.
    { name: 'tools/list accepting only JSON', body: rpc('tools/list'), headers: { accept: 'application/json' } },
    { name: 'tools/list accepting only SSE', body: rpc('tools/list'), headers: { accept: 'text/event-stream' } },
    { name: 'tools/call accepting anything', body: call('access_whoami', {}), headers: { accept: '*/*' } },
    { name: 'ping without Accept', body: rpc('ping'), headers: { accept: undefined } },
    { name: 'tools/list as text/plain', body: rpc('tools/list'), headers: { 'content-type': 'text/plain' } },
    { name: 'tools/list with an unsupported protocol version', body: rpc('tools/list'), headers: { 'mcp-protocol-version': '1999-01-01' } },
    { name: 'tools/list with a 2026-07-28 header but no envelope', body: rpc('tools/list'), headers: MODERN },
    // The SDK does not hold a 2025-era request to the 2026-07-28 standard headers: it answers, and so does the fast path.
    { name: 'tools/list with an Mcp-Method header that disagrees', body: rpc('tools/list'), headers: { 'mcp-method': 'ping' }, fast: true },
    // 2026-07-28 requests (per-request envelope): the SDK's.
    { name: 'tools/list, 2026-07-28', body: rpc('tools/list', { _meta: modernMeta }), headers: { ...MODERN, 'mcp-method': 'tools/list' } },
    { name: 'ping, 2026-07-28', body: rpc('ping', { _meta: modernMeta }), headers: { ...MODERN, 'mcp-method': 'ping' } },
    {
      name: 'tools/call access_whoami, 2026-07-28',
      body: rpc('tools/call', { name: 'access_whoami', arguments: {}, _meta: modernMeta }),
      headers: { ...MODERN, 'mcp-method': 'tools/call', 'mcp-name': 'access_whoami' },
    },
    { name: 'server/discover, 2026-07-28', body: rpc('server/discover', { _meta: modernMeta }), headers: { ...MODERN, 'mcp-method': 'server/discover' } },
  ];

  interface Answer {
    status: number;
    /** The JSON-RPC message (JSON body, or the last server-sent event), or the raw text when there is none. */
    message: unknown;
    json: boolean;
    audit: Record<string, unknown> | undefined;
    /** The answer's bytes as they came. */
    raw: string;
  }

  async function send(app: AppProcess, test: Case): Promise<Answer> {
    const { traceparent, traceId } = newTraceparent();
    const headers: Record<string, string | undefined> = {
      host: new URL(app.url).host,
      authorization: `Bearer ${test.token === 'operator' ? operator : reader}`,
      'content-type': 'application/json',
      accept: ACCEPT_BOTH,
      'mcp-protocol-version': '2025-11-25',
      traceparent,
      ...test.headers,
    };
    const sent = Object.fromEntries(Object.entries(headers).filter((entry): entry is [string, string] => entry[1] !== undefined));
    // A connection of its own per request: a socket one answer left in doubt (an event stream's `Connection` header)
    // is never reused for the next one.
    const client = rawClient(app.url, { maxSockets: 1 });
    const response = await client.send({ method: 'POST', path: '/mcp', headers: sent, body: test.body }).finally(() => client.close());
    return {
      status: response.status,
      message: messageOf(response),
      json: String(response.headers['content-type']).startsWith('application/json'),
      audit: await auditOf(app, traceId),
      raw: response.text,
    };
  }

  function messageOf(response: RawResponse): unknown {
    if (response.text === '') return '';
    if (String(response.headers['content-type']).startsWith('text/event-stream')) return sseMessages(response.text).at(-1);
    try {
      return JSON.parse(response.text);
    } catch {
      return response.text;
    }
  }

  /** The request's audit record, from the app's log copy (one JSON line per record), found by its trace id. */
  async function auditOf(app: AppProcess, traceId: string): Promise<Record<string, unknown> | undefined> {
    const find = (): Record<string, unknown> | undefined => {
      for (const line of app.output) {
        if (!line.includes(traceId)) continue;
        const record = (JSON.parse(line) as { audit?: Record<string, unknown> }).audit;
        if (record?.traceId === traceId) return record;
      }
      return undefined;
    };
    // A read's record is written just after its answer, then travels the app's stdout pipe: looked for often (most
    // come within a few milliseconds), for as long as a busy machine may take.
    for (const until = Date.now() + 20_000; Date.now() < until; await new Promise((resolve) => setTimeout(resolve, 25))) {
      const record = find();
      if (record) return record;
    }
    return find();
  }

  // linear: fixed-length hex groups separated by literals: one pass.
  const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;
  // linear: fixed-length digit groups separated by literals: one pass.
  const TIME = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z/g;
  // linear: a literal, then one digit run that stops at the first non-digit.
  const LOOPBACK_ORIGIN = /http:\/\/127\.0\.0\.1:\d+/g;
  /** Per-call ids (correlation and approval ids), times (an approval's expiry) and each app's own origin stand for themselves only. */
  const withoutIds = (value: unknown): unknown =>
    value === undefined ? undefined : JSON.parse(JSON.stringify(value).replace(UUID, '<id>').replace(TIME, '<time>').replace(LOOPBACK_ORIGIN, '<origin>'));

  /** What the audit says about a request, less what differs per call or by framing (the answer's bytes). */
  function auditSays(record: Record<string, unknown> | undefined): unknown {
    if (!record) return undefined;
    const {
      time: _time,
      correlationId: _id,
      durationMs: _ms,
      traceId: _trace,
      writer: _w,
      seq: _s,
      prevHash: _p,
      hash: _h,
      mac: _m,
      keyVersion: _k,
      azureRequestIds,
      responseBody,
      ...rest
    } = record;
    const response = responseBody as { text?: string } | undefined;
    return withoutIds({
      ...rest,
      azureCalls: (azureRequestIds as unknown[] | undefined)?.length ?? 0,
      // A tool call's kept answer is its result, audited by the pipeline on either path; other answers' bytes differ in framing.
      ...(record.jsonRpcMethod === 'tools/call' && response ? { responseBody: response.text } : {}),
    });
  }

  describe('the fast path answers as the SDK does', () => {
    it.each(CASES.map((test) => [test.name, test] as const))('%s', async (_name, test) => {
      const fast = await send(stack.app, test);
      const sdk = await send(sdkApp, test);
      expect({ status: fast.status, message: withoutIds(fast.message) }).toEqual({ status: sdk.status, message: withoutIds(sdk.message) });
      expect(fast.audit).toBeDefined();
      expect(auditSays(fast.audit)).toEqual(auditSays(sdk.audit));
      if (test.fast) {
        // Taken by the fast path: a JSON answer, where the SDK streams one server-sent event.
        expect(fast.json).toBe(true);
        expect(sdk.json).toBe(false);
        // The server's own answers are kept as sent: their start, size and the hash of every byte.
        if (fast.audit?.jsonRpcMethod !== 'tools/call') {
          expect(fast.audit?.responseBody).toEqual({
            text: fast.raw.slice(0, 8 * 1024),
            truncated: fast.raw.length > 8 * 1024,
            bytes: Buffer.byteLength(fast.raw),
            sha256: createHash('sha256').update(fast.raw).digest('hex'),
          });
        }
      } else if (fast.status === 200) {
        expect(fast.json).toBe(sdk.json);
      }
    });

    it('answers tools/list with the same catalogue the SDK lists, per role set', async () => {
      for (const token of ['reader', 'operator'] as const) {
        const test = { name: 'tools/list', body: rpc('tools/list'), token };
        const fast = (await send(stack.app, test)).message as { result: { tools: { name: string }[] } };
        const sdk = (await send(sdkApp, test)).message as { result: { tools: { name: string }[] } };
        expect(fast.result.tools.length).toBeGreaterThan(0);
        expect(fast).toEqual(sdk);
      }
      const readerTools = ((await send(stack.app, { name: '', body: rpc('tools/list') })).message as { result: { tools: unknown[] } }).result.tools;
      const operatorTools = ((await send(stack.app, { name: '', body: rpc('tools/list'), token: 'operator' })).message as { result: { tools: unknown[] } })
        .result.tools;
      // Two role sets, two lists: the precomputed bytes are per role set, not shared.
      expect(operatorTools.length).toBeGreaterThan(readerTools.length);
    });
  });
});
