import * as z from 'zod';
import { untrusted } from '../shield/untrusted.js';

/** Resource tags: written by whoever can tag the resource, so untrusted content (names and values). */
export const tagsOutput = untrusted(z.record(z.string(), z.string()).describe('Resource tags as set in Azure (untrusted text)'));

export const tagsOf = (tags: Record<string, string> | undefined) => tags ?? {};

/** Date-time fields as ISO 8601 strings; Azure SDKs hand out Date objects or strings depending on the client. */
export const isoTime = (value: Date | string | undefined): string | undefined =>
  value === undefined ? undefined : value instanceof Date ? value.toISOString() : new Date(value).toISOString();
