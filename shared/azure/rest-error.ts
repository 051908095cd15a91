import type { RestError } from '@azure/core-rest-pipeline';

/**
 * The error as the Azure SDK's RestError (recognised by the SDK's own isRestError), or undefined. The SDK's pipeline
 * module is imported when first asked, not at start: a RestError exists only once an SDK has loaded that module,
 * so the import is then a cache hit, and a cold start never pays for it.
 */
export async function asRestError(error: unknown): Promise<RestError | undefined> {
  const { isRestError } = await import('@azure/core-rest-pipeline');
  return isRestError(error) ? error : undefined;
}
