import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { allRequests } from '../shared/azure/all-requests.js';

/**
 * A tool that reads two things side by side answers only when both requests have ended. Real HTTP requests to a
 * loopback server: one fails at once, the other is slow; the answer must not come while the slow one is open.
 */
/** How long the slow request takes to answer, if it is not aborted first. */
const SLOW_MS = 60_000;

describe('side-by-side Azure requests', () => {
  let server: Server;
  let base: string;

  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/fail') {
        res.writeHead(404).end();
        return;
      }
      if (req.url?.startsWith('/ok/')) {
        res.writeHead(200).end(req.url);
        return;
      }
      // Slow: answers after SLOW_MS unless the client goes away first.
      const timer = setTimeout(() => res.writeHead(200).end('late'), SLOW_MS);
      res.on('close', () => clearTimeout(timer));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const get = async (path: string, signal: AbortSignal): Promise<string> => {
    const response = await fetch(`${base}${path}`, { signal });
    if (!response.ok) throw new Error(`status ${response.status}`);
    return response.text();
  };

  it('a failure aborts the sibling, and the call ends only after the sibling has ended', async () => {
    let slowEnded = 0;
    const started = Date.now();
    const outcome = await allRequests<[string, string]>(undefined, (signal) => [
      get('/fail', signal),
      get('/slow', signal).finally(() => {
        slowEnded = Date.now();
      }),
    ]).catch((error: unknown) => error);
    const answeredAt = Date.now();
    expect(outcome).toEqual(new Error('status 404'));
    expect(slowEnded).toBeGreaterThan(0);
    expect(slowEnded).toBeLessThanOrEqual(answeredAt);
    // Aborted, not waited out (a bound far above what a busy machine takes to abort, far below the slow answer).
    expect(answeredAt - started).toBeLessThan(SLOW_MS / 2);
  });

  it('answers with the failure that ended the call, not the abort it caused in a sibling listed before it', async () => {
    // As the Azure SDK does: an aborted request fails with an AbortError of its own, whatever the abort's reason.
    const getLikeTheSdk = (path: string, signal: AbortSignal) =>
      get(path, signal).catch((error: unknown) => {
        if (!signal.aborted) throw error;
        throw Object.assign(new Error('The operation was aborted.'), { name: 'AbortError' });
      });
    const outcome = await allRequests<[string, string]>(undefined, (signal) => [getLikeTheSdk('/slow', signal), getLikeTheSdk('/fail', signal)]).catch(
      (error: unknown) => error,
    );
    expect(outcome).toEqual(new Error('status 404'));
  });

  it("the caller's deadline aborts every request", async () => {
    const deadline = new AbortController();
    setTimeout(() => deadline.abort(new Error('deadline')), 100);
    const outcome = await allRequests<[string, string]>(deadline.signal, (signal) => [get('/slow', signal), get('/slow', signal)]).catch(
      (error: unknown) => error,
    );
    expect(outcome).toBeInstanceOf(Error);
    expect((outcome as Error).message).toBe('deadline');
  });

  it('many requests side by side (one per resource group of a large department) raise no listener-leak warning', () => {
    // In a process of its own: Node writes its warnings to the real process's stderr, which jest does not show a test.
    const script = `
      import { allRequests } from ${JSON.stringify(new URL('../shared/azure/all-requests.js', import.meta.url).href)};
      // As the Azure SDK does, each of the 24 requests listens to the signal it is given until it has ended.
      const values = await allRequests(undefined, (signal) => Array.from({ length: 24 }, (_, i) => {
        const listener = () => {};
        signal.addEventListener('abort', listener);
        return new Promise((resolve) => setTimeout(resolve, 10, i)).finally(() => signal.removeEventListener('abort', listener));
      }));
      await new Promise((resolve) => setImmediate(resolve));
      console.log(values.length);`;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect({ status: run.status, stdout: run.stdout.trim(), stderr: run.stderr }).toEqual({ status: 0, stdout: '24', stderr: '' });
  });

  it('answers every value in order when all succeed', async () => {
    const values = await allRequests<string[]>(undefined, (signal) => ['/ok/a', '/ok/b'].map((path) => get(path, signal)));
    expect(values).toEqual(['/ok/a', '/ok/b']);
  });
});
