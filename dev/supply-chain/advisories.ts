import { readFileSync } from 'node:fs';
import semver from 'semver';
import type { AdvisoryException } from './config.js';
import type { Finding } from './finding.js';
import type { Lockfile } from './lockfile.js';

/** One advisory as the npm bulk advisory endpoint returns it (what `npm audit` reads). */
export interface Advisory {
  id: number | string;
  url: string;
  title: string;
  severity: 'info' | 'low' | 'moderate' | 'high' | 'critical';
  vulnerable_versions: string;
}

/** The vendored copy of the public advisory data for the packages in our lockfile. */
export interface AdvisorySnapshot {
  source: string;
  refreshedAt: string | null;
  advisories: Record<string, Advisory[]>;
}

const EXCEPTIONS = 'supply-chain/advisory-exceptions.json';
const BLOCKING = new Set(['high', 'critical']);
export const STALE_AFTER_DAYS = 14;

export function readSnapshot(file: string): AdvisorySnapshot {
  const snapshot = JSON.parse(readFileSync(file, 'utf8')) as AdvisorySnapshot;
  if (typeof snapshot.advisories !== 'object' || snapshot.advisories === null) throw new Error(`${file}: no "advisories" object`);
  return snapshot;
}

/** Why the snapshot cannot be trusted to be current, or undefined when it can. */
export function snapshotStaleness(snapshot: AdvisorySnapshot, now: Date): string | undefined {
  if (!snapshot.refreshedAt) return 'the advisory snapshot has never been refreshed (it holds no advisory data)';
  const refreshed = Date.parse(snapshot.refreshedAt);
  if (Number.isNaN(refreshed)) return `the advisory snapshot's refreshedAt "${snapshot.refreshedAt}" is not a date`;
  const days = Math.floor((now.getTime() - refreshed) / 86_400_000);
  return days > STALE_AFTER_DAYS ? `the advisory snapshot is ${days} days old (more than ${STALE_AFTER_DAYS})` : undefined;
}

function advisoryKey(advisory: Advisory): string {
  return String(advisory.url || advisory.id);
}

/** High and critical advisories whose vulnerable range covers an installed version, less reviewed, unexpired exceptions. */
export function checkAdvisories(lock: Lockfile, snapshot: AdvisorySnapshot, exceptions: AdvisoryException[], now: Date): Finding[] {
  const findings: Finding[] = [];
  const today = now.toISOString().slice(0, 10);
  const used = new Set<AdvisoryException>();
  const installed = new Map<string, Set<string>>();
  for (const entry of lock.packages) {
    if (!entry.link) installed.set(entry.registryName, (installed.get(entry.registryName) ?? new Set()).add(entry.version));
  }
  for (const [name, versions] of installed) {
    for (const advisory of snapshot.advisories[name] ?? []) {
      if (!BLOCKING.has(advisory.severity)) continue;
      const affected = [...versions].filter((version) => semver.satisfies(version, advisory.vulnerable_versions, { includePrerelease: true }));
      if (affected.length === 0) continue;
      const accepted = exceptions.find((exception) => exception.package === name && String(exception.advisory) === advisoryKey(advisory));
      if (accepted) {
        used.add(accepted);
        if (accepted.expires >= today) continue;
        findings.push({
          check: 'advisories',
          subject: `${name}@${affected.join(', ')}`,
          message: `the accepted exception for ${advisory.severity} advisory ${advisoryKey(advisory)} ("${advisory.title}") expired on ${accepted.expires}: upgrade ${name}, or review the risk again and set a new expiry in ${EXCEPTIONS}.`,
        });
        continue;
      }
      findings.push({
        check: 'advisories',
        subject: `${name}@${affected.join(', ')}`,
        message: `is affected by ${advisory.severity} advisory ${advisoryKey(advisory)} ("${advisory.title}", vulnerable ${advisory.vulnerable_versions}). Upgrade it (npm install --save-exact, or an overrides entry for a transitive package); if it cannot be fixed yet, record a reviewed, dated exception with a reason and an expiry in ${EXCEPTIONS}.`,
      });
    }
  }
  for (const exception of exceptions) {
    if (
      !exception.reason ||
      !exception.reviewedBy ||
      !/^\d{4}-\d{2}-\d{2}$/.test(exception.reviewedOn ?? '') ||
      !/^\d{4}-\d{2}-\d{2}$/.test(exception.expires ?? '')
    ) {
      findings.push({
        check: 'advisories',
        subject: `${exception.package} ${exception.advisory}`,
        message: `the exception in ${EXCEPTIONS} needs a reason, reviewedBy, reviewedOn and expires (YYYY-MM-DD).`,
      });
    } else if (exception.expires < today && !used.has(exception)) {
      findings.push({
        check: 'advisories',
        subject: `${exception.package} ${exception.advisory}`,
        message: `the exception in ${EXCEPTIONS} expired on ${exception.expires}: remove it (the advisory no longer applies) or review it again.`,
      });
    }
  }
  return findings;
}
