// waits: while the pseudonym key cannot be read, calls wait out the store's deadlines (dev/test.sh runs the files marked so beside the others).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ContainerClient } from '@azure/storage-blob';
import { AUDIT_PSEUDONYM_KEY_SECRET_NAME } from '../dev/sandbox/seed.js';
import { SANDBOX_AUDIENCE, SANDBOX_SCOPE } from '../dev/sandbox-settings.js';
import { pseudonymOf } from '../shared/audit/pseudonym.js';
import { approvalsTable, BLOB } from './helpers/approvals.js';
import { waitFor } from './helpers/poll.js';
import { pseudonymKeyOf, pseudonymsOf } from './helpers/pseudonyms.js';
import { startTestStack, type TestStack } from './helpers/stack.js';
import { callTool } from './helpers/tools.js';
import { auditChain } from './hostile/helpers/audit-chain.js';

/**
 * Data protection of the trail, from outside: the tamper-evident store (kept for years, never erased) holds no
 * person — no oid, name or UPN of a caller or approver, in any field, reason or body — only keyed pseudonyms that
 * whoever holds the pseudonym key can recompute; the log and telemetry copies (shorter retention) still name the
 * caller for the SOC; `npm run audit -- pseudonym/search` finds a person's stored records; and without the key the
 * app serves nobody (fail closed, audited), storing nothing.
 */
let stack: TestStack;
let container: ContainerClient;

const PERSON = { oid: '7a1c0b2e-5d4f-4e3a-9b8c-1d2e3f4a5b6c', name: 'Priya Pseudonym', upn: 'priya.pseudonym@ddr.gov.uk' };
const OPERATOR = { oid: 'b2c3d4e5-f6a7-4b8c-9d0e-1f2a3b4c5d6e', name: 'Omar Operator' };
const APPROVER = { oid: 'c3d4e5f6-a7b8-4c9d-8e0f-2a3b4c5d6e7f', name: 'Rita Rejecter' };

beforeAll(async () => {
  // The pseudonym key cannot be read when the app starts (the vault refuses it): the first test lifts that.
  stack = await startTestStack(
    { OTEL_BLRP_SCHEDULE_DELAY: '200', OTEL_BSP_SCHEDULE_DELAY: '200' },
    {
      faults: [{ service: 'vault', path: `/secrets/${AUDIT_PSEUDONYM_KEY_SECRET_NAME}`, kind: '403', count: 0 }],
    },
  );
  const token = await stack.sandbox.mintStorageToken();
  container = new ContainerClient(stack.sandbox.auditContainerUrl, { getToken: async () => ({ token, expiresOnTimestamp: Date.now() + 3_000_000 }) });
}, 60_000);
afterAll(async () => stack?.stop());

/** A person's access token, carrying their name and UPN as Entra's do. */
const tokenFor = (person: { oid: string; name: string; upn?: string }, roles: string[]) =>
  stack.sandbox.mintToken({
    audience: SANDBOX_AUDIENCE,
    tenantId: stack.sandbox.tenantId,
    oid: person.oid,
    name: person.name,
    roles,
    extra: { scp: SANDBOX_SCOPE, ...(person.upn ? { upn: person.upn, preferred_username: person.upn } : {}) },
  });

/** The raw text of every blob in the audit container. */
async function storedText(): Promise<string> {
  const parts: string[] = [];
  for await (const blob of container.listBlobsFlat()) parts.push((await container.getBlobClient(blob.name).downloadToBuffer()).toString('utf8'));
  return parts.join('');
}
const stored = () => auditChain(stack);
const logCopy = () => stack.app.output.filter((line) => line.startsWith('{"audit"')).map((line) => JSON.parse(line).audit as Record<string, any>);

const mcpPost = (token: string, body: unknown) =>
  fetch(stack.mcpUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
const initialize = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'dpia-test', version: '1' } },
};

describe('without the pseudonym key', () => {
  it('stores nothing and refuses changes (as without the audit key), serves reads, and stores what waited once the key can be read', async () => {
    const token = await tokenFor(OPERATOR, ['Mcp.Operator']);
    const read = await callTool(stack, token, 'access_whoami', {});
    expect(read.status).toBe(200);
    await stack.admin.clearRequests();
    const tags = { owner: 'records-team', costCentre: 'CC-1', environment: 'dev', dataClassification: 'OFFICIAL' };
    const write = await callTool(stack, token, 'group_create', { name: 'rg-ddr-records-dev-uks', location: 'uksouth', tags });
    expect(write.status).toBe(503);
    expect(write.error).toMatchObject({ code: 'audit_unavailable', rule: 'audit.store-unavailable' });
    // Nothing was changed in Azure.
    expect((await stack.admin.requests()).some((entry) => entry.service === 'arm' && entry.method !== 'GET')).toBe(false);
    expect((await fetch(`${stack.baseUrl}/health`)).status).toBe(200);
    // The log copy has both records, naming the caller; the store has nothing: no record is stored unpseudonymised.
    const logged = logCopy().filter((record) => record.callerOid === OPERATOR.oid);
    expect(logged.map((record) => record.tool)).toEqual(expect.arrayContaining(['access_whoami', 'group_create']));
    expect(await storedText()).toBe('');

    await stack.admin.clearFaults();
    expect((await callTool(stack, token, 'access_whoami', {})).status).toBe(200);
    // What waited is stored once the key is in hand, pseudonymised.
    const pseudonym = (await pseudonymsOf(stack))(OPERATOR.oid);
    const records = await stored().waitFor((all) => all.filter((record) => record['callerPseudonym'] === pseudonym).length >= 3);
    expect(records.filter((record) => record['callerPseudonym'] === pseudonym).map((record) => record.tool)).toEqual([
      'access_whoami',
      'group_create',
      'access_whoami',
    ]);
    expect(await storedText()).not.toContain(OPERATOR.oid);
  }, 90_000);
});

describe('the stored copy', () => {
  it('holds no oid, name or UPN of the callers and approver, only their pseudonyms; the log and telemetry copies still name them', async () => {
    const person = await tokenFor(PERSON, ['Mcp.Reader']);
    // Calls by the dev person: one whose answer quotes their oid and name, one refused, one through MCP.
    const whoami = await callTool(stack, person, 'access_whoami', {});
    expect(whoami.out).toMatchObject({ oid: PERSON.oid, name: PERSON.name });
    expect((await callTool(stack, person, 'group_create', { name: 'rg-x', location: 'uksouth', tags: {} })).status).toBe(403);
    expect((await mcpPost(person, initialize)).status).toBe(200);

    // A destructive request an approver rejects (the refusal quotes the approver's name), then one they approve.
    const operator = await tokenFor(OPERATOR, ['Mcp.Operator']);
    const store = await approvalsTable(stack);
    const decide = async (status: 'approved' | 'rejected') => {
      const requested = await callTool(stack, operator, 'storage_blob_delete', BLOB);
      expect(requested.status).toBe(428);
      const approvalId = String(requested.error?.approvalId);
      expect(
        await store.update((await store.get(approvalId))!, {
          status,
          decidedByOid: APPROVER.oid,
          decidedByName: APPROVER.name,
          decidedAt: new Date().toISOString(),
        }),
      ).toBe(true);
      return callTool(stack, operator, 'storage_blob_delete', { ...BLOB, approvalId });
    };
    const rejected = await decide('rejected');
    expect(rejected.status).toBe(403);
    expect(rejected.error).toMatchObject({ rule: 'approval.rejected', message: expect.stringContaining(APPROVER.name) });
    expect((await decide('approved')).status).toBe(200);

    const { version, key } = await pseudonymKeyOf(stack);
    const pseudonym = (oid: string) => pseudonymOf(key, oid);
    const records = await stored().waitFor((all) => all.some((record) => record.tool === 'storage_blob_delete' && record.httpStatus === 200));
    const raw = await storedText();
    for (const identifying of [PERSON.oid, PERSON.oid.toUpperCase(), PERSON.name, PERSON.upn, OPERATOR.oid, OPERATOR.name, APPROVER.oid, APPROVER.name]) {
      expect({ identifying, found: raw.includes(identifying) }).toEqual({ identifying, found: false });
    }
    expect(raw).not.toMatch(/"(callerOid|callerName|approverOid|approverName)"/);

    const theirs = records.filter((record) => record.callerPseudonym === pseudonym(PERSON.oid));
    expect(theirs.map((record) => record.tool ?? record.jsonRpcMethod).sort()).toEqual(['access_whoami', 'group_create', 'initialize']);
    for (const record of theirs) expect(record.pseudonymKeyVersion).toBe(version);
    // The answer that quoted them keeps its shape, with the pseudonym and a placeholder, and a keyed digest.
    const answer = theirs.find((record) => record.tool === 'access_whoami')!.responseBody as { text: string; sha256?: string };
    expect(answer.text).toContain(`"oid":"${pseudonym(PERSON.oid)}"`);
    expect(answer.text).toContain('"name":"[person]"');
    expect(answer).toMatchObject({ hmacSha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(answer.sha256).toBeUndefined();
    // The approver, in both approval records; the rejection's reason with the name replaced.
    const refusal = records.find((record) => record.rule === 'approval.rejected')!;
    expect(refusal).toMatchObject({
      callerPseudonym: pseudonym(OPERATOR.oid),
      approverPseudonym: pseudonym(APPROVER.oid),
      reason: 'The approver rejected this request ([person]).',
    });
    expect(records.find((record) => record.tool === 'storage_blob_delete' && record.httpStatus === 200)).toMatchObject({
      approverPseudonym: pseudonym(APPROVER.oid),
      decision: 'allowed',
    });

    // The log copy, and Application Insights, name the caller (and approver) for the SOC.
    const logged = logCopy();
    expect(logged.find((record) => record.tool === 'access_whoami' && record.httpStatus === 200 && record.callerOid === PERSON.oid)).toMatchObject({
      callerName: PERSON.name,
    });
    expect(logged.find((record) => record.rule === 'approval.rejected')).toMatchObject({
      callerOid: OPERATOR.oid,
      approverOid: APPROVER.oid,
      approverName: APPROVER.name,
    });
    expect(logged.some((record) => 'callerPseudonym' in record)).toBe(false);
    const events = await waitFor(
      async () =>
        (await stack.admin.telemetry()).map(
          (envelope) => (envelope as unknown as { data?: { baseData?: { name?: string; properties?: Record<string, string> } } }).data?.baseData,
        ),
      (list) =>
        list.some((event) => event?.name === 'SovereignMcpAudit' && event.properties?.callerOid === PERSON.oid && event.properties?.tool === 'group_create'),
    );
    expect(events.find((event) => event?.properties?.callerOid === PERSON.oid && event.properties?.tool === 'group_create')?.properties).toMatchObject({
      callerName: PERSON.name,
    });

    // The chain is as verifiable as ever.
    const verified = await stored().cli('verify');
    expect(verified.output).toMatch(/^OK: \d+ records/);
    expect(verified.code).toBe(0);
  }, 120_000);

  it('lets whoever holds the key find a person: `audit pseudonym <oid>` prints the stored pseudonym, `audit search <oid>` their records', async () => {
    const { version, key } = await pseudonymKeyOf(stack);
    const printed = await stored().cli('pseudonym', PERSON.oid.toUpperCase());
    expect(printed).toEqual({ code: 0, output: `${pseudonymOf(key, PERSON.oid)} ${version}\n` });

    const found = await stored().cli('search', APPROVER.oid);
    expect(found.code).toBe(0);
    const lines = found.output
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    // The approver is named (by pseudonym) in the rejected call and the approved one.
    expect(lines.map((record) => `${String(record.tool)} ${String(record.httpStatus)}`).sort()).toEqual(['storage_blob_delete 200', 'storage_blob_delete 403']);
    expect(lines.every((record) => record.approverPseudonym === pseudonymOf(key, APPROVER.oid))).toBe(true);

    expect(await stored().cli('pseudonym', 'not-an-oid')).toMatchObject({ code: 2, output: expect.stringContaining('needs an Entra object id') });
  }, 60_000);
});
