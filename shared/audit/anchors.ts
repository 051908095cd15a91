import type { TokenCredential } from '@azure/identity';
import { GENESIS_HASH, anchorMac } from './chain.js';
import type { AuditKey } from './audit-key.js';
import { asRestError } from '../azure/rest-error.js';
import { loadOnFirstUse } from '../runtime/load-on-first-use.js';

/**
 * A writer's registration and the head of its chain, kept outside the audit container (Table storage): who may
 * write a chain, and how far it had got. Authenticated with the audit key, so neither an unknown writer nor a
 * shorter chain can be passed off as the app's.
 */
export interface WriterAnchor {
  writer: string;
  registeredAt: string;
  /** The last record anchored (0 and the genesis hash right after registration). */
  seq: number;
  hash: string;
  anchoredAt: string;
  keyVersion: string;
  /**
   * The package the writer ran (build-info.json's packageDigest, or 'development build'), fixed at registration and
   * covered by the MAC, so each record's chain names the build that wrote it. Absent on registrations made before
   * writers recorded it.
   */
  packageDigest?: string;
  mac: string;
}

export interface AnchorTable {
  /** Registers the writer (seq 0), with the package it runs, before its first record is stored. */
  register(writer: string, key: AuditKey, packageDigest: string): Promise<WriterAnchor>;
  /** Records the chain's new head; the previous head is replaced. */
  anchor(registration: WriterAnchor, seq: number, hash: string, key: AuditKey): Promise<void>;
  /** Every registered writer as stored (verification checks each MAC). */
  list(): Promise<WriterAnchor[]>;
}

export interface AnchorTableSource {
  tableEndpoint: string;
  tableName: string;
}

const PARTITION = 'writer';
const TIMEOUT_MS = 5_000;

function signedAnchor(registration: Pick<WriterAnchor, 'writer' | 'registeredAt' | 'packageDigest'>, seq: number, hash: string, key: AuditKey): WriterAnchor {
  const { writer, registeredAt, packageDigest } = registration;
  const fields = { writer, registeredAt, seq, hash, keyVersion: key.version, ...(packageDigest === undefined ? {} : { packageDigest }) };
  return { ...fields, anchoredAt: new Date().toISOString(), mac: anchorMac(key.key, fields) };
}

export function createAnchorTable(source: AnchorTableSource, credential: TokenCredential): AnchorTable {
  const client = loadOnFirstUse(async () => {
    const { TableClient } = await import('@azure/data-tables');
    return new TableClient(source.tableEndpoint, source.tableName, credential);
  });
  // The deployment creates the table; a 403 or 409 on creating it means it is there already.
  const created = loadOnFirstUse(async () => {
    try {
      await (await client()).createTable({ abortSignal: AbortSignal.timeout(TIMEOUT_MS) });
    } catch (error) {
      if (![403, 409].includes((await asRestError(error))?.statusCode ?? 0)) throw error;
    }
  });
  const table = async () => {
    await created();
    return client();
  };
  const put = async (anchor: WriterAnchor) =>
    (await table()).upsertEntity({ partitionKey: PARTITION, rowKey: anchor.writer, ...anchor }, 'Replace', { abortSignal: AbortSignal.timeout(TIMEOUT_MS) });

  return {
    async register(writer, key, packageDigest) {
      const registration = signedAnchor({ writer, registeredAt: new Date().toISOString(), packageDigest }, 0, GENESIS_HASH, key);
      await put(registration);
      return registration;
    },
    async anchor(registration, seq, hash, key) {
      await put(signedAnchor(registration, seq, hash, key));
    },
    async list() {
      const anchors: WriterAnchor[] = [];
      for await (const entity of (await table()).listEntities<Record<string, unknown>>({ queryOptions: { filter: `PartitionKey eq '${PARTITION}'` } })) {
        anchors.push({
          writer: String(entity.rowKey),
          registeredAt: String(entity['registeredAt']),
          seq: Number(entity['seq']),
          hash: String(entity['hash']),
          anchoredAt: String(entity['anchoredAt']),
          keyVersion: String(entity['keyVersion']),
          ...(typeof entity['packageDigest'] === 'string' ? { packageDigest: entity['packageDigest'] } : {}),
          mac: String(entity['mac']),
        });
      }
      return anchors;
    },
  };
}
