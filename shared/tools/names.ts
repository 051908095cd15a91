import * as z from 'zod';

/** Azure's own rules for resource group names. */
export const resourceGroupName = z
  .string()
  .min(1)
  .max(90)
  // linear: anchored, one attempt: one run, then at most one step back per character.
  .regex(/^[-\w._()]*[-\w_()]$/, 'resource group names use letters, digits, "-", "_", ".", "(" and ")" and do not end with "."')
  .describe('Resource group name');

export const storageAccountName = z
  .string()
  // linear: anchored, at most 24 characters.
  .regex(/^[a-z0-9]{3,24}$/, 'storage account names are 3-24 lower-case letters and digits')
  .describe('Storage account name');

export const containerName = z
  .string()
  // linear: anchored, one attempt: the look-ahead scans the text once; the rest is at most 63 characters.
  .regex(/^(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/, 'container names are 3-63 lower-case letters, digits and single hyphens')
  .describe('Blob container name');

/** The resource group segment of an ARM resource id (`/subscriptions/…/resourceGroups/{name}/…`). */
export function groupOf(resourceId: string | undefined): string | undefined {
  // linear: a 16-character literal, then a run that stops at '/' and always succeeds: bounded steps per position.
  return resourceId ? /\/resourcegroups\/([^/]+)/i.exec(resourceId)?.[1] : undefined;
}

/** Azure's limits for blob names: 1,024 characters in at most 254 '/'-separated segments. */
const BLOB_NAME_MAX = 1024;
const BLOB_SEGMENTS_MAX = 254;
const VALID_BLOB_NAME =
  "A valid blob name is 1-1024 letters, digits, spaces and ASCII punctuation other than '\\' and '%', with '/' only between non-empty folder names, e.g. 'reports/2026/summary.txt'.";
/** ASCII punctuation a blob name may hold: all of it except '\' (a separator to some servers) and '%' (an encoding). */
const BLOB_PUNCTUATION = new Set(' !"#$&\'()*+,-./:;<=>?@[]^_`{|}~');
// linear: anchored, one character.
const LETTER_MARK_OR_DIGIT = /^[\p{L}\p{M}\p{N}]$/u;

/**
 * What is wrong with a blob name, or undefined if it is a plain name that addresses exactly one blob. A name is a
 * name, never a path: no dot or empty segments, no encodings ('%'), no backslashes, no control or format
 * characters, no Unicode punctuation or symbols (every look-alike of '/' and '.' is one), and nothing that Unicode
 * NFKC normalisation would change (full-width and compatibility forms), since a server or proxy that normalises
 * would read another name.
 */
export function blobNameProblem(name: string): string | undefined {
  if (name.length === 0 || name.length > BLOB_NAME_MAX) return `the name is ${name.length} characters long.`;
  let position = 0;
  for (const character of name) {
    position += 1;
    if (character === '\\') return `it contains '\\' at position ${position}; use '/' between folder names.`;
    if (character === '%') return `it contains '%' at position ${position}; give the name as plain text (it is encoded for you), never percent-encoded.`;
    if (!BLOB_PUNCTUATION.has(character) && !LETTER_MARK_OR_DIGIT.test(character)) {
      const code = character.codePointAt(0) ?? 0;
      return `character U+${code.toString(16).toUpperCase().padStart(4, '0')} at position ${position} is not allowed (control, format, symbol or non-ASCII punctuation characters, such as look-alikes of '/' and '.', are refused).`;
    }
  }
  if (name.normalize('NFKC') !== name)
    return 'Unicode NFKC normalisation changes it (full-width or compatibility characters); write it with the plain characters.';
  const segments = name.split('/');
  if (segments.length > BLOB_SEGMENTS_MAX) return `it has ${segments.length} '/'-separated segments.`;
  for (const segment of segments) {
    if (segment === '') return "it starts or ends with '/' or contains '//'.";
    if (segment === '.' || segment === '..') return `it contains the path segment '${segment}'.`;
    if (segment.endsWith('.')) return "a segment ends with '.', which Azure drops.";
  }
  return undefined;
}

export const blobName = z
  .string()
  .min(1)
  .max(BLOB_NAME_MAX)
  .superRefine((name, issues) => {
    const problem = blobNameProblem(name);
    if (problem) issues.addIssue({ code: 'custom', message: `not a blob name: ${problem} ${VALID_BLOB_NAME}` });
  })
  .describe(
    "Blob name: letters, digits, spaces and ASCII punctuation except '\\' and '%'; '/' separates folder names, which may not be empty, '.', '..' or end with '.'",
  );
