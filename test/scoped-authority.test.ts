import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { auditChain } from './hostile/helpers/audit-chain.js';
import { acquireSharedStackWith } from './helpers/shared-stack.js';
import type { TestStack } from './helpers/stack.js';
import { callTool, listedToolNames } from './helpers/tools.js';

describe('scoped-authority', () => {
  /**
   * Scoped authority: the department policy maps Entra groups (the groups claim) and app roles to the resource
   * groups each may read, change or request deletion in. An Operator of casework cannot touch records; list tools
   * show only what the caller may read; a token whose group list overflowed is refused with how to fix it. Over
   * HTTP against the real app.
   */
  const CASEWORK_TEAM = '5c0a7e21-8d4b-4f3a-9b2c-1e0d9f8a7b6c';
  const RECORDS_TEAM = 'a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d';
  const CASEWORK = { resourceGroup: 'rg-ddr-casework-prod-uks', account: 'stddrcasework' };
  const RECORDS = { resourceGroup: 'rg-ddr-records-prod-uks', account: 'stddrrecordsprod' };

  let stack: TestStack;

  beforeAll(async () => {
    const seeded = readFileSync('shared/policy/department.yaml', 'utf8');
    const scopes = [
      'scopes:',
      `  - group: ${CASEWORK_TEAM.toUpperCase()}`,
      '    read: [rg-ddr-casework-test-uks]',
      '    change: [rg-ddr-casework-prod-uks]',
      `  - group: ${RECORDS_TEAM}`,
      '    read: [rg-ddr-records-prod-uks]',
      '  - role: Mcp.Approver',
      '    read: [rg-ddr-archive-prod-ukw]',
    ].join('\n');
    const file = join(mkdtempSync(join(tmpdir(), 'scoped-policy-')), 'department.yaml');
    writeFileSync(file, `${seeded}\n${scopes}\n`);
    stack = await acquireSharedStackWith({ MCP_POLICY_FILE: file });
  });
  afterAll(async () => stack?.stop());

  describe('an Operator scoped to casework', () => {
    let casework: string;
    beforeAll(async () => {
      casework = await stack.token({ roles: ['Mcp.Operator'], groups: [CASEWORK_TEAM] });
    });

    it('changes casework', async () => {
      const created = await callTool(stack, casework, 'storage_container_create', { ...CASEWORK, container: 'scoped-notes' });
      expect(created.status).toBe(200);
      expect(created.out).toMatchObject({ created: true });
    });

    it('is refused in records, by the scope rule, told what it may do; nothing reaches Azure', async () => {
      await stack.admin.clearRequests();
      const write = await callTool(stack, casework, 'storage_container_create', { ...RECORDS, container: 'scoped-notes' });
      expect(write.status).toBe(403);
      expect(write.error).toMatchObject({ code: 'forbidden', rule: 'scope.change-not-granted' });
      expect(write.error?.message).toBe(
        "'storage_container_create' would change resource group 'rg-ddr-records-prod-uks', which your groups do not grant (the department policy's scopes); you may change rg-ddr-casework-prod-uks.",
      );
      const read = await callTool(stack, casework, 'storage_container_list', RECORDS);
      expect(read.status).toBe(403);
      expect(read.error).toMatchObject({ rule: 'scope.read-not-granted' });
      const arm = (await stack.admin.requests()).filter(
        (request) => request.service === 'arm' && request.path.toLowerCase().includes('rg-ddr-records-prod-uks'),
      );
      expect(arm).toEqual([]);
      const records = await auditChain(stack).waitFor((all) => all.some((r) => r.rule === 'scope.read-not-granted'));
      expect(records.find((r) => r.rule === 'scope.change-not-granted')).toMatchObject({ decision: 'denied', tool: 'storage_container_create' });
    });

    it('sees only the groups it may read in list tools, while tools/list stays per role', async () => {
      const groups = await callTool(stack, casework, 'group_list', {});
      expect(groups.status).toBe(200);
      expect((groups.out.groups as { name: string }[]).map((group) => group.name).sort()).toEqual(['rg-ddr-casework-prod-uks', 'rg-ddr-casework-test-uks']);
      const accounts = await callTool(stack, casework, 'storage_account_list', {});
      const names = JSON.stringify(accounts.out);
      expect(names).toContain('stddrcasework');
      expect(names).not.toContain('stddrrecordsprod');
      const unscoped = await stack.token({ roles: ['Mcp.Operator'] });
      expect(await listedToolNames(stack, casework)).toEqual(await listedToolNames(stack, unscoped));
    });

    it('cannot reach the department vault, in another group, unless granted', async () => {
      const keys = await callTool(stack, casework, 'keyvault_key_list', {});
      expect(keys.status).toBe(403);
      expect(keys.error).toMatchObject({ rule: 'scope.read-not-granted' });
    });
  });

  describe('grants by group and by app role', () => {
    it('a records reader reads records; a caller in no granted group reads nothing', async () => {
      const records = await stack.token({ roles: ['Mcp.Reader'], groups: [RECORDS_TEAM] });
      expect((await callTool(stack, records, 'storage_container_list', RECORDS)).status).toBe(200);
      const nobody = await stack.token({ roles: ['Mcp.Reader'] });
      expect((await callTool(stack, nobody, 'storage_container_list', RECORDS)).error).toMatchObject({ rule: 'scope.read-not-granted' });
      expect((await callTool(stack, nobody, 'group_list', {})).out).toMatchObject({ groups: [] });
    });

    it('an app role grant counts like a group', async () => {
      const reader = await stack.token({ roles: ['Mcp.Reader', 'Mcp.Approver'] });
      expect((await callTool(stack, reader, 'group_get', { name: 'rg-ddr-archive-prod-ukw' })).status).toBe(200);
    });
  });

  describe('groups overage', () => {
    it('a token whose groups Entra could not list is refused with how to fix it, never guessed about', async () => {
      const overflowing = await stack.token({
        roles: ['Mcp.Operator'],
        extra: { _claim_names: { groups: 'src1' }, _claim_sources: { src1: { endpoint: 'https://graph.microsoft.com/v1.0/users/x/getMemberObjects' } } },
      });
      const refused = await callTool(stack, overflowing, 'group_list', {});
      expect(refused.status).toBe(403);
      expect(refused.error).toMatchObject({ rule: 'scope.groups-overage' });
      expect(refused.error?.message).toMatch(/groups overage.*groupMembershipClaims ApplicationGroup/);
    });
  });
});
