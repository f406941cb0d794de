#!/usr/bin/env bash
# `npm start`: install what is missing, then hand over to the TypeScript orchestrator (scripts/start.ts), which brings
# the stack up, prepares topics and schemas, starts every stage, the API and a demo event source, and stops all of it
# on Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
export ONNXRUNTIME_NODE_INSTALL_CUDA=skip
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "learnstream: installing dependencies (npm ci)..." >&2
  npm ci --no-audit --no-fund >&2
fi
exec node node_modules/tsx/dist/cli.mjs scripts/start.ts "$@"
