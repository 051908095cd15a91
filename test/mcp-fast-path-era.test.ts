import { describe, expect, it } from '@jest/globals';
// Inside the fast-check property, node:assert: jest's expect() builds every matcher and an Error on each call.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { classifyInboundRequest, PROTOCOL_VERSION_META_KEY, SUPPORTED_PROTOCOL_VERSIONS } from '@modelcontextprotocol/server';
import { servedAsLegacy } from '../shared/http/mcp-fast-path.js';

/**
 * The fast path decides from the message and its MCP-Protocol-Version header whether the SDK would serve a request
 * on its 2025-era path, instead of running the SDK's classifier (shared/http/mcp-fast-path.ts `servedAsLegacy`).
 * Here the two are held to each other: on requests built from what the classifier looks at — valid and broken
 * envelopes, ids of every kind, `_meta` with and without the 2026-07-28 claim (any value, even undefined), params
 * that are not objects, response-shaped keys, each version header the fast path takes (none, or a 2025-era one) —
 * the fast path's answer is the classifier's, for each method the fast path takes.
 */
const SEED = Number(process.env.HOSTILE_SEED ?? 11_2026_12);
const HOT = ['ping', 'tools/list', 'tools/call'] as const;

const anyJson = fc.jsonValue({ maxDepth: 2 });
const meta = fc.oneof(
  fc.dictionary(fc.constantFrom('progressToken', 'io.modelcontextprotocol/clientInfo', 'x'), anyJson, { maxKeys: 2 }),
  fc.record({ [PROTOCOL_VERSION_META_KEY]: fc.oneof(fc.constantFrom('2026-07-28', '2025-11-25', '1999-01-01'), anyJson) }),
  anyJson,
);
const params = fc.oneof(
  fc.constant(undefined),
  fc.record({ name: fc.constantFrom('access_whoami', 'group_get'), arguments: fc.dictionary(fc.string(), anyJson, { maxKeys: 2 }) }, { requiredKeys: [] }),
  fc.record({ _meta: meta }),
  fc.record({ name: fc.constant('group_get'), _meta: meta }),
  anyJson,
);
/** Requests as clients send them: the envelope right, params of every kind. */
const wellFormed = fc.record(
  { jsonrpc: fc.constant('2.0'), id: fc.oneof(fc.integer(), fc.string({ maxLength: 8 })), method: fc.constantFrom(...HOT), params },
  { requiredKeys: ['jsonrpc', 'id', 'method'] },
);
/** Broken envelopes: any key missing or mistyped, response-shaped keys, keys no request has. */
const broken = fc.record(
  {
    jsonrpc: fc.constantFrom('2.0', '1.0', 2),
    id: fc.oneof(fc.integer(), fc.string({ maxLength: 8 }), fc.double(), fc.constant(null), fc.constant(undefined)),
    method: fc.constantFrom(...HOT),
    params,
    result: fc.dictionary(fc.string({ maxLength: 4 }), anyJson, { maxKeys: 1 }),
    error: fc.record({ code: fc.integer(), message: fc.string({ maxLength: 8 }) }),
    extra: anyJson,
  },
  { requiredKeys: [] },
);
const message = fc.oneof({ arbitrary: wellFormed, weight: 3 }, { arbitrary: broken, weight: 1 });
/** The headers the fast path takes at all: none, or a 2025-era version it supports (it leaves any other to the SDK). */
const version = fc.option(fc.constantFrom(...SUPPORTED_PROTOCOL_VERSIONS), { nil: null });

describe('the fast path and the SDK agree on which requests are 2025-era', () => {
  it('gives the classifier’s answer on random requests for the methods it takes', () => {
    let legacy = 0;
    let other = 0;
    fc.assert(
      fc.property(message, version, (body, header) => {
        const route = classifyInboundRequest({ httpMethod: 'POST', ...(header !== null && { protocolVersionHeader: header }), body });
        // What the SDK serves on its 2025-era path as a request (a response-shaped body is "legacy" too, but as a
        // response, and a notification as a notification: neither is dispatched to a handler).
        const sdk = route.kind === 'legacy' && route.reason === 'no-claim';
        const ours = servedAsLegacy(body);
        if (ours) legacy += 1;
        else other += 1;
        assert.equal(ours, sdk, JSON.stringify({ body, header, route: route.kind }));
      }),
      { seed: SEED, numRuns: 3_000 },
    );
    // Both answers came up often enough for the comparison to mean something.
    expect(legacy).toBeGreaterThan(100);
    expect(other).toBeGreaterThan(100);
  });

  it('refuses a request with a 2026-07-28 envelope claim, whatever its value, and a response-shaped body', () => {
    const call = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'group_get' } };
    const claimed = { ...call, params: { ...call.params, _meta: { [PROTOCOL_VERSION_META_KEY]: undefined } } };
    expect(servedAsLegacy(call)).toBe(true);
    expect(servedAsLegacy(claimed)).toBe(false);
    expect(classifyInboundRequest({ httpMethod: 'POST', body: claimed }).kind).not.toBe('legacy');
    expect(servedAsLegacy({ ...call, result: {} })).toBe(false);
    expect(classifyInboundRequest({ httpMethod: 'POST', body: { jsonrpc: '2.0', id: 1, result: {} } })).toMatchObject({ kind: 'legacy', reason: 'response' });
  });
});
