import module from 'node:module';

/**
 * Keeps V8's compiled code of every module loaded from here on in a cache on disk (in the temporary folder), so
 * the next cold start of an instance compiles little: `module.enableCompileCache`, Node 22.1 and later (Azure runs
 * the app on Node 22). On Node 20 there is no such function and nothing happens. Called by the entry points before
 * they import the app, since a module is compiled when it is loaded, before any of its code runs.
 */
export function enableCompileCache(): void {
  const enable = (module as { enableCompileCache?: () => unknown }).enableCompileCache;
  try {
    enable?.();
  } catch {
    // A cache that cannot be written (a read-only temporary folder) only costs speed.
  }
}
