import type { HttpResponseInit } from '@azure/functions';

const SECURITY_HEADERS = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' };

export function jsonResponse(status: number, body: unknown, headers: Record<string, string> = {}): HttpResponseInit {
  return jsonTextResponse(status, JSON.stringify(body), headers);
}

/**
 * Past this many characters an answer is handed over as UTF-8 bytes: for a string body the Functions library makes a
 * well-formed (USV) string and the web Response encodes it, passes over the text: a 48 KB answer through HttpResponse
 * and the local host's write took 113-166 µs as a string and 62-78 µs as bytes (a loop of 3,000). Short answers cost
 * the same either way.
 */
const BYTES_PAST_CHARS = 4 * 1024;

/** A JSON answer already serialised (so it is serialised once), as text or as its UTF-8 bytes. */
export function jsonTextResponse(status: number, text: string | Uint8Array, headers: Record<string, string> = {}): HttpResponseInit {
  // Encoding replaces a lone surrogate with U+FFFD, as the runtime's conversion does.
  const body = typeof text === 'string' && text.length > BYTES_PAST_CHARS ? Buffer.from(text, 'utf8') : text;
  return { status, headers: { 'content-type': 'application/json', ...SECURITY_HEADERS, ...headers }, body };
}

/** Answers whose every byte was known when the handler returned: sent as parts, not an answer still being produced. */
const wholeAnswers = new WeakSet<ReadableStream<Uint8Array>>();

/**
 * A JSON answer made of parts already encoded (a cached listing and the request's id), handed over as a stream of
 * those parts: no step joins them into one buffer, and the Functions library does not copy them again (it copies a
 * byte body whole). Each part is only read, never changed or transferred. A 44 KB `tools/list` answer made three
 * copies of itself per call this way otherwise — and large buffers, counted as memory outside the heap, bring on
 * full collections of the heap (see README "Performance").
 */
export function jsonPartsResponse(status: number, parts: readonly Uint8Array[], headers: Record<string, string> = {}): HttpResponseInit {
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const part of parts) controller.enqueue(part);
      controller.close();
    },
  });
  wholeAnswers.add(body);
  return { status, headers: { 'content-type': 'application/json', ...SECURITY_HEADERS, ...headers }, body };
}

/** Whether a response body is a whole answer sent as parts (above), not a stream still being produced. */
export function isWholeAnswer(body: unknown): boolean {
  return body instanceof ReadableStream && wholeAnswers.has(body as ReadableStream<Uint8Array>);
}

/** A JSON-RPC error envelope, as MCP clients expect from /mcp even when the HTTP layer refuses. */
export function jsonRpcErrorResponse(status: number, code: number, message: string, headers: Record<string, string> = {}): HttpResponseInit {
  return jsonResponse(status, { jsonrpc: '2.0', id: null, error: { code, message } }, headers);
}

/** Passes a web-standard Response (what the MCP SDK returns) to the Functions host, streaming bodies untouched. */
export function fromWebResponse(response: Response): HttpResponseInit {
  const headers: Record<string, string> = { ...SECURITY_HEADERS };
  response.headers.forEach((value, name) => {
    headers[name] = value;
  });
  return { status: response.status, headers, body: response.body ?? undefined };
}
