import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { ContainerClient } from '@azure/storage-blob';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestStack, type TestStack } from '../helpers/stack.js';
import { codePointString } from '../helpers/code-point-string.js';
import { callTool, type ToolCallResult } from '../helpers/tools.js';
import { auditChain } from './helpers/audit-chain.js';
import { encodeCursor } from '../../shared/tools/paging.js';
import { isAuditKeyRead } from '../helpers/audit-key-read.js';

/**
 * A name is a name, never a path. Every tool that puts a caller's name into a URL path gets generated hostile
 * names (dot segments in every position, percent-encoded and double-encoded separators and dots, backslashes,
 * Unicode look-alikes of '/' and '.', full-width and other NFKC-changing forms, control and invisible characters,
 * trailing dots and slashes, empty segments, very long names). Each is either refused with a 400 that says what is
 * wrong before any request leaves the app, or every request the SDK actually sent — as the sandbox twin and Azurite
 * logged it — addresses exactly the resource named. And the attack that worked: '../' out of a container, and
 * '../../<app account>/audit/…' to read or forge the app's own audit trail.
 */
const SEED = Number(process.env.HOSTILE_SEED ?? 11_2026_12);
const RUNS = Number(process.env.HOSTILE_NAME_RUNS ?? 60);
const RECORDS = { resourceGroup: 'rg-ddr-records-prod-uks', account: 'stddrrecordsprod' };
const SEEDED_BLOB = { container: 'case-files', name: '2025/CASE-10482/summary.txt' };

let stack: TestStack;
let policyDir: string;
let operator: string;
let appAccount: string;
let auditContainer: string;

beforeAll(async () => {
  // Hundreds of calls from one caller: the default rate limit is raised so every call reaches the pipeline.
  policyDir = mkdtempSync(join(tmpdir(), 'hostile-names-policy-'));
  const policy = readFileSync('shared/policy/department.yaml', 'utf8');
  const raised = policy.replace('default: { requests: 120, perSeconds: 60 }', 'default: { requests: 100000, perSeconds: 60 }');
  expect(raised).not.toBe(policy);
  writeFileSync(join(policyDir, 'department.yaml'), raised);
  stack = await startTestStack({ MCP_POLICY_FILE: join(policyDir, 'department.yaml'), AZURE_CALL_TIMEOUT_MS: '10000' }, { recordStorageRequests: true });
  operator = await stack.token({ roles: ['Mcp.Operator'], oid: randomUUID(), name: 'Names Operator' });
  [appAccount, auditContainer] = new URL(stack.sandbox.auditContainerUrl).pathname.split('/').filter(Boolean) as [string, string];
  // The first data-plane and Resource Manager calls pay the app's cold start; pay it here, not inside a property.
  expect((await call('storage_blob_read', { ...RECORDS, ...SEEDED_BLOB })).status).toBe(200);
  expect((await call('group_get', { name: RECORDS.resourceGroup })).status).toBe(200);
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  if (policyDir) rmSync(policyDir, { recursive: true, force: true });
});

const call = (tool: string, args: unknown): Promise<ToolCallResult> => callTool(stack, operator, tool, args);

/** A URL path as decoded segments, e.g. '/a/b%2Fc' → ['a', 'b/c'] (undefined if it is not valid percent-encoding). */
function decodedSegments(path: string): string[] | undefined {
  try {
    return path
      .split('/')
      .slice(1)
      .map((segment) => decodeURIComponent(segment));
  } catch {
    return undefined;
  }
}

/** The data-plane requests Azurite received for the call `run` makes, except the app's own audit writes. */
async function blobRequestsOf(run: () => Promise<ToolCallResult>): Promise<{ result: ToolCallResult; paths: (string[] | undefined)[] }> {
  await stack.sandbox.clearAzuriteRequests();
  const result = await run();
  const requests = (await stack.sandbox.azuriteRequests()).filter((request) => request.service === 'blob');
  const paths = requests.map((request) => decodedSegments(new URL(request.url).pathname)).filter((segments) => segments?.[0] !== appAccount);
  return { result, paths };
}

/** The Resource Manager and Key Vault requests the twin received for the call `run` makes. */
async function twinRequestsOf(run: () => Promise<ToolCallResult>): Promise<{ result: ToolCallResult; paths: (string[] | undefined)[] }> {
  await stack.admin.clearRequests();
  const result = await run();
  // The app's own read of its audit key is not a request the call made.
  const requests = (await stack.admin.requests()).filter((request) => (request.service === 'arm' || request.service === 'vault') && !isAuditKeyRead(request));
  return { result, paths: requests.map((request) => decodedSegments(request.path)) };
}

/** Refused by the app itself before any request (Azure's own refusals carry azureStatus). */
const refusedBeforeAzure = (result: ToolCallResult) =>
  result.status === 400 && result.error?.code === 'invalid_arguments' && result.error.azureStatus === undefined;

/** ARM addresses a collection with or without a trailing '/'. */
const withoutTrailingSlash = (path: string[] | undefined) => (path?.at(-1) === '' ? path.slice(0, -1) : path);

/** A refusal for a bad name: 400, saying what is wrong and what a valid one looks like. */
function expectClearRefusal(result: ToolCallResult, field: string): void {
  expect(result.status).toBe(400);
  expect(result.error?.code).toBe('invalid_arguments');
  expect(result.error?.message).toContain(field);
}

// ---- Generators -------------------------------------------------------------------------------------------------

/** Pieces hostile names are built from: each is a way a name could turn into a path, or read differently. */
const HOSTILE_PIECES = [
  '..',
  '.',
  '',
  '...',
  'a',
  'b.txt',
  'x.',
  'x..',
  '.x',
  '..x',
  '%2e%2e',
  '%2E%2E',
  '%2e',
  '%2F',
  '%2f',
  '%5C',
  '%5c',
  '%252e%252e',
  '%252F',
  '%25',
  '%',
  '%zz',
  '%c0%af',
  '%e2%88%95',
  '\\',
  '..\\',
  '\\..',
  '/',
  '//',
  '\u2215',
  '\u2044',
  '\uFF0F',
  '\uFF0E',
  '\uFF0E\uFF0E',
  '\u2024',
  '\u2024\u2024',
  '\uFE52',
  '\uFF3C',
  '\uFE68',
  '\u3002',
  '\u29F8',
  '\u2571',
  '\u0338',
  '\u00A0',
  '\u200B',
  '\u202E',
  '\uFEFF',
  '\u0000',
  '\u0007',
  '\n',
  '\t',
  '\u007F',
  '\u0085',
  '\uD800',
  '\uFF41',
  '\uFB01',
  '\u00B2',
  'e\u0301',
  'é',
  '\u1E9B\u0323',
  '?',
  '#',
  '?comp=list',
  '#x',
  ';',
  '&',
  '+',
  ' ',
  '~',
  "'",
  '"',
  '<',
  '>',
  'A'.repeat(300),
];

const piece = fc.constantFrom(...HOSTILE_PIECES);
/** Names made of hostile pieces joined by '/', by nothing, or by a look-alike separator; dot segments land in every position. */
const hostileName = fc.oneof(
  fc.array(piece, { minLength: 1, maxLength: 6 }).map((parts) => parts.join('/')),
  fc.array(piece, { minLength: 1, maxLength: 6 }).map((parts) => parts.join('')),
  fc
    .tuple(fc.array(piece, { minLength: 1, maxLength: 4 }), fc.constantFrom('\u2215', '\uFF0F', '\\', '%2F'))
    .map(([parts, separator]) => parts.join(separator)),
  fc
    .constantFrom('../', '../../', '..%2F', '%2e%2e/', '.\\..\\', '\uFF0E\uFF0E/')
    .chain((prefix) => fc.constantFrom('x', `../${appAccount}/${auditContainer}/x`, 'ingest/x').map((rest) => prefix + rest)),
  codePointString({ minLength: 1, maxLength: 40 }),
  fc.constantFrom('a/'.repeat(300), `${'a'.repeat(1025)}`, '/'.repeat(5), 'a//b', 'a/./b', 'a/../b', 'a/b/.', 'a/b/..', 'a/b.', 'a/b/'),
);

// ---- The attack that worked -------------------------------------------------------------------------------------

describe('a blob name cannot leave its container', () => {
  it('refuses ../ into another container of the account, and reads nothing there', async () => {
    const direct = await call('storage_blob_read', { ...RECORDS, ...SEEDED_BLOB });
    expect(direct.status).toBe(200);
    for (const name of [
      `../${SEEDED_BLOB.container}/${SEEDED_BLOB.name}`,
      `..%2F${SEEDED_BLOB.container}%2F${SEEDED_BLOB.name}`,
      `%2e%2e/${SEEDED_BLOB.container}/${SEEDED_BLOB.name}`,
    ]) {
      const { result, paths } = await blobRequestsOf(() => call('storage_blob_read', { ...RECORDS, container: 'ingest', name }));
      expectClearRefusal(result, 'not a blob name');
      expect(result.out).toEqual({});
      expect(paths).toEqual([]);
    }
  });

  it("cannot read the app's own audit trail with ../../<account>/audit/…", async () => {
    const token = await stack.sandbox.mintStorageToken();
    const audit = new ContainerClient(stack.sandbox.auditContainerUrl, { getToken: async () => ({ token, expiresOnTimestamp: Date.now() + 3_000_000 }) });
    await auditChain(stack).waitFor((records) => records.length > 0);
    const writerBlobs: string[] = [];
    for await (const blob of audit.listBlobsFlat()) writerBlobs.push(blob.name);
    expect(writerBlobs.length).toBeGreaterThan(0);
    for (const container of ['case-files', 'ingest']) {
      const name = `../../${appAccount}/${auditContainer}/${writerBlobs[0]}`;
      const { result, paths } = await blobRequestsOf(() => call('storage_blob_read', { ...RECORDS, container, name }));
      expectClearRefusal(result, 'not a blob name');
      expect(JSON.stringify(result.body)).not.toContain('"entrance"');
      expect(paths).toEqual([]);
    }
  });

  it('cannot write a forged chain into the audit container, and the real chain still verifies', async () => {
    const forged = `forged-${randomUUID()}.jsonl`;
    const names = [
      `../../${appAccount}/${auditContainer}/${forged}`,
      `..\\..\\${appAccount}\\${auditContainer}\\${forged}`,
      `\uFF0E\uFF0E/\uFF0E\uFF0E/${appAccount}/${auditContainer}/${forged}`,
    ];
    for (const name of names) {
      const { result } = await blobRequestsOf(() =>
        call('storage_blob_upload', { ...RECORDS, container: 'case-files', name, content: '{"seq":0,"forged":true}\n', contentType: 'application/x-ndjson' }),
      );
      expectClearRefusal(result, 'not a blob name');
    }
    const seen = (await stack.sandbox.azuriteRequests()).filter((request) => request.url.includes(forged));
    expect(seen).toEqual([]);
    const token = await stack.sandbox.mintStorageToken();
    const audit = new ContainerClient(stack.sandbox.auditContainerUrl, { getToken: async () => ({ token, expiresOnTimestamp: Date.now() + 3_000_000 }) });
    const stored: string[] = [];
    for await (const blob of audit.listBlobsFlat()) stored.push(blob.name);
    expect(stored.filter((name) => name.includes('forged'))).toEqual([]);
    const verdict = await auditChain(stack).verify();
    expect(verdict.code).toBe(0);
  });
});

describe('a request the SDK would send elsewhere is refused and audited as a denial', () => {
  it('a forged cursor whose nextLink ends in a dot segment: names.url-mismatch, nothing sent, a denial in the audit', async () => {
    const armOrigin = new URL(stack.sandbox.armUrl).origin;
    const link = `${armOrigin}/subscriptions/${stack.sandbox.subscriptionId}/resourcegroups/${RECORDS.resourceGroup}/resources/.`;
    const { result, paths } = await twinRequestsOf(() =>
      call('group_resource_list', { resourceGroup: RECORDS.resourceGroup, cursor: encodeCursor({ link, offset: 0 }) }),
    );
    expect(result.status).toBe(403);
    expect(result.error).toMatchObject({ code: 'forbidden', rule: 'names.url-mismatch' });
    expect(result.error?.message).toMatch(/nothing was sent to Azure/);
    expect(paths).toEqual([]);
    const correlationId = result.error?.correlationId;
    const records = await auditChain(stack).waitFor((stored) => stored.some((record) => record.correlationId === correlationId));
    expect(records.find((record) => record.correlationId === correlationId)).toMatchObject({
      tool: 'group_resource_list',
      decision: 'denied',
      rule: 'names.url-mismatch',
      outcome: 'denied',
    });
  });
});

// ---- Generated names, tool by tool -------------------------------------------------------------------------------

/**
 * The property for blob names: refused with a clear 400 and no data-plane request, or every request Azurite received
 * addresses exactly the named blob in the named container of the named account.
 */
async function blobNameHolds(tool: string, name: string, extra: Record<string, unknown> = {}): Promise<void> {
  const { result, paths } = await blobRequestsOf(() => call(tool, { ...RECORDS, container: 'case-files', name, ...extra }));
  if (refusedBeforeAzure(result)) {
    expect(result.error?.message).toMatch(/name/);
    expect(paths).toEqual([]);
    return;
  }
  expect(result.status).toBeLessThan(500);
  for (const path of paths) expect(path).toEqual([RECORDS.account, 'case-files', ...name.split('/')]);
}

describe('generated blob names address exactly the named blob, or are refused before any request', () => {
  const options = { seed: SEED, numRuns: RUNS, endOnFailure: true };

  it('storage_blob_read', async () => {
    await fc.assert(
      fc.asyncProperty(hostileName, (name) => blobNameHolds('storage_blob_read', name)),
      options,
    );
  }, 300_000);

  it('storage_blob_upload', async () => {
    await fc.assert(
      fc.asyncProperty(hostileName, (name) => blobNameHolds('storage_blob_upload', name, { content: 'generated', overwrite: true })),
      options,
    );
  }, 300_000);

  it('storage_blob_delete (the approval request reads the blob first)', async () => {
    await fc.assert(
      fc.asyncProperty(hostileName, (name) => blobNameHolds('storage_blob_delete', name)),
      options,
    );
  }, 300_000);

  it('valid names with folders, spaces, punctuation and accented letters reach exactly their blob', async () => {
    for (const name of ['notes/2026/summary.txt', 'Llythyr Cymraeg/ŵyn ŷd.txt', 'reports/q1 (draft) v2!.txt', 'a..b/c.d/e', 'names?with#query&chars;=+.txt']) {
      const upload = await blobRequestsOf(() =>
        call('storage_blob_upload', { ...RECORDS, container: 'case-files', name, content: `content of ${name}`, overwrite: true }),
      );
      expect(upload.result.status).toBe(200);
      expect(upload.paths.length).toBeGreaterThan(0);
      for (const path of upload.paths) expect(path).toEqual([RECORDS.account, 'case-files', ...name.split('/')]);
      const read = await call('storage_blob_read', { ...RECORDS, container: 'case-files', name });
      expect(read.out.content).toBe(`content of ${name}`);
    }
  }, 60_000);
});

describe('generated container names', () => {
  const options = { seed: SEED, numRuns: RUNS, endOnFailure: true };
  for (const tool of ['storage_blob_list', 'storage_container_create']) {
    it(
      tool,
      async () => {
        await fc.assert(
          fc.asyncProperty(hostileName, async (container) => {
            const { result, paths } = await blobRequestsOf(() => call(tool, { ...RECORDS, container }));
            if (refusedBeforeAzure(result)) {
              expect(result.error?.message).toMatch(/container/);
              expect(paths).toEqual([]);
              return;
            }
            expect(result.status).toBeLessThan(500);
            for (const path of paths) expect(path).toEqual([RECORDS.account, container]);
          }),
          options,
        );
      },
      300_000,
    );
  }
});

describe('generated resource group, account and key names', () => {
  const options = { seed: SEED, numRuns: RUNS, endOnFailure: true };

  it('group_get and storage_account_get: refused, or the twin saw exactly that group and account', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(hostileName, fc.constant(RECORDS.resourceGroup)), hostileName, async (group, account) => {
        for (const [tool, args] of [
          ['group_get', { name: group }],
          ['storage_account_get', { resourceGroup: group, name: account }],
        ] as const) {
          const { result, paths } = await twinRequestsOf(() => call(tool, args));
          if (refusedBeforeAzure(result)) {
            expect(paths).toEqual([]);
            continue;
          }
          expect(result.status).toBeLessThan(500);
          for (const path of paths) {
            const at = path?.findIndex((segment) => segment.toLowerCase() === 'resourcegroups') ?? -1;
            expect(path?.[at + 1]).toBe(group);
            if (tool === 'storage_account_get') expect(path?.slice(at + 2)).toEqual(['providers', 'Microsoft.Storage', 'storageAccounts', account]);
            else expect(path?.length).toBe(at + 2);
          }
        }
      }),
      options,
    );
  }, 300_000);

  it('keyvault_key_get: refused, or the twin saw exactly that key (and version)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(hostileName, fc.constant('cmk-records')),
        fc.option(fc.oneof(hostileName, fc.constant('0'.repeat(32)))),
        async (name, version) => {
          const { result, paths } = await twinRequestsOf(() => call('keyvault_key_get', { name, ...(version !== null ? { version } : {}) }));
          if (refusedBeforeAzure(result)) {
            expect(paths).toEqual([]);
            return;
          }
          expect(result.status).toBeLessThan(500);
          for (const path of paths) {
            expect(path?.[0]).toBe('keys');
            expect(path?.[1]).toBe(name);
            expect(path?.length).toBeLessThanOrEqual(3);
            if (path?.[2] && path[2] !== 'rotationpolicy') expect(path[2]).toBe(version);
          }
        },
      ),
      options,
    );
  }, 300_000);

  it('group_resource_list cursors: a forged nextLink is refused, or the twin saw exactly that group’s listing', async () => {
    const armOrigin = new URL(stack.sandbox.armUrl).origin;
    const collection = `/subscriptions/${stack.sandbox.subscriptionId}/resourcegroups/${RECORDS.resourceGroup}/resources`;
    await fc.assert(
      fc.asyncProperty(hostileName, fc.boolean(), async (tail, inside) => {
        // The tail after the collection, or between the group and the collection.
        const link = inside ? `${armOrigin}${collection.replace('/resources', `/${tail}/resources`)}` : `${armOrigin}${collection}/${tail}`;
        const cursor = encodeCursor({ link, offset: 0 });
        const { result, paths } = await twinRequestsOf(() => call('group_resource_list', { resourceGroup: RECORDS.resourceGroup, cursor }));
        if (refusedBeforeAzure(result) || result.error?.rule === 'names.url-mismatch') {
          expect(paths).toEqual([]);
          return;
        }
        expect(result.status).toBeLessThan(500);
        for (const path of paths)
          expect(withoutTrailingSlash(path)?.map((segment) => segment.toLowerCase())).toEqual(collection.toLowerCase().split('/').slice(1));
      }),
      options,
    );
  }, 300_000);
});
