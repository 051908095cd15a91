import type { HttpHandler, HttpMethod } from '@azure/functions';
import Module from 'node:module';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createLocalHost } from './local-host.js';

/**
 * Runs a built deployment package (`infra/scripts/package.sh --dir <folder>`) on the local host, loaded through the
 * interface the Functions worker gives an app: the package's own `main` is imported, `@azure/functions-core` is
 * answered the way the worker answers it (its `require` hook, for that one name), and the Functions the app registers
 * there — routes, methods, handlers — are served, its appStart hooks run once listening. So what runs is the deployed
 * files themselves, the bundle and its installed packages, not this build's modules: a check of a package before it is
 * uploaded, and how test/infra/package.test.ts and the cold-start benchmark run one. What this does not reproduce:
 * the worker's own HTTP plumbing (requests and answers are converted by the local host, as for `npm start`).
 *
 * Usage: `node dist/dev/host/package-host.js <package folder>` with the app's settings in the environment (`PORT`,
 * default 7071: set it, as the app answers only to its own authority). Prints the local host's ready line.
 */
interface Registered {
  functions: { metadata: { name: string; bindings: Record<string, { type: string; route?: string; methods?: string[] }> }; handler: HttpHandler }[];
  hooks: Record<string, ((context: { hookData: Record<string, unknown> }) => unknown)[]>;
}

const folder = process.argv[2];
if (!folder) {
  console.error('usage: node dist/dev/host/package-host.js <package folder>   (infra/scripts/package.sh --dir <folder> makes one)');
  process.exit(2);
}
const registered: Registered = { functions: [], hooks: {} };
const core = {
  registerFunction(metadata: Registered['functions'][number]['metadata'], handler: HttpHandler) {
    registered.functions.push({ metadata, handler });
    return { dispose() {} };
  },
  registerHook(name: string, callback: Registered['hooks'][string][number]) {
    (registered.hooks[name] ??= []).push(callback);
    return { dispose() {} };
  },
  setProgrammingModel() {},
  // The @azure/functions library's own warnings and errors, as the worker would log them.
  log(level: string, category: string, message: string) {
    console.error(`[functions ${level} ${category}] ${message}`);
  },
};
// As the worker does: `@azure/functions-core` is not an npm package but a module the host answers `require` with.
const moduleRequire = (Module.prototype as unknown as { require: (id: string) => unknown }).require;
(Module.prototype as unknown as { require: (id: string) => unknown }).require = function (this: unknown, id: string) {
  return id === '@azure/functions-core' ? core : moduleRequire.call(this, id);
};

const main = (JSON.parse(readFileSync(resolve(folder, 'package.json'), 'utf8')) as { main?: string }).main;
if (!main) throw new Error(`${resolve(folder, 'package.json')} names no main entry point`);
await import(pathToFileURL(resolve(folder, main)).href);

if (registered.functions.length === 0) {
  throw new Error(`${resolve(folder, main)} registered no Functions through @azure/functions-core: is it a Functions app's entry point?`);
}
const definitions = registered.functions.map(({ metadata, handler }) => {
  const trigger = Object.values(metadata.bindings).find((binding) => binding.type === 'httpTrigger');
  if (!trigger?.route || !trigger.methods) throw new Error(`${metadata.name} is not an HTTP-triggered Function with a route`);
  return { name: metadata.name, route: trigger.route, methods: trigger.methods.map((method) => method.toUpperCase() as HttpMethod), handler };
});
const runHooks = (name: string) => Promise.all((registered.hooks[name] ?? []).map((hook) => hook({ hookData: {} })));

const server = createLocalHost(definitions);
server.listen(Number(process.env.PORT ?? 7071), '127.0.0.1', () => {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  void runHooks('appStart').then(() => console.log(JSON.stringify({ ready: true, url: `http://127.0.0.1:${port}` })));
});
const stop = () => {
  server.closeAllConnections();
  // As the worker does when the instance goes: the app's appTerminate hooks (queued audit records are written). One
  // that fails is reported, and the exit code says so.
  server.close(
    () =>
      void runHooks('appTerminate').then(
        () => process.exit(0),
        (error: unknown) => {
          console.error(`An appTerminate hook failed: ${error instanceof Error ? error.message : String(error)}`);
          process.exit(1);
        },
      ),
  );
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
