import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { POISONED } from '../dev/sandbox/seed.js';
import { approvalsTable, storedApproval, tamperWithApproval } from './helpers/approvals.js';
import { acquireSharedStackWith } from './helpers/shared-stack.js';
import type { TestStack } from './helpers/stack.js';
import { callTool } from './helpers/tools.js';

/**
 * The approval gate over HTTP, for the cases the browser test does not cover: expiry, someone else's approval,
 * unknown ids, protected resources, and a deployment without approvals. (The approve/reject clicks, the once-only
 * retry and tampered arguments are in approval-browser.test.ts.)
 */
const BLOB = { resourceGroup: 'rg-ddr-records-prod-uks', account: 'stddrrecordsprod', container: 'case-files', name: '2025/CASE-10482/metadata.json' };

const call = callTool;

describe('approval gate', () => {
  let stack: TestStack;
  beforeAll(async () => {
    // Approvals expire after 3 s here, so expiry can be seen without waiting half an hour.
    stack = await acquireSharedStackWith({ APPROVAL_TTL_MINUTES: '0.05' });
  });
  afterAll(async () => stack?.stop());

  it('records a pending approval and changes nothing; an expired one is refused', async () => {
    const operator = await stack.token({ roles: ['Mcp.Operator'], oid: randomUUID() });
    const first = await call(stack, operator, 'storage_blob_delete', BLOB);
    expect(first.status).toBe(428);
    expect(first.error).toMatchObject({
      code: 'approval_required',
      approvalId: expect.any(String),
      approvalUrl: expect.stringMatching(/\/\.auth\/login\/aad\?post_login_redirect_uri=%2Fapprovals%2F[0-9a-f-]{36}$/),
    });
    // The answer says when the approval expires (3 s after it was recorded; on a busy machine it may be over by
    // the time the answer arrives): wait until that moment has passed, not for a guessed sleep.
    const expiresAt = Date.parse(String(first.error?.expiresAt));
    expect(expiresAt - Date.now()).toBeLessThanOrEqual(3_000);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, expiresAt - Date.now()) + 50));
    const late = await call(stack, operator, 'storage_blob_delete', { ...BLOB, approvalId: first.error?.approvalId });
    expect(late.status).toBe(403);
    expect(late.error).toMatchObject({ rule: 'approval.expired' });
    const read = await call(stack, await stack.token(), 'storage_blob_read', BLOB);
    expect(read.status).toBe(200);
  });

  it("refuses someone else's approval id, and an unknown one", async () => {
    const requester = await stack.token({ roles: ['Mcp.Operator'], oid: randomUUID() });
    const other = await stack.token({ roles: ['Mcp.Operator'], oid: randomUUID() });
    const { error } = await call(stack, requester, 'storage_blob_delete', BLOB);
    expect((await call(stack, other, 'storage_blob_delete', { ...BLOB, approvalId: error?.approvalId })).error).toMatchObject({
      rule: 'approval.other-requester',
    });
    expect((await call(stack, requester, 'storage_blob_delete', { ...BLOB, approvalId: randomUUID() })).error).toMatchObject({ rule: 'approval.unknown' });
  });

  it('refuses to even request the deletion of a protected resource', async () => {
    const operator = await stack.token({ roles: ['Mcp.Operator'], oid: randomUUID() });
    for (const name of ['rg-ddr-keys-uks', 'rg-ddr-identity-uks']) {
      const result = await call(stack, operator, 'group_delete', { name });
      expect(result.status).toBe(403);
      expect(result.error).toMatchObject({ rule: 'policy.protected-resource' });
    }
  });

  it('refuses to delete a group that holds a protected resource', async () => {
    const operator = await stack.token({ roles: ['Mcp.Operator'], oid: randomUUID() });
    const tags = { owner: 'platform@ddr.gov.uk', costCentre: 'CC-4000', environment: 'test', dataClassification: 'OFFICIAL' };
    expect((await call(stack, operator, 'group_create', { name: 'rg-ddr-newservice-ukw', location: 'ukwest', tags })).status).toBe(200);
    const account = await call(stack, operator, 'storage_account_create', {
      resourceGroup: 'rg-ddr-newservice-ukw',
      name: 'stddrprotectedinside',
      location: 'ukwest',
      tags: { ...tags, protected: 'true' },
    });
    expect(account.status).toBe(200);
    const result = await call(stack, operator, 'group_delete', { name: 'rg-ddr-newservice-ukw' });
    expect(result.status).toBe(403);
    expect(result.error).toMatchObject({ rule: 'policy.protected-resource' });
    expect(result.error?.message).toMatch(/stddrprotectedinside/);
  });

  it('refuses an approval whose stored record was edited into one the app could not have written', async () => {
    const store = await approvalsTable(stack);
    const requesterOid = randomUUID();
    const requester = await stack.token({ roles: ['Mcp.Operator'], oid: requesterOid });
    const tamperings: [Record<string, string>, RegExp][] = [
      [{ status: 'approved-by-everyone' }, /\(status: Invalid option/],
      [{ targets: '["a"' }, /\(targets: is not JSON\)/],
      [{ argsHash: 'anything' }, /\(argsHash: must be a SHA-256 in hex\)/],
      [{ decidedByOid: 'the approver' }, /\(decidedByOid: must be an Entra object id/],
      [{ expiresAt: 'never' }, /\(expiresAt: must be an ISO 8601 UTC time\)/],
    ];
    for (const [columns, problem] of tamperings) {
      // An approved, unexpired approval for exactly this call: only the edited column is wrong.
      const approval = await storedApproval(store, requesterOid, { status: 'approved', decidedByOid: randomUUID(), decidedAt: new Date().toISOString() });
      await tamperWithApproval(stack, approval.id, columns);
      const result = await call(stack, requester, 'storage_blob_delete', { ...BLOB, approvalId: approval.id });
      expect(result.status).toBe(403);
      expect(result.error).toMatchObject({ code: 'forbidden', rule: 'approval.invalid-record', approvalId: approval.id });
      expect(result.error?.message).toMatch(problem);
      expect(result.error?.message).toMatch(/Request a new approval/);
    }
    // Nothing was deleted.
    expect((await call(stack, await stack.token(), 'storage_blob_read', BLOB)).status).toBe(200);
  });

  it('does not let a Reader request a destructive action', async () => {
    const result = await call(stack, await stack.token({ roles: ['Mcp.Reader'] }), 'storage_blob_delete', BLOB);
    expect(result.status).toBe(403);
    expect(result.error).toMatchObject({ rule: 'default-deny' });
  });
});

describe('a deployment without approvals', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await acquireSharedStackWith({ APPROVALS_TABLE_ENDPOINT: '' });
  });
  afterAll(async () => stack?.stop());

  it('refuses destructive tools outright', async () => {
    const operator = await stack.token({ roles: ['Mcp.Operator'] });
    const { account, group, container, name } = POISONED.binaryBlob;
    const result = await call(stack, operator, 'storage_blob_delete', { resourceGroup: group, account, container, name });
    expect(result.status).toBe(403);
    expect(result.error).toMatchObject({ rule: 'approval.not-configured' });
  });
});
