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
