// waits: its hung writes each wait out a deadline (dev/test.sh runs the files marked so beside the others).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FaultSpec } from '../../dev/sandbox/faults.js';
import type { StateData } from '../../dev/sandbox/model.js';
import { AUDIT_STORED_WAIT_MS } from '../../shared/config/deadlines.js';
import { READ_BACK_TIMEOUT_MS } from '../../shared/tools/confirmed-write.js';
import { startTestStack, type TestStack } from '../helpers/stack.js';
import { callTool, type ToolCallResult } from '../helpers/tools.js';
import { TAGS } from './helpers/catalogue.js';

/**
 * Writes whose answer is lost after Azure carried them out (the twin's `hang-after` and `reset-after` faults: the
 * change lands, the answer never comes) and writes that never landed (`hang`, `reset` before the twin acts): every
 * write tool reads its target back before answering, so the caller hears "done, although Azure answered late"
 * exactly when the change is there, and otherwise a precise "not done — check X before retrying". The estate is
 * judged from the twin's own state. (Blob and container writes go to Azurite, which cannot be faulted; their
 * read-back runs in the same helper.)
 */
const CALL_MS = 6_000;
const LRO_MS = 8_000;
/**
 * The tool's deadline, its read-back's own deadline, the wait for the change's audit record to be stored (a change's
 * answer waits for it, up to AUDIT_STORED_WAIT_MS), and time for the answer to travel.
 */
const bound = (deadlineMs: number) => deadlineMs + READ_BACK_TIMEOUT_MS + AUDIT_STORED_WAIT_MS + 3_000;

let stack: TestStack;
let operator: string;

beforeAll(async () => {
  stack = await startTestStack({ AZURE_CALL_TIMEOUT_MS: String(CALL_MS), AZURE_LRO_TIMEOUT_MS: String(LRO_MS) });
  operator = await stack.token({ roles: ['Mcp.Operator'], oid: 'bbbbbbbb-0000-4000-8000-0000000a1e7e', name: 'Late Operator' });
  // Writes wait for the audit store to accept records; on a busy machine its first appends can take a while.
  for (let attempt = 0; attempt < 30; attempt += 1) {
    if ((await callTool(stack, operator, 'group_create', { name: 'rg-ddr-newservice-ukw', location: 'ukwest', tags: TAGS })).status !== 503) break;
  }
}, 180_000);
afterAll(async () => stack?.stop());

const twinState = () => JSON.parse(readFileSync(join(stack.dataDir, 'state.json'), 'utf8')) as StateData;
const vaultKey = (name: string) => Object.values(Object.values(twinState().vaults)[0]!.keys).find((key) => key.name.toLowerCase() === name.toLowerCase());
const account = async (name: string) => (await stack.admin.storageAccounts()).find((stored) => stored.name === name);
const group = (name: string) => twinState().resourceGroups.find((candidate) => candidate.name.toLowerCase() === name);

interface Row {
  tool: string;
  fault: Omit<FaultSpec, 'kind' | 'count'>;
  args: Record<string, unknown>;
  deadlineMs: number;
  /** Whether the whole change is in the estate now. */
  done(): Promise<boolean>;
}

const SEEDED_CASEWORK_VERSIONS = 3;
/** One enabled version with a rotation policy: the whole of keyvault_key_create's change. */
const keyMadeWithPolicy = (name: string) => {
  const key = vaultKey(name);
  return key?.versions.length === 1 && key.versions[0]!.enabled && key.rotationPolicy !== undefined;
};
const ROWS: readonly Row[] = [
  {
    tool: 'group_create',
    fault: { service: 'arm', method: 'PUT', path: '/resourcegroups/rg-ddr-newservice-ukw' },
    args: { name: 'rg-ddr-newservice-ukw', location: 'ukwest', tags: TAGS },
    deadlineMs: CALL_MS,
    done: async () => JSON.stringify(group('rg-ddr-newservice-ukw')?.tags) === JSON.stringify(TAGS),
  },
  {
    tool: 'storage_account_create',
    fault: { service: 'arm', method: 'PUT', path: '/storageaccounts/stddruolate' },
    args: { resourceGroup: 'rg-ddr-dr-ukw', name: 'stddruolate', location: 'ukwest', tags: TAGS },
    deadlineMs: LRO_MS,
    async done() {
      const stored = await account('stddruolate');
      return stored?.provisioningState === 'Succeeded' && (stored.encryption as { keySource?: string }).keySource === 'Microsoft.Keyvault';
    },
  },
  {
    tool: 'storage_account_cmk_enable',
    fault: { service: 'arm', method: 'PATCH', path: '/storageaccounts/stddranalyticstest' },
    args: { resourceGroup: 'rg-ddr-analytics-test-ukw', name: 'stddranalyticstest' },
    deadlineMs: CALL_MS,
    done: async () => ((await account('stddranalyticstest'))?.encryption as { keySource?: string } | undefined)?.keySource === 'Microsoft.Keyvault',
  },
  {
    tool: 'keyvault_key_create',
    fault: { service: 'vault', method: 'POST', path: '/keys/cmk-uo-create/create' },
    args: { name: 'cmk-uo-create' },
    deadlineMs: CALL_MS,
    done: async () => keyMadeWithPolicy('cmk-uo-create'),
  },
  {
    // The second write of key creation: the rotation policy lands, its answer does not come.
    tool: 'keyvault_key_create',
    fault: { service: 'vault', method: 'PUT', path: '/keys/cmk-uo-policy/rotationpolicy' },
    args: { name: 'cmk-uo-policy' },
    deadlineMs: CALL_MS,
    done: async () => keyMadeWithPolicy('cmk-uo-policy'),
  },
  {
    tool: 'keyvault_key_rotate',
    fault: { service: 'vault', method: 'POST', path: '/keys/cmk-casework/rotate' },
    args: { name: 'cmk-casework' },
    deadlineMs: CALL_MS,
    done: async () => vaultKey('cmk-casework')?.versions.length === SEEDED_CASEWORK_VERSIONS + 1,
  },
];

async function timed(tool: string, args: Record<string, unknown>): Promise<ToolCallResult & { elapsedMs: number }> {
  const started = Date.now();
  const result = await callTool(stack, operator, tool, args);
  return { ...result, elapsedMs: Date.now() - started };
}

async function runUnder(kind: FaultSpec['kind'], count: number, rows: readonly Row[]) {
  await stack.admin.clearFaults();
  await stack.admin.reset();
  for (const row of rows) await stack.admin.addFault({ ...row.fault, kind, count });
  const answers = await Promise.all(rows.map((row) => timed(row.tool, row.args)));
  await stack.admin.clearFaults();
  return answers;
}

describe('a write whose answer is lost after Azure carried it out', () => {
  it('hang-after: every write tool reads back, finds the change, and answers success saying Azure answered late', async () => {
    const answers = await runUnder('hang-after', 1, ROWS);
    const problems: string[] = [];
    for (const [index, row] of ROWS.entries()) {
      const answer = answers[index]!;
      const label = `${row.tool} (${row.fault.method} ${row.fault.path})`;
      if (answer.status !== 200) problems.push(`${label}: answered ${answer.status} ${answer.error?.code}: ${answer.error?.message}`);
      const notes = answer.out.serverNotes as string[] | undefined;
      if (!notes?.some((note) => /Azure answered late .* a read afterwards shows the change was made/.test(note)))
        problems.push(`${label}: no late-answer note: ${JSON.stringify(notes)}`);
      if (!answer.body.content[0]!.text.includes('Azure answered late')) problems.push(`${label}: the text does not say Azure answered late`);
      if (!(await row.done())) problems.push(`${label}: answered success but the change is not (fully) there`);
      if (answer.elapsedMs > bound(row.deadlineMs)) problems.push(`${label}: took ${answer.elapsedMs} ms, beyond ${bound(row.deadlineMs)} ms`);
    }
    expect(problems).toEqual([]);
  }, 90_000);

  it('reset-after on idempotent Resource Manager writes: the change is reported done, and it is', async () => {
    const rows = ROWS.filter((row) => row.fault.service === 'arm');
    const answers = await runUnder('reset-after', 1, rows);
    const problems: string[] = [];
    for (const [index, row] of rows.entries()) {
      const answer = answers[index]!;
      if (answer.status !== 200) problems.push(`${row.tool}: answered ${answer.status} ${answer.error?.code}: ${answer.error?.message}`);
      if (!(await row.done())) problems.push(`${row.tool}: answered success but the change is not there`);
    }
    expect(problems).toEqual([]);
  }, 90_000);
});

describe('a write that never landed', () => {
  // The SDK retries resets and 500s; when its retries outlast the deadline, the call ends as a timeout instead.
  const TIMED_OUT = /^Azure did not answer in time/;
  it.each<[FaultSpec['kind'], number, RegExp]>([
    ['hang', 0, TIMED_OUT],
    ['reset', 0, /^The connection to Azure dropped before it answered/],
    ['500', 0, /^Azure answered with a server error \(HTTP 500\) after retries/],
  ])(
    '%s: the answer says what the read-back found and what to check before retrying; nothing changed',
    async (kind, count, cause) => {
      const answers = await runUnder(kind, count, ROWS);
      const problems: string[] = [];
      for (const [index, row] of ROWS.entries()) {
        const answer = answers[index]!;
        const label = `${kind} × ${row.tool} (${row.fault.method} ${row.fault.path})`;
        // The rotation-policy row is the second step: its key exists and is disabled, as documented.
        if (row.fault.path?.endsWith('/rotationpolicy') && /rotation policy could not be set, so the key was disabled/.test(answer.error?.message ?? ''))
          continue;
        const message = answer.error?.message ?? '';
        const timedOut = TIMED_OUT.test(message);
        if (answer.error?.code !== (timedOut ? 'azure_timeout' : 'azure_error'))
          problems.push(`${label}: answered ${answer.status} ${answer.error?.code}: ${message}`);
        if (!cause.test(message) && !timedOut) problems.push(`${label}: the message does not say what happened: ${message}`);
        if (!/A read afterwards shows .*(not created|not changed|not rotated|without the tags)/.test(message))
          problems.push(`${label}: the message does not say what the read found: ${message}`);
        if (!/Check with \w+ .* before retrying/.test(message)) problems.push(`${label}: the message does not say what to check: ${message}`);
        if (await row.done()) problems.push(`${label}: answered failure but the change is there`);
        if (answer.elapsedMs > bound(row.deadlineMs)) problems.push(`${label}: took ${answer.elapsedMs} ms, beyond ${bound(row.deadlineMs)} ms`);
      }
      expect(problems).toEqual([]);
    },
    120_000,
  );
});
