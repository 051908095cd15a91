import type { HttpResponseInit } from '@azure/functions';
import { PAGE_HEADERS, renderMessage } from '../approvals/page.js';
import type { AuditRecord } from '../audit/record.js';
import { emergencyRefusal, emergencyRule } from '../policy/emergency-mode.js';
import { jsonResponse, jsonRpcErrorResponse } from './responses.js';

/** Emergency mode 'closed' lasts until an operator lifts it: clients are told to come back in five minutes. */
const RETRY_AFTER_SECONDS = '300';

export const CLOSED_RULE = emergencyRule('closed');

/**
 * The answer to every request while the deployment is closed (MCP_EMERGENCY_MODE=closed), before any of it is
 * read: HTTP 503 with Retry-After, shaped for the entrance (a JSON-RPC error on /mcp, a page for approvers, JSON
 * elsewhere), naming the mode.
 */
export function closedResponse(entrance: AuditRecord['entrance'], path: string): { response: HttpResponseInit; message: string } {
  const message = emergencyRefusal('closed', `this request (${path.slice(0, 100)})`);
  const headers = { 'retry-after': RETRY_AFTER_SECONDS };
  if (entrance === 'mcp') return { response: jsonRpcErrorResponse(503, -32000, message, headers), message };
  if (entrance === 'approvals') {
    return { response: { status: 503, headers: { ...PAGE_HEADERS, ...headers }, body: renderMessage('Closed for an incident', message) }, message };
  }
  return { response: jsonResponse(503, { error: 'emergency_closed', error_description: message, rule: CLOSED_RULE }, headers), message };
}
