import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AccessToken } from '@azure/identity';
import { startSandbox, type Sandbox } from '../../dev/sandbox/index.js';
import { sandboxAppSettings } from '../../dev/sandbox-settings.js';
import { TEST_SANDBOX_OPTIONS } from '../helpers/stack.js';
import { loadSettings } from '../../shared/config/settings.js';
import { createAzureClients, type AzureClients } from '../../shared/azure/clients.js';
import { ToolError } from '../../shared/pipeline/errors.js';

/**
 * The second line behind name validation, on its own: the app's real Azure SDK clients, given names that validation
 * would have refused (as if a validation bug let them through), against the real twin and Azurite. Each request the
 * SDK builds is compared with the one resource the client was made for, and refused before it is sent
 * (names.url-mismatch); the audit container cannot even get a client (policy.app-state). The logs prove nothing left.
 */
let sandbox: Sandbox;
let dataDir: string;
let azure: AzureClients;
let recordsEndpoint: string;
/** Scopes the credential was asked for: a refused request must not even fetch a token. */
const tokenScopes: string[] = [];

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'address-check-'));
  sandbox = await startSandbox({ dataDir, ...TEST_SANDBOX_OPTIONS, recordStorageRequests: true });
  const settings = loadSettings(sandboxAppSettings(sandbox));
  const credential = {
    async getToken(scopes: string | string[]): Promise<AccessToken> {
      tokenScopes.push(...[scopes].flat());
      return { token: await sandbox.mintStorageToken(), expiresOnTimestamp: Date.now() + 3_000_000 };
    },
  };
  azure = createAzureClients(settings, credential);
  recordsEndpoint = `${sandbox.blobUrl}/stddrrecordsprod/`;
}, 120_000);

afterAll(async () => {
  await sandbox?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

async function refusal(work: () => Promise<unknown>): Promise<ToolError> {
  const error = await work().then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(ToolError);
  return error as ToolError;
}

/** The app's own account and audit container, from AUDIT_CONTAINER_URL's path-style URL. */
const appAccount = () => new URL(sandbox.auditContainerUrl).pathname.split('/').filter(Boolean);

describe('data-plane clients address exactly one resource', () => {
  it('reads a blob it was made for', async () => {
    const blob = await azure.blob(recordsEndpoint, 'case-files', '2025/CASE-10482/summary.txt');
    expect((await blob.downloadToBuffer()).toString('utf8')).toContain('CASE-10482');
  });

  it.each([
    ['../ingest/batch-2025-03/manifest.json'],
    ['../../stddrmcpapp/audit/x.jsonl'],
    ['a/../../ingest/x'],
    ['..%2Fingest%2Fx'],
    ['%2e%2e/ingest/x'],
    ['%252e%252e/x'],
    ['x/'],
    ['a//b'],
    ['100%'],
  ])('refuses %j before any request or token', async (name) => {
    await sandbox.clearAzuriteRequests();
    tokenScopes.length = 0;
    const blob = await azure.blob(recordsEndpoint, 'case-files', name);
    for (const attempt of [() => blob.downloadToBuffer(), () => blob.uploadData(Buffer.from('forged')), () => blob.exists()]) {
      const error = await refusal(attempt);
      expect(error.code).toBe('forbidden');
      expect(error.details.rule).toBe('names.url-mismatch');
      expect(error.message).toMatch(/nothing was sent to Azure/);
    }
    expect(tokenScopes).toEqual([]);
    expect(await sandbox.azuriteRequests()).toEqual([]);
  });

  it('a container client cannot list another container, nor a blob client list its container', async () => {
    await sandbox.clearAzuriteRequests();
    const container = await azure.blobContainer(recordsEndpoint, '../stddrmcpapp/audit');
    expect((await refusal(() => container.listBlobsFlat().next())).details.rule).toBe('names.url-mismatch');
    // An endpoint that is not a plain URL (here: one that climbs into the app's account) gets no client at all.
    expect((await refusal(() => azure.blobAccount(`${sandbox.blobUrl}/stddrrecordsprod/../stddrmcpapp/`))).details.rule).toBe('names.url-mismatch');
    expect(await sandbox.azuriteRequests()).toEqual([]);
  });

  it("gives no client for the app's own audit container, whatever the spelling", async () => {
    const [app, audit] = appAccount();
    for (const make of [
      () => azure.blobContainer(`${sandbox.blobUrl}/${app}`, audit!),
      () => azure.blob(`${sandbox.blobUrl}/${app}/`, audit!.toUpperCase(), 'writer.jsonl'),
      () => azure.blobAccount(`${sandbox.blobUrl}/${app}/${audit}`),
      () => azure.blobAccount(`${sandbox.blobUrl}/${app}/`),
    ]) {
      const error = await refusal(make);
      expect(error.details.rule).toBe('policy.app-state');
    }
  });
});

/**
 * The Resource Manager and Key Vault SDKs resolve a bare '.' or '..' name while building the URL, before any policy
 * sees it; those names are refused by validation (resource group names may not end with '.', key names hold no '.').
 */
describe('Resource Manager and Key Vault requests must have canonical paths', () => {
  it.each([['../rg-ddr-keys-uks'], ['a/../b'], ['%2e%2e'], ['rg%2Fx'], ['rg\\..\\x']])('refuses group %j before any request', async (name) => {
    const before = (await fetchTwinLog()).length;
    const groups = (await azure.resources()).resourceGroups;
    const error = await refusal(() => groups.get(name));
    expect(error.details.rule).toBe('names.url-mismatch');
    expect((await fetchTwinLog()).length).toBe(before);
  });

  it.each([['../keys'], ['%2e%2e'], ['k/../../secrets/x'], ['k%2F..%2Fx']])('refuses key %j before any request', async (name) => {
    const before = (await fetchTwinLog()).length;
    const keys = await azure.keys();
    const error = await refusal(() => keys.getKey(name));
    expect(error.details.rule).toBe('names.url-mismatch');
    expect((await fetchTwinLog()).length).toBe(before);
  });
});

async function fetchTwinLog(): Promise<unknown[]> {
  const { SandboxAdmin } = await import('../../dev/sandbox/admin-client.js');
  return new SandboxAdmin(sandbox.armUrl).requests();
}
