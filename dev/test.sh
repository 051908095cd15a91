#!/bin/sh
# Runs the built test suite (npm test builds first; npm run coverage runs this under c8).
# One file at a time leaves a core idle much of the time (deadlines, injected faults, stacks starting), so the suite
# runs on twice as many jest workers as cores. The files whose tests mostly wait out deadlines (a hung Azure call
# answered when its 15 s run out; first line `// waits:`) run in a pass of their own beside that one: in one pass,
# four of them once held all 4 workers together and left the 2 cores 55-95 % idle for 40 s (vmstat, 5 s samples).
# The files in SERIAL assert bounds that need an otherwise idle machine (/health answering in 100 ms while
# attacked), so they run afterwards, alone. Arguments (a file, a pattern, jest options) run just that, in one pass.
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
# --liftoff-only and --no-regexp-tier-up: the tests that run the app in their own process compile Cedar's WebAssembly
# and regular expressions as the app's entry points do (shared/runtime/wasm-baseline.ts, regexp-native.ts); jest's
# workers inherit them.
jest() { node --liftoff-only --no-regexp-tier-up --experimental-vm-modules node_modules/jest/bin/jest.js "$@"; }

if [ "$#" -gt 0 ]; then
  jest "$@"
  exit
fi

# Twice as many workers as cores (jest's own "200%" would mean 200 workers: it reads a share only up to 100%).
workers=${TEST_WORKERS:-$(node -p 'Math.max(1, require("node:os").availableParallelism() * 2)')}
# The waiting files use little CPU: one worker each, up to 4.
WAITING=$(for file in $(find dist/test -name '*.test.js' | sort); do head -c 9 "$file" | grep -q '^// waits:' && echo "$file"; done)
waiting_workers=$(echo "$WAITING" | wc -w)
[ "$waiting_workers" -le 4 ] || waiting_workers=4
waiting_log=.sandbox/test-waiting.log

# Every pass runs, whatever another found; the command fails if any did.
started=$(date +%s)
failed=0
echo "== Tests that mostly wait out deadlines, on $waiting_workers jest workers beside the others (their report follows theirs):"
echo "$WAITING" | sed 's/^/   /'
# In a process group of its own (setsid, where there is one) so that it stops as a whole, stacks included, when
# this script is interrupted: a background job does not get the terminal's Ctrl-C. With no file named, jest would
# run them all.
own_group=$(command -v setsid >/dev/null && echo "setsid -w" || true)
waiting=''
# (dash's kill takes no `--`: a group is named by its negative number straight after the signal. A stack's Azurite
# may be paused with SIGSTOP by its test: SIGCONT lets it act on the SIGTERM.)
stop_waiting() {
  [ -n "$waiting" ] || return 0
  target=$([ -n "$own_group" ] && echo "-$waiting" || echo "$waiting")
  kill -TERM "$target" 2>/dev/null || true
  kill -CONT "$target" 2>/dev/null || true
}
if [ -n "$WAITING" ]; then
  $own_group node --liftoff-only --no-regexp-tier-up --experimental-vm-modules node_modules/jest/bin/jest.js --maxWorkers="$waiting_workers" --runTestsByPath $WAITING > "$waiting_log" 2>&1 &
  waiting=$!
else
  echo 'No test file is marked // waits:.' > "$waiting_log"
fi
trap 'stop_waiting; exit 130' INT TERM
echo "== Tests: all the others but the serial ones, on $workers jest workers (TEST_WORKERS sets how many)"
jest --maxWorkers="$workers" --testPathIgnorePatterns $SERIAL $GROUPED $WAITING || failed=1
waiting_failed=0
[ -z "$waiting" ] || wait "$waiting" || waiting_failed=1
trap - INT TERM
echo "== The tests that wait out deadlines ($([ "$waiting_failed" = 0 ] && echo 'all passed' || echo 'some failed')), as their pass reported:"
cat "$waiting_log"
[ "$waiting_failed" = 0 ] || failed=1
echo "== Tests that need an otherwise idle machine, one at a time: $SERIAL"
jest --runInBand --runTestsByPath $SERIAL || failed=1
echo "== The whole suite took $(($(date +%s) - started)) s$([ "$failed" = 0 ] || echo ', and failed: see above')"
exit "$failed"
