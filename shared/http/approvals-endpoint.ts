import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import type { App } from '../app.js';
import { ROLES } from '../auth/roles.js';
import { csrfMatches, csrfToken } from '../approvals/csrf.js';
import { PAGE_HEADERS, renderApproval, renderMessage, type Viewer } from '../approvals/page.js';
import { isInvalidRecord, type Approval } from '../approvals/store.js';
import { noteCaller, noteDenial, noteInAudit } from '../audit/audit-writer.js';
import { emergencyRefusal, emergencyRule } from '../policy/emergency-mode.js';
import { checkHostAndOrigin, publicOrigin, readBody } from './edge.js';
import { claimsRequest, STEP_UP_RULE } from '../auth/step-up.js';

/** The header through which App Service Authentication (and the local host's stand-in) hands over the ID token. */
const ID_TOKEN_HEADER = 'x-ms-token-aad-id-token';

const page = (status: number, html: string, headers: Record<string, string> = {}): HttpResponseInit => ({
  status,
  headers: { ...PAGE_HEADERS, ...headers },
  body: html,
});

/**
 * Back to the platform's sign-in, returning here; `fresh` asks the identity provider for a new sign-in, and
 * `context` for one that satisfies that Conditional Access authentication context (an OpenID Connect claims request).
 */
function signIn(path: string, fresh: boolean, context?: string): HttpResponseInit {
  const query = new URLSearchParams({
    post_login_redirect_uri: path,
    ...(fresh ? { prompt: 'login' } : {}),
    ...(context ? { claims: claimsRequest('id_token', context) } : {}),
  });
  return { status: 302, headers: { location: `/.auth/login/aad?${query}`, 'cache-control': 'no-store' } };
}

/**
 * GET and POST /approvals/{id}: a person holding Mcp.Approver — never the requester — reviews a destructive
 * request and approves or rejects it. Requires a recent sign-in; POSTs need the page's CSRF token and a
 * same-origin Origin; every decision is conditional on the stored version and audited.
 */
export async function handleApproval(app: App, request: HttpRequest, id: string): Promise<HttpResponseInit> {
  const refusal = checkHostAndOrigin(request, app.settings);
  if (refusal) return page(refusal.status, renderMessage('Forbidden', refusal.message));
  const { approvals, verifyIdToken } = app;
  if (!approvals || !verifyIdToken || !app.settings.approvals) {
    return page(404, renderMessage('Approvals are not enabled', 'This deployment does not offer human approval of destructive actions.'));
  }
  const path = `/approvals/${encodeURIComponent(id)}`;
  const idToken = request.headers.get(ID_TOKEN_HEADER);
  const check = await verifyIdToken(idToken);
  if (!check.ok) return signIn(path, check.reason === 'invalid');
  const user = check.user;
  noteCaller({ oid: user.oid, ...(user.name ? { name: user.name } : {}) });
  const maxAgeSeconds = app.settings.approvals.signInMaxAgeMinutes * 60;
  const context = app.stepUp.approve;
  if (Date.now() / 1000 - user.authTime > maxAgeSeconds) return signIn(path, true, context);
  if (context && !user.authContexts.includes(context)) {
    // Denied by the step-up rule (not the generic sign-in redirect): the person signed in, but not strongly enough.
    noteDenial(STEP_UP_RULE, `Deciding approvals requires a sign-in that satisfies the authentication context '${context}'; sent to sign in again.`);
    return signIn(path, true, context);
  }

  let approval: Approval | undefined;
  try {
    approval = await approvals.get(id);
  } catch (error) {
    if (!isInvalidRecord(error)) throw error;
    noteDenial(String(error.details.rule), error.message);
    return page(403, renderMessage('This request cannot be shown', error.message));
  }
  if (!approval) return page(404, renderMessage('No such request', 'There is no approval request with this id.'));

  const viewer = viewerFor(approval, user, csrfToken(id, idToken ?? ''));
  if (request.method === 'GET') return page(200, renderApproval(approval, viewer));

  // POST: a decision.
  const origin = request.headers.get('origin');
  if (origin !== null && origin !== publicOrigin(request, app.settings)) {
    return page(403, renderMessage('Forbidden', 'The decision must be sent from this approval page.'));
  }
  const body = await readBody(request, 8 * 1024);
  if ('status' in body) return page(body.status, renderMessage('Request too large', body.message));
  const form = new URLSearchParams(body.text);
  if (!csrfMatches(csrfToken(id, idToken ?? ''), form.get('csrf'))) {
    return page(403, renderMessage('Forbidden', 'This form has expired or did not come from the approval page; reload the page and try again.'));
  }
  if (viewer.can !== 'decide') return page(403, renderMessage('You cannot decide this request', viewer.because));
  if (approval.status !== 'pending' || !(Date.parse(approval.expiresAt) > Date.now())) {
    return page(409, renderMessage('Already decided', 'This request is no longer waiting for a decision.'));
  }
  const decision = form.get('decision');
  if (decision !== 'approve' && decision !== 'reject') return page(400, renderMessage('Bad request', 'Choose Approve or Reject.'));
  const mode = app.settings.emergencyMode;
  if (decision === 'approve' && mode !== 'open') {
    // Nothing destructive may be approved while the duty officer's switch forbids it (rejecting still may).
    const message = emergencyRefusal(mode, `approving ${approval.tool}`);
    noteDenial(emergencyRule(mode), message, { tool: approval.tool, risk: 'destructive', approvalId: approval.id });
    return page(403, renderMessage('Approvals are suspended', message));
  }

  const changed = await approvals.update(approval, {
    status: decision === 'approve' ? 'approved' : 'rejected',
    decidedByOid: user.oid,
    ...(user.name ? { decidedByName: user.name } : {}),
    decidedAt: new Date().toISOString(),
  });
  noteInAudit({
    tool: approval.tool,
    risk: 'destructive',
    decision: decision === 'approve' ? 'allowed' : 'denied',
    rule: decision === 'approve' ? 'approval.granted' : 'approval.rejected',
    approvalId: approval.id,
    approverOid: user.oid,
    outcome: changed ? 'success' : 'error',
    ...(changed ? {} : { errorCode: 'conflict' }),
  });
  if (!changed) return page(409, renderMessage('Already decided', 'Someone else decided this request first.'));
  // Post/redirect/get: reloading the result page does not send the decision again.
  return { status: 303, headers: { location: path, 'cache-control': 'no-store' } };
}

function viewerFor(approval: Approval, user: { oid: string; roles: readonly string[] }, csrf: string): Viewer {
  // The requester first: no role would let them decide their own request.
  if (user.oid === approval.requesterOid) {
    return { can: 'not-decide', because: 'You requested this action, so you cannot approve it: another approver must.' };
  }
  if (!user.roles.includes(ROLES.approver)) {
    return {
      can: 'not-decide',
      because: `You need the ${ROLES.approver} role to decide this request. If you are eligible, activate it in Privileged Identity Management and sign in again.`,
    };
  }
  return { can: 'decide', csrf };
}
