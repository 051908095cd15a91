// waits: its hung Azure calls each wait out a deadline (dev/test.sh runs the files marked so beside the others).
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestStack, type TestStack } from './helpers/stack.js';

/**
 * Reliability against Azure misbehaving, injected at the twin: the real SDK retry policy and our deadlines are
 * what is under test.
 */
let stack: TestStack;
let token: string;
// Deadlines generous for a busy machine (2 cores shared with other builds and test runs), so a retried fault ends
// in the outcome under test and not in a timeout caused by load; a hang still has only the deadline to end it.
const CALL_MS = 12_000;
/** Time beyond a deadline for the answer to be made and travel, on a busy machine. */
const SLACK_MS = 10_000;

beforeAll(async () => {
  stack = await startTestStack({ AZURE_CALL_TIMEOUT_MS: String(CALL_MS), AZURE_TOKEN_TIMEOUT_MS: '10000' });
  token = await stack.token();
});
afterEach(async () => stack.admin.clearFaults());
afterAll(async () => stack?.stop());

async function call(name: string, args: unknown) {
  const started = Date.now();
  const response = await fetch(`${stack.baseUrl}/tools/${name}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(args),
  });
  const body = (await response.json()) as { isError?: boolean; content: { text: string }[]; structuredContent?: Record<string, unknown> };
  return { status: response.status, body, elapsedMs: Date.now() - started, error: body.isError ? JSON.parse(body.content[0]!.text).error : undefined };
}

describe('injected Azure faults', () => {
  it('retries a 429 with Retry-After and succeeds', async () => {
    await stack.admin.clearRequests();
    await stack.admin.addFault({ service: 'arm', method: 'GET', path: '/resourcegroups/rg-ddr-dr-ukw', kind: '429', retryAfterSeconds: 1, count: 1 });
    const result = await call('group_get', { name: 'rg-ddr-dr-ukw' });
    expect(result.status).toBe(200);
    expect(result.body.structuredContent).toMatchObject({ name: 'rg-ddr-dr-ukw' });
    const hits = (await stack.admin.requests()).filter((entry) => entry.path.toLowerCase().endsWith('/resourcegroups/rg-ddr-dr-ukw'));
    expect(hits.map((entry) => entry.status)).toEqual([429, 200]);
  });

  it('retries a transient 500 and succeeds', async () => {
    await stack.admin.addFault({ service: 'arm', path: '/storageaccounts/stddrcasework', kind: '500', count: 1 });
    const result = await call('storage_account_get', { resourceGroup: 'rg-ddr-casework-prod-uks', name: 'stddrcasework' });
    expect(result.status).toBe(200);
  });

  it('ends a hung Azure call with a clear, bounded timeout error', async () => {
    await stack.admin.addFault({ service: 'arm', path: '/resourcegroups/rg-ddr-web-prod-uks', kind: 'hang', count: 0 });
    const result = await call('group_get', { name: 'rg-ddr-web-prod-uks' });
    expect(result.status).toBe(504);
    expect(result.error).toMatchObject({ code: 'azure_timeout' });
    expect(result.error.message).toMatch(/did not answer within 12 s/);
    expect(result.elapsedMs).toBeGreaterThanOrEqual(CALL_MS);
    expect(result.elapsedMs).toBeLessThan(CALL_MS + SLACK_MS);
  }, 60_000);

  it('gives up on a persistent 429 with a throttled error and the retry hint', async () => {
    await stack.admin.addFault({ service: 'vault', path: '/keys/cmk-casework', kind: '429', retryAfterSeconds: 1, count: 0 });
    const result = await call('keyvault_key_get', { name: 'cmk-casework' });
    expect(result.status).toBe(429);
    expect(result.error.code).toBe('throttled');
  });

  it('maps a connection reset that persists to a clear Azure error, never a crash', async () => {
    await stack.admin.addFault({ service: 'arm', path: '/resourcegroups/rg-ddr-monitoring-uks', kind: 'reset', count: 0 });
    const result = await call('group_get', { name: 'rg-ddr-monitoring-uks' });
    expect([502, 504]).toContain(result.status);
    expect(result.error.message).not.toMatch(/127\.0\.0\.1|ECONNRESET|at .*\.js/);
  });
});

describe('a fresh app whose dependencies misbehave', () => {
  let fresh: TestStack;
  const identityHangs = { service: 'identity', kind: 'hang', count: 0 } as const;
  const TOKEN_MS = 1_500;
  beforeAll(async () => {
    // Misbehaving from the start, so what the app fetches in the background as it starts (the issuer's keys, a
    // Resource Manager token) fails too, and the first calls must cope on their own.
    fresh = await startTestStack(
      { AZURE_TOKEN_TIMEOUT_MS: String(TOKEN_MS), AZURE_CALL_TIMEOUT_MS: '20000' },
      { faults: [identityHangs, { service: 'issuer', path: 'discovery/v2.0/keys', kind: '500', count: 0 }] },
    );
  });
  afterAll(async () => fresh?.stop());

  it('answers 503, not 401, while the token issuer keys cannot be fetched, and runs nothing', async () => {
    // The start-up token prefetch hangs until its deadline and is logged when it gives up: let it end first, so
    // what is logged below is only what this request caused. Polled: a busy machine can be slow to start it.
    while (!(await fresh.admin.requests()).some((entry) => entry.service === 'identity')) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await fresh.admin.clearRequests();
    const response = await fetch(`${fresh.baseUrl}/tools/group_list`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await fresh.token()}` },
      body: '{}',
    });
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('5');
    // Nothing of the tool ran. What the audit store does meanwhile is its own: it keeps trying to fetch its keys
    // (Key Vault's challenge, then a token that hangs) for the records of start-up and of this very refusal.
    const auditStoreOwn = (entry: { service: string; path: string }) =>
      entry.service === 'identity' || (entry.service === 'vault' && entry.path.startsWith('/secrets/audit-'));
    expect((await fresh.admin.requests()).filter((entry) => entry.service !== 'issuer' && !auditStoreOwn(entry))).toEqual([]);
  }, 60_000);

  it('fails the call within the token deadline with a message naming the identity', async () => {
    // The issuer's keys can be fetched again; the identity endpoint still never answers.
    await fresh.admin.clearFaults();
    await fresh.admin.addFault(identityHangs);
    const started = Date.now();
    const response = await fetch(`${fresh.baseUrl}/tools/group_list`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await fresh.token()}` },
      body: '{}',
    });
    expect(response.status).toBe(503);
    const error = JSON.parse(((await response.json()) as { content: { text: string }[] }).content[0]!.text).error;
    expect(error.code).toBe('identity_unavailable');
    expect(error.message).toMatch(/managed identity did not issue a token within 1500 ms/);
    expect(Date.now() - started).toBeLessThan(TOKEN_MS + SLACK_MS);
  }, 60_000);
});
