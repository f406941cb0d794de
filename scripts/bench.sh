#!/usr/bin/env bash
# `npm run bench -- <scenario>`: install what is missing (as `npm start` does), then run bench/index.ts, so every
# scenario runs on a fresh clone with that one command. Each scenario starts the services it needs itself.
set -euo pipefail
cd "$(dirname "$0")/.."
export ONNXRUNTIME_NODE_INSTALL_CUDA=skip
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "learnstream: installing dependencies (npm ci)..." >&2
  npm ci --no-audit --no-fund >&2
fi
exec node node_modules/tsx/dist/cli.mjs bench/index.ts "$@"
