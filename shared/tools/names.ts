import { z } from 'zod';

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
