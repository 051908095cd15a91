import canonicalize from 'canonicalize';
import { createHash, randomUUID } from 'node:crypto';
import * as z from 'zod';
import type { Caller } from '../domain/caller.js';
import { ToolError } from '../pipeline/errors.js';
import type { Approval, ApprovalStore } from './store.js';
import { noteInAudit } from '../audit/audit-writer.js';

/** Destructive tools take this extra argument: the id of an approval for exactly this call. */
export const approvalInput = {
  approvalId: z
    .uuid()
    .optional()
    .describe('Leave out on the first call: it returns an approval link for a human approver. Repeat the identical call with the approved id.'),
};

export function argumentsHash(args: Record<string, unknown>): string {
  const { approvalId: _ignored, ...rest } = args;
  return createHash('sha256')
    .update(canonicalize(rest) ?? '')
    .digest('hex');
}

export interface GateRequest {
  tool: string;
  args: Record<string, unknown>;
  caller: Caller;
  /** Where approvers open the request: `{origin}/approvals/{id}`. */
  origin: string;
  ttlMinutes: number;
  /** Reads what will be affected, for the approver; only called when a new approval is recorded. */
  impact: () => Promise<{ targets: string[]; details: string[] }>;
}

export interface GatePassed {
  approval: Approval;
}

/**
 * The human approval gate for destructive tools. Without an approval id the call records a pending approval bound
 * to the requester, the tool and the exact arguments, and is refused with the link. With an id, the call passes
 * only if that approval was granted by someone else, is unexpired, unused and matches exactly; it is then marked
 * used before the tool runs, conditionally on the stored version, so two retries cannot both run.
 */
export async function passApprovalGate(store: ApprovalStore, request: GateRequest): Promise<GatePassed> {
  const approvalId = request.args.approvalId;
  const hash = argumentsHash(request.args);
  if (typeof approvalId !== 'string') {
    const { targets, details } = await request.impact();
    const now = new Date();
    const approval = {
      id: randomUUID(),
      tool: request.tool,
      argsHash: hash,
      args: withoutApprovalId(request.args),
      requesterOid: request.caller.oid,
      ...(request.caller.name ? { requesterName: request.caller.name } : {}),
      targets,
      impact: details,
      status: 'pending' as const,
      createdAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + request.ttlMinutes * 60_000).toISOString(),
    };
    await store.create(approval);
    const url = approvalLink(request.origin, approval.id);
    throw new ToolError(
      'approval_required',
      `${request.tool} is destructive and needs a human approval. Ask a person holding the Mcp.Approver role (not you) to review and approve it at ${url} before ${approval.expiresAt}; then repeat exactly the same call with approvalId "${approval.id}". Nothing has been changed.`,
      { approvalId: approval.id, approvalUrl: url, expiresAt: approval.expiresAt },
    );
  }

  const approval = await store.get(approvalId);
  const refuse = (rule: string, message: string) => new ToolError('forbidden', message, { rule, approvalId });
  if (!approval || approval.tool !== request.tool) throw refuse('approval.unknown', `No approval ${approvalId} exists for ${request.tool}.`);
  if (approval.requesterOid !== request.caller.oid) {
    throw refuse('approval.other-requester', 'This approval was requested by someone else; only its requester can use it.');
  }
  if (approval.argsHash !== hash) {
    throw refuse('approval.arguments-mismatch', 'The arguments differ from the ones that were approved; request a new approval for these arguments.');
  }
  if (approval.status === 'used') throw refuse('approval.used', 'This approval has already been used; each approval runs its call once.');
  if (approval.status === 'revoked') {
    throw refuse(
      'approval.revoked',
      `This approval was revoked at ${approval.revokedAt ?? 'an unknown time'} (an operator withdrew every pending approval, or this one); request a new approval when the operators allow it.`,
    );
  }
  if (approval.status === 'rejected') {
    // The refusal quotes the approver: their identity goes in the record, so the stored copy can pseudonymise it.
    if (approval.decidedByOid) noteInAudit({ approverOid: approval.decidedByOid, ...(approval.decidedByName ? { approverName: approval.decidedByName } : {}) });
    throw refuse('approval.rejected', `The approver rejected this request${approval.decidedByName ? ` (${approval.decidedByName})` : ''}.`);
  }
  if (!(Date.parse(approval.expiresAt) > Date.now())) throw refuse('approval.expired', `This approval expired at ${approval.expiresAt}; request a new one.`);
  if (approval.status !== 'approved') {
    throw new ToolError('approval_pending', `Approval ${approvalId} is still waiting for an approver at ${approvalLink(request.origin, approvalId)}.`, {
      approvalId,
    });
  }
  const claimed = await store.update(approval, { status: 'used', usedAt: new Date().toISOString() });
  if (!claimed) throw refuse('approval.used', 'This approval has already been used; each approval runs its call once.');
  return { approval };
}

function withoutApprovalId(args: Record<string, unknown>): Record<string, unknown> {
  const { approvalId: _ignored, ...rest } = args;
  return rest;
}

/**
 * The link an approver opens: through the platform's sign-in, which then lands on the approval page. In Azure,
 * App Service Authentication answers unauthenticated requests with 401 (so API callers get a proper challenge);
 * a person starts at the sign-in instead.
 */
export function approvalLink(origin: string, approvalId: string): string {
  return `${origin}/.auth/login/aad?${new URLSearchParams({ post_login_redirect_uri: `/approvals/${approvalId}` })}`;
}
