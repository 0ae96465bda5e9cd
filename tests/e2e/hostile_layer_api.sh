#!/usr/bin/env bash
# Hostile Layer-API operations through a real mount (issue 11, items 3, 4, 6, 9, 14): each one is
# refused with its errno and leaves the backing dataset as it was, or keeps it valid at every step.
source "$(dirname "$0")/mount_common.inc" "$@"

mkdir -p "$WORK/src" "$WORK/mnt" "$WORK/outside"
cp -r "$FIXTURES/simple_zarr3_dataset" "$WORK/src/ds"
cp -r "$FIXTURES/simple_zarr3_dataset" "$WORK/src/ds_b"
chmod -R u+w "$WORK"
mount_wkfs "$WORK/src" "$WORK/mnt"
M=$WORK/mnt/ds
P=$WORK/src/ds/datasource-properties.json
mags() { json "$P" "sorted(m['mag'] for l in d['dataLayers'] if l['name']=='$1' for m in l['mags'])"; }
snapshot() { tree_digest "$WORK/src" > "$WORK/snapshot"; }
unchanged() { diff <(tree_digest "$WORK/src") "$WORK/snapshot" > /dev/null || fail "$1 changed the backing folder"; }
# every listed mag of every dataset decodes, read by Debian's zarr, not by wkfs
valid() {
  "$PY" - "$WORK/src" <<'PYEOF' || fail "$1: the backing dataset is invalid"
import json, os, sys
for ds in sorted(os.listdir(sys.argv[1])):
    root = os.path.join(sys.argv[1], ds)
    d = json.load(open(os.path.join(root, "datasource-properties.json")))
    for l in d["dataLayers"]:
        for m in l["mags"]:
            p = m.get("path") or "./%s/%d" % (l["name"], m["mag"][0])
            p = p if os.path.isabs(p) else os.path.join(root, p)
            assert any(os.path.exists(os.path.join(p, f)) for f in ("zarr.json", ".zarray", "header.wkw")), (ds, m)
PYEOF
}

# item 4: a non-canonical mag name changes nothing
snapshot
expect_failure "Invalid argument" mkdir "$M/color/02"
expect_failure "Invalid argument" mkdir "$M/color/2-2-2"
unchanged "mkdir color/02"

# item 3: mv of a mag, of its metadata, of a layer into another dataset
mkdir "$M/color/2"
snapshot
expect_failure "busy" mv "$M/color/2" "$M/color/4"
expect_failure "busy" mv "$M/color/2/zarr.json" "$M/color/2/zarr.old"
"$PY" -c 'import os,sys; os.rename(sys.argv[1], sys.argv[2])' "$M/color" "$WORK/mnt/ds_b/color2" 2> "$WORK/err" &&
  fail "a layer moved into another dataset"
grep -q "Invalid cross-device link" "$WORK/err" || fail "layer into another dataset: $(cat "$WORK/err")"
unchanged "refused renames"

# item 3: rm of the metadata unlists the mag first; rm -r works and the dataset stays valid
rm "$M/color/2/zarr.json"
[[ $(mags color) == '[[1, 1, 1]]' ]] || fail "rm color/2/zarr.json left mag 2 listed: $(mags color)"
valid "rm zarr.json"
rm -r "$M/color/2"
[[ ! -e "$WORK/src/ds/color/2" ]] || fail "rm -r color/2 left the folder"
mkdir "$M/color/2" && rm -r "$M/color/2"
[[ $(mags color) == '[[1, 1, 1]]' ]] || fail "rm -r color/2: $(mags color)"
valid "rm -r"

# item 3: a properties file whose mag path is /etc is refused
snapshot
"$PY" - "$M/datasource-properties.json" <<'PYEOF' 2> "$WORK/err" && fail "a mag path of /etc was accepted"
import json, sys
d = json.load(open(sys.argv[1]))
d["dataLayers"][0]["mags"][0]["path"] = "/etc"
f = open(sys.argv[1], "w")
f.write(json.dumps(d))
f.close()  # the mount validates at close: the error is raised here
PYEOF
unchanged "properties with /etc"

# item 9: a plain link renamed to a mag name is never written through
ln -s "$WORK/outside" "$M/color/x"
mv "$M/color/x" "$M/color/4"
"$WKFS" ctl "$M/color" add-mag 4 > /dev/null 2>&1 && fail "add-mag through a symlink succeeded"
[[ -z $(ls -A "$WORK/outside") ]] || fail "add-mag wrote outside SOURCE: $(ls -A "$WORK/outside")"
rm "$M/color/4"

# item 6: shapes and boxes beyond the limits
snapshot
expect_failure "Invalid argument" "$WKFS" ctl "$M/color" add-mag 2 --chunk-shape 1024,1024,1024 --shard-shape 1024,1024,1024
expect_failure "Invalid argument" setfattr -n user.wk.bounding_box -v 0,0,0,100000000000000000,1,1 "$M/color"
unchanged "over-limit shapes and boxes"

# item 14: one command per write, UTF-8, path lengths
snapshot
"$PY" - "$M/color/.wkfs-ctl" <<'PYEOF' || fail "control replies"
import errno, json, os, sys
ctl = sys.argv[1]
def run(data):
    fd = os.open(ctl, os.O_RDWR)
    try:
        try:
            os.write(fd, data)
            err = 0
        except OSError as e:
            err = e.errno
        reply = json.loads(os.pread(fd, 65536, 0))
    finally:
        os.close(fd)
    return err, reply
err, reply = run(b"add-mag 2\nadd-mag 4\n")
assert err == errno.EINVAL and reply["ok"] is False and "one command per write" in reply["error"], (err, reply)
err, reply = run(b"add-mag \xff\xfe")
assert err == errno.EINVAL and reply["ok"] is False and "UTF-8" in reply["error"], (err, reply)
err, reply = run(b"add-symlink-mag /tmp/" + b"a" * 300)
assert err == errno.ENAMETOOLONG and reply["ok"] is False, (err, reply)
PYEOF
unchanged "bad control writes"

"$WKFS" unmount "$WORK/mnt"
echo "hostile_layer_api: ok"
