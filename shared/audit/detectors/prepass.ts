import { linearRegex } from '../../text/linear-regex.js';
import type { Steps } from '../../runtime/stepwise.js';

/**
 * Before matching: secrets written so that a pattern would not see them. A percent-encoded run (a whole SAS URL
 * inside a `redirect=` parameter, `sig%3D…`) is decoded, redacted, and put back decoded only if redaction changed
 * it (an ordinary encoded URL stays as it was); a base64 value broken over lines is joined.
 */
// V8's engine, not re2js: a text of thousands of short runs spent most of its redaction in re2js's per-match set-up.
// linear: two alternatives that start with different characters (`%` is not in the class), repeated with nothing
// after: from each start the run is taken whole or the match fails at once, and the next search begins past it.
const PERCENT_RUN = /(?:%[0-9A-Fa-f]{2}|[A-Za-z0-9._~+/:?=&!*'()@-])+/g;
// Two or more lines of base64 alphabet only (an account key split by a copy and paste).
const WRAPPED_BASE64 = linearRegex('[A-Za-z0-9+/]{16,}(?:[ \\t]*\\r?\\n[ \\t]*[A-Za-z0-9+/]{8,}){1,8}={0,2}');

/**
 * Byte-wise, so a stray invalid sequence cannot stop the rest from being decoded. V8's engine, not re2js: this runs
 * once per encoded run, and a text of thousands of short runs (`%a%a5%a%a5…`) spent 50 ms in re2js's per-call setup.
 */
function percentDecode(text: string): string {
  // linear: a run of fixed-width escapes with nothing after it: each start either fails at once or takes the whole
  // run, and the next search begins past it. The inner `%` is one literal character.
  return text.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => Buffer.from(run.replace(/%/g, ''), 'hex').toString('utf8'));
}

export function* redactingPercentEncoded(text: string, redact: (decoded: string) => Steps<string>): Steps<string> {
  // Each run is redacted on its own: in the whole text a rule's match can swallow what a run holds (in
  // `note: password%3Dhunter2` the pair `note: password=hunter2` is matched first, and is not a secret's). A text
  // of thousands of runs repeats most of them (`%a%a5%a%a5…`): each distinct run is redacted once.
  const done = new Map<string, string>();
  let result = '';
  let kept = 0;
  for (const match of text.matchAll(PERCENT_RUN)) {
    const run = match[0];
    if (!run.includes('%')) continue;
    let redacted = done.get(run);
    if (redacted === undefined) {
      const decoded = percentDecode(run);
      // Twice-encoded (a SAS inside a redirect inside a link): one more level, no deeper.
      const inner = decoded === run ? run : percentDecode(decoded);
      const changed = decoded === run ? run : yield* redact(inner);
      redacted = changed === inner ? run : changed;
      done.set(run, redacted);
    }
    result += text.slice(kept, match.index) + redacted;
    kept = match.index + run.length;
  }
  return result + text.slice(kept);
}

// The end of a `name: ` or `name = "` label just before a value. Run on the 80 characters before a run only, and
// on re2js: in V8 the unanchored start retries the label run from every letter of it (quadratic in the run).
const LABEL_BEFORE = linearRegex('([A-Za-z][A-Za-z0-9_.-]*)["\']?[ \\t]*[:=][ \\t]*["\']?$');

/**
 * Joins wrapped base64 when the joined value has the shape of a key (`isKey`) or follows a label that names a
 * secret (`isSecretLabel`), so the key and field rules see it whole. Other wrapped base64 keeps its lines.
 */
export function joinWrappedKeys(text: string, isKey: (joined: string) => boolean, isSecretLabel: (label: string) => boolean): string {
  let result = '';
  let done = 0;
  for (const run of WRAPPED_BASE64.matches(text)) {
    // linear: one class run: it ends at the first non-space and is never retried.
    const joined = run.text.replace(/\s+/g, '');
    const label = LABEL_BEFORE.matches(text.slice(Math.max(0, run.index - 80), run.index))[0]?.groups[0];
    if (!isKey(joined) && !(label && isSecretLabel(label))) continue;
    result += text.slice(done, run.index) + joined;
    done = run.index + run.text.length;
  }
  return result + text.slice(done);
}
