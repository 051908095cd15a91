import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TlsMaterial {
  certPath: string;
  keyPath: string;
  cert: string;
  key: string;
}

const MIN_REMAINING_MS = 30 * 24 * 3600 * 1000;
const VALIDITY_MS = 825 * 24 * 3600 * 1000;

/** True when the existing cert covers all loopback names and stays valid long enough to be worth reusing. */
function reusable(certPem: string): boolean {
  try {
    const cert = new X509Certificate(certPem);
    const san = cert.subjectAltName ?? '';
    const coversLoopback = san.includes('DNS:localhost') && san.includes('IP Address:127.0.0.1') && san.includes('IP Address:0:0:0:0:0:0:0:1');
    return coversLoopback && cert.ca && new Date(cert.validTo).getTime() - Date.now() > MIN_REMAINING_MS;
  } catch {
    return false;
  }
}

/**
 * Ensures `dir` holds a self-signed loopback certificate (cert.pem, key.pem).
 * The cert is its own CA (basicConstraints cA + keyCertSign) so that listing it in
 * NODE_EXTRA_CA_CERTS makes OpenSSL accept it as a trust anchor for the servers that present it.
 */
export async function ensureTls(dir: string): Promise<TlsMaterial> {
  const certPath = join(dir, 'cert.pem');
  const keyPath = join(dir, 'key.pem');
  if (existsSync(certPath) && existsSync(keyPath)) {
    const cert = readFileSync(certPath, 'utf8');
    if (reusable(cert)) return { certPath, keyPath, cert, key: readFileSync(keyPath, 'utf8') };
  }
  const notBeforeDate = new Date(Date.now() - 60_000);
  // Loaded only when a certificate is made: every dev CLI checks trust through this module at start.
  const { generate } = await import('selfsigned');
  const pems = await generate([{ name: 'commonName', value: 'Sovereign MCP sandbox (localhost)' }], {
    keySize: 2048,
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate: new Date(notBeforeDate.getTime() + VALIDITY_MS),
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, keyCertSign: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
          { type: 7, ip: '::1' },
        ],
      },
    ],
  });
  mkdirSync(dir, { recursive: true });
  writeFileSync(keyPath, pems.private, { mode: 0o600 });
  writeFileSync(certPath, pems.cert);
  return { certPath, keyPath, cert: pems.cert, key: pems.private };
}

/** True when this process was started with NODE_EXTRA_CA_CERTS naming a file that contains `certPem`. */
export function processTrusts(certPem: string): boolean {
  const file = process.env['NODE_EXTRA_CA_CERTS'];
  if (!file || !existsSync(file)) return false;
  const squash = (s: string): string => s.replace(/\s+/g, '');
  return squash(readFileSync(file, 'utf8')).includes(squash(certPem));
}
