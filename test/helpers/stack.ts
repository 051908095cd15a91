import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SandboxAdmin } from '../../dev/sandbox/admin-client.js';
import { startSandbox, type FaultSpec, type Sandbox } from '../../dev/sandbox/index.js';
import { startAppProcess, type AppProcess } from '../../dev/app-process.js';
import { SANDBOX_AUDIENCE, SANDBOX_SCOPE, sandboxAppSettings } from '../../dev/sandbox-settings.js';

export interface TestStack {
  sandbox: Sandbox;
  /** The sandbox's data folder (state, issuer keys, Azurite data), for dev CLIs under test. */
  dataDir: string;
  /** The sandbox's fault-injection and request-log API. */
  admin: SandboxAdmin;
  app: AppProcess;
  baseUrl: string;
  mcpUrl: string;
  /** A sandbox-signed delegated (user) access token for the app's API. */
  token(options?: { roles?: string[]; oid?: string; name?: string; acrs?: string[]; groups?: string[]; extra?: Record<string, unknown> }): Promise<string>;
  stop(): Promise<void>;
}

export const DEV_OID = '11111111-2222-4333-8444-555555555555';

/**
 * The real thing on loopback: the Azure twin and Azurite in this process's children, and the Function app on the
 * local host in its own process, configured exactly as `npm start` configures it. No mocks. `faults` are in place
 * before the app starts (it fetches the issuer's keys and a token in the background as it starts).
 */
export async function startTestStack(appEnv: Record<string, string> = {}, options: { faults?: FaultSpec[] } = {}): Promise<TestStack> {
  const dataDir = mkdtempSync(join(tmpdir(), 'sovereign-mcp-test-'));
  const sandbox = await startSandbox({ dataDir, tlsDir: '.sandbox/tls', ...(options.faults ? { faults: options.faults } : {}) });
  let app: AppProcess;
  try {
    app = await startAppProcess({ ...sandboxAppSettings(sandbox), ...appEnv });
  } catch (error) {
    await sandbox.close();
    throw error;
  }
  return {
    sandbox,
    dataDir,
    admin: new SandboxAdmin(sandbox.armUrl),
    app,
    baseUrl: app.url,
    mcpUrl: `${app.url}/mcp`,
    token: ({ roles = ['Mcp.Reader'], oid = DEV_OID, name = 'Test User', acrs, groups, extra } = {}) =>
      sandbox.mintToken({
        audience: SANDBOX_AUDIENCE,
        tenantId: sandbox.tenantId,
        oid,
        name,
        roles,
        extra: { scp: SANDBOX_SCOPE, ...(acrs ? { acrs } : {}), ...(groups ? { groups } : {}), ...extra },
      }),
    async stop() {
      await app.stop();
      await sandbox.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Another app on `base`'s sandbox, configured as `startTestStack` configures one with `appEnv`: the stack it returns
 * is `base` with that app in place of base's, and its `stop` stops that app, then `base`.
 */
export async function startAppOn(base: TestStack, appEnv: Record<string, string>): Promise<TestStack> {
  const app = await startAppProcess({ ...sandboxAppSettings(base.sandbox), ...appEnv });
  return {
    ...base,
    app,
    baseUrl: app.url,
    mcpUrl: `${app.url}/mcp`,
    async stop() {
      await app.stop();
      await base.stop();
    },
  };
}
