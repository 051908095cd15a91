import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { createLocalHost } from '../dev/host/local-host.js';
import type { HttpFunctionDefinition } from '../functions/definitions.js';
import { TRIVIAL_FUNCTION } from './baseline.js';

/**
 * The benchmark's host process: the project's local host (dev/host/local-host.ts) serving
 *  - BENCH_HOST=app (default): every Function of the app, exactly as dev/host/main.ts serves them (same settings,
 *    same App Service Authentication stand-in in front), plus the trivial baseline Function at /bench/trivial —
 *    so the app and its baseline share one process, one event loop and one host; and the naive official-sample
 *    baseline (bench/naive-sdk.ts) at /bench/naive-sdk;
 *  - BENCH_HOST=trivial: the trivial Function alone, without loading the app (the cold-start baseline).
 * Prints the same ready line as dev/host/main.ts ({"ready":true,"url":...}).
 */
const mode = process.env.BENCH_HOST ?? 'app';
const definitions: HttpFunctionDefinition[] = [TRIVIAL_FUNCTION];
let options = {};
let flush: () => Promise<void> = async () => {};
let loadApp = () => {};

if (mode === 'app') {
  // Imported only in app mode, so the trivial host's cold start loads nothing of the app.
  const { HTTP_FUNCTIONS } = await import('../functions/definitions.js');
  const { getApp } = await import('../shared/app.js');
  const { createEasyAuth, easyAuthSettings } = await import('../dev/host/easy-auth.js');
  // Loaded once the port is known: the app answers only to its own authority (as dev/host/main.ts does).
  loadApp = () => void getApp();
  const settings = easyAuthSettings(process.env);
  options = settings ? { easyAuth: createEasyAuth(settings) } : {};
  definitions.unshift(...HTTP_FUNCTIONS);
  definitions.push((await import('./naive-sdk.js')).NAIVE_SDK_FUNCTION);
  flush = () => getApp().auditLog?.flush(5_000) ?? Promise.resolve();
} else if (mode !== 'trivial') {
  throw new Error(`BENCH_HOST must be app or trivial, not ${mode}`);
}

// With BENCH_PROFILE_DIR set: POST /bench/profile/start and /bench/profile/stop take a CPU profile of just the
// window between them (the inspector's Profiler, as node --cpu-prof would, without the start-up in it).
const profileDir = process.env.BENCH_PROFILE_DIR;
if (profileDir) {
  const session = new Session();
  definitions.push({
    name: 'bench_profile',
    route: 'bench/profile/{action}',
    methods: ['POST'],
    handler: async (request) => {
      if (request.params.action === 'start') {
        session.connect();
        await session.post('Profiler.enable');
        await session.post('Profiler.setSamplingInterval', { interval: 200 });
        await session.post('Profiler.start');
        return { status: 200, jsonBody: { profiling: true } };
      }
      if (request.params.action === 'stop') {
        const { profile } = await session.post('Profiler.stop');
        session.disconnect();
        const file = join(profileDir, `host-${Date.now()}.cpuprofile`);
        writeFileSync(file, JSON.stringify(profile));
        return { status: 200, jsonBody: { file } };
      }
      return { status: 404 };
    },
  });
}

const server = createLocalHost(definitions, options);
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  process.env.PORT = String(port);
  loadApp();
  console.log(JSON.stringify({ ready: true, url: `http://127.0.0.1:${port}` }));
});

const stop = () => {
  server.closeAllConnections();
  server.close(() => void flush().finally(() => process.exit(0)));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
