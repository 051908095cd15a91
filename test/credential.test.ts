import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { IdentityUnavailableError, createManagedIdentityCredential } from '../shared/azure/credential.js';
import { ARM_SCOPE } from '../shared/azure/clients.js';

/**
 * The app's managed identity credential, in process, against a local stand-in for App Service's identity endpoint
 * (IDENTITY_ENDPOINT / IDENTITY_HEADER): the SDK is asked only when a token is needed, a token fetched ahead at
 * start is shared with the first call instead of asked for twice, and a failed or hung fetch ahead changes nothing
 * for the calls (same deadline, same error).
 */
const CLIENT_ID = '3c8e1f5a-9b2d-4e7c-a6f0-8d4b2c9e1a37';
const IDENTITY_ENV = ['IDENTITY_ENDPOINT', 'IDENTITY_HEADER', 'MSI_ENDPOINT', 'MSI_SECRET', 'WEBSITE_SITE_NAME'] as const;

let server: Server;
let endpoint: string;
let requests = 0;
/** How the next requests are answered: a token, or held open until the test ends. */
let mode: 'token' | 'hang' = 'token';
/** Requests held open, each with the token answer it gets when the test ends. */
const held: { res: ServerResponse; resource: string }[] = [];
const saved = Object.fromEntries(IDENTITY_ENV.map((name) => [name, process.env[name]]));

beforeAll(async () => {
  server = createServer((req, res) => {
    requests += 1;
    const resource = new URL(req.url ?? '/', 'http://x').searchParams.get('resource') ?? '';
    if (mode === 'hang') held.push({ res, resource });
    else answerWithToken(res, resource);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  endpoint = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/msi/token`;
});
afterEach(() => {
  mode = 'token';
  requests = 0;
  // Answered rather than cut off: the SDK retries a dropped request on timers of its own (it does not take an abort
  // signal for it), which kept jest's worker alive for seconds after the tests and had it force-exited.
  for (const { res, resource } of held.splice(0)) answerWithToken(res, resource);
});

function answerWithToken(res: ServerResponse, resource: string): void {
  res.writeHead(200, { 'content-type': 'application/json' }).end(
    JSON.stringify({
      access_token: `token-${requests}-for-${resource}`,
      expires_on: String(Math.floor(Date.now() / 1000) + 3600),
      resource,
      token_type: 'Bearer',
      client_id: CLIENT_ID,
    }),
  );
}
afterAll(async () => {
  for (const name of IDENTITY_ENV) {
    if (saved[name] === undefined) delete process.env[name];
    else process.env[name] = saved[name];
  }
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

/** MSAL keeps managed identity tokens in one cache per process: each test asks for its own resource. */
let resources = 0;
const freshScope = () => `https://resource-${(resources += 1)}.example.test/.default`;

function attached() {
  for (const name of IDENTITY_ENV) delete process.env[name];
  process.env.IDENTITY_ENDPOINT = endpoint;
  process.env.IDENTITY_HEADER = 'secret-header';
}

describe('the managed identity credential', () => {
  it('asks the identity endpoint only when a token is first needed', async () => {
    attached();
    const credential = createManagedIdentityCredential(CLIENT_ID, 5_000);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(requests).toBe(0);
    const token = await credential.getToken(ARM_SCOPE);
    expect(token?.token).toMatch(/^token-1-for-https:\/\/management\.azure\.com/);
    expect(requests).toBe(1);
  });

  it('shares a token fetched ahead with the first call that needs it: one request, not two', async () => {
    attached();
    const credential = createManagedIdentityCredential(CLIENT_ID, 5_000);
    const scope = freshScope();
    credential.prefetch(scope);
    credential.prefetch(scope); // already in flight: not asked twice
    const token = await credential.getToken(scope);
    expect(token?.token).toMatch(/^token-1-/);
    // Once fetched, the SDK's own cache answers.
    expect((await credential.getToken(scope))?.token).toBe(token?.token);
    expect(requests).toBe(1);
  });

  it('keeps each call to its own deadline and message while a fetch ahead hangs', async () => {
    attached();
    mode = 'hang';
    const credential = createManagedIdentityCredential(CLIENT_ID, 400);
    const scope = freshScope();
    credential.prefetch(scope);
    await new Promise((resolve) => setTimeout(resolve, 150));
    const started = Date.now();
    const failure = await credential.getToken(scope).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(IdentityUnavailableError);
    expect((failure as Error).message).toBe('The managed identity did not issue a token within 400 ms; try again later.');
    // Its own 400 ms from when it asked, not what was left of the fetch ahead's.
    expect(Date.now() - started).toBeGreaterThanOrEqual(390);
  });

  it('forgets a fetch ahead that failed: the next call asks for itself', async () => {
    attached();
    mode = 'hang';
    const credential = createManagedIdentityCredential(CLIENT_ID, 200);
    const scope = freshScope();
    credential.prefetch(scope);
    await new Promise((resolve) => setTimeout(resolve, 300)); // the fetch ahead has timed out
    mode = 'token';
    const token = await credential.getToken(scope);
    expect(token?.token).toMatch(/^token-2-/);
  });

  it('without an identity endpoint, fetches nothing ahead and refuses the call as before', async () => {
    for (const name of IDENTITY_ENV) delete process.env[name];
    const credential = createManagedIdentityCredential(CLIENT_ID, 5_000);
    credential.prefetch(ARM_SCOPE);
    const failure = await credential.getToken(freshScope()).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(IdentityUnavailableError);
    expect((failure as Error).message).toBe("The app's managed identity is not available; operators: see the app logs.");
    expect(requests).toBe(0);
  });
});
