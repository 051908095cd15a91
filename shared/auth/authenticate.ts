import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload } from 'jose';
import type { Settings } from '../config/settings.js';
import type { Caller } from './caller.js';

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

const CLOCK_SKEW_SECONDS = 60;

/**
 * Validates Entra ID (or sandbox) access tokens with jose: signature from the issuer's JWKS (cached, refreshed on
 * an unknown kid so key rollover works), issuer, audience, exp/nbf with a small skew, RS256 only, oid and tid present.
 */
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

export function createAuthenticator(auth: Settings['auth'], tenantId: string): Authenticator {
  const jwks = issuerKeys(auth.jwksUri);
  return async (authorization) => {
    if (!authorization) throw new AuthenticationError('A bearer token is required in the Authorization header.', 'invalid_request');
    const match = /^Bearer ([A-Za-z0-9\-_.~+/]+=*)$/i.exec(authorization.trim());
    if (!match?.[1]) throw new AuthenticationError('The Authorization header must be "Bearer <token>".', 'invalid_request');
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(match[1], jwks, {
        issuer: auth.issuer,
        audience: auth.audience,
        algorithms: ['RS256'],
        requiredClaims: ['oid', 'tid', 'exp'],
        clockTolerance: CLOCK_SKEW_SECONDS,
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
    if (payload.tid !== tenantId) throw new AuthenticationError('The token was issued for another tenant.', 'invalid_token');
    assertAccessTokenForUs(payload, auth.scopes);
    const caller = toCaller(payload);
    if (auth.allowedClientApps.length > 0 && !auth.allowedClientApps.includes(caller.clientAppId?.toLowerCase() ?? '')) {
      throw new AuthenticationError('The calling client application is not allowed to use this API.', 'invalid_token');
    }
    return caller;
  };
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
  if (error instanceof errors.JWTExpired) return 'The token has expired.';
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'nbf') return 'The token is not valid yet.';
    if (error.claim === 'aud') return 'The token was issued for another audience.';
    if (error.claim === 'iss') return 'The token was issued by an untrusted issuer.';
    return `The token is missing or has an invalid "${error.claim}" claim.`;
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return 'The token is not signed with RS256.';
  if (error instanceof errors.JWKSNoMatchingKey) return "The token's signing key is not one of the issuer's keys.";
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'The token signature is invalid.';
  return 'The token is malformed or invalid.';
}

function toCaller(payload: JWTPayload): Caller {
  const strings = (value: unknown) => (Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []);
  const optional = (value: unknown) => (typeof value === 'string' && value.length > 0 ? value : undefined);
  const clientAppId = optional(payload.azp) ?? optional(payload.appid);
  const name = optional(payload.name);
  return {
    oid: String(payload.oid),
    tid: String(payload.tid),
    ...(name ? { name } : {}),
    ...(clientAppId ? { clientAppId } : {}),
    roles: strings(payload.roles),
    scopes: typeof payload.scp === 'string' ? payload.scp.split(' ').filter(Boolean) : [],
    expiresAt: payload.exp ?? 0,
  };
}
