import { createPrivateKey, generateKeyPair, randomUUID, type KeyObject } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const generateRsa = promisify(generateKeyPair);

/** The RSA keys a fresh sandbox makes: the issuer's first signing key and Key Vault's catalogue signing key. */
export type KeyPurpose = 'issuer' | 'catalogue-signing';

/** Where a fresh sandbox's first RSA keys come from (the private key; RSA 2048). */
export type RsaKeySource = (purpose: KeyPurpose) => Promise<KeyObject>;

/** A new key every time. */
export const newRsaKeys: RsaKeySource = async () => (await generateRsa('rsa', { modulusLength: 2048 })).privateKey;

/**
 * One key per purpose, made on first use and kept in `dir` (`<purpose>.pem`, mode 600, never committed), for every
 * fresh sandbox after that: the test suite starts about thirty, and making their two keys cost 0.1-0.5 CPU-s each
 * time on these machines. A sandbox keeps what it took in its own data folder, and a rotation still makes a new key;
 * the issuer's key ids stay random per sandbox.
 */
export function keptRsaKeys(dir: string): RsaKeySource {
  return async (purpose) => {
    const file = join(dir, `${purpose}.pem`);
    if (!existsSync(file)) {
      const made = await newRsaKeys(purpose);
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const temporary = `${file}.${randomUUID()}`;
      writeFileSync(temporary, made.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
      try {
        // link() fails if another process kept one first: theirs wins, so every sandbox takes the same key.
        linkSync(temporary, file);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      } finally {
        rmSync(temporary, { force: true });
      }
    }
    try {
      const key = createPrivateKey(readFileSync(file, 'utf8'));
      if (key.asymmetricKeyType !== 'rsa' || key.asymmetricKeyDetails?.modulusLength !== 2048) throw new Error('not an RSA 2048 key');
      return key;
    } catch (error) {
      throw new Error(`${file} is not a private RSA 2048 key in PEM (${(error as Error).message}): delete it and a new one is made`, { cause: error });
    }
  };
}
