import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import type { App } from '../app.js';
import {
  authenticateRequest,
  checkHostAndOrigin,
  isJsonContentType,
  publicOrigin,
  readBody,
  requestCorrelationId,
  resourceMetadataUrl,
  type Refusal,
} from './edge.js';
import { auditedBodyInTurns } from '../audit/body.js';
import { jsonResponse } from './responses.js';
import { jsonLimitExceeded } from '../text/json-limits.js';
import { nextTurn } from '../runtime/next-turn.js';
import { PIECE_BYTES } from './received-body.js';
import { parseJsonBody } from './json-body.js';
import { stepUpHeaders } from './step-up-refusal.js';
import { noteInAudit } from '../audit/audit-writer.js';

const refuse = (refusal: Refusal): HttpResponseInit =>
  jsonResponse(refusal.status, { error: { code: statusCode(refusal.status), message: refusal.message } }, refusal.headers);

function statusCode(status: number): string {
  return { 400: 'invalid_request', 401: 'unauthenticated', 403: 'forbidden', 413: 'payload_too_large', 415: 'unsupported_media_type' }[status] ?? 'error';
}

/**
 * POST /tools/{name}: the same pipeline as /mcp for gateways and automation. JSON arguments in; the same
 * CallToolResult out, with an HTTP status that matches the outcome (403 denied, 429 throttled, 504 timeout, ...).
 */
export async function handleToolCall(app: App, toolName: string, request: HttpRequest): Promise<HttpResponseInit> {
  noteInAudit({ tool: toolName });
  const hostRefusal = checkHostAndOrigin(request, app.settings);
  if (hostRefusal) return refuse(hostRefusal);
  if (!isJsonContentType(request)) return refuse({ status: 415, message: 'Send the tool arguments as application/json.' });

  // Authenticate before reading the body, so anonymous callers cannot make the server buffer anything.
  const auth = await authenticateRequest(request, app.authenticate, resourceMetadataUrl(request, app.settings, ''), app.settings.onBehalfOf !== undefined);
  if ('status' in auth) return refuse(auth);

  const body = await readBody(request, app.settings.maxBodyBytes);
  if ('status' in body) return refuse(body);

  const { text, digest } = body;
  // Its shape, measured on the text as it arrived, is checked before anything parses or walks it (the audit included).
  const tooComplex = jsonLimitExceeded(body.shape);
  if (tooComplex) {
    noteInAudit({ requestBody: await auditedBodyInTurns(text, 'text', digest) });
    return refuse({ status: 400, message: `The body was refused: ${tooComplex}` });
  }
  let args: unknown = {};
  if (body.byteLength > 0) {
    const json = await parseJsonBody(body);
    if (!json.ok) {
      noteInAudit({ requestBody: await auditedBodyInTurns(text, 'text', digest) });
      return refuse({ status: 400, message: 'The body is not valid JSON; send the tool arguments as a JSON object.' });
    }
    args = json.value;
  }
  // Auditing and validating each cost in proportion to a large body: a turn of the event loop between them keeps
  // other requests (/health) from waiting behind both at once.
  noteInAudit({ requestBody: await auditedBodyInTurns(text, body.byteLength > 0 ? { json: args } : 'text', digest) });
  if (body.byteLength > PIECE_BYTES) await nextTurn();
  if (typeof args !== 'object' || args === null || Array.isArray(args)) {
    return refuse({ status: 400, message: 'The body must be a JSON object of tool arguments.' });
  }

  const { result, error } = await app.pipeline.run({
    toolName,
    args,
    caller: auth.caller,
    correlationId: requestCorrelationId(),
    origin: publicOrigin(request, app.settings),
  });
  const retryAfter = error?.details.retryAfterSeconds;
  const stepUp = error?.code === 'step_up_required' ? String(error.details.authContext) : undefined;
  return jsonResponse(error ? error.httpStatus : 200, result, {
    ...(retryAfter !== undefined ? { 'retry-after': String(retryAfter) } : {}),
    ...(stepUp !== undefined && error ? stepUpHeaders(app, request, '', stepUp, error.message) : {}),
  });
}
