import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { SettingsError } from '../../shared/config/settings.js';

/** The cookie App Service Authentication keeps its session in. */
const SESSION_COOKIE = 'AppServiceAuthSession';
const CALLBACK_PATH = '/.auth/login/aad/callback';
/** How long a started sign-in may take before its state is forgotten. */
const SIGN_IN_TTL_MS = 10 * 60_000;
const MAX_CALLBACK_BYTES = 64 * 1024;

export interface EasyAuthSettings {
  clientId: string;
  issuer: string;
  jwksUri: string;
}

/**
 * A stand-in for App Service Authentication ("Easy Auth") in front of the local host, so the approval page's
 * sign-in works as in Azure: `/.auth/login/aad` runs an OpenID Connect sign-in (id_token, form_post) at the
 * issuer, a cookie keeps the session, and every forwarded request carries the platform's `X-MS-*` headers, never
 * the client's. Dev-only: in Azure the platform does this, and the app verifies the ID token either way.
 */
export interface EasyAuth {
  /** Serves `/.auth/*`; false for any other path, which the host then routes to the app. */
  serve(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean>;
  /** Replaces the `x-ms-*` headers of a request about to be forwarded with the signed-in user's, if any. */
  forward(headers: Record<string, string>): void;
}

/** On when the host has the app registration and issuer settings (AUTH_CLIENT_ID, AUTH_ISSUER, AUTH_JWKS_URI). */
export function easyAuthSettings(env: NodeJS.ProcessEnv): EasyAuthSettings | undefined {
  const { AUTH_CLIENT_ID: clientId, AUTH_ISSUER: issuer, AUTH_JWKS_URI: jwksUri } = env;
  return clientId && issuer && jwksUri ? { clientId, issuer, jwksUri } : undefined;
}

interface SignIn {
  nonce: string;
  redirect: string;
  expiresAt: number;
}

interface Session {
  idToken: string;
  oid: string;
  name: string;
  expiresAt: number;
}

export function createEasyAuth(settings: EasyAuthSettings): EasyAuth {
  // Entra's (and the sandbox's) v2 issuer is {authority}/v2.0; its authorize endpoint is {authority}/oauth2/v2.0/authorize.
  if (!/\/v2\.0\/?$/.test(settings.issuer)) throw new SettingsError(`AUTH_ISSUER must be an Entra v2 issuer ending in /v2.0; got ${settings.issuer}`);
  const authorizeUrl = settings.issuer.replace(/\/v2\.0\/?$/, '/oauth2/v2.0/authorize');
  const jwks = createRemoteJWKSet(new URL(settings.jwksUri));
  // Keyed by state rather than a cookie: the form_post comes back from the issuer's origin (cross-site), and a
  // SameSite=Lax cookie is not sent on a cross-site POST. Each state is single-use and short-lived.
  const signIns = new Map<string, SignIn>();
  const sessions = new Map<string, Session>();

  const prune = () => {
    const now = Date.now();
    for (const [key, signIn] of signIns) if (signIn.expiresAt <= now) signIns.delete(key);
    for (const [key, session] of sessions) if (session.expiresAt <= now) sessions.delete(key);
  };

  const sessionOf = (cookieHeader: string | undefined): [string, Session] | undefined => {
    const id = cookie(cookieHeader, SESSION_COOKIE);
    const session = id ? sessions.get(id) : undefined;
    if (!id || !session) return undefined;
    if (session.expiresAt <= Date.now()) {
      sessions.delete(id);
      return undefined;
    }
    return [id, session];
  };

  function login(res: ServerResponse, url: URL): void {
    prune();
    const state = randomBytes(32).toString('base64url');
    const nonce = randomBytes(32).toString('base64url');
    signIns.set(state, { nonce, redirect: localPath(url.searchParams.get('post_login_redirect_uri')), expiresAt: Date.now() + SIGN_IN_TTL_MS });
    const query = new URLSearchParams({
      client_id: settings.clientId,
      redirect_uri: `${url.origin}${CALLBACK_PATH}`,
      response_type: 'id_token',
      response_mode: 'form_post',
      scope: 'openid profile',
      nonce,
      state,
    });
    const prompt = url.searchParams.get('prompt');
    if (prompt) query.set('prompt', prompt);
    // A claims request (a Conditional Access authentication context the approval page demands) goes on as it came.
    const claims = url.searchParams.get('claims');
    if (claims) query.set('claims', claims);
    redirect(res, `${authorizeUrl}?${query}`);
  }

  async function callback(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const form = await readForm(req);
    const state = form?.get('state');
    const signIn = state ? signIns.get(state) : undefined;
    if (state) signIns.delete(state);
    if (!form || !signIn || signIn.expiresAt <= Date.now()) return refuse(res, 'Sign-in failed: unknown or expired sign-in attempt. Start again.');
    const idToken = form.get('id_token');
    if (!idToken) return refuse(res, 'Sign-in failed: the identity provider returned no ID token.');
    let session: Session;
    try {
      const { payload } = await jwtVerify(idToken, jwks, {
        issuer: settings.issuer,
        audience: settings.clientId,
        algorithms: ['RS256'],
        requiredClaims: ['exp', 'nonce', 'oid'],
      });
      if (payload.nonce !== signIn.nonce) return refuse(res, 'Sign-in failed: the ID token does not answer this sign-in (nonce).');
      const name = [payload.preferred_username, payload.name].find((value): value is string => typeof value === 'string') ?? '';
      session = { idToken, oid: String(payload.oid), name, expiresAt: (payload.exp ?? 0) * 1000 };
    } catch {
      return refuse(res, 'Sign-in failed: the ID token is not valid.');
    }
    const id = randomBytes(32).toString('base64url');
    sessions.set(id, session);
    redirect(res, signIn.redirect, `${SESSION_COOKIE}=${id}; Path=/; HttpOnly; SameSite=Lax`);
  }

  function logout(req: IncomingMessage, res: ServerResponse): void {
    const found = sessionOf(req.headers.cookie);
    if (found) sessions.delete(found[0]);
    redirect(res, '/', `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0`);
  }

  return {
    async serve(req, res, url) {
      const path = url.pathname.toLowerCase();
      if (!path.startsWith('/.auth/')) return false;
      if (path === '/.auth/login/aad' && req.method === 'GET') login(res, url);
      else if (path === CALLBACK_PATH && req.method === 'POST') await callback(req, res);
      else if (path === '/.auth/logout' && req.method === 'GET') logout(req, res);
      else send(res, 404, 'Not found');
      return true;
    },
    forward(headers) {
      // The platform owns these headers: whatever the client sent under them is dropped.
      for (const name of Object.keys(headers)) if (name.toLowerCase().startsWith('x-ms-')) delete headers[name];
      const session = sessionOf(headers.cookie)?.[1];
      if (!session) return;
      headers['x-ms-token-aad-id-token'] = session.idToken;
      headers['x-ms-client-principal-id'] = session.oid;
      headers['x-ms-client-principal-name'] = session.name;
      headers['x-ms-client-principal-idp'] = 'aad';
    },
  };
}

/** Only a path on this origin: one leading slash, no `//` or `\` that a browser would read as another host. */
function localPath(raw: string | null): string {
  return raw && /^\/(?![/\\])[^\\\s]*$/.test(raw) ? raw : '/';
}

function cookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const at = part.indexOf('=');
    if (at > 0 && part.slice(0, at).trim() === name) return part.slice(at + 1).trim();
  }
  return undefined;
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams | undefined> {
  if (!/^application\/x-www-form-urlencoded\s*(;|$)/i.test(req.headers['content-type'] ?? '')) return undefined;
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    total += chunk.byteLength;
    if (total > MAX_CALLBACK_BYTES) return undefined;
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function redirect(res: ServerResponse, location: string, setCookie?: string): void {
  res.writeHead(302, { location, 'cache-control': 'no-store', ...(setCookie ? { 'set-cookie': setCookie } : {}) });
  res.end();
}

function refuse(res: ServerResponse, message: string): void {
  send(res, 401, message);
}

function send(res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
  res.end(message);
}
