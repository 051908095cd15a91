import { setImmediate } from 'node:timers/promises';

/**
 * Lets waiting I/O — another request, /health — run before the caller goes on with a large body's next step. One
 * setImmediate is not enough: called from an I/O callback (a body's chunk arriving, the parse worker's answer), it
 * runs in the same turn of the event loop, straight after, before any new I/O is read, so the two steps hold the
 * loop as one. A second one always puts a poll for I/O in between.
 */
export async function nextTurn(): Promise<void> {
  await setImmediate();
  await setImmediate();
}
