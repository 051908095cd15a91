import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as TransportV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { acquireSharedStack } from './helpers/shared-stack.js';
import type { TestStack } from './helpers/stack.js';

/** The caller every client here signs in as (whoami must name it). */
const READER_OID = 'a1b2c3d4-0000-4000-8000-00000000c11e';

describe('mcp-clients', () => {
  let stack: TestStack;
  let token: string;

  beforeAll(async () => {
    stack = await acquireSharedStack();
    token = await stack.token({ roles: ['Mcp.Reader'], oid: READER_OID });
  });
  afterAll(async () => stack?.stop());

  const auth = () => ({ requestInit: { headers: { authorization: `Bearer ${token}` } } });

  async function connectV2(): Promise<Client> {
    const client = new Client({ name: 'v2-test-client', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
    await client.connect(new StreamableHTTPClientTransport(new URL(stack.mcpUrl), auth()));
    return client;
  }

  async function connectV1(): Promise<ClientV1> {
    const client = new ClientV1({ name: 'v1-test-client', version: '1.0.0' });
    await client.connect(new TransportV1(new URL(stack.mcpUrl), auth()));
    return client;
  }

  type Structured = Record<string, unknown> & { [key: string]: unknown };
  const structured = (result: unknown): Structured => {
    const value = result as { isError?: boolean; structuredContent?: Structured; content?: unknown };
    if (value.isError) throw new Error(`tool returned an error: ${JSON.stringify(value.content)}`);
    return value.structuredContent as Structured;
  };

  /** Each read tool against the seeded department, with what a user would check in the answer. */
  const READ_CALLS: [string, Record<string, unknown>, (out: Structured) => void][] = [
    [
      'group_list',
      { top: 100 },
      (out) => {
        const names = (out.groups as { name: string; location: string }[]).map((group) => group.name);
        expect(names).toEqual(expect.arrayContaining(['rg-ddr-records-prod-uks', 'rg-ddr-archive-prod-ukw']));
        // Groups outside the configured scope (and outside the UK) are not shown.
        expect(names).not.toContain('rg-ddr-sandbox-neu');
        // A group the policy lists but Azure does not have is named, not hidden.
        expect(out.missing).toEqual(['rg-ddr-newservice-ukw']);
        expect((out.groups as { location: string }[]).every((group) => ['uksouth', 'ukwest'].includes(group.location))).toBe(true);
      },
    ],
    [
      'group_get',
      { name: 'rg-ddr-archive-prod-ukw' },
      (out) => {
        expect(out).toMatchObject({ name: 'rg-ddr-archive-prod-ukw', location: 'ukwest', provisioningState: 'Succeeded' });
        expect(out.id).toMatch(/\/resourceGroups\/rg-ddr-archive-prod-ukw$/i);
      },
    ],
    [
      'group_resource_list',
      { resourceGroup: 'rg-ddr-casework-prod-uks' },
      (out) => {
        const types = (out.resources as { type: string }[]).map((resource) => resource.type.toLowerCase());
        expect(types).toEqual(expect.arrayContaining(['microsoft.storage/storageaccounts', 'microsoft.compute/virtualmachines']));
      },
    ],
    [
      'storage_account_list',
      { top: 100 },
      (out) => {
        const accounts = out.accounts as { name: string; customerManagedKey: boolean }[];
        expect(accounts.find((account) => account.name === 'stddrrecordsprod')?.customerManagedKey).toBe(true);
        expect(accounts.find((account) => account.name === 'stddrrecordsdev')?.customerManagedKey).toBe(false);
        expect(accounts.map((account) => account.name)).not.toContain('stddrlabneu');
      },
    ],
    [
      'storage_account_get',
      { resourceGroup: 'rg-ddr-records-prod-uks', name: 'stddrrecordsprod' },
      (out) => {
        expect(out).toMatchObject({ name: 'stddrrecordsprod', minimumTlsVersion: 'TLS1_2', allowBlobPublicAccess: false });
        expect(out.encryption).toMatchObject({ keySource: 'Microsoft.Keyvault', customerManagedKey: true, keyName: 'cmk-records' });
      },
    ],
    [
      'storage_container_list',
      { resourceGroup: 'rg-ddr-records-prod-uks', account: 'stddrrecordsprod' },
      (out) => {
        expect((out.containers as { name: string }[]).map((container) => container.name)).toContain('case-files');
      },
    ],
    [
      'storage_blob_list',
      { resourceGroup: 'rg-ddr-records-prod-uks', account: 'stddrrecordsprod', container: 'case-files', prefix: '2025/' },
      (out) => {
        const blobs = out.blobs as { name: string; size: number }[];
        expect(blobs.map((blob) => blob.name)).toContain('2025/CASE-10482/summary.txt');
        expect(blobs.every((blob) => blob.name.startsWith('2025/') && blob.size > 0)).toBe(true);
      },
    ],
    [
      'storage_blob_read',
      { resourceGroup: 'rg-ddr-records-prod-uks', account: 'stddrrecordsprod', container: 'case-files', name: '2025/CASE-10482/summary.txt' },
      (out) => {
        expect(out).toMatchObject({ truncated: false, contentType: expect.stringMatching(/^text\/plain/) });
        expect(out.content).toMatch(/^Case CASE-10482/);
        expect(out.bytesRead).toBe(out.size);
      },
    ],
    [
      'storage_cmk_report',
      {},
      (out) => {
        const accounts = out.accounts as { name: string; rotation: string }[];
        expect(accounts.find((account) => account.name === 'stddrrecordsprod')?.rotation).toBe('follows-latest');
        expect(accounts.find((account) => account.name === 'stddrrecordsdev')?.rotation).toBe('platform-key');
      },
    ],
    [
      'keyvault_key_list',
      {},
      (out) => {
        expect((out.keys as { name: string }[]).map((key) => key.name)).toEqual(expect.arrayContaining(['cmk-records', 'legacy-signing-2019']));
      },
    ],
    [
      'keyvault_key_get',
      { name: 'cmk-records' },
      (out) => {
        expect(out).toMatchObject({ name: 'cmk-records', keyType: 'RSA', keySize: 3072, enabled: true });
        expect((out.rotationPolicy as { lifetimeActions: unknown[] }).lifetimeActions.length).toBeGreaterThan(0);
        // Metadata only: no key material of any kind.
        expect(JSON.stringify(out)).not.toMatch(/"(n|e|d|p|q|dp|dq|qi|k)"\s*:/);
      },
    ],
    [
      'monitor_activity_log_list',
      { days: 14, top: 10 },
      (out) => {
        const events = out.events as { time: string; resourceGroup: string }[];
        expect(events.length).toBe(10);
        const times = events.map((event) => Date.parse(event.time));
        expect([...times].sort((a, b) => b - a)).toEqual(times);
        expect(out.nextCursor).toEqual(expect.any(String));
      },
    ],
    [
      'compute_vm_list',
      {},
      (out) => {
        const vms = out.vms as { name: string; powerState?: string }[];
        expect(vms.find((vm) => vm.name === 'vm-ddr-case-app01')?.powerState).toBe('running');
        expect(vms.map((vm) => vm.name)).not.toContain('vm-ddr-legacy-sql');
      },
    ],
    [
      'access_whoami',
      {},
      (out) => {
        expect(out).toMatchObject({ oid: READER_OID, roles: ['Mcp.Reader'], name: 'Test User' });
      },
    ],
  ];

  describe('MCP router with the official v2 client (protocol 2026-07-28)', () => {
    let client: Client;
    beforeAll(async () => {
      client = await connectV2();
    });
    afterAll(async () => client?.close());

    it('negotiates the current protocol revision', () => {
      expect(client.getNegotiatedProtocolVersion()).toBe('2026-07-28');
      expect(client.getServerVersion()?.name).toBe('sovereign-mcp');
    });

    it('lists the read tools with schemas and risk-derived annotations', async () => {
      const { tools } = await client.listTools();
      expect(tools.map((tool) => tool.name).sort()).toEqual(READ_CALLS.map(([name]) => name).sort());
      for (const tool of tools) {
        expect(tool.annotations?.readOnlyHint).toBe(true);
        expect(tool.outputSchema?.type).toBe('object');
      }
    });

    it.each(READ_CALLS)('calls %s against the seeded sandbox', async (name, args, check) => {
      check(structured(await client.callTool({ name, arguments: args })));
    });

    it('pages through resource groups with nextCursor, without repeats', async () => {
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const out = structured(await client.callTool({ name: 'group_list', arguments: { top: 4, ...(cursor ? { cursor } : {}) } }));
        seen.push(...(out.groups as { name: string }[]).map((group) => group.name));
        cursor = out.nextCursor as string | undefined;
        pages += 1;
      } while (cursor && pages < 10);
      expect(pages).toBeGreaterThan(2);
      expect(new Set(seen).size).toBe(seen.length);
      // Every group the department policy lists that exists in Azure.
      expect(seen.length).toBe(stack.sandbox.allowedResourceGroups.length);
    });

    it('pages storage accounts group by group, one at a time, to the same list as one big page', async () => {
      const all = structured(await client.callTool({ name: 'storage_account_list', arguments: { top: 100 } }));
      const names: string[] = [];
      let cursor: string | undefined;
      do {
        const out = structured(await client.callTool({ name: 'storage_account_list', arguments: { top: 1, ...(cursor ? { cursor } : {}) } }));
        names.push(...(out.accounts as { name: string }[]).map((account) => account.name));
        cursor = out.nextCursor as string | undefined;
      } while (cursor);
      expect(names).toEqual((all.accounts as { name: string }[]).map((account) => account.name));
      expect(names.length).toBeGreaterThanOrEqual(5);
    });

    it('pages through the activity log by time without repeats', async () => {
      const all = structured(await client.callTool({ name: 'monitor_activity_log_list', arguments: { days: 14, top: 100 } }));
      const ids: string[] = [];
      let cursor: string | undefined;
      do {
        const out = structured(await client.callTool({ name: 'monitor_activity_log_list', arguments: { days: 14, top: 7, ...(cursor ? { cursor } : {}) } }));
        ids.push(...(out.events as { id: string }[]).map((event) => event.id));
        cursor = out.nextCursor as string | undefined;
      } while (cursor);
      expect(ids).toEqual((all.events as { id: string }[]).map((event) => event.id));
    });

    it('refuses a forged cursor that points the identity at another host', async () => {
      const forged = Buffer.from(JSON.stringify({ link: 'https://attacker.example/subscriptions/x', offset: 0 })).toString('base64url');
      const result = await client.callTool({ name: 'group_resource_list', arguments: { resourceGroup: 'rg-ddr-casework-prod-uks', cursor: forged } });
      expect(result.isError).toBe(true);
      expect(JSON.stringify(result.content)).toContain('invalid_arguments');
    });

    it('refuses a cursor that moves a listing to another collection on the same host', async () => {
      // The containers of an account without a customer-managed key, which storage_container_list refuses.
      const sneaky = `${stack.sandbox.armUrl}/subscriptions/${stack.sandbox.subscriptionId}/resourceGroups/rg-ddr-records-dev-uks/providers/Microsoft.Storage/storageAccounts/stddrrecordsdev/blobServices/default/containers?api-version=2024-01-01`;
      const otherGroup = `${stack.sandbox.armUrl}/subscriptions/${stack.sandbox.subscriptionId}/resourceGroups/rg-ddr-sandbox-neu/resources?api-version=2024-01-01`;
      for (const link of [sneaky, otherGroup]) {
        const cursor = Buffer.from(JSON.stringify({ link, offset: 0 })).toString('base64url');
        const result = await client.callTool({ name: 'group_resource_list', arguments: { resourceGroup: 'rg-ddr-records-dev-uks', cursor } });
        expect(result.isError).toBe(true);
        expect(JSON.parse((result.content as { text: string }[])[0]!.text).error.code).toBe('invalid_arguments');
      }
    });

    it('answers invalid arguments with an isError result the agent can act on', async () => {
      const result = await client.callTool({ name: 'group_get', arguments: { name: 'bad name with spaces' } });
      expect(result.isError).toBe(true);
      const error = JSON.parse((result.content as { text: string }[])[0]!.text).error;
      expect(error.code).toBe('invalid_arguments');
      expect(error.message).toMatch(/name/);
    });

    it('refuses a resource group outside the managed scope before calling Azure', async () => {
      const result = await client.callTool({ name: 'group_get', arguments: { name: 'rg-ddr-sandbox-neu' } });
      expect(result.isError).toBe(true);
      expect(JSON.parse((result.content as { text: string }[])[0]!.text).error.code).toBe('out_of_scope');
    });

    it('refuses data-plane access to an account without a customer-managed key', async () => {
      const result = await client.callTool({
        name: 'storage_container_list',
        arguments: { resourceGroup: 'rg-ddr-records-dev-uks', account: 'stddrrecordsdev' },
      });
      expect(result.isError).toBe(true);
      expect((result.content as { text: string }[])[0]!.text).toMatch(/customer-managed key/);
    });

    it('reports a missing resource as not_found', async () => {
      const result = await client.callTool({ name: 'keyvault_key_get', arguments: { name: 'no-such-key' } });
      expect(result.isError).toBe(true);
      expect(JSON.parse((result.content as { text: string }[])[0]!.text).error.code).toBe('not_found');
    });

    it('answers an unknown tool with a JSON-RPC invalid-params error', async () => {
      await expect(client.callTool({ name: 'storage_everything_delete', arguments: {} })).rejects.toThrow(/Unknown tool/);
    });
  });

  describe('MCP router with the official v1 client (protocol 2025-11-25)', () => {
    let client: ClientV1;
    beforeAll(async () => {
      client = await connectV1();
    });
    afterAll(async () => client?.close());

    it('initialises on the 2025 protocol and lists the same tools', async () => {
      expect(client.getServerVersion()?.name).toBe('sovereign-mcp');
      const { tools } = await client.listTools();
      expect(tools.map((tool) => tool.name).sort()).toEqual(READ_CALLS.map(([name]) => name).sort());
    });

    it.each(READ_CALLS)('calls %s', async (name, args, check) => {
      check(structured(await client.callTool({ name, arguments: args })));
    });
  });

  describe('protocol 2025-06-18 clients', () => {
    it('are served by the stateless legacy path', async () => {
      const response = await fetch(stack.mcpUrl, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'initialize',
          params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'old-client', version: '0.1' } },
        }),
      });
      expect(response.status).toBe(200);
      const text = await response.text();
      const message = JSON.parse(text.startsWith('{') ? text : (/^data: (.*)$/m.exec(text)?.[1] ?? '{}'));
      expect(message.result.protocolVersion).toBe('2025-06-18');
      expect(message.result.serverInfo.name).toBe('sovereign-mcp');
    });
  });
});
