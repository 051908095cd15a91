// Azure RBAC for people: a token issued on a person's behalf (idtyp "user") may do in Resource Manager only what
// the person's own role assignments allow (seed.ts USER_ROLE_ASSIGNMENTS). The app's managed identity is not
// checked here (its roles are the deployment's business; faults stand in for a missing one).
import type { Call, TwinContext } from './context.js';
import { HttpError } from './http.js';
import { USER_ROLE_ASSIGNMENTS } from './seed.js';

/** Refuses, as Resource Manager does (403 AuthorizationFailed), a request the person's assignments do not cover. */
export function authorizeUser(ctx: TwinContext, call: Call, person: { oid: string; upn: string }): void {
  const write = call.method !== 'GET' && call.method !== 'HEAD';
  const group = /\/resourcegroups\/([^/]+)/i.exec(call.path)?.[1]?.toLowerCase();
  const allowed = (USER_ROLE_ASSIGNMENTS[person.oid] ?? []).some(
    (assignment) => (assignment.scope === 'subscription' || assignment.scope.toLowerCase() === group) && (!write || assignment.role === 'Contributor'),
  );
  if (allowed) return;
  const scope = group ? `/subscriptions/${ctx.subscriptionId}/resourcegroups/${group}` : `/subscriptions/${ctx.subscriptionId}`;
  const action = write ? `${call.method === 'DELETE' ? 'delete' : 'write'}` : 'read';
  throw new HttpError(
    403,
    'AuthorizationFailed',
    `The client '${person.upn}' with object id '${person.oid}' does not have authorization to perform action '${action}' over scope '${scope}' or the scope is invalid. If access was recently granted, please refresh your credentials.`,
  );
}
