import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { APP_NODE_OPTIONS } from './app-node-options.js';

/**
 * The local host and the app as one esbuild bundle (dev/bundle.sh; npm run build, npm start and dev/test.sh make it):
 * what is deployed is bundled too, and a bundle starts in about two thirds of the CPU. Under c8 (`npm run
 * coverage`, which sets NODE_V8_COVERAGE) the compiled modules run instead, so coverage is counted per source file.
 */
const BUNDLED_HOST = fileURLToPath(new URL('../bundle/app/host.js', import.meta.url));
const COMPILED_HOST = fileURLToPath(new URL('./host/main.js', import.meta.url));

function defaultHost(): string {
  if (process.env.NODE_V8_COVERAGE) return COMPILED_HOST;
  if (!existsSync(BUNDLED_HOST)) throw new Error(`The app's bundle ${BUNDLED_HOST} is missing: run \`sh dev/bundle.sh\` (npm run build and npm start make it)`);
  return BUNDLED_HOST;
}
/** Loading the app takes a second or two; on a machine busy with other builds and tests, many more. */
const START_TIMEOUT_MS = 60_000;

export interface AppProcess {
  url: string;
  child: ChildProcess;
  /** Everything the app printed on stdout (JSON log and audit lines), for tests that read the log. */
  output: string[];
  /** What it printed on stderr (errors). */
  errorOutput: string[];
  stop(): Promise<void>;
}

/**
 * Starts the Function app on the local host in its own process, so settings and CA trust (NODE_EXTRA_CA_CERTS,
 * read only at process start) are exactly what a deployment would have. Resolves once it listens.
 */
export async function startAppProcess(
  env: Record<string, string>,
  options: {
    port?: number;
    timeoutMs?: number;
    /** Where the app's lines go as they come (npm start): stdout (JSON log and audit lines), and stderr once it is ready. */
    forward?: { output(line: string): void; error(line: string): void };
    /** The host entry point to run instead of this build's (a built package runs through dev/host/package-host.ts). */
    main?: string | undefined;
    /** Arguments for that entry point (package-host's package folder). */
    args?: readonly string[];
  } = {},
): Promise<AppProcess> {
  // With the heap options a deployment has (./app-node-options.ts).
  const child = spawn(process.execPath, [...APP_NODE_OPTIONS, options.main ?? defaultHost(), ...(options.args ?? [])], {
    env: { ...process.env, ...env, PORT: String(options.port ?? 0) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const errors: string[] = [];
  let ready = false;
  createInterface({ input: child.stderr }).on('line', (line) => {
    errors.push(line);
    if (ready) options.forward?.error(line);
  });
  const lines = createInterface({ input: child.stdout });

  const url = await new Promise<string>((resolve, reject) => {
    const timeoutMs = options.timeoutMs ?? START_TIMEOUT_MS;
    // A start that never finishes is stopped here: nobody else holds its process, and it would keep running (and
    // loading the machine) after the caller has given up.
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`The app did not start within ${timeoutMs} ms; its process (pid ${child.pid}) was stopped`));
    }, timeoutMs);
    lines.on('line', (line) => {
      output.push(line);
      options.forward?.output(line);
      try {
        const parsed = JSON.parse(line) as { ready?: boolean; url?: string };
        if (parsed.ready && parsed.url) {
          ready = true;
          clearTimeout(timer);
          resolve(parsed.url);
        }
      } catch {
        // not a JSON line; kept in output
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`The app exited with code ${code} before it was ready:\n${errors.join('\n')}`));
    });
  });

  return {
    url,
    child,
    output,
    errorOutput: errors,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const force = setTimeout(() => child.kill('SIGKILL'), 5_000);
        child.once('exit', () => {
          clearTimeout(force);
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}
