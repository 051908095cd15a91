import { odata, TableClient, type TableEntityResult } from '@azure/data-tables';
import type { TokenCredential } from '@azure/identity';
import { ifExists } from '../azure/errors.js';

/** `revoked`: withdrawn by an approver's revoke command (an incident) before it was used. */
export type ApprovalStatus = 'pending' | 'approved' | 'rejected' | 'used' | 'revoked';

/** A request to run one destructive call, exactly as asked, once, after a human other than the requester approves. */
export interface Approval {
  id: string;
  tool: string;
  /** SHA-256 of the canonical JSON of the arguments (without approvalId): the retry must match it exactly. */
  argsHash: string;
  /** The arguments as the approver sees them. */
  args: Record<string, unknown>;
  requesterOid: string;
  requesterName?: string;
  targets: string[];
  impact: string[];
  status: ApprovalStatus;
  createdAt: string;
  expiresAt: string;
  decidedByOid?: string;
  decidedByName?: string;
  decidedAt?: string;
  usedAt?: string;
  revokedByOid?: string;
  revokedAt?: string;
  /** The store's version of the record: every change is conditional on it, so two changes cannot both win. */
  etag: string;
}

export type ApprovalChanges = Partial<Pick<Approval, 'status' | 'decidedByOid' | 'decidedByName' | 'decidedAt' | 'usedAt' | 'revokedByOid' | 'revokedAt'>>;

export interface ApprovalStore {
  create(approval: Omit<Approval, 'etag'>): Promise<void>;
  get(id: string): Promise<Approval | undefined>;
  /** Applies the changes only if the record is still at `etag`; false when someone else changed it first. */
  update(approval: Approval, changes: ApprovalChanges): Promise<boolean>;
  /** Every approval that could still run a call once approved: pending or approved, not yet used (expired included). */
  listUnused(): Promise<Approval[]>;
}

const PARTITION = 'approval';

/**
 * Approvals in Azure Table storage (Azurite locally), so any instance can serve any step. The app reaches the
 * table with its managed identity.
 */
export function createTableApprovalStore(endpoint: string, tableName: string, credential: TokenCredential): ApprovalStore {
  const table = new TableClient(endpoint, tableName, credential);
  let ready: Promise<void> | undefined;
  // The deployment creates the table and grants the identity rights on that table only, so a 403 on creating it
  // means "exists, not yours to create": carry on (a missing table then fails the entity call with its own error).
  const ensureTable = () =>
    (ready ??= table.createTable().catch((error: unknown) => {
      if ((error as { statusCode?: number }).statusCode === 403) return;
      ready = undefined;
      throw error;
    }));

  return {
    async create(approval) {
      await ensureTable();
      const { args, targets, impact, ...plain } = approval;
      await table.createEntity({
        partitionKey: PARTITION,
        rowKey: approval.id,
        ...plain,
        args: JSON.stringify(args),
        targets: JSON.stringify(targets),
        impact: JSON.stringify(impact),
      });
    },
    async get(id) {
      // linear: anchored, fixed length: at most 37 steps.
      if (!/^[0-9a-f-]{36}$/i.test(id)) return undefined;
      await ensureTable();
      const entity = await ifExists(table.getEntity<Record<string, unknown>>(PARTITION, id));
      return entity && fromEntity(entity);
    },
    async update(approval, changes) {
      try {
        await table.updateEntity({ partitionKey: PARTITION, rowKey: approval.id, ...changes }, 'Merge', { etag: approval.etag });
        return true;
      } catch (error) {
        if ((error as { statusCode?: number }).statusCode === 412) return false;
        throw error;
      }
    },
    async listUnused() {
      await ensureTable();
      const found: Approval[] = [];
      const filter = odata`PartitionKey eq ${PARTITION} and (status eq ${'pending'} or status eq ${'approved'})`;
      for await (const entity of table.listEntities<Record<string, unknown>>({ queryOptions: { filter } })) found.push(fromEntity(entity));
      return found;
    },
  };
}

function fromEntity(entity: TableEntityResult<Record<string, unknown>>): Approval {
  const text = (key: string) => (typeof entity[key] === 'string' ? entity[key] : undefined);
  const optional = <K extends string>(key: K) => (text(key) !== undefined ? { [key]: text(key) } : {});
  return {
    id: entity.rowKey ?? '',
    tool: text('tool') ?? '',
    argsHash: text('argsHash') ?? '',
    args: JSON.parse(text('args') ?? '{}') as Record<string, unknown>,
    requesterOid: text('requesterOid') ?? '',
    targets: JSON.parse(text('targets') ?? '[]') as string[],
    impact: JSON.parse(text('impact') ?? '[]') as string[],
    status: (text('status') ?? 'pending') as ApprovalStatus,
    createdAt: text('createdAt') ?? '',
    expiresAt: text('expiresAt') ?? '',
    ...optional('requesterName'),
    ...optional('decidedByOid'),
    ...optional('decidedByName'),
    ...optional('decidedAt'),
    ...optional('usedAt'),
    ...optional('revokedByOid'),
    ...optional('revokedAt'),
    etag: entity.etag,
  };
}
