import { nextTurn } from './next-turn.js';

/**
 * Work on a long text written once as steps (a generator that yields between steps of a few milliseconds each),
 * run either at once, for short texts, or with a turn of the event loop between steps, so that other requests
 * (/health) are answered while a megabyte is worked through.
 */
export type Steps<T> = Generator<void, T, void>;

/** Every step at once (short texts: the steps cost nothing extra). */
export function allAtOnce<T>(steps: Steps<T>): T {
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/** A turn of the event loop after each step. */
export async function inTurns<T>(steps: Steps<T>): Promise<T> {
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    await nextTurn();
  }
}
