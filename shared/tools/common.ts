import { z } from 'zod';

/** Resource tags: written by whoever can tag the resource, so treated as untrusted content. */
export const tagsOutput = z.record(z.string(), z.string()).describe('Resource tags as set in Azure');

export const tagsOf = (tags: Record<string, string> | undefined) => tags ?? {};

/** Date-time fields as ISO 8601 strings; Azure SDKs hand out Date objects or strings depending on the client. */
export const isoTime = (value: Date | string | undefined): string | undefined =>
  value === undefined ? undefined : value instanceof Date ? value.toISOString() : new Date(value).toISOString();
