// HTML for the sandbox sign-in: the user picker, the form_post hand-back and the error page.
// Plain, server-rendered, keyboard- and screen-reader-friendly; the only script submits the hand-back form.
import { escapeHtml as esc } from './http.js';
import { DEPARTMENT, type DevUser } from './seed.js';

export const SIGN_IN_TITLE = `Sandbox sign-in — ${DEPARTMENT}`;

const STYLE = `
  body { font-family: system-ui, sans-serif; margin: 0; color: #0b0c0c; background: #f3f2f1; line-height: 1.5; }
  main { max-width: 36rem; margin: 2rem auto; padding: 1.5rem 2rem; background: #fff; border-top: 0.5rem solid #1d70b8; }
  h1 { font-size: 1.6rem; margin-top: 0; }
  .notice { border-left: 0.3rem solid #b1b4b6; padding-left: 0.8rem; }
  ul { list-style: none; padding: 0; }
  li { margin: 0 0 1rem; }
  button { font: inherit; font-weight: 600; padding: 0.6rem 1rem; border: 0; border-radius: 0; background: #00703c; color: #fff; cursor: pointer; box-shadow: 0 2px 0 #002d18; }
  button:focus { outline: 3px solid #fd0; outline-offset: 0; background: #fd0; color: #0b0c0c; box-shadow: 0 2px 0 #0b0c0c; }
  .who { margin: 0.3rem 0 0; color: #505a5f; }
  code { word-break: break-all; }
`;

function layout(title: string, body: string, cspNonce: string): string {
  return `<!doctype html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${esc(title)}</title>
<style nonce="${esc(cspNonce)}">${STYLE}</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}

function hiddenFields(fields: readonly (readonly [string, string])[]): string {
  return fields.map(([name, value]) => `<input type="hidden" name="${esc(name)}" value="${esc(value)}">`).join('\n');
}

export interface SignInPage {
  /** Path the picker posts back to (the authorize endpoint). */
  action: string;
  /** The original request's parameters, carried through the form. */
  hidden: readonly (readonly [string, string])[];
  users: readonly { key: string; user: DevUser }[];
  redirectUri: string;
  cspNonce: string;
}

export function signInPage(p: SignInPage): string {
  const items = p.users
    .map(({ key, user }) => {
      const id = `user-${esc(key)}`;
      return `<li>
<button type="submit" name="user" value="${esc(key)}" aria-describedby="${id}">Sign in as ${esc(user.name)}</button>
<p class="who" id="${id}">${esc(user.upn)} · roles: ${esc(user.roles.join(', '))}</p>
</li>`;
    })
    .join('\n');
  return layout(
    SIGN_IN_TITLE,
    `<h1>${esc(SIGN_IN_TITLE)}</h1>
<p class="notice">This is the local sandbox, not Microsoft Entra ID: no password is needed. Choose who to sign in as.
You will be returned to <code>${esc(p.redirectUri)}</code>.</p>
<form method="post" action="${esc(p.action)}">
${hiddenFields(p.hidden)}
<ul>
${items}
</ul>
</form>`,
    p.cspNonce,
  );
}

/** The response_mode=form_post hand-back: submits itself, with a visible button for when scripts do not run. */
export function formPostPage(redirectUri: string, fields: readonly (readonly [string, string])[], cspNonce: string): string {
  return layout(
    'Signing in…',
    `<h1>Signing you in</h1>
<form method="post" action="${esc(redirectUri)}" id="form-post">
${hiddenFields(fields)}
<p>If you are not taken back to the application, select Continue.</p>
<button type="submit">Continue</button>
</form>
<script nonce="${esc(cspNonce)}">document.getElementById('form-post').submit();</script>`,
    cspNonce,
  );
}

export function errorPage(code: string, message: string, cspNonce: string): string {
  return layout(
    'Sign-in error',
    `<h1>Sorry, we could not sign you in</h1>
<p role="alert"><strong>${esc(code)}</strong>: ${esc(message)}</p>`,
    cspNonce,
  );
}
