import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Finding } from './finding.js';
import type { Lockfile } from './lockfile.js';

/** The only registry this project installs from: lockfile-lint's `npm` host alias stands for it. */
export const REGISTRY = 'https://registry.npmjs.org/';

function lockfileLintBin(): string {
  const manifest = createRequire(import.meta.url).resolve('lockfile-lint/package.json');
  return join(dirname(manifest), 'bin', 'lockfile-lint.js');
}

/**
 * The maintained linter for what it checks (HTTPS only, registry.npmjs.org only, sha512 integrity, resolved URLs
 * that name the package they claim to be), plus what it leaves out: an entry with no integrity at all (npm would
 * install whatever the registry serves) and an alias nobody reviewed.
 */
export function lintLockfile(file: string, lock: Lockfile, aliases: Record<string, string>): Finding[] {
  const aliasArgs = Object.entries(aliases).map(([alias, target]) => `${alias}:${target}`);
  const run = spawnSync(
    process.execPath,
    [
      lockfileLintBin(),
      '--path',
      file,
      '--type',
      'npm',
      '--allowed-hosts',
      'npm',
      '--validate-https',
      '--validate-integrity',
      '--validate-package-names',
      ...(aliasArgs.length ? ['--allowed-package-name-aliases', ...aliasArgs] : []),
      '--format',
      'plain',
    ],
    { encoding: 'utf8' },
  );
  const findings: Finding[] = [];
  if (run.status !== 0) {
    const report = `${run.stdout}${run.stderr}`
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line && !line.startsWith('Error: security issues'));
    findings.push({
      check: 'lockfile-lint',
      subject: file,
      message: `${report.join(' | ')}. Every package must come from ${REGISTRY} over HTTPS with a sha512 integrity hash: reinstall it from the registry (npm install --save-exact <name>@<version>).`,
    });
  }
  for (const entry of lock.packages) {
    if (entry.link) continue;
    if (!entry.integrity)
      findings.push({
        check: 'integrity',
        subject: `${entry.registryName}@${entry.version}`,
        message: `${entry.path} has no integrity hash, so npm would accept any tarball. Reinstall it from ${REGISTRY} so the lockfile records its sha512.`,
      });
    if (entry.registryName !== entry.name && aliases[entry.name] !== entry.registryName) {
      findings.push({
        check: 'alias',
        subject: entry.name,
        message: `${entry.path} installs ${entry.registryName} under another name; if that is intended, add "${entry.name}": "${entry.registryName}" to "aliases" in supply-chain/allowed-dependencies.json after review.`,
      });
    }
  }
  return findings;
}
