import type { DevUserKey } from '../../dev/sandbox/seed.js';
import type { TestStack } from './stack.js';

/**
 * Signs a sandbox person in to the app's pages without a browser, through the same steps a browser takes: the
 * app's `/.auth/login/aad` sends to the sandbox's sign-in page, choosing the person there returns a form_post page
 * carrying the ID token, and posting that back to the app's callback sets the session cookie. Returns the cookie.
 */
export async function signInAs(stack: TestStack, person: DevUserKey, returnTo: string): Promise<string> {
  return signInFrom(stack, person, `/.auth/login/aad?post_login_redirect_uri=${encodeURIComponent(returnTo)}`);
}

/** The same, starting from a sign-in link the app handed out (which may carry `prompt` and a `claims` request). */
export async function signInFrom(stack: TestStack, person: DevUserKey, loginPath: string): Promise<string> {
  const start = await fetch(new URL(loginPath, stack.baseUrl), { redirect: 'manual' });
  const authorize = new URL(expectHeader(start, 'location'));
  const choice = new URLSearchParams(authorize.searchParams);
  choice.set('user', person);
  const picked = await fetch(`${authorize.origin}${authorize.pathname}`, { method: 'POST', body: choice, redirect: 'manual' });
  const page = await picked.text();
  const field = (name: string) => new RegExp(`name="${name}" value="([^"]*)"`).exec(page)?.[1];
  const idToken = field('id_token');
  const state = field('state');
  if (!idToken || !state) throw new Error(`The sandbox sign-in returned no ID token (HTTP ${picked.status}): ${page.slice(0, 300)}`);
  const back = await fetch(`${stack.baseUrl}/.auth/login/aad/callback`, {
    method: 'POST',
    body: new URLSearchParams({ id_token: idToken, state }),
    redirect: 'manual',
  });
  return expectHeader(back, 'set-cookie').split(';')[0]!;
}

function expectHeader(response: Response, name: string): string {
  const value = response.headers.get(name);
  if (!value) throw new Error(`Expected a ${name} header; got HTTP ${response.status} without one.`);
  return value;
}
