#!/bin/sh
# Bundles the app with esbuild into dist/bundle/app/: start.js (the Functions entry point, functions/start.ts) and
# host.js (the local host, dev/host/start.ts), with shared chunks. Loading a few large files instead of hundreds of
# small ones is most of a cold start; the Azure SDKs and @azure/identity stay in chunks of their own, loaded on
# first use as in the unbundled build, and so do the Azure Monitor exporter and the OpenTelemetry SDK (loaded after
# the first answer: 75-110 ms of CPU from a chunk against 350-420 ms from their hundreds of files). Kept out of the
# bundle: the Functions host's own module and Cedar (it reads its WebAssembly file beside its module). The files sit
# three folders deep, like dist/shared/*/*.js, so paths the app finds from its own module (the policy,
# build-info.json) resolve the same. Nothing is rebuilt when no source changed since the last bundle.
#
# Also the CLIs the tests run many times, into dist/bundle/cli/: audit.js (dev/audit.ts, `npm run audit`: it starts in
# 0.11-0.14 CPU-s bundled against 0.31-0.43 from its files; run 26 times) and verify-catalogue.js
# (dev/verify-catalogue.ts, `npm run verify-catalogue`: 0.21-0.25 against 0.36-0.46 for --help; run 12 times). They
# are bundled apart from the app: beside the app's entry points they shared chunks with them, and the local host's
# start took ~140 ms more CPU (medians of 7 alternated starts). And Azurite, below.
#
# `dev/bundle.sh --package <sources> <folder> <metafile>`: the deployed app (infra/scripts/package.sh) — the Functions
# entry point <sources>/functions/start.ts alone, without source maps, into <folder>; its packages are resolved from
# the node_modules above <sources> (the package's production install, not this repository's); esbuild's metafile goes
# to <metafile>, where the packaging reads which packages stayed outside the bundle and which went into it.
set -eu
cd "$(dirname "$0")/.."

esbuild="$PWD/node_modules/.bin/esbuild"
bundle() {
  "$esbuild" "$@" \
    --bundle --splitting --format=esm --platform=node --target=node20 --minify \
    --external:@azure/functions-core --external:@cedar-policy/cedar-wasm \
    --banner:js="import { createRequire as __bundleRequire } from 'node:module'; const require = __bundleRequire(import.meta.url);" \
    --log-level=warning
}

if [ "${1:-}" = "--package" ]; then
  [ -n "${2:-}" ] && [ -n "${3:-}" ] && [ -n "${4:-}" ] || { echo "bundle.sh: --package needs a sources folder, an output folder and a metafile path" >&2; exit 2; }
  rm -rf "$3"
  mkdir -p "$3"
  out="$(cd "$3" && pwd)"
  case "$4" in /*) metafile="$4" ;; *) metafile="$PWD/$4" ;; esac
  # From the folder that holds the sources: the module paths esbuild writes into the bundle are relative to it, so a
  # commit bundles to the same bytes wherever it is staged (and the package digest is reproducible).
  cd "$2/.."
  bundle start="$(basename "$2")/functions/start.ts" --outdir="$out" --metafile="$metafile"
  exit 0
fi

# Azurite (the sandbox's storage) as one file, rebuilt when the installed packages or this script change: it reads
# a few large files instead of hundreds, and starts in 0.59-0.63 CPU-s against 0.73-1.10 from its package (3 starts
# each); a test run starts it 27 times. dev/sandbox/azurite.ts runs it (its package's entry point when the file is
# absent). The database drivers Azurite loads only for SQL metadata stores (never used here) stay out.
azurite=dist/bundle/azurite/azurite.cjs
if [ ! -f "$azurite" ] || [ -n "$(find package-lock.json node_modules/.package-lock.json dev/bundle.sh -newer "$azurite" -print 2>/dev/null | head -n 1)" ]; then
  "$esbuild" node_modules/azurite/dist/src/azurite.js --bundle --platform=node --format=cjs --target=node20 --outfile="$azurite.next" \
    --external:tedious --external:pg --external:pg-hstore --external:mysql2 --external:mariadb --external:sqlite3 \
    --external:oracledb --external:ibm_db --external:snowflake-sdk --log-level=error
  mv "$azurite.next" "$azurite"
fi

out=dist/bundle/app
stamp=dist/bundle/.stamp
# Rebuilt when a source, this script or the installed packages (npm's record of them) changed since the last bundle.
if [ -f "$stamp" ] && [ -z "$(find functions shared dev package-lock.json node_modules/.package-lock.json -newer "$stamp" -print 2>/dev/null | head -n 1)" ]; then
  exit 0
fi
cli=dist/bundle/cli
rm -rf "$out" "$cli"
mkdir -p "$out" "$cli"
touch "$stamp.next"
bundle start=functions/start.ts host=dev/host/start.ts --sourcemap --outdir="$out"
bundle audit=dev/audit.ts verify-catalogue=dev/verify-catalogue.ts --sourcemap --outdir="$cli"
mv "$stamp.next" "$stamp"
