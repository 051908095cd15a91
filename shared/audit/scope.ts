import { AsyncLocalStorage } from 'node:async_hooks';
import type { AuditRecord } from './record.js';

/** One HTTP call to Azure made for a request (each retry is its own call): dependency telemetry. No query string. */
export interface AzureCall {
  method: string;
  host: string;
  path: string;
  time: Date;
  durationMs: number;
  /** Absent when no response came (connection reset, timeout). */
  status?: number;
  requestId?: string;
  /** The `x-ms-client-request-id` the SDK sent: the activity log keeps it (HTTPRequest.clientRequestId). */
  clientRequestId?: string;
}

/** The record being built for the request in progress; filled in by the edge, the pipeline and the SDK policy. */
export type AuditDraft = Omit<AuditRecord, 'time' | 'durationMs' | 'httpStatus' | 'outcome'> & {
  startedAt: number;
  outcome?: AuditRecord['outcome'];
  azureCalls: AzureCall[];
};

const scope = new AsyncLocalStorage<AuditDraft>();

/** Runs a request's work with its audit draft reachable from anywhere below (SDK policies, MCP handlers). */
export function withAudit<T>(draft: AuditDraft, work: () => Promise<T>): Promise<T> {
  return scope.run(draft, work);
}

export function currentAudit(): AuditDraft | undefined {
  return scope.getStore();
}
