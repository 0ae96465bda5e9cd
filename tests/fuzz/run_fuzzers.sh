#!/usr/bin/env bash
# Builds the libFuzzer targets with clang and runs each for a fixed number of inputs.
#   tests/fuzz/run_fuzzers.sh [RUNS] [BUILD_DIR] [--built]   (RUNS default 20000; 0 = run until stopped)
# --built: BUILD_DIR is a configured WKFS_FUZZ tree whose targets are built (the fuzz_smoke test in the
# sanitized tree: tests/sanitized.sh builds it), so nothing is configured or built here.
# Longer runs: tests/fuzz/run_fuzzers.sh 0, or run one target by hand with -max_total_time=600.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
runs=${1:-20000}
build=${2:-$src/build-fuzz}
names=$(cd "$src/tests/fuzz" && ls fuzz_*.cpp | sed 's/\.cpp$//')
if [ "${3:-}" != --built ]; then
  cmake -S "$src" -B "$build" -DCMAKE_CXX_COMPILER=clang++ -DWKFS_FUZZ=ON -DWKFS_TESTS=OFF \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  # only the fuzz targets (and the engine they link), not the CLI and the FUSE daemon
  for n in $names; do cmake --build "$build" --target "$n" -j"$(nproc)" >/dev/null; done
fi
for n in $names; do
  [ -x "$build/tests/fuzz/$n" ] || { echo "fuzz target $n was not built in $build" >&2; exit 1; }
done
status=0
shopt -s nullglob
targets=("$build"/tests/fuzz/fuzz_*)
[ ${#targets[@]} -gt 0 ] || { echo "no fuzz targets were built" >&2; exit 1; }
for t in "${targets[@]}"; do
  [ -x "$t" ] || continue
  name=$(basename "$t")
  corpus="$build/corpus/$name"; mkdir -p "$corpus"
  seeds="$src/tests/fuzz/seeds/$name"
  args=(-runs="$runs" -max_len=65536 -rss_limit_mb=2048)
  [ "$runs" = 0 ] && args=(-max_len=65536 -rss_limit_mb=2048)
  if [ -d "$seeds" ]; then dirs=("$corpus" "$seeds"); else dirs=("$corpus"); fi
  if "$t" "${args[@]}" "${dirs[@]}" >"$build/$name.log" 2>&1; then
    echo "fuzz $name: ok ($(grep -Eo 'Done [0-9]+ runs' "$build/$name.log" | tail -1))"
  else
    echo "fuzz $name: FAILED, see $build/$name.log"; tail -30 "$build/$name.log"; status=1
  fi
done
exit $status
