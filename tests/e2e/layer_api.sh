#!/usr/bin/env bash
# Every row of the Layer API table through a real mount, checking the backing
# datasource-properties.json afterwards, and the error cases (errno and nothing changed).
source "$(dirname "$0")/mount_common.inc" "$@"

mkdir -p "$WORK/src" "$WORK/other" "$WORK/mnt"
cp -r "$FIXTURES/simple_zarr3_dataset" "$WORK/src/ds"
cp -r "$FIXTURES/simple_zarr3_dataset" "$WORK/src/ds_b"
cp -r "$FIXTURES/simple_zarr_dataset" "$WORK/other/v2"
chmod -R u+w "$WORK"
mount_wkfs "$WORK/src" "$WORK/mnt"
M=$WORK/mnt/ds
P=$WORK/src/ds/datasource-properties.json
mags() { json "$P" "sorted(m['mag'] for l in d['dataLayers'] if l['name']=='$1' for m in l['mags'])"; }
magpath() { json "$P" "[m.get('path') for l in d['dataLayers'] if l['name']=='$1' for m in l['mags'] if m['mag']==$2][0]"; }
layers() { json "$P" "[l['name'] for l in d['dataLayers']]"; }
unchanged() {  # unchanged LABEL: the backing dataset is byte-identical to the last snapshot
  diff <(tree_digest "$WORK/src/ds") "$WORK/snapshot" > /dev/null || fail "$1 changed the backing dataset"
}
snapshot() { tree_digest "$WORK/src/ds" > "$WORK/snapshot"; }

# add_mag: mkdir LAYER/MAG
mkdir "$M/color/2"
[[ $(mags color) == '[[1, 1, 1], [2, 2, 2]]' ]] || fail "mkdir color/2: mags are $(mags color)"
[[ $(magpath color '[2,2,2]') == ./color/2 ]] || fail "mkdir color/2: path $(magpath color '[2,2,2]')"
[[ -f "$WORK/src/ds/color/2/zarr.json" ]] || fail "mkdir color/2 wrote no zarr.json"
mkdir "$M/color/4-4-2"
[[ $(mags color) == '[[1, 1, 1], [2, 2, 2], [4, 4, 2]]' ]] || fail "mkdir color/4-4-2: $(mags color)"

# errors: existing mag, bad name -- and nothing changes
snapshot
expect_failure "File exists" mkdir "$M/color/2"
expect_failure "File exists" mkdir "$M/color/2-2-2"
expect_failure "Invalid argument" mkdir "$M/color/3"
unchanged "failed mkdir"

# delete_mag: rm -r LAYER/MAG; rmdir of a non-empty mag is ENOTEMPTY
expect_failure "not empty" rmdir "$M/color/2"
unchanged "rmdir of a non-empty mag"
rm -r "$M/color/2"
[[ $(mags color) == '[[1, 1, 1], [4, 4, 2]]' ]] || fail "rm -r color/2: $(mags color)"
[[ ! -e "$WORK/src/ds/color/2" ]] || fail "rm -r color/2 left the folder"
"$WKFS" ctl "$M/color" delete-mag 4-4-2 > /dev/null
[[ $(mags color) == '[[1, 1, 1]]' ]] || fail "ctl delete-mag: $(mags color)"
snapshot
expect_failure "No such file" "$WKFS" ctl "$M/color" delete-mag 8
unchanged "delete of a missing mag"

# add_symlink_mag: ln -s TARGET LAYER/MAG (relative target = make_relative)
rm -r "$WORK/mnt/ds_b/color/1" 2> /dev/null || true
ln -s ../../ds/color/1 "$WORK/mnt/ds_b/color/1"
PB=$WORK/src/ds_b/datasource-properties.json
[[ $(json "$PB" "[m['path'] for m in d['dataLayers'][0]['mags']]") == '["../ds/color/1"]' ]] ||
  fail "ln -s relative: $(json "$PB" "d['dataLayers'][0]['mags']")"
[[ -L "$WORK/src/ds_b/color/1" ]] || fail "ln -s made no symlink"
cmp "$WORK/mnt/ds_b/color/1/zarr.json" "$WORK/src/ds/color/1/zarr.json" || fail "symlinked mag unreadable"
rm "$WORK/mnt/ds_b/color/1"
[[ $(json "$PB" "d['dataLayers'][0]['mags']") == '[]' ]] || fail "rm of a symlinked mag"
[[ -d "$WORK/src/ds/color/1" ]] || fail "rm of a symlinked mag deleted the target"
ln -s "$WORK/mnt/ds/color/1" "$WORK/mnt/ds_b/color/1"
[[ $(json "$PB" "[m['path'] for m in d['dataLayers'][0]['mags']]") == "[\"$WORK/src/ds/color/1\"]" ]] ||
  fail "ln -s absolute: $(json "$PB" "d['dataLayers'][0]['mags']")"

# name setter: mv DATASET/OLD DATASET/NEW
mv "$M/color" "$M/colour"
[[ $(layers) == '["colour"]' ]] || fail "mv color colour: $(layers)"
[[ $(magpath colour '[1,1,1]') == ./colour/1 ]] || fail "mv: mag path $(magpath colour '[1,1,1]')"
[[ -d "$WORK/src/ds/colour/1" && ! -e "$WORK/src/ds/color" ]] || fail "mv: folders"
cmp "$M/colour/1/zarr.json" "$WORK/src/ds/colour/1/zarr.json" || fail "read after layer rename"
snapshot
# (mv words EINVAL from rename(2) as "subdirectory of itself"; ask rename(2) directly)
expect_failure "Invalid argument" "$PY" -c 'import os,sys; os.rename(sys.argv[1], sys.argv[2])' "$M/colour" "$M/bad name!"
unchanged "invalid layer rename"
mv "$M/colour" "$M/color"

# setters through xattrs, read-only properties listed
setfattr -n user.wk.bounding_box -v 0,0,0,32,24,24 "$M/color"
[[ $(json "$P" "d['dataLayers'][0]['boundingBox']") == '{"topLeft": [0, 0, 0], "width": 32, "height": 24, "depth": 24}' ]] ||
  fail "setfattr bounding_box: $(json "$P" "d['dataLayers'][0]['boundingBox']")"
[[ $(getfattr --only-values -n user.wk.bounding_box "$M/color") == 0,0,0,32,24,24 ]] || fail "getfattr bounding_box"
setfattr -n user.wk.default_view_configuration -v '{"color": [0, 255, 0]}' "$M/color"
[[ $(json "$P" "d['dataLayers'][0]['defaultViewConfiguration']") == '{"color": [0, 255, 0]}' ]] ||
  fail "setfattr default_view_configuration"
all=$(getfattr -d -m user.wk "$M/color")
for a in category dtype_per_layer dtype_per_channel num_channels data_format read_only mags path is_remote_to_dataset remote_mags finest_mag bounding_box default_view_configuration; do
  [[ $all == *"user.wk.$a="* ]] || fail "getfattr -d does not list $a: $all"
done
[[ $(getfattr --only-values -n user.wk.dtype_per_channel "$M/color") == uint8 ]] || fail "dtype_per_channel"
[[ $(getfattr --only-values -n user.wk.num_channels "$M/color") == 3 ]] || fail "num_channels"
[[ $(getfattr --only-values -n user.wk.data_format "$M/color") == zarr3 ]] || fail "data_format"
[[ $(getfattr --only-values -n user.wk.finest_mag "$M/color") == 1-1-1 ]] || fail "finest_mag"
snapshot
expect_failure "Invalid argument" setfattr -n user.wk.bounding_box -v 1,2,3 "$M/color"
expect_failure "Read-only file system" setfattr -n user.wk.category -v segmentation "$M/color"
unchanged "refused setfattr"

# add_layer / delete_layer through ctl, largest_segment_id, refresh
"$WKFS" ctl "$M" add-layer seg --category segmentation --dtype uint32 --format zarr3 --bounding-box 0,0,0,16,16,16 > /dev/null
[[ $(layers) == '["color", "seg"]' ]] || fail "add-layer: $(layers)"
[[ $(json "$P" "d['dataLayers'][1]['elementClass']") == uint32 ]] || fail "add-layer elementClass"
mkdir "$M/seg/1"
setfattr -n user.wk.largest_segment_id -v 7 "$M/seg"
[[ $(json "$P" "d['dataLayers'][1]['largestSegmentId']") == 7 ]] || fail "largest_segment_id setter"
"$WKFS" ctl "$M/seg" set largest-segment-id 9 > /dev/null
[[ $(json "$P" "d['dataLayers'][1]['largestSegmentId']") == 9 ]] || fail "ctl set largest-segment-id"
# The layer holds only zeros: the refreshed id is 0 (or None), replacing the 9 set above.
"$WKFS" ctl "$M/seg" refresh-largest-segment-id > "$WORK/refresh.json"
[[ $(json "$WORK/refresh.json" "d['result']") == $(json "$P" "d['dataLayers'][1].get('largestSegmentId')") ]] ||
  fail "refresh result differs from the stored id"
[[ $(json "$P" "d['dataLayers'][1].get('largestSegmentId') in (0, None)") == true ]] || fail "refresh of an all-zero layer"
expect_failure "File exists" "$WKFS" ctl "$M" add-layer seg --category segmentation
rm -r "$M/seg"
[[ $(layers) == '["color"]' ]] || fail "rm -r seg: $(layers)"
[[ ! -e "$WORK/src/ds/seg" ]] || fail "rm -r seg left the folder"
"$WKFS" ctl "$M" add-layer seg2 --category segmentation --dtype uint16 > /dev/null
"$WKFS" ctl "$M" delete-layer seg2 > /dev/null
[[ $(layers) == '["color"]' ]] || fail "ctl delete-layer: $(layers)"

# copies and references of mags from other datasets
"$WKFS" ctl "$WORK/mnt/ds_b/color" delete-mag 1 > /dev/null
"$WKFS" ctl "$WORK/mnt/ds_b/color" add-fs-copy-mag "$WORK/mnt/ds/color/1" > /dev/null
diff -r "$WORK/src/ds/color/1" "$WORK/src/ds_b/color/1" || fail "add-fs-copy-mag copy differs"
"$WKFS" ctl "$WORK/mnt/ds_b/color" delete-mag 1 > /dev/null
(cd "$WORK/mnt/ds" && "$WKFS" ctl ../ds_b/color add-copy-mag color/1 > /dev/null)  # relative to the cwd
[[ $(json "$PB" "[m['mag'] for m in d['dataLayers'][0]['mags']]") == '[[1, 1, 1]]' ]] || fail "add-copy-mag"
"$WKFS" ctl "$WORK/mnt/ds_b/color" delete-mag 1 > /dev/null
"$WKFS" ctl "$WORK/mnt/ds_b/color" add-remote-mag "$WORK/mnt/ds/color/1" > /dev/null
[[ $(json "$PB" "[m['path'] for m in d['dataLayers'][0]['mags']]") == "[\"$WORK/src/ds/color/1\"]" ]] ||
  fail "add-remote-mag: $(json "$PB" "d['dataLayers'][0]['mags']")"

# unknown commands are EINVAL, and the reason is read back from the control file
# (reserved-but-unimplemented commands answer ENOTSUP: tests/unit/fs/control_command_test.cpp)
expect_failure "unknown control command" "$WKFS" ctl "$M/color" frobnicate
"$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["ok"] is False and d["errno"] > 0, d' "$M/color/.wkfs-ctl"

# datasource-properties.json writes are validated
snapshot
write_props() { "$PY" -c 'import sys; f = open(sys.argv[1], "w"); f.write(sys.argv[2]); f.close()' "$M/datasource-properties.json" "$1"; }
expect_failure "Invalid argument" write_props '{not json'
expect_failure "Invalid argument" write_props '{"dataLayers": 3}'
expect_failure "I/O error" sh -c "echo '{broken' > '$M/datasource-properties.json'"  # dash words every errno so
unchanged "invalid properties write"
"$PY" - "$M/datasource-properties.json" <<'PYEOF'
import json, sys
p = sys.argv[1]
d = json.load(open(p))
d["dataLayers"][0]["defaultViewConfiguration"] = {"color": [1, 2, 3]}
with open(p, "w") as f:
    json.dump(d, f, indent=4)
PYEOF
[[ $(json "$P" "d['dataLayers'][0]['defaultViewConfiguration']") == '{"color": [1, 2, 3]}' ]] || fail "valid properties write"
[[ $(getfattr --only-values -n user.wk.default_view_configuration "$M/color") == '{"color":[1,2,3]}' ]] ||
  fail "xattr after a properties write: $(getfattr --only-values -n user.wk.default_view_configuration "$M/color")"

"$WKFS" unmount "$WORK/mnt"
echo "layer_api: ok"
