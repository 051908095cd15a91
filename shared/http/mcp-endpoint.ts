import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import type { App } from '../app.js';
import type { McpCallContext } from '../mcp/server-factory.js';
import { authenticateRequest, checkHostAndOrigin, correlationIdOf, readBody, resourceMetadataUrl, type Refusal } from './edge.js';
import { fromWebResponse, jsonRpcErrorResponse } from './responses.js';

const refuse = (refusal: Refusal): HttpResponseInit => jsonRpcErrorResponse(refusal.status, -32000, refusal.message, refusal.headers);

/**
 * POST /mcp: MCP Streamable HTTP, stateless. The edge checks (method, Host/Origin, body size, bearer token) run
 * here, before the SDK sees the request; the SDK then validates protocol headers and JSON-RPC, and every
 * tools/call goes through the shared pipeline.
 */
export async function handleMcp(app: App, request: HttpRequest): Promise<HttpResponseInit> {
  if (request.method !== 'POST') {
    // No sessions and no standalone SSE stream: GET and DELETE have nothing to serve.
    return jsonRpcErrorResponse(405, -32000, 'Method not allowed: this server is stateless; send JSON-RPC with POST.', { allow: 'POST' });
  }
  const hostRefusal = checkHostAndOrigin(request, app.settings);
  if (hostRefusal) return refuse(hostRefusal);

  const body = await readBody(request, app.settings.maxBodyBytes);
  if ('status' in body) return refuse(body);

  const auth = await authenticateRequest(request, app.authenticate, resourceMetadataUrl(request, '/mcp'));
  if ('status' in auth) return refuse(auth);

  // JSON-RPC batches were removed from MCP in 2025-06-18; one HTTP request carries one message, so every call is
  // authorised, rate-limited and audited on its own.
  if (startsWithArray(body.bytes)) {
    return jsonRpcErrorResponse(400, -32600, 'Invalid Request: batches are not supported; send one JSON-RPC message per request.');
  }

  const call: McpCallContext = { caller: auth.caller, correlationId: correlationIdOf(request) };
  const webRequest = new Request(request.url, {
    method: 'POST',
    headers: request.headers as unknown as Headers,
    body: body.bytes.byteLength > 0 ? body.bytes : null,
  });
  const response = await app.mcp.fetch(webRequest, {
    authInfo: {
      // The raw token stays at the edge: nothing downstream needs it, and it is never passed on to Azure.
      token: '',
      clientId: auth.caller.clientAppId ?? '',
      scopes: [...auth.caller.scopes],
      expiresAt: auth.caller.expiresAt,
      extra: { sovereign: call },
    },
  });
  return fromWebResponse(response);
}

function startsWithArray(bytes: Uint8Array): boolean {
  for (const byte of bytes) {
    if (byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d) continue;
    return byte === 0x5b; // '['
  }
  return false;
}
