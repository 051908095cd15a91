import { TableClient } from '@azure/data-tables';
import { ContainerClient } from '@azure/storage-blob';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { waitFor as poll } from '../../helpers/poll.js';
import type { TestStack } from '../../helpers/stack.js';
import { AUDIT_CLI } from '../../helpers/cli.js';

/** What the hostile tests read of an audit record. */
export interface StoredRecord {
  correlationId: string;
  traceId?: string;
  entrance: string;
  path: string;
  httpStatus: number;
  authenticated: boolean;
  callerOid?: string;
  callerName?: string;
  tool?: string;
  risk?: string;
  decision?: string;
  rule?: string;
  outcome: string;
  errorCode?: string;
  approvalId?: string;
  approverOid?: string;
  azureRequestIds?: string[];
  [key: string]: unknown;
}

/** The tamper-evident copy of the audit trail, read straight from the audit container in Azurite. */
export function auditChain(stack: TestStack) {
  let container: ContainerClient | undefined;
  const open = async () => {
    if (container) return container;
    const token = await stack.sandbox.mintStorageToken();
    container = new ContainerClient(stack.sandbox.auditContainerUrl, { getToken: async () => ({ token, expiresOnTimestamp: Date.now() + 3_000_000 }) });
    return container;
  };

  /** Every stored record, writer by writer, in stored order. */
  async function records(): Promise<StoredRecord[]> {
    const client = await open();
    const names: string[] = [];
    for await (const blob of client.listBlobsFlat()) if (blob.name.endsWith('.jsonl')) names.push(blob.name);
    names.sort();
    const all: StoredRecord[] = [];
    for (const name of names) {
      const text = (await client.getBlobClient(name).downloadToBuffer()).toString('utf8');
      for (const line of text.split('\n')) if (line.trim() !== '') all.push(JSON.parse(line) as StoredRecord);
    }
    return all;
  }

  /** Polls the store until `done` holds (bounded), then returns what it holds. */
  const waitFor = (done: (records: StoredRecord[]) => boolean, ms = 20_000): Promise<StoredRecord[]> => poll(records, done, ms);

  /** `npm run audit -- <args>` against this stack's store and vault: exit code and output. */
  async function cli(...args: string[]): Promise<{ code: number; output: string }> {
    const dir = mkdtempSync(join(tmpdir(), 'hostile-audit-cli-'));
    const runtime = join(dir, 'runtime.json');
    writeFileSync(
      runtime,
      JSON.stringify({
        auditContainerUrl: stack.sandbox.auditContainerUrl,
        vaultUrl: stack.sandbox.vaultUrl,
        anchorTableEndpoint: stack.sandbox.tableEndpoint,
      }),
    );
    try {
      const { stdout } = await promisify(execFile)(process.execPath, [AUDIT_CLI, ...args], {
        env: { ...process.env, SANDBOX_RUNTIME_FILE: runtime, SANDBOX_DATA_DIR: stack.dataDir },
      });
      return { code: 0, output: stdout };
    } catch (error) {
      const failed = error as { code: number; stdout: string; stderr: string };
      return { code: failed.code, output: failed.stdout + failed.stderr };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  /** `npm run audit -- verify` against this stack's store: exit code and output. */
  const verify = () => cli('verify');

  return { records, waitFor, verify, cli };
}

/** A W3C traceparent with a fresh trace id: sent with a request, it comes back as the audit record's traceId. */
export function newTraceparent(): { traceparent: string; traceId: string } {
  const traceId = randomBytes(16).toString('hex');
  return { traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01`, traceId };
}

/** The audit container and the anchors table, as an auditor reaches them (the sandbox identity's storage token). */
export async function auditStorage(stack: TestStack): Promise<{ container: ContainerClient; anchors: TableClient }> {
  const token = await stack.sandbox.mintStorageToken();
  const credential = { getToken: async () => ({ token, expiresOnTimestamp: Date.now() + 3_000_000 }) };
  return {
    container: new ContainerClient(stack.sandbox.auditContainerUrl, credential),
    anchors: new TableClient(stack.sandbox.tableEndpoint, 'auditanchors', credential),
  };
}
