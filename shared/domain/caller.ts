/** The authenticated caller, as validated from the Entra ID access token — never from headers or MCP clientInfo. */
export interface Caller {
  /** Entra object id of the user or service principal. */
  oid: string;
  tid: string;
  name?: string;
  /** Application (client) id of the calling client app (`azp` for v2 tokens, `appid` for v1). */
  clientAppId?: string;
  /** Entra app roles granted to the caller (`roles` claim). */
  roles: readonly string[];
  /** Delegated scopes (`scp` claim). */
  scopes: readonly string[];
  /** Token expiry, seconds since the epoch. */
  expiresAt: number;
  /**
   * Conditional Access authentication contexts the sign-in satisfied (`acrs` claim, e.g. `c1`): what a step-up
   * demanded by the department policy checks.
   */
  authContexts: readonly string[];
  /**
   * An agent acting as itself (an app-only token: no `scp`, the service principal's own identity) rather than a
   * person signed in through a client app. What agents may change is the department policy's `agents` section.
   */
  isAgent: boolean;
  /** Entra security groups the caller is in (`groups` claim: object ids), for the policy's scoped authority. */
  groups: readonly string[];
  /**
   * The token says the caller is in more groups than it could list (Entra's groups overage: `_claim_names.groups`
   * or `hasgroups`), so `groups` is incomplete: scoped authority refuses rather than guess.
   */
  groupsOverage: boolean;
}

/** Entra object and tenant ids are GUIDs; anything else in `oid` or `tid` is not a caller. */
// linear: anchored, fixed length (a GUID): at most 37 steps.
export const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
