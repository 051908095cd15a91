import { AUDIT_SECRETS } from '../../dev/sandbox/seed.js';

/**
 * The app reads its audit HMAC key and its pseudonym key from Key Vault when it first stores a record and then on its own schedule
 * (shared/audit/audit-key.ts), whatever request happens to be running: not an Azure call that request caused.
 */
export function isAuditKeyRead(entry: { service: string; method: string; path: string }): boolean {
  return entry.service === 'vault' && entry.method === 'GET' && Object.keys(AUDIT_SECRETS).some((name) => entry.path.startsWith(`/secrets/${name}/`));
}
