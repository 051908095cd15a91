import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The labelled corpora live in the source tree (test/corpora), not in dist: one JSON object a line. */
const CORPORA = fileURLToPath(new URL('../../../test/corpora/', import.meta.url));

export type Split = 'dev' | 'held-out';

export interface ShieldItem {
  id: string;
  split: Split;
  text: string;
  lang: string;
  /** How the hostile text is written or hidden (hostile corpus), or what kind of document it is (benign corpus). */
  technique?: string;
  kind?: string;
}

export interface RedactionItem {
  id: string;
  split: Split;
  class: 'secret' | 'personal' | 'benign';
  shape: string;
  /** Text (redacted as text) or a JSON value (redacted as an audited body is). */
  input: unknown;
  /** Substrings that must not survive redaction (secret and personal items). */
  mustRemove?: string[];
}

function load<T>(name: string): T[] {
  return readFileSync(CORPORA + name, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as T);
}

export const hostileTexts = (): ShieldItem[] => load('injection-hostile.jsonl');
export const benignTexts = (): ShieldItem[] => load('injection-benign.jsonl');
export const redactionItems = (): RedactionItem[] => load('redaction.jsonl');
