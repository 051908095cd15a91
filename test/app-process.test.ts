import { describe, expect, it } from '@jest/globals';
import { startAppProcess } from '../dev/app-process.js';
import { waitFor } from './helpers/poll.js';
import { REQUIRED_SETTINGS } from './helpers/settings.js';

/** Settings an app starts and keeps running with (its issuer and Azure unreachable, which only requests notice). */
const RUNS = { ...REQUIRED_SETTINGS, AUTH_ISSUER: 'https://127.0.0.1:1/tenant/v2.0', AUTH_JWKS_URI: 'https://127.0.0.1:1/keys' };

/** Whether a process with this id is still running (signal 0 checks without sending anything). */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('the app process the tests and npm start run', () => {
  it('is stopped when it does not start in time, so nothing is left running after the caller gives up', async () => {
    // No app is ready 1 ms after spawn: the start gives up, and must take the process with it (left alone, this
    // one would be listening a second later and run until killed).
    const failure = await startAppProcess(RUNS, { timeoutMs: 1 }).then(
      async (app) => {
        await app.stop();
        return new Error('the app started within 1 ms');
      },
      (error: unknown) => error as Error,
    );
    expect(failure.message).toMatch(/^The app did not start within 1 ms; its process \(pid \d+\) was stopped$/);
    const pid = Number(/\(pid (\d+)\)/.exec(failure.message)?.[1]);
    try {
      expect(
        await waitFor(
          () => running(pid),
          (alive) => !alive,
          5_000,
        ),
      ).toBe(false);
    } finally {
      if (running(pid)) process.kill(pid, 'SIGKILL');
    }
  });
});
