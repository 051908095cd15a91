import { LinearRegex } from '../text/linear-regex.js';

/**
 * Redaction for everything the audit keeps: secrets (tokens, SAS, keys, connection strings, private keys) never
 * reach a log; personal data (emails, phone numbers, National Insurance numbers, names in free text) is masked.
 * Patterns, not a model: they run offline on every record and err towards masking. Those whose matches have no
 * length bound run on re2js (several of them backtrack quadratically in V8 on repeated fragments such as
 * `a@a.a.a…`); those of bounded length stay native (re2js is slower per match), each with its reason. Callers
 * redact only what the audit keeps (see body.ts), so the work per record is bounded as well as linear.
 */
const SECRET_PATTERNS: [LinearRegex | RegExp, string][] = [
  [new LinearRegex(/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g), '[REDACTED private key]'],
  [new LinearRegex(/\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g), '[REDACTED token]'],
  [new LinearRegex(/\b(Bearer|Basic|SharedKey)\s+[A-Za-z0-9._~+/:=-]{8,}/gi), '$1 [REDACTED]'],
  [new LinearRegex(/(https?:\/\/[^\s"'?]+)\?[^\s"']*\bsig=[^\s"']*/gi), '$1?[REDACTED SAS]'],
  [new LinearRegex(/\b(sv|sp|st|se|ss|srt|sr|spr|sig)=[^\s"'&]*(&(sv|sp|st|se|ss|srt|sr|spr|sig|skoid|sktid|skt|ske|sks|skv)=[^\s"'&]*)*&?sig=[^\s"'&]+[^\s"']*/gi), '[REDACTED SAS]'],
  [new LinearRegex(/\b(AccountKey|SharedAccessKey|SharedAccessSignature|Password|Pwd|ClientSecret|client_secret|AccessKey)\s*=\s*[^;"'\s]+/gi), '$1=[REDACTED]'],
  // linear: a fixed-length match (86 + 2 characters, then one look ahead): each attempt takes at most 89 steps.
  [/\b[A-Za-z0-9+/]{86}==(?![A-Za-z0-9+/])/g, '[REDACTED key]'],
  // linear: a match is at most 42 characters long, so each attempt takes a bounded number of steps.
  [/\b[A-Za-z0-9_.-]{3}\dQ~[A-Za-z0-9_~.-]{31,34}\b/g, '[REDACTED client secret]'],
];

const PERSONAL_PATTERNS: [LinearRegex | RegExp, string][] = [
  [new LinearRegex(/\b[A-Za-z0-9._%+-]+@([A-Za-z0-9-]+\.)+[A-Za-z]{2,}\b/g), '[email]'],
  // Any two letters: the example prefixes (QQ) and unallocated ones are masked too; better to over-mask.
  // linear: at most 13 characters, each optional space between disjoint classes: bounded steps per attempt.
  [/\b[A-Z]{2}\s?\d{2}\s?\d{2}\s?\d{2}\s?[A-D]\b/gi, '[NI number]'],
  // linear: at most 29 characters; separators and digits are disjoint, so an attempt backtracks a bounded amount.
  [/(?:\+44\s?\(?0?\)?\s?|\b0)\d(?:[\s-]?\d){8,9}\b/g, '[phone]'],
  [new LinearRegex(/\b(Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Sir|Dame|Lady|Lord)\.?\s+[A-Z][a-zA-Z'-]+(\s+[A-Z][a-zA-Z'-]+){0,2}/g), '[name]'],
  [new LinearRegex(/\b(Dear|Regards|sincerely|faithfully|Thanks|From|Signed|Contact)(,?\s+)([A-Z][a-zA-Z'-]+(\s+[A-Z]\.)?(\s+[A-Z][a-zA-Z'-]+){0,2})/g), '$1$2[name]'],
  [new LinearRegex(/\b(my|his|her|their|requester'?s?|applicant'?s?|citizen'?s?) name is\s+[A-Z][a-zA-Z'-]+(\s+[A-Z][a-zA-Z'-]+){0,2}/gi), '$1 name is [name]'],
];

const PATTERNS = [...SECRET_PATTERNS, ...PERSONAL_PATTERNS];

/** Keys whose values are secrets whatever they look like. */
// linear: anchored at both ends, an alternation of literal words: one attempt, at most the longest word's steps.
const SECRET_KEY = /^(authorization|cookie|set-cookie|password|passwd|secret|client_?secret|token|access_?token|refresh_?token|id_?token|sas|sas_?token|sig|signature|account_?key|connection_?string|private_?key|api_?key|credential|x-identity-header)$/i;

export function redactText(text: string): string {
  let result = text;
  for (const [pattern, replacement] of PATTERNS) {
    result = pattern instanceof RegExp ? result.replace(pattern, replacement) : pattern.replaceAll(result, replacement);
  }
  return result;
}

/** Redacts a JSON value deeply: secret-named keys lose their values, every string is scrubbed. */
export function redactValue(value: unknown): unknown {
  if (typeof value === 'string') return redactText(value);
  if (Array.isArray(value)) return value.map(redactValue);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([key, item]) => [redactText(key), SECRET_KEY.test(key) ? '[REDACTED]' : redactValue(item)]),
    );
  }
  return value;
}
