/**
 * Redaction for everything the audit keeps: secrets (tokens, SAS, keys, connection strings, private keys) never
 * reach a log; personal data (emails, phone numbers, National Insurance and NHS numbers, names in free text) is
 * masked. The detectors live in ./detectors (linear-time patterns, measured by `npm run eval`).
 */
import {
  redactingString,
  redactingValue as redactingValueWithDetectors,
  redactText as redactTextWithDetectors,
  redactValue as redactValueWithDetectors,
} from './detectors/index.js';
import type { Steps } from '../runtime/stepwise.js';

export function redactText(text: string): string {
  return redactTextWithDetectors(text);
}

/** Redacts a JSON value deeply: secret-named keys lose their values, every string is scrubbed. */
export function redactValue(value: unknown): unknown {
  return redactValueWithDetectors(value);
}

/** `redactText` a step at a time (a long text: see STEPPED_TEXT in ./detectors). */
export function redactingText(text: string): Steps<string> {
  return redactingString(text);
}

/** `redactValue` a step at a time. */
export function redactingValue(value: unknown): Steps<unknown> {
  return redactingValueWithDetectors(value);
}
