// The issuer's signing keys, rotated like Entra ID's: an ordered set persisted in the data dir, newest key signs,
// every key in the set is published. Read from disk on each use, so a rotation by any process is seen by all.
import { randomUUID, type webcrypto } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { importJWK, type JWK } from 'jose';
import { newRsaKeys, type RsaKeySource } from './kept-keys.js';

export const ISSUER_ALG = 'RS256';
/** The key being rolled to plus the one being rolled from, as Entra publishes during a rollover. */
const MAX_KEYS = 2;

export interface IssuerKey {
  kid: string;
  privateKey: webcrypto.CryptoKey;
  publicKey: webcrypto.CryptoKey;
  publicJwk: JWK;
}

interface KeyFile {
  /** Private JWKs, oldest first; the last one signs. */
  keys: JWK[];
}

function publicPart(jwk: JWK): JWK {
  const { kty, n, e, kid } = jwk;
  if (kty === undefined || n === undefined || e === undefined || kid === undefined)
    throw new Error('issuer key file: a key lacks kty, n, e or kid; delete the file to mint a new key');
  return { kty, n, e, kid, alg: ISSUER_ALG, use: 'sig' };
}

async function newPrivateJwk(keys: RsaKeySource): Promise<JWK> {
  return { ...(await keys('issuer')).export({ format: 'jwk' }), kid: randomUUID(), alg: ISSUER_ALG };
}

async function importKey(privateJwk: JWK): Promise<IssuerKey> {
  const publicJwk = publicPart(privateJwk);
  return {
    kid: privateJwk.kid as string,
    privateKey: (await importJWK(privateJwk, ISSUER_ALG)) as webcrypto.CryptoKey,
    publicKey: (await importJWK(publicJwk, ISSUER_ALG)) as webcrypto.CryptoKey,
    publicJwk,
  };
}

function parse(file: string, text: string): JWK[] {
  const keys = (JSON.parse(text) as Partial<KeyFile>).keys;
  if (!Array.isArray(keys) || keys.length === 0 || keys.some((k) => !k.kid || k.kty !== 'RSA' || !k.d)) {
    throw new Error(`${file} is not a non-empty set of private RSA JWKs with kids; delete it to regenerate`);
  }
  return keys;
}

export class IssuerKeyStore {
  private cached: { text: string; keys: IssuerKey[] } | undefined;
  /** Serialises this process's rotations so two concurrent admin calls cannot lose a key. */
  private writing: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly dir: string,
    private readonly file: string,
    private readonly firstKey: RsaKeySource,
  ) {}

  /** Opens (creating or migrating if needed) the key set in `dataDir`; a new set's first key comes from `firstKey`. */
  static async open(dataDir: string, firstKey: RsaKeySource = newRsaKeys): Promise<IssuerKeyStore> {
    const store = new IssuerKeyStore(dataDir, join(dataDir, 'issuer-keys.json'), firstKey);
    await store.load();
    return store;
  }

  /** The key that signs new tokens. */
  async current(): Promise<IssuerKey> {
    const keys = await this.load();
    return keys[keys.length - 1] as IssuerKey;
  }

  /** Every key the JWKS publishes and tokens may be signed with, oldest first. */
  published(): Promise<IssuerKey[]> {
    return this.load();
  }

  /** Makes a fresh key the signing key, keeping the previous one published; returns the new kid. */
  rotate(): Promise<string> {
    return this.serialised(async () => {
      const next = await newPrivateJwk(newRsaKeys);
      this.write([...this.readJwks(), next].slice(-MAX_KEYS));
      return next.kid as string;
    });
  }

  /** Stops publishing every key but the signing key; returns the kids still published. */
  retire(): Promise<string[]> {
    return this.serialised(async () => {
      const keys = this.readJwks().slice(-1);
      this.write(keys);
      return keys.map((k) => k.kid as string);
    });
  }

  private serialised<T>(work: () => Promise<T>): Promise<T> {
    const run = this.writing.then(work);
    this.writing = run.catch(() => undefined);
    return run;
  }

  private async load(): Promise<IssuerKey[]> {
    await this.ensure();
    const text = readFileSync(this.file, 'utf8');
    if (this.cached?.text !== text) {
      // Importing keys costs more than reading a few KB, so only re-import when the file changed.
      this.cached = { text, keys: await Promise.all(parse(this.file, text).map(importKey)) };
    }
    return this.cached.keys;
  }

  private readJwks(): JWK[] {
    return parse(this.file, readFileSync(this.file, 'utf8'));
  }

  /** Creates the set on first use: from the single-key issuer-key.json of older builds (left in place), else a new key. */
  private async ensure(): Promise<void> {
    if (existsSync(this.file)) return;
    const legacy = join(this.dir, 'issuer-key.json');
    let first: JWK;
    if (existsSync(legacy)) {
      first = JSON.parse(readFileSync(legacy, 'utf8')) as JWK;
      if (!first.kid || first.kty !== 'RSA' || !first.d) throw new Error(`${legacy} is not a private RSA JWK with a kid; delete it to regenerate`);
    } else {
      first = await newPrivateJwk(this.firstKey);
    }
    mkdirSync(this.dir, { recursive: true });
    const tmp = this.tempFile();
    writeFileSync(tmp, JSON.stringify({ keys: [first] } satisfies KeyFile, null, 2), { mode: 0o600 });
    try {
      // link() fails if another process created the set first; theirs wins, so both processes sign with one key.
      linkSync(tmp, this.file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    } finally {
      rmSync(tmp, { force: true });
    }
  }

  private write(keys: JWK[]): void {
    const tmp = this.tempFile();
    writeFileSync(tmp, JSON.stringify({ keys } satisfies KeyFile, null, 2), { mode: 0o600 });
    renameSync(tmp, this.file);
  }

  private tempFile(): string {
    return `${this.file}.${process.pid}.${randomUUID()}.tmp`;
  }
}
