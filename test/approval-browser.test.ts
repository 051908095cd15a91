import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser, BrowserContext, Page, Response } from 'playwright-core';
import { DEV_USERS } from '../dev/sandbox/seed.js';
import { csrfToken } from '../shared/approvals/csrf.js';
import { launchChromium } from './helpers/chromium.js';
import { acquireSharedStack } from './helpers/shared-stack.js';
import type { TestStack } from './helpers/stack.js';

describe('approval-browser', () => {
  // The human approval of destructive tools, end to end: an agent's call over HTTP, people signing in to the
  // approval page in a real Chromium through the local host's App Service Authentication stand-in and the sandbox's
  // sign-in page, and the retries that follow. Each test builds on the ones before it.

  const BLOBS = { resourceGroup: 'rg-ddr-records-prod-uks', account: 'stddrrecordsprod', container: 'case-files' };
  const ENGINEER = DEV_USERS.engineer;
  const DANA = DEV_USERS.approver;

  interface ToolReply {
    status: number;
    structured: Record<string, unknown> | undefined;
    error: { code: string; message: string; rule?: string; approvalId?: string; approvalUrl?: string } | undefined;
  }

  /** A browser profile of one person, with the ID token the sign-in handed the stand-in (read off the network). */
  interface Person {
    context: BrowserContext;
    page: Page;
    idToken(): string;
  }

  let stack: TestStack;
  let browser: Browser;
  let engineerToken: string;
  let engineer: Person;
  let dana: Person;
  /** The engineer's first request (blob 1), which Dana approves. */
  let first: { approvalId: string; approvalUrl: string; signInLink: string };

  beforeAll(async () => {
    stack = await acquireSharedStack();
    browser = await launchChromium();
    engineerToken = await stack.token({ roles: ['Mcp.Operator'], oid: ENGINEER.oid, name: ENGINEER.name });
    for (const name of ['1.txt', '2.txt', '3.txt']) {
      const upload = await callTool('storage_blob_upload', { ...blob(name), content: `Approval test blob ${name}\n` });
      expect(upload.status).toBe(200);
    }
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  const blob = (name: string) => ({ ...BLOBS, name: `approval-browser/${name}` });

  async function callTool(tool: string, args: Record<string, unknown>, bearer = engineerToken): Promise<ToolReply> {
    const response = await fetch(`${stack.baseUrl}/tools/${tool}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}` },
      body: JSON.stringify(args),
    });
    const result = (await response.json()) as { content: { text: string }[]; structuredContent?: Record<string, unknown>; isError?: boolean };
    const error = result.isError ? (JSON.parse(result.content[0]?.text ?? '{}') as { error: ToolReply['error'] }).error : undefined;
    return { status: response.status, structured: result.structuredContent, error };
  }

  async function blobExists(name: string): Promise<boolean> {
    const read = await callTool('storage_blob_read', blob(name));
    if (read.status === 200) return true;
    expect(read.error?.code).toBe('not_found');
    return false;
  }

  /** A destructive call without an approval id: refused with 428 and the link for the approver. */
  async function requestDeletion(name: string, bearer = engineerToken): Promise<{ approvalId: string; approvalUrl: string; signInLink: string }> {
    const reply = await callTool('storage_blob_delete', blob(name), bearer);
    expect(reply.status).toBe(428);
    expect(reply.error?.code).toBe('approval_required');
    const { approvalId, approvalUrl } = reply.error ?? {};
    // The link goes through the platform's sign-in, which lands on the approval page.
    expect(approvalUrl).toBe(`${stack.baseUrl}/.auth/login/aad?post_login_redirect_uri=%2Fapprovals%2F${approvalId}`);
    return { approvalId: approvalId as string, approvalUrl: `${stack.baseUrl}/approvals/${approvalId}`, signInLink: approvalUrl as string };
  }

  /**
   * Opens the approval page in a new profile (directly, or from the link the requester passed on) and signs in on
   * the sandbox sign-in page, as a person would.
   */
  async function signIn(url: string, userName: string, start = url): Promise<Person> {
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    context.setDefaultTimeout(20_000);
    let idToken: string | undefined;
    context.on('request', (request) => {
      if (request.method() === 'POST' && new URL(request.url()).pathname === '/.auth/login/aad/callback') {
        idToken = new URLSearchParams(request.postData() ?? '').get('id_token') ?? undefined;
      }
    });
    const page = await context.newPage();
    await page.goto(start);
    expect(page.url().startsWith(stack.sandbox.authorizeUrl)).toBe(true);
    await page.getByRole('button', { name: `Sign in as ${userName}` }).click();
    await page.waitForURL(url);
    return {
      context,
      page,
      idToken: () => {
        if (!idToken) throw new Error(`No ID token was posted back for ${userName}`);
        return idToken;
      },
    };
  }

  /** Shows the approval page in the person's browser and returns the response the page came from. */
  async function show(person: Person, url: string): Promise<Response> {
    const response = await person.page.goto(url);
    expect(response?.status()).toBe(200);
    return response as Response;
  }

  async function statusOf(person: Person, url: string): Promise<string | null> {
    await show(person, url);
    return person.page.locator('#status').textContent();
  }

  /** Clicks Approve or Reject as the person would, and reads the status on the page the decision leads to. */
  async function decide(person: Person, url: string, button: 'Approve' | 'Reject'): Promise<string | null> {
    await show(person, url);
    const { page } = person;
    const posted = page.waitForResponse((response) => response.url() === url && response.request().method() === 'POST');
    const navigated = page.waitForEvent('framenavigated', { predicate: (frame) => frame === page.mainFrame() });
    await page.getByRole('button', { name: button }).click();
    const response = await posted;
    await navigated;
    // Post/redirect/get: anything but the redirect back to the page is a refused decision.
    if (response.status() !== 303) throw new Error(`${button} was refused with HTTP ${response.status()}: ${await page.locator('main').textContent()}`);
    expect(page.url()).toBe(url);
    return page.locator('#status').textContent();
  }

  /** A decision sent without the page's button, from the person's own signed-in session. */
  async function forgedDecision(person: Person, url: string, form: Record<string, string>): Promise<{ status: number; text: string }> {
    const response = await person.context.request.post(url, { form, maxRedirects: 0 });
    return { status: response.status(), text: await response.text() };
  }

  describe('human approval of a destructive tool, in a browser', () => {
    it('refuses a destructive call without approval with 428 and the approval link, and changes nothing', async () => {
      first = await requestDeletion('1.txt');
      expect(await blobExists('1.txt')).toBe(true);
      // The identical call with the id, before anyone decided: still waiting.
      const early = await callTool('storage_blob_delete', { ...blob('1.txt'), approvalId: first.approvalId });
      expect(early.status).toBe(428);
      expect(early.error?.code).toBe('approval_pending');
      expect(await blobExists('1.txt')).toBe(true);
    });

    it('sends an anonymous visitor to the sign-in, and ignores X-MS headers sent by the client', async () => {
      const anonymous = await fetch(first.approvalUrl, { redirect: 'manual' });
      expect(anonymous.status).toBe(302);
      const login = new URL(anonymous.headers.get('location') ?? '', stack.baseUrl);
      expect(login.pathname).toBe('/.auth/login/aad');
      expect(login.searchParams.get('post_login_redirect_uri')).toBe(`/approvals/${first.approvalId}`);

      // A genuine, correctly signed ID token for Dana, sent as the platform's header by the client itself.
      const forged = await stack.sandbox.mintToken({
        audience: stack.sandbox.appClientId,
        tenantId: stack.sandbox.tenantId,
        oid: DANA.oid,
        name: DANA.name,
        roles: [...DANA.roles],
      });
      const smuggled = await fetch(first.approvalUrl, {
        redirect: 'manual',
        headers: { 'x-ms-token-aad-id-token': forged, 'x-ms-client-principal-id': DANA.oid },
      });
      expect(smuggled.status).toBe(302);
      expect(new URL(smuggled.headers.get('location') ?? '', stack.baseUrl).pathname).toBe('/.auth/login/aad');

      const authorize = await fetch(login, { redirect: 'manual' });
      expect(authorize.status).toBe(302);
      const target = new URL(authorize.headers.get('location') ?? '');
      expect(`${target.origin}${target.pathname}`).toBe(stack.sandbox.authorizeUrl);
      expect(Object.fromEntries(target.searchParams)).toMatchObject({
        client_id: stack.sandbox.appClientId,
        redirect_uri: `${stack.baseUrl}/.auth/login/aad/callback`,
        response_type: 'id_token',
        response_mode: 'form_post',
        scope: 'openid profile',
      });
      expect(target.searchParams.get('nonce')).toBeTruthy();
      expect(target.searchParams.get('state')).toBeTruthy();

      // A callback the stand-in did not start is refused without a session.
      const stray = await fetch(`${stack.baseUrl}/.auth/login/aad/callback`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ id_token: forged, state: 'not-a-state-we-issued' }),
      });
      expect(stray.status).toBe(401);
      expect(stray.headers.get('set-cookie')).toBeNull();
    });

    it('shows the requester the request without an Approve button, and refuses their forged decision with 403', async () => {
      engineer = await signIn(first.approvalUrl, ENGINEER.name);
      const page = engineer.page;
      expect(await page.locator('h1').textContent()).toContain('storage_blob_delete');
      expect(await page.getByRole('button', { name: 'Approve' }).count()).toBe(0);
      expect(await page.getByRole('alert').textContent()).toMatch(/cannot decide|cannot approve|need the Mcp\.Approver role/);

      // The page offers no form, so no CSRF token: the forger computes it from the ID token their own sign-in returned.
      const csrf = csrfToken(first.approvalId, engineer.idToken());
      const forged = await forgedDecision(engineer, first.approvalUrl, { csrf, decision: 'approve' });
      expect(forged.status).toBe(403);
      expect(forged.text).toContain('You cannot decide this request');
      expect(await statusOf(engineer, first.approvalUrl)).toBe('pending');
    });

    it('does not let an approver approve their own request', async () => {
      // Dana, also an operator here, asks for a deletion herself.
      const danaAsOperator = await stack.token({ roles: ['Mcp.Operator'], oid: DANA.oid, name: DANA.name });
      const own = await requestDeletion('2.txt', danaAsOperator);
      dana = await signIn(own.approvalUrl, DANA.name, own.signInLink);
      expect(await dana.page.getByRole('button', { name: 'Approve' }).count()).toBe(0);
      expect(await dana.page.getByRole('alert').textContent()).toContain('You requested this action, so you cannot approve it');

      const csrf = csrfToken(own.approvalId, dana.idToken());
      const forged = await forgedDecision(dana, own.approvalUrl, { csrf, decision: 'approve' });
      expect(forged.status).toBe(403);
      expect(forged.text).toContain('You requested this action, so you cannot approve it');
      expect(await statusOf(dana, own.approvalUrl)).toBe('pending');
      expect(await blobExists('2.txt')).toBe(true);
    });

    it('refuses a decision without the CSRF token with 403, even with a valid session cookie', async () => {
      const cookies = await dana.context.cookies(stack.baseUrl);
      const session = cookies.find((cookie) => cookie.name === 'AppServiceAuthSession');
      expect(session?.httpOnly).toBe(true);
      expect(session?.sameSite).toBe('Lax');
      const response = await fetch(first.approvalUrl, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `${session?.name}=${session?.value}` },
        body: new URLSearchParams({ decision: 'approve' }),
      });
      expect(response.status).toBe(403);
      expect(await response.text()).toContain('did not come from the approval page');
      expect(await statusOf(dana, first.approvalUrl)).toBe('pending');
    });

    it('shows the approver the tool, arguments, resources and impact, under a CSP that allows no script', async () => {
      const response = await show(dana, first.approvalUrl);
      const csp = response.headers()['content-security-policy'] ?? '';
      const directives = new Map(
        csp
          .split(';')
          .map((part) => part.trim().split(/\s+/))
          .map(([name = '', ...values]) => [name, values]),
      );
      const scripts = directives.get('script-src') ?? directives.get('default-src') ?? [];
      expect(scripts.length).toBeGreaterThan(0);
      expect(scripts).not.toContain("'unsafe-inline'");
      expect(scripts).toEqual(["'none'"]);
      const html = await response.text();
      expect(html).not.toMatch(/<script/i);

      const main = (await dana.page.locator('main').textContent()) ?? '';
      expect(main).toContain('storage_blob_delete');
      expect(await dana.page.locator('pre').textContent()).toContain('"name": "approval-browser/1.txt"');
      expect(main).toContain(`/storageAccounts/${BLOBS.account}/blobServices/default/containers/${BLOBS.container}/blobs/approval-browser/1.txt`);
      expect(main).toMatch(/approval-browser\/1\.txt in container case-files of stddrrecordsprod .* will be deleted/);
      expect(main).toContain(ENGINEER.name);
      expect(await dana.page.getByRole('button', { name: 'Approve' }).count()).toBe(1);

      expect(await decide(dana, first.approvalUrl, 'Approve')).toBe('approved');
    });

    it('runs the identical retry once, and refuses a second one', async () => {
      const retry = await callTool('storage_blob_delete', { ...blob('1.txt'), approvalId: first.approvalId });
      expect(retry.status).toBe(200);
      expect(retry.structured).toEqual({ name: 'approval-browser/1.txt', deleted: true });
      expect(await blobExists('1.txt')).toBe(false);

      const again = await callTool('storage_blob_delete', { ...blob('1.txt'), approvalId: first.approvalId });
      expect(again.status).toBe(403);
      expect(again.error?.rule).toBe('approval.used');
      expect(await statusOf(dana, first.approvalUrl)).toBe('used');
    });

    it('refuses an approved id used for other arguments', async () => {
      const approved = await requestDeletion('3.txt');
      expect(await decide(dana, approved.approvalUrl, 'Approve')).toBe('approved');
      const tampered = await callTool('storage_blob_delete', { ...blob('2.txt'), approvalId: approved.approvalId });
      expect(tampered.status).toBe(403);
      expect(tampered.error?.rule).toBe('approval.arguments-mismatch');
      expect(await blobExists('2.txt')).toBe(true);
      expect(await blobExists('3.txt')).toBe(true);
    });

    it('refuses the retry of a rejected request', async () => {
      const rejected = await requestDeletion('3.txt');
      expect(await decide(dana, rejected.approvalUrl, 'Reject')).toBe('rejected');
      const retry = await callTool('storage_blob_delete', { ...blob('3.txt'), approvalId: rejected.approvalId });
      expect(retry.status).toBe(403);
      expect(retry.error?.rule).toBe('approval.rejected');
      expect(await blobExists('3.txt')).toBe(true);
    });

    it('returns after sign-in only to a path on its own origin', async () => {
      const context = await browser.newContext({ ignoreHTTPSErrors: true });
      context.setDefaultTimeout(20_000);
      const page = await context.newPage();
      await page.goto(`${stack.baseUrl}/.auth/login/aad?post_login_redirect_uri=${encodeURIComponent('//example.com/approvals/x')}`);
      await page.getByRole('button', { name: `Sign in as ${DANA.name}` }).click();
      await page.waitForURL(`${stack.baseUrl}/`);
      await context.close();
    });

    it('signs out: the session cookie no longer signs anyone in', async () => {
      const [session] = (await engineer.context.cookies(stack.baseUrl)).filter((cookie) => cookie.name === 'AppServiceAuthSession');
      await engineer.page.goto(`${stack.baseUrl}/.auth/logout`);
      expect((await engineer.context.cookies(stack.baseUrl)).some((cookie) => cookie.name === 'AppServiceAuthSession')).toBe(false);
      const replayed = await fetch(first.approvalUrl, { redirect: 'manual', headers: { cookie: `${session?.name}=${session?.value}` } });
      expect(replayed.status).toBe(302);
      expect(replayed.headers.get('location')).toMatch(/^\/\.auth\/login\/aad\?/);
    });
  });
});
