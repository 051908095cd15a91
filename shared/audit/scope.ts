import { AsyncLocalStorage } from 'node:async_hooks';
import type { AuditRecord } from './record.js';

/** The record being built for the request in progress; filled in by the edge, the pipeline and the SDK policy. */
export type AuditDraft = Omit<AuditRecord, 'time' | 'durationMs' | 'httpStatus' | 'outcome'> & {
  startedAt: number;
  outcome?: AuditRecord['outcome'];
};

const scope = new AsyncLocalStorage<AuditDraft>();

/** Runs a request's work with its audit draft reachable from anywhere below (SDK policies, MCP handlers). */
export function withAudit<T>(draft: AuditDraft, work: () => Promise<T>): Promise<T> {
  return scope.run(draft, work);
}

export function currentAudit(): AuditDraft | undefined {
  return scope.getStore();
}
