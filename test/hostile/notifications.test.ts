import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { acquireSharedStack } from '../helpers/shared-stack.js';
import type { TestStack } from '../helpers/stack.js';
import { pseudonymsOf } from '../helpers/pseudonyms.js';
import { callTool } from '../helpers/tools.js';
import { auditChain, newTraceparent, type StoredRecord } from './helpers/audit-chain.js';
import { rawClient } from './helpers/raw-http.js';
import { isAuditKeyRead } from '../helpers/audit-key-read.js';

describe('hostile/notifications', () => {
  /**
   * A request sent as a JSON-RPC notification (no id) is never run, so it must never be recorded as a successful
   * call: a `tools/call` without an id is refused with 400 and a JSON-RPC error saying a tool call needs an id, and its
   * audit record is a denial (`edge.notification-not-run`). Real notifications keep their 202.
   */
  const OPERATOR_OID = 'a1b2c3d4-0000-4000-8000-00000000b071';

  let stack: TestStack;
  let operator: string;
  let client: ReturnType<typeof rawClient>;
  let audit: ReturnType<typeof auditChain>;
  /** How the stored copy names a caller. */
  let pseudonym: (oid: string) => string;

  beforeAll(async () => {
    stack = await acquireSharedStack();
    pseudonym = await pseudonymsOf(stack);
    operator = await stack.token({ roles: ['Mcp.Operator'], oid: OPERATOR_OID, name: 'Notification Sender' });
    client = rawClient(stack.baseUrl);
    audit = auditChain(stack);
  }, 120_000);
  afterAll(async () => {
    client?.close();
    await stack?.stop();
  });

  async function send(message: Record<string, unknown>) {
    const { traceparent, traceId } = newTraceparent();
    const response = await client.send({
      method: 'POST',
      path: '/mcp',
      headers: {
        host: new URL(stack.baseUrl).host,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': '2025-11-25',
        authorization: `Bearer ${operator}`,
        traceparent,
      },
      body: JSON.stringify({ jsonrpc: '2.0', ...message }),
    });
    const records = await audit.waitFor((all) => all.some((record) => record.traceId === traceId));
    return { response, record: records.find((record) => record.traceId === traceId) as StoredRecord };
  }

  describe('a request sent as a notification (no id)', () => {
    it('refuses a tools/call without an id with 400, runs nothing, and audits a denial', async () => {
      await stack.admin.clearRequests();
      const { response, record } = await send({ method: 'tools/call', params: { name: 'group_get', arguments: { name: 'rg-ddr-dr-ukw' } } });
      expect(response.status).toBe(400);
      const body = JSON.parse(response.text) as { jsonrpc: string; id: unknown; error: { code: number; message: string } };
      expect(body).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32600 } });
      expect(body.error.message).toMatch(/tool call needs an id/i);
      expect(body.error.message).toMatch(/not run/);
      // Nothing reached Azure.
      expect((await stack.admin.requests()).filter((entry) => (entry.service === 'arm' || entry.service === 'vault') && !isAuditKeyRead(entry))).toEqual([]);
      expect(record).toMatchObject({
        callerPseudonym: pseudonym(OPERATOR_OID),
        jsonRpcMethod: 'tools/call',
        tool: 'group_get',
        httpStatus: 400,
        decision: 'denied',
        rule: 'edge.notification-not-run',
        outcome: 'denied',
      });
      expect(String(record.reason)).toMatch(/needs an id/);
    });

    it('refuses a write tool sent as a notification the same way, and the estate is unchanged', async () => {
      const tags = { owner: 'platform@ddr.gov.uk', costCentre: 'CC-4000', environment: 'test', dataClassification: 'OFFICIAL' };
      const { response, record } = await send({
        method: 'tools/call',
        params: { name: 'group_create', arguments: { name: 'rg-ddr-newservice-ukw', location: 'ukwest', tags } },
      });
      expect(response.status).toBe(400);
      expect(record).toMatchObject({ tool: 'group_create', decision: 'denied', rule: 'edge.notification-not-run', outcome: 'denied' });
      const after = await callTool(stack, operator, 'group_get', { name: 'rg-ddr-newservice-ukw' });
      expect({ status: after.status, code: after.error?.code }).toEqual({ status: 404, code: 'not_found' });
    });

    it('refuses any other request method without an id (tools/list, ping) with 400 and the same rule', async () => {
      for (const method of ['tools/list', 'ping']) {
        const { response, record } = await send({ method });
        expect({ method, status: response.status }).toEqual({ method, status: 400 });
        expect(JSON.parse(response.text).error.message).toContain(`"${method}" is a request`);
        expect(record).toMatchObject({ jsonRpcMethod: method, decision: 'denied', rule: 'edge.notification-not-run' });
      }
    });

    it('still accepts real notifications with 202 and no body', async () => {
      for (const message of [
        { method: 'notifications/initialized' },
        { method: 'notifications/cancelled', params: { requestId: 7, reason: 'user stopped it' } },
      ]) {
        const { response, record } = await send(message);
        expect({ method: message.method, status: response.status, body: response.text }).toEqual({ method: message.method, status: 202, body: '' });
        expect(record).toMatchObject({ jsonRpcMethod: message.method, decision: 'allowed', outcome: 'success' });
      }
    });

    it('runs the same tools/call when it carries an id (the control)', async () => {
      const { response, record } = await send({ id: 5, method: 'tools/call', params: { name: 'group_get', arguments: { name: 'rg-ddr-dr-ukw' } } });
      expect(response.status).toBe(200);
      expect(response.text).toContain('rg-ddr-dr-ukw');
      expect(record).toMatchObject({ tool: 'group_get', decision: 'allowed', outcome: 'success' });
    });
  });
});
