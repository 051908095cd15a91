import { linearRegex, type Re2Pattern } from '../../text/linear-regex.js';
import { namesSecret } from './field-names.js';
import { secretFieldPattern } from './secret-field.js';

/**
 * Secret shapes, all matched in linear time (re2js). Vendor token formats follow the vendors' documented prefixes
 * (the same shapes secretlint's recommended rules look for; `npm run eval` cross-checks with secretlint), plus the
 * Azure shapes it lacks: SAS signatures in any order, case or encoding, storage account keys (64 bytes of base64,
 * padded or not), connection-string secrets, Entra client secrets; and any `name: value` whose name says secret.
 */
export interface RedactionRule {
  name: string;
  pattern: Re2Pattern;
  replace: (match: string, ...groups: (string | undefined)[]) => string;
  /**
   * What a text must contain for the rule to apply: a literal, or a single-class regular expression (no nested
   * quantifier, so no backtracking). A cheap check that spares most strings the automaton.
   */
  needs?: string | RegExp;
}

const rule = (name: string, source: string, replace: RedactionRule['replace'], flags = '', needs?: RedactionRule['needs']): RedactionRule => ({
  name,
  pattern: linearRegex(source, flags),
  replace,
  ...(needs ? { needs } : {}),
});
const fixed = (label: string) => () => `[REDACTED ${label}]`;

/** A storage account key is 64 random bytes: 86 base64 characters and "==" (often pasted without them). */
// linear: anchored, fixed length (86 or 88 characters).
export const isAccountKeyShape = (text: string): boolean => /^[A-Za-z0-9+/]{86}(?:==)?$/.test(text);

export const SECRET_RULES: RedactionRule[] = [
  // A private key with its END line, or cut off before it; JSON-escaped line breaks too. Over-masks prose that
  // follows a key without punctuation, which is the safe side.
  rule('private-key', '-----BEGIN [A-Z ]*PRIVATE KEY-----(?:\\\\[rn]|[A-Za-z0-9+/=:,.\\s-])*', fixed('private key'), '', 'PRIVATE KEY'),
  rule('jwt', '\\beyJ[A-Za-z0-9_-]{5,}\\.[A-Za-z0-9_-]{5,}\\.[A-Za-z0-9_-]*', fixed('token'), '', 'eyJ'),
  rule(
    'auth-header',
    '\\b(Bearer|Basic|SharedKey|SharedAccessSignature)\\s+[A-Za-z0-9._~+/:=%&-]{8,}',
    (_m, scheme) => `${scheme} [REDACTED]`,
    'i',
    // linear: `needs` is an alternation of literals.
    /bearer|basic|sharedkey|sharedaccesssignature/i,
  ),
  // linear: `needs` is an alternation of literals.
  rule('github-token', '\\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})', fixed('token'), '', /gh[pousr]_|github_pat_/),
  // linear: `needs` is fixed-width (four characters).
  rule('aws-access-key', '\\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}\\b', fixed('token'), '', /A[KSBC][IC]A/),
  rule('slack-token', '\\bxox[abposr]-[A-Za-z0-9-]{10,}', fixed('token'), '', 'xox'),
  rule('npm-token', '\\bnpm_[A-Za-z0-9]{36}\\b', fixed('token'), '', 'npm_'),
  rule('google-api-key', '\\bAIza[0-9A-Za-z_-]{35}', fixed('token'), '', 'AIza'),
  rule('stripe-key', '\\b[rs]k_live_[0-9a-zA-Z]{20,}', fixed('token'), '', 'k_live_'),
  // Entra application (client) secrets: three characters, a digit, "Q~", then 31-34 more.
  rule('entra-client-secret', '[A-Za-z0-9_~.-]{3}[0-9]Q~[A-Za-z0-9_~.-]{31,34}', fixed('client secret'), '', 'Q~'),
  // SAS: the signature is the secret, wherever it sits in the query and however it is cased.
  // linear: `needs` is one literal.
  rule('sas-signature', '\\b(sig)=[^\\s"\'&<>\\[][^\\s"\'&<>]*', (_m, name) => `${name}=[REDACTED SAS]`, 'i', /sig=/i),
  // Userinfo in a URL: https://user:password@host
  rule('url-password', '(://[^/\\s:@"\']{1,100}:)[^@\\s/"\']{3,}@', (_m, prefix) => `${prefix}[REDACTED]@`, '', '://'),
  // name = value, name: value, "name": "value", --name value: the value goes when the name says secret.
  // Found from each `:` or `=` (./secret-field.ts): re2js ran this pattern's 61 possible name starts at once.
  {
    name: 'secret-field',
    pattern: secretFieldPattern,
    replace: (match, name = '', separator = '', value = '') => (namesSecret(name) && !value.startsWith('[REDACTED') ? `${name}${separator}[REDACTED]` : match),
    // linear: `needs` is one character class.
    needs: /[:=]/,
  },
  rule(
    'secret-flag',
    '(--[A-Za-z][A-Za-z0-9-]{1,40})([ \\t]+|=)(["\']?)([^\\s"\']{3,})',
    (match, flag = '', space = '', quote = '') => (namesSecret(flag) ? `${flag}${space}${quote}[REDACTED]` : match),
    '',
    '--',
  ),
  rule(
    'account-key',
    '(^|[^A-Za-z0-9+/])([A-Za-z0-9+/]{86}(?:==)?)($|[^A-Za-z0-9+/=])',
    (match, before = '', key = '', after = '') => (isAccountKeyShape(key) ? `${before}[REDACTED key]${after}` : match),
    '',
    // linear: `needs` is fixed-width: 86 characters of one class from each start, at most 86·n steps.
    /[A-Za-z0-9+/]{86}/,
  ),
];
