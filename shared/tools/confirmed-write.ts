import { asRestError } from '../azure/rest-error.js';
import { ToolError } from '../pipeline/errors.js';
import type { ToolContext } from './tool.js';

/** How long reading the target back may take after a write whose answer never came (its own deadline). */
export const READ_BACK_TIMEOUT_MS = 5_000;

/** What reading the target back found. */
export type ReadBack<T> = { state: 'done'; value: T } | { state: 'absent'; detail: string } | { state: 'partial'; detail: string };

export interface Write<T> {
  /** The change in a few words, for messages: `creating key 'cmk-x'`. */
  what: string;
  /** How the caller checks the target themselves: `keyvault_key_get with name 'cmk-x'`. */
  check: string;
  write(signal: AbortSignal): Promise<T>;
  /** Reads the target and says whether the change is there; a 404 should come back as `absent`. */
  readBack(signal: AbortSignal): Promise<ReadBack<T>>;
}

/**
 * Runs one write to Azure. When its answer is lost — the deadline passed, the connection dropped, or Azure answered
 * with a server error — the request may still have landed, so the target is read back (once a second, within its
 * own short deadline, until the change shows) before answering: the change is reported as made (with a note that Azure answered late), or the error
 * says precisely what the read found and what to check before retrying. A definite refusal (4xx) is passed on as is.
 */
export async function confirmedWrite<T>(context: ToolContext, change: Write<T>): Promise<T> {
  try {
    return await change.write(context.signal);
  } catch (error) {
    const lost = await lostAnswer(error);
    if (!lost) throw error;
    const code = lost.timedOut ? 'azure_timeout' : 'azure_error';
    let found: ReadBack<T>;
    try {
      found = await settle(change, readBackSignal(context));
    } catch (readError) {
      throw new ToolError(
        code,
        `${lost.what} while ${change.what}, and reading it back failed too, so the outcome is unknown. Check with ${change.check} before retrying.`,
        {},
        { cause: readError },
      );
    }
    if (found.state === 'done') {
      context.note(`Azure answered late (${lost.short}) while ${change.what}; a read afterwards shows the change was made.`);
      return found.value;
    }
    if (found.state === 'absent') {
      throw new ToolError(
        code,
        `${lost.what} while ${change.what}. A read afterwards shows ${found.detail}. Check with ${change.check} before retrying: a request Azure received late could still take effect.`,
        {},
        { cause: error },
      );
    }
    throw new ToolError(
      code,
      `${lost.what} while ${change.what}, and the outcome is unknown: ${found.detail}. Check with ${change.check} before retrying.`,
      {},
      { cause: error },
    );
  }
}

/** Interval between reads while the change is not there yet: a request still in flight may land meanwhile. */
const READ_BACK_INTERVAL_MS = 1_000;

/**
 * Reads the target back until the change shows or the read-back deadline passes (a request Azure received late
 * may still be carried out); the last answer counts.
 */
async function settle<T>(change: Write<T>, signal: AbortSignal): Promise<ReadBack<T>> {
  let found = await change.readBack(signal);
  while (found.state === 'absent') {
    const waited = await new Promise<boolean>((resolve) => {
      if (signal.aborted) return resolve(false);
      const timer = setTimeout(() => resolve(true), READ_BACK_INTERVAL_MS);
      signal.addEventListener('abort', () => (clearTimeout(timer), resolve(false)), { once: true });
    });
    if (!waited) return found;
    try {
      found = await change.readBack(signal);
    } catch (error) {
      if (signal.aborted) return found;
      throw error;
    }
  }
  return found;
}

function readBackSignal(context: ToolContext): AbortSignal {
  return AbortSignal.timeout(Math.min(READ_BACK_TIMEOUT_MS, context.settings.azureCallTimeoutMs));
}

/**
 * The signal for steps after a write that succeeded late (its read-back, a second write, a report): the call's own
 * deadline has passed by then, so they get a short one of their own.
 */
export function followOnSignal(context: ToolContext): AbortSignal {
  return context.signal.aborted ? readBackSignal(context) : context.signal;
}

/** Whether an error leaves a write's outcome unknown, and how to say what happened. */
async function lostAnswer(error: unknown): Promise<{ what: string; short: string; timedOut: boolean } | undefined> {
  if (!(error instanceof Error)) return undefined;
  if (error.name === 'AbortError') return { what: 'Azure did not answer in time', short: 'no answer before the deadline', timedOut: true };
  const restError = await asRestError(error);
  if (!restError) return undefined;
  const status = restError.statusCode ?? 0;
  if (status === 0) return { what: 'The connection to Azure dropped before it answered', short: 'the connection dropped', timedOut: false };
  if (status === 408) return { what: 'Azure timed out answering', short: 'HTTP 408', timedOut: true };
  if (status >= 500) return { what: `Azure answered with a server error (HTTP ${status}) after retries`, short: `HTTP ${status}`, timedOut: false };
  return undefined;
}

/** Turns a read whose 404 means "not there" into `absent` with the given words. */
export async function readOrAbsent<T>(read: Promise<T>, absent: string, judge: (value: T) => ReadBack<T>): Promise<ReadBack<T>> {
  try {
    return judge(await read);
  } catch (error) {
    if ((await asRestError(error))?.statusCode === 404) return { state: 'absent', detail: absent };
    throw error;
  }
}
