import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload } from 'jose';
import { createHash } from 'node:crypto';
import type { Settings } from '../config/settings.js';
import { GUID, type Caller } from '../domain/caller.js';

/** Why a request was not authenticated; safe to show the caller (no token content). */
export class AuthenticationError extends Error {
  override name = 'AuthenticationError';
  constructor(
    message: string,
    /** RFC 6750 error code for the WWW-Authenticate challenge (401, or 403 for insufficient_scope). */
    readonly oauthError: 'invalid_request' | 'invalid_token' | 'insufficient_scope',
  ) {
    super(message);
  }
}

/** The token might be fine, but its signature cannot be checked now (JWKS unreachable): answer 503, run nothing. */
export class IssuerUnavailableError extends Error {
  override name = 'IssuerUnavailableError';
}

export type Authenticator = (authorization: string | null) => Promise<Caller>;

/** The authenticator, with how many validated tokens it currently remembers (for tests and diagnostics). */
export type CachingAuthenticator = Authenticator & { readonly cachedTokens: number };

const CLOCK_SKEW_SECONDS = 60;
/**
 * The longest lifetime (`exp` - `iat`) of a token we accept: Entra access tokens live 60-90 minutes by default and
 * at most one day with a configurable token lifetime policy (the 28-hour tokens of continuous access evaluation are
 * issued only for resources that opt into it, which this API does not). Longer means forged or misissued.
 */
export const MAX_TOKEN_LIFETIME_SECONDS = 24 * 3600;
/** How long a validated token is remembered at most (never past its own `exp`). */
const TOKEN_CACHE_TTL_MS = 60_000;
/** How many validated tokens are remembered at most (least recently used dropped first): a few MiB at most. */
const TOKEN_CACHE_MAX_ENTRIES = 10_000;

/**
 * The issuer's signing keys, fetched and cached by jose (refetched on an unknown kid at most every 5 s, so Entra
 * key rollover works); one cache per process for access tokens and approvers' ID tokens alike.
 */
const keySets = new Map<string, ReturnType<typeof createRemoteJWKSet>>();
export function issuerKeys(jwksUri: string): ReturnType<typeof createRemoteJWKSet> {
  let keys = keySets.get(jwksUri);
  if (!keys) {
    keys = createRemoteJWKSet(new URL(jwksUri), { cooldownDuration: 5_000, cacheMaxAge: 3_600_000 });
    keySets.set(jwksUri, keys);
  }
  return keys;
}

/**
 * Fetches the issuer's keys in the background (at app start), so the first request finds them cached, or joins
 * the fetch in flight. Never rejects: if it fails, the first request fetches them itself and, if that fails too,
 * is refused as it would be without this (503, issuer unavailable).
 */
export function prefetchIssuerKeys(jwksUri: string): Promise<void> {
  return issuerKeys(jwksUri)
    .reload()
    .catch(() => {});
}

export interface AuthenticatorOptions {
  /** The clock, in ms since the epoch (tests move it); default Date.now. */
  now?: () => number;
  /** How many validated tokens to remember; default 10,000. */
  maxCachedTokens?: number;
}

/**
 * Validates Entra ID (or sandbox) access tokens with jose: signature from the issuer's JWKS (cached, refreshed on
 * an unknown kid so key rollover works), issuer, audience, exp/nbf with a small skew, RS256 only, oid and tid present.
 *
 * A token that passed every check is remembered, by its SHA-256, with the caller it yielded, for at most 60 s and
 * never past its `exp` (bounded, least recently used dropped first), so an agent's burst of calls pays for one
 * RS256 verification instead of one each. Only successes are remembered; the settings the checks use are fixed
 * for the life of the authenticator, and a remembered token is checked against the clock on every use.
 */
export function createAuthenticator(auth: Settings['auth'], tenantId: string, options: AuthenticatorOptions = {}): CachingAuthenticator {
  const jwks = issuerKeys(auth.jwksUri);
  const now = options.now ?? Date.now;
  const maxEntries = options.maxCachedTokens ?? TOKEN_CACHE_MAX_ENTRIES;
  /** Validated tokens by SHA-256, least recently used first (a Map keeps insertion order). */
  const validated = new Map<string, { caller: Caller; until: number }>();

  const authenticate = async (authorization: string | null): Promise<Caller> => {
    if (!authorization) throw new AuthenticationError('A bearer token is required in the Authorization header.', 'invalid_request');
    // linear: anchored, one attempt; the token class excludes '=', so the run and the padding never compete for a character.
    const match = /^Bearer ([A-Za-z0-9\-_.~+/]+=*)$/i.exec(authorization.trim());
    if (!match?.[1]) throw new AuthenticationError('The Authorization header must be "Bearer <token>".', 'invalid_request');
    const token = match[1];
    const key = createHash('sha256').update(token).digest('base64url');
    const at = now();
    const remembered = validated.get(key);
    if (remembered) {
      validated.delete(key);
      if (at < remembered.until) {
        validated.set(key, remembered); // most recently used now
        return remembered.caller;
      }
      // Past its time (its exp, or 60 s): verified afresh below, which refuses an expired token.
    }
    const caller = await verify(token, at);
    const until = Math.min(caller.expiresAt * 1000, at + TOKEN_CACHE_TTL_MS);
    if (until > at && maxEntries > 0) {
      validated.set(key, { caller, until });
      if (validated.size > maxEntries) validated.delete(validated.keys().next().value as string);
    }
    return caller;
  };

  async function verify(token: string, at: number): Promise<Caller> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, jwks, {
        issuer: auth.issuer,
        audience: auth.audience,
        algorithms: ['RS256'],
        requiredClaims: ['oid', 'tid', 'exp', 'iat'],
        clockTolerance: CLOCK_SKEW_SECONDS,
        // Refuses an iat in the future (beyond the skew) and any token issued more than a day ago.
        maxTokenAge: MAX_TOKEN_LIFETIME_SECONDS,
        currentDate: new Date(at),
      }));
    } catch (error) {
      // The issuer's keys could not be fetched or read (timeout, network, non-200, bad JSON): our problem, not the
      // caller's, so 503 rather than telling a client to drop a good token. Still nothing runs.
      if (
        error instanceof errors.JWKSTimeout ||
        error instanceof errors.JWKSInvalid ||
        !(error instanceof errors.JOSEError) ||
        error.constructor === errors.JOSEError
      ) {
        throw new IssuerUnavailableError('The token could not be verified because the issuer keys are unreachable; try again shortly.');
      }
      throw new AuthenticationError(describeJoseFailure(error), 'invalid_token');
    }
    assertWellFormedClaims(payload);
    if (payload.tid !== tenantId) throw new AuthenticationError('The token was issued for another tenant.', 'invalid_token');
    assertAccessTokenForUs(payload, auth.scopes);
    const caller = toCaller(payload);
    if (auth.allowedClientApps !== 'any' && !auth.allowedClientApps.includes(caller.clientAppId?.toLowerCase() ?? '')) {
      throw new AuthenticationError(
        auth.allowedClientApps.length === 0
          ? 'This deployment has not named the client applications that may call it yet (AUTH_ALLOWED_CLIENT_APPS is empty, which in Azure allows none); ask the platform team to add your client app id.'
          : `The client application ${caller.clientAppId?.slice(0, 64) ?? '(none named in the token)'} is not one this deployment allows (AUTH_ALLOWED_CLIENT_APPS); ask the platform team to add it.`,
        'invalid_token',
      );
    }
    return caller;
  }

  return Object.defineProperty(authenticate, 'cachedTokens', { get: () => validated.size, enumerable: true }) as CachingAuthenticator;
}

/**
 * Claims jose cannot check by option: the caller's ids are GUID strings (never "" or an object that would become
 * the caller id), and the lifetime is one Entra could have issued.
 */
function assertWellFormedClaims(payload: JWTPayload): void {
  if (typeof payload.tid !== 'string' || !GUID.test(payload.tid)) {
    throw new AuthenticationError('The token\'s "tid" claim must be the tenant id, a GUID.', 'invalid_token');
  }
  if (typeof payload.oid !== 'string' || !GUID.test(payload.oid)) {
    throw new AuthenticationError('The token\'s "oid" claim must be the caller\'s object id, a GUID.', 'invalid_token');
  }
  // Both are numbers here: jose checked exp and iat are present and numeric.
  if ((payload.exp ?? 0) - (payload.iat ?? 0) > MAX_TOKEN_LIFETIME_SECONDS + CLOCK_SKEW_SECONDS) {
    throw new AuthenticationError("The token's lifetime (exp - iat) is longer than the 24 hours Entra issues at most.", 'invalid_token');
  }
}

/**
 * Only access tokens for this API: a delegated token must carry one of our scopes (`scp`); a token without `scp`
 * must be app-only (Entra sets `sub` to the service principal's `oid` then, or `idtyp: app`). An ID token for the
 * same app registration has neither, so it cannot be replayed as a bearer token.
 */
function assertAccessTokenForUs(payload: JWTPayload, scopes: readonly string[]): void {
  if (typeof payload.scp === 'string') {
    const granted = payload.scp.split(' ');
    if (!scopes.some((scope) => granted.includes(scope))) {
      throw new AuthenticationError(`The token does not grant the ${scopes.join(' or ')} scope.`, 'insufficient_scope');
    }
    return;
  }
  const appOnly = payload.idtyp === 'app' || (typeof payload.sub === 'string' && payload.sub === payload.oid);
  if (!appOnly) throw new AuthenticationError('The token is not an access token for this API.', 'invalid_token');
}

function describeJoseFailure(error: unknown): string {
  if (error instanceof errors.JWTExpired) {
    return error.claim === 'iat' ? 'The token was issued more than 24 hours ago; get a new one.' : 'The token has expired.';
  }
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'nbf') return 'The token is not valid yet.';
    if (error.claim === 'iat' && error.reason === 'check_failed') return 'The token\'s "iat" claim (issued at) lies in the future.';
    if (error.claim === 'aud') return 'The token was issued for another audience.';
    if (error.claim === 'iss') return 'The token was issued by an untrusted issuer.';
    return `The token is missing or has an invalid "${error.claim}" claim.`;
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return 'The token is not signed with RS256.';
  if (error instanceof errors.JWKSNoMatchingKey) return "The token's signing key is not one of the issuer's keys.";
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'The token signature is invalid.';
  return 'The token is malformed or invalid.';
}

/** The caller, frozen: a remembered token hands the same object to every request that presents it. */
/** Entra's groups overage in an access token: `_claim_names: { groups: "src1" }` points elsewhere for the list. */
function hasOwnGroupsClaimName(names: unknown): boolean {
  return typeof names === 'object' && names !== null && Object.hasOwn(names, 'groups');
}

function toCaller(payload: JWTPayload): Caller {
  const strings = (value: unknown) => (Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []);
  const optional = (value: unknown) => (typeof value === 'string' && value.length > 0 ? value : undefined);
  const clientAppId = optional(payload.azp) ?? optional(payload.appid);
  const name = optional(payload.name);
  return Object.freeze({
    oid: String(payload.oid),
    tid: String(payload.tid),
    ...(name ? { name } : {}),
    ...(clientAppId ? { clientAppId } : {}),
    roles: Object.freeze(strings(payload.roles)),
    scopes: Object.freeze(typeof payload.scp === 'string' ? payload.scp.split(' ').filter(Boolean) : []),
    expiresAt: payload.exp ?? 0,
    authContexts: Object.freeze(strings(payload.acrs)),
    // assertAccessTokenForUs let through only delegated tokens (with scp) and app-only ones.
    isAgent: typeof payload.scp !== 'string',
    groups: Object.freeze(strings(payload.groups).map((group) => group.toLowerCase())),
    groupsOverage: payload.hasgroups === true || hasOwnGroupsClaimName(payload._claim_names),
  });
}
