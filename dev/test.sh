#!/bin/sh
# Runs the built test suite (npm test builds first; npm run coverage runs this under c8).
# One file at a time leaves a core idle much of the time (deadlines, injected faults, stacks starting), so the suite
# runs on twice as many jest workers as cores: the files that wait on a deadline (a hung Azure call answered when its
# 15 s run out) leave their core to another file. On 2 cores the jest pass took 278 s on 3 workers, 238 s on 4 and
# 233 s on 5 (one run each, same code). The files in SERIAL assert bounds that need an otherwise idle machine
# (/health answering in 100 ms while attacked), so they run afterwards, alone. Arguments (a file, a pattern, jest
# options) run just that, in one pass.
set -eu
cd "$(dirname "$0")/.."

SERIAL='dist/test/hostile/bounded-cost.test.js'
# The members of the groups in test/groups/ (the files each group imports) run in their group, on its one sandbox,
# and so not again on their own.
GROUPED=$(sed -n "s|^import '\.\./\(.*\)\.test\.js';\$|dist/test/\1.test.js|p" dist/test/groups/*.test.js)

node dist/dev/sandbox/ensure-tls.js
# The tests' app processes run the bundle (dev/app-process.ts): rebuilt here when a source changed since it was made.
sh dev/bundle.sh
NODE_EXTRA_CA_CERTS=.sandbox/tls/cert.pem
export NODE_EXTRA_CA_CERTS
# Node 22 keeps what it compiled of every process the suite starts (jest's workers, Azurite, the CLIs the tests run)
# and reuses it in the next. Runs alternated with and without it, on Node 22: `dependency-cruise --version` took
# 0.62-0.64 CPU-s against 0.74-0.81, the audit CLI 0.26-0.28 against 0.29-0.37. The app's entry points turn it on
# themselves (shared/runtime/compile-cache.ts). Node 20 ignores it.
NODE_COMPILE_CACHE=${NODE_COMPILE_CACHE:-$PWD/.sandbox/compile-cache}
export NODE_COMPILE_CACHE
# --liftoff-only: the tests that build the policy engine in their own process run Cedar's WebAssembly as the app's entry
# points do (shared/runtime/wasm-baseline.ts); jest's workers inherit it.
jest() { node --liftoff-only --experimental-vm-modules node_modules/jest/bin/jest.js "$@"; }

if [ "$#" -gt 0 ]; then
  jest "$@"
  exit
fi

# Twice as many workers as cores (jest's own "200%" would mean 200 workers: it reads a share only up to 100%).
workers=${TEST_WORKERS:-$(node -p 'Math.max(1, require("node:os").availableParallelism() * 2)')}

# Both passes run, whatever the first one found; the command fails if either did.
started=$(date +%s)
failed=0
echo "== Tests: all but the serial ones, on $workers jest workers (TEST_WORKERS sets how many)"
jest --maxWorkers="$workers" --testPathIgnorePatterns $SERIAL $GROUPED || failed=1
echo "== Tests that need an otherwise idle machine, one at a time: $SERIAL"
jest --runInBand --runTestsByPath $SERIAL || failed=1
echo "== The whole suite took $(($(date +%s) - started)) s$([ "$failed" = 0 ] || echo ', and failed: see above')"
exit "$failed"
