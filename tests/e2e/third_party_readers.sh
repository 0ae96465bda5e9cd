#!/usr/bin/env bash
# Readers that are not ours read the fixtures through the mount and get the known values:
# Debian's python3-zarr (Zarr v2) and npm zarrita (Zarr v3 with sharding).
source "$(dirname "$0")/mount_common.inc" "$@"

mkdir -p "$WORK/src" "$WORK/mnt"
cp -r "$FIXTURES/simple_zarr_dataset" "$WORK/src/v2"
cp -r "$FIXTURES/simple_zarr3_dataset" "$WORK/src/v3"
cp -r "$FIXTURES/simple_zarr3_dataset" "$WORK/src/copy"
chmod -R u+w "$WORK/src"
mount_wkfs "$WORK/src" "$WORK/mnt"
# A zstd-compressed sharded mag written by wkfs: the fixture's mag copied with compression.
"$WKFS" ctl "$WORK/mnt/copy/color" delete-mag 1 > /dev/null
"$WKFS" ctl "$WORK/mnt/copy/color" add-copy-mag "$WORK/mnt/v3/color/1" --compress true > /dev/null
grep -q zstd "$WORK/src/copy/color/1/zarr.json" || fail "the copied mag is not zstd-compressed: $(cat "$WORK/src/copy/color/1/zarr.json")"

"$PY" - "$WORK/mnt/v2/color/1-1-1" <<'PYEOF'
import sys
import numpy as np
import zarr
a = zarr.open(sys.argv[1], mode="r")[:]
x, y, z = np.meshgrid(np.arange(24), np.arange(24), np.arange(24), indexing="ij")
want = ((576 * x + 24 * y + z) % 256).astype(np.uint8)
for c in range(a.shape[0]):
    assert (a[c, :24, :24, :24] == want).all(), f"channel {c} differs"
print("python3-zarr: ok", a.shape)
PYEOF

NODE_DIR=${WKFS_NODE_MODULES:-$WORK/node}
if [[ ! -d "$NODE_DIR/node_modules/zarrita" ]]; then
  mkdir -p "$NODE_DIR"
  (cd "$NODE_DIR" && npm init -y > /dev/null && npm install --silent --no-audit --no-fund zarrita @zarrita/storage > /dev/null) ||
    fail "npm install zarrita failed (set WKFS_NODE_MODULES to a folder with node_modules/zarrita)"
fi
cat > "$NODE_DIR/read.mjs" <<'JSEOF'
import * as zarr from "zarrita";
import { FileSystemStore } from "@zarrita/storage";
const store = new FileSystemStore(process.argv[2]);
const arr = await zarr.open(store, { kind: "array" });
const { data, shape, stride } = await zarr.get(arr);
let bad = 0;
for (let c = 0; c < shape[0]; c++)
  for (let x = 0; x < 24; x++)
    for (let y = 0; y < 24; y++)
      for (let z = 0; z < 24; z++) {
        const v = data[c * stride[0] + x * stride[1] + y * stride[2] + z * stride[3]];
        if (v !== (576 * x + 24 * y + z) % 256) bad++;
      }
if (bad) { console.error(`zarrita: ${bad} wrong values`); process.exit(1); }
console.log("zarrita: ok", shape);
JSEOF
(cd "$NODE_DIR" && node read.mjs "$WORK/mnt/v3/color/1") || fail "zarrita read of the Zarr3 fixture"
(cd "$NODE_DIR" && node read.mjs "$WORK/mnt/copy/color/1") || fail "zarrita read of the zstd mag wkfs wrote"
"$WKFS" unmount "$WORK/mnt"
echo "third_party_readers: ok"
