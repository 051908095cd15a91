// Entra's token endpoint, for the one grant the app uses there: on-behalf-of (RFC 7523 jwt-bearer with
// requested_token_use=on_behalf_of), the app authenticating with a federated credential — a token its managed
// identity got for api://AzureADTokenExchange — instead of a secret. The issued token names the person, so the
// Resource Manager twin can apply the person's own role assignments (seed.ts USER_ROLE_ASSIGNMENTS).
import { errors as joseErrors, type JWTPayload } from 'jose';
import { SANDBOX_AUDIENCE } from '../sandbox-settings.js';
import { type Call, type TwinContext, stsIssuer } from './context.js';
import { sandboxIssuer } from './discovery.js';
import { HttpError, readForm, sendJson } from './http.js';
import { mintToken, verifyToken } from './issuer.js';
import { IDENTITY_PRINCIPAL_ID } from './seed.js';

export const TOKEN_PATH = /^\/([^/]+)\/oauth2\/v2\.0\/token$/i;

const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
/** The audience of a managed identity's token used as a federated credential. */
export const TOKEN_EXCHANGE_AUDIENCE = 'api://AzureADTokenExchange';
const TTL_SECONDS = 3600;
const OIDC_SCOPES = new Set(['openid', 'profile', 'offline_access', 'email']);

/** Entra's OAuth error body: error, error_description with the AADSTS code, error_codes. */
class TokenError extends HttpError {
  constructor(status: number, error: string, aadsts: number, description: string) {
    super(status, error, `AADSTS${aadsts}: ${description}`);
    this.aadsts = aadsts;
  }
  readonly aadsts: number;
}

async function verified(ctx: TwinContext, token: string | null, audiences: string[], what: string, aadsts: number): Promise<JWTPayload> {
  if (!token) throw new TokenError(400, 'invalid_request', 900144, `The request body must contain the following parameter: '${what}'.`);
  try {
    return await verifyToken(await ctx.issuerKeys.published(), token, audiences);
  } catch (error) {
    const why = error instanceof joseErrors.JWTExpired ? 'has expired' : 'is not valid (signature, audience or lifetime)';
    throw new TokenError(400, 'invalid_grant', aadsts, `The ${what} ${why}.`);
  }
}

export async function handleToken(ctx: TwinContext, call: Call): Promise<void> {
  try {
    const m = TOKEN_PATH.exec(call.path);
    if (m?.[1]?.toLowerCase() !== ctx.tenantId.toLowerCase()) throw new TokenError(400, 'invalid_request', 90002, `Tenant '${m?.[1] ?? ''}' not found.`);
    if (call.method !== 'POST') throw new TokenError(405, 'invalid_request', 900561, 'The token endpoint only accepts POST.');
    const form = await readForm(call.req);
    if (form.get('grant_type') !== JWT_BEARER || form.get('requested_token_use') !== 'on_behalf_of') {
      throw new TokenError(400, 'unsupported_grant_type', 70003, 'The sandbox token endpoint supports only the on-behalf-of grant.');
    }
    if ((form.get('client_id') ?? '').toLowerCase() !== ctx.appClientId.toLowerCase()) {
      throw new TokenError(400, 'unauthorized_client', 700016, `Application with identifier '${form.get('client_id') ?? ''}' was not found in the directory.`);
    }
    if (form.get('client_assertion_type') !== CLIENT_ASSERTION_TYPE) {
      throw new TokenError(401, 'invalid_client', 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.");
    }
    // The app registration's federated credential trusts exactly the app's managed identity.
    const client = await verified(ctx, form.get('client_assertion'), [TOKEN_EXCHANGE_AUDIENCE], 'client_assertion', 700211);
    if (client.iss !== stsIssuer(ctx.tenantId) || client['oid'] !== IDENTITY_PRINCIPAL_ID) {
      throw new TokenError(401, 'invalid_client', 70021, 'No matching federated identity record found for presented assertion subject.');
    }
    // The person's token for the app's API, delegated (a scope), never an app-only one.
    const user = await verified(ctx, form.get('assertion'), [SANDBOX_AUDIENCE, ctx.appClientId], 'assertion', 50013);
    if (user.iss !== sandboxIssuer(ctx.armUrl, ctx.tenantId) || typeof user['scp'] !== 'string' || typeof user['oid'] !== 'string') {
      throw new TokenError(400, 'invalid_grant', 50013, 'Assertion is not a delegated access token for this application.');
    }
    const resources = (form.get('scope') ?? '').split(' ').filter((scope) => scope && !OIDC_SCOPES.has(scope));
    const resource = resources[0]?.replace(/\/\.default$/, '');
    if (resources.length !== 1 || !resource)
      throw new TokenError(400, 'invalid_scope', 70011, 'Request one resource scope, such as https://management.azure.com/.default.');
    const accessToken = await mintToken(await ctx.issuerKeys.current(), {
      issuer: stsIssuer(ctx.tenantId),
      audience: resource,
      tenantId: ctx.tenantId,
      oid: user['oid'],
      subject: String(user.sub ?? user['oid']),
      ...(typeof user['name'] === 'string' ? { name: user['name'] } : {}),
      appid: ctx.appClientId,
      ttlSeconds: TTL_SECONDS,
      notBeforeSeconds: -300,
      extra: { scp: 'user_impersonation', idtyp: 'user', ...(typeof user['upn'] === 'string' ? { upn: user['upn'] } : {}) },
    });
    sendJson(
      call.res,
      200,
      { token_type: 'Bearer', scope: `${resource}/.default`, expires_in: TTL_SECONDS, ext_expires_in: TTL_SECONDS, access_token: accessToken },
      call.headers,
    );
  } catch (error) {
    if (!(error instanceof TokenError)) throw error;
    sendJson(
      call.res,
      error.status,
      { error: error.code, error_description: error.message, error_codes: [error.aadsts], timestamp: new Date().toISOString() },
      call.headers,
    );
  }
}
