import type { TokenCredential } from '@azure/identity';
import type { SecretClient } from '@azure/keyvault-secrets';
import { ContainerClient } from '@azure/storage-blob';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createAnchorTable, type AnchorTable } from '../shared/audit/anchors.js';
import { createAuditKeyring, type AuditKeyring } from '../shared/audit/audit-key.js';
import { verifyAuditTrail, type FailureKind } from '../shared/audit/verify.js';
import { pseudonymOf } from '../shared/audit/pseudonym.js';
import { GUID } from '../shared/domain/caller.js';
import { mintStorageTokenFromDataDir, mintVaultTokenFromDataDir } from './sandbox/identity.js';
import { AUDIT_KEY_SECRET_NAME, AUDIT_PSEUDONYM_KEY_SECRET_NAME } from './sandbox/seed.js';
import { runtimeFile, type RuntimeInfo } from './runtime-file.js';
import { SANDBOX_DIR } from './sandbox-settings.js';
import { trustSandboxOrRelaunch } from './sandbox/relaunch.js';

/**
 * `npm run --silent audit -- verify` checks the whole audit trail: every writer folder must be registered (outside
 * the container, authenticated with the audit key), every record authentic (HMAC with the Key Vault key version it
 * names) and in sequence, and every chain at least as long as its anchored head. It prints the record count and
 * each failure by name (forged writer, emptied writer, edited, inserted, deleted, truncated); exit code 0 intact,
 * 1 broken, 2 could not check. `npm run --silent audit -- tail [N]` prints the last N records (default 20) as JSON
 * lines. Stored records name people only by pseudonym: `npm run --silent audit -- pseudonym <oid>` prints an Entra
 * object id's pseudonym under each enabled version of the pseudonym key (one line each, `<pseudonym> <key version>`),
 * and `npm run --silent audit -- search <oid>` prints the stored records where that person is the caller or the
 * approver. Against Azure set AUDIT_CONTAINER_URL, AUDIT_ANCHOR_TABLE_ENDPOINT and KEY_VAULT_URL (and
 * AUDIT_KEY_SECRET_NAME, AUDIT_PSEUDONYM_KEY_SECRET_NAME, AUDIT_ANCHOR_TABLE_NAME if not the defaults); signed-in
 * `az` credentials are used, and need read access to the container, the table and the secrets. Otherwise it reads
 * the sandbox that `npm start` runs.
 */
const [command = 'verify', countArg] = process.argv.slice(2);
const usage = 'usage: npm run --silent audit -- verify | tail [N] | pseudonym <oid> | search <oid>';

interface AuditSources {
  container: ContainerClient;
  anchors: AnchorTable;
  keyring: AuditKeyring;
  /**
   * The pseudonym key's secret: its versions are listed, each read through `pseudonyms`. Its client is made only by
   * the commands that list them (pseudonym, search), so verify and tail do not load the Key Vault secrets SDK.
   */
  pseudonymSecret: { client: () => Promise<SecretClient>; name: string };
  pseudonyms: AuditKeyring;
}

async function openSources(): Promise<AuditSources> {
  const env = process.env;
  if (env.AUDIT_CONTAINER_URL) {
    if (!env.AUDIT_ANCHOR_TABLE_ENDPOINT || !env.KEY_VAULT_URL)
      throw new Error('With AUDIT_CONTAINER_URL also set AUDIT_ANCHOR_TABLE_ENDPOINT and KEY_VAULT_URL (the app settings of the same names).');
    // Loaded only against Azure: against the sandbox, the CLI signs its own tokens (a second less to start).
    const { DefaultAzureCredential } = await import('@azure/identity');
    const credential = new DefaultAzureCredential();
    const vaultUrl = env.KEY_VAULT_URL;
    const pseudonymSecretName = env.AUDIT_PSEUDONYM_KEY_SECRET_NAME || 'audit-pseudonym-key';
    return {
      pseudonymSecret: { client: async () => new (await import('@azure/keyvault-secrets')).SecretClient(vaultUrl, credential), name: pseudonymSecretName },
      pseudonyms: createAuditKeyring({ vaultUrl: env.KEY_VAULT_URL, secretName: pseudonymSecretName, verifyChallengeResource: true }, credential, 300_000),
      container: new ContainerClient(env.AUDIT_CONTAINER_URL, credential),
      anchors: createAnchorTable({ tableEndpoint: env.AUDIT_ANCHOR_TABLE_ENDPOINT, tableName: env.AUDIT_ANCHOR_TABLE_NAME || 'auditanchors' }, credential),
      keyring: createAuditKeyring(
        { vaultUrl: env.KEY_VAULT_URL, secretName: env.AUDIT_KEY_SECRET_NAME || 'audit-hmac-key', verifyChallengeResource: true },
        credential,
        300_000,
      ),
    };
  }
  const file = env.SANDBOX_RUNTIME_FILE ?? runtimeFile();
  if (!existsSync(file)) throw new Error(`No AUDIT_CONTAINER_URL, and no running sandbox (${file}): start it with npm start, or set AUDIT_CONTAINER_URL.`);
  const runtime = JSON.parse(readFileSync(file, 'utf8')) as RuntimeInfo;
  if (!runtime.auditContainerUrl || !runtime.vaultUrl || !runtime.anchorTableEndpoint)
    throw new Error(`${file} names no audit container, vault or anchor table; restart npm start.`);
  const dataDir = env.SANDBOX_DATA_DIR ?? resolve(SANDBOX_DIR, 'data');
  const vaultUrl = runtime.vaultUrl;
  const [storage, vault] = await Promise.all([mintStorageTokenFromDataDir(dataDir), mintVaultTokenFromDataDir(dataDir)]);
  // The sandbox identity's tokens: Key Vault's audience for the vault, Storage's for blobs and tables.
  const credential: TokenCredential = {
    getToken: async (scopes) => ({
      token: [scopes].flat().some((scope) => scope.includes('vault')) ? vault : storage,
      expiresOnTimestamp: Date.now() + 3_000_000,
    }),
  };
  return {
    pseudonymSecret: {
      client: async () => new (await import('@azure/keyvault-secrets')).SecretClient(vaultUrl, credential, { disableChallengeResourceVerification: true }),
      name: AUDIT_PSEUDONYM_KEY_SECRET_NAME,
    },
    pseudonyms: createAuditKeyring(
      { vaultUrl: runtime.vaultUrl, secretName: AUDIT_PSEUDONYM_KEY_SECRET_NAME, verifyChallengeResource: false },
      credential,
      300_000,
    ),
    container: new ContainerClient(runtime.auditContainerUrl, credential),
    anchors: createAnchorTable({ tableEndpoint: runtime.anchorTableEndpoint, tableName: 'auditanchors' }, credential),
    keyring: createAuditKeyring({ vaultUrl: runtime.vaultUrl, secretName: AUDIT_KEY_SECRET_NAME, verifyChallengeResource: false }, credential, 300_000),
  };
}

const KIND_LABEL: Record<FailureKind, string> = {
  'forged-writer': 'FORGED WRITER',
  'emptied-writer': 'EMPTIED WRITER',
  edited: 'EDITED',
  inserted: 'INSERTED',
  deleted: 'DELETED',
  truncated: 'TRUNCATED',
};

/** Every writer's records in stored order (its blob parts in name order, lines in order). */
async function readWriters(container: ContainerClient): Promise<Map<string, unknown[]>> {
  const writers = new Map<string, unknown[]>();
  const names: string[] = [];
  // Every blob is read: anything in the container that is not a writer's chain is reported, never skipped.
  for await (const blob of container.listBlobsFlat()) names.push(blob.name);
  names.sort();
  for (const name of names) {
    const writer = name.split('/')[0] ?? name;
    const text = (await container.getBlobClient(name).downloadToBuffer()).toString('utf8');
    const lines = text.split('\n').filter((line) => line.trim() !== '');
    const records = writers.get(writer) ?? [];
    for (const line of lines) {
      try {
        records.push(JSON.parse(line));
      } catch {
        records.push(line);
      }
    }
    writers.set(writer, records);
  }
  return writers;
}

/** An oid's pseudonym under every enabled version of the pseudonym key, newest first. */
async function pseudonymsOf(sources: AuditSources, oid: string): Promise<{ version: string; pseudonym: string }[]> {
  const { name } = sources.pseudonymSecret;
  const client = await sources.pseudonymSecret.client();
  const versions: { version: string; created: number }[] = [];
  for await (const properties of client.listPropertiesOfSecretVersions(name)) {
    if (properties.enabled !== false && properties.version) versions.push({ version: properties.version, created: properties.createdOn?.getTime() ?? 0 });
  }
  versions.sort((a, b) => b.created - a.created);
  const found: { version: string; pseudonym: string }[] = [];
  for (const { version } of versions) {
    const key = await sources.pseudonyms.version(version);
    if (key) found.push({ version, pseudonym: pseudonymOf(key.key, oid) });
  }
  if (found.length === 0) throw new Error(`The pseudonym key secret '${name}' has no enabled version: without it no stored record can be linked to a person.`);
  return found;
}

// Against the sandbox, its HTTPS certificate must be trusted from the start (NODE_EXTRA_CA_CERTS).
const carryOn = process.env.AUDIT_CONTAINER_URL ? true : await trustSandboxOrRelaunch(resolve(SANDBOX_DIR, 'tls'));

if (carryOn)
  try {
    if (!['verify', 'tail', 'pseudonym', 'search'].includes(command)) throw new Error(usage);
    if ((command === 'pseudonym' || command === 'search') && !GUID.test(countArg ?? ''))
      throw new Error(`${command} needs an Entra object id (a GUID). ${usage}`);
    const sources = await openSources();
    if (command === 'pseudonym') {
      for (const { version, pseudonym } of await pseudonymsOf(sources, countArg!)) console.log(`${pseudonym} ${version}`);
    } else if (command === 'search') {
      const byVersion = new Map((await pseudonymsOf(sources, countArg!)).map(({ version, pseudonym }) => [version, pseudonym]));
      const writers = await readWriters(sources.container);
      const all = [...writers.values()].flat() as { time?: string; pseudonymKeyVersion?: string; callerPseudonym?: string; approverPseudonym?: string }[];
      const theirs = all.filter((record) => {
        const pseudonym = byVersion.get(record.pseudonymKeyVersion ?? '');
        return pseudonym !== undefined && (record.callerPseudonym === pseudonym || record.approverPseudonym === pseudonym);
      });
      theirs.sort((a, b) => String(a.time).localeCompare(String(b.time)));
      for (const record of theirs) console.log(JSON.stringify(record));
    } else if (command === 'verify') {
      const writers = await readWriters(sources.container);
      const anchors = await sources.anchors.list();
      const { count, failures } = await verifyAuditTrail({ writers, anchors, key: (version) => sources.keyring.version(version) });
      if (failures.length === 0) {
        console.log(
          `OK: ${count} records in ${writers.size} chain(s); every chain is intact, authenticated and at least as long as its anchor (${anchors.length} writer(s) registered).`,
        );
        // Which build wrote each chain, as its (authenticated) registration says.
        for (const anchor of anchors)
          console.log(`  writer ${anchor.writer}: package ${anchor.packageDigest ?? 'not recorded (registered before writers recorded it)'}`);
      } else {
        const broken = new Set(failures.map((failure) => failure.writer)).size;
        console.log(`BROKEN: ${count} records in ${writers.size} chain(s); ${failures.length} failure(s) in ${broken} writer(s):`);
        for (const item of failures) {
          console.log(`  ${KIND_LABEL[item.kind]}  writer ${item.writer}${item.position ? `, record ${item.position}` : ''}: ${item.reason}`);
        }
        process.exitCode = 1;
      }
    } else {
      const writers = await readWriters(sources.container);
      const count = countArg === undefined ? 20 : Number(countArg);
      if (!Number.isInteger(count) || count < 1) throw new Error(`N must be a positive whole number. ${usage}`);
      const all = [...writers.values()].flat() as { time?: string }[];
      all.sort((a, b) => String(a.time).localeCompare(String(b.time)));
      for (const record of all.slice(-count)) console.log(JSON.stringify(record));
    }
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    process.exitCode = 2;
  }
