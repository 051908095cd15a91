/**
 * The V8 heap limits the app runs with: on an instance of `memoryMb` (Flex Consumption: 512, 2048 or 4096 MB),
 * NODE_OPTIONS carries them (infra/modules/function-app.json computes the same from `instanceMemoryMB`); locally,
 * the app process and the bench's hosts run with those of the smallest instance, so tests and benchmarks see the
 * memory behaviour of the deployment that has the least. Without a limit V8 sizes the heap from the machine's
 * memory and lets garbage pile up long before it collects (RSS near 470 MiB after 20,000 calls on a 24 GB machine,
 * with about 70 MB live).
 */
export const SMALLEST_INSTANCE_MB = 512;

/** Old space: 5/16 of the instance (160 MB of 512), leaving the rest to code, WebAssembly, buffers and the young space. */
export function heapFlags(memoryMb: number = SMALLEST_INSTANCE_MB): string[] {
  return [`--max-old-space-size=${Math.floor((memoryMb * 5) / 16)}`, '--max-semi-space-size=4'];
}
