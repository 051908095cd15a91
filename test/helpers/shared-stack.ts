import { randomUUID } from 'node:crypto';
import { startAppOn, startTestSandbox, type TestSandbox, type TestStack } from './stack.js';

/**
 * One sandbox shared by the test files of a group (test/groups/), with one default app on it (`startTestStack()`
 * with no setting changed) for the files that need only that. Each file acquires what it needs in its own
 * `beforeAll` and gives it back with `stop()` in its `afterAll`; the sandbox (and the default app) stop when the last
 * holder gives back. The group file holds the sandbox from its first test to its last, so its files run one after
 * another on one sandbox instead of starting a stack each (a stack is a few seconds of CPU). Run alone
 * (`npm test -- dist/test/<file>.test.js`), a file is the only holder and has them to itself, as before.
 */
let shared: Promise<TestSandbox> | undefined;
let defaultStack: Promise<TestStack> | undefined;
let holders = 0;

/** Holds the shared sandbox (started by the first holder). */
export async function acquireSharedSandbox(): Promise<TestSandbox> {
  holders += 1;
  try {
    return await (shared ??= startTestSandbox());
  } catch (error) {
    await releaseShared();
    throw error;
  }
}

/**
 * The default app on the shared sandbox (started by the first file that asks). Tokens a file mints without naming
 * a caller name a caller of that file's own: rate limits count per caller and tool, and a group's files run within
 * the same minute.
 */
export async function acquireSharedStack(): Promise<TestStack> {
  const sandbox = await acquireSharedSandbox();
  try {
    // Its own stop does nothing: the app stops with the sandbox, when the last holder gives back.
    const stack = await (defaultStack ??= startAppOn({ ...sandbox, stop: async () => {} }, {}));
    const caller = randomUUID();
    return { ...stack, token: (options = {}) => stack.token({ oid: caller, ...options }), stop: releaseShared };
  } catch (error) {
    await releaseShared();
    throw error;
  }
}

/**
 * An app of its own on the shared sandbox, started with `appEnv` on top of the sandbox's settings: for a file (or a
 * part of one) that needs a setting changed — a policy file, an allow-list, an emergency mode — an app start
 * instead of a whole stack. Its `stop` stops that app and gives the sandbox back.
 */
export async function acquireSharedStackWith(appEnv: Record<string, string>): Promise<TestStack> {
  const sandbox = await acquireSharedSandbox();
  try {
    return await startAppOn({ ...sandbox, stop: releaseShared }, appEnv);
  } catch (error) {
    await releaseShared();
    throw error;
  }
}

/** Gives back what one acquire took; the last holder stops the default app and the sandbox. */
export async function releaseShared(): Promise<void> {
  holders -= 1;
  if (holders > 0) return;
  const [stack, sandbox] = [defaultStack, shared];
  defaultStack = shared = undefined;
  // What failed to start has nothing to stop (its start cleaned up after itself).
  await (await stack?.catch(() => undefined))?.app.stop();
  await (await sandbox?.catch(() => undefined))?.stop();
}
