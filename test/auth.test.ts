import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { createPublicKey, randomUUID } from 'node:crypto';
import { SignJWT, generateKeyPair, type JWK } from 'jose';
import { acquireSharedStack, acquireSharedStackWith } from './helpers/shared-stack.js';
import type { TestStack } from './helpers/stack.js';
import { waitFor } from './helpers/poll.js';
import { isAuditKeyRead } from './helpers/audit-key-read.js';
import { auditChain, newTraceparent } from './hostile/helpers/audit-chain.js';

describe('auth', () => {
  /**
   * Production token validation, attacked with real signed tokens. Every bad token gets 401 and nothing runs:
   * the twin's request log shows no Resource Manager or Key Vault call.
   */
  let stack: TestStack;
  const AUDIENCE = 'api://sovereign-mcp';

  beforeAll(async () => {
    stack = await acquireSharedStack();
  });
  afterAll(async () => stack?.stop());
  beforeEach(async () => stack.admin.clearRequests());

  const claims = () => ({ tid: stack.sandbox.tenantId, oid: randomUUID(), roles: ['Mcp.Reader'], scp: 'Mcp.Access' });

  interface Registered {
    iss?: string;
    aud?: string;
    /** Seconds from now; null leaves the claim out. */
    exp?: number | null;
    nbf?: number;
    /** Seconds from now; null leaves the claim out. */
    iat?: number | null;
  }

  /** Signs with the sandbox issuer's real signing key, so only the claim under test is wrong. */
  async function signWithIssuerKey(payload: Record<string, unknown>, registered: Registered = {}) {
    const key = await stack.sandbox.issuerKeys.current();
    const now = Math.floor(Date.now() / 1000);
    const jwt = new SignJWT(payload)
      .setProtectedHeader({ alg: 'RS256', kid: key.kid, typ: 'JWT' })
      .setIssuer(registered.iss ?? stack.sandbox.issuer)
      .setAudience(registered.aud ?? AUDIENCE)
      .setNotBefore(now + (registered.nbf ?? 0));
    if (registered.iat !== null) jwt.setIssuedAt(now + (registered.iat ?? 0));
    if (registered.exp !== null) jwt.setExpirationTime(now + (registered.exp ?? 3600));
    return jwt.sign(key.privateKey);
  }

  async function callWith(token: string | undefined, url = `${stack.baseUrl}/tools/group_get`) {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ name: 'rg-ddr-dr-ukw' }),
    });
    const azureCalls = (await stack.admin.requests()).filter((entry) => (entry.service === 'arm' || entry.service === 'vault') && !isAuditKeyRead(entry));
    return { status: response.status, challenge: response.headers.get('www-authenticate') ?? '', body: await response.text(), azureCalls };
  }

  const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

  describe('bearer tokens that must be refused', () => {
    const attacks: [string, () => Promise<string>][] = [
      ['another audience', () => signWithIssuerKey(claims(), { aud: 'api://another-app' })],
      ['another tenant (tid)', () => signWithIssuerKey({ ...claims(), tid: randomUUID() })],
      ["another tenant's issuer", () => signWithIssuerKey(claims(), { iss: `${stack.sandbox.armUrl}/${randomUUID()}/v2.0` })],
      ['expired (beyond the clock skew)', () => signWithIssuerKey(claims(), { nbf: -7200, exp: -300 })],
      ['not yet valid (beyond the clock skew)', () => signWithIssuerKey(claims(), { nbf: 600 })],
      ['missing oid', () => signWithIssuerKey({ tid: stack.sandbox.tenantId, roles: ['Mcp.Reader'], scp: 'Mcp.Access' })],
      ['missing exp', () => signWithIssuerKey(claims(), { exp: null })],
      [
        'alg none',
        async () =>
          `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ ...claims(), iss: stack.sandbox.issuer, aud: AUDIENCE, exp: Math.floor(Date.now() / 1000) + 3600 })}.`,
      ],
      [
        'HS256 signed with the public key',
        async () => {
          const published = (await (await fetch(stack.sandbox.jwksUri)).json()) as { keys: JWK[] };
          const jwk = published.keys[0]!;
          const pem = createPublicKey({ key: jwk as never, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
          const now = Math.floor(Date.now() / 1000);
          return new SignJWT(claims())
            .setProtectedHeader({ alg: 'HS256', kid: jwk.kid!, typ: 'JWT' })
            .setIssuer(stack.sandbox.issuer)
            .setAudience(AUDIENCE)
            .setExpirationTime(now + 3600)
            .sign(new Uint8Array(Buffer.from(pem)));
        },
      ],
      [
        'an unknown signing key (kid)',
        async () => {
          const { privateKey } = await generateKeyPair('RS256');
          const now = Math.floor(Date.now() / 1000);
          return new SignJWT(claims())
            .setProtectedHeader({ alg: 'RS256', kid: 'attacker-key', typ: 'JWT' })
            .setIssuer(stack.sandbox.issuer)
            .setAudience(AUDIENCE)
            .setExpirationTime(now + 3600)
            .sign(privateKey);
        },
      ],
      [
        'a valid header with a tampered payload',
        async () => {
          const [header, , signature] = (await signWithIssuerKey(claims())).split('.');
          return `${header}.${b64({ ...claims(), roles: ['Mcp.Operator'], iss: stack.sandbox.issuer, aud: AUDIENCE, exp: Math.floor(Date.now() / 1000) + 3600 })}.${signature}`;
        },
      ],
      ['garbage', async () => 'not.a.jwt'],
    ];

    it.each(attacks)('refuses %s with 401 and calls nothing', async (_name, make) => {
      const result = await callWith(await make());
      expect(result.status).toBe(401);
      expect(result.challenge).toMatch(/^Bearer resource_metadata="[^"]+", error="invalid_token"/);
      expect(result.azureCalls).toEqual([]);
      expect(result.body).not.toMatch(/eyJ|stack|at .*\.js/);
    });

    it('refuses a token in the query string with 401 and calls nothing', async () => {
      const token = await signWithIssuerKey(claims());
      const result = await callWith(undefined, `${stack.baseUrl}/tools/group_get?access_token=${token}`);
      expect(result.status).toBe(401);
      expect(result.azureCalls).toEqual([]);
    });

    it('accepts the same token shape when nothing is wrong (the control)', async () => {
      const result = await callWith(await signWithIssuerKey(claims()));
      expect(result.status).toBe(200);
      expect(result.azureCalls.length).toBeGreaterThan(0);
    });
  });

  describe('token claims that must be well formed', () => {
    const HOUR = 3600;
    // Each is signed with the issuer's real key: only the claim under test is wrong.
    const malformed: [string, () => Promise<string>, RegExp][] = [
      ['an empty oid', () => signWithIssuerKey({ ...claims(), oid: '' }), /"?oid"? claim must be .*a GUID/],
      ['an object as oid', () => signWithIssuerKey({ ...claims(), oid: { id: randomUUID() } }), /"?oid"? claim must be .*a GUID/],
      ['a name as oid', () => signWithIssuerKey({ ...claims(), oid: 'global-admin' }), /"?oid"? claim must be .*a GUID/],
      ['an empty tid', () => signWithIssuerKey({ ...claims(), tid: '' }), /"?tid"? claim must be .*a GUID/],
      ['an object as tid', () => signWithIssuerKey({ ...claims(), tid: { id: stack.sandbox.tenantId } }), /"?tid"? claim must be .*a GUID/],
      ['an iat ten minutes in the future', () => signWithIssuerKey(claims(), { iat: 600 }), /"?iat"? claim .* in the future/],
      ['no iat', () => signWithIssuerKey(claims(), { iat: null }), /missing or has an invalid "?iat"? claim/],
      ['a lifetime of 30 days', () => signWithIssuerKey(claims(), { exp: 30 * 24 * HOUR }), /lifetime .* longer than the 24 hours/],
      ['a lifetime of 25 hours', () => signWithIssuerKey(claims(), { exp: 25 * HOUR }), /lifetime .* longer than the 24 hours/],
      [
        'an iat two days ago (still unexpired)',
        () => signWithIssuerKey(claims(), { iat: -48 * HOUR, nbf: -48 * HOUR, exp: HOUR }),
        /issued more than 24 hours ago/,
      ],
    ];

    it.each(malformed)('refuses %s with 401, says why and audits a denial', async (_name, make, why) => {
      const { traceparent, traceId } = newTraceparent();
      const response = await fetch(`${stack.baseUrl}/tools/access_whoami`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${await make()}`, traceparent },
        body: '{}',
      });
      const challenge = response.headers.get('www-authenticate') ?? '';
      const body = (await response.json()) as { error?: { message?: string } };
      expect(response.status).toBe(401);
      expect(challenge).toMatch(/error="invalid_token"/);
      expect(/error_description="([^"]*)"/.exec(challenge)?.[1]).toMatch(why);
      expect(body.error?.message).toMatch(why);
      const records = await auditChain(stack).waitFor((all) => all.some((record) => record.traceId === traceId));
      const record = records.find((entry) => entry.traceId === traceId);
      expect(record).toMatchObject({ httpStatus: 401, authenticated: false, decision: 'denied', rule: 'edge.unauthenticated', outcome: 'denied' });
      expect(record?.callerOid).toBeUndefined();
      expect(String(record?.reason)).toMatch(why);
    });

    it.each([
      ['the default an hour', HOUR],
      ["npm start's 8 hours", 8 * HOUR],
      ["the token command's longest, 24 hours", 24 * HOUR],
    ])('accepts a lifetime of %s (the control)', async (_name, lifetime) => {
      const result = await callWith(await signWithIssuerKey(claims(), { exp: lifetime }));
      expect(result.status).toBe(200);
    });
  });

  describe('issuer signing-key rollover', () => {
    it('accepts tokens from a newly published key, and still from the previous one', async () => {
      const before = await signWithIssuerKey(claims());
      expect((await callWith(before)).status).toBe(200);
      const { kid } = await stack.admin.rotateIssuerKey();
      const after = await signWithIssuerKey(claims());
      expect(JSON.parse(Buffer.from(after.split('.')[0]!, 'base64url').toString()).kid).toBe(kid);
      // An unknown kid makes the app fetch the keys again, at most once per cool-down (5 s), as Entra rollover needs:
      // polled (the cool-down may still run from the last fetch), bounded well past it.
      expect(
        (
          await waitFor(
            () => callWith(after),
            (response) => response.status === 200,
            60_000,
          )
        ).status,
      ).toBe(200);
      expect((await callWith(before)).status).toBe(200);
    });
  });

  describe('allowed client applications', () => {
    let guarded: TestStack;
    beforeAll(async () => {
      guarded = await acquireSharedStackWith({ AUTH_ALLOWED_CLIENT_APPS: 'vscode-client,foundry-agent' });
    });
    afterAll(async () => guarded?.stop());

    async function callAs(azp: string | undefined) {
      const token = await guarded.sandbox.mintToken({
        audience: AUDIENCE,
        tenantId: guarded.sandbox.tenantId,
        oid: randomUUID(),
        roles: ['Mcp.Reader'],
        extra: { scp: 'Mcp.Access', ...(azp ? { azp } : {}) },
      });
      return fetch(`${guarded.baseUrl}/tools/access_whoami`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: '{}',
      });
    }

    it('lets listed client apps in and keeps others out', async () => {
      expect((await callAs('foundry-agent')).status).toBe(200);
      expect((await callAs('some-other-app')).status).toBe(401);
      expect((await callAs(undefined)).status).toBe(401);
    });
  });
});
