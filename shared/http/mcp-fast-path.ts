import type { HttpRequest } from '@azure/functions';
import {
  isJsonContentType,
  PROTOCOL_VERSION_META_KEY,
  specTypeSchemas,
  SUPPORTED_PROTOCOL_VERSIONS,
  type CallToolRequest,
  type CallToolResult,
  type StandardSchemaV1Sync,
} from '@modelcontextprotocol/server';
import type { Pipeline } from '../pipeline/run-tool.js';
import type { CatalogueEntry } from '../mcp/catalogue-entry.js';
import type { McpCallContext } from '../mcp/server-factory.js';
import { auditedServerBodies, auditedServerBody, type AuditedBody } from '../audit/body.js';
import { isAuditing, noteResponseBody } from '../audit/audit-writer.js';

/** A JSON-RPC id as the SDK echoes it. */
type RequestId = string | number;

/**
 * The app's own answer to the three hot methods — `ping`, `tools/list` and `tools/call` — for the requests the SDK
 * would hand straight to their handlers, without the SDK's per-request server, transport and SSE stream:
 * `tools/list` from bytes built once per set of visible tools, the request parsed once (by the edge), the answer as
 * JSON (the Streamable HTTP spec lets a server answer a POST with application/json; these clients accept it).
 *
 * It answers only what it can prove the SDK answers the same way (test/mcp-fast-path.test.ts sends the same
 * requests down both paths): a 2025-era (legacy) request the SDK's own classifier routes to its stateless
 * fallback, with the headers that fallback requires, a message the SDK's own schemas accept, and for tools/call a
 * tool in the catalogue and no progress token (progress streams, as SSE). Everything else — initialize,
 * notifications, unknown methods, 2026-07-28 requests, malformed params, protocol errors — returns undefined and
 * goes to the SDK. The checks before it (Host/Origin, token, body, JSON limits, batches) ran at the edge, and a
 * tool call runs through the same pipeline (rate limit, Cedar, validation, approvals, audit readiness, shield).
 */
export interface McpFastPath {
  /** The answer's JSON text (tools/list: its UTF-8 bytes, in parts), or undefined when the SDK must answer. */
  answer(request: HttpRequest, message: unknown, call: McpCallContext): Promise<string | readonly Uint8Array[] | undefined>;
}

const HOT_METHODS = new Set(['ping', 'tools/list', 'tools/call']);

export function createMcpFastPath(
  pipeline: Pipeline,
  catalogue: ReadonlyMap<string, CatalogueEntry>,
  projectCallToolResult: (result: CallToolResult, outputSchema: CatalogueEntry['outputSchema']) => CallToolResult,
): McpFastPath {
  /**
   * Per set of visible tools (the policy offers tools by role set): the answer up to its id,
   * `{"result":{"tools":[…]},"jsonrpc":"2.0","id":`, as UTF-8 bytes (encoded once, not per answer), and its audit copy,
   * hashed that far once.
   */
  const listings = new Map<string, { start: Buffer; audited: (end: string) => AuditedBody }>();
  const listing = (call: McpCallContext, id: RequestId): readonly Uint8Array[] => {
    const visible = pipeline.visibleTools(call.caller);
    const key = visible.map((tool) => tool.name).join(',');
    let built = listings.get(key);
    if (built === undefined) {
      const tools = visible.map((tool) => catalogue.get(tool.name) as CatalogueEntry);
      const start = `{"result":${JSON.stringify({ tools })},"jsonrpc":"2.0","id":`;
      built = { start: Buffer.from(start, 'utf8'), audited: auditedServerBodies(start) };
      listings.set(key, built);
    }
    const end = `${JSON.stringify(id)}}`;
    if (isAuditing()) noteResponseBody(built.audited(end));
    // Sent as two parts: the cached bytes are read, never copied or changed (see jsonPartsResponse).
    return [built.start, Buffer.from(end, 'utf8')];
  };
  const respond = (result: unknown, id: RequestId) => JSON.stringify({ result, jsonrpc: '2.0', id });

  return {
    async answer(request, message, call) {
      const hot = hotRequest(request, message);
      if (!hot) return undefined;
      const { id, method, toolCall } = hot;
      if (method === 'ping') return serverAnswer(respond({}, id));
      if (method === 'tools/list') return listing(call, id);
      if (!toolCall) return undefined;
      const params = toolCall.params;
      const entry = catalogue.get(params.name);
      // An unknown tool is the SDK's protocol error; progress is streamed as server-sent events: both to the SDK.
      if (!entry || params._meta?.progressToken !== undefined) return undefined;
      const { result } = await pipeline.run({
        toolName: params.name,
        args: params.arguments ?? {},
        caller: call.caller,
        correlationId: call.correlationId,
        origin: call.origin,
      });
      const projected = projectCallToolResult(result, entry.outputSchema);
      const checked = validated(specTypeSchemas.CallToolResult, projected);
      // As the SDK answers a result its wire schema refuses (never expected: results are framed by the pipeline).
      if (!checked) return JSON.stringify({ jsonrpc: '2.0', id, error: { code: -32602, message: 'Invalid tools/call result' } });
      return respond(checked, id);
    },
  };
}

/** The value as the SDK's wire schema reads it, or undefined when the schema refuses it. */
function validated<I, T>(schema: StandardSchemaV1Sync<I, T>, value: unknown): T | undefined {
  const outcome = schema['~standard'].validate(value);
  return outcome.issues ? undefined : (outcome as { value: T }).value;
}

/** A result of the server's own content (tools/list, ping): capped and hashed for the audit, not redacted. */
function serverAnswer(answer: string): string {
  noteResponseBody(auditedServerBody(answer));
  return answer;
}

/**
 * The request's id and method when the SDK would dispatch it, unchanged, to the handler of a hot method on its
 * 2025-era stateless path; undefined for anything else. Each condition is one the SDK checks on that path, in the
 * SDK's own words where it exports them (the media-type check, the wire schemas), and its era rule as
 * `servedAsLegacy` states it.
 */
function hotRequest(request: HttpRequest, message: unknown): { id: RequestId; method: string; toolCall?: CallToolRequest } | undefined {
  if (!message || typeof message !== 'object' || Array.isArray(message)) return undefined;
  const method = (message as { method?: unknown }).method;
  if (typeof method !== 'string' || !HOT_METHODS.has(method)) return undefined;
  const headers = request.headers;
  if (!isJsonContentType(headers.get('content-type'))) return undefined;
  // The SDK's stateless transport wants both media types accepted (a substring test, as it does).
  const accept = headers.get('accept');
  if (!accept?.includes('application/json') || !accept.includes('text/event-stream')) return undefined;
  // A version the SDK's 2025-era transport would refuse goes to it; so does a 2026-07-28 one (never in this list).
  const version = headers.get('mcp-protocol-version');
  if (version !== null && !SUPPORTED_PROTOCOL_VERSIONS.includes(version)) return undefined;
  if (!servedAsLegacy(message)) return undefined;
  const id = (message as { id: RequestId }).id;
  if (method === 'tools/call') {
    // Read once: what the handler is given is what the SDK's schema made of the params.
    const toolCall = validated(specTypeSchemas.CallToolRequest, message);
    return toolCall ? { id, method, toolCall } : undefined;
  }
  const ownSchema = method === 'ping' ? validated(specTypeSchemas.PingRequest, message) : validated(specTypeSchemas.ListToolsRequest, message);
  return ownSchema ? { id, method } : undefined;
}

/**
 * Whether the SDK's era classifier (`classifyInboundRequest`) sends this message — a request for a method other than
 * `initialize`, POSTed with no MCP-Protocol-Version header or a 2025-era one (the fast path takes no other) — to its
 * 2025-era path as a request: exactly when it is a valid JSON-RPC request (the SDK's strict schema, which also rules
 * out both kinds of response) and its params carry no 2026-07-28 envelope claim (the protocol-version key in `_meta`).
 * Decided from those facts rather than by the classifier itself, whose two failing response parses cost about 37 µs
 * a call; test/mcp-fast-path-era.test.ts checks on random requests that the two agree.
 */
export function servedAsLegacy(message: unknown): boolean {
  if (!validated(specTypeSchemas.JSONRPCRequest, message)) return false;
  const params = (message as { params?: unknown }).params;
  const meta = isPlainObject(params) ? params['_meta'] : undefined;
  // `in`, as the SDK asks: a claim is the key's presence, whatever its value.
  return !(isPlainObject(meta) && PROTOCOL_VERSION_META_KEY in meta);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
