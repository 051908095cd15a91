import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SANDBOX_AUDIENCE } from '../dev/sandbox-settings.js';
import type { ApprovalStore } from '../shared/approvals/store.js';
import { approvalsTable, BLOB, storedApproval } from './helpers/approvals.js';
import { acquireSharedStack } from './helpers/shared-stack.js';
import type { TestStack } from './helpers/stack.js';
import { pseudonymsOf } from './helpers/pseudonyms.js';
import { callTool } from './helpers/tools.js';
import { auditChain } from './hostile/helpers/audit-chain.js';

/**
 * Revoking approvals in an incident, over HTTP and through the CLI against a real stack: one by id, every unused
 * one (expired, used and decided ones left as they are and reported), the gate refusing a revoked approval under
 * its own rule, and callers without Mcp.Approver refused and audited.
 */
describe('revoking approvals', () => {
  let stack: TestStack;
  let store: ApprovalStore;
  /** How the stored copy names a person. */
  let pseudonym: (oid: string) => string;
  beforeAll(async () => {
    stack = await acquireSharedStack();
    store = await approvalsTable(stack);
    pseudonym = await pseudonymsOf(stack);
  });
  afterAll(async () => stack?.stop());

  const revoke = async (token: string, body: unknown, contentType = 'application/json') => {
    const response = await fetch(`${stack.baseUrl}/approvals/revoke`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': contentType },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const approver = () => stack.token({ roles: ['Mcp.Approver'], oid: randomUUID(), name: 'Duty Officer' });

  it('runs in the normal mode, which /health reports', async () => {
    expect(await (await fetch(`${stack.baseUrl}/health`)).json()).toMatchObject({ status: 'ok', mode: 'open' });
  });

  it('revokes one approved, unused approval by id; the gate then refuses it with approval.revoked (audited)', async () => {
    const operatorOid = randomUUID();
    const operator = await stack.token({ roles: ['Mcp.Operator'], oid: operatorOid });
    const requested = await callTool(stack, operator, 'storage_blob_delete', BLOB);
    expect(requested.status).toBe(428);
    const approvalId = String(requested.error?.approvalId);
    const pending = await store.get(approvalId);
    expect(await store.update(pending!, { status: 'approved', decidedByOid: randomUUID(), decidedAt: new Date().toISOString() })).toBe(true);
    const other = await storedApproval(store, randomUUID());

    const officerOid = randomUUID();
    const result = await revoke(await stack.token({ roles: ['Mcp.Approver'], oid: officerOid }), { id: approvalId });
    expect(result).toEqual({ status: 200, body: { revoked: [approvalId], expired: [], changed: [] } });
    expect(await store.get(approvalId)).toMatchObject({ status: 'revoked', revokedByOid: officerOid });
    expect((await store.get(other.id))?.status).toBe('pending');

    const retry = await callTool(stack, operator, 'storage_blob_delete', { ...BLOB, approvalId });
    expect(retry.status).toBe(403);
    expect(retry.error).toMatchObject({ rule: 'approval.revoked', approvalId });
    expect((await callTool(stack, await stack.token(), 'storage_blob_read', BLOB)).status).toBe(200);

    const records = await auditChain(stack).waitFor((all) => all.some((r) => r.rule === 'approval.revoked' && r.path === '/tools/storage_blob_delete'));
    expect(records.find((r) => r.path === '/approvals/revoke' && r.callerPseudonym === pseudonym(officerOid))).toMatchObject({
      decision: 'allowed',
      rule: 'approval.revoked',
      approvalId,
      httpStatus: 200,
      authenticated: true,
    });
    expect(records.find((r) => r.path === '/tools/storage_blob_delete' && r.rule === 'approval.revoked')).toMatchObject({
      decision: 'denied',
      callerPseudonym: pseudonym(operatorOid),
    });

    // Nothing left to revoke on it; an unknown id is not found.
    expect(await revoke(await approver(), { id: approvalId })).toMatchObject({ status: 409, body: { status: 'revoked' } });
    expect((await revoke(await approver(), { id: randomUUID() })).status).toBe(404);
  });

  it('refuses a caller without Mcp.Approver (403, audited as a denial), and malformed requests', async () => {
    const pending = await storedApproval(store, randomUUID());
    for (const roles of [['Mcp.Operator'], ['Mcp.Reader']]) {
      const oid = randomUUID();
      const result = await revoke(await stack.token({ roles, oid }), { all: true });
      expect(result).toMatchObject({ status: 403, body: { rule: 'approval.revoke-needs-approver' } });
      const records = await auditChain(stack).waitFor((all) => all.some((r) => r.callerPseudonym === pseudonym(oid)));
      expect(records.find((r) => r.callerPseudonym === pseudonym(oid))).toMatchObject({
        path: '/approvals/revoke',
        decision: 'denied',
        rule: 'approval.revoke-needs-approver',
        httpStatus: 403,
      });
    }
    const anonymous = await fetch(`${stack.baseUrl}/approvals/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"all":true}',
    });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Bearer resource_metadata=/);
    const officer = await approver();
    for (const body of [{ all: false }, { id: 'not-an-id' }, { all: true, id: pending.id }, {}]) expect((await revoke(officer, body)).status).toBe(400);
    expect((await revoke(officer, { all: true }, 'text/plain')).status).toBe(415);
    expect((await store.get(pending.id))?.status).toBe('pending');
  });

  it('revokes every unused approval with the CLI, leaving expired, used and decided ones as they are', async () => {
    const someone = randomUUID();
    const pending = await storedApproval(store, someone);
    const approved = await storedApproval(store, randomUUID(), { status: 'approved', decidedByOid: randomUUID(), decidedAt: new Date().toISOString() });
    const expired = await storedApproval(store, someone, { expiresAt: new Date(Date.now() - 60_000).toISOString() });
    const used = await storedApproval(store, someone, { status: 'used', usedAt: new Date().toISOString() });
    const rejected = await storedApproval(store, someone, { status: 'rejected' });

    const dir = mkdtempSync(join(tmpdir(), 'revoke-cli-'));
    const runtime = join(dir, 'runtime.json');
    writeFileSync(
      runtime,
      JSON.stringify({ issuer: stack.sandbox.issuer, tenantId: stack.sandbox.tenantId, audience: SANDBOX_AUDIENCE, mcpUrl: stack.mcpUrl }),
    );
    const env = { ...process.env, SANDBOX_RUNTIME_FILE: runtime, SANDBOX_DATA_DIR: stack.dataDir };
    try {
      const { stdout } = await promisify(execFile)(process.execPath, ['dist/dev/approvals.js', 'revoke', '--all'], { env });
      const report = JSON.parse(stdout) as { revoked: string[]; expired: string[]; changed: unknown[] };
      expect(report.revoked).toEqual(expect.arrayContaining([pending.id, approved.id]));
      expect(report.expired).toContain(expired.id);
      for (const id of [pending.id, approved.id]) expect((await store.get(id))?.status).toBe('revoked');
      expect((await store.get(expired.id))?.status).toBe('pending');
      expect((await store.get(used.id))?.status).toBe('used');
      expect((await store.get(rejected.id))?.status).toBe('rejected');
      // Nothing unused is left, and asking again revokes nothing.
      const again = JSON.parse((await promisify(execFile)(process.execPath, ['dist/dev/approvals.js', 'revoke', '--all'], { env })).stdout) as {
        revoked: string[];
      };
      expect(again.revoked).toEqual([]);

      // One by id, and the refusals the CLI passes on.
      const one = await storedApproval(store, someone);
      const single = JSON.parse(
        (await promisify(execFile)(process.execPath, ['dist/dev/approvals.js', 'revoke', one.id, '--url', stack.baseUrl], { env })).stdout,
      );
      expect(single).toEqual({ revoked: [one.id], expired: [], changed: [] });
      const refused = await promisify(execFile)(process.execPath, ['dist/dev/approvals.js', 'revoke', used.id], { env }).catch(
        (error: { code: number; stderr: string }) => error,
      );
      expect(refused).toMatchObject({ code: 1, stderr: expect.stringContaining(`Revoke refused (HTTP 409): Approval ${used.id} is used`) });
      // Another URL than the sandbox's gets no dev token: it needs AZURE_ACCESS_TOKEN.
      const elsewhere = await promisify(execFile)(process.execPath, ['dist/dev/approvals.js', 'revoke', '--all', '--url', 'https://mcp.example.gov.uk'], {
        env,
      }).catch((error: { code: number; stderr: string }) => error);
      expect(elsewhere).toMatchObject({ code: 2, stderr: expect.stringContaining('AZURE_ACCESS_TOKEN') });
      const usage = await promisify(execFile)(process.execPath, ['dist/dev/approvals.js', 'revoke'], { env }).catch(
        (error: { code: number; stderr: string }) => error,
      );
      expect(usage).toMatchObject({ code: 2, stderr: expect.stringContaining('usage: npm run --silent approvals -- revoke --all') });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    // The revocation's record is not awaited by its answer (it has no risk tier): waited for, then counted.
    const revoked = (r: Record<string, unknown>) => r.path === '/approvals/revoke' && r.rule === 'approval.revoked' && String(r.reason).includes(pending.id);
    const records = await auditChain(stack).waitFor((all) => all.some(revoked));
    expect(records.filter(revoked)).toHaveLength(1);
  });
});
