import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTableApprovalStore } from '../shared/approvals/store.js';
import { POISONED } from '../dev/sandbox/seed.js';
import { SANDBOX_AUDIENCE, SANDBOX_SCOPE } from '../dev/sandbox-settings.js';
import { acquireSharedStackWith } from './helpers/shared-stack.js';
import type { TestStack } from './helpers/stack.js';
import { callTool } from './helpers/tools.js';
import { kqlFilesUnder } from './infra/kql-check.js';

describe('kql-columns', () => {
  /**
   * The names the KQL in infra/kql relies on are the names the app actually sends: the audit event's custom dimensions
   * (read by the saved function SovereignMcpAudit as `a.<name>`) and the dependency properties the alert rules join on
   * (`Properties.<name>` of AppDependencies), both read from what the sandbox's Application Insights capture received
   * for a run of ordinary, denied, flagged, approval and anonymous requests. A renamed field fails here.
   */
  let stack: TestStack;
  const files = kqlFilesUnder('infra/kql');
  const OPERATOR = '0b0b0b0b-1111-4222-8333-444444444444';
  const APPROVER = 'dddddddd-0000-4000-8000-00000000c0c0';

  beforeAll(async () => {
    stack = await acquireSharedStackWith({ OTEL_BLRP_SCHEDULE_DELAY: '200', OTEL_BSP_SCHEDULE_DELAY: '200' });
  }, 120_000);
  afterAll(async () => stack?.stop());

  /** What Application Insights would have received, by telemetry type: each item's custom properties. */
  async function sentProperties(baseType: 'EventData' | 'RemoteDependencyData'): Promise<Record<string, unknown>[]> {
    const envelopes = (await stack.admin.telemetry()) as unknown as {
      data?: { baseType?: string; baseData?: { name?: string; properties?: Record<string, unknown> } };
    }[];
    return envelopes
      .map((envelope) => envelope.data)
      .filter((data) => data?.baseType === baseType && (baseType !== 'EventData' || data.baseData?.name === 'SovereignMcpAudit'))
      .map((data) => data!.baseData!.properties ?? {});
  }

  /** The field names a query reads through a record variable or a dynamic column, e.g. `a.callerOid`, `Properties.clientRequestId`. */
  function fieldsRead(text: string, through: string): Set<string> {
    const code = text
      .split('\n')
      .filter((line) => !line.trimStart().startsWith('//'))
      .join('\n');
    return new Set([...code.matchAll(new RegExp(`\\b${through}\\.([A-Za-z_][A-Za-z0-9_]*)`, 'g'))].map((match) => match[1]!));
  }

  async function driveEveryKindOfRequest(): Promise<void> {
    const reader = await stack.sandbox.mintToken({
      audience: SANDBOX_AUDIENCE,
      tenantId: stack.sandbox.tenantId,
      oid: '0a0a0a0a-1111-4222-8333-444444444444',
      name: 'Rhea Reader',
      roles: ['Mcp.Reader'],
      extra: { scp: SANDBOX_SCOPE, azp: 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee' },
    });
    const operator = await stack.token({ roles: ['Mcp.Operator'], oid: OPERATOR, name: 'Otto Operator' });
    // Anonymous, then an MCP initialize naming its client, with a caller trace id.
    expect((await fetch(`${stack.baseUrl}/tools/group_list`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status).toBe(
      401,
    );
    const initialize = await fetch(stack.mcpUrl, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${reader}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'kql-check', version: '1.0.0' } },
      }),
    });
    expect(initialize.status).toBe(200);
    await initialize.text();
    // A read whose result is flagged (injection in a tag), and a denial (a Reader asking for a write).
    expect((await callTool(stack, reader, 'group_get', { name: POISONED.groupWithInjectedTag.group })).status).toBe(200);
    expect((await callTool(stack, reader, 'group_create', { name: 'rg-ddr-newservice-ukw', location: 'ukwest', tags: {} })).status).toBe(403);
    // A destructive request, approved by another person (written as the approval page writes it), then run.
    const blob = { resourceGroup: 'rg-ddr-records-prod-uks', account: 'stddrrecordsprod', container: 'case-files', name: 'kql-columns/to-delete.txt' };
    expect((await callTool(stack, operator, 'storage_blob_upload', { ...blob, content: 'to be deleted' })).status).toBe(200);
    const requested = await callTool(stack, operator, 'storage_blob_delete', blob);
    expect(requested.status).toBe(428);
    const approvalId = requested.error!.approvalId as string;
    const storageToken = await stack.sandbox.mintStorageToken();
    const store = createTableApprovalStore(stack.sandbox.tableEndpoint, 'approvals', {
      getToken: async () => ({ token: storageToken, expiresOnTimestamp: Date.now() + 3_000_000 }),
    });
    const approval = await store.get(approvalId);
    expect(
      await store.update(approval!, { status: 'approved', decidedByOid: APPROVER, decidedByName: 'Dana Approver', decidedAt: new Date().toISOString() }),
    ).toBe(true);
    expect((await callTool(stack, operator, 'storage_blob_delete', { ...blob, approvalId })).status).toBe(200);
  }

  describe('the fields the KQL reads are the fields the app sends', () => {
    it('every `a.<field>` of the audit function and every dependency property the rules join on was sent', async () => {
      await driveEveryKindOfRequest();
      const wanted = { events: fieldsRead(files['infra/kql/audit-records.kql']!, 'a'), dependencies: new Set<string>() };
      for (const text of Object.values(files))
        if (text.includes('AppDependencies')) for (const name of fieldsRead(text, 'Properties')) wanted.dependencies.add(name);
      expect(wanted.events.size).toBeGreaterThan(20);
      expect([...wanted.dependencies].sort()).toEqual(['clientRequestId', 'correlationId']);

      // Telemetry is batched: wait (bounded) until every wanted name has been seen, then compare.
      const seen = { events: new Set<string>(), dependencies: new Set<string>() };
      const missing = () => ({
        events: [...wanted.events].filter((name) => !seen.events.has(name)),
        dependencies: [...wanted.dependencies].filter((name) => !seen.dependencies.has(name)),
      });
      for (let attempt = 0; attempt < 100; attempt += 1) {
        for (const properties of await sentProperties('EventData')) for (const name of Object.keys(properties)) seen.events.add(name);
        for (const properties of await sentProperties('RemoteDependencyData')) for (const name of Object.keys(properties)) seen.dependencies.add(name);
        const { events, dependencies } = missing();
        if (events.length === 0 && dependencies.length === 0) break;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      expect(missing()).toEqual({ events: [], dependencies: [] });
    }, 120_000);
  });
});
