/**
 * Redaction for everything the audit keeps: secrets (tokens, SAS, keys, connection strings, private keys) never
 * reach a log; personal data (emails, phone numbers, National Insurance and NHS numbers, names in free text) is
 * masked. The detectors live in ./detectors (linear-time patterns, measured by `npm run eval`).
 */
import { redactText as redactTextWithDetectors, redactValue as redactValueWithDetectors } from './detectors/index.js';

export function redactText(text: string): string {
  return redactTextWithDetectors(text);
}

/** Redacts a JSON value deeply: secret-named keys lose their values, every string is scrubbed. */
export function redactValue(value: unknown): unknown {
  return redactValueWithDetectors(value);
}
