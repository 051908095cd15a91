import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { DEV_USERS } from '../dev/sandbox/seed.js';
import { acquireSharedStackWith } from './helpers/shared-stack.js';
import type { TestStack } from './helpers/stack.js';
import { callTool } from './helpers/tools.js';

describe('on-behalf-of', () => {
  /**
   * On-behalf-of mode (AZURE_CALLS_AS=caller): Azure is called with a token Entra issues for the caller, obtained by
   * the app registration with its managed identity's federated credential. The effective rights are the intersection
   * of the app's policy and the person's own Azure RBAC (the twin applies USER_ROLE_ASSIGNMENTS), and Azure's activity
   * log names the person. Over HTTP: the real app, the real OnBehalfOfCredential, the twin's token endpoint.
   */
  const TAGS = { owner: 'casework-team@ddr.gov.uk', costCentre: 'CC-4310', environment: 'test', dataClassification: 'OFFICIAL' };

  let stack: TestStack;

  beforeAll(async () => {
    stack = await acquireSharedStackWith({ AZURE_CALLS_AS: 'caller' });
  });
  afterAll(async () => stack?.stop());

  /** A new token each time (Entra's `uti` differs per token): two minted in the same second would otherwise be one. */
  const tokenFor = (person: keyof typeof DEV_USERS) =>
    stack.token({
      roles: ['Mcp.Reader', 'Mcp.Operator'],
      oid: DEV_USERS[person].oid,
      name: DEV_USERS[person].name,
      extra: { upn: DEV_USERS[person].upn, uti: randomUUID() },
    });

  describe('on behalf of the caller', () => {
    it('a person with Azure rights changes a group they may change, and Azure logs the person, not the app', async () => {
      const engineer = await tokenFor('engineer');
      const updated = await callTool(stack, engineer, 'group_create', { name: 'rg-ddr-casework-test-uks', location: 'uksouth', tags: TAGS });
      expect(updated.status).toBe(200);
      expect(updated.out).toMatchObject({ created: false });
      const log = await callTool(stack, engineer, 'monitor_activity_log_list', { resourceGroup: 'rg-ddr-casework-test-uks', days: 1 });
      expect(log.status).toBe(200);
      // Newest first: the update just made, by the person (the app's identity would appear as its object id).
      const [newest] = log.out.events as { caller?: string }[];
      expect(newest?.caller).toBe(DEV_USERS.engineer.upn);
    });

    it('the app policy allows it, but Azure refuses a group the person holds no write role on', async () => {
      const engineer = await tokenFor('engineer');
      const refused = await callTool(stack, engineer, 'group_create', { name: 'rg-ddr-newservice-ukw', location: 'ukwest', tags: TAGS });
      expect(refused.status).toBe(403);
      expect(refused.error).toMatchObject({ code: 'forbidden', rule: 'azure.forbidden', azureStatus: 403 });
      expect(refused.error?.message).not.toContain('eyJ');
    });

    it('a person with no Azure role is refused by Azure itself, even for reads the policy allows', async () => {
      const operator = await tokenFor('secondOperator');
      const refused = await callTool(stack, operator, 'group_get', { name: 'rg-ddr-records-prod-uks' });
      expect(refused.status).toBe(403);
      expect(refused.error).toMatchObject({ rule: 'azure.forbidden', azureStatus: 403 });
    });

    it("the caller's token is exchanged at Entra's token endpoint; Azure gets only the token Entra issued", async () => {
      await stack.admin.clearRequests();
      const engineer = await tokenFor('engineer');
      expect((await callTool(stack, engineer, 'group_get', { name: 'rg-ddr-records-prod-uks' })).status).toBe(200);
      const requests = await stack.admin.requests();
      const exchange = requests.findIndex(
        (request) => request.service === 'issuer' && request.method === 'POST' && /\/oauth2\/v2\.0\/token$/.test(request.path),
      );
      const read = requests.findIndex((request) => request.service === 'arm' && request.path.toLowerCase().endsWith('/resourcegroups/rg-ddr-records-prod-uks'));
      expect(exchange).toBeGreaterThanOrEqual(0);
      expect(requests[exchange]?.status).toBe(200);
      // Resource Manager accepted the call: it refuses a token for any other audience, the caller's own included.
      expect(read).toBeGreaterThan(exchange);
      expect(requests[read]?.status).toBe(200);
    });
  });
});
