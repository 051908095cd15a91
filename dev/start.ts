import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { startSandbox, type Sandbox } from './sandbox/index.js';
import { startAppProcess, type AppProcess } from './app-process.js';
import { trustSandboxOrRelaunch } from './sandbox/relaunch.js';
import { DEV_USER, SANDBOX_AUDIENCE, SANDBOX_DIR, SANDBOX_PORTS, SANDBOX_SCOPE, sandboxAppSettings } from './sandbox-settings.js';
import { runtimeFile } from './runtime-file.js';

/**
 * `npm start`: the Function app on the local host at http://127.0.0.1:7071 (PORT overrides), backed by the
 * sandbox (Azure twin + Azurite) unless real Azure settings are given (AZURE_SUBSCRIPTION_ID set), in which
 * case the app runs against Azure with the environment's settings and no sandbox.
 */
const port = Number(process.env.PORT ?? 7071);
const realAzure = Boolean(process.env.AZURE_SUBSCRIPTION_ID);

if (realAzure || (await trustSandboxOrRelaunch(resolve(SANDBOX_DIR, 'tls')))) {
  let sandbox: Sandbox | undefined;
  let app: AppProcess | undefined;
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    console.log('\nStopping…');
    await app?.stop();
    await sandbox?.close();
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
    app = await startAppProcess(env, { port, echo: true });
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
      mkdirSync(SANDBOX_DIR, { recursive: true });
      writeFileSync(
        runtimeFile(),
        JSON.stringify({ issuer: sandbox.issuer, tenantId: sandbox.tenantId, audience: SANDBOX_AUDIENCE, mcpUrl, auditContainerUrl: sandbox.auditContainerUrl, vaultUrl: sandbox.vaultUrl, anchorTableEndpoint: sandbox.tableEndpoint }, null, 2),
      );
      printBanner(mcpUrl, token, sandbox);
    } else {
      console.log(`\nSovereign MCP is running against Azure.\n  MCP endpoint: ${mcpUrl}\n  Callers need an Entra ID access token for ${process.env.AUTH_AUDIENCE ?? 'AUTH_AUDIENCE'}.\n`);
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

function printBanner(mcpUrl: string, token: string, sandbox: Sandbox): void {
  const vscode = { servers: { 'sovereign-mcp': { type: 'http', url: mcpUrl, headers: { Authorization: `Bearer ${token}` } } } };
  console.log(`
Sovereign MCP is running on the sandbox.

  MCP endpoint   ${mcpUrl}
  Tools (HTTP)   ${mcpUrl.replace(/\/mcp$/, '')}/tools/{name}
  Health         ${mcpUrl.replace(/\/mcp$/, '')}/health
  Sandbox ARM    ${sandbox.armUrl}   (fault injection: POST ${sandbox.armUrl}/_sandbox/faults)

Dev bearer token (${DEV_USER.name}, roles Mcp.Reader + Mcp.Operator, valid 8 hours):

${token}

VS Code (.vscode/mcp.json):

${JSON.stringify(vscode, null, 2)}

Another token: npm run --silent token -- --roles Mcp.Reader [--oid ID] [--name NAME]
Ctrl-C stops everything.
`);
}
