import type { HttpResponseInit } from '@azure/functions';
import type { App } from '../app.js';
import { PAGE_HEADERS, renderMessage } from '../approvals/page.js';
import type { AuditRecord } from '../audit/record.js';
import { jsonResponse, jsonRpcErrorResponse } from './responses.js';

export const PSEUDONYM_KEY_RULE = 'audit.pseudonym-key-unavailable';
const RETRY_AFTER_SECONDS = '30';

/**
 * Fail closed: a request that may name a person is not served until the app holds the key that pseudonymises
 * people in the tamper-evident store (./audit/pseudonym.ts), since its record could not be stored without it.
 * Health and the public metadata name nobody and are always served. Once read, the key in hand serves on through
 * a vault outage (the keyring keeps it), as the audit key does.
 */
export async function pseudonymKeyRefusal(app: App, entrance: AuditRecord['entrance']): Promise<{ response: HttpResponseInit; message: string } | undefined> {
  if (!app.auditPseudonyms || entrance === 'health' || entrance === 'metadata') return undefined;
  try {
    await app.auditPseudonyms.current();
    return undefined;
  } catch (error) {
    app.log.error(`The audit pseudonym key (Key Vault secret ${app.settings.auditPseudonymKeySecretName}) could not be read; requests are refused until it can`, error);
  }
  const message = `The audit trail's pseudonym key cannot be read from Key Vault, so this request was refused and nothing was done (${PSEUDONYM_KEY_RULE}). Try again shortly; if it persists, tell the platform team.`;
  const headers = { 'retry-after': RETRY_AFTER_SECONDS };
  if (entrance === 'mcp') return { response: jsonRpcErrorResponse(503, -32000, message, headers), message };
  if (entrance === 'approvals') {
    return { response: { status: 503, headers: { ...PAGE_HEADERS, ...headers }, body: renderMessage('Temporarily unavailable', message) }, message };
  }
  return { response: jsonResponse(503, { error: 'audit_unavailable', error_description: message, rule: PSEUDONYM_KEY_RULE }, headers), message };
}
