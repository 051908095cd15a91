import { randomUUID } from 'node:crypto';
import { argumentsHash } from '../../shared/approvals/gate.js';
import { createTableApprovalStore, type Approval, type ApprovalStore } from '../../shared/approvals/store.js';
import type { TestStack } from './stack.js';

/** A blob the seeded twin holds: the destructive request the approval tests ask for (storage_blob_delete). */
export const BLOB = { resourceGroup: 'rg-ddr-records-prod-uks', account: 'stddrrecordsprod', container: 'case-files', name: '2025/CASE-10482/metadata.json' };

/** The approvals table, as the app (and the page) reach it. */
export async function approvalsTable(stack: TestStack): Promise<ApprovalStore> {
  const token = await stack.sandbox.mintStorageToken();
  return createTableApprovalStore(stack.sandbox.tableEndpoint, 'approvals', { getToken: async () => ({ token, expiresOnTimestamp: Date.now() + 3_000_000 }) });
}

/** An approval written straight into the table (a mode that refuses destructive calls records none itself). */
export async function storedApproval(store: ApprovalStore, requesterOid: string, fields: Partial<Approval> = {}): Promise<Approval> {
  const now = Date.now();
  const approval = {
    id: randomUUID(),
    tool: 'storage_blob_delete',
    argsHash: argumentsHash(BLOB),
    args: BLOB,
    requesterOid,
    targets: [],
    impact: [],
    status: 'pending' as const,
    createdAt: new Date(now).toISOString(),
    expiresAt: new Date(now + 30 * 60_000).toISOString(),
    ...fields,
  };
  await store.create(approval);
  return (await store.get(approval.id))!;
}

