#!/usr/bin/env bash
# Installs everything the tests need, builds with warnings as errors, and runs every test:
# unit tests, end-to-end tests that really mount and the reliability harness (gcc build), then the unit
# tests again under ASan+UBSan and the fuzz smoke runs (one clang tree, tests/sanitized.sh).
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
bash "$src/tools/setup.sh" --tests
# zarrita (Zarr v3 reader for Node) for the third-party reader tests
npmdir="$src/build/npm"
if [ ! -d "$npmdir/node_modules/zarrita" ]; then
  mkdir -p "$npmdir"
  # errors stay visible: behind a TLS-intercepting proxy npm needs its CA (NODE_EXTRA_CA_CERTS)
  (cd "$npmdir" && npm install --no-audit --no-fund --loglevel=error zarrita@0.7 @zarrita/storage@0.2 >/dev/null)
fi
export WKFS_NODE_MODULES="$npmdir"
# unit tests make many small atomic writes (two fsyncs each): a tmpfs keeps them fast
if [ -z "${TMPDIR:-}" ] && [ -w /dev/shm ]; then export TMPDIR=/dev/shm; fi
status=0
# The main ctest mostly waits (servers starting, serial mounts: 8m40 of wall time for 3 min of CPU, measured
# on 2 cores), so the sanitized clang tree is built meanwhile, at the lowest CPU priority.
sanlog="$src/build/sanitized-build.log"
bash "$src/tests/sanitized.sh" --build-only >"$sanlog" 2>&1 &
sanbuild=$!
(cd "$src/build" && ctest --output-on-failure -j2 --timeout 1200) || status=$?
if ! wait $sanbuild; then
  echo "the sanitized build failed, see $sanlog:"; tail -40 "$sanlog"; exit 1
fi
bash "$src/tests/sanitized.sh" -LE 'e2e|reliability' || status=$?
exit $status
