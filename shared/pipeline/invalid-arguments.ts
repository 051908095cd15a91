import type { z } from 'zod';
import { groupedNumber } from '../text/grouped-number.js';

/** How many problems, offending names and characters of one name an error lists at most. */
const MAX_ISSUES = 5;
const MAX_NAMES = 3;
const MAX_NAME_CHARS = 64;

/**
 * What was wrong with a tool's arguments, in zod's words, but bounded whatever was sent: an object with 200,000
 * unknown keys is answered with three of them and a count, not a 3 MB list (zod's prettifyError lists them all).
 */
export function describeInvalidArguments(toolName: string, error: z.ZodError): string {
  const issues = [...error.issues].sort((a, b) => a.path.length - b.path.length);
  const shown = issues.slice(0, MAX_ISSUES).map((issue) => {
    const message =
      issue.code === 'unrecognized_keys' ? `Unrecognized key${issue.keys.length === 1 ? '' : 's'}: ${listNames(issue.keys)}` : clip(issue.message, 300);
    return issue.path.length > 0 ? `✖ ${message}; → at ${pathOf(issue.path)}` : `✖ ${message}`;
  });
  const more = issues.length > MAX_ISSUES ? `; and ${groupedNumber(issues.length - MAX_ISSUES)} more problems` : '';
  return `Invalid arguments for ${toolName}: ${shown.join('; ')}${more}`;
}

/** A caller-supplied name as an error quotes it: at most MAX_NAME_CHARS characters, in quotes. */
export function quoteName(name: string): string {
  return JSON.stringify(clip(name, MAX_NAME_CHARS));
}

function listNames(names: readonly string[]): string {
  const listed = names.slice(0, MAX_NAMES).map(quoteName).join(', ');
  return names.length > MAX_NAMES ? `${listed} and ${groupedNumber(names.length - MAX_NAMES)} more` : listed;
}

function pathOf(path: readonly PropertyKey[]): string {
  const shown = path.slice(0, 8).map((segment, index) => {
    if (typeof segment === 'number') return `[${segment}]`;
    const name = clip(String(segment), MAX_NAME_CHARS);
    return index === 0 ? name : `.${name}`;
  });
  return shown.join('') + (path.length > 8 ? '…' : '');
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
