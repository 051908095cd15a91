import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { acquireSharedStack } from './helpers/shared-stack.js';
import type { TestStack } from './helpers/stack.js';
import { SHIELD_META_KEY } from '../shared/pipeline/run-tool.js';

describe('entrances', () => {
  let stack: TestStack;
  let token: string;
  let client: Client;

  beforeAll(async () => {
    stack = await acquireSharedStack();
    token = await stack.token({ roles: ['Mcp.Reader'] });
    client = new Client({ name: 'entrance-test', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
    await client.connect(new StreamableHTTPClientTransport(new URL(stack.mcpUrl), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
  });
  afterAll(async () => {
    await client?.close();
    await stack?.stop();
  });

  function callTool(name: string, body: unknown, bearer = token) {
    return fetch(`${stack.baseUrl}/tools/${name}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}` },
      body: JSON.stringify(body),
    });
  }

  describe('POST /tools/{name}', () => {
    it.each([
      ['storage_account_get', { resourceGroup: 'rg-ddr-casework-prod-uks', name: 'stddrcasework' }],
      ['group_list', { top: 3 }],
      ['keyvault_key_get', { name: 'cmk-archive' }],
      ['access_whoami', {}],
    ])('gives the same result as POST /mcp for %s', async (name, args) => {
      const viaMcp = await client.callTool({ name, arguments: args });
      const response = await callTool(name, args);
      expect(response.status).toBe(200);
      const viaHttp = await response.json();
      // The MCP SDK adds its own _meta (server info) on the 2026 protocol; ours is the shield report.
      const shield = (viaMcp._meta as Record<string, unknown> | undefined)?.[SHIELD_META_KEY];
      expect(viaHttp).toEqual({
        content: viaMcp.content,
        structuredContent: viaMcp.structuredContent,
        ...(shield ? { _meta: { [SHIELD_META_KEY]: shield } } : {}),
      });
    });

    it('gives the same error result as /mcp, with a matching HTTP status', async () => {
      const args = { name: 'rg-ddr-legacy-weu' };
      const viaMcp = await client.callTool({ name: 'group_get', arguments: args });
      const response = await callTool('group_get', args);
      expect(response.status).toBe(403);
      const viaHttp = (await response.json()) as { content: { text: string }[]; isError: boolean };
      expect(viaHttp.isError).toBe(true);
      const strip = (text: string) => ({ ...JSON.parse(text).error, correlationId: undefined });
      expect(strip(viaHttp.content[0]!.text)).toEqual(strip((viaMcp.content as { text: string }[])[0]!.text));
    });

    it('answers invalid arguments with 400', async () => {
      const response = await callTool('storage_account_get', { resourceGroup: 'rg-ddr-casework-prod-uks', name: 'Not_Valid!' });
      expect(response.status).toBe(400);
      expect(JSON.parse(((await response.json()) as { content: { text: string }[] }).content[0]!.text).error.code).toBe('invalid_arguments');
    });

    it('answers a caller without an MCP role with 403 naming the missing role, and hides every tool from it', async () => {
      const roleless = await stack.token({ roles: [] });
      const response = await callTool('group_list', {}, roleless);
      expect(response.status).toBe(403);
      const error = JSON.parse(((await response.json()) as { content: { text: string }[] }).content[0]!.text).error;
      expect(error.message).toMatch(/Mcp\.Reader/);

      const listing = await fetch(stack.mcpUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${roleless}` },
        body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list', params: {} }),
      });
      const text = await listing.text();
      const message = JSON.parse(text.startsWith('{') ? text : (/^data: (.*)$/m.exec(text)?.[1] ?? '{}'));
      expect(message.result.tools).toEqual([]);
    });

    it('answers without a token with 401 and the challenge', async () => {
      const response = await fetch(`${stack.baseUrl}/tools/group_list`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toContain(`resource_metadata="${stack.baseUrl}/.well-known/oauth-protected-resource"`);
    });

    it('answers a body that is not a JSON object with 400, and a tool that does not exist with 404', async () => {
      expect((await callTool('group_list', [1, 2])).status).toBe(400);
      expect((await callTool('storage_everything_delete', {})).status).toBe(404);
    });
  });
});
