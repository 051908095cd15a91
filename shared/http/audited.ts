import type { HttpHandler, HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import type { App } from '../app.js';
import type { AuditRecord } from '../audit/record.js';
import { withAudit, type AuditDraft } from '../audit/scope.js';
import { redactedPrefix } from '../audit/body.js';
import { AUDIT_STORED_WAIT_MS } from '../config/deadlines.js';
import { newCorrelationId } from './edge.js';
import { CLOSED_RULE, closedResponse } from './emergency-closed.js';
import { isWholeAnswer } from './responses.js';

// linear: anchored, fixed length: at most 55 steps.
const TRACEPARENT = /^[\da-f]{2}-([\da-f]{32})-[\da-f]{16}-[\da-f]{2}$/;

/**
 * Wraps an HTTP Function so that every request that reaches the app — allowed, denied, unauthenticated,
 * malformed, failed — leaves exactly one audit record, attributed only from a validated token. In emergency mode
 * 'closed' the handler is not run (unless `servedWhenClosed`: health, and revoking approvals, which only takes
 * power away): the request is refused with 503 and audited under emergency.closed.
 */
export function audited(entrance: AuditRecord['entrance'], app: () => App, handler: HttpHandler, options: { servedWhenClosed?: boolean } = {}): HttpHandler {
  return async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    const traceId = TRACEPARENT.exec(request.headers.get('traceparent')?.trim() ?? '')?.[1];
    const draft: AuditDraft = {
      startedAt: performance.now(),
      correlationId: newCorrelationId(),
      ...(traceId && traceId !== '0'.repeat(32) ? { traceId } : {}),
      entrance,
      httpMethod: request.method,
      path: new URL(request.url).pathname,
      authenticated: false,
      azureRequestIds: [],
      azureCalls: [],
    };
    let response: HttpResponseInit | undefined;
    let streamed = false;
    let recorded: Promise<void> | undefined;
    const finish = () => (recorded ??= writeRecord());
    try {
      if (!options.servedWhenClosed && app().settings.emergencyMode === 'closed') {
        const closed = closedResponse(entrance, draft.path);
        Object.assign(draft, { decision: 'denied', rule: CLOSED_RULE, reason: closed.message });
        response = closed.response;
        return response;
      }
      response = await withAudit(draft, async () => (await handler(request, context)) ?? {});
      if (response.body instanceof ReadableStream && !isWholeAnswer(response.body)) {
        // A streamed answer (an MCP tools/call as server-sent events) is still being produced when the handler
        // returns: its record is complete, and written, only once the stream ends — and the final message waits for
        // it, as any answer does.
        streamed = true;
        return { ...response, body: untilAudited(response.body as ReadableStream<Uint8Array>, finish) };
      }
      return response;
    } finally {
      if (!streamed) await finish();
    }

    async function writeRecord(): Promise<void> {
      const status = response?.status ?? 500;
      explainDecision(draft, status, response);
      const { startedAt, outcome, azureCalls, ...fields } = draft;
      // A copy: nothing that still holds the draft (a cancelled call winding down) can change a hashed record.
      const record: AuditRecord = Object.assign(detachedCopy(fields), {
        time: new Date().toISOString(),
        httpStatus: status,
        outcome: outcome ?? (status < 400 ? 'success' : status === 401 || status === 403 ? 'denied' : 'error'),
        durationMs: Math.round(performance.now() - startedAt),
      });
      try {
        // A change is reported only once its record is in the tamper-evident store (bounded: a store that fails
        // now keeps the record queued and retried).
        const change = record.risk === 'write' || record.risk === 'destructive';
        // The Azure calls as they stand now: one answered after the request moved on is not in the record either.
        const written = app().audit.write(record, [...azureCalls], { awaited: change });
        if (written.stored && change) {
          await Promise.race([written.stored, new Promise((resolve) => setTimeout(resolve, AUDIT_STORED_WAIT_MS).unref())]);
        }
      } catch (error) {
        app().log.error(`Audit record ${record.correlationId} could not be written`, error);
      }
    }
  };
}

/**
 * A record's fields as data of their own: every list and object copied, texts and numbers shared (they cannot
 * change). What structuredClone gives for the plain data a draft holds, without copying its texts (a body's 8 KiB):
 * about 1 µs against 7 for a tools/list record.
 */
function detachedCopy<T>(value: T): T {
  if (Array.isArray(value)) return value.map(detachedCopy) as T;
  if (value === null || typeof value !== 'object') return value;
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(value)) copy[key] = detachedCopy((value as Record<string, unknown>)[key]);
  return copy as T;
}

/**
 * Passes a streamed answer through as it comes — progress notifications at once — but holds back the final
 * message until `finish` (the audit record) is done; a client that goes away early still gets its call audited.
 */
function untilAudited(source: ReadableStream<Uint8Array>, finish: () => Promise<void>): ReadableStream<Uint8Array> {
  const reader = source.getReader();
  const held: Uint8Array[] = [];
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      let next: Awaited<ReturnType<typeof reader.read>>;
      try {
        next = await reader.read();
      } catch (error) {
        await finish();
        controller.error(error);
        return;
      }
      if (next.done) {
        await finish();
        for (const chunk of held.splice(0)) controller.enqueue(chunk);
        controller.close();
        return;
      }
      if (held.length === 0 && onlyNotifications(next.value)) controller.enqueue(next.value);
      else held.push(next.value);
    },
    async cancel(reason) {
      await reader.cancel(reason).catch(() => {});
      await finish();
    },
  });
}

/** Larger than any progress notification the server sends. */
const NOTIFICATION_MAX_BYTES = 16 * 1024;

/** Whether a chunk of server-sent events carries only JSON-RPC notifications (progress), never the answer. */
function onlyNotifications(chunk: Uint8Array): boolean {
  // A progress notification is a few hundred bytes; a large chunk is the answer (a blob read's can be megabytes,
  // which would otherwise be decoded and parsed here just to learn that).
  if (chunk.byteLength > NOTIFICATION_MAX_BYTES) return false;
  // linear: a literal of at most four characters: bounded steps per position.
  const events = new TextDecoder()
    .decode(chunk)
    .split(/\r?\n\r?\n/)
    .filter((event) => event.trim() !== '');
  return (
    events.length > 0 &&
    events.every((event) => {
      const data = event
        // linear: a literal of at most two characters: bounded steps per position.
        .split(/\r?\n/)
        .filter((line) => line.startsWith('data:'))
        .map((line) => line.slice(5))
        .join('\n');
      try {
        const message = JSON.parse(data) as { method?: unknown; id?: unknown };
        return typeof message.method === 'string' && message.id === undefined;
      } catch {
        return false;
      }
    })
  );
}

/** Edge refusals by status, for requests refused before any tool policy ran. */
const EDGE_RULES: Record<number, string> = {
  400: 'edge.invalid-request',
  401: 'edge.unauthenticated',
  403: 'edge.forbidden',
  404: 'edge.not-found',
  405: 'edge.method-not-allowed',
  406: 'edge.not-acceptable',
  413: 'edge.body-too-large',
  415: 'edge.unsupported-media-type',
  503: 'edge.unavailable',
};

/**
 * Every record says what was decided and why. Tool calls carry the policy's decision; a request refused at the
 * edge (token, Host, body, protocol) is a denial with the edge's own message; anything else that got through is
 * allowed because its token was valid, or because the endpoint is public (health, metadata).
 */
function explainDecision(draft: AuditDraft, status: number, response: HttpResponseInit | undefined): void {
  if (draft.decision === undefined) {
    if (status >= 300 && status < 400) {
      // The approval page sends a person without a (recent) sign-in to sign in first.
      draft.decision = 'denied';
      draft.rule = 'edge.sign-in-required';
      draft.reason ??= 'Not signed in (or not recently): sent to sign in first; nothing was shown or changed.';
    } else if (status < 400) {
      draft.decision = 'allowed';
      draft.rule = draft.authenticated ? 'edge.valid-token' : 'edge.public-endpoint';
      draft.reason ??= draft.authenticated
        ? "A validated caller (an access token, or an approver's ID token); no tool decision applies."
        : 'A public endpoint: no token needed.';
    } else {
      draft.decision = 'denied';
      draft.rule = EDGE_RULES[status] ?? `edge.http-${status}`;
      draft.reason ??= messageOf(response) ?? `Refused with HTTP ${status}.`;
    }
  }
  // Redacted only as far as it is kept: a reason can quote a caller's whole input.
  if (draft.reason) draft.reason = redactedPrefix(draft.reason, 500).text;
}

/** The caller-facing message of a JSON refusal (JSON-RPC error, tool error or OAuth error body). */
function messageOf(response: HttpResponseInit | undefined): string | undefined {
  if (typeof response?.body !== 'string') return undefined;
  try {
    const body = JSON.parse(response.body) as { error?: { message?: unknown } | string; error_description?: unknown };
    const message = typeof body.error === 'object' ? body.error?.message : (body.error_description ?? body.error);
    return typeof message === 'string' ? message : undefined;
  } catch {
    return undefined;
  }
}
