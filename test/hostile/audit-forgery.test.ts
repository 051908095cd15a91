// waits: while the audit key cannot be read, calls wait out the store's deadlines (dev/test.sh runs the files marked so beside the others).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { TableClient } from '@azure/data-tables';
import { SecretClient } from '@azure/keyvault-secrets';
import type { ContainerClient } from '@azure/storage-blob';
import canonicalize from 'canonicalize';
import { execFile } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { mintIdentityToken, VAULT_RESOURCE } from '../../dev/sandbox/identity.js';
import { AUDIT_KEY_SECRET_NAME } from '../../dev/sandbox/seed.js';
import { pseudonymsOf } from '../helpers/pseudonyms.js';
import { startTestStack, type TestStack } from '../helpers/stack.js';
import { callTool } from '../helpers/tools.js';
import { auditChain, auditStorage } from './helpers/audit-chain.js';
import { AUDIT_CLI } from '../helpers/cli.js';

/**
 * An audit trail only the app can write. The attacker can append to the audit container (WORM still allows new
 * blobs, and in the sandbox anything goes) and knows the record format, but has no access to the app's audit key
 * in Key Vault. Whatever they plant, cut or change, `audit verify` must fail and name what was done. And the
 * store's readiness probe must not grow the container with every write call.
 */
let stack: TestStack;
let container: ContainerClient;
let anchors: TableClient;
const audit = () => auditChain(stack);

const OPERATOR_OID = 'cccccccc-3333-4333-8333-333333333333';
const TAGS = { owner: 'records-team', costCentre: 'CC-1', environment: 'dev', dataClassification: 'OFFICIAL' };

beforeAll(async () => {
  // The key is re-read every second, so a rotation is picked up within the test. The audit key's secret is down
  // when the app starts (cleared by the first test); the pseudonym key is not (without it nothing is served).
  stack = await startTestStack(
    { AUDIT_KEY_REFRESH_SECONDS: '1' },
    { faults: [{ service: 'vault', path: `/secrets/${AUDIT_KEY_SECRET_NAME}`, kind: '500', count: 0 }] },
  );
  ({ container, anchors } = await auditStorage(stack));
}, 60_000);
afterAll(async () => stack?.stop());

const operator = () => stack.token({ roles: ['Mcp.Operator'], oid: OPERATOR_OID });
const write = async () => callTool(stack, await operator(), 'group_create', { name: 'rg-ddr-records-dev-uks', location: 'uksouth', tags: TAGS });
const read = async () => callTool(stack, await operator(), 'group_get', { name: 'rg-ddr-dr-ukw' });

/** Every blob in the audit container with its text and committed block count. */
async function blobs(): Promise<{ name: string; text: string; blocks: number }[]> {
  const found: { name: string; text: string; blocks: number }[] = [];
  for await (const blob of container.listBlobsFlat()) {
    const client = container.getBlobClient(blob.name);
    const properties = await client.getProperties();
    found.push({ name: blob.name, text: (await client.downloadToBuffer()).toString('utf8'), blocks: properties.blobCommittedBlockCount ?? 0 });
  }
  return found;
}

const linesOf = (text: string) => text.split('\n').filter((line) => line.trim() !== '');

/**
 * The app's one chain blob, once it holds at least `atLeast` records and every record in it is anchored outside the
 * container (polled). A read's record reaches the store up to AUDIT_READ_LINGER_MS after its answer, so a test that
 * waits for one names how many records it expects.
 */
async function settledChain(atLeast = 1): Promise<{ name: string; writer: string; records: Record<string, unknown>[] }> {
  const until = Date.now() + 20_000;
  for (;;) {
    const chain = (await blobs()).filter((blob) => blob.name.endsWith('.jsonl'));
    const only = chain[0];
    if (chain.length === 1 && only) {
      const records = linesOf(only.text).map((line) => JSON.parse(line) as Record<string, unknown>);
      const writer = only.name.split('/')[0]!;
      const anchor = await anchors.getEntity<{ seq: number }>('writer', writer).catch(() => undefined);
      if (records.length >= atLeast && anchor?.seq === records.at(-1)?.['seq']) return { name: only.name, writer, records };
    }
    if (Date.now() > until) throw new Error(`the audit chain did not settle: ${JSON.stringify(chain.map((blob) => blob.name))}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Replaces a blob's content (what someone with delete rights, or a non-WORM container, allows). */
async function replaceBlob(name: string, text: string): Promise<void> {
  const client = container.getAppendBlobClient(name);
  await client.deleteIfExists();
  await client.create();
  if (text.length > 0) await client.appendBlock(text, Buffer.byteLength(text));
}

const asText = (records: unknown[]) => records.map((record) => `${JSON.stringify(record)}\n`).join('');

/** What an attacker computes: SHA-256 over the canonical JSON of everything but the hash, exactly as the app does. */
const attackerHash = (record: Record<string, unknown>) => {
  const { hash: _ignored, ...rest } = record;
  return createHash('sha256')
    .update(canonicalize(rest) ?? '')
    .digest('hex');
};
const rehashed = (record: Record<string, unknown>) => ({ ...record, hash: attackerHash(record) });

/** Tampers with the app's chain, runs `audit verify`, and puts the original back. */
async function verifyTampered(change: (records: Record<string, unknown>[]) => unknown[]): Promise<{ code: number; output: string }> {
  const chain = await settledChain();
  const original = asText(chain.records);
  await replaceBlob(chain.name, asText(change(chain.records.map((record) => ({ ...record })))));
  try {
    return await audit().verify();
  } finally {
    await replaceBlob(chain.name, original);
  }
}

describe('without the audit key', () => {
  it('refuses write calls with audit_unavailable while the key cannot be read, answers reads, and stores nothing unauthenticated', async () => {
    const reading = await read();
    expect(reading.status).toBe(200);
    const writing = await write();
    expect(writing.status).toBe(503);
    expect(writing.error).toMatchObject({ code: 'audit_unavailable', rule: 'audit.store-unavailable' });
    expect((await stack.admin.requests()).some((entry) => entry.service === 'arm' && entry.method === 'PUT')).toBe(false);
    // Nothing was written without the key: no record, no blob.
    expect((await blobs()).filter((blob) => blob.text.length > 0)).toEqual([]);
    await stack.admin.clearFaults();
    // Once the key is back the queued records (the refusal among them) are stored and authenticated.
    const stored = await audit().waitFor((records) => records.some((record) => record.errorCode === 'audit_unavailable'));
    expect(stored.find((record) => record.errorCode === 'audit_unavailable')).toMatchObject({
      callerPseudonym: (await pseudonymsOf(stack))(OPERATOR_OID),
      keyVersion: expect.any(String),
      mac: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect((await write()).status).toBe(200);
  }, 60_000);
});

describe('the readiness probe', () => {
  it('adds no blob and no block for write calls: N writes, at most one block per record', async () => {
    const before = (await blobs()).reduce((sum, blob) => sum + blob.blocks, 0);
    const count = 8;
    for (let i = 0; i < count; i += 1) expect((await write()).status).toBe(200);
    const chain = await settledChain();
    const after = await blobs();
    // Only the writer's chain parts: no probe or heartbeat blobs beside them.
    expect(after.map((blob) => blob.name)).toEqual([chain.name]);
    // Each write call stored one record (its own) and the probe added nothing: at most one block per new record.
    const added = after.reduce((sum, blob) => sum + blob.blocks, 0) - before;
    expect(added).toBeGreaterThan(0);
    expect(added).toBeLessThanOrEqual(count);
    expect(linesOf(after[0]!.text)).toHaveLength(chain.records.length);
  }, 60_000);
});

describe('key rotation', () => {
  it('keeps old and new records verifiable after the audit key is rotated mid-run', async () => {
    const first = await settledChain();
    const oldVersion = first.records.at(-1)!['keyVersion'];
    const token = await mintIdentityToken(await stack.sandbox.issuerKeys.current(), VAULT_RESOURCE);
    const secrets = new SecretClient(
      stack.sandbox.vaultUrl,
      { getToken: async () => ({ token, expiresOnTimestamp: Date.now() + 3_000_000 }) },
      { disableChallengeResourceVerification: true },
    );
    const rotated = await secrets.setSecret(AUDIT_KEY_SECRET_NAME, randomBytes(32).toString('base64'));
    expect(rotated.properties.version).not.toBe(oldVersion);
    // Within the refresh interval (1 s here) new records name the new version.
    // Bounded only for a rotation never seen, and generously: a busy machine may take many passes.
    const until = Date.now() + 60_000;
    let records = first.records;
    while (records.at(-1)?.['keyVersion'] !== rotated.properties.version && Date.now() < until) {
      expect((await read()).status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 500));
      records = (await settledChain()).records;
    }
    expect(new Set(records.map((record) => record['keyVersion']))).toEqual(new Set([oldVersion, rotated.properties.version]));
    const verified = await audit().verify();
    expect(verified.output).toMatch(/^OK: \d+ records in 1 chain\(s\); every chain is intact, authenticated/);
    expect(verified.code).toBe(0);
  }, 60_000);
});

describe('audit verify against an attacker without the key', () => {
  it('names a complete fake chain planted in a new writer folder (plain SHA-256) as a forged writer', async () => {
    const chain = await settledChain();
    const forger = `2026-12-05T00-00-00-000Z-${randomUUID().slice(0, 8)}`;
    // A chain exactly as the app would write it, copied from real records, re-numbered and re-hashed for the new writer.
    let prevHash = '0'.repeat(64);
    const fake = chain.records.slice(0, 4).map((record, index) => {
      const next = rehashed({ ...record, writer: forger, seq: index + 1, prevHash, callerOid: OPERATOR_OID, mac: randomBytes(32).toString('hex') });
      prevHash = next.hash;
      return next;
    });
    const name = `${forger}/0000.jsonl`;
    await replaceBlob(name, asText(fake));
    try {
      const verified = await audit().verify();
      expect(verified.code).toBe(1);
      expect(verified.output).toMatch(/^BROKEN: /);
      expect(verified.output).toContain(`FORGED WRITER  writer ${forger}: the app never registered this writer (4 record(s) in the container)`);
      // The app's own chain is not blamed.
      expect(verified.output).not.toContain(`writer ${chain.writer}`);
      // A registration forged in the table (without the key) does not help.
      await anchors.upsertEntity({
        partitionKey: 'writer',
        rowKey: forger,
        writer: forger,
        registeredAt: new Date().toISOString(),
        seq: 4,
        hash: prevHash,
        anchoredAt: new Date().toISOString(),
        keyVersion: String(chain.records[0]!['keyVersion']),
        mac: randomBytes(32).toString('hex'),
      });
      const again = await audit().verify();
      expect(again.code).toBe(1);
      expect(again.output).toContain(`FORGED WRITER  writer ${forger}: its registration outside the container does not verify with the audit key`);
    } finally {
      await container.getBlobClient(name).deleteIfExists();
      await anchors.deleteEntity('writer', forger).catch(() => undefined);
    }
    expect((await audit().verify()).code).toBe(0);
  }, 60_000);

  it('names the package each writer ran in its registration, and a registration whose package was changed as forged', async () => {
    const before = (await settledChain()).records.length;
    const health = (await (await fetch(`${stack.baseUrl}/health`)).json()) as { package: string };
    // Settled after the health request's own record, so no anchor update races the changes below.
    const chain = await settledChain(before + 1);
    const anchor = await anchors.getEntity<Record<string, unknown>>('writer', chain.writer);
    // The test stack runs from the source tree: the registration names the same package as /health.
    expect(anchor['packageDigest']).toBe('development build');
    expect(anchor['packageDigest']).toBe(health.package);
    expect((await audit().verify()).output).toContain(`writer ${chain.writer}: package development build`);
    // Someone with table access claims another build wrote the chain: the registration no longer verifies.
    const { etag: _etag, timestamp: _timestamp, ...stored } = anchor;
    await anchors.upsertEntity({ ...stored, partitionKey: 'writer', rowKey: chain.writer, packageDigest: `sha256:${'a'.repeat(64)}` }, 'Replace');
    try {
      const verified = await audit().verify();
      expect(verified.code).toBe(1);
      expect(verified.output).toContain(`FORGED WRITER  writer ${chain.writer}`);
    } finally {
      await anchors.upsertEntity({ ...stored, partitionKey: 'writer', rowKey: chain.writer }, 'Replace');
    }
    expect((await audit().verify()).code).toBe(0);
  }, 60_000);

  it('names an edited record, even with its hash recomputed', async () => {
    const verified = await verifyTampered((records) =>
      records.map((record, index) => (index === 2 ? rehashed({ ...record, callerOid: 'ffffffff-0000-4000-8000-000000000000' }) : record)),
    );
    expect(verified.code).toBe(1);
    expect(verified.output).toMatch(/EDITED {2}writer \S+, record 3: its MAC does not verify/);
    expect(verified.output).not.toMatch(/INSERTED|DELETED|TRUNCATED|FORGED/);
  }, 60_000);

  it('names an inserted record, linked and hashed as the app would', async () => {
    const verified = await verifyTampered((records) => {
      const inserted = rehashed({ ...records[2]!, correlationId: randomUUID(), tool: 'storage_account_delete' });
      return [...records.slice(0, 2), inserted, ...records.slice(2)];
    });
    expect(verified.code).toBe(1);
    expect(verified.output).toMatch(/INSERTED {2}writer \S+, record 3: its MAC does not verify/);
    expect(verified.output).not.toMatch(/EDITED|DELETED|TRUNCATED|FORGED/);
  }, 60_000);

  it('names a replayed copy of a genuine record as inserted', async () => {
    const verified = await verifyTampered((records) => [...records.slice(0, 3), records[1]!, ...records.slice(3)]);
    expect(verified.code).toBe(1);
    expect(verified.output).toMatch(/INSERTED {2}writer \S+, record 4: a second copy of record 2/);
  }, 60_000);

  it('names a deleted record', async () => {
    const verified = await verifyTampered((records) => [...records.slice(0, 2), ...records.slice(3)]);
    expect(verified.code).toBe(1);
    expect(verified.output).toMatch(/DELETED {2}writer \S+, record 3: record 3 is missing before this one/);
    expect(verified.output).not.toMatch(/EDITED|INSERTED|TRUNCATED|FORGED/);
  }, 60_000);

  it('names a truncated chain (its last records cut off) from the head anchored outside the container', async () => {
    const chain = await settledChain();
    const verified = await verifyTampered((records) => records.slice(0, -2));
    expect(verified.code).toBe(1);
    expect(verified.output).toMatch(
      new RegExp(
        `TRUNCATED {2}writer \\S+: the chain ends at record ${chain.records.length - 2}, but its anchor \\(.+\\) says it had reached record ${chain.records.length}`,
      ),
    );
  }, 60_000);

  it('names an emptied writer blob, and a writer whose blobs are gone', async () => {
    const emptied = await verifyTampered(() => []);
    expect(emptied.code).toBe(1);
    expect(emptied.output).toMatch(/EMPTIED WRITER {2}writer \S+: no records are left/);
    const chain = await settledChain();
    const original = asText(chain.records);
    await container.getBlobClient(chain.name).delete();
    try {
      const gone = await audit().verify();
      expect(gone.code).toBe(1);
      expect(gone.output).toMatch(
        new RegExp(
          `EMPTIED WRITER {2}writer ${chain.writer}: its blobs are gone, but its anchor \\(.+\\) says it had written ${chain.records.length} record\\(s\\)`,
        ),
      );
    } finally {
      await replaceBlob(chain.name, original);
    }
    expect((await audit().verify()).code).toBe(0);
  }, 60_000);

  it('exits 2 with a clear message when it cannot check (no vault or anchor table named)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'audit-cli-'));
    const runtime = join(dir, 'runtime.json');
    writeFileSync(runtime, JSON.stringify({ auditContainerUrl: stack.sandbox.auditContainerUrl }));
    try {
      const failed = await promisify(execFile)(process.execPath, [AUDIT_CLI, 'verify'], {
        env: { ...process.env, SANDBOX_RUNTIME_FILE: runtime, SANDBOX_DATA_DIR: stack.dataDir },
      }).then(
        () => ({ code: 0, stderr: '' }),
        (error: { code: number; stderr: string }) => error,
      );
      expect(failed.code).toBe(2);
      expect(failed.stderr).toMatch(/names no audit container, vault or anchor table; restart npm start/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
