import { boundedMemo } from '../../runtime/bounded-memo.js';
import { namesMetadata, namesPersonalData, namesSecret } from './field-names.js';
import { PERSONAL_RULES, redactPostcodesNearNames } from './personal.js';
import { joinWrappedKeys, redactPercentEncoded } from './prepass.js';
import { isAccountKeyShape, SECRET_RULES, type RedactionRule } from './secrets.js';

/**
 * The audit's redaction: secrets first (they never reach a log), then personal data (masked), after a pre-pass
 * that decodes percent-encoded runs and joins keys wrapped over lines. Each string is scanned up to
 * REDACT_SCAN_LIMIT characters; past that it is cut (the audit keeps far less, and an unscanned tail could hold
 * anything).
 */
export const REDACT_SCAN_LIMIT = 64 * 1024;

const RULES: RedactionRule[] = [...SECRET_RULES, ...PERSONAL_RULES];
// linear: fixed length (three characters), no repetition: cannot backtrack.
const PERCENT_ESCAPE = /%[0-9A-Fa-f][0-9A-Fa-f]/;

function applyRules(text: string, fired?: Set<string>): string {
  let result = text.includes('\n') ? joinWrappedKeys(text, isAccountKeyShape, namesSecret) : text;
  for (const { name, pattern, replace, needs } of RULES) {
    if (needs !== undefined && !(typeof needs === 'string' ? result.includes(needs) : needs.test(result))) continue;
    if (!pattern.test(result)) continue;
    const next = pattern.replace(result, replace);
    if (fired && next !== result) fired.add(name);
    result = next;
  }
  const withPostcodes = redactPostcodesNearNames(result);
  if (fired && withPostcodes !== result) fired.add('postcode-near-name');
  return withPostcodes;
}

/** Redacts a text and says which detectors changed it (for `npm run eval`). */
export function redactTextDetailed(text: string): { text: string; detectors: string[] } {
  const fired = new Set<string>();
  const capped =
    text.length > REDACT_SCAN_LIMIT ? `${text.slice(0, REDACT_SCAN_LIMIT)}[… ${text.length - REDACT_SCAN_LIMIT} characters not scanned, removed]` : text;
  const decoded = PERCENT_ESCAPE.test(capped) ? redactPercentEncoded(capped, (inner) => applyRules(inner)) : capped;
  if (decoded !== capped) fired.add('percent-decoded');
  return { text: applyRules(decoded, fired), detectors: [...fired] };
}

/**
 * Short texts' redactions, remembered (a field name or value seen in the last few thousand: most of a tool's output
 * on a repeated call). At most 4,096 texts of up to 256 characters: a few megabytes at worst.
 */
const rememberedRedaction = boundedMemo((text) => redactTextDetailed(text).text, { maxEntries: 4096, maxLength: 256 });

export function redactText(text: string): string {
  return rememberedRedaction(text);
}

/**
 * Redacts a JSON value deeply: a field whose name says secret loses its value, a field whose name says personal
 * data is masked (and then a `name` beside it too: it is a person's), every other string is scrubbed. Inside a
 * secret-named object or list (`keys: [{ keyName, value }]`) only fields that describe the secret keep their value.
 */
export function redactValue(value: unknown, insideSecret = false): unknown {
  if (typeof value === 'string') return insideSecret ? '[REDACTED]' : redactText(value);
  if (Array.isArray(value)) return value.map((item) => redactValue(item, insideSecret));
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    const aboutAPerson = entries.some(([key]) => namesPersonalData(key));
    return Object.fromEntries(
      entries.map(([key, item]) => {
        if (insideSecret && namesMetadata(key)) return [redactText(key), redactValue(item)];
        const secretHere = insideSecret || namesSecret(key);
        if (secretHere && item && typeof item === 'object') return [redactText(key), redactValue(item, true)];
        if (secretHere && item !== null && typeof item !== 'boolean') return [redactText(key), '[REDACTED]'];
        if (typeof item === 'string' && (namesPersonalData(key) || (aboutAPerson && key.toLowerCase() === 'name'))) return [redactText(key), '[personal]'];
        return [redactText(key), redactValue(item)];
      }),
    );
  }
  return value;
}
