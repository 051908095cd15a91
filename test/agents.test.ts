import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SANDBOX_AUDIENCE } from '../dev/sandbox-settings.js';
import { BLOB } from './helpers/approvals.js';
import { auditChain } from './hostile/helpers/audit-chain.js';
import { acquireSharedStackWith } from './helpers/shared-stack.js';
import type { TestStack } from './helpers/stack.js';
import { callTool, listedToolNames } from './helpers/tools.js';

describe('agents', () => {
  /**
   * Agents versus people: an agent acting as itself (an app-only token) reads; it changes the estate only where the
   * department policy names its client app, per tier. A person holding the same role through a client app is not
   * limited by that list. Over HTTP against the real app, with tokens from the sandbox issuer.
   */
  const WRITER_AGENT = '7a1c2e3f-4b5d-4e6f-8a9b-0c1d2e3f4a5b';
  const OTHER_AGENT = '3e2d1c0b-9a8f-4e7d-8c6b-5a4f3e2d1c0b';
  const ACCOUNT = { resourceGroup: 'rg-ddr-records-prod-uks', account: 'stddrrecordsprod' };

  let stack: TestStack;

  beforeAll(async () => {
    const seeded = readFileSync('shared/policy/department.yaml', 'utf8');
    // Listed in upper case: client ids are compared without regard to case.
    const policy = `${seeded}\nagents:\n  write: [${WRITER_AGENT.toUpperCase()}]\n`;
    const file = join(mkdtempSync(join(tmpdir(), 'agents-policy-')), 'department.yaml');
    writeFileSync(file, policy);
    stack = await acquireSharedStackWith({ MCP_POLICY_FILE: file });
  });
  afterAll(async () => stack?.stop());

  /** An app-only token, as Entra issues one to an agent's own identity (client credentials): no scp, sub = oid. */
  async function agentToken(clientApp: string, roles: string[]): Promise<string> {
    const oid = randomUUID();
    return stack.sandbox.mintToken({
      audience: SANDBOX_AUDIENCE,
      tenantId: stack.sandbox.tenantId,
      oid,
      subject: oid,
      roles,
      extra: { azp: clientApp, idtyp: 'app' },
    });
  }

  describe('agents acting as themselves', () => {
    it('an agent the policy does not name reads, and is refused every change by the agents rule, with what to do', async () => {
      const token = await agentToken(OTHER_AGENT, ['Mcp.Reader', 'Mcp.Operator']);
      expect((await callTool(stack, token, 'storage_container_list', ACCOUNT)).status).toBe(200);
      const tools = await listedToolNames(stack, token);
      expect(tools).toContain('storage_container_list');
      expect(tools).not.toContain('storage_container_create');
      expect(tools).not.toContain('storage_blob_delete');

      const write = await callTool(stack, token, 'storage_container_create', { ...ACCOUNT, container: 'agent-unlisted' });
      expect(write.status).toBe(403);
      expect(write.error).toMatchObject({ code: 'forbidden', rule: 'agents.read-only-unless-named' });
      expect(write.error?.message).toMatch(/agent acting as itself .* not listed under agents\.write .*ask the platform team to list the agent/);
      const destructive = await callTool(stack, token, 'storage_blob_delete', BLOB);
      expect(destructive.error).toMatchObject({ rule: 'agents.destructive-unless-named' });

      const records = await auditChain(stack).waitFor((all) => all.filter((r) => r.rule?.startsWith('agents.')).length >= 2);
      expect(records.filter((r) => r.rule === 'agents.read-only-unless-named').at(-1)).toMatchObject({ decision: 'denied', tool: 'storage_container_create' });
    });

    it('an agent named for writes writes, but may not request a destructive action', async () => {
      const token = await agentToken(WRITER_AGENT, ['Mcp.Operator']);
      const created = await callTool(stack, token, 'storage_container_create', { ...ACCOUNT, container: 'agent-listed' });
      expect(created.status).toBe(200);
      expect(created.out).toMatchObject({ created: true });
      const destructive = await callTool(stack, token, 'storage_blob_delete', BLOB);
      expect(destructive.status).toBe(403);
      expect(destructive.error).toMatchObject({ rule: 'agents.destructive-unless-named' });
    });

    it('a person with the Operator role is not limited by the agents list', async () => {
      const person = await stack.token({ roles: ['Mcp.Operator'] });
      const created = await callTool(stack, person, 'storage_container_create', { ...ACCOUNT, container: 'person-notes' });
      expect(created.status).toBe(200);
      expect(await listedToolNames(stack, person)).toContain('storage_blob_delete');
    });
  });
});
