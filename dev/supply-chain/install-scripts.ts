import { existsSync, readFileSync } from 'node:fs';
import type { InstallScriptPolicy } from './config.js';
import type { Finding } from './finding.js';
import type { Lockfile } from './lockfile.js';

const POLICY = 'supply-chain/install-scripts.json';

/** Whether the project's .npmrc turns dependency install scripts off (`ignore-scripts=true`). */
export function scriptsDisabled(npmrc: string): boolean {
  if (!existsSync(npmrc)) return false;
  return readFileSync(npmrc, 'utf8')
    .split('\n')
    .some((line) => line.replace(/\s/g, '').toLowerCase() === 'ignore-scripts=true');
}

/**
 * Install scripts are the usual way a compromised package runs code on a developer's or CI machine, so `.npmrc`
 * turns them off for everything and each package in the lockfile that has one is reviewed: allowed (CI runs it
 * explicitly) or blocked with the reason the project does not need it.
 */
export function checkInstallScripts(lock: Lockfile, policy: InstallScriptPolicy, npmrc: string): Finding[] {
  const findings: Finding[] = [];
  if (!scriptsDisabled(npmrc))
    findings.push({
      check: 'install-scripts',
      subject: npmrc,
      message: "does not set ignore-scripts=true: every dependency's install script would run on npm ci. Restore the line.",
    });
  const withScripts = new Set(lock.packages.filter((entry) => entry.hasInstallScript).map((entry) => entry.registryName));
  for (const name of [...withScripts].sort()) {
    if (name in policy.allowed || name in policy.blocked) continue;
    findings.push({
      check: 'install-scripts',
      subject: name,
      message: `has an install script that nobody has reviewed. Read it; if the project works without it add "${name}" with the reason to "blocked" in ${POLICY}, if it truly needs it add it to "allowed" (and run it in .ci/run with npm rebuild --ignore-scripts=false ${name}).`,
    });
  }
  for (const name of [...Object.keys(policy.allowed), ...Object.keys(policy.blocked)]) {
    if (!withScripts.has(name))
      findings.push({
        check: 'install-scripts',
        subject: name,
        message: `is listed in ${POLICY} but no package of that name in the lockfile has an install script: remove it from the list.`,
      });
  }
  return findings;
}
