import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { acquireSharedStack, acquireSharedStackWith } from '../helpers/shared-stack.js';
import type { TestStack } from '../helpers/stack.js';
import type { ToolCallResult } from '../helpers/tools.js';
import { auditChain, newTraceparent, type StoredRecord } from './helpers/audit-chain.js';
import { parseDepartmentPolicy, PolicyError } from '../../shared/policy/department-policy.js';
import { TOOLS } from '../../shared/tools/registry.js';
import { isAuditKeyRead } from '../helpers/audit-key-read.js';

/**
 * Protection applies to every change, as an attacker holding an ordinary Operator token would test it: keys tagged
 * protected, keys in a protected vault or group, protected subscriptions, accounts, containers and keys listed in
 * the policy file (in odd case and spelling), deletes of what holds them, and Azure itself refusing the app. Each
 * refusal must name its rule, change nothing in the twin (its request log), and be audited as a denial.
 */
const SUB = 'b2e4c6a8-3d5f-4a7b-8c9e-0f1a2b3c4d5e';
const VAULT = `/subscriptions/${SUB}/resourceGroups/rg-ddr-keys-uks/providers/Microsoft.KeyVault/vaults/kv-ddr-cmk-uks`;
const RECORDS = { resourceGroup: 'rg-ddr-records-prod-uks', account: 'stddrrecordsprod' };
const RECORDS_ACCOUNT = `/subscriptions/${SUB}/resourceGroups/rg-ddr-records-prod-uks/providers/Microsoft.Storage/storageAccounts/stddrrecordsprod`;
const TAGS = { owner: 'platform@ddr.gov.uk', costCentre: 'CC-4000', environment: 'production', dataClassification: 'OFFICIAL' };
const DEFAULT_POLICY = readFileSync('shared/policy/department.yaml', 'utf8');
const WRITE_TOOLS = TOOLS.filter((tool) => tool.risk === 'write').map((tool) => tool.name);
const TOOL_NAMES = TOOLS.map((tool) => tool.name);

/** The default policy with its protected block (up to the next top-level setting) replaced. */
function policyWith(protectedBlock: string): string {
  const start = DEFAULT_POLICY.indexOf('\nprotected:\n');
  const rest = DEFAULT_POLICY.slice(start + 1);
  const end = /\n(?=[A-Za-z])/.exec(rest)?.index;
  if (start < 0 || end === undefined) throw new Error('the default policy no longer has the protected block this test replaces');
  return `${DEFAULT_POLICY.slice(0, start)}\n${protectedBlock}\n${rest.slice(end)}`;
}

function policyFile(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'protection-policy-')), 'department.yaml');
  writeFileSync(file, text);
  return file;
}

/** POST /tools/{tool} with a fresh trace id, so the audit record of exactly this call can be found. */
async function call(stack: TestStack, token: string, tool: string, args: unknown): Promise<ToolCallResult & { traceId: string }> {
  const { traceparent, traceId } = newTraceparent();
  const response = await fetch(`${stack.baseUrl}/tools/${tool}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, traceparent },
    body: JSON.stringify(args),
  });
  const body = (await response.json()) as ToolCallResult['body'];
  return {
    traceId,
    status: response.status,
    retryAfter: response.headers.get('retry-after'),
    body,
    out: body.structuredContent ?? {},
    ...(body.isError ? { error: JSON.parse(body.content.at(-1)!.text).error } : {}),
  };
}

/** The call's record in the tamper-evident audit store. */
async function auditOf(stack: TestStack, traceId: string): Promise<StoredRecord> {
  const records = await auditChain(stack).waitFor((all) => all.some((record) => record.traceId === traceId));
  const record = records.find((entry) => entry.traceId === traceId);
  if (!record) throw new Error(`no audit record for trace ${traceId}`);
  return record;
}

/** Requests that could have changed something in the twin (Resource Manager or Key Vault), since the log was cleared. */
async function changesInTwin(stack: TestStack): Promise<string[]> {
  return (await stack.admin.requests())
    .filter((entry) => (entry.service === 'arm' || entry.service === 'vault') && entry.method !== 'GET' && entry.status !== 401)
    .map((entry) => `${entry.method} ${entry.path} ${entry.status}`);
}

async function azureCalls(stack: TestStack): Promise<string[]> {
  // The app's own read of its audit key is not a call the refused request made.
  return (await stack.admin.requests())
    .filter((entry) => (entry.service === 'arm' || entry.service === 'vault') && !isAuditKeyRead(entry))
    .map((entry) => `${entry.method} ${entry.path}`);
}

/**
 * Waits (bounded) until the app's audit store accepts records, so a loaded machine's slow start is not mistaken
 * for a result: an idempotent write (the existing container 'ingest') that changes nothing.
 */
async function auditStoreReady(stack: TestStack, token: string): Promise<void> {
  const until = Date.now() + 60_000;
  while ((await call(stack, token, 'storage_container_create', { ...RECORDS, container: 'ingest' })).status === 503 && Date.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** A refusal by `rule`, audited as a denial under the same rule. */
async function expectDenied(stack: TestStack, result: Awaited<ReturnType<typeof call>>, rule: string): Promise<void> {
  expect({ status: result.status, rule: result.error?.rule }).toEqual({ status: 403, rule });
  expect(await auditOf(stack, result.traceId)).toMatchObject({ decision: 'denied', rule, outcome: 'denied' });
}

describe('keys under the default policy (vault tagged protected, with an exception for rotation and creation)', () => {
  let stack: TestStack;
  let operator: string;
  beforeAll(async () => {
    stack = await acquireSharedStack();
    operator = await stack.token({ roles: ['Mcp.Operator'], oid: randomUUID() });
    await auditStoreReady(stack, operator);
  });
  afterAll(async () => stack?.stop());

  it('rotates a key in the protected vault under the exception, audited with the exception rule', async () => {
    await stack.admin.clearRequests();
    const rotated = await call(stack, operator, 'keyvault_key_rotate', { name: 'cmk-archive' });
    expect(rotated.status).toBe(200);
    expect(await auditOf(stack, rotated.traceId)).toMatchObject({ decision: 'allowed', rule: 'policy.protected-exception', outcome: 'success' });
    expect((await auditOf(stack, rotated.traceId)).reason).toMatch(/kv-ddr-cmk-uks is tagged protected=true/);
    expect(await changesInTwin(stack)).toEqual([expect.stringMatching(/^POST \/keys\/cmk-archive\/rotate 200$/)]);
  });

  it('refuses to rotate, or re-create, a key tagged protected=true, changing nothing', async () => {
    const name = `cmk-guarded-${randomUUID().slice(0, 8)}`;
    const created = await call(stack, operator, 'keyvault_key_create', { name, tags: { protected: 'true', purpose: 'storage-cmk' } });
    expect(created.status).toBe(200);
    const before = await call(stack, operator, 'keyvault_key_get', { name });

    await stack.admin.clearRequests();
    await expectDenied(stack, await call(stack, operator, 'keyvault_key_rotate', { name }), 'policy.protected-resource');
    // Creating an existing name would add a version to it: refused for the protection, not merely as a conflict.
    await expectDenied(stack, await call(stack, operator, 'keyvault_key_create', { name }), 'policy.protected-resource');
    expect(await changesInTwin(stack)).toEqual([]);
    expect((await call(stack, operator, 'keyvault_key_get', { name })).out).toEqual(before.out);
  });

  it('treats a differently cased protection tag as the same tag (Azure compares tag names case-insensitively)', async () => {
    const name = `cmk-upper-${randomUUID().slice(0, 8)}`;
    expect((await call(stack, operator, 'keyvault_key_create', { name, tags: { PROTECTED: 'TRUE' } })).status).toBe(200);
    await stack.admin.clearRequests();
    await expectDenied(stack, await call(stack, operator, 'keyvault_key_rotate', { name }), 'policy.protected-resource');
    expect(await changesInTwin(stack)).toEqual([]);
  });

  it('audits a Key Vault 403 as a denial by azure.forbidden, and a Resource Manager 403 the same way', async () => {
    await stack.admin.addFault({ service: 'vault', method: 'POST', path: '/keys/cmk-casework/rotate', kind: '403', count: 1 });
    const vault = await call(stack, operator, 'keyvault_key_rotate', { name: 'cmk-casework' });
    expect(vault.error).toMatchObject({ code: 'forbidden', rule: 'azure.forbidden', azureStatus: 403 });
    await expectDenied(stack, vault, 'azure.forbidden');

    const reader = await stack.token({ roles: ['Mcp.Reader'], oid: randomUUID() });
    await stack.admin.addFault({ service: 'arm', method: 'GET', path: '/resourcegroups/rg-ddr-records-dev-uks', kind: '403', count: 1 });
    await expectDenied(stack, await call(stack, reader, 'group_get', { name: 'rg-ddr-records-dev-uks' }), 'azure.forbidden');
    await stack.admin.clearFaults();
  });

  it('names a rule for the data tools refusing a platform-key account, and audits it as a denial', async () => {
    const reader = await stack.token({ roles: ['Mcp.Reader'], oid: randomUUID() });
    const result = await call(stack, reader, 'storage_container_list', { resourceGroup: 'rg-ddr-records-dev-uks', account: 'stddrrecordsdev' });
    await expectDenied(stack, result, 'cmk.platform-managed-keys');
  });
});

describe('a policy that lists a key vault group, an account, a container and a key (in odd spellings)', () => {
  let stack: TestStack;
  let operator: string;
  beforeAll(async () => {
    const policy = policyWith(
      [
        'protected:',
        '  tag: { name: protected, value: "true" }',
        '  resources:',
        // Case, doubled and trailing slashes: the same ids once normalised.
        `    - /SUBSCRIPTIONS/${SUB.toUpperCase()}/resourcegroups/RG-DDR-KEYS-UKS/`,
        `    - ${RECORDS_ACCOUNT.replace('stddrrecordsprod', 'stddrrecordsprod//blobServices/default/containers/CASE-FILES')}`,
        `    - /subscriptions/${SUB}/resourceGroups/rg-ddr-archive-prod-ukw/providers/microsoft.storage/STORAGEACCOUNTS/stddrarchiveprod`,
        `    - ${VAULT}/keys/cmk-records`,
        '  exceptions:',
        '    - tool: keyvault_key_rotate',
        `      resource: ${VAULT}`,
        '      reason: scheduled rotation',
      ].join('\n'),
    );
    stack = await acquireSharedStackWith({ MCP_POLICY_FILE: policyFile(policy) });
    operator = await stack.token({ roles: ['Mcp.Operator'], oid: randomUUID() });
    await auditStoreReady(stack, operator);
  });
  afterAll(async () => stack?.stop());

  it('refuses key creation in the protected group before any Azure call: the rotation exception does not cover it', async () => {
    await stack.admin.clearRequests();
    await expectDenied(stack, await call(stack, operator, 'keyvault_key_create', { name: 'cmk-newservice' }), 'policy.protected-resource');
    expect(await azureCalls(stack)).toEqual([]);
  });

  it('lets the exception rotate a key beneath the protected group, but never a listed key', async () => {
    await stack.admin.clearRequests();
    const rotated = await call(stack, operator, 'keyvault_key_rotate', { name: 'cmk-archive' });
    expect(rotated.status).toBe(200);
    expect(await auditOf(stack, rotated.traceId)).toMatchObject({ decision: 'allowed', rule: 'policy.protected-exception' });
    expect((await auditOf(stack, rotated.traceId)).reason).toMatch(/rg-ddr-keys-uks is listed as protected/);

    await stack.admin.clearRequests();
    await expectDenied(stack, await call(stack, operator, 'keyvault_key_rotate', { name: 'cmk-records' }), 'policy.protected-resource');
    expect(await azureCalls(stack)).toEqual([]);
  });

  it('refuses every change beneath a listed container, before any Azure call, and allows its sibling', async () => {
    await stack.admin.clearRequests();
    await expectDenied(
      stack,
      await call(stack, operator, 'storage_blob_upload', { ...RECORDS, container: 'case-files', name: 'planted.txt', content: 'x' }),
      'policy.protected-resource',
    );
    await expectDenied(stack, await call(stack, operator, 'storage_container_create', { ...RECORDS, container: 'case-files' }), 'policy.protected-resource');
    await expectDenied(
      stack,
      await call(stack, operator, 'storage_blob_delete', { ...RECORDS, container: 'case-files', name: '2024/bulk-export.txt' }),
      'policy.protected-resource',
    );
    expect(await azureCalls(stack)).toEqual([]);
    const sibling = await call(stack, operator, 'storage_blob_upload', { ...RECORDS, container: 'ingest', name: `note-${randomUUID()}.txt`, content: 'fine' });
    expect(sibling.status).toBe(200);
  });

  it('refuses deleting the account or the group that holds a listed container', async () => {
    await stack.admin.clearRequests();
    await expectDenied(
      stack,
      await call(stack, operator, 'storage_account_delete', { resourceGroup: RECORDS.resourceGroup, name: RECORDS.account }),
      'policy.protected-resource',
    );
    await expectDenied(stack, await call(stack, operator, 'group_delete', { name: RECORDS.resourceGroup }), 'policy.protected-resource');
    expect(await azureCalls(stack)).toEqual([]);
  });

  it('refuses every change beneath a listed account', async () => {
    const archive = { resourceGroup: 'rg-ddr-archive-prod-ukw', account: 'stddrarchiveprod' };
    await stack.admin.clearRequests();
    await expectDenied(stack, await call(stack, operator, 'storage_container_create', { ...archive, container: 'planted' }), 'policy.protected-resource');
    await expectDenied(
      stack,
      await call(stack, operator, 'storage_blob_upload', { ...archive, container: 'any', name: 'a.txt', content: 'x' }),
      'policy.protected-resource',
    );
    await expectDenied(
      stack,
      await call(stack, operator, 'storage_account_cmk_enable', { resourceGroup: archive.resourceGroup, name: archive.account }),
      'policy.protected-resource',
    );
    await expectDenied(
      stack,
      await call(stack, operator, 'storage_account_create', { resourceGroup: archive.resourceGroup, name: archive.account, location: 'ukwest', tags: TAGS }),
      'policy.protected-resource',
    );
    expect(await azureCalls(stack)).toEqual([]);
  });
});

describe('a policy that lists the whole subscription', () => {
  let stack: TestStack;
  let operator: string;
  beforeAll(async () => {
    const policy = policyWith(['protected:', '  tag: { name: protected, value: "true" }', '  resources:', `    - /subscriptions/${SUB}`].join('\n'));
    stack = await acquireSharedStackWith({ MCP_POLICY_FILE: policyFile(policy) });
    operator = await stack.token({ roles: ['Mcp.Operator'], oid: randomUUID() });
  });
  afterAll(async () => stack?.stop());

  it('refuses every write and destructive tool on anything in it, before any Azure call; reads still work', async () => {
    const calls: [string, Record<string, unknown>][] = [
      ['group_create', { name: 'rg-ddr-newservice-ukw', location: 'ukwest', tags: TAGS }],
      ['group_delete', { name: 'rg-ddr-records-dev-uks' }],
      ['storage_account_create', { resourceGroup: 'rg-ddr-records-dev-uks', name: 'stddrnew01', location: 'uksouth', tags: TAGS }],
      ['storage_account_cmk_enable', { resourceGroup: 'rg-ddr-records-dev-uks', name: 'stddrrecordsdev' }],
      ['storage_account_delete', { resourceGroup: 'rg-ddr-records-dev-uks', name: 'stddrrecordsdev' }],
      ['storage_container_create', { ...RECORDS, container: 'planted' }],
      ['storage_blob_upload', { ...RECORDS, container: 'ingest', name: 'a.txt', content: 'x' }],
      ['storage_blob_delete', { ...RECORDS, container: 'ingest', name: 'a.txt' }],
      ['keyvault_key_create', { name: 'cmk-newservice' }],
      ['keyvault_key_rotate', { name: 'cmk-archive' }],
    ];
    // Every tool that changes anything is covered here.
    expect(calls.map(([tool]) => tool).sort()).toEqual(
      TOOLS.filter((tool) => tool.risk !== 'read')
        .map((tool) => tool.name)
        .sort(),
    );
    await stack.admin.clearRequests();
    for (const [tool, args] of calls) await expectDenied(stack, await call(stack, operator, tool, args), 'policy.protected-resource');
    expect(await azureCalls(stack)).toEqual([]);
    expect((await call(stack, operator, 'group_get', { name: 'rg-ddr-records-dev-uks' })).status).toBe(200);
  });
});

describe('protected ids the policy cannot enforce are refused at start, with the line', () => {
  const parse = (text: string) => parseDepartmentPolicy(text, 'department.yaml', TOOL_NAMES, WRITE_TOOLS);
  const refusal = (text: string): string => {
    try {
      parse(text);
    } catch (error) {
      expect(error).toBeInstanceOf(PolicyError);
      return (error as Error).message;
    }
    throw new Error('the policy was accepted');
  };
  const lineOf = (text: string, needle: string) => text.split('\n').findIndex((line) => line.includes(needle)) + 1;

  it.each([
    ['a blob (data, not a resource)', `${RECORDS_ACCOUNT}/blobServices/default/containers/ingest/blobs/a.txt`, /blobs, which are data inside a resource/],
    ['a subscription that is not a GUID', '/subscriptions/my-sub/resourceGroups/rg-ddr-identity-uks', /not a subscription id/],
    ['a dot-dot segment', `/subscriptions/${SUB}/resourceGroups/rg-ddr-records-dev-uks/../rg-ddr-identity-uks`, /not an Azure name/],
    ['a relative id', `subscriptions/${SUB}`, /must start with/],
    ['a provider without a resource', `/subscriptions/${SUB}/resourceGroups/rg-ddr-keys-uks/providers/Microsoft.KeyVault`, /must continue \/providers/],
    ['an encoded separator', `/subscriptions/${SUB}/resourceGroups/rg%2Fddr`, /not an Azure name/],
  ])('refuses %s', (_label, id, problem) => {
    const text = policyWith(
      [
        'protected:',
        '  tag: { name: protected, value: "true" }',
        '  resources:',
        `    - /subscriptions/${SUB}/resourceGroups/rg-ddr-identity-uks`,
        `    - ${id}`,
      ].join('\n'),
    );
    const message = refusal(text);
    expect(message).toContain(`line ${lineOf(text, `    - ${id}`)}: protected.resources.1:`);
    expect(message).toMatch(problem);
  });

  it('refuses an exception for a destructive tool, or without a reason, naming the line', () => {
    const text = policyWith(
      [
        'protected:',
        '  tag: { name: protected, value: "true" }',
        '  exceptions:',
        '    - tool: group_delete',
        `      resource: /subscriptions/${SUB}/resourceGroups/rg-ddr-identity-uks`,
        '      reason: tidy up',
        '    - tool: keyvault_key_rotate',
        `      resource: ${VAULT}`,
        "      reason: ' '",
      ].join('\n'),
    );
    const message = refusal(text);
    expect(message).toContain(`line ${lineOf(text, 'tool: group_delete')}: protected.exceptions.0.tool: only these tools can be excepted`);
    expect(message).toContain(`line ${lineOf(text, "reason: ' '")}: protected.exceptions.1.reason: say why`);
  });

  it('refuses a key vault id that is not a vault', () => {
    const text = DEFAULT_POLICY.replace(`  resourceId: ${VAULT}`, `  resourceId: ${RECORDS_ACCOUNT}`);
    expect(refusal(text)).toContain(`line ${lineOf(text, `  resourceId: ${RECORDS_ACCOUNT}`)}: keyVault.resourceId: must be the id of a Key Vault`);
  });

  it('accepts every level it enforces', () => {
    const policy = parse(
      policyWith(
        [
          'protected:',
          '  tag: { name: protected, value: "true" }',
          '  resources:',
          `    - /subscriptions/${SUB}`,
          `    - /subscriptions/${SUB}/resourceGroups/rg-ddr-identity-uks`,
          `    - ${RECORDS_ACCOUNT}`,
          `    - ${RECORDS_ACCOUNT}/blobServices/default/containers/ingest`,
          `    - ${VAULT}/keys/cmk-records`,
        ].join('\n'),
      ),
    );
    expect(policy.protected.resources).toEqual([
      `/subscriptions/${SUB}`,
      `/subscriptions/${SUB}/resourcegroups/rg-ddr-identity-uks`,
      RECORDS_ACCOUNT.toLowerCase(),
      `${RECORDS_ACCOUNT}/blobServices/default/containers/ingest`.toLowerCase(),
      `${VAULT}/keys/cmk-records`.toLowerCase(),
    ]);
  });
});
