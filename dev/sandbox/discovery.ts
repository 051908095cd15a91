// Entra v2-shaped discovery for the sandbox issuer: OpenID configuration and the JWKS that verifies its tokens.
import type { Call, TwinContext } from './context.js';
import { HttpError, sendJson } from './http.js';
import { jwks } from './issuer.js';

export const DISCOVERY_PATH = /^\/([^/]+)\/(v2\.0\/\.well-known\/openid-configuration|discovery\/v2\.0\/keys)$/i;

export function sandboxIssuer(armUrl: string, tenantId: string): string {
  return `${armUrl}/${tenantId}/v2.0`;
}

export async function handleDiscovery(ctx: TwinContext, call: Call): Promise<void> {
  const m = DISCOVERY_PATH.exec(call.path);
  if (!m || m[1]?.toLowerCase() !== ctx.tenantId.toLowerCase()) {
    throw new HttpError(404, 'invalid_tenant', `Tenant '${m?.[1]}' not found; the sandbox tenant is ${ctx.tenantId}.`);
  }
  if (call.method !== 'GET') throw new HttpError(405, 'MethodNotAllowed', 'Discovery endpoints only accept GET.');
  if (m[2]?.toLowerCase().startsWith('discovery')) {
    sendJson(call.res, 200, jwks(await ctx.issuerKeys.published()), call.headers);
    return;
  }
  const base = `${ctx.armUrl}/${ctx.tenantId}`;
  sendJson(
    call.res,
    200,
    {
      issuer: sandboxIssuer(ctx.armUrl, ctx.tenantId),
      jwks_uri: `${base}/discovery/v2.0/keys`,
      authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
      token_endpoint: `${base}/oauth2/v2.0/token`,
      // The sandbox's sign-in page (signin.ts) implements only id_token with form_post; the rest mirror Entra's document.
      response_types_supported: ['code', 'id_token', 'code id_token', 'token id_token', 'token'],
      response_modes_supported: ['query', 'fragment', 'form_post'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'nbf', 'auth_time', 'nonce', 'name', 'preferred_username', 'oid', 'tid', 'roles', 'azp', 'ver'],
      tenant_region_scope: 'EU',
    },
    call.headers,
  );
}
