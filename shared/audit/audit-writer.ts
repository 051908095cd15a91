import type { AuditedBody } from './body.js';
import type { AuditRecord } from './record.js';
import { currentAudit, type AzureCall } from './scope.js';

/**
 * The one way code below the HTTP edge writes to the request's audit record (the draft `audited` seals into a
 * record when the request ends). Each note names what it records; nothing outside this file assigns to the draft.
 * Outside a request (no draft) a note records nothing.
 */

/** What a part of the app decided or learnt about the request. Caller fields are not here: see `noteCaller`. */
export type AuditNote = Partial<
  Pick<
    AuditRecord,
    | 'jsonRpcMethod'
    | 'tool'
    | 'risk'
    | 'decision'
    | 'rule'
    | 'reason'
    | 'outcome'
    | 'errorCode'
    | 'approvalId'
    | 'approverOid'
    | 'approverName'
    | 'untrustedFields'
    | 'injectionFlags'
    | 'mcpClient'
    | 'requestBody'
    | 'responseBody'
  >
>;

export function noteInAudit(note: AuditNote): void {
  const draft = currentAudit();
  if (draft) Object.assign(draft, note);
}

/** A refusal by a named rule (with what else the refusing part knows: the tool, its risk, an approval). */
export function noteDenial(rule: string, reason: string, note: AuditNote = {}): void {
  noteInAudit({ ...note, decision: 'denied', rule, reason });
}

/** Who the request is from: only ever from a validated token (an access token, or an approver's ID token). */
export function noteCaller(caller: { oid: string; tid?: string; name?: string; clientAppId?: string }): void {
  const draft = currentAudit();
  if (!draft) return;
  Object.assign(draft, {
    authenticated: true,
    callerOid: caller.oid,
    ...(caller.tid ? { callerTid: caller.tid } : {}),
    ...(caller.name ? { callerName: caller.name } : {}),
    ...(caller.clientAppId ? { clientAppId: caller.clientAppId } : {}),
  });
}

/** Whether a request is being audited here (notes are recorded). */
export function isAuditing(): boolean {
  return currentAudit() !== undefined;
}

/** The method of the JSON-RPC request in progress, as recorded so far. */
export function auditedJsonRpcMethod(): string | undefined {
  return currentAudit()?.jsonRpcMethod;
}

/** The response body as the audit keeps it. */
export function noteResponseBody(body: AuditedBody): void {
  noteInAudit({ responseBody: body });
}

/**
 * The request an Azure call is made for, held from the call's start (its answer may come after the request's
 * context has moved on): its trace id, to pass on, and where the call is noted (its request id, and the call as
 * dependency telemetry).
 */
export function auditedRequestForAzureCall(): { traceId?: string; noteAzureCall(call: AzureCall): void } | undefined {
  const draft = currentAudit();
  if (!draft) return undefined;
  return {
    ...(draft.traceId ? { traceId: draft.traceId } : {}),
    noteAzureCall(call) {
      if (call.requestId) draft.azureRequestIds.push(call.requestId);
      draft.azureCalls.push(call);
    },
  };
}
