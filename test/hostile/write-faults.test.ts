// waits: the hang and lasting-fault columns wait out a deadline per write tool (dev/test.sh runs the files marked so beside the others).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ContainerClient } from '@azure/storage-blob';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTableApprovalStore } from '../../shared/approvals/store.js';
import { TOOL_ERROR_STATUS } from '../../shared/pipeline/errors.js';
import { TOOLS } from '../../shared/tools/registry.js';
import { READ_BACK_TIMEOUT_MS } from '../../shared/tools/confirmed-write.js';
import type { FaultSpec } from '../../dev/sandbox/faults.js';
import type { StateData } from '../../dev/sandbox/model.js';
import { startTestStack, type TestStack } from '../helpers/stack.js';
import { pseudonymsOf } from '../helpers/pseudonyms.js';
import { auditChain, newTraceparent, type StoredRecord } from './helpers/audit-chain.js';
import { TAGS } from './helpers/catalogue.js';
import { findLeak } from './helpers/raw-http.js';

/**
 * The systematic fault matrix for changes: every write tool (and a destructive one, with a human approval) × every
 * fault the twin can inject into the Azure request that makes the change — 429 with Retry-After (once, always),
 * 500 (once, always), a connection reset (once, always) and a hang. For each call: it returns within a bound derived
 * from the deadlines; a failure is a clear error (status, code, a message that says what to do, no stack trace); the
 * estate ends fully changed or fully unchanged (or in the one documented intermediate state); and the call has its
 * audit record with the outcome and error code. (test/faults.test.ts covers read tools and the identity endpoint;
 * test/write-tools.test.ts covers faults in storage_account_create's polls.)
 */
// The app's deadlines here are generous for a busy machine (2 cores shared with other builds and test runs): a
// transient fault's retry must finish well inside them, or a '429 once' cell answers azure_timeout for load alone.
// A hang still has only the deadline to end it, so every bound below still proves the deadline works.
const CALL_MS = 15_000;
const LRO_MS = 20_000;
/**
 * Time beyond the tool's own deadline for reading the target back after a lost answer (its own deadline), the audit
 * record to be stored and the answer to travel, on a busy machine.
 */
const SLACK_MS = 10_000 + READ_BACK_TIMEOUT_MS;
const OPERATOR_OID = 'bbbbbbbb-0000-4000-8000-00000000f417';
const APPROVER_OID = 'dddddddd-0000-4000-8000-00000000a991';

let stack: TestStack;
let operator: string;
let audit: ReturnType<typeof auditChain>;
let storageToken: string;
/** How the stored copy names a person. */
let pseudonym: (oid: string) => string;

beforeAll(async () => {
  stack = await startTestStack({ AZURE_CALL_TIMEOUT_MS: String(CALL_MS), AZURE_LRO_TIMEOUT_MS: String(LRO_MS), AZURE_TOKEN_TIMEOUT_MS: '10000' });
  pseudonym = await pseudonymsOf(stack);
  operator = await stack.token({ roles: ['Mcp.Operator'], oid: OPERATOR_OID, name: 'Fault Operator' });
  audit = auditChain(stack);
  storageToken = await stack.sandbox.mintStorageToken();
  // Warm: the first Key Vault and Resource Manager calls load their SDKs and fetch their tokens, which on a busy
  // machine took most of a deadline inside the first column's cells. The matrix is about faults, not cold starts.
  for (const [tool, args] of [
    ['keyvault_key_get', { name: 'cmk-casework' }],
    ['storage_account_get', { resourceGroup: 'rg-ddr-casework-prod-uks', name: 'stddrcasework' }],
  ] as const) {
    expect((await call(tool, args)).status).toBe(200);
  }
}, 120_000);
afterAll(async () => {
  await stack?.stop();
  // The matrix as it ran: what each tool answered under each fault, and what the estate held afterwards.
  const cells = outcomes.map(
    ({ column, tool, answer, verdict }) =>
      `${column.name.padEnd(12)} ${tool.padEnd(27)} ${String(answer.status)} ${(answer.error?.code ?? 'ok').padEnd(14)} ${verdict.padEnd(10)} ${answer.elapsedMs} ms`,
  );
  if (cells.length > 0) console.log(`write-fault matrix (${cells.length} calls):\n${cells.join('\n')}`);
});

// ---- The fault columns ----------------------------------------------------------------------------------------

interface Column {
  name: string;
  kind: FaultSpec['kind'];
  count: number;
  /** What the SDK's retries make of it: a transient fault ends in success; a lasting one in one of these codes. */
  expect: 'success' | 'either' | readonly string[];
}

const COLUMNS: readonly Column[] = [
  { name: '429 once', kind: '429', count: 1, expect: 'success' },
  { name: '429 always', kind: '429', count: 0, expect: ['throttled', 'azure_timeout'] },
  { name: '500 once', kind: '500', count: 1, expect: 'success' },
  { name: '500 always', kind: '500', count: 0, expect: ['azure_error', 'azure_timeout'] },
  { name: 'reset once', kind: 'reset', count: 1, expect: 'either' },
  { name: 'reset always', kind: 'reset', count: 0, expect: ['azure_error', 'azure_timeout'] },
  { name: 'hang', kind: 'hang', count: 0, expect: ['azure_timeout'] },
];

// ---- The estate as the twin and Azurite hold it ----------------------------------------------------------------

const twinState = () => JSON.parse(readFileSync(join(stack.dataDir, 'state.json'), 'utf8')) as StateData;
const vaultKey = (name: string) => Object.values(Object.values(twinState().vaults)[0]!.keys).find((key) => key.name.toLowerCase() === name.toLowerCase());
const account = async (name: string) => (await stack.admin.storageAccounts()).find((stored) => stored.name === name);
const container = (account: string, name: string) =>
  new ContainerClient(`${stack.sandbox.blobUrl}/${account}/${name}`, {
    getToken: async () => ({ token: storageToken, expiresOnTimestamp: Date.now() + 3_000_000 }),
  });

/** 'done' (the whole change is there), 'untouched' (none of it), or a description of what is half there. */
type Verdict = string;

interface Case {
  tool: string;
  /** The request that makes the change, where the fault goes. */
  fault: Omit<FaultSpec, 'kind' | 'count'>;
  args: (column: string) => Record<string, unknown>;
  /** Deadline of the tool's Azure calls, plus any cleanup it runs with its own deadline after a failure. */
  boundMs: number;
  /** Runs before the fault is set (nothing here may fail). */
  prepare?: (column: string) => Promise<Record<string, unknown>>;
  verdict: (column: string, answer: Answer) => Promise<Verdict>;
  /** A failure's message must say this (on top of the general "what to do" rule). */
  message?: RegExp;
}

const GROUP = 'rg-ddr-newservice-ukw';
const CASES: readonly Case[] = [
  {
    tool: 'group_create',
    fault: { service: 'arm', method: 'PUT', path: `/resourcegroups/${GROUP}` },
    args: (column) => ({ name: GROUP, location: 'ukwest', tags: { ...TAGS, faultColumn: column } }),
    boundMs: CALL_MS,
    async verdict(column) {
      const group = twinState().resourceGroups.find((candidate) => candidate.name.toLowerCase() === GROUP);
      if (!group) return 'untouched';
      return JSON.stringify(group.tags) === JSON.stringify({ ...TAGS, faultColumn: column }) && group.location === 'ukwest'
        ? 'done'
        : `group present with ${JSON.stringify(group)}`;
    },
  },
  {
    tool: 'storage_account_create',
    fault: { service: 'arm', method: 'PUT', path: '/storageaccounts/stddrwfcreate' },
    args: () => ({ resourceGroup: 'rg-ddr-dr-ukw', name: 'stddrwfcreate', location: 'ukwest', tags: TAGS }),
    // The LRO deadline (reading the account back afterwards is in SLACK_MS).
    boundMs: LRO_MS,
    // Throttling is a refusal (nothing was done); a lost answer is settled by reading the account back.
    message: /it was not created|throttling requests/,
    async verdict() {
      const stored = await account('stddrwfcreate');
      if (!stored) return 'untouched';
      const cmk = (stored.encryption as { keySource?: string } | undefined)?.keySource === 'Microsoft.Keyvault';
      return stored.provisioningState === 'Succeeded' && cmk ? 'done' : `account left as ${JSON.stringify(stored)}`;
    },
  },
  {
    tool: 'storage_account_cmk_enable',
    fault: { service: 'arm', method: 'PATCH', path: '/storageaccounts/stddranalyticstest' },
    args: () => ({ resourceGroup: 'rg-ddr-analytics-test-ukw', name: 'stddranalyticstest' }),
    boundMs: CALL_MS,
    async verdict() {
      const encryption = (await account('stddranalyticstest'))?.encryption as { keySource?: string; keyvaultproperties?: { keyname?: string } } | undefined;
      if (encryption?.keySource === 'Microsoft.Keyvault')
        return encryption.keyvaultproperties?.keyname === 'cmk-records' ? 'done' : `CMK without the key: ${JSON.stringify(encryption)}`;
      return encryption?.keyvaultproperties === undefined ? 'untouched' : `platform keys with key properties: ${JSON.stringify(encryption)}`;
    },
  },
  {
    tool: 'storage_container_create',
    // Azurite cannot be faulted; the account check in Resource Manager before the data-plane write can.
    fault: { service: 'arm', method: 'GET', path: '/storageaccounts/stddrcasework' },
    args: (column) => ({ resourceGroup: 'rg-ddr-casework-prod-uks', account: 'stddrcasework', container: slug(column) }),
    boundMs: CALL_MS,
    verdict: async (column) => ((await container('stddrcasework', slug(column)).exists()) ? 'done' : 'untouched'),
  },
  {
    tool: 'storage_blob_upload',
    fault: { service: 'arm', method: 'GET', path: '/storageaccounts/stddrrecordsprod' },
    args: (column) => ({
      resourceGroup: 'rg-ddr-records-prod-uks',
      account: 'stddrrecordsprod',
      container: 'case-files',
      name: `fault-matrix/${slug(column)}.txt`,
      content: `written under ${column}`,
    }),
    boundMs: CALL_MS,
    async verdict(column) {
      const blob = container('stddrrecordsprod', 'case-files').getBlobClient(`fault-matrix/${slug(column)}.txt`);
      if (!(await blob.exists())) return 'untouched';
      const text = (await blob.downloadToBuffer()).toString('utf8');
      return text === `written under ${column}` ? 'done' : `blob holds ${JSON.stringify(text)}`;
    },
  },
  {
    tool: 'keyvault_key_create',
    fault: { service: 'vault', method: 'POST', path: '/keys/cmk-wf-create/create' },
    args: () => ({ name: 'cmk-wf-create' }),
    boundMs: CALL_MS,
    async verdict() {
      const key = vaultKey('cmk-wf-create');
      if (!key) return 'untouched';
      return key.versions.length === 1 && key.versions[0]!.enabled && key.rotationPolicy
        ? 'done'
        : `key left as ${JSON.stringify({ versions: key.versions.length, enabled: key.versions.at(-1)?.enabled, policy: key.rotationPolicy })}`;
    },
  },
  {
    // The second step of key creation: without a rotation policy the new key must not stay usable.
    tool: 'keyvault_key_create',
    fault: { service: 'vault', method: 'PUT', path: '/keys/cmk-wf-policy/rotationpolicy' },
    args: () => ({ name: 'cmk-wf-policy' }),
    // The call deadline, then disabling the key (its own 10 s deadline; the twin answers at once).
    boundMs: CALL_MS + 2_000,
    message: /rotation policy could not be set, so the key was disabled/,
    async verdict(_column, answer) {
      const key = vaultKey('cmk-wf-policy');
      if (!key) return 'untouched';
      if (key.versions.length === 1 && key.versions[0]!.enabled && key.rotationPolicy) return 'done';
      // Documented: created, then disabled because its policy could not be set; the error says so.
      if (key.versions.length === 1 && !key.versions[0]!.enabled && answer.status !== 200) return 'documented';
      return `key left as ${JSON.stringify({ versions: key.versions.length, enabled: key.versions.at(-1)?.enabled, policy: key.rotationPolicy })}`;
    },
  },
  {
    tool: 'keyvault_key_rotate',
    fault: { service: 'vault', method: 'POST', path: '/keys/cmk-casework/rotate' },
    args: () => ({ name: 'cmk-casework' }),
    boundMs: CALL_MS,
    async verdict() {
      const versions = vaultKey('cmk-casework')?.versions.length;
      return versions === SEEDED_CASEWORK_VERSIONS ? 'untouched' : versions === SEEDED_CASEWORK_VERSIONS + 1 ? 'done' : `${versions} versions`;
    },
  },
  {
    // Destructive: approved by a person other than the requester (written to the approvals table as the approval
    // page would), then run once under the fault.
    tool: 'storage_account_delete',
    fault: { service: 'arm', method: 'DELETE', path: '/storageaccounts/stddrwfdelete' },
    args: () => ({ resourceGroup: 'rg-ddr-dr-ukw', name: 'stddrwfdelete' }),
    boundMs: CALL_MS,
    async prepare() {
      const created = await call('storage_account_create', { resourceGroup: 'rg-ddr-dr-ukw', name: 'stddrwfdelete', location: 'ukwest', tags: TAGS });
      expect(created.status).toBe(200);
      const requested = await call('storage_account_delete', { resourceGroup: 'rg-ddr-dr-ukw', name: 'stddrwfdelete' });
      expect(requested.status).toBe(428);
      const approvalId = requested.error!.approvalId as string;
      const store = createTableApprovalStore(stack.sandbox.tableEndpoint, 'approvals', {
        getToken: async () => ({ token: storageToken, expiresOnTimestamp: Date.now() + 3_000_000 }),
      });
      const approval = await store.get(approvalId);
      expect(approval).toMatchObject({ status: 'pending', requesterOid: OPERATOR_OID });
      expect(
        await store.update(approval!, { status: 'approved', decidedByOid: APPROVER_OID, decidedByName: 'Dana Approver', decidedAt: new Date().toISOString() }),
      ).toBe(true);
      return { approvalId };
    },
    verdict: async () => ((await account('stddrwfdelete')) ? 'untouched' : 'done'),
  },
];

const SEEDED_CASEWORK_VERSIONS = 3;
const slug = (column: string) => `fm-${column.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}`;

// ---- Calling ----------------------------------------------------------------------------------------------------

interface Answer {
  status: number;
  retryAfter: string | null;
  text: string;
  elapsedMs: number;
  traceId: string;
  error?: { code: string; message: string; [key: string]: unknown };
}

async function call(tool: string, args: Record<string, unknown>): Promise<Answer> {
  const { traceparent, traceId } = newTraceparent();
  const started = Date.now();
  const response = await fetch(`${stack.baseUrl}/tools/${tool}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${operator}`, traceparent },
    body: JSON.stringify(args),
    // Beyond every bound (the longest: the LRO deadline, two cleanup calls and the slack).
    signal: AbortSignal.timeout(120_000),
  });
  const text = await response.text();
  const body = JSON.parse(text) as { isError?: boolean; content: { text: string }[] };
  return {
    status: response.status,
    retryAfter: response.headers.get('retry-after'),
    text,
    elapsedMs: Date.now() - started,
    traceId,
    ...(body.isError ? { error: (JSON.parse(body.content.at(-1)!.text) as { error: NonNullable<Answer['error']> }).error } : {}),
  };
}

interface Outcome {
  column: Column;
  tool: string;
  answer: Answer;
  verdict: Verdict;
  approvalId?: string;
  /** The same approval id tried again after the fault cleared (destructive only). */
  again?: Answer;
}
const outcomes: Outcome[] = [];

describe('write and destructive tools under injected Azure faults', () => {
  it('covers every write tool and a destructive one', () => {
    const writes = TOOLS.filter((tool) => tool.risk === 'write').map((tool) => tool.name);
    expect(new Set(CASES.map((row) => row.tool))).toEqual(new Set([...writes, 'storage_account_delete']));
  });

  it.each(COLUMNS.map((column) => [column.name, column] as const))(
    '%s: each change ends fully done or fully undone, in bounded time, with a clear answer',
    async (_name, column) => {
      // Each column starts from the seeded estate (Resource Manager and Key Vault), so every change is a real one.
      await stack.admin.clearFaults();
      await stack.admin.reset();
      const prepared = new Map<Case, Record<string, unknown>>();
      for (const row of CASES) if (row.prepare) prepared.set(row, await row.prepare(column.name));
      for (const row of CASES)
        await stack.admin.addFault({ ...row.fault, kind: column.kind, count: column.count, ...(column.kind === '429' ? { retryAfterSeconds: 1 } : {}) });

      // The rows touch disjoint requests, so they run side by side.
      const answers = await Promise.all(CASES.map((row) => call(row.tool, { ...row.args(column.name), ...(prepared.get(row) ?? {}) })));
      await stack.admin.clearFaults();

      const problems: string[] = [];
      for (const [index, row] of CASES.entries()) {
        const answer = answers[index]!;
        const label = `${column.name} × ${row.tool} (${row.fault.method} ${row.fault.path})`;
        const verdict = await row.verdict(column.name, answer);
        const approvalId = prepared.get(row)?.approvalId as string | undefined;
        const outcome: Outcome = { column, tool: row.tool, answer, verdict, ...(approvalId ? { approvalId } : {}) };
        outcomes.push(outcome);
        const bound = row.boundMs + SLACK_MS;
        if (answer.elapsedMs > bound) problems.push(`${label}: answered after ${answer.elapsedMs} ms, beyond ${bound} ms`);
        const leak = findLeak(answer.text, [operator]);
        if (leak) problems.push(`${label}: the answer leaks ${leak}`);
        // Fully done or fully undone — and the answer says which.
        if (answer.status === 200 && verdict !== 'done') problems.push(`${label}: answered 200 but the change is ${verdict}`);
        if (answer.status !== 200 && verdict !== 'untouched' && verdict !== 'documented')
          problems.push(`${label}: answered ${answer.status} (${answer.error?.code}) but the change is ${verdict}`);
        if (column.expect === 'success' && answer.status !== 200)
          problems.push(`${label}: a transient fault should be retried to success, got ${answer.status} ${answer.text.slice(0, 300)}`);
        if (answer.status !== 200) {
          const error = answer.error;
          if (!error) {
            problems.push(`${label}: ${answer.status} without a tool error: ${answer.text.slice(0, 300)}`);
            continue;
          }
          if (Array.isArray(column.expect) && !column.expect.includes(error.code) && !(row.message && error.code === 'azure_error')) {
            problems.push(`${label}: error ${error.code}, expected one of ${column.expect.join(', ')}`);
          }
          if (TOOL_ERROR_STATUS[error.code as keyof typeof TOOL_ERROR_STATUS] !== answer.status)
            problems.push(`${label}: ${error.code} answered with HTTP ${answer.status}`);
          if (!/try again|retry|check|set the policy/i.test(error.message)) problems.push(`${label}: the message does not say what to do: ${error.message}`);
          if (row.message && !row.message.test(error.message)) problems.push(`${label}: the message does not say ${row.message}: ${error.message}`);
          if (/ECONN|socket|127\.0\.0\.1|localhost|https?:\/\//i.test(error.message)) problems.push(`${label}: the message names internals: ${error.message}`);
          if (answer.status === 429 && !answer.retryAfter) problems.push(`${label}: 429 without Retry-After`);
        }
        if (approvalId && answer.status !== 200) {
          if (!/new approval/.test(answer.error?.message ?? ''))
            problems.push(`${label}: the failure does not say the approval is spent and a new one is needed: ${answer.error?.message}`);
          // An approval runs its call at most once: after a failure, the same id is refused and a new approval is needed.
          outcome.again = await call(row.tool, { ...row.args(column.name), approvalId });
          if (outcome.again.status !== 403 || outcome.again.error?.rule !== 'approval.used')
            problems.push(`${label}: the used approval was accepted again: ${outcome.again.text.slice(0, 300)}`);
          if ((await row.verdict(column.name, outcome.again)) !== 'untouched') problems.push(`${label}: the refused retry changed the estate`);
        }
      }
      expect(problems).toEqual([]);
    },
    180_000,
  );

  it('left exactly one audit record per call, with the caller, the outcome and the error code; the chain verifies', async () => {
    expect(outcomes).toHaveLength(COLUMNS.length * CASES.length);
    const calls = outcomes.flatMap((outcome) => [{ outcome, answer: outcome.answer }, ...(outcome.again ? [{ outcome, answer: outcome.again }] : [])]);
    const byTrace = (records: StoredRecord[]) => new Map(records.filter((record) => record.traceId).map((record) => [record.traceId!, record]));
    const records = await audit.waitFor((all) => calls.every(({ answer }) => byTrace(all).has(answer.traceId)));
    const found = byTrace(records);
    const problems: string[] = [];
    for (const { outcome, answer } of calls) {
      const label = `${outcome.column.name} × ${outcome.tool}`;
      const matching = records.filter((record) => record.traceId === answer.traceId);
      if (matching.length !== 1) {
        problems.push(`${label}: ${matching.length} audit records`);
        continue;
      }
      const record = found.get(answer.traceId)!;
      const expected = {
        tool: outcome.tool,
        risk: outcome.tool === 'storage_account_delete' ? 'destructive' : 'write',
        callerPseudonym: pseudonym(OPERATOR_OID),
        httpStatus: answer.status,
        outcome: answer.status === 200 ? 'success' : answer.status === 403 ? 'denied' : 'error',
        errorCode: answer.error?.code,
        ...(outcome.approvalId ? { approvalId: outcome.approvalId } : {}),
        // The run under the fault was allowed (and approved); the retry with the spent id is denied by its rule.
        ...(outcome.approvalId && answer === outcome.answer ? { approverPseudonym: pseudonym(APPROVER_OID), decision: 'allowed' } : {}),
        ...(outcome.approvalId && answer !== outcome.answer ? { decision: 'denied', rule: 'approval.used' } : {}),
      };
      const actual = Object.fromEntries(Object.keys(expected).map((key) => [key, record[key]]));
      if (JSON.stringify(actual) !== JSON.stringify(expected)) problems.push(`${label}: audit ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`);
    }
    expect(problems).toEqual([]);
    const verified = await audit.verify();
    expect(verified.output).toMatch(/^OK: \d+ records in 1 chain\(s\); every chain is intact/);
    expect(verified.code).toBe(0);
  }, 60_000);
});
