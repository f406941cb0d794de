# Sourced by scripts/start.sh, bench.sh and test.sh (after cd to the checkout): `ensure_deps` installs the locked
# dependencies when node_modules is missing or older than package-lock.json. Progress goes to stderr.
# onnxruntime-node's CPU binaries ship in the package; never fetch CUDA ones.
export ONNXRUNTIME_NODE_INSTALL_CUDA=skip

ensure_deps() {
  if [ ! -d node_modules ] || [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "learnstream: installing dependencies (npm ci)..." >&2
    # npm 11 writes lockfiles without the other platforms' optional native bindings (@unrs/resolver-binding-*) and its
    # own `npm ci` then rejects them as out of sync; `npm install` installs the same locked versions.
    npm ci --no-audit --no-fund >&2 || {
      echo "npm ci refused the lockfile; installing the locked versions with npm install" >&2
      npm install --no-audit --no-fund >&2
    }
  fi
}
