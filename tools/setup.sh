#!/usr/bin/env bash
# Installs what wkfs needs from Debian's archive and builds build/wkfs.
#   tools/setup.sh            build dependencies, Release build in build/
#   tools/setup.sh --tests    also the test dependencies, with warnings as errors
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
tests=0; [ "${1:-}" = --tests ] && tests=1

pkgs=(build-essential cmake pkg-config nlohmann-json3-dev libblosc-dev libzstd-dev liblz4-dev zlib1g-dev
      libboost-dev libboost-filesystem-dev libboost-program-options-dev libfuse3-dev fuse3 attr
      libcurl4-openssl-dev libssl-dev libxml2-dev libsystemd-dev libxxhash-dev mold)
if [ $tests = 1 ]; then
  pkgs+=(googletest libgtest-dev libgmock-dev libbenchmark-dev clang libclang-rt-14-dev python3 python3-zarr
         python3-numcodecs python3-numpy python3-numba python3-lz4 zstd gzip systemd procps psmisc
         nginx-light openssl curl python3-botocore python3-boto3
         swift swift-proxy swift-account swift-container swift-object memcached)
  command -v node >/dev/null && command -v npm >/dev/null || pkgs+=(nodejs npm)
fi
missing=()
for p in "${pkgs[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo)
[ $tests = 1 ] && flags+=(-DWKFS_WERROR=ON -DWKFS_TESTS=ON) || flags+=(-DWKFS_TESTS=OFF)
cmake -S "$src" -B "$src/build" "${flags[@]}" >/dev/null
cmake --build "$src/build" -j"$(nproc)"
echo "setup: built $src/build/wkfs"
