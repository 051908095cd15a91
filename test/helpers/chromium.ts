import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { chromium, type Browser } from 'playwright-core';

/**
 * The Chromium the browser tests drive comes from the npm registry, like everything else the tests need: the
 * headless build inside the pinned @sparticuz/chromium package (no apt step, no browser download). The package
 * unpacks it into the system temp folder, which other checkouts on the machine share; it is unpacked here instead
 * into a folder of this checkout per package version, staged and renamed into place so a half-unpacked copy is
 * never used. CHROMIUM_PATH names another Chromium (a platform the package does not serve).
 */
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const run = promisify(execFile);

async function unpackedChromium(): Promise<string> {
  // The package exports no package.json; the tests run from the repository root.
  const { version } = JSON.parse(readFileSync(resolve('node_modules', '@sparticuz', 'chromium', 'package.json'), 'utf8')) as { version: string };
  const cache = resolve('node_modules', '.cache', 'sovereign-mcp-chromium');
  const folder = join(cache, version);
  if (existsSync(join(folder, 'chromium'))) return join(folder, 'chromium');
  mkdirSync(cache, { recursive: true });
  const staging = mkdtempSync(join(cache, `${version}-unpacking-`));
  try {
    // The package unpacks into the temp folder it is given through TMPDIR, so a child process does it.
    await run(process.execPath, ['--input-type=module', '-e', "import chromium from '@sparticuz/chromium'; await chromium.executablePath();"], {
      env: { ...process.env, TMPDIR: staging },
      timeout: 120_000,
    });
    if (!existsSync(join(staging, 'chromium'))) throw new Error(`@sparticuz/chromium ${version} unpacked no chromium binary`);
    try {
      renameSync(staging, folder);
    } catch (error) {
      // Another test run unpacked it first: use theirs.
      if (!existsSync(join(folder, 'chromium'))) throw error;
    }
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  return join(folder, 'chromium');
}

/** A headless Chromium with a new, empty profile (Playwright makes one per launch); a clear error if it cannot start. */
export async function launchChromium(): Promise<Browser> {
  let executablePath = process.env.CHROMIUM_PATH;
  try {
    executablePath ??= await unpackedChromium();
    return await chromium.launch({ executablePath, args: ARGS });
  } catch (error) {
    throw new Error(
      `The browser tests could not start Chromium (${executablePath ?? 'unpacking @sparticuz/chromium failed'}): ${error instanceof Error ? error.message : String(error)}\n` +
        'It comes from the @sparticuz/chromium devDependency (run npm ci); on a platform that package does not serve, set CHROMIUM_PATH to a Chromium or Chrome binary.',
      { cause: error },
    );
  }
}
