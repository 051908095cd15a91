import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where the stand-in keeps what the app registered, in the process that loaded it. */
export const FUNCTIONS_CORE_KEY = Symbol.for('sovereign-mcp.test.functions-core');

/** What an app registered through `@azure/functions-core`: its functions (metadata and handler) and its hooks. */
export interface FunctionsCoreRegistrations {
  functions: { metadata: FunctionMetadata; handler: (...args: unknown[]) => unknown }[];
  hooks: Record<string, ((context: unknown) => unknown)[]>;
}

export interface FunctionMetadata {
  name: string;
  bindings: Record<string, { type: string; direction: string; route?: string; methods?: string[]; authLevel?: string }>;
}

/**
 * A stand-in for `@azure/functions-core`, the module the Functions worker provides to the app at run time (it is not
 * an npm package): written to a new folder for NODE_PATH, it keeps each registration (`registerFunction`,
 * `registerHook`) on `globalThis[FUNCTIONS_CORE_KEY]`, and with `printAtExit` prints the functions' metadata as JSON
 * when the process exits. So the real `app.http` calls of the app's entry point are what a test sees and serves.
 */
export function writeFunctionsCoreStandIn(options: { printAtExit?: boolean } = {}): string {
  const folder = mkdtempSync(join(tmpdir(), 'functions-core-'));
  mkdirSync(join(folder, '@azure', 'functions-core'), { recursive: true });
  writeFileSync(
    join(folder, '@azure', 'functions-core', 'index.js'),
    `const registered = { functions: [], hooks: {} };
     globalThis[Symbol.for('sovereign-mcp.test.functions-core')] = registered;
     ${options.printAtExit ? "process.on('exit', () => process.stdout.write(JSON.stringify(registered.functions.map((f) => f.metadata))));" : ''}
     module.exports = {
       registerFunction: (metadata, handler) => { registered.functions.push({ metadata, handler }); return { dispose() {} }; },
       setProgrammingModel: () => {},
       registerHook: (name, callback) => { (registered.hooks[name] ??= []).push(callback); return { dispose() {} }; },
       log: () => {},
     };`,
  );
  return folder;
}
