import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import type { App } from '../app.js';
import type { McpCallContext } from '../mcp/server-factory.js';
import { authenticateRequest, checkHostAndOrigin, publicOrigin, readBody, requestCorrelationId, resourceMetadataUrl, type Refusal } from './edge.js';
import { auditedBodyInTurns, auditedServerBody } from '../audit/body.js';
import { fromWebResponse, jsonPartsResponse, jsonRpcErrorResponse, jsonTextResponse } from './responses.js';
import { createMcpFastPath, type McpFastPath } from './mcp-fast-path.js';
import { toolResultProjector } from '../mcp/server-factory.js';
import { jsonLimitExceeded } from '../text/json-limits.js';
import { PIECE_BYTES, type ReceivedBody } from './received-body.js';
import { nextTurn } from '../runtime/next-turn.js';
import { parseJsonBody } from './json-body.js';
import { stepUpRefusal } from './step-up-refusal.js';
import { auditedJsonRpcMethod, isAuditing, noteDenial, noteInAudit } from '../audit/audit-writer.js';

const refuse = (refusal: Refusal): HttpResponseInit => jsonRpcErrorResponse(refusal.status, -32000, refusal.message, refusal.headers);

/** Methods whose successful answer is the server's own fixed content (no caller or Azure data). */
const SERVER_AUTHORED = new Set(['tools/list', 'initialize', 'ping']);

/** What the SDK is given for a body that is not JSON (see below): not JSON either. */
const NOT_JSON_STAND_IN = 'not JSON';

/** Headers that stay at the edge: the SDK never needs the caller's credentials. */
const EDGE_ONLY_HEADERS = ['authorization', 'cookie', 'proxy-authorization'];

/**
 * POST /mcp: MCP Streamable HTTP, stateless. The edge checks (method, Host/Origin, bearer token, body size, one
 * message per request) run here, before the SDK sees the request; the SDK then validates protocol headers and
 * JSON-RPC, and every tools/call goes through the shared pipeline.
 */
export async function handleMcp(app: App, request: HttpRequest): Promise<HttpResponseInit> {
  if (request.method !== 'POST') {
    // No sessions and no standalone SSE stream: GET and DELETE have nothing to serve.
    return jsonRpcErrorResponse(405, -32000, 'Method not allowed: this server is stateless; send JSON-RPC with POST.', { allow: 'POST' });
  }
  const hostRefusal = checkHostAndOrigin(request, app.settings);
  if (hostRefusal) return refuse(hostRefusal);

  // Authenticate before reading the body, so anonymous callers cannot make the server buffer anything.
  const auth = await authenticateRequest(request, app.authenticate, resourceMetadataUrl(request, app.settings, '/mcp'), app.settings.onBehalfOf !== undefined);
  if ('status' in auth) return refuse(auth);

  const body = await readBody(request, app.settings.maxBodyBytes);
  if ('status' in body) return refuse(body);

  // Its shape, measured on the text as it arrived, is checked before anything parses or walks it (the audit and the
  // SDK included).
  const tooComplex = jsonLimitExceeded(body.shape);
  if (tooComplex) {
    await noteJsonRpc(body, undefined);
    return jsonRpcErrorResponse(400, -32600, `Invalid Request: ${tooComplex}`);
  }
  // Parsed here (the text was decoded as the SDK would, byte-order mark dropped) so the batch check sees what the
  // SDK sees. Not JSON: the SDK answers with the JSON-RPC parse error.
  const json = await parseJsonBody(body);
  const parsed = json.ok ? json.value : undefined;
  // Auditing and the SDK's own checks each cost in proportion to a large body: a turn of the event loop between
  // them keeps other requests (/health) from waiting behind both at once.
  await noteJsonRpc(body, parsed);
  if (body.byteLength > PIECE_BYTES) await nextTurn();
  // JSON-RPC batches were removed from MCP in 2025-06-18; one HTTP request carries one message, so every call is
  // authorised, rate-limited and audited on its own.
  if (Array.isArray(parsed)) {
    return jsonRpcErrorResponse(400, -32600, 'Invalid Request: batches are not supported; send one JSON-RPC message per request.');
  }
  const notRun = requestSentAsNotification(parsed);
  if (notRun) return notRun;
  const toolName = calledTool(parsed);
  const stepUp = toolName === undefined ? undefined : stepUpRefusal(app, request, auth.caller, toolName);
  if (stepUp) return refuse(stepUp);

  const call: McpCallContext = { caller: auth.caller, correlationId: requestCorrelationId(), origin: publicOrigin(request, app.settings) };
  const fast = app.settings.mcpSdkPathOnly ? undefined : await fastPathOf(app).answer(request, parsed, call);
  if (fast !== undefined) return typeof fast === 'string' ? jsonTextResponse(200, fast) : jsonPartsResponse(200, fast);

  const headers = new Headers(request.headers);
  for (const name of EDGE_ONLY_HEADERS) headers.delete(name);
  // The SDK reads the body only when it is not handed the parsed message: the body is not JSON, and the SDK answers
  // with its parse error (after its own header checks), whatever the text. So it is handed a stand-in that is not
  // JSON either, not the body: reading, decoding and parsing 4 MiB twice over (its router, then its transport)
  // held the event loop for 40-80 ms.
  const webRequest = new Request(request.url, {
    method: 'POST',
    headers,
    ...(parsed === undefined && body.byteLength > 0 ? { body: NOT_JSON_STAND_IN } : {}),
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
    ...(parsed !== undefined ? { parsedBody: parsed } : {}),
  });
  const method = auditedJsonRpcMethod();
  if (!isAuditing() || method === 'tools/call') {
    // A tool call may stream progress; its result is audited by the pipeline, so the stream passes untouched.
    return fromWebResponse(response);
  }
  // Everything else (initialize, tools/list, ping, protocol errors) is small and immediate: kept for the audit.
  const answer = await response.text();
  const message = jsonRpcMessage(answer);
  // Only a result is the server's own content; an error may quote what the caller sent, so it is redacted.
  const ownContent = SERVER_AUTHORED.has(method ?? '') && message?.result !== undefined && message.error === undefined;
  const error = message?.error?.message;
  noteInAudit({
    responseBody: ownContent ? auditedServerBody(answer) : await auditedBodyInTurns(answer),
    ...(response.status >= 400 && typeof error === 'string' ? { reason: error } : {}),
  });
  return { ...fromWebResponse(response), body: answer };
}

/** The fast path of each app, built with its first request (the tools/list bytes then per set of visible tools). */
const fastPaths = new WeakMap<App, McpFastPath>();
function fastPathOf(app: App): McpFastPath {
  let fast = fastPaths.get(app);
  if (!fast) fastPaths.set(app, (fast = createMcpFastPath(app.pipeline, app.catalogue, toolResultProjector())));
  return fast;
}

/**
 * A request method (`tools/call`, `tools/list`, ...) sent without an id is a JSON-RPC notification: the SDK accepts
 * it with 202 and runs nothing, so a client would believe its call was taken. It is refused instead (400, as MCP
 * Streamable HTTP allows for a notification the server cannot accept) and audited as the denial it is. Real
 * notifications (`notifications/initialized`, `notifications/cancelled`, ...) pass to the SDK as before.
 */
function requestSentAsNotification(parsed: unknown): HttpResponseInit | undefined {
  if (!parsed || typeof parsed !== 'object' || 'id' in parsed) return undefined;
  const method = (parsed as { method?: unknown }).method;
  if (typeof method !== 'string' || method.startsWith('notifications/')) return undefined;
  const what = method === 'tools/call' ? 'A tool call' : `"${method.slice(0, 100)}" is a request: it`;
  const message = `Invalid Request: ${what} needs an id; sent as a notification (without an id) it is not run. Send it again with an id.`;
  noteDenial('edge.notification-not-run', message, { outcome: 'denied' });
  return jsonRpcErrorResponse(400, -32600, message);
}

/** The tool a tools/call request names, if it is one. */
function calledTool(parsed: unknown): string | undefined {
  if (!parsed || typeof parsed !== 'object') return undefined;
  const message = parsed as { method?: unknown; params?: { name?: unknown } };
  return message.method === 'tools/call' && typeof message.params?.name === 'string' ? message.params.name : undefined;
}

/** The JSON-RPC message of an answer, sent as JSON or as one server-sent event. */
function jsonRpcMessage(answer: string): { result?: unknown; error?: { message?: unknown } } | undefined {
  // linear: each attempt starts at a line start and `.*` stops at that line's end, where `$` matches: one pass.
  const json = answer.trimStart().startsWith('{') ? answer : /^data: (.*)$/m.exec(answer)?.[1];
  try {
    const message = JSON.parse(json ?? '') as unknown;
    return message && typeof message === 'object' ? message : undefined;
  } catch {
    return undefined;
  }
}

/** The request as the audit keeps it: method, what the client says it is (informational only), redacted body. */
async function noteJsonRpc(body: ReceivedBody, parsed: unknown): Promise<void> {
  noteInAudit({ requestBody: await auditedBodyInTurns(body.text, parsed === undefined ? 'text' : { json: parsed }, body.digest) });
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return;
  const message = parsed as { method?: unknown; params?: { name?: unknown; clientInfo?: unknown; _meta?: Record<string, unknown> } };
  if (typeof message.method === 'string') noteInAudit({ jsonRpcMethod: message.method.slice(0, 100) });
  if (message.method === 'tools/call' && typeof message.params?.name === 'string') noteInAudit({ tool: message.params.name.slice(0, 100) });
  const info = (message.params?.clientInfo ?? message.params?._meta?.['io.modelcontextprotocol/clientInfo']) as
    { name?: unknown; version?: unknown } | undefined;
  if (info && typeof info === 'object') {
    noteInAudit({
      mcpClient: {
        ...(typeof info.name === 'string' ? { name: info.name.slice(0, 100) } : {}),
        ...(typeof info.version === 'string' ? { version: info.version.slice(0, 50) } : {}),
      },
    });
  }
}
