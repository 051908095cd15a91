import { setFlagsFromString } from 'node:v8';

/**
 * Compiles each regular expression straight to machine code on its first use. By default V8 first compiles one to
 * bytecode for its interpreter, then again to machine code when it runs a second time; for the shield's patterns
 * (long alternations with bounded gaps, ../shield/injection.ts) the bytecode step is the slow one: the first scan of
 * a few short texts took 27-40 ms, against 5-6 ms compiled straight to machine code, and later scans cost the same
 * (Node 20 and 22). That first scan is part of a cold start's first tool call. The matching engine and its
 * backtracking are the same either way, so the patterns' linear bound (../shield/bounded-regex.ts) holds. V8 lists
 * the flag for testing; were a later V8 to drop it, it prints "unrecognized flag" once and tiers up as by default.
 * Called by the entry points before they import the app.
 */
export function compileRegExpsNatively(): void {
  setFlagsFromString('--no-regexp-tier-up');
}
