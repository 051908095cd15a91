import { setFlagsFromString } from 'node:v8';

/**
 * Runs WebAssembly (the app has one module: Cedar's policy engine, 4.3 MB) on V8's baseline compiler only. By
 * default V8 recompiles a module's busy functions with its optimising compiler on background threads, and Cedar's
 * first decisions after a start make most of them busy: compiling the rules and deciding the first tools/list's 24
 * tools cost 110-320 ms of CPU, against 30-70 ms on the baseline compiler alone (Node 20 and 22 on a 2-core machine),
 * CPU a small instance's first call competes with. Without the optimised code, a decision Cedar has not made before
 * costs about 600 µs rather than 420 µs (the optimised code's gain covers its compiling after roughly 1,500 such
 * decisions); decisions are remembered per caller, tool and target, so that difference is paid once per new
 * combination, and a cached decision costs the same. V8 lists the flag for testing; were a later V8 to drop it,
 * it prints "unrecognized flag" once and runs with its default tiering. Called by the entry points before they
 * import the app: Cedar's module is compiled when it is loaded.
 */
export function keepWasmOnBaselineCompiler(): void {
  setFlagsFromString('--liftoff-only');
}
