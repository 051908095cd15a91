/**
 * What `load` gives, made when first asked for and then kept (an SDK imported, a client made, a table created), so
 * start-up pays nothing for it. Calls that arrive while it loads share the one attempt. A failure is not kept: the
 * next call tries again, so a moment's outage (a vault or storage account not answering) does not last for the
 * life of the process.
 */
export function loadOnFirstUse<T>(load: () => Promise<T>): () => Promise<T> {
  let loading: Promise<T> | undefined;
  return () =>
    (loading ??= load().catch((error: unknown) => {
      loading = undefined;
      throw error;
    }));
}
