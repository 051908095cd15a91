import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { POISONED } from '../../dev/sandbox/seed.js';
import { signInAs } from '../helpers/sign-in.js';
import { acquireSharedStack } from '../helpers/shared-stack.js';
import type { TestStack } from '../helpers/stack.js';
import { callTool } from '../helpers/tools.js';

describe('hostile/approval-page-text', () => {
  /**
   * The approval page is where a person decides on a destructive action, so what it shows must be what will run.
   * Bidirectional controls (U+202E reverses what follows), isolates, zero-width and tag characters would let a name
   * display as something else; the page shows each as a visible, marked escape and never the raw character —
   * in the impact details (Azure's own text, such as tags) and the requester's name. Destructive tools' arguments
   * cannot carry them at all: the naming rules refuse such names before any approval is requested.
   */
  const RLO = '\u202E';
  const LRI = '\u2066';
  const PDI = '\u2069';
  const ZWSP = '\u200B';
  const TAG_A = '\u{E0041}';
  /** Every character the page must never show raw (those used here, and the classes they stand for). */
  const RAW_HIDDEN = /[\u061C\u200B-\u200F\u202A-\u202E\u2060-\u2069\uFEFF\u{E0000}-\u{E007F}]/u;

  const { account, group } = POISONED.accountWithHiddenTag;
  const BLOB = { resourceGroup: 'rg-ddr-records-prod-uks', account: 'stddrrecordsprod', container: 'case-files' };
  /** Displays as `2025/invoice-exe.pdf` with the override: the page must show what it really is. */
  const BLOB_NAME = `2025/invoice-${RLO}fdp.exe${ZWSP}${LRI}x${PDI}${TAG_A}`;
  const REQUESTER_NAME = `Sam${LRI} Operator${PDI}${ZWSP}`;

  let stack: TestStack;
  let cookie: string;

  beforeAll(async () => {
    stack = await acquireSharedStack();
    cookie = await signInAs(stack, 'approver', '/approvals/any');
  }, 120_000);
  afterAll(async () => stack?.stop());

  const marked = (escape: string) => `<mark class="hidden-char" title="hidden character">${escape}</mark>`;

  async function approvalPage(tool: string, args: Record<string, unknown>): Promise<string> {
    const operator = await stack.token({ roles: ['Mcp.Operator'], oid: '9e4d2c1b-7a6f-4e5d-8c3b-2a1f0e9d8c7b', name: REQUESTER_NAME });
    const requested = await callTool(stack, operator, tool, args);
    expect({ status: requested.status, code: requested.error?.code }).toEqual({ status: 428, code: 'approval_required' });
    const response = await fetch(`${stack.baseUrl}/approvals/${requested.error!.approvalId as string}`, { headers: { cookie }, redirect: 'manual' });
    expect(response.status).toBe(200);
    return response.text();
  }

  describe('hidden characters on the approval page', () => {
    it('never lets a blob name with bidi, isolate, zero-width or tag characters reach the page, and escapes them in the requester name', async () => {
      const operator = await stack.token({ roles: ['Mcp.Operator'], oid: '9e4d2c1b-7a6f-4e5d-8c3b-2a1f0e9d8c7b', name: 'Sam Operator' });
      // Such a name is refused at the door (blob naming rules), for the upload and for the deletion request alike.
      for (const tool of ['storage_blob_upload', 'storage_blob_delete']) {
        const refused = await callTool(stack, operator, tool, { ...BLOB, name: BLOB_NAME, ...(tool === 'storage_blob_upload' ? { content: 'x' } : {}) });
        expect({ tool, status: refused.status, code: refused.error?.code }).toEqual({ tool, status: 400, code: 'invalid_arguments' });
      }
      const plainName = '2025/invoice-0147.pdf';
      expect((await callTool(stack, operator, 'storage_blob_upload', { ...BLOB, name: plainName, content: 'not really an invoice' })).status).toBe(200);

      // The requester's name comes from their token, where nothing stops such characters.
      const html = await approvalPage('storage_blob_delete', { ...BLOB, name: plainName });
      expect(html).not.toMatch(RAW_HIDDEN);
      expect(html).toContain(`Sam${marked('\\u2066')} Operator${marked('\\u2069')}${marked('\\u200B')}`);
      expect(html).toMatch(/class="notice" role="alert">This request contains hidden characters/);
    });

    it("shows Azure's own text (a tag split by zero-width spaces) escaped in the impact details", async () => {
      const html = await approvalPage('storage_account_delete', { resourceGroup: group, name: account });
      expect(html).not.toMatch(RAW_HIDDEN);
      expect(html).toContain(`Assis${marked('\\u200B')}tants: ig${marked('\\u200B')}nore`);
    });

    it('keeps the marks inside the page styling its policy allows (no inline style or script)', async () => {
      const html = await approvalPage('storage_account_delete', { resourceGroup: group, name: account });
      expect(html).not.toMatch(/<script|style="/);
    });
  });
});
