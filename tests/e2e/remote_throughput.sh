#!/usr/bin/env bash
# Reading a remote Zarr3 mag through the mount beside curl fetching the same objects with the same
# parallelism, in the same run, against the same nginx (https, HTTP/2 offered): prints the ratio.
# Asserts only that the bytes are right (sha256 of every shard through the mount = the served file).
source "$(dirname "$0")/mount_common.inc" "$@"
source "$(dirname "$0")/remote_common.inc"

# A dataset of 16 shard files of 4 MiB (random bytes: serving files needs no decoding).
D=$WORK/root/big
mkdir -p "$D/color/1"
"$PY" - "$D" <<'PYEOF'
import json, os, sys
d = sys.argv[1]
props = {"id": {"name": "big", "team": ""}, "scale": [1, 1, 1], "dataLayers": [{
    "name": "color", "category": "color", "elementClass": "uint8", "dataFormat": "zarr3", "numChannels": 1,
    "boundingBox": {"topLeft": [0, 0, 0], "width": 1024, "height": 1024, "depth": 64},
    "mags": [{"mag": [1, 1, 1], "path": "./color/1"}]}]}
json.dump(props, open(f"{d}/datasource-properties.json", "w"))
meta = {"zarr_format": 3, "node_type": "array", "shape": [1, 1024, 1024, 64], "data_type": "uint8",
        "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [1, 256, 256, 64]}},
        "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}}, "fill_value": 0,
        "codecs": [{"name": "bytes", "configuration": {"endian": "little"}}], "dimension_names": ["c", "x", "y", "z"]}
json.dump(meta, open(f"{d}/color/1/zarr.json", "w"))
for x in range(4):
    for y in range(4):
        os.makedirs(f"{d}/color/1/c/0/{x}/{y}", exist_ok=True)
        open(f"{d}/color/1/c/0/{x}/{y}/0", "wb").write(os.urandom(4 << 20))
PYEOF
start_nginx "$WORK/root"
SHARDS=$(cd "$D" && find color/1/c -type f | sort)
(cd "$D" && sha256sum $SHARDS) > "$WORK/want"
M=$WORK/mnt
now() { date +%s.%N; }
# awk, not bc: bc is not on a bare Debian root (fresh-root)
mb_s() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", 64 / (b - a) }'; }

# one curl process for all objects: one TLS handshake, connections reused, as the daemon has
CURL_ARGS=()
for f in $SHARDS; do CURL_ARGS+=(-o /dev/null "https://127.0.0.1:$HTTPS/big/$f"); done
fetch() { if [[ $1 == 1 ]]; then curl -sf --cacert "$CA" "${CURL_ARGS[@]}"; else curl -sf --no-progress-meter --cacert "$CA" --parallel --parallel-max "$1" "${CURL_ARGS[@]}"; fi; }
for p in 1 4; do
  fetch $p  # the server's page cache warm for both
  t0=$(now)
  fetch $p
  t1=$(now)
  mount_wkfs "https://127.0.0.1:$HTTPS/big" "$M" -o ca_file="$CA"
  ls -R "$M" > /dev/null  # names and sizes first (HEADs), as any reader lists before it reads
  t2=$(now)
  printf '%s\n' $SHARDS | xargs -P $p -I{} cat "$M/{}" > /dev/null
  t3=$(now)
  (cd "$M" && sha256sum $SHARDS) | diff - "$WORK/want" > /dev/null || fail "wrong bytes through the mount"
  "$WKFS" unmount "$M"
  curl_rate=$(mb_s "$t0" "$t1"); mount_rate=$(mb_s "$t2" "$t3")
  # the same files from a local mount of the served folder (in the page cache, as nginx serves them): what FUSE itself allows here now
  mount_wkfs "$D" "$M" -o ro
  t4=$(now)
  printf '%s\n' $SHARDS | xargs -P $p -I{} cat "$M/{}" > /dev/null
  t5=$(now)
  "$WKFS" unmount "$M"
  local_rate=$(mb_s "$t4" "$t5")
  echo "[ measure ] 64 MiB in 16 objects, $p in parallel: curl $curl_rate MB/s, through the mount (cold) $mount_rate MB/s, ratio $(awk -v m="$mount_rate" -v c="$curl_rate" 'BEGIN { printf "%.2f", m / c }'); a local mount of the served folder (page cache) $local_rate MB/s"
done
echo "remote_throughput: ok"
