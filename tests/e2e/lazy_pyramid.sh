#!/usr/bin/env bash
# The lazy pyramid through a real mount (issue 4): registration is metadata only, listing computes
# nothing, a read computes just what it needs, the bytes equal an eager computation done here with
# numpy from the library's semantics (read by zarrita, a reader that is not ours), writes to mag 1
# make dependent files stale, kill -9 during materialisation leaves only complete files, and a mag
# is listed in the backing properties only once complete.
source "$(dirname "$0")/mount_common.inc" "$@"

NODE_DIR=${WKFS_NODE_MODULES:-$WORK/node}
if [[ ! -d "$NODE_DIR/node_modules/zarrita" ]]; then
  mkdir -p "$NODE_DIR"
  (cd "$NODE_DIR" && npm init -y > /dev/null && npm install --silent --no-audit --no-fund zarrita @zarrita/storage > /dev/null) ||
    fail "npm install zarrita failed (set WKFS_NODE_MODULES to a folder with node_modules/zarrita)"
fi
cat > "$NODE_DIR/dump.mjs" <<'JSEOF'
// node dump.mjs ARRAY_DIR OUT: the whole array as raw little-endian bytes, C order, plus its shape.
import * as zarr from "zarrita";
import { FileSystemStore } from "@zarrita/storage";
import { writeFileSync } from "fs";
const arr = await zarr.open(new FileSystemStore(process.argv[2]), { kind: "array" });
const { data, shape, stride } = await zarr.get(arr);
// zarrita returns the layout the codecs imply (F order after a transpose codec): copy to C order
const out = new data.constructor(data.length);
let i = 0;
for (let a = 0; a < shape[0]; a++)
  for (let b = 0; b < shape[1]; b++)
    for (let c = 0; c < shape[2]; c++)
      for (let d = 0; d < shape[3]; d++) out[i++] = data[a * stride[0] + b * stride[1] + c * stride[2] + d * stride[3]];
writeFileSync(process.argv[3], Buffer.from(out.buffer, out.byteOffset, out.byteLength));
writeFileSync(process.argv[3] + ".shape", JSON.stringify({ shape, dtype: arr.dtype }));
JSEOF

W=300; H=260; D=40
"$WKFS" make-demo "$WORK/ds" --size $W,$H,$D > /dev/null
cp -r "$WORK/ds" "$WORK/ds_auto"
mount_wkfs "$WORK/ds" "$WORK/mnt"
M=$WORK/mnt

lazy() {  # lazy LAYER MAG FIELD: a counter of the mount's status
  "$WKFS" ctl "$M" status > "$WORK/status.json"
  json "$WORK/status.json" "[m['$3'] for v in d['lazy'].values() for m in v['mags'] if m['layer']=='$1' and m['mag']=='$2'][0]"
}

# 1. registration: metadata only
"$WKFS" ctl "$M/color" downsample > "$WORK/reply.json"
[[ $(json "$WORK/reply.json" "d['result']['mags']") == '["2-2-1", "4-4-2"]' ]] || fail "color pyramid: $(cat "$WORK/reply.json")"
"$WKFS" ctl "$M/segmentation" downsample > /dev/null
[[ $(lazy color 2-2-1 files_total) == 4 ]] || fail "2-2-1 should have 2x2x1 shards of 128"
[[ $(lazy color 2-2-1 files_computed) == 0 ]] || fail "downsample computed something"
[[ -z $(find "$WORK/ds/color/2-2-1" -type f ! -name zarr.json) ]] || fail "downsample wrote data files"
# the backing properties list only complete mags; the mount shows the whole pyramid
[[ $(json "$WORK/ds/datasource-properties.json" "len(d['dataLayers'][0]['mags'])") == 1 ]] || fail "backing lists a lazy mag"
[[ $(json "$M/datasource-properties.json" "[m['path'] for m in d['dataLayers'][0]['mags']]") == '["./color/1", "./color/2-2-1", "./color/4-4-2"]' ]] ||
  fail "mount does not show the lazy mags"
expect_failure "already exists" "$WKFS" ctl "$M/color" downsample-mag 1 2-2-1
expect_failure "mag" "$WKFS" ctl "$M/color" downsample --coarsest-mag 3

# 2. listing shows every file and computes nothing
n=$(find "$M/color/2-2-1" "$M/color/4-4-2" -type f ! -name zarr.json | wc -l)
[[ $n == 5 ]] || fail "listing shows $n lazy files, expected 5"
ls -lR "$M/segmentation" > /dev/null
[[ $(lazy color 2-2-1 files_computed) == 0 && $(lazy segmentation 4-4-2 files_computed) == 0 ]] || fail "listing computed files"

# 3. one read computes that file only; size is exact once open
f=$M/color/2-2-1/c/0/1/0/0
size_read=$(wc -c < "$f")
[[ $(lazy color 2-2-1 files_computed) == 1 && $(lazy color 4-4-2 files_computed) == 0 ]] || fail "a read computed more than its file"
[[ $size_read == $(stat -c %s "$WORK/ds/color/2-2-1/c/0/1/0/0") && $size_read == $(stat -c %s "$f") ]] || fail "size of a computed file"

# 4. all mags of both layers, read by zarrita from 2 processes at once, equal numpy's eager result
"$WKFS" read "$WORK/ds" --layer color --mag 1 --bbox 0,0,0,$W,$H,$D > "$WORK/color1.raw"
"$WKFS" read "$WORK/ds" --layer segmentation --mag 1 --bbox 0,0,0,$W,$H,$D > "$WORK/segmentation1.raw"
check_all() {
  local pids=()
  for lm in color/2-2-1 color/4-4-2 segmentation/2-2-1 segmentation/4-4-2; do
    (cd "$NODE_DIR" && node dump.mjs "$M/$lm" "$WORK/${lm/\//_}.raw") & pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || fail "zarrita could not read a lazy mag"; done
  "$PY" - "$WORK" $W $H $D <<'PYEOF'
import json, sys
import numpy as np
work, W, H, D = sys.argv[1], *map(int, sys.argv[2:])

def step(a, f, mode):
    # one library step (notes 5.1/5.2): zero-pad to the aligned region, reduce each block;
    # block element order dy fastest, then dx, then dz
    C, X, Y, Z = a.shape
    tx, ty, tz = -(-X // f[0]), -(-Y // f[1]), -(-Z // f[2])
    p = np.zeros((C, tx * f[0], ty * f[1], tz * f[2]), a.dtype)
    p[:, :X, :Y, :Z] = a
    b = p.reshape(C, tx, f[0], ty, f[1], tz, f[2])
    vals = [b[:, :, dx, :, dy, :, dz] for dz in range(f[2]) for dx in range(f[0]) for dy in range(f[1])]
    s = np.stack(vals, -1)
    if not mode:
        return np.trunc(np.median(s.astype(np.float64), -1)).astype(a.dtype)
    counts = (s[..., :, None] == s[..., None, :]).sum(-1)
    return np.take_along_axis(s, counts.argmax(-1)[..., None], -1)[..., 0]

for layer, dtype, mode in (("color", np.uint8, False), ("segmentation", np.uint32, True)):
    m1 = np.fromfile(f"{work}/{layer}1.raw", dtype).reshape(1, W, H, D)
    m2 = step(m1, (2, 2, 1), mode)
    m4 = step(m2, (2, 2, 2), mode)
    for name, ref in (("2-2-1", m2), ("4-4-2", m4)):
        meta = json.load(open(f"{work}/{layer}_{name}.raw.shape"))
        got = np.fromfile(f"{work}/{layer}_{name}.raw", dtype).reshape(meta["shape"])
        C, X, Y, Z = ref.shape
        assert (got[:, X:].sum() == 0 and got[:, :, Y:].sum() == 0 and got[:, :, :, Z:].sum() == 0), f"{layer} {name}: data outside the region"
        bad = int((got[:, :X, :Y, :Z] != ref).sum())
        assert bad == 0, f"{layer} {name}: {bad} voxels differ from the eager reference"
print("lazy pyramid equals the eager reference")
PYEOF
}
check_all || fail "lazy data differs from the eager reference"
[[ $(lazy color 2-2-1 files_computed) == 4 ]] || fail "a file was computed twice or not at all"

# 6. a write to mag 1 through the mount makes what depends on it stale, on every level
head -c $((20 * 20 * 10)) /dev/urandom > "$WORK/patch.raw"
"$WKFS" write "$M" --layer color --mag 1 --bbox 0,0,0,20,20,10 < "$WORK/patch.raw"
"$WKFS" read "$WORK/ds" --layer color --mag 1 --bbox 0,0,0,$W,$H,$D > "$WORK/color1.raw"
[[ $(lazy color 2-2-1 files_stale) -ge 1 && $(lazy color 4-4-2 files_stale) -ge 1 ]] || fail "no stale files after a write to mag 1"
[[ ! -e $WORK/ds/color/2-2-1/c/0/0/0/0 ]] || fail "the stale file is still stored"
check_all || fail "recomputed data differs from the eager reference"

# 8. kill -9 during materialisation, remount: every file is lazy or complete, no temp file left
"$WKFS" ctl "$M/segmentation" redownsample > /dev/null
"$WKFS" ctl "$M/segmentation" materialize > /dev/null
pkill -9 -f "wkfs mount $WORK/ds" || true
sleep 0.5
mount_wkfs "$WORK/ds" "$WORK/mnt"
[[ -z $(find "$WORK/ds" -name '*wkfs-tmp*') ]] || fail "temp files left after kill -9 and remount"
check_all || fail "data after kill -9 differs from the eager reference"

# 9. materialize --wait completes, and only then the backing properties list the mags
"$WKFS" ctl "$M/segmentation" materialize --wait > "$WORK/wait.txt" || fail "materialize --wait failed: $(cat "$WORK/wait.txt")"
grep -q "100%" "$WORK/wait.txt" || fail "no progress line: $(cat "$WORK/wait.txt")"
[[ $(json "$WORK/ds/datasource-properties.json" "[m['path'] for m in d['dataLayers'][1]['mags']]") == '["./segmentation/1", "./segmentation/2-2-1", "./segmentation/4-4-2"]' ]] ||
  fail "complete mags are not listed in the backing properties"
# -o pyramid=auto: every single-mag layer gets the library's default pyramid at mount, computed lazily
mount_wkfs "$WORK/ds_auto" "$WORK/mnt_auto" -o pyramid=auto
for i in 0 1; do
  [[ $(json "$WORK/mnt_auto/datasource-properties.json" "[m['mag'] for m in d['dataLayers'][$i]['mags']]") == '[[1, 1, 1], [2, 2, 1], [4, 4, 2]]' ]] ||
    fail "pyramid=auto did not register the default pyramid of layer $i"
done
[[ -z $(find "$WORK/ds_auto" -path '*2-2-1/c*' -type f) ]] || fail "pyramid=auto computed data at mount"
[[ $(wc -c < "$WORK/mnt_auto/color/4-4-2/c/0/0/0/0") -gt 0 ]] || fail "pyramid=auto file is empty"
M=$WORK/mnt_auto
[[ $(lazy color 4-4-2 files_computed) == 1 && $(lazy segmentation 2-2-1 files_computed) == 0 ]] || fail "pyramid=auto counters"
echo "lazy pyramid e2e: ok"
