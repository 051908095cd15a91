import { createHash } from 'node:crypto';
import type { Approval } from './store.js';
import { codePointEscape, revealHiddenCharacters } from '../shield/unicode.js';

/** All page styling, inline and pinned by hash in the Content-Security-Policy: no other asset is ever loaded. */
const STYLE = `
body{font-family:system-ui,-apple-system,"Segoe UI",Arial,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;color:#0b0c0c;line-height:1.5}
h1{font-size:1.8rem;margin-bottom:.5rem}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.4rem 1.2rem}
dt{font-weight:700}
dd{margin:0}
pre{background:#f3f2f1;padding:1rem;overflow-x:auto;white-space:pre-wrap;word-break:break-word}
ul.impact li{margin-bottom:.3rem}
.status{display:inline-block;padding:.2rem .6rem;font-weight:700;border:2px solid #0b0c0c}
.notice{border-left:.4rem solid #d4351c;padding:.6rem 1rem;background:#fef7f6}
.actions{display:flex;gap:1rem;margin-top:1.5rem}
button{font-size:1.1rem;padding:.6rem 1.4rem;border:2px solid #0b0c0c;cursor:pointer}
button.approve{background:#00703c;color:#fff}
button.reject{background:#fff;color:#d4351c;border-color:#d4351c}
button:focus{outline:3px solid #ffdd00;outline-offset:0}
mark.hidden-char{background:#ffdd00;color:#0b0c0c;font-family:monospace;border:1px solid #0b0c0c;padding:0 .15em}
`;

const STYLE_HASH = createHash('sha256').update(STYLE).digest('base64');

/** Headers for every approval page: no scripts at all, no framing, no third parties, nothing cached. */
export const PAGE_HEADERS: Record<string, string> = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': `default-src 'none'; style-src 'sha256-${STYLE_HASH}'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`,
  'x-frame-options': 'DENY',
  // same-origin, not no-referrer: with no-referrer browsers send `Origin: null` on the form POST, which we refuse.
  'referrer-policy': 'same-origin',
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
};

export function escapeHtml(text: string): string {
  // linear: one character class, no quantifier: one step per character.
  return text.replace(/[&<>"']/g, (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[char] as string);
}

/**
 * Caller- or Azure-supplied text for the page: HTML-escaped, and every bidirectional control, invisible or control
 * character shown as a marked `\u202E` token, so a name cannot display as something other than what it is.
 */
function shown(text: string): string {
  return revealHiddenCharacters(escapeHtml(text), (codePoint) => `<mark class="hidden-char" title="hidden character">${codePointEscape(codePoint)}</mark>`);
}

/** The same for plain text (the window title): the escape, unmarked. */
function shownPlain(text: string): string {
  return escapeHtml(revealHiddenCharacters(text, codePointEscape));
}

function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en-GB">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${shownPlain(title)} — Sovereign MCP</title><style>${STYLE}</style></head>
<body><main>${body}</main></body>
</html>`;
}

export type Viewer = { can: 'decide'; csrf: string } | { can: 'not-decide'; because: string };

/** The approval as the human sees it: exactly what will run, on what, for whom, and what depends on it. */
export function renderApproval(approval: Approval, viewer: Viewer, now = Date.now()): string {
  const expired = !(Date.parse(approval.expiresAt) > now);
  const status = approval.status === 'pending' && expired ? 'expired' : approval.status;
  const decided = approval.decidedByName ?? approval.decidedByOid;
  const rows: [string, string][] = [
    ['Tool', approval.tool],
    ['Requested by', `${approval.requesterName ?? 'unknown name'} (object id ${approval.requesterOid})`],
    ['Requested at', approval.createdAt],
    ['Expires at', approval.expiresAt],
    ['Resources', approval.targets.join(', ') || 'none named'],
    ...(decided ? ([['Decided by', `${decided} at ${approval.decidedAt ?? ''}`]] as [string, string][]) : []),
  ];
  const actions =
    viewer.can === 'decide' && status === 'pending'
      ? `<form method="post" class="actions">
<input type="hidden" name="csrf" value="${escapeHtml(viewer.csrf)}">
<button type="submit" name="decision" value="approve" class="approve">Approve</button>
<button type="submit" name="decision" value="reject" class="reject">Reject</button>
</form>`
      : status === 'pending' && viewer.can === 'not-decide'
        ? `<p class="notice" role="alert">${escapeHtml(viewer.because)}</p>`
        : '';
  const args = JSON.stringify(approval.args, null, 2);
  const hidden = [args, approval.requesterName ?? '', approval.decidedByName ?? '', ...approval.targets, ...approval.impact].some(
    (text) => shown(text) !== escapeHtml(text),
  );
  const warning = hidden
    ? `<p class="notice" role="alert">This request contains hidden characters (invisible, or ones that reorder text). Each is shown as a marked code such as <mark class="hidden-char">\\u202E</mark>: read the names with them in mind.</p>`
    : '';
  return layout(
    `Approve ${approval.tool}`,
    `<h1>Destructive action: ${shown(approval.tool)}</h1>
<p>Status: <span class="status" id="status">${escapeHtml(status)}</span></p>
<p>An agent acting for the requester asked to run this destructive action. It runs once, only with exactly these arguments, and only if you approve it.</p>
${warning}<dl>${rows.map(([term, value]) => `<dt>${escapeHtml(term)}</dt><dd>${shown(value)}</dd>`).join('')}</dl>
<h2>Arguments</h2>
<pre>${shown(args)}</pre>
<h2>What will happen</h2>
<ul class="impact">${approval.impact.map((line) => `<li>${shown(line)}</li>`).join('') || '<li>No further details.</li>'}</ul>
${actions}`,
  );
}

export function renderMessage(title: string, message: string): string {
  return layout(title, `<h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p>`);
}
