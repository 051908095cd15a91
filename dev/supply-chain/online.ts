import { spawnSync } from 'node:child_process';
import type { Finding } from './finding.js';

const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

function npm(args: string[], cwd: string): { ok: boolean; output: string } {
  const run = spawnSync(NPM, args, { cwd, encoding: 'utf8', env: { ...process.env, npm_config_audit: 'true' } });
  const output = `${run.stdout ?? ''}${run.stderr ?? ''}`.trim();
  return { ok: run.status === 0, output: output || (run.error ? String(run.error.message) : `exit ${String(run.status)}`) };
}

/**
 * What only the registry can answer: the signatures (and provenance attestations) of every installed package,
 * and the live advisory database for what ships. Any problem, an unreachable service included, fails the release.
 */
export function checkOnline(projectDir: string): Finding[] {
  const findings: Finding[] = [];
  const signatures = npm(['audit', 'signatures'], projectDir);
  console.log(`npm audit signatures:\n${signatures.output}`);
  if (!signatures.ok)
    findings.push({
      check: 'online',
      subject: 'npm audit signatures',
      message:
        'failed: a package has a missing or invalid registry signature or attestation, or the registry could not be asked. Do not release until it passes.',
    });
  const audit = npm(['audit', '--omit=dev', '--audit-level=high'], projectDir);
  console.log(`npm audit --omit=dev --audit-level=high:\n${audit.output}`);
  if (!audit.ok)
    findings.push({
      check: 'online',
      subject: 'npm audit --omit=dev',
      message: 'failed: a production dependency has a high or critical advisory, or the advisory service could not be asked. Upgrade it before releasing.',
    });
  return findings;
}
