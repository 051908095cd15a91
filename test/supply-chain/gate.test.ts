import { describe, expect, it } from '@jest/globals';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The supply-chain gate as CI runs it (node dist/dev/supply-chain/gate.js): the real lockfile and reviewed lists
 * pass, and each planted problem in a fixture lockfile (the clean fixture plus one change) fails the gate with a
 * message that names the package.
 */
const FIXTURES = 'test/fixtures/supply-chain';
const GATE = 'dist/dev/supply-chain/gate.js';

function gate(args: string[]): { status: number | null; stdout: string; problems: string[] } {
  const run = spawnSync(process.execPath, [GATE, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { status: run.status, stdout: run.stdout, problems: run.stderr.split('\n').filter((line) => line.startsWith('  [')) };
}

function fixture(lockfile: string, ...extra: string[]): ReturnType<typeof gate> {
  return gate(['--lockfile', join(FIXTURES, lockfile), '--config', join(FIXTURES, 'config'), ...extra]);
}

describe('the supply-chain gate on the real lockfile', () => {
  it("passes, printing the vendored advisory snapshot's date (and a warning, not a failure, while it was never refreshed)", () => {
    const snapshot = JSON.parse(readFileSync('supply-chain/advisories.json', 'utf8')) as { refreshedAt: string | null };
    const run = gate([]);
    expect(run.problems).toEqual([]);
    expect(run.status).toBe(0);
    expect(run.stdout).toContain(`advisory snapshot supply-chain/advisories.json refreshed ${snapshot.refreshedAt ?? 'never'}`);
    if (snapshot.refreshedAt === null) expect(run.stdout).toContain('WARNING the advisory snapshot has never been refreshed');
  });

  it('refuses a never-refreshed snapshot in --online mode, without asking the registry', () => {
    const run = gate(['--online', '--advisories', join(FIXTURES, 'config', 'advisories.json')]);
    expect(run.status).toBe(1);
    expect(run.problems).toEqual([
      expect.stringMatching(/^ {2}\[advisories\] snapshot: the advisory snapshot has never been refreshed .*npm run --silent supply-chain:refresh/),
    ]);
    expect(run.stdout).not.toContain('npm audit');
  });
});

describe('the supply-chain gate on planted fixture lockfiles', () => {
  it('passes the clean fixture (so each failure below comes from its one planted change)', () => {
    const run = fixture('clean-lock.json');
    expect(run.problems).toEqual([]);
    expect(run.status).toBe(0);
  });

  const cases: Array<[string, string, RegExp]> = [
    [
      'other-host-lock.json',
      'a package resolved from another host',
      /^ {2}\[lockfile-lint\] .*invalid host\(s\) for package: jose@6\.2\.17.*actual: registry\.npmjs\.example\.com/,
    ],
    ['sha1-lock.json', 'a sha1 integrity hash', /^ {2}\[lockfile-lint\] .*invalid integrity hash type for package: debug@4\.4\.3.*actual: sha1-/],
    ['no-integrity-lock.json', 'no integrity hash at all', /^ {2}\[integrity\] ms@2\.1\.3: node_modules\/ms has no integrity hash/],
    ['typosquat-scoped-lock.json', 'a typosquatted scoped name', /^ {2}\[typosquat\] @azure\/identlty: .* from @azure\/identity\./],
    ['typosquat-unscoped-lock.json', 'a typosquatted name one edit from a well-known package', /^ {2}\[typosquat\] expresss: is 1 edit away from express\./],
    [
      'lookalike-scope-lock.json',
      'a look-alike scope',
      /^ {2}\[typosquat\] @azur3: is a look-alike scope \(holding @azur3\/core-rest\) one slip from @azure\./,
    ],
    ['separator-lock.json', 'a name with its separator dropped', /^ {2}\[typosquat\] crossenv: looks the same .* from cross-env\./],
    ['homoglyph-lock.json', 'a Cyrillic homoglyph', /^ {2}\[typosquat\] "j\u043ese": is not a valid npm package name/],
    [
      'unlisted-direct-lock.json',
      'an unreviewed direct dependency',
      /^ {2}\[allow-list\] left-pad: is a direct production dependency that nobody has reviewed\. .*supply-chain\/allowed-dependencies\.json/,
    ],
    ['ranged-direct-lock.json', 'a ranged direct dependency', /^ {2}\[pinned\] jose: is declared as "\^6\.2\.17", not one exact registry version/],
    ['install-script-lock.json', 'an install script nobody reviewed', /^ {2}\[install-scripts\] ms: has an install script that nobody has reviewed/],
  ];
  it.each(cases)('fails %s (%s), naming the package', (lockfile, _what, message) => {
    const run = fixture(lockfile);
    expect(run.status).toBe(1);
    expect(run.problems.some((line) => message.test(line))).toBe(true);
  });

  it('fails when .npmrc does not turn install scripts off', () => {
    const run = fixture('clean-lock.json', '--npmrc', join(FIXTURES, 'config', 'advisories.json'));
    expect(run.status).toBe(1);
    expect(run.problems.some((line) => line.includes('[install-scripts]') && line.includes('does not set ignore-scripts=true'))).toBe(true);
  });
});

describe('the offline advisory check', () => {
  it('fails on a high advisory whose range covers the installed version', () => {
    const run = fixture('clean-lock.json', '--advisories', join(FIXTURES, 'advisories-affecting.json'));
    expect(run.status).toBe(1);
    expect(run.problems).toEqual([
      expect.stringMatching(/^ {2}\[advisories\] jose@6\.2\.17: is affected by high advisory https:\/\/github\.com\/advisories\/GHSA-fixt-ure0-0001/),
    ]);
  });

  it('passes a critical advisory for versions we do not have, a moderate one, and one for a package not installed', () => {
    const run = fixture('clean-lock.json', '--advisories', join(FIXTURES, 'advisories-not-affecting.json'));
    expect(run.problems).toEqual([]);
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('refreshed 2026-01-01T00:00:00.000Z');
  });

  it('passes an affecting advisory accepted by a reviewed, unexpired exception', () => {
    const run = fixture(
      'clean-lock.json',
      '--advisories',
      join(FIXTURES, 'advisories-affecting.json'),
      '--advisory-exceptions',
      join(FIXTURES, 'exceptions-accepted.json'),
    );
    expect(run.problems).toEqual([]);
    expect(run.status).toBe(0);
  });

  it('fails when the acceptance has expired', () => {
    const run = fixture(
      'clean-lock.json',
      '--advisories',
      join(FIXTURES, 'advisories-affecting.json'),
      '--advisory-exceptions',
      join(FIXTURES, 'exceptions-expired.json'),
    );
    expect(run.status).toBe(1);
    expect(run.problems).toEqual([
      expect.stringMatching(/^ {2}\[advisories\] jose@6\.2\.17: the accepted exception for high advisory .* expired on 2025-06-30/),
    ]);
  });

  it('refreshes the snapshot from the bulk advisory endpoint (a local double), and the gate then fails on what it wrote', async () => {
    const received: Array<{ method: string | undefined; url: string | undefined; body: Record<string, string[]> }> = [];
    const advisories = JSON.parse(readFileSync(join(FIXTURES, 'advisories-affecting.json'), 'utf8')) as { advisories: unknown };
    const server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => {
        body += chunk.toString('utf8');
      });
      request.on('end', () => {
        received.push({ method: request.method, url: request.url, body: JSON.parse(body) as Record<string, string[]> });
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(advisories.advisories));
      });
    });
    await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
    const dir = mkdtempSync(join(tmpdir(), 'sovereign-mcp-advisories-'));
    try {
      const out = join(dir, 'advisories.json');
      const registry = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
      const child = spawn(
        process.execPath,
        ['dist/dev/supply-chain/refresh-advisories.js', '--lockfile', join(FIXTURES, 'clean-lock.json'), '--out', out, '--registry', registry],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString('utf8');
      });
      child.stderr.on('data', (chunk: Buffer) => {
        output += chunk.toString('utf8');
      });
      const status = await new Promise<number | null>((done) => child.on('close', done));
      expect({ status, output }).toEqual({ status: 0, output: expect.stringContaining('5 packages asked, 1 advisories for 1 of them') });
      expect(received).toEqual([
        {
          method: 'POST',
          url: '/-/npm/v1/security/advisories/bulk',
          body: { '@azure/identity': ['4.13.1'], debug: ['4.4.3'], ms: ['2.1.3'], jose: ['6.2.17'], esbuild: ['0.28.2'] },
        },
      ]);
      const snapshot = JSON.parse(readFileSync(out, 'utf8')) as { refreshedAt: string; source: string };
      expect(Date.now() - Date.parse(snapshot.refreshedAt)).toBeLessThan(3_600_000);
      expect(snapshot.source).toBe(`${registry}-/npm/v1/security/advisories/bulk`);
      const run = fixture('clean-lock.json', '--advisories', out);
      expect(run.status).toBe(1);
      expect(run.stdout).not.toContain('WARNING');
      expect(run.problems).toEqual([expect.stringContaining('[advisories] jose@6.2.17: is affected by high advisory')]);
    } finally {
      server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
