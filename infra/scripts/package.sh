#!/usr/bin/env bash
# Builds the Function App package for Flex Consumption: the app as one esbuild bundle (dev/bundle.sh --package:
# the Functions entry point and its chunks, no source maps), the department policy it reads at run time, and only
# the production packages the bundle leaves outside it (Cedar alone) — no
# tests, dev tools, sandbox data or TypeScript sources. A bundle loads a few large files instead of hundreds of small
# ones from the instance's mounted package, which is most of a cold start.
# Every package carries its CycloneDX SBOM (sbom.cdx.json: every production dependency, bundled or installed), a SHA-256 of each of its
# files (package-files.sha256) and build-info.json, whose packageDigest (the SHA-256 of package-files.sha256) the
# app reports in /health; the zip gets <zip>.sha256 and a copy of the SBOM beside it (infra/scripts/zip-package.sh).
# Usage: infra/scripts/package.sh [output.zip]   (default: sovereign-mcp.zip in the repository root)
#        infra/scripts/package.sh --dir <folder>  (the package's files in a folder, no zip: what azd deploys)
set -euo pipefail
cd "$(dirname "$0")/../.."

dir=""
if [ "${1:-}" = "--dir" ]; then
  [ -n "${2:-}" ] || { echo "package.sh: --dir needs a folder" >&2; exit 2; }
  dir="$2"
  case "$dir" in /*) ;; *) dir="$PWD/$dir" ;; esac
else
  out="${1:-sovereign-mcp.zip}"
  case "$out" in /*) ;; *) out="$PWD/$out" ;; esac
  command -v zip >/dev/null || { echo "package.sh: 'zip' is needed (apt-get install zip)" >&2; exit 1; }
fi

echo "== Building"
[ -d node_modules ] || npm ci --no-audit --no-fund
npm run --silent build

if [ -n "$dir" ]; then
  rm -rf "$dir"
  mkdir -p "$dir"
  stage="$dir"
else
  stage="$(mktemp -d)"
  trap 'rm -rf "$stage"' EXIT
fi
mkdir -p "$stage/shared/policy"
cp host.json package.json package-lock.json "$stage/"
cp shared/policy/department.yaml shared/policy/rules.cedar "$stage/shared/policy/"

metafile="$(mktemp)"
# Removed however the script ends (with the staging folder, when it is a temporary one).
trap 'rm -f "$metafile"; [ -n "$dir" ] || rm -rf "$stage"' EXIT

echo "== Production dependencies"
# The same lockfile as the build's own npm ci: its packages are in npm's cache, so take them from there first.
(cd "$stage" && npm ci --omit=dev --ignore-scripts --prefer-offline --no-audit --no-fund >/dev/null)

echo "== Bundle"
# From a copy of the sources inside the stage, so esbuild takes every package from the production install above
# (the one the SBOM describes), never from this repository's node_modules with its dev-only packages.
# Three folders deep, as the compiled files are, so the paths the app finds from its own module resolve the same.
main=dist/bundle/app/start.js
sources="$stage/.bundle-sources"
mkdir -p "$sources"
cp -r functions shared tsconfig.json "$sources/"
sh dev/bundle.sh --package "$sources" "$stage/$(dirname "$main")" "$metafile"
rm -rf "$sources"
node infra/scripts/package-manifest.mjs "$stage/package.json" main "$main"
# Every package whose code is inside the bundle, name@version (the SBOM names each; the package test checks).
node infra/scripts/package-manifest.mjs "$stage/bundled-packages.json" bundled "$metafile"

# azd packages the folder itself and leaves node_modules out unless a .funcignore says otherwise: this one keeps
# everything staged here (the production dependencies included).
printf '%s\n' '# The staged package is exactly what is deployed: nothing to leave out.' > "$stage/.funcignore"

echo "== Bill of materials (CycloneDX, production dependencies)"
# Runs npm ls in the staged folder (no network); --validate checks the JSON against the CycloneDX schema.
node node_modules/@cyclonedx/cyclonedx-npm/bin/cyclonedx-npm-cli.js --omit dev --spec-version 1.6 --output-reproducible \
  --validate --output-format JSON --output-file "$stage/sbom.cdx.json" "$stage/package.json"

echo "== Only what the bundle leaves outside it"
# The SBOM above was taken from the whole production tree, the bundle's sources included. Now package.json keeps
# only the dependencies the bundle imports at run time, and npm prune removes the rest (the lockfile with them).
node infra/scripts/package-manifest.mjs "$stage/package.json" externals "$metafile"
(cd "$stage" && npm prune --omit=dev --ignore-scripts --prefer-offline --no-audit --no-fund >/dev/null && find node_modules -type d -empty -delete)

echo "== Integrity trail"
(cd "$stage" && find . \( -type f -o -type l \) ! -name package-files.sha256 ! -name build-info.json -print0 | LC_ALL=C sort -z \
  | xargs -0 sha256sum) > "$stage/package-files.sha256"
digest="$(sha256sum "$stage/package-files.sha256" | cut -d' ' -f1)"
commit="$(git rev-parse HEAD 2>/dev/null || echo unknown)"
printf '{\n  "packageDigest": "sha256:%s",\n  "digestOf": "package-files.sha256",\n  "commit": "%s",\n  "builtAt": "%s"\n}\n' \
  "$digest" "$commit" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" > "$stage/build-info.json"
echo "package digest sha256:$digest (the SHA-256 of package-files.sha256; /health reports it)"

if [ -n "$dir" ]; then
  echo "== Package folder: $dir ($(du -sh "$dir" | cut -f1))"
  exit 0
fi
infra/scripts/zip-package.sh "$stage" "$out"
