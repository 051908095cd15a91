import { setMaxListeners } from 'node:events';

/**
 * Makes Azure requests side by side and answers only once every one has ended.
 *
 * With Promise.all an early failure answers the caller while a sibling request is still on its way to Azure: the
 * call would be reported (and audited) as over while it was still acting. Here the first failure aborts the
 * siblings, and the answer waits for them to end.
 */
export async function allRequests<T extends readonly unknown[]>(
  signal: AbortSignal | undefined,
  start: (signal: AbortSignal) => { [K in keyof T]: Promise<T[K]> },
): Promise<T> {
  // The requests' signal follows the call's for the rest of the call (a stream started here may go on reading).
  const siblings = new AbortController();
  // Each request in flight listens to it until its response has ended (the Azure SDK's own listener): a listing over
  // a department's resource groups has one per group, and more than Node's 10 is by design, not a leak to warn about.
  setMaxListeners(0, siblings.signal);
  if (signal?.aborted) siblings.abort(signal.reason);
  else signal?.addEventListener('abort', () => siblings.abort(signal.reason), { once: true });
  // The failure that ended the call, not the first in the list: a sibling aborted because of it fails too (the
  // Azure SDK with its own AbortError), and reporting that would turn a throttled or failed call into "cancelled".
  let first: { error: unknown } | undefined;
  const requests = start(siblings.signal).map((request) =>
    Promise.resolve(request).catch((error: unknown) => {
      first ??= { error };
      siblings.abort(error);
      throw error;
    }),
  );
  const settled = await Promise.allSettled(requests);
  if (first) throw first.error;
  return settled.map((outcome) => (outcome as PromiseFulfilledResult<unknown>).value) as unknown as T;
}
