import type { HttpHandler, HttpMethod } from '@azure/functions';
import { pathToFileURL } from 'node:url';
import { createLocalHost } from '../../dev/host/local-host.js';
import { FUNCTIONS_CORE_KEY, type FunctionsCoreRegistrations } from './functions-core.js';

/**
 * Serves a built package's app on the local host as the Functions worker would load it: `STAGED_APP_ENTRY` (the
 * package's `main`) is imported with the `@azure/functions-core` stand-in on NODE_PATH (./functions-core.ts), and what
 * its `app.http` calls registered — routes, methods and handlers — is served, its appStart hooks run once listening.
 * So a test runs the deployed files themselves (a bundle included), not this build's modules. Started through
 * `startAppProcess({ main })`; prints the same ready line as the local host.
 */
const entry = process.env.STAGED_APP_ENTRY;
if (!entry) throw new Error('STAGED_APP_ENTRY (the package entry point to serve) is not set');
await import(pathToFileURL(entry).href);
const registered = (globalThis as { [FUNCTIONS_CORE_KEY]?: FunctionsCoreRegistrations })[FUNCTIONS_CORE_KEY];
if (!registered) throw new Error('The @azure/functions-core stand-in was not loaded: put its folder on NODE_PATH');

const definitions = registered.functions.map(({ metadata, handler }) => {
  const trigger = Object.values(metadata.bindings).find((binding) => binding.type === 'httpTrigger');
  if (!trigger?.route || !trigger.methods) throw new Error(`${metadata.name} is not an HTTP-triggered Function with a route`);
  return {
    name: metadata.name,
    route: trigger.route,
    methods: trigger.methods.map((method) => method.toUpperCase() as HttpMethod),
    handler: handler as HttpHandler,
  };
});
const runHooks = (name: string) => Promise.all((registered.hooks[name] ?? []).map((hook) => hook({ hookData: {} })));

const server = createLocalHost(definitions);
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  void runHooks('appStart').then(() => console.log(JSON.stringify({ ready: true, url: `http://127.0.0.1:${port}` })));
});
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => void runHooks('appTerminate').finally(() => process.exit(0)));
});
