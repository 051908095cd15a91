import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const HOST_MAIN = fileURLToPath(new URL('./host/main.js', import.meta.url));

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
  options: { port?: number; timeoutMs?: number; /** Print the app's log lines once it is ready (npm start). */ echo?: boolean } = {},
): Promise<AppProcess> {
  const child = spawn(process.execPath, [HOST_MAIN], {
    env: { ...process.env, ...env, PORT: String(options.port ?? 0) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const errors: string[] = [];
  let ready = false;
  createInterface({ input: child.stderr! }).on('line', (line) => {
    errors.push(line);
    if (ready && options.echo) console.error(line);
  });
  const lines = createInterface({ input: child.stdout! });

  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`The app did not start within ${options.timeoutMs ?? 20_000} ms`)), options.timeoutMs ?? 20_000);
    lines.on('line', (line) => {
      output.push(line);
      if (ready && options.echo) console.log(line);
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
