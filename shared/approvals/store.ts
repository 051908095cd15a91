import { isRestError } from '@azure/core-rest-pipeline';
import { odata, TableClient, type TableEntityResult } from '@azure/data-tables';
import type { TokenCredential } from '@azure/identity';
import * as z from 'zod';
import { ifExists } from '../azure/errors.js';
import { GUID } from '../domain/caller.js';
import { consoleLogger, type Logger } from '../log.js';
import { ToolError } from '../pipeline/errors.js';
import { loadOnFirstUse } from '../runtime/load-on-first-use.js';

/** `revoked`: withdrawn by an approver's revoke command (an incident) before it was used. */
export const APPROVAL_STATUSES = ['pending', 'approved', 'rejected', 'used', 'revoked'] as const;
export type ApprovalStatus = (typeof APPROVAL_STATUSES)[number];

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
/** The refusal's rule when a stored approval is not one the app could have written. */
export const INVALID_RECORD_RULE = 'approval.invalid-record';
// linear: anchored, fixed length: at most 37 steps.
const APPROVAL_ID = /^[0-9a-f-]{36}$/i;

/**
 * Approvals in Azure Table storage (Azurite locally), so any instance can serve any step. The app reaches the
 * table with its managed identity.
 */
export function createTableApprovalStore(endpoint: string, tableName: string, credential: TokenCredential, log: Logger = consoleLogger): ApprovalStore {
  const table = new TableClient(endpoint, tableName, credential);
  // The deployment creates the table and grants the identity rights on that table only, so a 403 on creating it
  // means "exists, not yours to create": carry on (a missing table then fails the entity call with its own error).
  const ensureTable = loadOnFirstUse(() =>
    table.createTable().catch((error: unknown) => {
      if (isRestError(error) && error.statusCode === 403) return;
      throw error;
    }),
  );

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
      if (!APPROVAL_ID.test(id)) return undefined;
      await ensureTable();
      const entity = await ifExists(table.getEntity<Record<string, unknown>>(PARTITION, id));
      return entity && fromEntity(entity);
    },
    async update(approval, changes) {
      try {
        await table.updateEntity({ partitionKey: PARTITION, rowKey: approval.id, ...changes }, 'Merge', { etag: approval.etag });
        return true;
      } catch (error) {
        if (isRestError(error) && error.statusCode === 412) return false;
        throw error;
      }
    },
    async listUnused() {
      await ensureTable();
      const found: Approval[] = [];
      const filter = odata`PartitionKey eq ${PARTITION} and (status eq ${'pending'} or status eq ${'approved'})`;
      for await (const entity of table.listEntities<Record<string, unknown>>({ queryOptions: { filter } })) {
        // A damaged record is left out (and logged) rather than failing the listing: revoking the others during an
        // incident must not be blocked by it, and it can run nothing, since every use reads it back through get().
        try {
          found.push(fromEntity(entity));
        } catch (error) {
          log.error('approvals: an invalid stored approval was left out of the unused list', error, { rule: INVALID_RECORD_RULE });
        }
      }
      return found;
    },
  };
}

/** Whether `error` is the refusal of a stored approval that is not a valid one (see fromEntity). */
export function isInvalidRecord(error: unknown): error is ToolError {
  return error instanceof ToolError && error.details.rule === INVALID_RECORD_RULE;
}

/** Table text holding JSON (the lists and the arguments), parsed, then checked against `schema`. */
function jsonText<T extends z.ZodType>(schema: T) {
  return z
    .string()
    .transform((text, context) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        context.addIssue({ code: 'custom', message: 'is not JSON' });
        return z.NEVER;
      }
    })
    .pipe(schema);
}

const oid = z.string().regex(GUID, 'must be an Entra object id (a GUID)');
const time = z.iso.datetime({ message: 'must be an ISO 8601 UTC time' });
const text = z.string().max(1_000);

/**
 * An approval as the table holds it, checked on every read: the gate trusts what it reads back (who asked, for which
 * arguments, whether someone approved), so a record the app could not have written (damaged, or edited in the table)
 * is refused, never half-trusted or filled in with defaults.
 */
const STORED_APPROVAL = z.object({
  rowKey: z.string().regex(APPROVAL_ID, 'must be an approval id (a UUID)'),
  etag: z.string().min(1),
  tool: z.string().min(1).max(100),
  // linear: anchored, fixed length: at most 65 steps.
  argsHash: z.string().regex(/^[0-9a-f]{64}$/, 'must be a SHA-256 in hex'),
  args: jsonText(z.record(z.string(), z.unknown())),
  requesterOid: oid,
  requesterName: text.exactOptional(),
  targets: jsonText(z.array(z.string())),
  impact: jsonText(z.array(z.string())),
  status: z.enum(APPROVAL_STATUSES),
  createdAt: time,
  expiresAt: time,
  decidedByOid: oid.exactOptional(),
  decidedByName: text.exactOptional(),
  decidedAt: time.exactOptional(),
  usedAt: time.exactOptional(),
  revokedByOid: oid.exactOptional(),
  revokedAt: time.exactOptional(),
});

/** The stored record as an Approval; a forbidden refusal naming the first thing wrong when it is not a valid one. */
function fromEntity(entity: TableEntityResult<Record<string, unknown>>): Approval {
  const parsed = STORED_APPROVAL.safeParse(entity);
  if (parsed.success) {
    const { rowKey, ...approval } = parsed.data;
    return { id: rowKey, ...approval };
  }
  const approvalId = String(entity.rowKey).slice(0, 64);
  const issue = parsed.error.issues[0];
  const where = issue ? `${issue.path.join('.') || 'record'}: ${issue.message}` : 'invalid';
  throw new ToolError(
    'forbidden',
    `Approval ${approvalId} as stored is not a valid approval (${where}), so it cannot be used, decided or revoked. Request a new approval, and tell the operators: the approvals table may have been edited outside the app.`,
    { rule: INVALID_RECORD_RULE, approvalId },
  );
}
