import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEV_USERS } from '../dev/sandbox/seed.js';
import { approvalsTable, storedApproval } from './helpers/approvals.js';
import { auditChain, type StoredRecord } from './hostile/helpers/audit-chain.js';
import { signInAs, signInFrom } from './helpers/sign-in.js';
import { acquireSharedStackWith } from './helpers/shared-stack.js';
import type { TestStack } from './helpers/stack.js';
import { callTool } from './helpers/tools.js';

describe('step-up', () => {
  /**
   * Step-up: the department policy demands a Conditional Access authentication context (`acrs`) for writes and
   * destructive calls, and another for deciding approvals. A token without it gets Entra's claims challenge; the same
   * caller with a token that carries it is let through; the approval page sends an approver back to sign in with a
   * claims request until the sign-in satisfies it. All over HTTP against the real app and the sandbox issuer.
   */
  const ACCOUNT = { resourceGroup: 'rg-ddr-records-prod-uks', account: 'stddrrecordsprod' };

  let stack: TestStack;

  beforeAll(async () => {
    const seeded = readFileSync('shared/policy/department.yaml', 'utf8');
    const policy = `${seeded}\nstepUp:\n  write: c1\n  destructive: c1\n  approve: c2\n`;
    const file = join(mkdtempSync(join(tmpdir(), 'step-up-policy-')), 'department.yaml');
    writeFileSync(file, policy);
    stack = await acquireSharedStackWith({ MCP_POLICY_FILE: file });
  });
  afterAll(async () => stack?.stop());

  async function mcpCall(token: string, name: string, args: Record<string, unknown>): Promise<Response> {
    return fetch(stack.mcpUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': '2025-06-18',
        authorization: `Bearer ${token}`,
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: args } }),
    });
  }

  /** The claims request inside an Entra-format claims challenge. */
  function claimsOf(challenge: string | null): unknown {
    expect(challenge).toMatch(
      /^Bearer realm="", authorization_uri="https:\/\/[^"]+\/oauth2\/v2\.0\/authorize", resource_metadata="[^"]+", error="insufficient_claims", claims="[A-Za-z0-9+/=]+"/,
    );
    const claims = /claims="([^"]+)"/.exec(challenge ?? '')?.[1] ?? '';
    return JSON.parse(Buffer.from(claims, 'base64').toString('utf8'));
  }

  async function recordOf(match: (record: StoredRecord) => boolean): Promise<StoredRecord | undefined> {
    return (await auditChain(stack).waitFor((records) => records.some(match))).find(match);
  }

  describe('step-up for changes', () => {
    it('POST /mcp: a write without the context gets the claims challenge; with it, the write runs', async () => {
      const without = await stack.token({ roles: ['Mcp.Operator'] });
      const refused = await mcpCall(without, 'storage_container_create', { ...ACCOUNT, container: 'step-up-notes' });
      expect(refused.status).toBe(401);
      expect(claimsOf(refused.headers.get('www-authenticate'))).toEqual({ access_token: { acrs: { essential: true, value: 'c1' } } });
      expect(refused.headers.get('www-authenticate')).toContain(`resource_metadata="${stack.baseUrl}/.well-known/oauth-protected-resource/mcp"`);
      const body = (await refused.json()) as { error: { message: string } };
      expect(body.error.message).toMatch(/storage_container_create is a write tool: .*authentication context 'c1'/);
      const record = await recordOf((r) => r.tool === 'storage_container_create' && r.rule === 'auth.step-up-required');
      expect(record).toMatchObject({ decision: 'denied', outcome: 'denied', risk: 'write', httpStatus: 401 });
      // Nothing ran: the container is not there.
      const listed = await callTool(stack, without, 'storage_container_list', ACCOUNT);
      expect(JSON.stringify(listed.out)).not.toContain('step-up-notes');

      const stepped = await stack.token({ roles: ['Mcp.Operator'], acrs: ['c1'] });
      const allowed = await mcpCall(stepped, 'storage_container_create', { ...ACCOUNT, container: 'step-up-notes' });
      expect(allowed.status).toBe(200);
      expect(await allowed.text()).toContain('"created":true');
    });

    it('POST /tools/{name}: the same challenge, and a context for another tier does not count', async () => {
      const wrong = await stack.token({ roles: ['Mcp.Operator'], acrs: ['c2'] });
      const refused = await callTool(stack, wrong, 'keyvault_key_create', { name: 'cmk-stepup' });
      expect(refused.status).toBe(401);
      expect(refused.error).toMatchObject({ code: 'step_up_required', rule: 'auth.step-up-required', authContext: 'c1' });
      const response = await fetch(`${stack.baseUrl}/tools/keyvault_key_create`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${wrong}` },
        body: JSON.stringify({ name: 'cmk-stepup' }),
      });
      expect(claimsOf(response.headers.get('www-authenticate'))).toEqual({ access_token: { acrs: { essential: true, value: 'c1' } } });
    });

    it('reads need no step-up, and a caller without the role is refused by role, not asked to step up', async () => {
      const reader = await stack.token({ roles: ['Mcp.Reader'] });
      expect((await callTool(stack, reader, 'storage_container_list', ACCOUNT)).status).toBe(200);
      const refused = await mcpCall(reader, 'storage_container_create', { ...ACCOUNT, container: 'reader-notes' });
      expect(refused.status).toBe(200);
      expect(refused.headers.get('www-authenticate')).toBeNull();
      expect(await refused.text()).toContain('forbidden');
    });
  });

  describe('step-up for approving', () => {
    it('the approval page sends a sign-in without the context back with a claims request, and shows the request after it', async () => {
      const store = await approvalsTable(stack);
      const approval = await storedApproval(store, DEV_USERS.engineer.oid);
      const path = `/approvals/${approval.id}`;

      const plain = await signInAs(stack, 'approver', path);
      const sentBack = await fetch(`${stack.baseUrl}${path}`, { headers: { cookie: plain }, redirect: 'manual' });
      expect(sentBack.status).toBe(302);
      const login = sentBack.headers.get('location') ?? '';
      const query = new URL(login, stack.baseUrl).searchParams;
      expect(JSON.parse(query.get('claims') ?? '')).toEqual({ id_token: { acrs: { essential: true, value: 'c2' } } });
      expect(query.get('prompt')).toBe('login');
      const record = await recordOf((r) => r.path === path && r.rule === 'auth.step-up-required');
      expect(record).toMatchObject({ decision: 'denied', authenticated: true });

      // Signing in again through that link: the sandbox sign-in honours the claims request.
      const stepped = await signInFrom(stack, 'approver', login);
      const page = await fetch(`${stack.baseUrl}${path}`, { headers: { cookie: stepped }, redirect: 'manual' });
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('storage_blob_delete');
    });
  });
});
