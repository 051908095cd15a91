import type { RestError } from '@azure/core-rest-pipeline';
import { ToolError } from '../pipeline/errors.js';
import { IdentityUnavailableError } from './credential.js';
import { LinearRegex } from '../text/linear-regex.js';
import { asRestError } from './rest-error.js';
import { describeTargets, missingResourceMessage, type CallTargets } from './missing-resource.js';

/**
 * Turns what the Azure SDK threw into an error the caller can act on. The SDK has already retried throttling and
 * transient failures by the time this runs. `deadline` tells a timeout from the caller going away.
 */
export async function toToolError(error: unknown, deadline: { timedOut: boolean; timeoutMs: number }, targets: CallTargets = {}): Promise<ToolError> {
  if (error instanceof ToolError) return error;
  if (error instanceof IdentityUnavailableError) return new ToolError('identity_unavailable', error.message, {}, { cause: error });
  if (error instanceof Error && error.name === 'AbortError') {
    return deadline.timedOut
      ? new ToolError(
          'azure_timeout',
          `Azure did not answer within ${deadline.timeoutMs / 1000} s; nothing more was attempted. Try again later.`,
          {},
          { cause: error },
        )
      : new ToolError('cancelled', 'The request was cancelled before Azure answered.', {}, { cause: error });
  }
  const restError = await asRestError(error);
  if (!restError) throw error;
  return fromRestError(restError, targets);
}

/** What Azure answered, by status: the caller gets our words, Azure's first line where it helps, and Azure's ids. */
function fromRestError(error: RestError, targets: CallTargets): ToolError {
  const status = error.statusCode ?? 0;
  const requestId = error.response?.headers?.get('x-ms-request-id');
  const details: Record<string, string | number> = { azureStatus: status, ...(error.code ? { azureCode: error.code } : {}) };
  if (requestId) details.azureRequestId = requestId;
  const azureMessage = firstLine(error.message);
  if (status === 404) return new ToolError('not_found', notFoundMessage(error.code, azureMessage, targets), details, { cause: error });
  if (status === 409) return new ToolError('conflict', azureMessage || 'Azure reports a conflict.', details, { cause: error });
  if (status === 429) {
    const retryAfter = Number(error.response?.headers?.get('retry-after'));
    if (Number.isFinite(retryAfter)) details.retryAfterSeconds = retryAfter;
    return new ToolError('throttled', 'Azure is throttling requests and retries did not succeed; try again shortly.', details, { cause: error });
  }
  if (status === 401 || status === 403) {
    // A refusal like any other: it names its rule, and the audit records the call as denied.
    return new ToolError(
      'forbidden',
      "Azure refused the app's managed identity for this operation; its role assignments may need to include it.",
      { ...details, rule: 'azure.forbidden' },
      { cause: error },
    );
  }
  if (status >= 400 && status < 500) return new ToolError('invalid_arguments', azureMessage || 'Azure rejected the request.', details, { cause: error });
  if (status === 0) return new ToolError('azure_error', 'Azure could not be reached; try again later.', details, { cause: error });
  return new ToolError('azure_error', 'Azure returned a server error after retries; try again later.', details, { cause: error });
}

/** A URL, in any scheme (re2js: in V8 this pattern is quadratic on a run like `a.a.a.a…` without `://`). */
const URL_IN_TEXT = new LinearRegex(/\b[a-z][a-z0-9+.-]*:\/\/\S+/gi);

/** Names the missing resource: from Azure's code where it says which, else Azure's words plus the names the call used. */
function notFoundMessage(azureCode: string | undefined, azureMessage: string, targets: CallTargets): string {
  const known = missingResourceMessage(azureCode, targets);
  if (known) return known;
  const named = describeTargets(targets);
  const base = azureMessage || 'Azure says the resource does not exist.';
  return named ? `${base} (this call named ${named}: check each exists)` : base;
}

/**
 * Azure's own message, first line only, with any URL removed: a proxy in the path could name internal hosts. Azure
 * may quote what the caller sent, so only what is kept (and a margin, so a URL cut at the end is still seen) is read.
 */
function firstLine(message: string): string {
  const line = message.slice(0, 4_000).split('\n')[0] ?? '';
  return URL_IN_TEXT.replaceAll(line, '[url]').slice(0, 500);
}

/** A listing inside a configured resource group that does not exist (yet): an empty listing, not a failure. */
export async function isMissingResourceGroup(error: unknown): Promise<boolean> {
  const restError = await asRestError(error);
  return restError?.statusCode === 404 && restError.code === 'ResourceGroupNotFound';
}

/** A read whose 404 means "not there" rather than a failure: resolves to undefined instead. */
export async function ifExists<T>(read: Promise<T>): Promise<T | undefined> {
  try {
    return await read;
  } catch (error) {
    if ((await asRestError(error))?.statusCode === 404) return undefined;
    throw error;
  }
}
