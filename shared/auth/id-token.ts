import { errors, jwtVerify } from 'jose';
import type { Settings } from '../config/settings.js';
import { issuerKeys, MAX_TOKEN_LIFETIME_SECONDS } from './authenticate.js';
import { GUID } from '../domain/caller.js';

/** A person signed in to the approval page, from the ID token the platform's Entra sign-in delivered. */
export interface SignedInUser {
  oid: string;
  name?: string;
  roles: readonly string[];
  /** When they last entered their credentials (seconds since the epoch): the `auth_time` claim. */
  authTime: number;
  /** Conditional Access authentication contexts the sign-in satisfied (`acrs` claim). */
  authContexts: readonly string[];
}

export type IdTokenCheck = { ok: true; user: SignedInUser } | { ok: false; reason: 'missing' | 'invalid' };

/**
 * The approval page's sign-in: App Service (Easy Auth) in Azure, the local host's stand-in locally, both hand the
 * page the user's ID token in `X-MS-TOKEN-AAD-ID-TOKEN`. It is verified here regardless (signature from the tenant's
 * keys, issuer, audience = the app registration, expiry, RS256), so a forged header gets nowhere.
 */
export function createIdTokenVerifier(auth: Settings['auth'], tenantId: string, clientId: string) {
  const jwks = issuerKeys(auth.jwksUri);
  return async (token: string | null): Promise<IdTokenCheck> => {
    if (!token) return { ok: false, reason: 'missing' };
    try {
      const { payload } = await jwtVerify(token, jwks, {
        issuer: auth.issuer,
        audience: clientId,
        algorithms: ['RS256'],
        // auth_time (an optional claim to switch on in Entra) dates the person's sign-in; nonce proves an OIDC sign-in.
        requiredClaims: ['oid', 'tid', 'exp', 'iat', 'auth_time', 'nonce'],
        clockTolerance: 60,
        maxTokenAge: MAX_TOKEN_LIFETIME_SECONDS,
      });
      if (payload.tid !== tenantId) return { ok: false, reason: 'invalid' };
      // The approver's id decides who may approve what: a GUID string, as Entra issues, or no sign-in.
      if (typeof payload.oid !== 'string' || !GUID.test(payload.oid)) return { ok: false, reason: 'invalid' };
      // An access token for the same app registration is not a person's sign-in: it could be an agent's own.
      if (payload.scp !== undefined || payload.idtyp === 'app' || payload.sub === payload.oid) return { ok: false, reason: 'invalid' };
      const name = typeof payload.name === 'string' ? payload.name : undefined;
      const roles = Array.isArray(payload.roles) ? payload.roles.filter((role): role is string => typeof role === 'string') : [];
      const authTime = typeof payload.auth_time === 'number' ? payload.auth_time : 0;
      const authContexts = Array.isArray(payload.acrs) ? payload.acrs.filter((value): value is string => typeof value === 'string') : [];
      return { ok: true, user: { oid: String(payload.oid), ...(name ? { name } : {}), roles, authTime, authContexts } };
    } catch (error) {
      if (error instanceof errors.JOSEError) return { ok: false, reason: 'invalid' };
      throw error;
    }
  };
}
