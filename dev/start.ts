import { createWriteStream, existsSync, mkdirSync, writeFileSync, type WriteStream } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import type { Sandbox } from './sandbox/index.js';
import type { AppProcess } from './app-process.js';
import { trustSandboxOrRelaunch } from './sandbox/relaunch.js';
import { DEV_USER, SANDBOX_AUDIENCE, SANDBOX_DIR, SANDBOX_PORTS, SANDBOX_SCOPE, sandboxAppSettings } from './sandbox-settings.js';
import { runtimeFile } from './runtime-file.js';
import { writeVsCodeConfig } from './vscode-config.js';

/**
 * `npm start [-- --verbose] [--package <folder>]`: the Function app on the local host at http://127.0.0.1:7071 (PORT
 * overrides), backed by the sandbox (Azure twin + Azurite) unless real Azure settings are given (AZURE_SUBSCRIPTION_ID
 * set), in which case the app runs against Azure with the environment's settings and no sandbox. The app's JSON log
 * and audit lines go to a file under the sandbox folder, so the banner stays on screen; --verbose prints them here
 * too. --package serves a built deployment package (infra/scripts/package.sh --dir <folder>) instead of this source
 * tree's app: its own files, loaded through the Functions worker's interface (dev/host/package-host.ts).
 */
const usage = 'usage: npm start [-- --verbose] [--package <folder>]';
let verbose = false;
let packageDir: string | undefined;
try {
  const { values } = parseArgs({ options: { verbose: { type: 'boolean', short: 'v', default: false }, package: { type: 'string' } } });
  verbose = values.verbose;
  packageDir = values.package === undefined ? undefined : checkedPackage(values.package);
} catch (error) {
  console.error(`${(error as Error).message}\n${usage}`);
  process.exit(2);
}
const port = Number(process.env.PORT ?? 7071);
const realAzure = Boolean(process.env.AZURE_SUBSCRIPTION_ID);
const auditLogFile = resolve(SANDBOX_DIR, 'audit.log');

if (realAzure || (await trustSandboxOrRelaunch(resolve(SANDBOX_DIR, 'tls')))) {
  // Loaded only here: a process that relaunches itself to trust the sandbox certificate never needs them.
  const [{ startSandbox }, { startAppProcess }] = await Promise.all([import('./sandbox/index.js'), import('./app-process.js')]);
  let sandbox: Sandbox | undefined;
  let app: AppProcess | undefined;
  let auditLog: WriteStream | undefined;
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    console.log('\nStopping…');
    await app?.stop();
    await sandbox?.close();
    await new Promise((resolve) => (auditLog ? auditLog.end(resolve) : resolve(undefined)));
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));

  try {
    let env: Record<string, string> = {};
    if (!realAzure) {
      console.log('Starting the sandbox (Azure twin + Azurite)…');
      sandbox = await startSandbox({
        dataDir: resolve(SANDBOX_DIR, 'data'),
        tlsDir: resolve(SANDBOX_DIR, 'tls'),
        armPort: SANDBOX_PORTS.arm,
        vaultPort: SANDBOX_PORTS.vault,
        blobPort: SANDBOX_PORTS.blob,
        tablePort: SANDBOX_PORTS.table,
      });
      // Settings the engineer set explicitly (e.g. MCP_ALLOWED_HOSTS) win over the sandbox defaults.
      env = { ...sandboxAppSettings(sandbox), ...pick(process.env, /^(MCP_|AZURE_CALL_|AZURE_TOKEN_|AUTH_SCOPES)/) };
    }
    console.log('Starting the Function app…');
    mkdirSync(SANDBOX_DIR, { recursive: true });
    auditLog = createWriteStream(auditLogFile, { flags: 'a' });
    app = await startAppProcess(env, {
      port,
      ...(packageDir ? { main: fileURLToPath(new URL('./host/package-host.js', import.meta.url)), args: [packageDir] } : {}),
      forward: {
        output: (line) => {
          auditLog?.write(`${line}\n`);
          if (verbose) console.log(line);
        },
        error: (line) => console.error(line),
      },
    });
    const mcpUrl = `${app.url}/mcp`;
    if (sandbox) {
      const token = await sandbox.mintToken({
        audience: SANDBOX_AUDIENCE,
        tenantId: sandbox.tenantId,
        oid: DEV_USER.oid,
        name: DEV_USER.name,
        roles: ['Mcp.Reader', 'Mcp.Operator'],
        ttlSeconds: 8 * 3600,
        extra: { scp: SANDBOX_SCOPE },
      });
      writeFileSync(
        runtimeFile(),
        JSON.stringify(
          {
            issuer: sandbox.issuer,
            tenantId: sandbox.tenantId,
            audience: SANDBOX_AUDIENCE,
            mcpUrl,
            auditContainerUrl: sandbox.auditContainerUrl,
            vaultUrl: sandbox.vaultUrl,
            anchorTableEndpoint: sandbox.tableEndpoint,
          },
          null,
          2,
        ),
      );
      printBanner(mcpUrl, token, sandbox);
    } else {
      console.log(
        `\nSovereign MCP is running against Azure.\n  MCP endpoint: ${mcpUrl}\n  Callers need an Entra ID access token for ${process.env.AUTH_AUDIENCE ?? 'AUTH_AUDIENCE'}.\n  Audit log:    ${shown(auditLogFile)}${verbose ? '' : ' (npm start -- --verbose prints it here too)'}\n`,
      );
    }
    app.child.once('exit', (code) => {
      if (!stopping) {
        console.error(`The Function app exited (code ${code}).`);
        void stop(1);
      }
    });
  } catch (error) {
    console.error(`Could not start: ${error instanceof Error ? error.message : String(error)}`);
    await stop(1);
  }
}

function pick(env: NodeJS.ProcessEnv, pattern: RegExp): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => pattern.test(entry[0]) && entry[1] !== undefined));
}

/** A path as the engineer would type it from the repository root (relative when it is inside). */
function shown(file: string): string {
  const path = relative(process.cwd(), file);
  return path.startsWith('..') ? file : path;
}

function printBanner(mcpUrl: string, token: string, sandbox: Sandbox): void {
  const base = mcpUrl.replace(/\/mcp$/, '');
  const vscode = writeVsCodeConfig(process.cwd(), mcpUrl);
  const vscodeLines = {
    written: `${shown(vscode.file)} written: VS Code asks for the token (a password prompt) when it starts the server.`,
    unchanged: `${shown(vscode.file)} is up to date: VS Code asks for the token (a password prompt) when it starts the server.`,
    kept: `${shown(vscode.file)} exists and was left as it is. To connect VS Code, give it this (the token is asked for, not stored):\n\n${vscode.text}`,
  };
  console.log(`
Sovereign MCP is running on the sandbox.

  MCP endpoint   ${mcpUrl}
  Tools (HTTP)   ${base}/tools/{name}
  Health         ${base}/health
  Sandbox ARM    ${sandbox.armUrl}   (fault injection: POST ${sandbox.armUrl}/_sandbox/faults)
  Audit log      ${shown(auditLogFile)}${verbose ? '   (also printed here: --verbose)' : '   (npm start -- --verbose prints it here too)'}

Dev bearer token (${DEV_USER.name}, roles Mcp.Reader + Mcp.Operator, valid 8 hours):

${token}

VS Code: ${vscodeLines[vscode.outcome]}

MCP Inspector (CLI), from this folder:
  npm run --silent inspector -- ${mcpUrl} --transport http --header "Authorization: Bearer $(npm run --silent token)" --method tools/list

Another token: npm run --silent token -- --roles Mcp.Reader [--oid ID] [--name NAME]
Ctrl-C stops everything.
`);
}

/**
 * A folder `infra/scripts/package.sh --dir` made (its build-info.json), outside any folder with a node_modules of its
 * own: Node looks for a package the folder lacks in every folder above it, so inside this repository a package missing
 * one would still run here, and fail only in Azure.
 */
function checkedPackage(given: string): string {
  if (given.trim() === '') throw new Error('--package needs the folder infra/scripts/package.sh --dir made');
  const folder = resolve(given);
  if (!existsSync(resolve(folder, 'build-info.json'))) {
    throw new Error(`--package: ${folder} is not a built package (no build-info.json; infra/scripts/package.sh --dir <folder> makes one)`);
  }
  for (let above = dirname(folder); above !== dirname(above); above = dirname(above)) {
    if (existsSync(resolve(above, 'node_modules'))) {
      throw new Error(
        `--package: ${folder} lies beneath ${above}, which has a node_modules: a module the package lacks would be found there. Build it outside, e.g. infra/scripts/package.sh --dir /tmp/sovereign-mcp-package`,
      );
    }
  }
  return folder;
}
