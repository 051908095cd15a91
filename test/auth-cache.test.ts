import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey } from 'jose';
import { AuthenticationError, IssuerUnavailableError, createAuthenticator, prefetchIssuerKeys } from '../shared/auth/authenticate.js';
import type { Settings } from '../shared/config/settings.js';

/**
 * The authenticator's memory of validated tokens, in process, against a local JWKS endpoint and a clock the test
 * moves: a remembered token is still refused once it expires, refusals are never remembered, the memory is
 * bounded, and the issuer's keys can be fetched ahead of the first request.
 */
const TENANT = '7d3f9c2a-1b4e-4f6a-9c8d-2e5b7a1f3c90';
const ISSUER = `https://login.example.test/${TENANT}/v2.0`;
const AUDIENCE = 'api://sovereign-mcp';
const KID = 'test-key';

let server: Server;
let baseUrl: string;
let privateKey: CryptoKey;
let jwks: unknown;
/** Requests per JWKS path, and paths that answer 500 for now. */
const fetches = new Map<string, number>();
const failing = new Set<string>();

beforeAll(async () => {
  const pair = await generateKeyPair('RS256');
  privateKey = pair.privateKey;
  jwks = { keys: [{ ...(await exportJWK(pair.publicKey)), kid: KID, alg: 'RS256', use: 'sig' }] };
  server = createServer((req, res) => {
    const path = req.url ?? '/';
    fetches.set(path, (fetches.get(path) ?? 0) + 1);
    if (failing.has(path)) {
      res.writeHead(500).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwks));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  baseUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

/** Each test its own JWKS URL: jose's key cache is per URL and per process. */
const auth = (overrides: Partial<Settings['auth']> = {}): Settings['auth'] => ({
  audience: AUDIENCE,
  issuer: ISSUER,
  jwksUri: `${baseUrl}/${randomUUID()}/keys`,
  scopes: ['Mcp.Access'],
  allowedClientApps: 'any',
  ...overrides,
});

/** A clock the test moves (ms since the epoch, whole seconds so exp arithmetic is exact). */
function clock(start = Math.floor(Date.now() / 1000) * 1000) {
  let now = start;
  return { now: () => now, at: (seconds: number) => (now = start + seconds * 1000), seconds: Math.floor(start / 1000) };
}

async function token(nowSeconds: number, claims: Record<string, unknown> = {}, times: { exp?: number; nbf?: number } = {}): Promise<string> {
  return `Bearer ${await new SignJWT({ tid: TENANT, oid: randomUUID(), scp: 'Mcp.Access', roles: ['Mcp.Reader'], ...claims })
    .setProtectedHeader({ alg: 'RS256', kid: KID, typ: 'JWT' })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt(nowSeconds)
    .setNotBefore(nowSeconds + (times.nbf ?? 0))
    .setExpirationTime(nowSeconds + (times.exp ?? 3600))
    .sign(privateKey)}`;
}

describe('the validated-token memory', () => {
  it('verifies a token once, then answers repeats from memory for at most 60 s', async () => {
    const time = clock();
    const authenticate = createAuthenticator(auth(), TENANT, { now: time.now });
    const bearer = await token(time.seconds);
    const first = await authenticate(bearer);
    expect(authenticate.cachedTokens).toBe(1);
    time.at(59);
    expect(await authenticate(bearer)).toBe(first);
    // After 60 s the token is verified afresh (still valid: the same caller, a new object) and remembered again.
    time.at(61);
    const again = await authenticate(bearer);
    expect(again).not.toBe(first);
    expect(again).toEqual(first);
    expect(authenticate.cachedTokens).toBe(1);
    // What it hands out cannot be changed by one request for the next.
    expect(Object.isFrozen(again) && Object.isFrozen(again.roles)).toBe(true);
  });

  it('refuses a remembered token once it is past its exp, and never remembers it beyond exp', async () => {
    const time = clock();
    const authenticate = createAuthenticator(auth(), TENANT, { now: time.now });
    const bearer = await token(time.seconds, {}, { exp: 30 });
    const first = await authenticate(bearer);
    time.at(20);
    expect(await authenticate(bearer)).toBe(first); // from memory, before exp
    // Just past exp (within the 60 s clock skew jose allows): no longer from memory, verified again, not remembered.
    time.at(31);
    const reverified = await authenticate(bearer);
    expect(reverified).not.toBe(first);
    expect(authenticate.cachedTokens).toBe(0);
    // Past exp and the skew: refused, as it would be without any memory.
    time.at(30 + 61);
    await expect(authenticate(bearer)).rejects.toThrow(new AuthenticationError('The token has expired.', 'invalid_token'));
    expect(authenticate.cachedTokens).toBe(0);
  });

  it('refuses a remembered token past its exp even when it was remembered less than 60 s before', async () => {
    const time = clock();
    const authenticate = createAuthenticator(auth(), TENANT, { now: time.now });
    const bearer = await token(time.seconds, {}, { exp: 10 });
    await authenticate(bearer);
    expect(authenticate.cachedTokens).toBe(1);
    // The clock jumps (a suspended instance resumes): the memory is checked against it, and the token refused.
    time.at(10 + 61);
    await expect(authenticate(bearer)).rejects.toThrow('The token has expired.');
    expect(authenticate.cachedTokens).toBe(0);
  });

  it('never remembers a token that failed verification', async () => {
    const time = clock();
    const authenticate = createAuthenticator(auth(), TENANT, { now: time.now });
    // Not valid yet (beyond the skew): refused, then accepted once its time has come — the refusal was not kept.
    const early = await token(time.seconds, {}, { nbf: 120 });
    await expect(authenticate(early)).rejects.toThrow('The token is not valid yet.');
    expect(authenticate.cachedTokens).toBe(0);
    time.at(100);
    await expect(authenticate(early)).resolves.toMatchObject({ tid: TENANT });

    // A forged signature is refused every time and never remembered.
    const [header, payload] = (await token(time.seconds + 100)).split('.');
    const forged = `${header}.${payload}.${Buffer.from('forged').toString('base64url')}`;
    const before = authenticate.cachedTokens;
    for (let i = 0; i < 2; i += 1) await expect(authenticate(forged)).rejects.toThrow('The token signature is invalid.');
    expect(authenticate.cachedTokens).toBe(before);

    // Refused for what the settings demand (another tenant, no scope, another client app): never remembered.
    for (const claims of [{ tid: randomUUID() }, { scp: 'Other.Scope' }]) {
      const bearer = await token(time.seconds + 100, claims);
      await expect(authenticate(bearer)).rejects.toBeInstanceOf(AuthenticationError);
      await expect(authenticate(bearer)).rejects.toBeInstanceOf(AuthenticationError);
    }
    expect(authenticate.cachedTokens).toBe(before);
  });

  it('does not remember a token while the issuer keys are unreachable, and accepts it once they are back', async () => {
    const settings = auth();
    const path = new URL(settings.jwksUri).pathname;
    failing.add(path);
    const authenticate = createAuthenticator(settings, TENANT);
    const bearer = await token(Math.floor(Date.now() / 1000));
    await expect(authenticate(bearer)).rejects.toBeInstanceOf(IssuerUnavailableError);
    expect(authenticate.cachedTokens).toBe(0);
    failing.delete(path);
    await expect(authenticate(bearer)).resolves.toMatchObject({ tid: TENANT });
    expect(authenticate.cachedTokens).toBe(1);
  });

  it('is per authenticator: a token one accepted is still checked against another one’s settings', async () => {
    const settings = auth();
    const open = createAuthenticator(settings, TENANT);
    const guarded = createAuthenticator({ ...settings, allowedClientApps: ['foundry-agent'] }, TENANT);
    const bearer = await token(Math.floor(Date.now() / 1000), { azp: 'some-other-app' });
    await expect(open(bearer)).resolves.toMatchObject({ clientAppId: 'some-other-app' });
    await expect(guarded(bearer)).rejects.toThrow(
      'The client application some-other-app is not one this deployment allows (AUTH_ALLOWED_CLIENT_APPS); ask the platform team to add it.',
    );
  });

  it('refuses every client app, with what to do, where the deployment has named none', async () => {
    const closed = createAuthenticator({ ...auth(), allowedClientApps: [] }, TENANT);
    const bearer = await token(Math.floor(Date.now() / 1000), { azp: 'vscode-client' });
    await expect(closed(bearer)).rejects.toThrow(/has not named the client applications that may call it yet \(AUTH_ALLOWED_CLIENT_APPS is empty/);
  });

  it('is bounded, dropping the least recently used token first', async () => {
    const time = clock();
    const authenticate = createAuthenticator(auth(), TENANT, { now: time.now, maxCachedTokens: 2 });
    const [a, b, c] = await Promise.all([token(time.seconds), token(time.seconds), token(time.seconds)]);
    const callerA = await authenticate(a);
    const callerB = await authenticate(b);
    expect(await authenticate(a)).toBe(callerA); // a is now the most recently used
    await authenticate(c); // the memory is full: b goes
    expect(authenticate.cachedTokens).toBe(2);
    expect(await authenticate(a)).toBe(callerA);
    const b2 = await authenticate(b);
    expect(b2).not.toBe(callerB);
    expect(b2).toEqual(callerB);
  });
});

describe('fetching the issuer keys ahead of the first request', () => {
  it('makes the first request use the keys already fetched', async () => {
    const settings = auth();
    const path = new URL(settings.jwksUri).pathname;
    await prefetchIssuerKeys(settings.jwksUri);
    expect(fetches.get(path)).toBe(1);
    await createAuthenticator(settings, TENANT)(await token(Math.floor(Date.now() / 1000)));
    expect(fetches.get(path)).toBe(1);
  });

  it('never fails, and leaves the first request to fetch them when it could not', async () => {
    const settings = auth();
    const path = new URL(settings.jwksUri).pathname;
    failing.add(path);
    await expect(prefetchIssuerKeys(settings.jwksUri)).resolves.toBeUndefined();
    await expect(prefetchIssuerKeys('http://127.0.0.1:1/unreachable/keys')).resolves.toBeUndefined();
    failing.delete(path);
    await createAuthenticator(settings, TENANT)(await token(Math.floor(Date.now() / 1000)));
    expect(fetches.get(path)).toBe(2);
  });
});
