import { afterEach, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IssuerKeyStore } from '../../dev/sandbox/issuer-keys.js';
import { keptRsaKeys } from '../../dev/sandbox/kept-keys.js';
import { CATALOGUE_SIGNING_KEY_NAME, buildSeed, VAULT_NAME } from '../../dev/sandbox/seed.js';

/**
 * Fresh sandboxes take their first RSA keys from a folder where they are made once (the tests start about thirty
 * sandboxes): the same key material for each, but the issuer's key ids stay their own, and a rotation still makes a
 * new key.
 */
const folders: string[] = [];
const folder = (name: string) => {
  const made = mkdtempSync(join(tmpdir(), `kept-keys-${name}-`));
  folders.push(made);
  return made;
};
afterEach(() => {
  for (const made of folders.splice(0)) rmSync(made, { recursive: true, force: true });
});

describe('kept sandbox keys', () => {
  it('gives two fresh issuers the same first key under their own key ids, private to the owner on disk', async () => {
    const kept = folder('keys');
    const first = await IssuerKeyStore.open(folder('data-a'), keptRsaKeys(kept));
    const second = await IssuerKeyStore.open(folder('data-b'), keptRsaKeys(kept));
    const [a, b] = [await first.current(), await second.current()];
    expect(a.publicJwk.n).toBe(b.publicJwk.n);
    expect(a.kid).not.toBe(b.kid);
    expect(statSync(join(kept, 'issuer.pem')).mode & 0o777).toBe(0o600);
  });

  it('makes a new key when an issuer rotates, and keeps the kept one unchanged', async () => {
    const kept = folder('keys');
    const store = await IssuerKeyStore.open(folder('data'), keptRsaKeys(kept));
    const before = await store.current();
    const keptText = readFileSync(join(kept, 'issuer.pem'), 'utf8');
    await store.rotate();
    const after = await store.current();
    expect(after.publicJwk.n).not.toBe(before.publicJwk.n);
    expect((await store.published()).map((key) => key.kid)).toEqual([before.kid, after.kid]);
    expect(readFileSync(join(kept, 'issuer.pem'), 'utf8')).toBe(keptText);
  });

  it('gives each purpose its own key: the catalogue signing key is not the issuer key', async () => {
    const kept = folder('keys');
    const keys = keptRsaKeys(kept);
    const issuer = await (await IssuerKeyStore.open(folder('data'), keys)).current();
    const seed = await buildSeed({ vaultUrls: {}, blobUrl: 'https://127.0.0.1:1', tableUrl: 'https://127.0.0.1:2' }, Date.now(), keys);
    const signing = seed.vaults[VAULT_NAME]?.keys[CATALOGUE_SIGNING_KEY_NAME]?.versions[0];
    expect(signing?.n).toBeDefined();
    expect(signing?.n).not.toBe(issuer.publicJwk.n);
    const again = await buildSeed({ vaultUrls: {}, blobUrl: 'https://127.0.0.1:1', tableUrl: 'https://127.0.0.1:2' }, Date.now(), keys);
    expect(again.vaults[VAULT_NAME]?.keys[CATALOGUE_SIGNING_KEY_NAME]?.versions[0]?.n).toBe(signing?.n);
  });

  it('refuses a kept file that is not a private RSA 2048 key, saying to delete it', async () => {
    const kept = folder('keys');
    writeFileSync(join(kept, 'issuer.pem'), 'not a key');
    await expect(keptRsaKeys(kept)('issuer')).rejects.toThrow(/issuer\.pem is not a private RSA 2048 key in PEM .*delete it and a new one is made/);
  });
});
