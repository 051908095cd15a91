import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { randomUUID } from 'node:crypto';
import type { ApprovalStore } from '../shared/approvals/store.js';
import { csrfToken } from '../shared/approvals/csrf.js';
import { TOOLS } from '../shared/tools/registry.js';
import { acquireSharedStackWith } from './helpers/shared-stack.js';
import type { TestStack } from './helpers/stack.js';
import { callTool } from './helpers/tools.js';
import { approvalsTable, BLOB, storedApproval } from './helpers/approvals.js';
import { auditChain, newTraceparent, type StoredRecord } from './hostile/helpers/audit-chain.js';

/**
 * The duty officer's switch (MCP_EMERGENCY_MODE) over HTTP against real stacks: what each mode lets through and
 * refuses on both entrances, what tools/list offers, what /health reports, the audited rule of each refusal, and
 * the approval page and approved calls while destructive work is suspended.
 */
const TAGS = { owner: 'platform@ddr.gov.uk', costCentre: 'CC-4000', environment: 'test', dataClassification: 'OFFICIAL' };
const READ = { tool: 'storage_blob_read', args: BLOB };

const byRisk = (risk: string) =>
  TOOLS.filter((tool) => tool.risk === risk)
    .map((tool) => tool.name)
    .sort();

async function mcpClient(stack: TestStack, token: string): Promise<Client> {
  const client = new Client({ name: 'emergency-test', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
  await client.connect(new StreamableHTTPClientTransport(new URL(stack.mcpUrl), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
  return client;
}

/** Signs in to the app's pages as an approver, through the platform sign-in as a browser would; returns the session cookie and ID token. */
async function signInAsApprover(stack: TestStack, path: string): Promise<{ cookie: string; idToken: string }> {
  const start = await fetch(`${stack.baseUrl}/.auth/login/aad?${new URLSearchParams({ post_login_redirect_uri: path })}`, { redirect: 'manual' });
  const authorize = new URL(start.headers.get('location') ?? '');
  const idToken = await stack.sandbox.mintToken({
    audience: stack.sandbox.appClientId,
    tenantId: stack.sandbox.tenantId,
    oid: randomUUID(),
    // Entra's subject is pairwise, never the object id (the app refuses an ID token whose sub is its oid).
    subject: randomUUID(),
    name: 'Dana Approver',
    roles: ['Mcp.Approver'],
    extra: { nonce: authorize.searchParams.get('nonce') ?? '', auth_time: Math.floor(Date.now() / 1000) },
  });
  const back = await fetch(authorize.searchParams.get('redirect_uri') ?? '', {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ id_token: idToken, state: authorize.searchParams.get('state') ?? '' }).toString(),
  });
  const cookie = (back.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  expect(cookie).toMatch(/=/);
  return { cookie, idToken };
}

async function health(stack: TestStack): Promise<unknown> {
  const response = await fetch(`${stack.baseUrl}/health`);
  expect(response.status).toBe(200);
  return response.json();
}

async function recordOf(stack: TestStack, match: (record: StoredRecord) => boolean): Promise<StoredRecord | undefined> {
  return (await auditChain(stack).waitFor((records) => records.some(match))).find(match);
}

describe.each([
  { mode: 'read-only', offered: byRisk('read'), refusedWrite: true },
  { mode: 'no-destructive', offered: [...byRisk('read'), ...byRisk('write')].sort(), refusedWrite: false },
])('emergency mode $mode', ({ mode, offered, refusedWrite }) => {
  let stack: TestStack;
  let store: ApprovalStore;
  const rule = `emergency.${mode}`;
  beforeAll(async () => {
    // Typed as a hurried officer might: case and spaces do not matter.
    stack = await acquireSharedStackWith({ MCP_EMERGENCY_MODE: ` ${mode.toUpperCase()} ` });
    store = await approvalsTable(stack);
  });
  afterAll(async () => stack?.stop());

  it('is reported by /health', async () => {
    expect(await health(stack)).toMatchObject({ status: 'ok', mode });
  });

  it('offers in tools/list only what the mode allows', async () => {
    const client = await mcpClient(stack, await stack.token({ roles: ['Mcp.Operator'] }));
    const names = (await client.listTools()).tools.map((tool) => tool.name).sort();
    await client.close();
    expect(names).toEqual(offered);
  });

  it('still runs read tools on both entrances', async () => {
    const reader = await stack.token({ roles: ['Mcp.Reader'] });
    expect((await callTool(stack, reader, READ.tool, READ.args)).status).toBe(200);
    const client = await mcpClient(stack, reader);
    const viaMcp = await client.callTool({ name: READ.tool, arguments: READ.args });
    await client.close();
    expect(viaMcp.isError).toBeFalsy();
  });

  it(`${refusedWrite ? 'refuses' : 'runs'} write tools on both entrances`, async () => {
    const operator = await stack.token({ roles: ['Mcp.Operator'], oid: randomUUID() });
    // The one group in scope that does not exist yet; creating it twice is a no-op the second time.
    const group = { name: 'rg-ddr-newservice-ukw', location: 'ukwest', tags: TAGS };
    const direct = await callTool(stack, operator, 'group_create', group);
    const client = await mcpClient(stack, operator);
    const viaMcp = await client.callTool({ name: 'group_create', arguments: group });
    await client.close();
    if (!refusedWrite) {
      expect(direct.status).toBe(200);
      expect(viaMcp.isError).toBeFalsy();
      return;
    }
    expect(direct.status).toBe(403);
    expect(direct.error).toMatchObject({ code: 'forbidden', rule });
    expect(direct.error?.message).toContain(`the deployment is in emergency mode '${mode}' (MCP_EMERGENCY_MODE)`);
    expect(viaMcp.isError).toBe(true);
    expect(JSON.parse((viaMcp.content as { text: string }[]).at(-1)!.text).error).toMatchObject({ rule });
    const record = await recordOf(stack, (r) => r.tool === 'group_create' && r.path === '/tools/group_create' && r.rule === rule);
    expect(record).toMatchObject({ decision: 'denied', outcome: 'denied', httpStatus: 403 });
    expect(String(record?.reason)).toContain(`emergency mode '${mode}'`);
  });

  it('refuses destructive requests on both entrances, recording no approval', async () => {
    const operator = await stack.token({ roles: ['Mcp.Operator'], oid: randomUUID() });
    const direct = await callTool(stack, operator, 'storage_blob_delete', BLOB);
    expect(direct.status).toBe(403);
    expect(direct.error).toMatchObject({ rule });
    expect(direct.error?.approvalId).toBeUndefined();
    const client = await mcpClient(stack, operator);
    const viaMcp = await client.callTool({ name: 'storage_blob_delete', arguments: BLOB });
    await client.close();
    expect(JSON.parse((viaMcp.content as { text: string }[]).at(-1)!.text).error).toMatchObject({ rule });
    const record = await recordOf(stack, (r) => r.tool === 'storage_blob_delete' && r.path === '/tools/storage_blob_delete' && r.rule === rule);
    expect(record).toMatchObject({ decision: 'denied', risk: 'destructive' });
  });

  it('refuses an approved destructive call, leaving its approval unused', async () => {
    const oid = randomUUID();
    const approval = await storedApproval(store, oid, { status: 'approved', decidedByOid: randomUUID(), decidedAt: new Date().toISOString() });
    const operator = await stack.token({ roles: ['Mcp.Operator'], oid });
    const result = await callTool(stack, operator, 'storage_blob_delete', { ...BLOB, approvalId: approval.id });
    expect(result.status).toBe(403);
    expect(result.error).toMatchObject({ rule });
    expect((await store.get(approval.id))?.status).toBe('approved');
    const reader = await stack.token({ roles: ['Mcp.Reader'] });
    expect((await callTool(stack, reader, READ.tool, READ.args)).status).toBe(200);
  });

  it('will not let the approval page approve a destructive request (audited), though it may reject one', async () => {
    const pending = await storedApproval(store, randomUUID());
    const path = `/approvals/${pending.id}`;
    const { cookie, idToken } = await signInAsApprover(stack, path);
    const decide = (decision: string, id = pending.id) =>
      fetch(`${stack.baseUrl}/approvals/${id}`, {
        method: 'POST',
        redirect: 'manual',
        headers: { cookie, origin: stack.baseUrl, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ csrf: csrfToken(id, idToken), decision }).toString(),
      });
    const page = await fetch(`${stack.baseUrl}${path}`, { redirect: 'manual', headers: { cookie } });
    expect(page.status).toBe(200);
    const approve = await decide('approve');
    expect(approve.status).toBe(403);
    expect(await approve.text()).toContain(`emergency mode &#39;${mode}&#39; (MCP_EMERGENCY_MODE)`);
    expect((await store.get(pending.id))?.status).toBe('pending');
    const record = await recordOf(stack, (r) => r.path === path && r.httpMethod === 'POST' && r.rule === rule);
    expect(record).toMatchObject({ decision: 'denied', approvalId: pending.id, tool: 'storage_blob_delete', httpStatus: 403 });

    const other = await storedApproval(store, randomUUID());
    const second = await signInAsApprover(stack, `/approvals/${other.id}`);
    const reject = await fetch(`${stack.baseUrl}/approvals/${other.id}`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie: second.cookie, origin: stack.baseUrl, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ csrf: csrfToken(other.id, second.idToken), decision: 'reject' }).toString(),
    });
    expect(reject.status).toBe(303);
    expect((await store.get(other.id))?.status).toBe('rejected');
  });
});

describe('emergency mode closed', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await acquireSharedStackWith({ MCP_EMERGENCY_MODE: 'closed' });
  });
  afterAll(async () => stack?.stop());

  it('answers /health, reporting the mode', async () => {
    expect(await health(stack)).toMatchObject({ status: 'ok', mode: 'closed' });
  });

  it('refuses /mcp with a JSON-RPC error, HTTP 503 and Retry-After, before the token or body is looked at', async () => {
    const operator = await stack.token({ roles: ['Mcp.Operator'] });
    for (const [init, label] of [
      [
        {
          method: 'POST',
          headers: { authorization: `Bearer ${operator}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
          body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
        },
        'tools/list',
      ],
      [{ method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }, 'anonymous'],
      [{ method: 'GET' }, 'GET'],
    ] as const) {
      const response = await fetch(stack.mcpUrl, init);
      expect([label, response.status]).toEqual([label, 503]);
      expect(response.headers.get('retry-after')).toBe('300');
      const body = (await response.json()) as { jsonrpc: string; error: { code: number; message: string } };
      expect(body).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32000 } });
      expect(body.error.message).toContain("the deployment is in emergency mode 'closed' (MCP_EMERGENCY_MODE)");
    }
    const client = new Client({ name: 'emergency-test', version: '1.0.0' });
    await expect(
      client.connect(new StreamableHTTPClientTransport(new URL(stack.mcpUrl), { requestInit: { headers: { authorization: `Bearer ${operator}` } } })),
    ).rejects.toThrow();
  });

  it('refuses the tool routes, the manifest, the metadata and the approval pages, each with 503 and Retry-After', async () => {
    const reader = await stack.token({ roles: ['Mcp.Reader'] });
    const requests: [string, RequestInit][] = [
      [
        '/tools/storage_blob_read',
        { method: 'POST', headers: { authorization: `Bearer ${reader}`, 'content-type': 'application/json' }, body: JSON.stringify(BLOB) },
      ],
      ['/tools/access_whoami', { method: 'POST', headers: { authorization: `Bearer ${reader}`, 'content-type': 'application/json' }, body: '{}' }],
      ['/tools/manifest', { headers: { authorization: `Bearer ${reader}` } }],
      ['/.well-known/oauth-protected-resource', {}],
      ['/.well-known/oauth-protected-resource/mcp', {}],
      [`/approvals/${randomUUID()}`, {}],
    ];
    // Each request carries a trace id of its own: its record is found by it (other apps on the sandbox record the
    // same paths).
    const traced = requests.map(([path, init]) => ({ path, init, ...newTraceparent() }));
    for (const { path, init, traceparent } of traced) {
      const response = await fetch(`${stack.baseUrl}${path}`, { ...init, headers: { ...init.headers, traceparent }, redirect: 'manual' });
      expect([path, response.status, response.headers.get('retry-after')]).toEqual([path, 503, '300']);
      expect(await response.text()).toMatch(/emergency mode (&#39;|')closed(&#39;|')/);
    }
    const records = await auditChain(stack).waitFor((all) => traced.every(({ traceId }) => all.some((r) => r.traceId === traceId)));
    const recordOfRequest = (traceId: string) => records.find((r) => r.traceId === traceId);
    for (const { path, traceId } of traced) {
      expect(recordOfRequest(traceId)).toMatchObject({ path, decision: 'denied', rule: 'emergency.closed', httpStatus: 503 });
    }
    const whoami = traced.find(({ path }) => path === '/tools/access_whoami')!;
    expect(String(recordOfRequest(whoami.traceId)?.reason)).toContain("emergency mode 'closed'");
  });

  it('still lets an approver revoke approvals', async () => {
    const store = await approvalsTable(stack);
    const pending = await storedApproval(store, randomUUID());
    const approver = await stack.token({ roles: ['Mcp.Approver'], oid: randomUUID() });
    const response = await fetch(`${stack.baseUrl}/approvals/revoke`, {
      method: 'POST',
      headers: { authorization: `Bearer ${approver}`, 'content-type': 'application/json' },
      body: JSON.stringify({ all: true }),
    });
    expect(response.status).toBe(200);
    // Every unused approval on the sandbox is revoked, this one among them (earlier modes' apps stored others).
    expect(((await response.json()) as { revoked: string[] }).revoked).toContain(pending.id);
    expect((await store.get(pending.id))?.status).toBe('revoked');
  });
});
