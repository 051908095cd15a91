import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { TableClient } from '@azure/data-tables';
import type { TokenCredential } from '@azure/identity';
import type { ContainerClient } from '@azure/storage-blob';
import { auditStorage } from './hostile/helpers/audit-chain.js';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import canonicalize from 'canonicalize';
import fc from 'fast-check';
import { AuditChain, recordHash, recordMac } from '../shared/audit/chain.js';
import { createDurableAuditLog } from '../shared/audit/durable-log.js';
import { loadSettings } from '../shared/config/settings.js';
import { sandboxAppSettings } from '../dev/sandbox-settings.js';
import { mintIdentityToken } from '../dev/sandbox/identity.js';
import type { AuditRecord } from '../shared/audit/record.js';
import { startTestStack, type TestStack } from './helpers/stack.js';
import { callTool } from './helpers/tools.js';
import { pseudonymsOf } from './helpers/pseudonyms.js';
import { codePointString } from './helpers/code-point-string.js';
import { AUDIT_CLI } from './helpers/cli.js';

/**
 * Group commit in the tamper-evident store: records that arrive together share one conditional append (and one
 * anchor), while a change is still answered only once its own record is stored and anchored, and the chain still
 * verifies record by record.
 */
let stack: TestStack;
/** Longer than the default, so a slow machine's calls still fall within one linger. */
const READ_LINGER_MS = 1_000;
let container: ContainerClient;
let anchors: TableClient;

beforeAll(async () => {
  stack = await startTestStack({ AZURE_CALL_TIMEOUT_MS: '15000', AUDIT_READ_LINGER_MS: String(READ_LINGER_MS) });
  ({ container, anchors } = await auditStorage(stack));
}, 60_000);
afterAll(async () => stack?.stop());

/** The app's chain blob as stored now: its records and how many appends (committed blocks) made it. */
async function chainBlob(): Promise<{ writer: string; records: Record<string, unknown>[]; appends: number } | undefined> {
  for await (const blob of container.listBlobsFlat()) {
    if (!blob.name.endsWith('.jsonl')) continue;
    const client = container.getBlobClient(blob.name);
    const appends = (await client.getProperties()).blobCommittedBlockCount ?? 0;
    const text = (await client.downloadToBuffer()).toString('utf8');
    const records = text
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    return { writer: blob.name.split('/')[0]!, records, appends };
  }
  return undefined;
}

const anchoredSeq = async (writer: string) => (await anchors.getEntity<{ seq: number }>('writer', writer).catch(() => undefined))?.seq ?? 0;

/** Polled until every record stored is anchored; bounded only for a store that never settles (a busy machine is slow). */
async function settled(count: number) {
  const until = Date.now() + 30_000;
  for (;;) {
    const blob = await chainBlob();
    if (blob && blob.records.length >= count && (await anchoredSeq(blob.writer)) === blob.records.at(-1)?.['seq']) return blob;
    if (Date.now() > until) throw new Error(`the audit chain did not settle at ${count} records: ${blob?.records.length ?? 0} stored`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** A record with only the fields every record has, and `extra` (which may hold anything, for the renderer's tests). */
const bareRecord = (extra: Record<string, unknown>): AuditRecord =>
  ({
    time: 't',
    correlationId: 'c',
    entrance: 'mcp',
    httpMethod: 'POST',
    path: '/mcp',
    httpStatus: 200,
    authenticated: false,
    azureRequestIds: [],
    outcome: 'success',
    durationMs: 1,
    ...extra,
  }) as never;
describe('group commit', () => {
  it('stores records that arrive together in fewer appends than records, each whole and in order', async () => {
    const reader = await stack.token();
    const before = (await chainBlob())?.records.length ?? 0;
    const calls = 40;
    const answers = await Promise.all(Array.from({ length: calls }, () => callTool(stack, reader, 'access_whoami', {})));
    expect(answers.map((answer) => answer.status)).toEqual(Array(calls).fill(200));
    const blob = await settled(before + calls);
    expect(blob.records.map((record) => record['seq'])).toEqual(blob.records.map((_, index) => index + 1));
    // Every record its own line, none split or merged across appends; far fewer appends than records.
    expect(blob.records.filter((record) => record['tool'] === 'access_whoami')).toHaveLength(calls);
    expect(blob.appends).toBeLessThanOrEqual(blob.records.length / 2);
  });

  it("stores one caller's reads, made one after another, in shared appends: nobody waits for a read's stored copy", async () => {
    const reader = await stack.token();
    const before = await settled(1);
    const calls = 12;
    const started = performance.now();
    for (let i = 0; i < calls; i += 1) expect((await callTool(stack, reader, 'access_whoami', {})).status).toBe(200);
    const elapsed = performance.now() - started;
    const after = await settled(before.records.length + calls);
    // Each read ends before the next starts, so only lingering for company puts two of them in one append: at most
    // one append per linger that the calls spanned (without it, one per read or two).
    expect(after.appends - before.appends).toBeLessThanOrEqual(Math.ceil(elapsed / READ_LINGER_MS) + 1);
    expect(after.records.slice(before.records.length).filter((record) => record['tool'] === 'access_whoami')).toHaveLength(calls);
  });

  it('answers a change only once its own record is stored and anchored, while other records share its append', async () => {
    const operator = await stack.token({ roles: ['Mcp.Operator'], oid: 'eeeeeeee-5555-4555-8555-555555555555' });
    const reader = await stack.token();
    const tags = { owner: 'records-team', costCentre: 'CC-1', environment: 'dev', dataClassification: 'OFFICIAL' };
    const [write] = await Promise.all([
      callTool(stack, operator, 'group_create', { name: 'rg-ddr-records-dev-uks', location: 'uksouth', tags }),
      ...Array.from({ length: 20 }, () => callTool(stack, reader, 'access_whoami', {})),
    ]);
    expect(write.status).toBe(200);
    expect(write.body.isError).toBeFalsy();
    // Read at once, not polled: the answer promised the record is there and anchored.
    const blob = (await chainBlob())!;
    // The store names people by pseudonym only.
    const pseudonym = (await pseudonymsOf(stack))('eeeeeeee-5555-4555-8555-555555555555');
    const record = blob.records.find((candidate) => candidate['callerPseudonym'] === pseudonym && candidate['tool'] === 'group_create');
    expect(record).toMatchObject({ outcome: 'success', risk: 'write' });
    expect(await anchoredSeq(blob.writer)).toBeGreaterThanOrEqual(record!['seq'] as number);
  });

  it('leaves a chain that `audit verify` accepts', async () => {
    const blob = await settled(1);
    const runtime = join(mkdtempSync(join(tmpdir(), 'audit-cli-')), 'runtime.json');
    writeFileSync(
      runtime,
      JSON.stringify({
        auditContainerUrl: stack.sandbox.auditContainerUrl,
        vaultUrl: stack.sandbox.vaultUrl,
        anchorTableEndpoint: stack.sandbox.tableEndpoint,
      }),
    );
    const { stdout } = await promisify(execFile)(process.execPath, [AUDIT_CLI, 'verify'], {
      env: { ...process.env, SANDBOX_RUNTIME_FILE: runtime, SANDBOX_DATA_DIR: stack.dataDir },
    });
    expect(stdout).toMatch(new RegExp(`^OK: ${blob.records.length} records in 1 chain\\(s\\)`));
  });
});

describe('sealing', () => {
  it('gives the MAC and hash verification recomputes, and a line that parses back to the sealed record', () => {
    const chain = new AuditChain('writer-1');
    const key = { key: Buffer.alloc(32, 7), version: 'v1' };
    // Member names around "mac" and "hash" in UTF-16 order, members left out (undefined), non-ASCII and big numbers.
    const odd = { ha: 1, hash0: 'x', maa: { b: 1, a: [] }, mac0: 'y', zeta: 'é\u2028\u{1F600}', skipped: undefined, big: 1e21, list: [undefined, 1.5] };
    for (const extra of [{}, odd]) {
      const { sealed, line } = chain.sealAsLine(chain.number(bareRecord({ durationMs: 0.5, ...extra })), key);
      const { hash, mac, ...unsigned } = sealed;
      expect(mac).toBe(recordMac(key.key, unsigned));
      expect(hash).toBe(recordHash({ ...unsigned, mac }));
      expect(line.endsWith('}\n')).toBe(true);
      expect(JSON.parse(line)).toEqual(JSON.parse(JSON.stringify(sealed)));
    }
  });

  it('renders a long text that comes again as the first time, and never as another text', () => {
    const key = { key: Buffer.alloc(32, 9), version: 'v2' };
    const chain = new AuditChain('writer-3');
    const catalogue = `{"result":{"tools":[${'{"name":"tool","description":"Lists \\"what\\" you may see"},'.repeat(120)}`;
    const body = (text: string) => ({ text, truncated: true, bytes: 54_468, sha256: 'ab'.repeat(32) });
    const texts = [catalogue, catalogue, `${catalogue.slice(0, -1)}!`, catalogue.replace('tool', 'loot'), catalogue];
    for (const text of texts) {
      const record = chain.number(bareRecord({ responseBody: body(text) }));
      const { sealed, line } = chain.sealAsLine(record, key);
      expect(line).toBe(`${canonicalize(sealed)}\n`);
      expect((JSON.parse(line) as { responseBody: { text: string } }).responseBody.text).toBe(text);
    }
    // A long text that canonical JSON cannot hold (a lone surrogate), right after a well-formed one of the same length.
    const broken = `${catalogue.slice(0, -1)}\ud800`;
    const record = chain.number(bareRecord({ responseBody: body(broken) }));
    expect(() => chain.sealAsLine(record, key)).toThrow();
  });

  it('renders every record exactly as RFC 8785 (canonicalize) does, whatever its fields hold', () => {
    const key = { key: Buffer.alloc(32, 9), version: 'v2' };
    // Strings with lone surrogates (which canonical JSON refuses), big and negative numbers, nested and flat objects,
    // arrays, null, and objects that are not plain.
    const text = fc.oneof(fc.string(), codePointString(), fc.constantFrom('\ud800', 'a\udc00b', 'é\u2028'));
    const scalar = fc.oneof(text, fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer(), fc.boolean(), fc.constant(null), fc.constant(undefined));
    const value = fc.oneof(scalar, fc.dictionary(text, scalar), fc.array(scalar), fc.dictionary(text, fc.dictionary(text, scalar)), fc.constant(new Date(0)));
    fc.assert(
      fc.property(fc.dictionary(text, value), (extra) => {
        const chain = new AuditChain('writer-2');
        const record = chain.number(bareRecord(extra));
        let expected: string | Error;
        try {
          expected = `${canonicalize({ ...record, prevHash: '0'.repeat(64), keyVersion: 'v2' }) ?? ''}`;
        } catch (error) {
          expected = error as Error;
        }
        if (expected instanceof Error) {
          // What canonical JSON cannot hold, the chain refuses too.
          expect(() => chain.sealAsLine(record, key)).toThrow();
          return;
        }
        const { sealed, line } = chain.sealAsLine(record, key);
        const { hash, mac, ...unsigned } = sealed;
        expect(mac).toBe(recordMac(key.key, unsigned));
        expect(hash).toBe(recordHash({ ...unsigned, mac }));
        expect(line).toBe(`${canonicalize(sealed)}\n`);
      }),
      { numRuns: 500 },
    );
  });
});

describe('group commit, with writers that each wait for their own record', () => {
  /** Far longer than any test here may take: a batch held for company would show as a call that never ends. */
  const LONG_LINGER_MS = 600_000;

  it('sends a batch at once when everyone who shared the last append is back, instead of lingering for more', async () => {
    // The app's own store (its settings for this sandbox), holding a change's record for company up to 10 minutes.
    const settings = loadSettings(sandboxAppSettings(stack.sandbox));
    const identity: TokenCredential = {
      getToken: async (scopes) => ({
        token: await mintIdentityToken(await stack.sandbox.issuerKeys.current(), [scopes].flat()[0]!.replace(/\/\.default$/, '')),
        expiresOnTimestamp: Date.now() + 3_000_000,
      }),
    };
    const { auditLog } = createDurableAuditLog(settings, identity, () => {}, { lingerMs: LONG_LINGER_MS })!;
    const writers = 8;
    const rounds = 3;
    const stored: number[] = [];
    // Each writer appends a change's record and waits until it is stored before its next, as a change's caller does.
    const writing = Promise.all(
      Array.from({ length: writers }, async (_, writer) => {
        for (let round = 0; round < rounds; round += 1) {
          const { chained, stored: done } = auditLog.append(bareRecord({ tool: 'group_create', risk: 'write', correlationId: `w${writer}-r${round}` }), {
            awaited: true,
          });
          await done;
          stored.push(chained.seq);
        }
      }),
    );
    // Bounded far below the linger: without the rule, the second round would wait out the whole linger.
    let finished = false;
    const outcome = await Promise.race([
      writing.then(() => ((finished = true), 'stored')),
      new Promise((resolve) => setTimeout(() => resolve('held back'), 60_000).unref()),
    ]);
    // Were the rounds held back, each flush sends one: nothing is left waiting on the linger's timer after the test.
    for (let flushes = 0; !finished && flushes <= rounds; flushes += 1) await auditLog.flush(30_000);
    expect(outcome).toBe('stored');
    expect(stored.sort((a, b) => a - b)).toEqual(Array.from({ length: writers * rounds }, (_, index) => index + 1));
    // One append per round: all eight records of a round went together.
    const blob = container.getAppendBlobClient(`${auditLog.writer}/0000.jsonl`);
    expect((await blob.getProperties()).blobCommittedBlockCount).toBe(rounds);
    expect(await anchoredSeq(auditLog.writer)).toBe(writers * rounds);
  });
});
