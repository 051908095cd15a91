/**
 * The V8 heap options the app's process runs with, sized for the smallest Flex Consumption instance (512 MB): half
 * of the instance for the old space, and young-generation semi-spaces of 8 MB (V8 picks 16 on a machine this size).
 * Without them V8 sizes the heap from the machine's memory and lets garbage pile up: on a 24 GB machine the app's RSS
 * reached 390 MiB after 20,000 calls although its live heap stays near 48 MB (heap snapshots after 3,000, 13,000 and
 * 23,000 calls); with them it stays near 200 MiB. Semi-spaces of 8 MB rather than 4: with 4, more of each request in
 * flight (a 48 KB tools/list answer, its audit record's copies) lived through a young collection and was promoted, and
 * the app spent about a fifth more CPU per loopback tools/list (2.70 and 2.83 ms against 2.05 and 2.26 ms, runs
 * interleaved), for RSS after 20,000 calls of 195.1 MiB against 210.6 (one run each). The Functions host gets the
 * same through the NODE_OPTIONS app setting (infra/modules/function-app.json, from the instance size:
 * `appNodeOptions`); `npm start`, the tests' stacks and the benchmarks start the app's process with
 * `APP_NODE_OPTIONS`. Both options are ones NODE_OPTIONS accepts.
 */
const SEMI_SPACE_MB = 8;

/** The options for an instance of `instanceMemoryMB`, as one NODE_OPTIONS value. */
export function appNodeOptions(instanceMemoryMB: number): string {
  return `--max-old-space-size=${instanceMemoryMB / 2} --max-semi-space-size=${SEMI_SPACE_MB}`;
}

/** For the smallest instance: what local processes of the app run with. */
export const APP_NODE_OPTIONS: readonly string[] = appNodeOptions(512).split(' ');
