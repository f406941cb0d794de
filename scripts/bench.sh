#!/usr/bin/env bash
# `npm run bench -- <scenario>`: install what is missing (as `npm start` does), then run bench/index.ts, so every
# scenario runs on a fresh clone with that one command. Each scenario starts the services it needs itself.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
ensure_deps
exec node node_modules/tsx/dist/cli.mjs bench/index.ts "$@"
