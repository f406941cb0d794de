#!/usr/bin/env bash
# `npm test`: install what is missing, typecheck, lint, check the formatting (prettier), then jest with both projects:
# `unit` (no services) and `integration` (real Kafka, registry, Redis; test/global-setup.ts starts the local stack
# when it is not running and test/global-teardown.ts stops what it started). Extra arguments go to jest, e.g. `npm test -- --selectProjects unit`.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh

step() { printf '\n== %s\n' "$*"; }

ensure_deps

step "generated event types up to date (gen:types --check)"
npm run -s gen:types -- --check

step "typecheck (tsc --noEmit)"
npx tsc --noEmit -p tsconfig.json

step "lint (eslint)"
npx eslint .

step "format (prettier --check; npm run format rewrites)"
npx prettier --check . --log-level warn

# The demo page's browser test needs Debian's chromium: installed when missing and apt-get can run, else that suite
# skips and says so. Not for runs that only select the unit project.
case " $* " in
  *" unit "*) case " $* " in *integration*) want_browser=1 ;; *) want_browser=0 ;; esac ;;
  *) want_browser=1 ;;
esac
if [ "$want_browser" -eq 1 ]; then
  step "browser for the demo page test (chromium)"
  node node_modules/tsx/dist/cli.mjs scripts/ensure-browser.ts
fi

step "jest (unit + integration against the real stack)"
# --forceExit: a leaked socket in one suite must not keep CI waiting; the global teardown has already run by then.
# A plain `npm test` also enforces the coverage floor of jest.config.js (coverageThreshold) (88 % of lines when it was added).
results=".learnstream/jest-results.json"
mkdir -p .learnstream
set +e
if [ "$#" -eq 0 ]; then
  npx jest --ci --forceExit --coverage --coverageReporters=text-summary --json --outputFile="$results"
else
  npx jest --ci --forceExit --json --outputFile="$results" "$@"
fi
status=$?
set -e
# One plain closing line with the counts, whatever the outcome (CI reads it).
node -e 'const r = require(require("path").resolve(process.argv[1]));
  console.log(`jest: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`);' "$results" || true
[ "$status" -eq 0 ] || exit "$status"

if [ "$#" -eq 0 ]; then
  # Fault-injection suites (kill -9 of stages) run after the main suites when they exist.
  npm run --if-present test:faults
fi
