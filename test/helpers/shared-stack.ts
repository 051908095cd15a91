import { randomUUID } from 'node:crypto';
import { startAppOn, startTestStack, type TestStack } from './stack.js';

/**
 * One default stack (`startTestStack()`, no settings changed) shared by the test files of a group
 * (test/groups/): each file acquires it in its own `beforeAll` and releases it in its `afterAll`, and the stack
 * stops when the last holder releases it. The group file holds it from its first test to its last, so its files
 * run one after another on one stack instead of starting one each (a stack is a few seconds of CPU). Run alone
 * (`npm test -- dist/test/<file>.test.js`), a file is the only holder and gets a stack of its own, as before.
 *
 * What a file gets is the stack with one change: tokens it mints without naming a caller name a caller of its own
 * (rate limits count per caller and tool, and the files of a group run within the same minute).
 */
let shared: Promise<TestStack> | undefined;
let holders = 0;

export async function acquireSharedStack(): Promise<TestStack> {
  holders += 1;
  const stack = await (shared ??= startTestStack());
  const caller = randomUUID();
  return {
    ...stack,
    token: (options = {}) => stack.token({ oid: caller, ...options }),
    stop: releaseSharedStack,
  };
}

/**
 * The shared stack's sandbox with an app of its own, started with `appEnv` on top of the sandbox's settings: for a
 * part of a file that needs a setting changed (a policy file, an allow-list), an app start instead of a whole stack.
 * Its `stop` stops that app and gives the stack back.
 */
export async function acquireSharedStackWith(appEnv: Record<string, string>): Promise<TestStack> {
  const base = await acquireSharedStack();
  try {
    return await startAppOn(base, appEnv);
  } catch (error) {
    await base.stop();
    throw error;
  }
}

/** Gives the stack back; the last holder stops it. */
export async function releaseSharedStack(): Promise<void> {
  holders -= 1;
  if (holders > 0 || !shared) return;
  const stopping = shared;
  shared = undefined;
  // A stack that failed to start has nothing to stop (its start cleaned up after itself).
  await (await stopping.catch(() => undefined))?.stop();
}
