import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { request as httpRequest } from 'node:http';
import { acquireSharedStackWith } from './helpers/shared-stack.js';
import type { TestStack } from './helpers/stack.js';
import { TOOLS } from '../shared/tools/registry.js';

describe('http-edge', () => {
  let stack: TestStack;
  let token: string;

  beforeAll(async () => {
    stack = await acquireSharedStackWith({ MCP_MAX_BODY_BYTES: '65536' });
    token = await stack.token();
  });
  afterAll(async () => stack?.stop());

  const initialize = {
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
  };

  function post(body: string, headers: Record<string, string> = {}) {
    return fetch(stack.mcpUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${token}`, ...headers },
      body,
    });
  }

  /** fetch cannot set Host; node:http can. */
  function postWithHost(host: string): Promise<{ status: number; body: string }> {
    const url = new URL(stack.mcpUrl);
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        {
          host: url.hostname,
          port: url.port,
          path: url.pathname,
          method: 'POST',
          headers: { host, 'content-type': 'application/json', authorization: `Bearer ${token}` },
        },
        (res) => {
          let body = '';
          res.on('data', (chunk) => (body += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('error', reject);
      req.end(JSON.stringify(initialize));
    });
  }

  async function rpcError(response: Response): Promise<{ code: number; message: string }> {
    const text = await response.text();
    const json = JSON.parse(text.startsWith('{') ? text : (/^data: (.*)$/m.exec(text)?.[1] ?? '{}'));
    return json.error;
  }

  describe('authentication at the MCP edge', () => {
    it('answers a request without a token with 401 and the protected-resource challenge', async () => {
      const response = await post(JSON.stringify(initialize), { authorization: '' });
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe(
        `Bearer resource_metadata="${stack.baseUrl}/.well-known/oauth-protected-resource/mcp", error="invalid_request", error_description="A bearer token is required in the Authorization header."`,
      );
    });

    it('answers a token for another audience with 401 invalid_token', async () => {
      const wrong = await stack.sandbox.mintToken({
        audience: 'api://someone-else',
        tenantId: stack.sandbox.tenantId,
        oid: 'a0a0a0a0-0000-4000-8000-0000000000e1',
        roles: ['Mcp.Reader'],
      });
      const response = await post(JSON.stringify(initialize), { authorization: `Bearer ${wrong}` });
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toContain('error="invalid_token"');
      expect((await rpcError(response)).message).toMatch(/audience/);
    });

    it('answers an expired token with 401', async () => {
      const expired = await stack.sandbox.mintToken({
        audience: 'api://sovereign-mcp',
        tenantId: stack.sandbox.tenantId,
        oid: 'a0a0a0a0-0000-4000-8000-0000000000e1',
        roles: ['Mcp.Reader'],
        ttlSeconds: -600,
        notBeforeSeconds: -1200,
      });
      const response = await post(JSON.stringify(initialize), { authorization: `Bearer ${expired}` });
      expect(response.status).toBe(401);
      expect((await rpcError(response)).message).toMatch(/expired/);
    });

    it('refuses an ID token for the same app (no scope, not app-only) with 401', async () => {
      const idToken = await stack.sandbox.mintToken({
        audience: 'api://sovereign-mcp',
        tenantId: stack.sandbox.tenantId,
        oid: 'a0a0a0a0-0000-4000-8000-0000000000e2',
        subject: 'pairwise-subject',
        roles: ['Mcp.Reader'],
      });
      const response = await post(JSON.stringify(initialize), { authorization: `Bearer ${idToken}` });
      expect(response.status).toBe(401);
      expect((await rpcError(response)).message).toMatch(/not an access token/);
    });

    it('refuses a delegated token without the API scope with 403 insufficient_scope', async () => {
      const other = await stack.sandbox.mintToken({
        audience: 'api://sovereign-mcp',
        tenantId: stack.sandbox.tenantId,
        oid: 'a0a0a0a0-0000-4000-8000-0000000000e2',
        roles: ['Mcp.Reader'],
        extra: { scp: 'User.Read' },
      });
      const response = await post(JSON.stringify(initialize), { authorization: `Bearer ${other}` });
      expect(response.status).toBe(403);
      expect(response.headers.get('www-authenticate')).toContain('error="insufficient_scope"');
    });

    it('accepts an app-only token (a hosted agent with an app role)', async () => {
      const appOnly = await stack.sandbox.mintToken({
        audience: 'api://sovereign-mcp',
        tenantId: stack.sandbox.tenantId,
        oid: 'a0a0a0a0-0000-4000-8000-0000000000e3',
        azp: 'agent-client-id',
        roles: ['Mcp.Reader'],
      });
      const response = await post(JSON.stringify(initialize), { authorization: `Bearer ${appOnly}` });
      expect(response.status).toBe(200);
    });

    it('refuses a token passed in the query string', async () => {
      const response = await fetch(`${stack.mcpUrl}?access_token=${token}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify(initialize),
      });
      expect(response.status).toBe(401);
    });

    it('serves protected-resource metadata naming the issuer', async () => {
      for (const path of ['/.well-known/oauth-protected-resource', '/.well-known/oauth-protected-resource/mcp']) {
        const response = await fetch(`${stack.baseUrl}${path}`);
        expect(response.status).toBe(200);
        expect(await response.json()).toEqual({
          resource: stack.mcpUrl,
          authorization_servers: [stack.sandbox.issuer],
          scopes_supported: ['api://sovereign-mcp/Mcp.Access'],
          bearer_methods_supported: ['header'],
          resource_name: 'Sovereign MCP',
        });
      }
    });
  });

  describe('transport rules', () => {
    it('answers GET and DELETE /mcp with 405', async () => {
      for (const method of ['GET', 'DELETE']) {
        const response = await fetch(stack.mcpUrl, { method, headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' } });
        expect(response.status).toBe(405);
        expect(response.headers.get('allow')).toBe('POST');
      }
    });

    it('refuses a foreign Host header with 403 (DNS rebinding)', async () => {
      const response = await postWithHost('evil.example:7071');
      expect(response.status).toBe(403);
      expect(JSON.parse(response.body).error.message).toMatch(/Host/i);
    });

    it('refuses a foreign browser Origin with 403', async () => {
      const response = await post(JSON.stringify(initialize), { origin: 'https://evil.example' });
      expect(response.status).toBe(403);
    });

    it('accepts an allowed Origin', async () => {
      const response = await post(JSON.stringify(initialize), { origin: 'http://localhost:6274' });
      expect(response.status).toBe(200);
    });

    it('answers an oversized body with 413 before parsing it', async () => {
      const response = await post(JSON.stringify({ ...initialize, padding: 'x'.repeat(70_000) }));
      expect(response.status).toBe(413);
    });

    it('answers 413 to an oversized body sent in pieces without a length, and goes on serving', async () => {
      const piece = new TextEncoder().encode(' '.repeat(16 * 1024));
      let sent = 0;
      const pieces = new ReadableStream<Uint8Array>({
        pull(controller) {
          // Past the 64 KiB cap and on: the server must stop reading, not wait for the end.
          if (sent++ < 64) controller.enqueue(piece);
          else controller.close();
        },
      });
      const response = await fetch(stack.mcpUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${token}` },
        body: pieces,
        duplex: 'half',
      });
      expect(response.status).toBe(413);
      expect(((await response.json()) as { error: { message: string } }).error.message).toMatch(/exceeds the limit of 65536 bytes/);
      expect((await post(JSON.stringify(initialize))).status).toBe(200);
    });

    it("answers malformed JSON with the SDK's JSON-RPC parse error, after the SDK's own header checks", async () => {
      for (const body of ['{"jsonrpc": "2.0", "id": 1, "method": ', `{"jsonrpc":"2.0","id":1,"method":"ping"} ${'x'.repeat(50_000)}`, '   ']) {
        const response = await post(body);
        expect(response.status).toBe(400);
        expect(await rpcError(response)).toEqual({ code: -32700, message: 'Parse error: Invalid JSON' });
      }
      const unacceptable = await post('{"jsonrpc": ', { accept: 'application/json' });
      expect(unacceptable.status).toBe(406);
      expect((await rpcError(unacceptable)).message).toMatch(/^Not Acceptable/);
    });

    it('answers a JSON body that is not JSON-RPC with an invalid-request error', async () => {
      const response = await post(JSON.stringify({ hello: 'world' }));
      expect(response.status).toBe(400);
      expect((await rpcError(response)).code).toBe(-32600);
    });

    it('refuses JSON-RPC batches, which the protocol no longer allows, even behind a byte-order mark', async () => {
      const ping = { jsonrpc: '2.0', method: 'ping' };
      for (const prefix of ['', ' \n', '\uFEFF']) {
        const response = await post(
          prefix +
            JSON.stringify([
              { ...ping, id: 1 },
              { ...ping, id: 2 },
            ]),
        );
        expect(response.status).toBe(400);
        expect(await rpcError(response)).toEqual({ code: -32600, message: expect.stringMatching(/batches are not supported/) });
      }
    });

    it('refuses an unsupported MCP-Protocol-Version header', async () => {
      const response = await post(JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'tools/list' }), { 'mcp-protocol-version': '1999-01-01' });
      expect(response.status).toBe(400);
      expect((await rpcError(response)).message).toMatch(/Unsupported protocol version/);
    });

    it('answers a request that does not accept JSON and SSE with 406', async () => {
      const response = await post(JSON.stringify(initialize), { accept: 'text/html' });
      expect(response.status).toBe(406);
    });

    it('answers a non-JSON content type with 415', async () => {
      const response = await post(JSON.stringify(initialize), { 'content-type': 'text/plain' });
      expect(response.status).toBe(415);
    });

    it('serves /health without authentication', async () => {
      const response = await fetch(`${stack.baseUrl}/health`);
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ status: 'ok', name: 'sovereign-mcp', tools: TOOLS.length, package: 'development build' });
    });
  });
});
