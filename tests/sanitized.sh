#!/usr/bin/env bash
# The test suite again under AddressSanitizer + UndefinedBehaviorSanitizer (issue 11): its own build
# tree (build-asan/, -O1), every unit, e2e and reliability test; the fuzz targets are sanitized
# already in their own tree. Any report fails the test that triggered it.
#   tests/sanitized.sh [CTEST_ARGS...]
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build="$src/build-asan"
# Warnings are errors in the main build only: with ASan, GCC 12 warns falsely inside libstdc++
# (maybe-uninitialized in std::regex, array-bounds in std::fill) on code that builds clean there.
cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" \
  -DWKFS_SANITIZE=ON -DWKFS_WERROR=OFF >/dev/null
cmake --build "$build" -j"$(nproc)"
# halt_on_error: a report ends the process, so the test sees a failure; the daemon's exit code
# is what e2e scripts check after unmount.
export ASAN_OPTIONS="abort_on_error=0:halt_on_error=1:detect_leaks=1:exitcode=86${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
cd "$build"
ctest --output-on-failure -j2 --timeout 1200 -LE fuzz "$@"
