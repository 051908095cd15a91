import { TableClient } from '@azure/data-tables';
import { randomUUID } from 'node:crypto';
import { argumentsHash } from '../../shared/approvals/gate.js';
import { createTableApprovalStore, type Approval, type ApprovalStore } from '../../shared/approvals/store.js';
import type { TestStack } from './stack.js';

/** A blob the seeded twin holds: the destructive request the approval tests ask for (storage_blob_delete). */
export const BLOB = { resourceGroup: 'rg-ddr-records-prod-uks', account: 'stddrrecordsprod', container: 'case-files', name: '2025/CASE-10482/metadata.json' };

async function storageCredential(stack: TestStack) {
  const token = await stack.sandbox.mintStorageToken();
  return { getToken: async () => ({ token, expiresOnTimestamp: Date.now() + 3_000_000 }) };
}

/** The approvals table, as the app (and the page) reach it. */
export async function approvalsTable(stack: TestStack): Promise<ApprovalStore> {
  return createTableApprovalStore(stack.sandbox.tableEndpoint, 'approvals', await storageCredential(stack));
}

/** Edits a stored approval's columns in the table directly, as someone with access to the storage account could. */
export async function tamperWithApproval(stack: TestStack, id: string, columns: Record<string, string>): Promise<void> {
  const table = new TableClient(stack.sandbox.tableEndpoint, 'approvals', await storageCredential(stack));
  await table.updateEntity({ partitionKey: 'approval', rowKey: id, ...columns }, 'Merge');
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
