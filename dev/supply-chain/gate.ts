import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { checkAdvisories, readSnapshot, snapshotStaleness } from './advisories.js';
import { readAdvisoryExceptions, readGateConfig } from './config.js';
import { checkDirectDependencies } from './direct-dependencies.js';
import { describeFinding, type Finding } from './finding.js';
import { checkInstallScripts } from './install-scripts.js';
import { readLockfile } from './lockfile.js';
import { lintLockfile } from './lockfile-lint.js';
import { checkOnline } from './online.js';
import { checkTyposquats } from './typosquat.js';

/**
 * The supply-chain gate (README "Supply chain"): offline checks of the lockfile and the reviewed lists under
 * supply-chain/, which CI runs after `npm ci` and before the tests; `--online` adds what only the registry can
 * check, for the release pipeline. Exit 0 when everything passes, 1 with one line per problem otherwise.
 * The file options exist so tests can point it at fixtures.
 */
const { values } = parseArgs({
  options: {
    online: { type: 'boolean', default: false },
    lockfile: { type: 'string', default: 'package-lock.json' },
    config: { type: 'string', default: 'supply-chain' },
    advisories: { type: 'string' },
    'advisory-exceptions': { type: 'string' },
    npmrc: { type: 'string' },
  },
});

const lockfile = resolve(values.lockfile);
const configDir = resolve(values.config);
const config = readGateConfig(configDir);
const lock = readLockfile(lockfile);
const snapshotFile = resolve(values.advisories ?? `${configDir}/advisories.json`);
const snapshot = readSnapshot(snapshotFile);
const exceptionsFile = values['advisory-exceptions'];
const exceptions = exceptionsFile ? readAdvisoryExceptions(resolve(exceptionsFile)) : config.advisoryExceptions;
const now = new Date();

const checks: Array<[string, () => Finding[]]> = [
  ['lockfile (lockfile-lint: HTTPS, registry.npmjs.org, sha512 integrity)', () => lintLockfile(lockfile, lock, config.allowed.aliases)],
  ['direct dependencies pinned and reviewed', () => checkDirectDependencies(lock, config.allowed)],
  ['typosquats', () => checkTyposquats(lock, Object.keys(config.allowed.dependencies), config.typosquat)],
  ['install scripts', () => checkInstallScripts(lock, config.installScripts, resolve(values.npmrc ?? `${dirname(lockfile)}/.npmrc`))],
  ['known advisories (vendored snapshot)', () => checkAdvisories(lock, snapshot, exceptions, now)],
];

console.log(
  `supply-chain: ${lock.packages.length} packages in ${values.lockfile}; advisory snapshot ${snapshotFile.replace(`${process.cwd()}/`, '')} refreshed ${snapshot.refreshedAt ?? 'never'}`,
);
const stale = snapshotStaleness(snapshot, now);
const findings: Finding[] = [];
if (stale) {
  // A release needs current advisory data: the online mode refuses a stale snapshot without asking the registry.
  if (values.online)
    findings.push({
      check: 'advisories',
      subject: 'snapshot',
      message: `${stale}: run npm run --silent supply-chain:refresh first (the release pipeline does), then the online gate.`,
    });
  else
    console.log(
      `supply-chain: WARNING ${stale}; the offline advisory check is only as good as its data. The release pipeline refreshes it (npm run --silent supply-chain:refresh).`,
    );
}
if (values.online && !stale) checks.push(['registry signatures and live advisories (online)', () => checkOnline(dirname(lockfile))]);
for (const [title, check] of checks) {
  const found = check();
  console.log(`supply-chain: ${found.length === 0 ? 'ok  ' : 'FAIL'} ${title}`);
  findings.push(...found);
}
if (findings.length > 0) {
  console.error(`supply-chain: ${findings.length} problem${findings.length === 1 ? '' : 's'}:`);
  for (const finding of findings) console.error(`  ${describeFinding(finding)}`);
  process.exit(1);
}
console.log(
  `supply-chain: passed${values.online ? ' (offline and online checks)' : ' (offline checks; --online adds registry signatures and live advisories)'}`,
);
