#!/usr/bin/env bash
# The test suite again under AddressSanitizer + UndefinedBehaviorSanitizer (issue 11), in ONE clang
# tree that also holds the libFuzzer targets (build/sanitized, -O1, line tables only: enough for the
# reports' stacks, and smaller objects to compile and link): building the project a third time
# for the fuzzers alone would cost CI another ~6 minutes on 2 cores. Any report fails the test that
# triggered it. The README's test command runs it with -LE 'e2e|reliability' (unit tests + fuzz smoke);
# with no arguments it runs everything, e2e and reliability too (~25 min here).
#   tests/sanitized.sh [CTEST_ARGS...]
#   tests/sanitized.sh --build-only      (configure and build, at the lowest CPU priority)
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build="${WKFS_SANITIZED_BUILD:-$src/build/sanitized}"
# Warnings are errors in the main (gcc) build only.
cmake -S "$src" -B "$build" -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" -DWKFS_FUZZ=ON -DWKFS_TESTS=ON -DWKFS_WERROR=OFF >/dev/null
if [ "${1:-}" = --build-only ]; then
  exec nice -n 19 cmake --build "$build" -j"$(nproc)"
fi
cmake --build "$build" -j"$(nproc)"
# halt_on_error: a report ends the process, so the test sees a failure; the daemon's exit code
# is what e2e scripts check after unmount.
export ASAN_OPTIONS="abort_on_error=0:halt_on_error=1:detect_leaks=1:exitcode=86${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
# the soak's RSS cap is for the real allocator; ASan's shadow and quarantine are not the daemon's
export WKFS_SANITIZED=1
cd "$build"
ctest --output-on-failure -j2 --timeout 1200 "$@"
