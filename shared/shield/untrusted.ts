import { z } from 'zod';

/**
 * Marks the parts of a tool's output that someone other than the caller can write (tags, log messages, blob
 * content, blob names). The shield treats every string inside a marked schema — record keys included — as
 * untrusted data.
 */
const untrustedSchemas = z.registry<{ untrusted: true }>();

export function untrusted<T extends z.ZodType>(schema: T): T {
  untrustedSchemas.add(schema, { untrusted: true });
  return schema;
}

export function isUntrusted(schema: z.ZodType): boolean {
  return untrustedSchemas.has(schema);
}
