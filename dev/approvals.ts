import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ROLES } from '../shared/auth/roles.js';
import { runtimeFile, type RuntimeInfo } from './runtime-file.js';
import { trustSandboxOrRelaunch } from './sandbox/relaunch.js';
import { loadOrCreateIssuerKey, mintToken } from './sandbox/issuer.js';
import { DEV_USER, SANDBOX_DIR, SANDBOX_SCOPE } from './sandbox-settings.js';

/**
 * `npm run --silent approvals -- revoke --all | revoke <id> [--url <base>]`: an incident response. Calls the app's
 * POST /approvals/revoke as a holder of Mcp.Approver and prints what was revoked, left expired or found changed,
 * as JSON. The token: AZURE_ACCESS_TOKEN if set (against Azure:
 * `az account get-access-token --resource <app id uri> --query accessToken -o tsv`, signed in as an approver);
 * otherwise, against the sandbox `npm start` runs, a dev token it mints as `npm run token` does.
 */
const usage = 'usage: npm run --silent approvals -- revoke --all | revoke <approval id> [--url <app base URL>]';

function fail(message: string, code = 2): never {
  console.error(message);
  process.exit(code);
}

let parsed;
try {
  parsed = parseArgs({ allowPositionals: true, options: { all: { type: 'boolean' }, url: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
} catch (error) {
  fail(`${(error as Error).message}\n${usage}`);
}
const { values, positionals } = parsed;
if (values.help) {
  console.log(usage);
  process.exit(0);
}
const [command, id, ...extra] = positionals;
if (command !== 'revoke' || extra.length > 0 || (values.all ? id !== undefined : id === undefined)) fail(usage);

const runtimePath = process.env.SANDBOX_RUNTIME_FILE ?? runtimeFile();
const runtime: Partial<RuntimeInfo> | undefined = existsSync(runtimePath) ? (JSON.parse(readFileSync(runtimePath, 'utf8')) as Partial<RuntimeInfo>) : undefined;
const base = (values.url ?? runtime?.mcpUrl?.replace(/\/mcp$/, ''))?.replace(/\/+$/, '');
if (!base) fail(`No --url, and no running sandbox (${runtimePath}): start it with npm start, or pass --url https://<your app>.\n${usage}`);

async function accessToken(): Promise<string> {
  if (process.env.AZURE_ACCESS_TOKEN) return process.env.AZURE_ACCESS_TOKEN;
  // A dev token only for the sandbox `npm start` runs (the app its runtime file names), never for another URL.
  if (!runtime?.issuer || !runtime.audience || !runtime.tenantId || base !== runtime.mcpUrl?.replace(/\/mcp$/, '')) {
    fail(
      'Set AZURE_ACCESS_TOKEN to an access token for the app, signed in as an Mcp.Approver holder:\n' +
        '  export AZURE_ACCESS_TOKEN=$(az account get-access-token --resource <app id uri, e.g. api://<client id>> --query accessToken -o tsv)',
    );
  }
  const key = await loadOrCreateIssuerKey(process.env.SANDBOX_DATA_DIR ?? resolve(SANDBOX_DIR, 'data'));
  return mintToken(key, {
    issuer: runtime.issuer,
    audience: runtime.audience,
    tenantId: runtime.tenantId,
    oid: DEV_USER.oid,
    name: DEV_USER.name,
    roles: [ROLES.approver],
    ttlSeconds: 300,
    extra: { scp: SANDBOX_SCOPE },
  });
}

// Against the sandbox, its HTTPS certificate must be trusted from the start (NODE_EXTRA_CA_CERTS).
const carryOn = process.env.AZURE_ACCESS_TOKEN ? true : await trustSandboxOrRelaunch(resolve(SANDBOX_DIR, 'tls'));
if (carryOn) {
  const response = await fetch(`${base}/approvals/revoke`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${await accessToken()}` },
    body: JSON.stringify(values.all ? { all: true } : { id }),
  }).catch((error: unknown) => fail(`Could not reach ${base}: ${(error as Error).message}`, 1));
  const text = await response.text();
  if (!response.ok) {
    let message = text.slice(0, 500);
    try {
      message = (JSON.parse(text) as { error_description?: string }).error_description ?? message;
    } catch {
      // not JSON: shown as it came
    }
    fail(`Revoke refused (HTTP ${response.status}): ${message}`, 1);
  }
  console.log(text);
}
