import { readFileSync } from 'node:fs';

/**
 * The deployed package's digest, as infra/scripts/package.sh records it in build-info.json at the package root
 * (the SHA-256 of the package's own file list, package-files.sha256): /health reports it so an operator can tell
 * which build is running. A tree that package.sh did not build has no such file: a development build.
 */
const BUILD_INFO = new URL('../../../build-info.json', import.meta.url);
// linear: anchored, fixed length: at most 71 steps.
const DIGEST = /^sha256:[0-9a-f]{64}$/;
export const DEVELOPMENT_BUILD = 'development build';

let digest: string | undefined;

function readDigest(): string {
  let text: string;
  try {
    text = readFileSync(BUILD_INFO, 'utf8');
  } catch {
    return DEVELOPMENT_BUILD;
  }
  try {
    const recorded = (JSON.parse(text) as { packageDigest?: unknown }).packageDigest;
    if (typeof recorded === 'string' && DIGEST.test(recorded)) return recorded;
  } catch {
    // falls through: a build-info.json we cannot read is reported as such, never as a digest
  }
  return 'unknown (build-info.json has no valid packageDigest)';
}

export function packageDigest(): string {
  digest ??= readDigest();
  return digest;
}
