#!/bin/sh
# The dev build behind npm start, npm run token and npm run audit: esbuild transpiles functions/, shared/ and dev/
# into dist/ (no type check: npm test and npm run build type-check with tsc), and nothing is rebuilt when no source
# changed since the last build. Then the app's bundle (dev/bundle.sh), which npm start runs the host from.
set -eu
cd "$(dirname "$0")/.."
stamp=dist/.dev-build
if [ -f "$stamp" ] && [ -z "$(find functions shared dev package-lock.json tsconfig.json -newer "$stamp" -print | head -n 1)" ]; then
  exec sh dev/bundle.sh
fi
mkdir -p dist
# Stamped with the time the build started, so a file saved during the build is rebuilt next time.
touch "$stamp.next"
node_modules/.bin/esbuild 'functions/**/*.ts' 'shared/**/*.ts' 'dev/**/*.ts' \
  --outdir=dist --outbase=. --platform=node --format=esm --target=node20 --sourcemap --log-level=warning
mv "$stamp.next" "$stamp"
sh dev/bundle.sh
