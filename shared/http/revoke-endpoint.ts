import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import * as z from 'zod';
import type { App } from '../app.js';
import { isInvalidRecord, type Approval, type ApprovalStore } from '../approvals/store.js';
import { auditedBody, auditedServerBody } from '../audit/body.js';
import { ROLES } from '../auth/roles.js';
import { authenticateRequest, checkHostAndOrigin, isJsonContentType, readBody, resourceMetadataUrl } from './edge.js';
import { jsonResponse } from './responses.js';
import { noteDenial, noteInAudit } from '../audit/audit-writer.js';

export const REVOKED_RULE = 'approval.revoked';
export const REVOKE_NEEDS_APPROVER_RULE = 'approval.revoke-needs-approver';

const BODY = z.union([z.strictObject({ all: z.literal(true) }), z.strictObject({ id: z.uuid() })]);
const BODY_HINT = 'Send {"all": true} to revoke every approval not yet used, or {"id": "<approval id>"} to revoke one.';
/** A record changed by someone else between reading and revoking is read again, a few times at most. */
const ATTEMPTS = 3;

export interface RevokeReport {
  /** Approvals that were pending or approved-but-unused and are now revoked: the gate refuses them (approval.revoked). */
  revoked: string[];
  /** Past their expiry: the gate refuses them already (approval.expired); left as they are. */
  expired: string[];
  /** Decided, used or revoked by someone else while this ran: left as they are, with their status now. */
  changed: { id: string; status: string }[];
}

/**
 * POST /approvals/revoke: an incident response. A holder of Mcp.Approver (with an access token, as any API caller)
 * withdraws every approval that could still run a call — pending or approved, not used, not expired — or one by id.
 * Each is changed conditionally on its stored version, so a revoke never overwrites a use or a decision it did not
 * see; the record of the request lists what was revoked under the rule approval.revoked. Served in every emergency
 * mode, 'closed' included: it only takes power away.
 */
export async function handleRevoke(app: App, request: HttpRequest): Promise<HttpResponseInit> {
  const refusal = checkHostAndOrigin(request, app.settings);
  if (refusal) return jsonResponse(refusal.status, { error: 'forbidden', error_description: refusal.message });
  const auth = await authenticateRequest(request, app.authenticate, resourceMetadataUrl(request, app.settings, ''));
  if ('status' in auth) return jsonResponse(auth.status, { error: 'unauthenticated', error_description: auth.message }, auth.headers);
  if (!auth.caller.roles.includes(ROLES.approver)) {
    const message = `Revoking approvals needs the ${ROLES.approver} role; the caller has ${auth.caller.roles.join(', ') || 'no roles'}. Nothing was revoked.`;
    noteDenial(REVOKE_NEEDS_APPROVER_RULE, message);
    return jsonResponse(403, { error: 'forbidden', error_description: message, rule: REVOKE_NEEDS_APPROVER_RULE });
  }
  if (!app.approvals)
    return jsonResponse(404, { error: 'not_found', error_description: 'This deployment does not offer approvals, so there are none to revoke.' });
  if (!isJsonContentType(request))
    return jsonResponse(415, { error: 'unsupported_media_type', error_description: `Send JSON (Content-Type: application/json). ${BODY_HINT}` });
  const body = await readBody(request, 1024);
  if ('status' in body) return jsonResponse(body.status, { error: 'invalid_request', error_description: body.message });
  const { text } = body;
  noteInAudit({ requestBody: auditedBody(text, undefined, body.digest) });
  let parsed: z.infer<typeof BODY>;
  try {
    parsed = BODY.parse(JSON.parse(text));
  } catch {
    return jsonResponse(400, { error: 'invalid_request', error_description: `Not a revoke request. ${BODY_HINT}` });
  }

  const approvals = app.approvals;
  let candidates: Approval[];
  if ('all' in parsed) {
    candidates = await approvals.listUnused();
  } else {
    let one: Approval | undefined;
    try {
      one = await approvals.get(parsed.id);
    } catch (error) {
      if (!isInvalidRecord(error)) throw error;
      noteDenial(String(error.details.rule), error.message);
      return jsonResponse(403, { error: 'forbidden', error_description: error.message, rule: error.details.rule });
    }
    if (!one) return jsonResponse(404, { error: 'not_found', error_description: `No approval ${parsed.id} exists.` });
    if (one.status !== 'pending' && one.status !== 'approved') {
      return jsonResponse(409, {
        error: 'conflict',
        error_description: `Approval ${one.id} is ${one.status}: only pending or approved (unused) approvals can be revoked.`,
        status: one.status,
      });
    }
    candidates = [one];
  }
  const report = await revokeEach(approvals, candidates, auth.caller.oid);
  const summary = `Revoked ${report.revoked.length} approval(s)${report.revoked.length ? `: ${report.revoked.join(', ')}` : ''}; expired, left as they are: ${report.expired.length}; changed meanwhile: ${report.changed.length}.`;
  noteInAudit({
    decision: 'allowed',
    rule: REVOKED_RULE,
    reason: summary,
    ...('id' in parsed ? { approvalId: parsed.id } : {}),
    responseBody: auditedServerBody(JSON.stringify(report)),
  });
  return jsonResponse(200, report);
}

async function revokeEach(store: ApprovalStore, candidates: Approval[], revokerOid: string): Promise<RevokeReport> {
  const report: RevokeReport = { revoked: [], expired: [], changed: [] };
  for (const candidate of candidates) {
    let approval: Approval | undefined = candidate;
    for (let attempt = 0; approval && attempt < ATTEMPTS; attempt++) {
      if (approval.status !== 'pending' && approval.status !== 'approved') {
        report.changed.push({ id: approval.id, status: approval.status });
        approval = undefined;
      } else if (!(Date.parse(approval.expiresAt) > Date.now())) {
        report.expired.push(approval.id);
        approval = undefined;
      } else if (await store.update(approval, { status: 'revoked', revokedByOid: revokerOid, revokedAt: new Date().toISOString() })) {
        report.revoked.push(approval.id);
        approval = undefined;
      } else {
        approval = await store.get(approval.id);
      }
    }
    // Still changing under us after every attempt: reported, never claimed as revoked.
    if (approval) report.changed.push({ id: approval.id, status: approval.status });
  }
  return report;
}
