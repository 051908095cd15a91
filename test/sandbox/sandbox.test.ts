// The sandbox must look like Azure to the real SDK clients: these tests drive it with them, no mocks.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ComputeManagementClient } from '@azure/arm-compute';
import { MonitorClient } from '@azure/arm-monitor';
import { ResourceManagementClient } from '@azure/arm-resources';
import { StorageManagementClient } from '@azure/arm-storage';
import { TableClient } from '@azure/data-tables';
import { ManagedIdentityCredential } from '@azure/identity';
import { KeyClient } from '@azure/keyvault-keys';
import { SecretClient } from '@azure/keyvault-secrets';
import { BlobServiceClient, ContainerClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, jwtVerify, type JSONWebKeySet } from 'jose';
import { SandboxAdmin } from '../../dev/sandbox/admin-client.js';
import type { LoggedRequest } from '../../dev/sandbox/request-log.js';
import { mintIdentityToken } from '../../dev/sandbox/identity.js';
import { mintStorageTokenFromDataDir, startSandbox, type Sandbox } from '../../dev/sandbox/index.js';
import { IssuerKeyStore } from '../../dev/sandbox/issuer-keys.js';
import { loadOrCreateIssuerKey } from '../../dev/sandbox/issuer.js';
import {
  accountKey,
  ALLOWED_RESOURCE_GROUPS,
  APP_INSIGHTS_APPLICATION_ID,
  APP_INSIGHTS_INSTRUMENTATION_KEY,
  APP_STORAGE_ACCOUNT,
  AUDIT_CONTAINER,
  AUDIT_KEY_SECRET_NAME,
  AUDIT_PSEUDONYM_KEY_SECRET_NAME,
  DEV_USERS,
  IDENTITY_RESOURCE_GROUP,
  LARGE_BLOB_BYTES,
  POISONED,
  SEED_BLOBS,
} from '../../dev/sandbox/seed.js';
import { AZURITE_STOP_GRACE_MS, startAzurite } from '../../dev/sandbox/azurite.js';
import { ensureTls } from '../../dev/sandbox/tls.js';

const TLS_DIR = '.sandbox/tls';
const ARM_SCOPE = 'https://management.azure.com/.default';

let dataDir: string;
let sandbox: Sandbox;
let credential: ManagedIdentityCredential;
let admin: SandboxAdmin;

async function start(): Promise<void> {
  sandbox = await startSandbox({ dataDir, tlsDir: TLS_DIR, recordStorageRequests: true });
  process.env['IDENTITY_ENDPOINT'] = sandbox.identityEndpoint;
  process.env['IDENTITY_HEADER'] = sandbox.identityHeader;
  credential = new ManagedIdentityCredential({ clientId: sandbox.identityClientId });
  admin = new SandboxAdmin(sandbox.armUrl);
}

const resources = (options: { maxRetries?: number } = {}): ResourceManagementClient =>
  new ResourceManagementClient(credential, sandbox.subscriptionId, {
    endpoint: sandbox.armUrl,
    credentialScopes: [ARM_SCOPE],
    ...(options.maxRetries !== undefined && { retryOptions: { maxRetries: options.maxRetries } }),
  });
const storage = (options: { maxRetries?: number } = {}): StorageManagementClient =>
  new StorageManagementClient(credential, sandbox.subscriptionId, {
    endpoint: sandbox.armUrl,
    ...(options.maxRetries !== undefined && { retryOptions: { maxRetries: options.maxRetries } }),
  });

async function collect<T>(iter: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iter) out.push(item);
  return out;
}

async function rejection(p: Promise<unknown>): Promise<{ name?: string; code?: string; statusCode?: number }> {
  try {
    await p;
  } catch (e) {
    return e as { name?: string; code?: string; statusCode?: number };
  }
  throw new Error('expected the call to fail');
}

/**
 * Starts a call and aborts it once the twin has logged a request `reached` picks out — however long a busy machine
 * takes to send it (a fixed abort timer could fire before the request left) — then returns what the call rejected
 * with and how long it took to end after the abort.
 */
async function abortOnceReached(
  start: (signal: AbortSignal) => Promise<unknown>,
  reached: (request: LoggedRequest) => boolean,
): Promise<{ err: { name?: string; code?: string; statusCode?: number }; endedAfterMs: number }> {
  const abort = new AbortController();
  let settled = false;
  const ended = rejection(start(abort.signal)).finally(() => (settled = true));
  const deadline = Date.now() + 60_000;
  while (!settled && !(await admin.requests()).some(reached)) {
    if (Date.now() > deadline) throw new Error('the request never reached the twin within 60 s');
    await new Promise((r) => setTimeout(r, 50));
  }
  const aborted = performance.now();
  abort.abort();
  const err = await ended;
  return { err, endedAfterMs: performance.now() - aborted };
}

beforeAll(async () => {
  await ensureTls(TLS_DIR);
  dataDir = mkdtempSync(join(tmpdir(), 'sandbox-test-'));
  await start();
});

afterAll(async () => {
  await sandbox?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('managed identity and issuer', () => {
  it('issues ARM tokens to ManagedIdentityCredential({clientId})', async () => {
    const token = await credential.getToken(ARM_SCOPE);
    const claims = decodeJwt(token.token);
    expect(claims.aud).toBe('https://management.azure.com');
    expect(claims.iss).toBe(`https://sts.windows.net/${sandbox.tenantId}/`);
    expect(claims['oid']).toBe(sandbox.identityPrincipalId);
    expect(claims['appid']).toBe(sandbox.identityClientId);
    expect(token.expiresOnTimestamp).toBeGreaterThan(Date.now() + 50 * 60_000);
  });

  it('rejects a wrong identity header and an unknown client id', async () => {
    const url = `${sandbox.identityEndpoint}?api-version=2019-08-01&resource=https://vault.azure.net`;
    expect((await fetch(`${url}&client_id=${sandbox.identityClientId}`, { headers: { 'X-IDENTITY-HEADER': 'wrong' } })).status).toBe(401);
    const res = await fetch(`${url}&client_id=00000000-0000-0000-0000-000000000000`, { headers: { 'X-IDENTITY-HEADER': sandbox.identityHeader } });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain(sandbox.identityClientId);
  });

  it('publishes OpenID configuration and a JWKS that verifies minted tokens', async () => {
    const config = (await (await fetch(`${sandbox.issuer}/.well-known/openid-configuration`)).json()) as { issuer: string; jwks_uri: string };
    expect(config.issuer).toBe(sandbox.issuer);
    expect(config.jwks_uri).toBe(sandbox.jwksUri);
    const keys = (await (await fetch(config.jwks_uri)).json()) as JSONWebKeySet;
    const token = await sandbox.mintToken({
      audience: 'api://sovereign-mcp',
      tenantId: sandbox.tenantId,
      oid: 'u-1',
      name: 'Priya Shah',
      roles: ['Estate.Read'],
    });
    const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(keys), { issuer: sandbox.issuer, audience: 'api://sovereign-mcp' });
    expect(protectedHeader).toMatchObject({ alg: 'RS256', typ: 'JWT', kid: (await sandbox.issuerKeys.current()).kid });
    expect(payload).toMatchObject({ sub: 'u-1', tid: sandbox.tenantId, roles: ['Estate.Read'], ver: '2.0' });
  });
});

describe('Resource Manager', () => {
  it('lists every resource group across pages and gets one', async () => {
    await admin.clearRequests();
    const groups = await collect(resources().resourceGroups.list());
    expect(groups.length).toBeGreaterThanOrEqual(12);
    expect(groups.map((g) => g.name)).toEqual(expect.arrayContaining(sandbox.allowedResourceGroups));
    const pages = (await admin.requests()).filter((r) => /resourcegroups$/i.test(r.path));
    expect(pages.length).toBeGreaterThan(1);
    const group = await resources().resourceGroups.get('RG-DDR-RECORDS-PROD-UKS');
    expect(group).toMatchObject({ name: 'rg-ddr-records-prod-uks', location: 'uksouth' });
    expect(group.tags).toMatchObject({ costCentre: 'CC-4101', dataClassification: 'OFFICIAL-SENSITIVE' });
  });

  it('carries poisoned tags on allowed groups and accounts', async () => {
    const { groupWithInjectedTag: g, accountWithHiddenTag: a } = POISONED;
    expect(sandbox.allowedResourceGroups).toEqual(expect.arrayContaining([g.group, a.group, POISONED.hiddenInstructionBlob.group, POISONED.largeBlob.group]));
    const group = await resources().resourceGroups.get(g.group);
    expect(group.tags?.[g.instructionTag]).toMatch(/ignore all previous instructions/i);
    expect(group.tags?.[g.rtlOverrideTag]).toContain('\u202E');
    const account = await storage().storageAccounts.getProperties(a.group, a.account);
    expect(account.tags?.[a.zeroWidthTag]).toContain('\u200B');
    expect(account.tags?.[a.zeroWidthTag]?.replace(/\u200B/g, '')).toMatch(/ignore previous instructions/i);
  });

  it('answers a missing group with 404 ResourceGroupNotFound', async () => {
    const err = await rejection(resources().resourceGroups.get('rg-does-not-exist'));
    expect(err).toMatchObject({ name: 'RestError', statusCode: 404, code: 'ResourceGroupNotFound' });
  });

  it('lists generic resources with a resourceType filter', async () => {
    const vaults = await collect(resources().resources.list({ filter: "resourceType eq 'Microsoft.KeyVault/vaults'" }));
    expect(vaults.map((v) => v.name)).toEqual([sandbox.vaultName]);
    const inGroup = await collect(resources().resources.listByResourceGroup('rg-ddr-casework-prod-uks'));
    expect(inGroup.map((r) => r.type)).toEqual(expect.arrayContaining(['Microsoft.Storage/storageAccounts', 'Microsoft.Compute/virtualMachines']));
  });

  it('requires a token and an api-version', async () => {
    const url = `${sandbox.armUrl}/subscriptions/${sandbox.subscriptionId}/resourcegroups`;
    const anonymous = await fetch(`${url}?api-version=2021-04-01`);
    expect(anonymous.status).toBe(401);
    expect(((await anonymous.json()) as { error: { code: string } }).error.code).toBe('AuthenticationFailed');
    const { token } = await credential.getToken(ARM_SCOPE);
    const noVersion = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
    expect(noVersion.status).toBe(400);
    expect(((await noVersion.json()) as { error: { code: string } }).error.code).toBe('MissingApiVersionParameter');
  });

  it('creates and deletes a group (delete is a long-running operation)', async () => {
    const created = await resources().resourceGroups.createOrUpdate('rg-ddr-temp-uks', { location: 'uksouth', tags: { owner: 'tests' } });
    expect(created.properties?.provisioningState).toBe('Succeeded');
    await resources().resourceGroups.beginDeleteAndWait('rg-ddr-temp-uks', { updateIntervalInMs: 100 });
    expect(await resources().resourceGroups.checkExistence('rg-ddr-temp-uks')).toMatchObject({ body: false });
  });
});

describe('Storage resource provider', () => {
  it('lists accounts and shows customer-managed key settings', async () => {
    const accounts = await collect(storage().storageAccounts.list());
    expect(accounts.length).toBeGreaterThanOrEqual(5);
    const cmk = accounts.filter((a) => a.encryption?.keySource === 'Microsoft.Keyvault');
    expect(cmk.length).toBeGreaterThanOrEqual(3);
    expect(accounts.some((a) => !['uksouth', 'ukwest'].includes(a.location))).toBe(true);
    const account = await storage().storageAccounts.getProperties('rg-ddr-records-prod-uks', 'stddrrecordsprod');
    expect(account.encryption?.keySource).toBe('Microsoft.Keyvault');
    expect(account.encryption?.keyVaultProperties?.keyName).toBe('cmk-records');
    expect(account.encryption?.keyVaultProperties?.keyVaultUri).toBe(sandbox.vaultUrl);
    expect(account.primaryEndpoints?.blob).toBe(`${sandbox.blobUrl}/stddrrecordsprod/`);
    const inGroup = await collect(storage().storageAccounts.listByResourceGroup('rg-ddr-archive-prod-ukw'));
    expect(inGroup.map((a) => a.name)).toEqual(['stddrarchiveprod']);
  });

  it('creates an account through the LRO, updates it and deletes it', async () => {
    const client = storage();
    expect((await client.storageAccounts.checkNameAvailability({ name: 'stddrtemp01', type: 'Microsoft.Storage/storageAccounts' })).nameAvailable).toBe(true);
    const created = await client.storageAccounts.beginCreateAndWait(
      'rg-ddr-records-dev-uks',
      'stddrtemp01',
      { location: 'uksouth', kind: 'StorageV2', sku: { name: 'Standard_LRS' }, minimumTlsVersion: 'TLS1_2' },
      { updateIntervalInMs: 100 },
    );
    expect(created).toMatchObject({ name: 'stddrtemp01', provisioningState: 'Succeeded', minimumTlsVersion: 'TLS1_2' });
    const updated = await client.storageAccounts.update('rg-ddr-records-dev-uks', 'stddrtemp01', {
      tags: { owner: 'tests' },
      encryption: { keySource: 'Microsoft.Keyvault', keyVaultProperties: { keyName: 'cmk-records', keyVaultUri: sandbox.vaultUrl } },
    });
    expect(updated.tags).toEqual({ owner: 'tests' });
    expect(updated.encryption?.keyVaultProperties?.currentVersionedKeyIdentifier).toMatch(new RegExp(`^${sandbox.vaultUrl}keys/cmk-records/[0-9a-f]{32}$`));
    const taken = await rejection(
      client.storageAccounts.beginCreateAndWait('rg-ddr-web-prod-uks', 'stddrtemp01', {
        location: 'uksouth',
        kind: 'StorageV2',
        sku: { name: 'Standard_LRS' },
      }),
    );
    expect(taken).toMatchObject({ statusCode: 409, code: 'StorageAccountAlreadyTaken' });
    const monitor = new MonitorClient(credential, sandbox.subscriptionId, { endpoint: sandbox.armUrl });
    const since = new Date(Date.now() - 60_000).toISOString();
    const audit = await collect(monitor.activityLogs.list(`eventTimestamp ge '${since}' and resourceUri eq '${created.id}'`));
    expect(audit.map((e) => e.operationName?.value)).toContain('Microsoft.Storage/storageAccounts/write');
    expect(audit[0]?.caller).toBe(sandbox.identityPrincipalId);
    await client.storageAccounts.delete('rg-ddr-records-dev-uks', 'stddrtemp01');
    const gone = await rejection(client.storageAccounts.getProperties('rg-ddr-records-dev-uks', 'stddrtemp01'));
    expect(gone).toMatchObject({ statusCode: 404, code: 'ResourceNotFound' });
  });

  it('rejects an invalid account name', async () => {
    const err = await rejection(
      storage().storageAccounts.beginCreateAndWait('rg-ddr-records-dev-uks', 'Bad_Name', {
        location: 'uksouth',
        kind: 'StorageV2',
        sku: { name: 'Standard_LRS' },
      }),
    );
    expect(err).toMatchObject({ statusCode: 400, code: 'AccountNameInvalid' });
  });
});

describe('Key Vault keys', () => {
  const keys = (): KeyClient => new KeyClient(sandbox.vaultUrl, credential, { disableChallengeResourceVerification: true });

  it('lists keys, gets one with its rotation policy and versions', async () => {
    const listed = await collect(keys().listPropertiesOfKeys());
    expect(listed.map((k) => k.name)).toEqual(expect.arrayContaining(['cmk-records', 'legacy-signing-2019', 'cmk-retired-2022']));
    expect(listed.find((k) => k.name === 'cmk-retired-2022')?.enabled).toBe(false);
    const key = await keys().getKey('cmk-records');
    expect(key.keyType).toBe('RSA');
    expect(key.key?.n?.length).toBe(384);
    expect(key.key?.d).toBeUndefined();
    expect(key.id).toBe(`${sandbox.vaultUrl}keys/cmk-records/${key.properties.version}`);
    const policy = await keys().getKeyRotationPolicy('cmk-records');
    expect(policy.lifetimeActions).toEqual(expect.arrayContaining([{ action: 'Rotate', timeAfterCreate: 'P90D' }]));
    expect(policy.expiresIn).toBe('P1Y');
    const versions = await collect(keys().listPropertiesOfKeyVersions('cmk-records'));
    expect(versions.length).toBe(3);
  });

  it('pages key listings with maxresults', async () => {
    const pages = await collect(keys().listPropertiesOfKeys().byPage({ maxPageSize: 2 }));
    expect(pages.length).toBeGreaterThan(1);
    expect(pages.flat().length).toBeGreaterThanOrEqual(5);
  });

  it('creates, rotates and sets a rotation policy', async () => {
    const client = keys();
    const created = await client.createRsaKey('cmk-test', { keySize: 3072 });
    expect(created.key?.n?.length).toBe(384);
    await client.updateKeyRotationPolicy('cmk-test', { lifetimeActions: [{ action: 'Rotate', timeAfterCreate: 'P30D' }], expiresIn: 'P90D' });
    const rotated = await client.rotateKey('cmk-test');
    expect(rotated.properties.version).not.toBe(created.properties.version);
    // A new version has new key material of the same size (from the committed pool: dev/sandbox/created-keys.ts).
    expect(rotated.key?.n?.length).toBe(384);
    expect(Buffer.from(rotated.key!.n!).equals(Buffer.from(created.key!.n!))).toBe(false);
    expect(rotated.properties.expiresOn?.getTime()).toBeGreaterThan(Date.now() + 80 * 86400_000);
    expect((await collect(client.listPropertiesOfKeyVersions('cmk-test'))).length).toBe(2);
  });

  it('creates keys of every size asked, including one the committed pool has none of', async () => {
    for (const [keySize, bytes] of [
      [4096, 512],
      [2048, 256],
    ] as const) {
      const created = await keys().createRsaKey(`sized-${keySize}`, { keySize });
      expect(created.key?.n?.length).toBe(bytes);
    }
  });

  it('answers an unknown key with 404 KeyNotFound', async () => {
    expect(await rejection(keys().getKey('no-such-key'))).toMatchObject({ statusCode: 404, code: 'KeyNotFound' });
  });
});

describe('Key Vault secrets', () => {
  const secrets = (): SecretClient => new SecretClient(sandbox.vaultUrl, credential, { disableChallengeResourceVerification: true });

  it('seeds the audit HMAC key (32 random bytes), and a new version is a rotation the old version survives', async () => {
    const seeded = await secrets().getSecret(AUDIT_KEY_SECRET_NAME);
    expect(Buffer.from(seeded.value!, 'base64')).toHaveLength(32);
    expect(seeded.properties.id).toBe(`${sandbox.vaultUrl}secrets/${AUDIT_KEY_SECRET_NAME}/${seeded.properties.version}`);
    const rotated = await secrets().setSecret(AUDIT_KEY_SECRET_NAME, Buffer.alloc(32, 7).toString('base64'));
    expect(rotated.properties.version).not.toBe(seeded.properties.version);
    expect((await secrets().getSecret(AUDIT_KEY_SECRET_NAME)).value).toBe(rotated.value);
    expect((await secrets().getSecret(AUDIT_KEY_SECRET_NAME, { version: seeded.properties.version! })).value).toBe(seeded.value);
    const versions = await collect(secrets().listPropertiesOfSecretVersions(AUDIT_KEY_SECRET_NAME));
    expect(versions.map((v) => v.version).sort()).toEqual([seeded.properties.version, rotated.properties.version].sort());
    // Listings never carry values, as in Azure.
    expect(versions.every((v) => !('value' in v))).toBe(true);
  });

  it('seeds the audit pseudonym key apart from the audit key (32 other random bytes)', async () => {
    const [pseudonymKey, auditKey] = await Promise.all([secrets().getSecret(AUDIT_PSEUDONYM_KEY_SECRET_NAME), secrets().getSecret(AUDIT_KEY_SECRET_NAME)]);
    expect(Buffer.from(pseudonymKey.value!, 'base64')).toHaveLength(32);
    expect(pseudonymKey.value).not.toBe(auditKey.value);
  });

  it('refuses a disabled version (403) and answers an unknown secret with 404 SecretNotFound', async () => {
    const made = await secrets().setSecret('to-disable', 'x');
    await secrets().updateSecretProperties('to-disable', made.properties.version!, { enabled: false });
    expect(await rejection(secrets().getSecret('to-disable'))).toMatchObject({ statusCode: 403 });
    expect(await rejection(secrets().getSecret('no-such-secret'))).toMatchObject({ statusCode: 404, code: 'SecretNotFound' });
  });
});

describe('activity log and compute', () => {
  it('returns the last 14 days of activity across pages', async () => {
    await admin.clearRequests();
    const to = new Date();
    const from = new Date(to.getTime() - 14 * 86400_000);
    const monitor = new MonitorClient(credential, sandbox.subscriptionId, { endpoint: sandbox.armUrl });
    const events = await collect(monitor.activityLogs.list(`eventTimestamp ge '${from.toISOString()}' and eventTimestamp le '${to.toISOString()}'`));
    expect(events.length).toBeGreaterThanOrEqual(40);
    expect(events[0]?.eventTimestamp).toBeInstanceOf(Date);
    expect(events.some((e) => e.status?.value === 'Failed')).toBe(true);
    expect(events.some((e) => /ignore previous instructions/i.test(e.description ?? ''))).toBe(true);
    expect(events.some((e) => /[\u{E0000}-\u{E007F}]/u.test(e.description ?? ''))).toBe(true);
    expect((await admin.requests()).filter((r) => r.path.toLowerCase().endsWith('/values')).length).toBeGreaterThan(1);
    const oneGroup = await collect(monitor.activityLogs.list(`eventTimestamp ge '${from.toISOString()}' and resourceGroupName eq 'rg-ddr-web-prod-uks'`));
    expect(oneGroup.length).toBeGreaterThan(0);
    expect(oneGroup.every((e) => e.resourceGroupName === 'rg-ddr-web-prod-uks')).toBe(true);
  });

  it('lists virtual machines with their power state', async () => {
    const compute = new ComputeManagementClient(credential, sandbox.subscriptionId, { endpoint: sandbox.armUrl });
    const vms = await collect(compute.virtualMachines.listAll({ statusOnly: 'true' }));
    expect(vms.length).toBe(4);
    const app02 = vms.find((vm) => vm.name === 'vm-ddr-case-app02');
    expect(app02?.hardwareProfile?.vmSize).toBe('Standard_D4s_v5');
    expect(app02?.storageProfile?.osDisk?.osType).toBe('Linux');
    expect(app02?.instanceView?.statuses?.map((s) => s.code)).toContain('PowerState/deallocated');
  });
});

describe('blob storage over OAuth', () => {
  it('lists containers and reads a seeded blob with the managed identity', async () => {
    const service = new BlobServiceClient(`${sandbox.blobUrl}/stddrrecordsprod`, credential);
    const containers = (await collect(service.listContainers())).map((c) => c.name);
    expect(containers).toEqual(expect.arrayContaining(['case-files', 'ingest']));
    const blob = await service.getContainerClient('case-files').getBlobClient('retention-schedule.csv').downloadToBuffer();
    expect(blob.toString('utf8')).toContain('Subject access requests');
  });

  it('holds the poisoned, binary and large blobs the shielding tests rely on', async () => {
    const read = async (ref: { account: string; container: string; name: string }) => {
      const blob = new BlobServiceClient(`${sandbox.blobUrl}/${ref.account}`, credential).getContainerClient(ref.container).getBlobClient(ref.name);
      return { body: await blob.downloadToBuffer(), type: (await blob.getProperties()).contentType };
    };
    const hidden = (await read(POISONED.hiddenInstructionBlob)).body.toString('utf8');
    expect(hidden).toMatch(/[\u{E0000}-\u{E007F}]/u);
    expect(hidden.replace(/[\u{E0000}-\u{E007F}]/gu, '')).not.toMatch(/ignore|instruction|delete/i);
    const binary = await read(POISONED.binaryBlob);
    expect(binary.type).toBe('application/octet-stream');
    expect(binary.body.length).toBeGreaterThan(200);
    expect(binary.body.toString('utf8')).toContain('\uFFFD');
    const large = await read(POISONED.largeBlob);
    expect(large.body.length).toBeGreaterThanOrEqual(LARGE_BLOB_BYTES);
    expect(large.body.length).toBeLessThan(LARGE_BLOB_BYTES + 1024);
  });

  it('is never mistaken for whatever else listens on its port: Azurite must say it listens there', async () => {
    // A stranger holds the blob port Azurite is told to use (as another program may hold the fixed ports `npm start`
    // asks for). Connecting would succeed; the start must fail instead, naming the taken port.
    const stranger = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => stranger.listen(0, '127.0.0.1', resolve));
    const taken = (stranger.address() as AddressInfo).port;
    try {
      const failure = await startAzurite({
        tls: { certPath: `${TLS_DIR}/cert.pem`, keyPath: `${TLS_DIR}/key.pem` },
        blobPort: taken,
        accounts: [{ name: 'stprobe', key: 'a2V5' }],
      }).then(
        async (azurite) => {
          await azurite.stop();
          return new Error('Azurite started on a port another process held');
        },
        (error: unknown) => error as Error,
      );
      expect(failure.message).toContain(`azurite exited with code 1 before listening (blob on 127.0.0.1:${taken}, table on 127.0.0.1:any port)`);
      expect(failure.message).toContain('EADDRINUSE');
    } finally {
      await new Promise((resolve) => stranger.close(resolve));
    }
  });
});

describe('fault injection', () => {
  it('a 429 is retried by the SDK and the call then succeeds', async () => {
    await admin.clearRequests();
    await admin.addFault({ kind: '429', path: 'resourcegroups', count: 1 });
    const group = await resources().resourceGroups.get('rg-ddr-web-prod-uks');
    expect(group.name).toBe('rg-ddr-web-prod-uks');
    const statuses = (await admin.requests()).filter((r) => r.path.toLowerCase().includes('resourcegroups')).map((r) => r.status);
    expect(statuses).toEqual([429, 200]);
  });

  it('a 500 surfaces as InternalServerError when retries are off', async () => {
    await admin.addFault({ service: 'arm', kind: '500', path: '/storageaccounts\\/stddrcasework$/', count: 0 });
    try {
      const err = await rejection(storage({ maxRetries: 0 }).storageAccounts.getProperties('rg-ddr-casework-prod-uks', 'stddrcasework'));
      expect(err).toMatchObject({ statusCode: 500, code: 'InternalServerError' });
    } finally {
      await admin.clearFaults();
    }
  });

  it('a reset connection is retried by the SDK', async () => {
    await admin.clearRequests();
    await admin.addFault({ service: 'arm', kind: 'reset', method: 'GET', path: '/resourcegroups/rg-ddr-dr-ukw', count: 1 });
    expect((await resources().resourceGroups.get('rg-ddr-dr-ukw')).location).toBe('ukwest');
    expect((await admin.requests()).map((r) => r.status)).toEqual([0, 200]);
  });

  it('a hang ends when the caller aborts', async () => {
    await admin.clearRequests();
    await admin.addFault({ kind: 'hang', path: 'virtualmachines', count: 1 });
    try {
      const compute = new ComputeManagementClient(credential, sandbox.subscriptionId, { endpoint: sandbox.armUrl });
      const { err, endedAfterMs } = await abortOnceReached(
        (abortSignal) => collect(compute.virtualMachines.listAll({ abortSignal })),
        (r) => r.path.toLowerCase().includes('/virtualmachines'),
      );
      expect(err.name).toBe('AbortError');
      // The hang never answers: only the abort ended the call (a busy machine may take a few seconds to act on it).
      expect(endedAfterMs).toBeLessThan(10_000);
      expect((await admin.requests()).map((r) => r.status)).toContain(0);
    } finally {
      await admin.clearFaults();
    }
  });
});

describe("the app's own storage account", () => {
  it('is seeded CMK-encrypted in the identity group, tagged, and listed by the admin state API', async () => {
    const account = await storage().storageAccounts.getProperties(IDENTITY_RESOURCE_GROUP, APP_STORAGE_ACCOUNT);
    expect(account).toMatchObject({ kind: 'StorageV2', provisioningState: 'Succeeded' });
    expect(account.encryption?.keySource).toBe('Microsoft.Keyvault');
    expect(account.tags?.['purpose']).toBe('sovereign-mcp-state');
    expect(account.primaryEndpoints?.table).toBe(`${sandbox.tableEndpoint}/`);
    expect(sandbox.tableEndpoint).toBe(`${sandbox.tableUrl}/${APP_STORAGE_ACCOUNT}`);
    const stored = (await admin.storageAccounts()).find((a) => a.name === APP_STORAGE_ACCOUNT);
    expect(stored).toMatchObject({
      resourceGroup: IDENTITY_RESOURCE_GROUP,
      location: 'uksouth',
      provisioningState: 'Succeeded',
      tags: { purpose: 'sovereign-mcp-state' },
    });
    expect(stored?.encryption).toMatchObject({ keySource: 'Microsoft.Keyvault', keyvaultproperties: { keyname: 'cmk-records' } });
  });

  it('stores approvals in Table storage over OAuth, with ETag concurrency', async () => {
    await sandbox.clearAzuriteRequests();
    const table = new TableClient(sandbox.tableEndpoint, 'approvals', credential);
    await table.createTable();
    await table.createEntity({ partitionKey: 'approval', rowKey: 'req-1', status: 'pending' });
    const pending = await table.getEntity<{ status: string }>('approval', 'req-1');
    expect(pending.status).toBe('pending');
    expect(pending.etag).toMatch(/^W\/"/);
    const approved = await table.updateEntity({ partitionKey: 'approval', rowKey: 'req-1', status: 'approved' }, 'Replace', { etag: pending.etag });
    expect(approved.etag).not.toBe(pending.etag);
    // A second approver working from the stale read loses the race.
    const stale = await rejection(table.updateEntity({ partitionKey: 'approval', rowKey: 'req-1', status: 'rejected' }, 'Merge', { etag: pending.etag }));
    expect(stale).toMatchObject({ statusCode: 412 });
    expect((await table.getEntity<{ status: string }>('approval', 'req-1')).status).toBe('approved');
    const seen = (await sandbox.azuriteRequests()).filter((r) => r.service === 'table');
    expect(seen.map((r) => [r.method, r.status])).toEqual([
      ['POST', 201], // create table
      ['POST', 204], // create entity
      ['GET', 200],
      ['PUT', 204], // replace, If-Match
      ['PATCH', 412], // merge, stale If-Match
      ['GET', 200],
    ]);
    expect(seen.every((r) => r.url.startsWith(`${sandbox.tableEndpoint}/`) && r.authScheme === 'Bearer')).toBe(true);
  });

  it('refuses table requests without credentials', async () => {
    const res = await fetch(`${sandbox.tableEndpoint}/approvals()`, { headers: { accept: 'application/json;odata=nometadata', 'x-ms-version': '2019-02-02' } });
    expect(res.status).toBe(403);
  });
});

describe('sandbox sign-in (OpenID Connect)', () => {
  const redirectUri = 'http://localhost:7071/approvals/callback';
  const params = (overrides: Record<string, string> = {}): URLSearchParams =>
    new URLSearchParams({
      client_id: sandbox.appClientId,
      redirect_uri: redirectUri,
      response_type: 'id_token',
      response_mode: 'form_post',
      scope: 'openid profile',
      nonce: 'n-0S6_WzA2Mj',
      state: 'af0ifjsldkj',
      prompt: 'login',
      ...overrides,
    });
  const decode = (s: string): string => s.replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n)));
  const hiddenFields = (html: string): [string, string][] =>
    [...html.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)">/g)].map((m) => [decode(m[1] as string), decode(m[2] as string)]);

  it('is advertised as the authorization endpoint', async () => {
    const config = (await (await fetch(`${sandbox.issuer}/.well-known/openid-configuration`)).json()) as { authorization_endpoint: string };
    expect(config.authorization_endpoint).toBe(sandbox.authorizeUrl);
    expect(sandbox.authorizeUrl).toBe(`${sandbox.armUrl}/${sandbox.tenantId}/oauth2/v2.0/authorize`);
  });

  it('lets a dev user pick themselves and posts a verifiable ID token back to the app', async () => {
    const page = await fetch(`${sandbox.authorizeUrl}?${params()}`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toContain("form-action 'self'");
    const html = await page.text();
    expect(html).toContain('<html lang="en-GB">');
    expect(html).toContain('<title>Sandbox sign-in — Department for Digital Records</title>');
    for (const user of Object.values(DEV_USERS)) expect(html).toMatch(new RegExp(`<button [^>]*>Sign in as ${user.name}</button>`));
    const form = /<form method="post" action="([^"]*)">/.exec(html);
    expect(form?.[1]).toBe(new URL(sandbox.authorizeUrl).pathname);
    const carried = hiddenFields(html);
    expect(Object.fromEntries(carried)).toEqual(Object.fromEntries(params()));

    // The sign-in's times must fall between just before it was posted and just after its token was checked.
    const before = Math.floor(Date.now() / 1000);
    const posted = await fetch(new URL(form?.[1] as string, sandbox.armUrl), { method: 'POST', body: new URLSearchParams([...carried, ['user', 'approver']]) });
    expect(posted.status).toBe(200);
    expect(posted.headers.get('content-security-policy')).toContain('form-action http://localhost:7071');
    const back = await posted.text();
    expect(/<form method="post" action="([^"]*)" id="form-post">/.exec(back)?.[1]).toBe(redirectUri);
    expect(back).toMatch(/<button type="submit">Continue<\/button>/);
    expect(back).toMatch(/<script nonce="[^"]+">document\.getElementById\('form-post'\)\.submit\(\);<\/script>/);
    const fields = Object.fromEntries(hiddenFields(back));
    expect(fields['state']).toBe('af0ifjsldkj');

    const keys = (await (await fetch(sandbox.jwksUri)).json()) as JSONWebKeySet;
    const { payload, protectedHeader } = await jwtVerify(fields['id_token'] as string, createLocalJWKSet(keys), {
      issuer: sandbox.issuer,
      audience: sandbox.appClientId,
    });
    expect(protectedHeader.kid).toBe((await sandbox.issuerKeys.current()).kid);
    const after = Math.ceil(Date.now() / 1000);
    expect(payload).toMatchObject({
      tid: sandbox.tenantId,
      oid: DEV_USERS.approver.oid,
      name: 'Dana Approver',
      preferred_username: 'dana.approver@ddr.gov.uk',
      roles: ['Mcp.Approver'],
      nonce: 'n-0S6_WzA2Mj',
      ver: '2.0',
    });
    expect(payload.sub).toMatch(/^[\w-]{43}$/);
    expect(payload.sub).not.toBe(DEV_USERS.approver.oid);
    for (const time of [payload['auth_time'] as number, payload.iat as number]) {
      expect(time).toBeGreaterThanOrEqual(before);
      expect(time).toBeLessThanOrEqual(after);
    }
    expect(payload.nbf).toBe(payload.iat);
    expect((payload.exp as number) - (payload.iat as number)).toBe(3600);
  });

  it('gives each user a stable pairwise subject', async () => {
    const signIn = async (user: string): Promise<string> => {
      const back = await (await fetch(sandbox.authorizeUrl, { method: 'POST', body: new URLSearchParams([...params(), ['user', user]]) })).text();
      return decodeJwt(Object.fromEntries(hiddenFields(back))['id_token'] as string).sub as string;
    };
    expect(await signIn('secondOperator')).toBe(await signIn('secondOperator'));
    expect(await signIn('secondOperator')).not.toBe(await signIn('engineer'));
  });

  it('answers a silent sign-in (prompt=none) with login_required, since there is never a session', async () => {
    const back = await (await fetch(`${sandbox.authorizeUrl}?${params({ prompt: 'none' })}`)).text();
    expect(Object.fromEntries(hiddenFields(back))).toMatchObject({ error: 'login_required', state: 'af0ifjsldkj' });
    expect(back).not.toContain('id_token');
  });

  it('refuses non-loopback redirects, other clients, other response types and unknown users with 400', async () => {
    const status = async (p: URLSearchParams): Promise<number> => (await fetch(`${sandbox.authorizeUrl}?${p}`)).status;
    expect(await status(params({ redirect_uri: 'https://approvals.example.com/callback' }))).toBe(400);
    expect(await status(params({ redirect_uri: 'http://127.0.0.1.example.com/callback' }))).toBe(400);
    expect(await status(params({ redirect_uri: 'https://[::1]:8443/cb' }))).toBe(200);
    expect(await status(params({ redirect_uri: 'https://127.0.0.1:8443/cb' }))).toBe(200);
    expect(await status(params({ client_id: sandbox.identityClientId }))).toBe(400);
    expect(await status(params({ response_type: 'code' }))).toBe(400);
    const unknown = await fetch(sandbox.authorizeUrl, { method: 'POST', body: new URLSearchParams([...params(), ['user', 'mallory']]) });
    expect(unknown.status).toBe(400);
    expect(await unknown.text()).toContain('AADSTS50034');
    const evil = await fetch(sandbox.authorizeUrl, {
      method: 'POST',
      body: new URLSearchParams([...params({ redirect_uri: 'https://evil.example/cb' }), ['user', 'approver']]),
    });
    expect(evil.status).toBe(400);
    expect(await evil.text()).not.toContain('id_token');
  });
});

describe('storage account creation whose polls fail', () => {
  it('finishes the account server-side when every poll hangs, as Azure does: only the answer is lost', async () => {
    await admin.clearRequests();
    await admin.addFault({ service: 'arm', method: 'GET', path: '/asyncoperations/', kind: 'hang', count: 0 });
    try {
      const client = storage();
      // Aborted once a poll has reached the twin (and hangs there), however long a busy machine takes to get there.
      const { err } = await abortOnceReached(
        (abortSignal) =>
          client.storageAccounts.beginCreateAndWait(
            'rg-ddr-records-dev-uks',
            'stddrstuck01',
            {
              location: 'uksouth',
              kind: 'StorageV2',
              sku: { name: 'Standard_LRS' },
              encryption: { keySource: 'Microsoft.Keyvault', keyVaultProperties: { keyName: 'cmk-records', keyVaultUri: sandbox.vaultUrl } },
            },
            { updateIntervalInMs: 100, abortSignal },
          ),
        (r) => r.method === 'GET' && r.path.includes('/asyncoperations/'),
      );
      expect(err.name).toBe('AbortError');
      const polls = (await admin.requests()).filter((r) => r.method === 'GET' && r.path.includes('/asyncoperations/'));
      expect(polls.length).toBeGreaterThan(0);
      expect(polls.every((r) => r.status === 0)).toBe(true);
      expect(polls[0]?.path).toMatch(
        new RegExp(`^/subscriptions/${sandbox.subscriptionId}/providers/Microsoft\\.Storage/locations/uksouth/asyncoperations/sacreate-`),
      );
      // No poll got through, yet the account is finished (the twin finishes it a moment after the request, as Azure
      // does: polled until then, bounded), with the encryption it was asked for.
      let finished = (await admin.storageAccounts()).find((a) => a.name === 'stddrstuck01');
      for (let tries = 0; tries < 100 && finished?.provisioningState !== 'Succeeded'; tries += 1) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        finished = (await admin.storageAccounts()).find((a) => a.name === 'stddrstuck01');
      }
      expect(finished).toMatchObject({
        provisioningState: 'Succeeded',
        encryption: { keySource: 'Microsoft.Keyvault', keyvaultproperties: { keyname: 'cmk-records' } },
      });
      await client.storageAccounts.delete('rg-ddr-records-dev-uks', 'stddrstuck01');
      expect((await admin.storageAccounts()).map((a) => a.name)).not.toContain('stddrstuck01');
    } finally {
      await admin.clearFaults();
    }
  });

  it('hang-after carries a write out and never answers; reset-after carries it out and drops the connection', async () => {
    const client = storage();
    for (const [kind, name] of [
      ['hang-after', 'stddrlost01'],
      ['reset-after', 'stddrlost02'],
    ] as const) {
      await admin.addFault({ service: 'arm', method: 'PUT', path: `/storageaccounts/${name}`, kind, count: 0 });
      try {
        await admin.clearRequests();
        const { err } = await abortOnceReached(
          (abortSignal) =>
            client.storageAccounts.beginCreateAndWait(
              'rg-ddr-records-dev-uks',
              name,
              { location: 'uksouth', kind: 'StorageV2', sku: { name: 'Standard_LRS' } },
              { abortSignal },
            ),
          (r) => r.method === 'PUT' && r.path.toLowerCase().endsWith(`/storageaccounts/${name}`),
        );
        expect(err.name === 'AbortError' || err.name === 'RestError').toBe(true);
        // The twin logs the request as it arrives and carries it out just after: polled until then, bounded.
        let names = (await admin.storageAccounts()).map((a) => a.name);
        for (let tries = 0; tries < 100 && !names.includes(name); tries += 1) {
          await new Promise((resolve) => setTimeout(resolve, 100));
          names = (await admin.storageAccounts()).map((a) => a.name);
        }
        expect(names).toContain(name);
      } finally {
        await admin.clearFaults();
      }
      await client.storageAccounts.delete('rg-ddr-records-dev-uks', name);
    }
  });

  it('completes the account on the first poll that gets through after a failed one', async () => {
    await admin.addFault({ service: 'arm', method: 'GET', path: '/asyncoperations/', kind: '500', count: 1 });
    const created = await storage().storageAccounts.beginCreateAndWait(
      'rg-ddr-records-dev-uks',
      'stddrretry01',
      { location: 'uksouth', kind: 'StorageV2', sku: { name: 'Standard_LRS' } },
      { updateIntervalInMs: 100 },
    );
    expect(created.provisioningState).toBe('Succeeded');
    await storage().storageAccounts.delete('rg-ddr-records-dev-uks', 'stddrretry01');
  });
});

describe('Azurite request evidence', () => {
  it('records a blob download made through the SDK', async () => {
    await sandbox.clearAzuriteRequests();
    expect(await sandbox.azuriteRequests()).toEqual([]);
    const blob = new BlobServiceClient(`${sandbox.blobUrl}/stddrrecordsprod`, credential)
      .getContainerClient('case-files')
      .getBlobClient('2025/CASE-10482/summary.txt');
    expect((await blob.downloadToBuffer()).toString('utf8')).toContain('CASE-10482');
    const seen = await sandbox.azuriteRequests();
    expect(seen).toContainEqual(
      expect.objectContaining({
        service: 'blob',
        method: 'GET',
        url: `${sandbox.blobUrl}/stddrrecordsprod/case-files/2025/CASE-10482/summary.txt`,
        status: 206,
        authScheme: 'Bearer',
      }),
    );
    expect(seen.every((r) => r.service === 'blob')).toBe(true);
  });

  it('holds every answered request, with its status, when read straight after a burst', async () => {
    await sandbox.clearAzuriteRequests();
    const blob = new BlobServiceClient(`${sandbox.blobUrl}/stddrrecordsprod`, credential)
      .getContainerClient('case-files')
      .getBlobClient('2025/CASE-10482/summary.txt');
    await Promise.all(Array.from({ length: 40 }, () => blob.getProperties()));
    const seen = await sandbox.azuriteRequests();
    expect(seen.map((r) => [r.method, r.status])).toEqual(Array.from({ length: 40 }, () => ['HEAD', 200]));
  });
});

describe('app audit container and storage outages', () => {
  const AUDIT_BLOB = '2025/06/01/audit-0001.log';
  const bearer = (token: string) => ({ getToken: async () => ({ token, expiresOnTimestamp: Date.now() + 3_600_000 }) });
  const audit = async (): Promise<ContainerClient> => new ContainerClient(sandbox.auditContainerUrl, bearer(await sandbox.mintStorageToken()));

  it('mints storage tokens shaped like those of the managed-identity endpoint, also from the data dir alone', async () => {
    const mi = decodeJwt((await credential.getToken('https://storage.azure.com/.default')).token);
    const times = ['iat', 'nbf', 'exp'];
    for (const token of [await sandbox.mintStorageToken(), await mintStorageTokenFromDataDir(dataDir)]) {
      const claims = decodeJwt(token);
      expect(Object.keys(claims).sort()).toEqual(Object.keys(mi).sort());
      expect(Object.fromEntries(Object.entries(claims).filter(([k]) => !times.includes(k)))).toEqual(
        Object.fromEntries(Object.entries(mi).filter(([k]) => !times.includes(k))),
      );
      expect(decodeProtectedHeader(token).kid).toBe((await sandbox.issuerKeys.current()).kid);
    }
  });

  it('seeds an empty audit container in the app account that the app identity can append to', async () => {
    expect(sandbox.appBlobEndpoint).toBe(`${sandbox.blobUrl}/${APP_STORAGE_ACCOUNT}`);
    expect(sandbox.auditContainerUrl).toBe(`${sandbox.appBlobEndpoint}/${AUDIT_CONTAINER}`);
    const container = await audit();
    expect(await collect(container.listBlobsFlat())).toEqual([]);
    const blob = container.getAppendBlobClient(AUDIT_BLOB);
    await blob.create();
    await blob.appendBlock('entry 1\n', 8);
    const cli = new ContainerClient(sandbox.auditContainerUrl, bearer(await mintStorageTokenFromDataDir(dataDir)));
    expect((await cli.getBlobClient(AUDIT_BLOB).downloadToBuffer()).toString('utf8')).toBe('entry 1\n');
  });

  it('hangs blob and table requests while storage is paused and answers once resumed', async () => {
    const blob = (await audit()).getBlobClient(AUDIT_BLOB);
    const table = new TableClient(sandbox.tableEndpoint, 'approvals', credential);
    await table.createTable();
    sandbox.pauseStorage();
    sandbox.pauseStorage();
    try {
      const started = performance.now();
      const [blobErr, tableErr] = await Promise.all([
        rejection(blob.downloadToBuffer(undefined, undefined, { abortSignal: AbortSignal.timeout(1000) })),
        rejection(table.getEntity('p', 'r', { abortSignal: AbortSignal.timeout(1000) })),
      ]);
      // They hung until the abort (not refused at once), and the abort ended them (a busy machine may take seconds).
      expect(performance.now() - started).toBeGreaterThanOrEqual(990);
      expect(performance.now() - started).toBeLessThan(10_000);
      expect(blobErr.name).toBe('AbortError');
      expect(tableErr.name).toBe('AbortError');
    } finally {
      sandbox.resumeStorage();
      sandbox.resumeStorage();
    }
    expect((await blob.downloadToBuffer(undefined, undefined, { abortSignal: AbortSignal.timeout(5000) })).toString('utf8')).toBe('entry 1\n');
    expect(await rejection(table.getEntity('p', 'r'))).toMatchObject({ statusCode: 404 });
  });

  it('keeps storage in memory when asked (nothing of it in the data folder), and shuts down promptly while paused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sandbox-paused-'));
    let other: Sandbox | undefined;
    try {
      other = await startSandbox({ dataDir: dir, tlsDir: TLS_DIR, storageInMemory: true });
      // Started without recordStorageRequests: asking what storage received is an error that says why, never [].
      await expect(other.azuriteRequests()).rejects.toThrow(/started without recordRequests/);
      // Its seeded blobs are there to read, and none of them on disk; this file's sandbox keeps its own on disk.
      const seeded = SEED_BLOBS[0]!;
      const read = await new BlobServiceClient(`${other.blobUrl}/${seeded.account}`, new StorageSharedKeyCredential(seeded.account, accountKey(seeded.account)))
        .getContainerClient(seeded.container)
        .getBlockBlobClient(seeded.name)
        .downloadToBuffer();
      expect(read).toEqual(Buffer.from(seeded.content));
      expect(readdirSync(join(dir, 'azurite'))).toEqual([]);
      expect(readdirSync(join(dataDir, 'azurite')).length).toBeGreaterThan(0);
      other.pauseStorage();
      const started = performance.now();
      await other.close();
      // Resumed, then stopped by SIGTERM: a stopped process ignoring it would be killed only after the grace period.
      expect(performance.now() - started).toBeLessThan(AZURITE_STOP_GRACE_MS);
    } finally {
      // Closed here too (once only) when a check failed first, so no Azurite outlives the test.
      await other?.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('Application Insights ingestion capture', () => {
  const MONITOR = 'https://monitor.azure.com';
  const envelope = (name: string) => ({
    ver: 1,
    name: 'Microsoft.ApplicationInsights.Event',
    time: new Date().toISOString(),
    iKey: APP_INSIGHTS_INSTRUMENTATION_KEY,
    tags: { 'ai.cloud.role': 'sovereign-mcp' },
    data: { baseType: 'EventData', baseData: { ver: 2, name } },
  });
  const track = (body: string | Buffer, headers: Record<string, string> = {}, path = '/v2.1/track') =>
    fetch(`${sandbox.armUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

  it('is the ingestion endpoint of the connection string', () => {
    expect(sandbox.appInsightsConnectionString).toBe(
      `InstrumentationKey=${APP_INSIGHTS_INSTRUMENTATION_KEY};IngestionEndpoint=${sandbox.armUrl}/;LiveEndpoint=${sandbox.armUrl}/;ApplicationId=${APP_INSIGHTS_APPLICATION_ID}`,
    );
  });

  it('refuses instrumentation-key-only requests and tokens for other audiences with 401', async () => {
    await admin.clearTelemetry();
    const body = JSON.stringify([envelope('anonymous')]);
    const anonymous = await track(body);
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toMatchObject({ itemsAccepted: 0, errors: [{ statusCode: 401 }] });
    const storageToken = await sandbox.mintStorageToken();
    expect((await track(body, { authorization: `Bearer ${storageToken}` })).status).toBe(401);
    expect(await admin.telemetry()).toEqual([]);
  });

  it('accepts a gzipped array of envelopes with an Entra token for https://monitor.azure.com, and clears', async () => {
    await admin.clearTelemetry();
    const token = await mintIdentityToken(await sandbox.issuerKeys.current(), MONITOR);
    const sent = [envelope('approval.requested'), envelope('approval.granted')];
    const res = await track(gzipSync(JSON.stringify(sent)), { authorization: `Bearer ${token}`, 'content-encoding': 'gzip' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ itemsReceived: 2, itemsAccepted: 2, appId: null, errors: [] });
    const stored = await admin.telemetry();
    expect(stored.map(({ receivedAt, ...rest }) => rest)).toEqual(sent);
    expect(stored.every((e) => !Number.isNaN(Date.parse(e.receivedAt)))).toBe(true);
    await admin.clearTelemetry();
    expect(await admin.telemetry()).toEqual([]);
  });

  it('takes newline-delimited envelopes on /v2/track with a managed-identity token for the slash audience', async () => {
    await admin.clearTelemetry();
    // The exporter asks for this scope, so its token's aud keeps the trailing slash.
    const { token } = await credential.getToken(`${MONITOR}//.default`);
    expect(decodeJwt(token).aud).toBe(`${MONITOR}/`);
    const body = [envelope('a'), envelope('b'), envelope('c')].map((e) => JSON.stringify(e)).join('\n');
    const res = await track(body, { authorization: `Bearer ${token}`, 'content-type': 'application/x-json-stream' }, '/v2/track?x=1');
    expect(await res.json()).toMatchObject({ itemsReceived: 3, itemsAccepted: 3 });
    expect((await admin.telemetry()).map((e) => e.data?.baseData?.['name'])).toEqual(['a', 'b', 'c']);
    await admin.clearTelemetry();
  });

  it("is subject to faults on service 'monitor'", async () => {
    await admin.clearTelemetry();
    await admin.addFault({ service: 'monitor', kind: '500', count: 1 });
    const token = await mintIdentityToken(await sandbox.issuerKeys.current(), MONITOR);
    const body = JSON.stringify(envelope('retried'));
    expect((await track(body, { authorization: `Bearer ${token}` })).status).toBe(500);
    expect((await track(body, { authorization: `Bearer ${token}` })).status).toBe(200);
    expect((await admin.telemetry()).map((e) => e.data?.baseData?.['name'])).toEqual(['retried']);
    expect(
      (await admin.requests())
        .filter((r) => r.service === 'monitor')
        .slice(-2)
        .map((r) => r.status),
    ).toEqual([500, 200]);
    await admin.clearTelemetry();
  });
});

describe('persistence', () => {
  it('keeps state across a restart with the same data dir', async () => {
    await resources().resourceGroups.createOrUpdate('rg-ddr-persist-uks', { location: 'uksouth', tags: { owner: 'tests' } });
    await sandbox.close();
    await start();
    const group = await resources().resourceGroups.get('rg-ddr-persist-uks');
    expect(group.tags).toEqual({ owner: 'tests' });
    // URLs stored inside resources follow the listeners to their new ports.
    const account = await storage().storageAccounts.getProperties('rg-ddr-records-prod-uks', 'stddrrecordsprod');
    expect(account.encryption?.keyVaultProperties?.keyVaultUri).toBe(sandbox.vaultUrl);
    const vault = new SecretClient(sandbox.vaultUrl, credential, { disableChallengeResourceVerification: true });
    const auditKeys = await Promise.all([AUDIT_KEY_SECRET_NAME, AUDIT_PSEUDONYM_KEY_SECRET_NAME].map((name) => vault.getSecret(name)));
    await admin.reset();
    expect(await rejection(resources().resourceGroups.get('rg-ddr-persist-uks'))).toMatchObject({ statusCode: 404 });
    // The app's audit key and pseudonym key survive a reset of the estate (and a restart): records sealed with them
    // still verify, and their pseudonyms still match.
    const after = await Promise.all([AUDIT_KEY_SECRET_NAME, AUDIT_PSEUDONYM_KEY_SECRET_NAME].map((name) => vault.getSecret(name)));
    expect(after.map((secret) => ({ version: secret.properties.version, value: secret.value }))).toEqual(
      auditKeys.map((secret) => ({ version: secret.properties.version, value: secret.value })),
    );
  });
});

describe('bulk storage accounts', () => {
  const COUNT = 20_000;
  let bulkDir: string;
  let bulk: Sandbox;
  let headers: Record<string, string>;
  const listUrl = (group: string, query = ''): string =>
    `${bulk.armUrl}/subscriptions/${bulk.subscriptionId}/resourceGroups/${group}/providers/Microsoft.Storage/storageAccounts?api-version=2023-05-01${query}`;
  type AccountPage = {
    value: { name: string; properties: { encryption: { keySource: string; keyvaultproperties?: { keyname: string } } } }[];
    nextLink?: string;
  };

  beforeAll(async () => {
    bulkDir = mkdtempSync(join(tmpdir(), 'sandbox-bulk-'));
    bulk = await startSandbox({ dataDir: bulkDir, tlsDir: TLS_DIR, extraStorageAccounts: COUNT });
    // Minted directly, so this second sandbox never touches the IDENTITY_* settings the other tests use.
    headers = { authorization: `Bearer ${await bulk.mintToken({ audience: 'https://management.azure.com', tenantId: bulk.tenantId, oid: 'bench' })}` };
  });

  afterAll(async () => {
    await bulk?.close();
    rmSync(bulkDir, { recursive: true, force: true });
  });

  it('spreads deterministic accounts over the allowed groups, about 70 % CMK', async () => {
    const group = ALLOWED_RESOURCE_GROUPS[1] as string;
    let url: string | undefined = listUrl(group, '&$top=5000');
    const names: string[] = [];
    let cmk = 0;
    while (url) {
      const body = (await (await fetch(url, { headers })).json()) as AccountPage;
      names.push(...body.value.map((a) => a.name));
      cmk += body.value.filter((a) => a.properties.encryption.keySource === 'Microsoft.Keyvault').length;
      url = body.nextLink;
    }
    const synthetic = names.filter((n) => /^stbulk\d{6}$/.test(n));
    expect(synthetic.length).toBe(Math.ceil((COUNT - 1) / ALLOWED_RESOURCE_GROUPS.length));
    expect(synthetic[0]).toBe('stbulk000002');
    expect(cmk / names.length).toBeGreaterThan(0.6);
    expect(cmk / names.length).toBeLessThan(0.8);
    const one = (await (await fetch(`${listUrl(group).replace('?', '/stbulk000002?')}`, { headers })).json()) as AccountPage['value'][number];
    expect(one.name).toBe('stbulk000002');
  });

  it('answers a page of a group quickly, at the default page size or $top', async () => {
    const group = ALLOWED_RESOURCE_GROUPS[0] as string;
    const first = (await (await fetch(listUrl(group), { headers })).json()) as AccountPage;
    expect(first.value).toHaveLength(10);
    expect(first.nextLink).toContain('%24skiptoken=');
    expect(((await (await fetch(listUrl(group, '&$top=3'), { headers })).json()) as AccountPage).value).toHaveLength(3);
    // CPU time, not wall time: the twin runs in this process, and a busy machine's waits are not its cost.
    const before = process.cpuUsage();
    for (let i = 0; i < 20; i++) await (await fetch(first.nextLink as string, { headers })).json();
    const used = process.cpuUsage(before);
    expect((used.user + used.system) / 1000 / 20).toBeLessThan(50);
  });

  it('keeps them out of state.json, the admin state API and Azurite', async () => {
    expect(readFileSync(join(bulkDir, 'state.json'), 'utf8')).not.toContain('stbulk');
    const stored = await new SandboxAdmin(bulk.armUrl).storageAccounts();
    expect(stored.some((a) => a.name.startsWith('stbulk'))).toBe(false);
    expect(stored.map((a) => a.name)).toContain(APP_STORAGE_ACCOUNT);
    const storageToken = await bulk.mintToken({
      issuer: `https://sts.windows.net/${bulk.tenantId}/`,
      audience: 'https://storage.azure.com',
      tenantId: bulk.tenantId,
      oid: 'bench',
    });
    const res = await fetch(`${bulk.blobUrl}/stbulk000001?comp=list`, { headers: { authorization: `Bearer ${storageToken}`, 'x-ms-version': '2023-11-03' } });
    expect(res.status).toBeGreaterThanOrEqual(400);
  });
});

// Last, because retiring the old key invalidates the token @azure/identity has cached process-wide for `credential`.
describe('issuer signing-key rollover', () => {
  const claims = (audience = 'api://sovereign-mcp') => ({ audience, tenantId: sandbox.tenantId, oid: 'u-rollover' });
  const jwks = async (): Promise<JSONWebKeySet> => (await (await fetch(sandbox.jwksUri)).json()) as JSONWebKeySet;
  const armStatus = async (token: string): Promise<number> =>
    (
      await fetch(`${sandbox.armUrl}/subscriptions/${sandbox.subscriptionId}/resourcegroups?api-version=2021-04-01`, {
        headers: { authorization: `Bearer ${token}` },
      })
    ).status;
  const verify = async (token: string, keys: JSONWebKeySet) =>
    jwtVerify(token, createLocalJWKSet(keys), { issuer: sandbox.issuer, audience: claims().audience });
  let oldKid: string;
  let newKid: string;
  let oldToken: string;
  let oldArmToken: string;

  it('rotation publishes both keys and signs new tokens with the new one', async () => {
    oldKid = (await sandbox.issuerKeys.current()).kid;
    oldToken = await sandbox.mintToken(claims());
    oldArmToken = await sandbox.mintToken(claims('https://management.azure.com'));
    ({ kid: newKid } = await admin.rotateIssuerKey());
    expect(newKid).not.toBe(oldKid);
    const keys = await jwks();
    expect(keys.keys.map((k) => k.kid)).toEqual([oldKid, newKid]);
    const newToken = await sandbox.mintToken(claims());
    expect(decodeProtectedHeader(newToken).kid).toBe(newKid);
    expect((await verify(oldToken, keys)).protectedHeader.kid).toBe(oldKid);
    expect((await verify(newToken, keys)).protectedHeader.kid).toBe(newKid);
    // What the dev token CLI does in its own process: read the key set from disk.
    expect((await loadOrCreateIssuerKey(dataDir)).kid).toBe(newKid);
    // Tokens signed with the previous key are still accepted during the rollover.
    expect(await armStatus(oldArmToken)).toBe(200);
  });

  it('retiring stops publishing the old key, so its tokens no longer verify', async () => {
    expect(await admin.retireOldIssuerKeys()).toEqual({ kids: [newKid] });
    const keys = await jwks();
    expect(keys.keys.map((k) => k.kid)).toEqual([newKid]);
    expect((await rejection(verify(oldToken, keys))).code).toBe('ERR_JWKS_NO_MATCHING_KEY');
    await verify(await sandbox.mintToken(claims()), keys);
    expect(await armStatus(oldArmToken)).toBe(401);
  });

  it('adopts the single-key issuer-key.json of older builds as the first key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sandbox-issuer-'));
    try {
      const legacy = await generateKeyPair('RS256', { extractable: true });
      writeFileSync(join(dir, 'issuer-key.json'), JSON.stringify({ ...(await exportJWK(legacy.privateKey)), kid: 'legacy-kid', alg: 'RS256' }));
      expect((await loadOrCreateIssuerKey(dir)).kid).toBe('legacy-kid');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps at most two keys and follows a rotation written by another process', async () => {
    const other = await IssuerKeyStore.open(dataDir);
    await other.rotate();
    const latest = await other.rotate();
    expect((await jwks()).keys.map((k) => k.kid)).toHaveLength(2);
    expect(decodeProtectedHeader(await sandbox.mintToken(claims())).kid).toBe(latest);
    const armToken = await sandbox.mintToken(claims('https://management.azure.com'));
    expect(await armStatus(armToken)).toBe(200);
  });
});
