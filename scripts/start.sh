#!/usr/bin/env bash
# `npm start`: install what is missing, then hand over to the TypeScript orchestrator (scripts/start.ts), which brings
# the stack up, prepares topics and schemas, starts every stage, the API and a demo event source, and stops all of it
# on Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
ensure_deps
exec node node_modules/tsx/dist/cli.mjs scripts/start.ts "$@"
