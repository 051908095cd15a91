import type { HttpHandler, HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import type { App } from '../app.js';
import type { AuditRecord } from '../audit/record.js';
import { withAudit, type AuditDraft } from '../audit/scope.js';
import { newCorrelationId } from './edge.js';

const TRACEPARENT = /^[\da-f]{2}-([\da-f]{32})-[\da-f]{16}-[\da-f]{2}$/;
const STORED_WAIT_MS = 5_000;

/**
 * Wraps an HTTP Function so that every request that reaches the app — allowed, denied, unauthenticated,
 * malformed, failed — leaves exactly one audit record, attributed only from a validated token.
 */
export function audited(entrance: AuditRecord['entrance'], app: () => App, handler: HttpHandler): HttpHandler {
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
    };
    let response: HttpResponseInit | undefined;
    try {
      response = (await withAudit(draft, async () => (await handler(request, context)) ?? {})) as HttpResponseInit;
      return response;
    } finally {
      const status = response?.status ?? 500;
      const { startedAt, outcome, ...fields } = draft;
      const record: AuditRecord = {
        ...fields,
        time: new Date().toISOString(),
        httpStatus: status,
        outcome: outcome ?? (status < 400 ? 'success' : status === 401 || status === 403 ? 'denied' : 'error'),
        durationMs: Math.round(performance.now() - startedAt),
      };
      try {
        const written = await app().audit.write(record);
        // A change is reported only once its record is in the tamper-evident store (bounded: a store that fails
        // now keeps the record queued and retried).
        if (written?.stored && (record.risk === 'write' || record.risk === 'destructive')) {
          await Promise.race([written.stored, new Promise((resolve) => setTimeout(resolve, STORED_WAIT_MS).unref())]);
        }
      } catch (error) {
        app().log.error(`Audit record ${record.correlationId} could not be written`, error);
      }
    }
  };
}
