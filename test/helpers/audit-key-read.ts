import { AUDIT_KEY_SECRET_NAME } from '../../dev/sandbox/seed.js';

/**
 * The app reads its audit HMAC key from Key Vault when it first stores a record and then on its own schedule
 * (shared/audit/audit-key.ts), whatever request happens to be running: not an Azure call that request caused.
 */
export function isAuditKeyRead(entry: { service: string; method: string; path: string }): boolean {
  return entry.service === 'vault' && entry.method === 'GET' && entry.path.startsWith(`/secrets/${AUDIT_KEY_SECRET_NAME}/`);
}
