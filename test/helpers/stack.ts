import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SandboxAdmin } from '../../dev/sandbox/admin-client.js';
import { startSandbox, type Sandbox, type SandboxOptions } from '../../dev/sandbox/index.js';
import { startAppProcess, type AppProcess } from '../../dev/app-process.js';
import { SANDBOX_AUDIENCE, SANDBOX_SCOPE, sandboxAppSettings } from '../../dev/sandbox-settings.js';

/** The sandbox of a stack: the Azure twin and Azurite, and what tests ask of them. */
export interface TestSandbox {
  sandbox: Sandbox;
  /** The sandbox's data folder (state, issuer keys, Azurite data), for dev CLIs under test. */
  dataDir: string;
  /** The sandbox's fault-injection and request-log API. */
  admin: SandboxAdmin;
  /** A sandbox-signed delegated (user) access token for the app's API. */
  token(options?: { roles?: string[]; oid?: string; name?: string; acrs?: string[]; groups?: string[]; extra?: Record<string, unknown> }): Promise<string>;
  stop(): Promise<void>;
}

/** A sandbox and the Function app on it. */
export interface TestStack extends TestSandbox {
  app: AppProcess;
  baseUrl: string;
  mcpUrl: string;
}

export const DEV_OID = '11111111-2222-4333-8444-555555555555';

/**
 * The real thing on loopback: the Azure twin and Azurite in this process's children, and the Function app on the
 * local host in its own process, configured exactly as `npm start` configures it. No mocks. `faults` are in place
 * before the app starts (it fetches the issuer's keys and a token in the background as it starts).
 */
export async function startTestStack(appEnv: Record<string, string> = {}, options: SandboxChoices = {}): Promise<TestStack> {
  const base = await startTestSandbox(options);
  try {
    return await startAppOn(base, appEnv);
  } catch (error) {
    await base.stop();
    throw error;
  }
}

/** What a test may ask of its sandbox: faults in place before the app starts, and Azurite's request log. */
export type SandboxChoices = Pick<SandboxOptions, 'faults' | 'recordStorageRequests'>;

/**
 * How every test sandbox starts: first RSA keys from a folder where they are made once (dev/sandbox/kept-keys.ts), and
 * storage in memory (nothing outlives a test's sandbox, and Azurite spends less CPU than writing it to disk).
 */
export const TEST_SANDBOX_OPTIONS = { tlsDir: '.sandbox/tls', keptKeysDir: '.sandbox/keys', storageInMemory: true } as const;

/** The sandbox alone (its `stop` removes its data folder too). */
export async function startTestSandbox(options: SandboxChoices = {}): Promise<TestSandbox> {
  const dataDir = mkdtempSync(join(tmpdir(), 'sovereign-mcp-test-'));
  const sandbox = await startSandbox({ dataDir, ...TEST_SANDBOX_OPTIONS, ...options });
  return {
    sandbox,
    dataDir,
    admin: new SandboxAdmin(sandbox.armUrl),
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
      await sandbox.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * The Function app on `base`'s sandbox, with `appEnv` on top of the sandbox's settings: the stack it returns is
 * `base` with that app, and its `stop` stops the app, then `base`.
 */
export async function startAppOn(base: TestSandbox, appEnv: Record<string, string>): Promise<TestStack> {
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
