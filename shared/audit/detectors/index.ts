import { boundedMemo } from '../../runtime/bounded-memo.js';
import { namesMetadata, namesPersonalData, namesSecret } from './field-names.js';
import { PERSONAL_RULES, redactPostcodesNearNames } from './personal.js';
import { joinWrappedKeys, redactingPercentEncoded } from './prepass.js';
import { allAtOnce, inTurns, type Steps } from '../../runtime/stepwise.js';
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

/**
 * Texts at least this long are redacted a step at a time, each step ending between two rules and after every few
 * dozen matches of one (run in turns, that lets other requests in: a 16 KiB text full of matches costs re2js tens of
 * milliseconds in all). Shorter ones are redacted in one step.
 */
export const STEPPED_TEXT = 2 * 1024;

function* applyingRules(text: string, fired?: Set<string>): Steps<string> {
  const stepped = text.length >= STEPPED_TEXT;
  let result = text.includes('\n') ? joinWrappedKeys(text, isAccountKeyShape, namesSecret) : text;
  for (const { name, pattern, replace, needs } of RULES) {
    if (needs !== undefined && !(typeof needs === 'string' ? result.includes(needs) : needs.test(result))) continue;
    if (!pattern.test(result)) continue;
    if (stepped) yield;
    const next = stepped ? yield* pattern.replaceInSteps(result, replace) : pattern.replace(result, replace);
    if (fired && next !== result) fired.add(name);
    result = next;
  }
  if (stepped) yield;
  const withPostcodes = redactPostcodesNearNames(result);
  if (fired && withPostcodes !== result) fired.add('postcode-near-name');
  return withPostcodes;
}

/** Redacts a text a step at a time, and says which detectors changed it (for `npm run eval`). */
function* redactingText(text: string, fired?: Set<string>): Steps<string> {
  const capped =
    text.length > REDACT_SCAN_LIMIT ? `${text.slice(0, REDACT_SCAN_LIMIT)}[… ${text.length - REDACT_SCAN_LIMIT} characters not scanned, removed]` : text;
  const decoded = PERCENT_ESCAPE.test(capped) ? yield* redactingPercentEncoded(capped, (inner) => applyingRules(inner)) : capped;
  if (fired && decoded !== capped) fired.add('percent-decoded');
  return yield* applyingRules(decoded, fired);
}

/** Redacts a text and says which detectors changed it (for `npm run eval`). */
export function redactTextDetailed(text: string): { text: string; detectors: string[] } {
  const fired = new Set<string>();
  const redacted = allAtOnce(redactingText(text, fired));
  return { text: redacted, detectors: [...fired] };
}

/**
 * Short texts' redactions, remembered (a field name or value seen in the last few thousand: most of a tool's output
 * on a repeated call). At most 4,096 texts of up to 256 characters: a few megabytes at worst.
 */
const REMEMBERED_LENGTH = 256;
const rememberedRedaction = boundedMemo((text) => allAtOnce(redactingText(text)), { maxEntries: 4096, maxLength: REMEMBERED_LENGTH });

export function redactText(text: string): string {
  return rememberedRedaction(text);
}

/** A text redacted a step at a time (see STEPPED_TEXT); a short one is looked up or redacted at once. */
export function* redactingString(text: string): Steps<string> {
  return text.length <= REMEMBERED_LENGTH ? rememberedRedaction(text) : yield* redactingText(text);
}

/**
 * Redacts a JSON value deeply: a field whose name says secret loses its value, a field whose name says personal
 * data is masked (and then a `name` beside it too: it is a person's), every other string is scrubbed. Inside a
 * secret-named object or list (`keys: [{ keyName, value }]`) only fields that describe the secret keep their value.
 * `ahead` holds long texts of the value already redacted (in turns: `redactLongTextsAhead`).
 */
export function redactValue(value: unknown, ahead?: ReadonlyMap<string, string>, insideSecret = false): unknown {
  const text = ahead ? (item: string) => ahead.get(item) ?? redactText(item) : redactText;
  if (typeof value === 'string') return insideSecret ? '[REDACTED]' : text(value);
  if (Array.isArray(value)) return value.map((item) => redactValue(item, ahead, insideSecret));
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    const aboutAPerson = entries.some(([key]) => namesPersonalData(key));
    return Object.fromEntries(
      entries.map(([key, item]) => {
        if (insideSecret && namesMetadata(key)) return [text(key), redactValue(item, ahead)];
        const secretHere = insideSecret || namesSecret(key);
        if (secretHere && item && typeof item === 'object') return [text(key), redactValue(item, ahead, true)];
        if (secretHere && item !== null && typeof item !== 'boolean') return [text(key), '[REDACTED]'];
        if (typeof item === 'string' && (namesPersonalData(key) || (aboutAPerson && key.toLowerCase() === 'name'))) return [text(key), '[personal]'];
        return [text(key), redactValue(item, ahead)];
      }),
    );
  }
  return value;
}

/**
 * The value's long texts (keys and values of STEPPED_TEXT or more), each redacted a step at a time with a turn of the
 * event loop between steps, for `redactValue` to use: the walk itself is then quick, and nothing holds the loop long.
 */
export async function redactLongTextsAhead(value: unknown): Promise<Map<string, string>> {
  const ahead = new Map<string, string>();
  for (const text of longTextsOf(value)) if (!ahead.has(text)) ahead.set(text, await inTurns(redactingText(text)));
  return ahead;
}

function longTextsOf(value: unknown, found: string[] = []): string[] {
  if (typeof value === 'string') {
    if (value.length >= STEPPED_TEXT) found.push(value);
  } else if (Array.isArray(value)) for (const item of value) longTextsOf(item, found);
  else if (value && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      longTextsOf(key, found);
      longTextsOf(item, found);
    }
  }
  return found;
}
