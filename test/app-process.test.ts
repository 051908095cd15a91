import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { APP_NODE_OPTIONS } from '../dev/app-node-options.js';
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
          30_000,
        ),
      ).toBe(false);
    } finally {
      if (running(pid)) process.kill(pid, 'SIGKILL');
    }
  });

  it('runs the app with the heap options a deployment has (the smallest instance), ahead of its entry point', async () => {
    const app = await startAppProcess(RUNS);
    try {
      // The command line Linux records for the process: node, its options, the script.
      const argv = readFileSync(`/proc/${app.child.pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
      expect(argv.slice(1, 1 + APP_NODE_OPTIONS.length)).toEqual([...APP_NODE_OPTIONS]);
      expect(APP_NODE_OPTIONS).toEqual(['--max-old-space-size=256', '--max-semi-space-size=8']);
    } finally {
      await app.stop();
    }
  });
});
