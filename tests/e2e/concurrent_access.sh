#!/usr/bin/env bash
# Two processes reading and one writing at once through the same mount.
source "$(dirname "$0")/mount_common.inc" "$@"

mkdir -p "$WORK/src" "$WORK/mnt"
cp -r "$FIXTURES/simple_zarr3_dataset" "$WORK/src/ds"
chmod -R u+w "$WORK/src"
# A bigger non-dataset file so reads and writes overlap in time.
head -c $((64 << 20)) /dev/urandom > "$WORK/src/ds/blob.bin"
mount_wkfs "$WORK/src" "$WORK/mnt"
M=$WORK/mnt/ds
reader() {
  for _ in $(seq 20); do
    cmp "$M/blob.bin" "$WORK/src/ds/blob.bin" || exit 1
    cmp "$M/color/1/zarr.json" "$WORK/src/ds/color/1/zarr.json" || exit 1
  done
}
writer() {
  for i in $(seq 20); do
    head -c $((1 << 20)) /dev/urandom > "$WORK/chunk.$i"
    cp "$WORK/chunk.$i" "$M/written.$i" && cmp "$WORK/chunk.$i" "$WORK/src/ds/written.$i" || exit 1
    mkdir "$M/color/$((2 ** (i % 3 + 1)))" 2> /dev/null && rm -r "$M/color/$((2 ** (i % 3 + 1)))"
  done
}
reader & r1=$!
reader & r2=$!
writer & w=$!
wait $r1 || fail "reader 1 saw wrong data"
wait $r2 || fail "reader 2 saw wrong data"
wait $w || fail "the writer failed"
"$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); assert [m["mag"] for m in d["dataLayers"][0]["mags"]] == [[1,1,1]], d' \
  "$WORK/src/ds/datasource-properties.json" || fail "properties after concurrent mkdir/rm"
"$WKFS" unmount "$WORK/mnt"
is_mounted "$WORK/mnt" && fail "stale mount"
echo "concurrent_access: ok"
