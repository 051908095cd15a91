// waits: with its audit store stopped, calls wait out the store's deadlines (dev/test.sh runs the files marked so beside the others).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ContainerClient } from '@azure/storage-blob';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { AUDIT_STORED_WAIT_MS } from '../shared/config/deadlines.js';
import { startTestStack, type TestStack } from './helpers/stack.js';
import { callTool } from './helpers/tools.js';
import { waitFor } from './helpers/poll.js';
import { pseudonymsOf } from './helpers/pseudonyms.js';
import { AUDIT_CLI } from './helpers/cli.js';

/**
 * The audit trail from outside: one record per request, attributed from the token only, redacted, hash-chained
 * into the audit container, verifiable with `npm run audit -- verify`, and failing closed for changes when the
 * store is down.
 */
let stack: TestStack;
let container: ContainerClient;

beforeAll(async () => {
  // The OpenTelemetry batch processors' delay (standard OTEL_* settings), shortened so the capture fills quickly.
  // A call deadline generous for a busy machine: with 4 s, the allowed read below answered 504 under load 26.
  stack = await startTestStack({ AZURE_CALL_TIMEOUT_MS: '15000', OTEL_BLRP_SCHEDULE_DELAY: '200', OTEL_BSP_SCHEDULE_DELAY: '200' });
  const token = await stack.sandbox.mintStorageToken();
  container = new ContainerClient(stack.sandbox.auditContainerUrl, { getToken: async () => ({ token, expiresOnTimestamp: Date.now() + 3_000_000 }) });
});
afterAll(async () => stack?.stop());

const auditLines = () => stack.app.output.filter((line) => line.startsWith('{"audit"')).map((line) => JSON.parse(line).audit);

async function chainRecords(): Promise<{ name: string; records: Record<string, unknown>[] }[]> {
  const blobs: { name: string; records: Record<string, unknown>[] }[] = [];
  for await (const blob of container.listBlobsFlat()) {
    if (!blob.name.endsWith('.jsonl')) continue;
    const text = (await container.getBlobClient(blob.name).downloadToBuffer()).toString('utf8');
    blobs.push({
      name: blob.name,
      records: text
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line)),
    });
  }
  return blobs;
}

/** What Application Insights would have received (the twin's ingestion capture), by telemetry type. */
async function telemetry(baseType: 'EventData' | 'RequestData' | 'RemoteDependencyData') {
  const envelopes = await stack.admin.telemetry();
  return envelopes
    .map((envelope) => (envelope as unknown as { data?: { baseType?: string; baseData?: Record<string, any> } }).data)
    .filter((data) => data?.baseType === baseType)
    .map((data) => data!.baseData!);
}
const auditEvents = async () =>
  (await telemetry('EventData')).filter((event) => event.name === 'SovereignMcpAudit').map((event) => event.properties as Record<string, string>);

// Polled (./helpers/poll.ts); the bound is only for a record that never comes, and is generous because a busy machine stores slowly.

const SECRETS = {
  sas: 'https://stddrrecordsprod.blob.core.windows.net/case-files/x.txt?sv=2024-08-04&sp=r&se=2030-01-01&sig=SuperSecretSig%2Babc%3D',
  accountKey: `${'Q'.repeat(40)}${'w'.repeat(46)}==`,
  bearer: 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzZWNyZXQtdXNlciJ9.c2VjcmV0LXNpZ25hdHVyZQ',
  connection: 'DefaultEndpointsProtocol=https;AccountName=stx;AccountKey=TopSecretKeyValue123;EndpointSuffix=core.windows.net',
  email: 'jane.citizen@example.org',
  phone: '07700 900123',
  nino: 'QQ123456C',
};

describe('one audit record per request', () => {
  it('records N mixed requests as exactly N records, attributed and explained, in the log and in the chain', async () => {
    const before = auditLines().length;
    const beforeChain = (await chainRecords()).flatMap((blob) => blob.records).length;
    const beforeEvents = (await auditEvents()).length;
    const reader = await stack.token({ roles: ['Mcp.Reader'], oid: 'aaaaaaaa-1111-4111-8111-111111111111' });
    await stack.admin.addFault({ service: 'arm', path: '/resourcegroups/rg-ddr-web-prod-uks', kind: '500', count: 0 });
    const requests: Promise<unknown>[] = [
      callTool(stack, reader, 'group_get', { name: 'rg-ddr-dr-ukw' }), // allowed
      callTool(stack, reader, 'group_create', { name: 'rg-x', location: 'uksouth', tags: {} }), // denied
      fetch(`${stack.baseUrl}/tools/group_list`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }), // unauthenticated
      fetch(stack.mcpUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${reader}` },
        body: '{"jsonrpc": "2.0", "id": 1, "method":',
      }), // malformed
      callTool(stack, reader, 'group_get', { name: 'rg-ddr-web-prod-uks' }), // Azure fault
    ];
    await Promise.all(requests);
    await stack.admin.clearFaults();
    const records = await waitFor(
      async () => auditLines().slice(before),
      (list) => list.length >= requests.length,
    );
    expect(records).toHaveLength(requests.length);
    const byOutcome = records.map((record) => [
      record.authenticated ? record.callerOid : 'unauthenticated',
      record.httpStatus,
      record.rule ?? record.errorCode ?? '',
    ]);
    expect(byOutcome).toEqual(
      expect.arrayContaining([
        ['aaaaaaaa-1111-4111-8111-111111111111', 200, 'role.reader-may-read'],
        ['aaaaaaaa-1111-4111-8111-111111111111', 403, 'default-deny'],
        ['unauthenticated', 401, 'edge.unauthenticated'],
        ['aaaaaaaa-1111-4111-8111-111111111111', 400, 'edge.invalid-request'],
      ]),
    );
    // Every record says what was decided, by which rule, and why: edge refusals included.
    for (const record of records) {
      expect(record).toMatchObject({ decision: expect.stringMatching(/^(allowed|denied)$/), rule: expect.any(String), reason: expect.any(String) });
    }
    expect(records.find((record) => record.httpStatus === 401)).toMatchObject({ decision: 'denied', rule: 'edge.unauthenticated' });
    expect(records.find((record) => record.httpStatus === 400)).toMatchObject({
      decision: 'denied',
      reason: expect.stringMatching(/parse/i),
      responseBody: { sha256: expect.any(String) },
    });
    // The Azure fault: retried by the SDK until the deadline, recorded with the Azure request ids it produced.
    const failed = records.find((record) => record.httpStatus >= 500);
    expect(failed).toMatchObject({ tool: 'group_get', decision: 'allowed', outcome: 'error', errorCode: expect.stringMatching(/^azure_/) });
    expect(failed.azureRequestIds.length).toBeGreaterThan(0);
    const chain = await waitFor(chainRecords, (blobs) => blobs.flatMap((blob) => blob.records).length >= beforeChain + requests.length);
    expect(chain.flatMap((blob) => blob.records).length).toBe(beforeChain + requests.length);
    // Application Insights: the same N records as custom events, fields as custom dimensions.
    const events = (await waitFor(auditEvents, (list) => list.length >= beforeEvents + requests.length, 15_000)).slice(beforeEvents);
    expect(events).toHaveLength(requests.length);
    const ids = new Set(records.map((record) => record.correlationId));
    for (const event of events) {
      expect(ids.has(event.correlationId!)).toBe(true);
      const record = records.find((candidate) => candidate.correlationId === event.correlationId);
      expect(event).toMatchObject({
        ...(record.authenticated ? { callerOid: 'aaaaaaaa-1111-4111-8111-111111111111' } : {}),
        authenticated: String(record.authenticated),
        outcome: record.outcome,
        httpStatus: String(record.httpStatus),
        writer: expect.any(String),
        seq: expect.stringMatching(/^\d+$/),
      });
      if (!record.authenticated) expect(event.callerOid).toBeUndefined();
      if (record.decision) expect(event).toMatchObject({ decision: record.decision, reason: expect.any(String) });
    }
    // Request telemetry for each request, and dependency telemetry for the Azure calls, with Azure's request ids.
    const requestItems = await waitFor(
      () => telemetry('RequestData'),
      (list) => ids.size === list.filter((item) => ids.has(item.properties?.correlationId)).length,
      15_000,
    );
    expect(requestItems.filter((item) => ids.has(item.properties?.correlationId))).toHaveLength(requests.length);
    const dependencies = (await telemetry('RemoteDependencyData')).filter((item) => ids.has(item.properties?.correlationId));
    const recordedIds = records.flatMap((record) => record.azureRequestIds);
    expect(
      dependencies
        .map((item) => item.properties.azureRequestId)
        .filter(Boolean)
        .sort(),
    ).toEqual([...recordedIds].sort());
    // Only the department's resource, and only these three kinds: no SDK statistics, metrics or logs of its own.
    const envelopes = (await stack.admin.telemetry()) as unknown as { iKey: string; data: { baseType: string } }[];
    expect(new Set(envelopes.map((envelope) => envelope.iKey))).toEqual(
      new Set([/InstrumentationKey=([^;]+)/.exec(stack.sandbox.appInsightsConnectionString)![1]]),
    );
    expect(new Set(envelopes.map((envelope) => envelope.data.baseType))).toEqual(new Set(['EventData', 'RequestData', 'RemoteDependencyData']));
    expect(dependencies.some((item) => item.type === 'Http' && item.resultCode === '500' && item.success === false)).toBe(true);
    for (const item of requestItems.filter((candidate) => ids.has(candidate.properties?.correlationId))) {
      const record = records.find((candidate) => candidate.correlationId === item.properties.correlationId);
      expect(item).toMatchObject({ responseCode: String(record.httpStatus), success: record.outcome === 'success' });
    }
  });

  it('ignores forged identity headers and clientInfo when attributing', async () => {
    const before = auditLines().length;
    const token = await stack.token({ roles: ['Mcp.Reader'], oid: 'bbbbbbbb-2222-4222-8222-222222222222', name: 'Real User' });
    await fetch(stack.mcpUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        authorization: `Bearer ${token}`,
        'x-ms-client-principal-id': 'cccccccc-3333-4333-8333-333333333333',
        'x-ms-client-principal-name': 'Global Admin',
        'x-user-oid': 'cccccccc-3333-4333-8333-333333333333',
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: {
          protocolVersion: '2025-11-25',
          capabilities: {},
          clientInfo: { name: 'Global Admin (oid cccccccc-3333-4333-8333-333333333333)', version: '1' },
        },
      }),
    });
    const [record] = await waitFor(
      async () => auditLines().slice(before),
      (list) => list.length >= 1,
    );
    expect(record).toMatchObject({ callerOid: 'bbbbbbbb-2222-4222-8222-222222222222', callerName: 'Real User', jsonRpcMethod: 'initialize' });
    // The answer the SDK wrote is kept too (redacted, capped, hashed).
    expect(record.responseBody.text).toContain('protocolVersion');
    expect(JSON.stringify(record)).not.toContain('"callerOid":"cccccccc');
  });

  it('never keeps secrets or personal data from arguments or results', async () => {
    const operator = await stack.token({ roles: ['Mcp.Operator'] });
    const content = `Case notes: contact ${SECRETS.email} / ${SECRETS.phone}, NI ${SECRETS.nino}. Link ${SECRETS.sas}. Key ${SECRETS.accountKey}. Conn ${SECRETS.connection}. Token ${SECRETS.bearer}`;
    const args = {
      resourceGroup: 'rg-ddr-records-prod-uks',
      account: 'stddrrecordsprod',
      container: 'case-files',
      name: 'audit-redaction.txt',
      content,
      overwrite: true,
    };
    expect((await callTool(stack, operator, 'storage_blob_upload', args)).status).toBe(200);
    expect(
      (
        await callTool(stack, operator, 'storage_blob_read', {
          resourceGroup: args.resourceGroup,
          account: args.account,
          container: args.container,
          name: args.name,
        })
      ).status,
    ).toBe(200);
    // Secrets in other arguments (here tags of a refused call) are redacted in place.
    const tags = { note: `ask ${SECRETS.email} on ${SECRETS.phone}`, link: SECRETS.sas, conn: SECRETS.connection, auth: `Bearer ${SECRETS.bearer}` };
    expect((await callTool(stack, operator, 'group_create', { name: 'rg-shadow-it', location: 'uksouth', tags })).status).toBe(403);
    const chain = await waitFor(chainRecords, (blobs) =>
      blobs
        .flatMap((blob) => blob.records)
        .some((record) => record.tool === 'group_create' && record.httpStatus === 403 && JSON.stringify(record).includes('rg-shadow-it')),
    );
    await waitFor(
      auditEvents,
      (events) => events.some((event) => event.tool === 'group_create' && event.httpStatus === '403' && JSON.stringify(event).includes('rg-shadow-it')),
      15_000,
    );
    const sent = await stack.admin.telemetry();
    const captured = [...stack.app.output, ...stack.app.errorOutput, JSON.stringify(chain), JSON.stringify(sent)].join('\n');
    for (const [kind, secret] of Object.entries(SECRETS)) {
      expect({ kind, found: captured.includes(secret) }).toEqual({ kind, found: false });
    }
    // Blob content is kept only as size and hash; other arguments are redacted.
    expect(captured).toMatch(/\[content: \d+ bytes, sha256 [0-9a-f]{64}\]/);
    expect(captured).toContain('[REDACTED SAS]');
    expect(captured).toContain('[email]');
    expect(captured).toContain('AccountKey=[REDACTED]');
  });

  it("keeps each body's hash and size in Application Insights, shortening only its text to fit a custom dimension", async () => {
    // The full catalogue is over 8 KiB: the log line keeps its first 8 KiB, more than a custom dimension holds (8,192
    // UTF-8 bytes, past which the exporter cuts a value wherever it falls).
    const operator = await stack.token({ roles: ['Mcp.Operator'], oid: 'eeeeeeee-3333-4333-8333-333333333333' });
    const before = auditLines().length;
    const response = await fetch(stack.mcpUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${operator}` },
      body: JSON.stringify({ jsonrpc: '2.0', id: 'long-answer', method: 'tools/list' }),
    });
    expect(response.status).toBe(200);
    const [logged] = await waitFor(
      async () =>
        auditLines()
          .slice(before)
          .filter((record) => record.jsonRpcMethod === 'tools/list' && record.callerOid === 'eeeeeeee-3333-4333-8333-333333333333'),
      (list) => list.length >= 1,
    );
    expect(logged.responseBody).toMatchObject({ truncated: true, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(logged.responseBody.text).toHaveLength(8 * 1024);
    const [event] = await waitFor(
      async () => (await auditEvents()).filter((candidate) => candidate.correlationId === logged.correlationId),
      (list) => list.length === 1,
      15_000,
    );
    for (const field of ['requestBody', 'responseBody'] as const) {
      expect(Buffer.byteLength(event![field]!)).toBeLessThanOrEqual(8192);
      const sent = JSON.parse(event![field]!) as { text: string; truncated: boolean; bytes: number; sha256: string };
      expect(sent).toMatchObject({ sha256: logged[field].sha256, bytes: logged[field].bytes });
      // What is there of the text is where the log line's text starts; cut only if it had to be.
      expect(logged[field].text.startsWith(sent.text)).toBe(true);
      expect(sent.truncated).toBe(logged[field].truncated || sent.text.length < logged[field].text.length);
    }
    expect(JSON.parse(event!.responseBody!).text.length).toBeLessThan(logged.responseBody.text.length);
  });
});

describe('tamper evidence', () => {
  const execute = promisify(execFile);

  async function verify(): Promise<{ code: number; output: string }> {
    const runtime = join(mkdtempSync(join(tmpdir(), 'audit-cli-')), 'runtime.json');
    writeFileSync(
      runtime,
      JSON.stringify({
        auditContainerUrl: stack.sandbox.auditContainerUrl,
        vaultUrl: stack.sandbox.vaultUrl,
        anchorTableEndpoint: stack.sandbox.tableEndpoint,
      }),
    );
    try {
      const { stdout } = await execute(process.execPath, [AUDIT_CLI, 'verify'], {
        env: { ...process.env, SANDBOX_RUNTIME_FILE: runtime, SANDBOX_DATA_DIR: stack.dataDir },
      });
      return { code: 0, output: stdout };
    } catch (error) {
      const failed = error as { code: number; stdout: string; stderr: string };
      return { code: failed.code, output: failed.stdout + failed.stderr };
    }
  }

  it('verifies an intact chain, and fails at the position of an edited or deleted record', async () => {
    await callTool(stack, await stack.token(), 'access_whoami', {});
    await waitFor(chainRecords, (blobs) => blobs.length > 0);
    const intact = await verify();
    expect(intact.output).toMatch(/^OK: \d+ records in 1 chain\(s\)/);
    expect(intact.code).toBe(0);

    const [blob] = await chainRecords();
    const records = blob!.records;
    const edited = records.map((record, index) => (index === 2 ? { ...record, callerOid: 'someone-else' } : record));
    const client = container.getAppendBlobClient(blob!.name);
    await client.delete();
    await client.create();
    const text = edited.map((record) => `${JSON.stringify(record)}\n`).join('');
    await client.appendBlock(text, Buffer.byteLength(text));
    const broken = await verify();
    expect(broken.code).toBe(1);
    expect(broken.output).toMatch(/record 3: record content does not match its hash/);
  });
});

describe('with the audit store down', () => {
  it('still answers reads, refuses changes, and records the refusal once the store is back', async () => {
    const operator = await stack.token({ roles: ['Mcp.Operator'], oid: 'dddddddd-4444-4444-8444-444444444444' });
    stack.sandbox.pauseStorage();
    try {
      const started = Date.now();
      const read = await callTool(stack, operator, 'group_get', { name: 'rg-ddr-dr-ukw' });
      expect(read.status).toBe(200);
      // A read that waited for its record to be stored would wait out AUDIT_STORED_WAIT_MS, storage being stopped.
      expect(Date.now() - started).toBeLessThan(AUDIT_STORED_WAIT_MS);
      const write = await callTool(stack, operator, 'group_create', {
        name: 'rg-ddr-newservice-ukw',
        location: 'ukwest',
        tags: { owner: 'a', costCentre: 'b', environment: 'c', dataClassification: 'd' },
      });
      expect(write.status).toBe(503);
      expect(write.error).toMatchObject({ code: 'audit_unavailable', rule: 'audit.store-unavailable' });
      expect((await stack.admin.requests()).some((entry) => entry.method === 'PUT')).toBe(false);
    } finally {
      stack.sandbox.resumeStorage();
    }
    // The store names the caller by pseudonym only.
    const caller = (await pseudonymsOf(stack))('dddddddd-4444-4444-8444-444444444444');
    const chain = await waitFor(
      chainRecords,
      (blobs) => blobs.flatMap((blob) => blob.records).some((record) => record.callerPseudonym === caller && record.errorCode === 'audit_unavailable'),
      15_000,
    );
    expect(chain.flatMap((blob) => blob.records).filter((record) => record.callerPseudonym === caller)).toHaveLength(2);
  });
});
