/**
 * Redaction for everything the audit keeps: secrets (tokens, SAS, keys, connection strings, private keys) never
 * reach a log; personal data (emails, phone numbers, National Insurance and NHS numbers, names in free text) is
 * masked. The detectors live in ./detectors (linear-time patterns, measured by `npm run eval`).
 */
import {
  redactingString,
  redactLongTextsAhead as redactLongTextsAheadWithDetectors,
  redactText as redactTextWithDetectors,
  redactValue as redactValueWithDetectors,
} from './detectors/index.js';

export { STEPPED_TEXT } from './detectors/index.js';
import type { Steps } from '../runtime/stepwise.js';

export function redactText(text: string): string {
  return redactTextWithDetectors(text);
}

/**
 * Redacts a JSON value deeply: secret-named keys lose their values, every string is scrubbed. `ahead`: its long texts
 * already redacted, in turns (`redactLongTextsAhead`).
 */
export function redactValue(value: unknown, ahead?: ReadonlyMap<string, string>): unknown {
  return redactValueWithDetectors(value, ahead);
}

/** `redactText` a step at a time (a long text: see STEPPED_TEXT in ./detectors). */
export function redactingText(text: string): Steps<string> {
  return redactingString(text);
}

/** A value's long texts redacted a step at a time, a turn of the event loop between steps, for `redactValue`. */
export function redactLongTextsAhead(value: unknown): Promise<Map<string, string>> {
  return redactLongTextsAheadWithDetectors(value);
}
