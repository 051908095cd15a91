import * as z from 'zod';

/**
 * Marks the parts of a tool's output that someone other than the caller can write (tags, log messages, blob
 * content, blob names). The mark is JSON Schema metadata (`x-untrusted`), so clients see it in the tool's output
 * schema too; the shield treats every string inside a marked schema — record keys included — as untrusted data.
 */
const MARK = 'x-untrusted';

export function untrusted<T extends z.ZodType>(schema: T): T {
  return schema.meta({ [MARK]: true });
}

/** Also true for copies made by `.describe()` and the like: zod's registry follows a schema's parents. */
export function isUntrusted(schema: z.ZodType): boolean {
  return z.globalRegistry.get(schema)?.[MARK] === true;
}
