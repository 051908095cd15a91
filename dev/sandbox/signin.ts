// Entra-shaped OpenID Connect sign-in for the app's web pages (response_type=id_token, response_mode=form_post):
// GET /{tenant}/oauth2/v2.0/authorize shows the dev users; choosing one posts an ID token, signed by the sandbox
// issuer, back to the app's loopback redirect_uri. No sessions: every sign-in picks a user afresh.
import { createHash, randomBytes } from 'node:crypto';
import type { Call, TwinContext } from './context.js';
import { sandboxIssuer } from './discovery.js';
import { HttpError, readForm, sendHtml } from './http.js';
import { mintToken } from './issuer.js';
import { AUTH_CONTEXT_ID } from '../../shared/auth/step-up.js';
import { DEPARTMENT, DEV_USERS, type DevUser } from './seed.js';
import { errorPage, formPostPage, signInPage } from './signin-page.js';

export const AUTHORIZE_PATH = /^\/([^/]+)\/oauth2\/v2\.0\/authorize$/i;

const ID_TOKEN_TTL_SECONDS = 3600;
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);
/** Request parameters the picker carries through its form, so the POST is the same request plus a user. */
const CARRIED = ['client_id', 'redirect_uri', 'response_type', 'response_mode', 'scope', 'nonce', 'state', 'prompt', 'login_hint', 'claims'];

/** A request refused before anything can be sent to redirect_uri: Entra shows an error page, and so do we. */
class SignInError extends HttpError {
  constructor(code: string, message: string) {
    super(400, code, message);
  }
}

interface Authorize {
  redirectUri: string;
  nonce: string;
  /** Authentication contexts the claims request asks the ID token to carry (`acrs`); the sandbox's users satisfy any. */
  authContexts: string[];
  state: string | undefined;
  prompt: string | undefined;
  carried: [string, string][];
}

const users: readonly { key: string; user: DevUser }[] = Object.entries(DEV_USERS).map(([key, user]) => ({ key, user }));

function loopbackRedirect(raw: string | null): string {
  let url: URL | undefined;
  try {
    url = raw ? new URL(raw) : undefined;
  } catch {
    url = undefined;
  }
  const ok = url && (url.protocol === 'http:' || url.protocol === 'https:') && LOOPBACK_HOSTS.has(url.hostname) && !url.username && !url.password && !url.hash;
  if (!ok || !raw) {
    throw new SignInError(
      'AADSTS50011',
      `The redirect URI '${raw ?? ''}' specified in the request does not match the redirect URIs configured for the application. The sandbox accepts only loopback redirect URIs: http or https on 127.0.0.1, localhost or [::1], without a fragment.`,
    );
  }
  return raw;
}

function validate(ctx: TwinContext, params: URLSearchParams): Authorize {
  const clientId = params.get('client_id');
  if (!clientId) throw new SignInError('AADSTS900144', "The request body must contain the following parameter: 'client_id'.");
  if (clientId.toLowerCase() !== ctx.appClientId.toLowerCase()) {
    throw new SignInError(
      'AADSTS700016',
      `Application with identifier '${clientId}' was not found in the directory '${DEPARTMENT}'. The sandbox app registration is ${ctx.appClientId}.`,
    );
  }
  const redirectUri = loopbackRedirect(params.get('redirect_uri'));
  const responseType = params.get('response_type');
  if (responseType !== 'id_token') {
    throw new SignInError(
      'AADSTS700054',
      `response_type '${responseType ?? ''}' is not enabled for the application. The sandbox sign-in supports response_type=id_token only.`,
    );
  }
  if (params.get('response_mode') !== 'form_post') {
    throw new SignInError(
      'AADSTS900144',
      `The sandbox sign-in supports response_mode=form_post only; got '${params.get('response_mode') ?? '(none: Entra would default to fragment)'}'.`,
    );
  }
  if (!(params.get('scope') ?? '').split(/\s+/).includes('openid')) {
    throw new SignInError('AADSTS900144', "The 'scope' parameter must include 'openid' to request an ID token.");
  }
  const nonce = params.get('nonce');
  if (!nonce) throw new SignInError('AADSTS900144', "The request body must contain the following parameter: 'nonce'.");
  return {
    redirectUri,
    nonce,
    authContexts: requestedContexts(params.get('claims')),
    state: params.get('state') ?? undefined,
    prompt: params.get('prompt') ?? undefined,
    carried: CARRIED.flatMap((name) => {
      const value = params.get(name);
      return value === null ? [] : [[name, value] as [string, string]];
    }),
  };
}

/**
 * The `acrs` values an OpenID Connect claims request asks of the ID token: `{"id_token":{"acrs":{"essential":true,
 * "value":"c2"}}}` (or `values`). A claims parameter that is not such JSON is refused, as Entra refuses it.
 */
function requestedContexts(raw: string | null): string[] {
  if (raw === null) return [];
  let request: { id_token?: { acrs?: { value?: unknown; values?: unknown } } };
  try {
    request = JSON.parse(raw) as typeof request;
  } catch {
    throw new SignInError('AADSTS90100', "The 'claims' parameter is not valid JSON.");
  }
  const acrs = request?.id_token?.acrs;
  const values = [acrs?.value, ...(Array.isArray(acrs?.values) ? (acrs.values as unknown[]) : [])].filter(
    (value): value is string => typeof value === 'string',
  );
  const bad = values.find((value) => !AUTH_CONTEXT_ID.test(value));
  if (bad !== undefined) throw new SignInError('AADSTS90100', `'${bad.slice(0, 20)}' is not an authentication context id (c1 to c99).`);
  return values;
}

/** Entra's `sub` is pairwise: stable for one user and app, and not the object id. */
function pairwiseSubject(tenantId: string, clientId: string, oid: string): string {
  return createHash('sha256').update(`${tenantId}:${clientId}:${oid}`).digest('base64url').slice(0, 43);
}

async function idToken(ctx: TwinContext, user: DevUser, nonce: string, authContexts: readonly string[]): Promise<string> {
  return mintToken(await ctx.issuerKeys.current(), {
    issuer: sandboxIssuer(ctx.armUrl, ctx.tenantId),
    audience: ctx.appClientId,
    tenantId: ctx.tenantId,
    oid: user.oid,
    subject: pairwiseSubject(ctx.tenantId, ctx.appClientId, user.oid),
    name: user.name,
    roles: [...user.roles],
    ttlSeconds: ID_TOKEN_TTL_SECONDS,
    extra: {
      nonce,
      auth_time: Math.floor(Date.now() / 1000),
      preferred_username: user.upn,
      ...(authContexts.length > 0 ? { acrs: [...authContexts] } : {}),
    },
  });
}

function csp(nonce: string, formAction: string): Record<string, string> {
  return {
    'content-security-policy': `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; form-action ${formAction}; frame-ancestors 'none'; base-uri 'none'`,
  };
}

export async function handleAuthorize(ctx: TwinContext, call: Call): Promise<void> {
  const cspNonce = randomBytes(16).toString('base64');
  try {
    const m = AUTHORIZE_PATH.exec(call.path);
    if (m?.[1]?.toLowerCase() !== ctx.tenantId.toLowerCase()) {
      throw new SignInError('AADSTS90002', `Tenant '${m?.[1] ?? ''}' not found; the sandbox tenant is ${ctx.tenantId}.`);
    }
    if (call.method !== 'GET' && call.method !== 'POST') throw new HttpError(405, 'MethodNotAllowed', 'The authorize endpoint accepts GET and POST.');
    const params = call.method === 'POST' ? await readForm(call.req) : call.query;
    const request = validate(ctx, params);
    const back = (fields: [string, string][]): void => {
      const withState: [string, string][] = request.state === undefined ? fields : [...fields, ['state', request.state]];
      sendHtml(call.res, 200, formPostPage(request.redirectUri, withState, cspNonce), {
        ...call.headers,
        ...csp(cspNonce, new URL(request.redirectUri).origin),
      });
    };
    const chosen = call.method === 'POST' ? params.get('user') : null;
    if (chosen !== null) {
      const user = (DEV_USERS as Record<string, DevUser>)[chosen];
      if (!user)
        throw new SignInError('AADSTS50034', `The user '${chosen}' does not exist in the sandbox. Choose one of: ${Object.keys(DEV_USERS).join(', ')}.`);
      back([['id_token', await idToken(ctx, user, request.nonce, request.authContexts)]]);
      return;
    }
    // There is never a session to reuse, so a silent sign-in fails as it does in Entra for a signed-out user.
    if (request.prompt === 'none') {
      back([
        ['error', 'login_required'],
        ['error_description', 'AADSTS50058: A silent sign-in request was sent but no user is signed in.'],
      ]);
      return;
    }
    sendHtml(call.res, 200, signInPage({ action: call.url.pathname, hidden: request.carried, users, redirectUri: request.redirectUri, cspNonce }), {
      ...call.headers,
      ...csp(cspNonce, "'self'"),
    });
  } catch (e) {
    if (!(e instanceof HttpError)) throw e;
    sendHtml(call.res, e.status, errorPage(e.code, e.message, cspNonce), { ...call.headers, ...e.headers, ...csp(cspNonce, "'none'") });
  }
}
