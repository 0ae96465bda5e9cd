#!/usr/bin/env bash
# Remote datasets and mags over HTTP(S) through a real mount (nginx-light serving copies of the
# fixtures): `wkfs mount https://.../DATASET` shows every file with its exact size and its exact
# bytes (plain HTTP cannot list: the names come from the properties and the array metadata), is
# read-only (every change EROFS, logged with the URL), python3-zarr and zarrita read the same
# arrays as from the original folders; a local dataset's https:// mag is a read-only folder read
# through; `ln -s URL LAYER/MAG` is refused naming add-remote-mag; -o overlay=DIR takes changes
# and the served files stay as they were.
source "$(dirname "$0")/mount_common.inc" "$@"
source "$(dirname "$0")/remote_common.inc"

copy_fixtures "$WORK/root" simple_zarr3_dataset simple_zarr_dataset simple_wkw_dataset
start_nginx "$WORK/root"
# a remote dataset whose mag's path is another URL (the library's add_remote_mag, then uploaded)
url_mag_dataset "$WORK/root/url_mag_dataset" simple_zarr3_dataset "https://127.0.0.1:$HTTPS/simple_zarr3_dataset/color/1"
tree_digest "$WORK/root" > "$WORK/served_before"
RO="Read-only file system"

cat > "$WORK/same_v2.py" <<'PYEOF'
import sys
import numpy as np
import zarr
a, b = (zarr.open(p, mode="r")[:] for p in sys.argv[1:3])
assert a.shape == b.shape and a.dtype == b.dtype and (a == b).all(), "python3-zarr: arrays differ"
print("python3-zarr: same array", a.shape)
PYEOF
NODE_DIR=${WKFS_NODE_MODULES:-$WORK/node}
if [[ ! -d "$NODE_DIR/node_modules/zarrita" ]]; then
  mkdir -p "$NODE_DIR"
  (cd "$NODE_DIR" && npm init -y > /dev/null && npm install --silent --no-audit --no-fund zarrita @zarrita/storage > /dev/null) ||
    fail "npm install zarrita failed (set WKFS_NODE_MODULES to a folder with node_modules/zarrita)"
fi
cat > "$NODE_DIR/remote_same.mjs" <<'JSEOF'
import * as zarr from "zarrita";
import { FileSystemStore } from "@zarrita/storage";
const [a, b] = await Promise.all(process.argv.slice(2, 4).map(async (p) =>
  zarr.get(await zarr.open(new FileSystemStore(p), { kind: "array" }))));
if (JSON.stringify(a.shape) !== JSON.stringify(b.shape) || a.data.length !== b.data.length) process.exit(1);
for (let i = 0; i < a.data.length; i++) if (a.data[i] !== b.data[i]) { console.error("zarrita: differ at", i); process.exit(1); }
console.log("zarrita: same array", a.shape);
JSEOF

# --- remote datasets mounted directly ---------------------------------------------------------------
for d in simple_zarr3_dataset simple_zarr_dataset simple_wkw_dataset; do
  M=$WORK/mnt_$d
  mount_wkfs "https://127.0.0.1:$HTTPS/$d" "$M" -o ca_file="$CA"
  same_tree "$WORK/root/$d" "$M"
  "$WKFS" unmount "$M"
done
M=$WORK/mnt
logged=$(wc -l < "$NGINX_LOG")
mount_wkfs "http://127.0.0.1:$HTTP/simple_zarr_dataset" "$M" -o auth_token=tok-4711   # plain http
same_tree "$WORK/root/simple_zarr_dataset" "$M"
# every request carried the token (the access log's 6th field is X-Auth-Token)
access_since "$logged" | grep -v '"tok-4711"' && fail "a request without X-Auth-Token"
access_since "$logged" | grep -q '"tok-4711"' || fail "no request with X-Auth-Token"
"$PY" "$WORK/same_v2.py" "$M/color/1-1-1" "$WORK/root/simple_zarr_dataset/color/1-1-1" || fail "python3-zarr through the mount"
"$WKFS" unmount "$M"
mount_wkfs "https://127.0.0.1:$HTTPS/simple_zarr3_dataset" "$M" -o ca_file="$CA"
(cd "$NODE_DIR" && node remote_same.mjs "$M/color/1" "$WORK/root/simple_zarr3_dataset/color/1") || fail "zarrita through the mount"
expect_failure "$RO" touch "$M/new-file"
expect_failure "$RO" sh -c "echo x >> '$M/color/1/zarr.json'"
expect_failure "$RO" sh -c "echo '{}' > '$M/datasource-properties.json'"
expect_failure "$RO" truncate -s 0 "$M/color/1/zarr.json"
expect_failure "$RO" mkdir "$M/color/2"
expect_failure "$RO" rm "$M/color/1/zarr.json"
expect_failure "$RO" mv "$M/color" "$M/colour"
grep -q "https://127.0.0.1:$HTTPS/simple_zarr3_dataset" "$WORK/daemon.log" || fail "no log line names the URL: $(tail -3 "$WORK/daemon.log")"
"$WKFS" mount --help | grep -q "overlay=DIR" || fail "mount --help does not name overlay="
[[ $(json "$M/.wkfs-status" 'd["remote"]["source"]') == "https://127.0.0.1:$HTTPS/simple_zarr3_dataset" ]] || fail "status: remote source"
[[ $(json "$M/.wkfs-status" 'd["remote"]["http"]["requests"] > 0') == true ]] || fail "status: remote requests"
"$WKFS" unmount "$M"

# --- a local dataset's https:// mag --------------------------------------------------------------------
URL="https://127.0.0.1:$HTTPS/simple_zarr3_dataset/color/1"
url_mag_dataset "$WORK/local/ds" simple_zarr3_dataset "$URL"
mount_wkfs "$WORK/local" "$M" -o ca_file="$CA"
[[ -d $M/ds/color/1 ]] || fail "the remote mag is no folder in the mount"
same_tree "$WORK/root/simple_zarr3_dataset/color/1" "$M/ds/color/1"
(cd "$NODE_DIR" && node remote_same.mjs "$M/ds/color/1" "$WORK/root/simple_zarr3_dataset/color/1") || fail "zarrita through the remote mag"
expect_failure "$RO" touch "$M/ds/color/1/new"
expect_failure "$RO" sh -c "echo x > '$M/ds/color/1/zarr.json'"
grep -q "$URL/zarr.json" "$WORK/daemon.log" || fail "the refused write's log line does not name the URL"
[[ $(getfattr --only-values -n user.wk.remote_mags "$M/ds/color") == 1-1-1 ]] ||
  fail "user.wk.remote_mags: $(getfattr -d -m user.wk "$M/ds/color")"
expect_failure "Invalid argument" ln -s "$URL" "$M/ds/color/2"
grep -q "add-remote-mag" "$WORK/daemon.log" || fail "the refused ln -s does not name add-remote-mag"
[[ ! -e $WORK/local/ds/color/2 ]] || fail "ln -s URL left something behind"
# the command ln -s names: the dataset fetches the remote metadata through the mount's client (its CA file)
"$WKFS" ctl "$M/ds/color" add-remote-mag "$URL" --mag 2 > /dev/null || fail "add-remote-mag through the mount"
[[ $(json "$WORK/local/ds/datasource-properties.json" '[m["path"] for m in d["dataLayers"][0]["mags"]][-1]') == "$URL" ]] ||
  fail "add-remote-mag did not store the URL"
same_tree "$WORK/root/simple_zarr3_dataset/color/1" "$M/ds/color/2"
"$WKFS" unmount "$M"

# --- -o overlay=DIR: the overlay takes the changes, the store is never written --------------------------
mkdir -p "$WORK/overlay"
mount_wkfs "https://127.0.0.1:$HTTPS/simple_zarr3_dataset" "$M" -o ca_file="$CA",overlay="$WORK/overlay"
"$PY" - "$M/datasource-properties.json" <<'PYEOF'
import json, sys
d = json.load(open(sys.argv[1]))
d["defaultViewConfiguration"]["position"] = [1, 2, 3]
json.dump(d, open(sys.argv[1], "w"), indent=2)
PYEOF
[[ $(json "$M/datasource-properties.json" 'd["defaultViewConfiguration"]["position"]') == "[1, 2, 3]" ]] || fail "edited properties not seen"
[[ -f $WORK/overlay/datasource-properties.json ]] || fail "the edit is not in the overlay"
mkdir "$M/color/2"   # the Layer API's add_mag, in the overlay (seeded with the properties at mount)
[[ -f $WORK/overlay/color/2/zarr.json ]] || fail "the new mag is not in the overlay"
[[ $(json "$WORK/overlay/datasource-properties.json" '[m["mag"] for m in d["dataLayers"][0]["mags"]]') == "[[1, 1, 1], [2, 2, 2]]" ]] ||
  fail "the new mag is not in the overlay's properties: $(cat "$WORK/overlay/datasource-properties.json")"
echo hello > "$M/notes.txt"
[[ $(cat "$WORK/overlay/notes.txt") == hello ]] || fail "a new file is not in the overlay"
cmp "$M/color/1/c/0/0/0/0" "$WORK/root/simple_zarr3_dataset/color/1/c/0/0/0/0" || fail "remote files after changes"
ls "$M/color" | sort | tr '\n' ' ' | grep -qx "1 2 zarr.json " || fail "listing of a folder in both: $(ls "$M/color")"
expect_failure "Invalid argument" "$PY" -c 'import sys; f = open(sys.argv[1], "w"); f.write("{not json"); f.close()' \
  "$M/datasource-properties.json"   # validated as any dataset's properties
[[ $(json "$M/datasource-properties.json" 'd["defaultViewConfiguration"]["position"]') == "[1, 2, 3]" ]] || fail "a refused edit changed the properties"
"$WKFS" unmount "$M"
# mounted again over the same overlay: the changes are there, the remote files still read
mount_wkfs "https://127.0.0.1:$HTTPS/simple_zarr3_dataset" "$M" -o ca_file="$CA",overlay="$WORK/overlay"
[[ -f $M/color/2/zarr.json && $(cat "$M/notes.txt") == hello ]] || fail "the overlay's changes after a remount"
cmp "$M/color/1/c/0/0/0/0" "$WORK/root/simple_zarr3_dataset/color/1/c/0/0/0/0" || fail "remote files after a remount"
"$WKFS" unmount "$M"

# --- a mag of a remote dataset with a URL path of its own: a folder read through from that URL ----------
mount_wkfs "https://127.0.0.1:$HTTPS/url_mag_dataset" "$M" -o ca_file="$CA"
ls "$M/color" | grep -qx 1 || fail "the URL mag is not listed in its remote layer: $(ls "$M/color")"
same_tree "$WORK/root/simple_zarr3_dataset/color/1" "$M/color/1"
"$WKFS" unmount "$M"

# --- a lazy pyramid over the remote SOURCE, computed into the overlay --------------------------------
mkdir -p "$WORK/overlay2"
mount_wkfs "https://127.0.0.1:$HTTPS/simple_zarr3_dataset" "$M" -o ca_file="$CA",overlay="$WORK/overlay2"
[[ -f $M/color/.wkfs-ctl ]] || fail "a layer only the store has gets no control file"
"$WKFS" ctl "$M/color" downsample > "$WORK/ds.json" || fail "downsample over the remote source: $(cat "$WORK/ds.json")"
[[ $(json "$WORK/ds.json" '" ".join(d["result"]["mags"])') == "2 4" ]] || fail "downsample registered $(cat "$WORK/ds.json")"
[[ -f $WORK/overlay2/color/2/zarr.json && ! -e $WORK/overlay2/color/1 ]] || fail "the lazy mags are not (only) in the overlay"
lines=$(wc -l < "$NGINX_LOG")
"$WKFS" read "$WORK/root/simple_zarr3_dataset" --layer color --mag 1 --bbox 0,0,0,24,24,24 > "$WORK/m1.raw"
"$WKFS" read "$M" --layer color --mag 2 --bbox 0,0,0,24,24,24 > "$WORK/m2.raw"
"$WKFS" read "$M" --layer color --mag 4 --bbox 0,0,0,24,24,24 > "$WORK/m4.raw"
access_since "$lines" | grep -q 'GET /simple_zarr3_dataset/color/1/' || fail "the lazy mag was not computed from the store"
ls "$WORK/overlay2/color/2/c" > /dev/null || fail "no computed file in the overlay"
"$PY" - "$WORK" <<'PYEOF' || fail "the lazy mags over the remote source differ from numpy's median"
import sys
import numpy as np
w = sys.argv[1]
def step(a):  # the library's median of 2x2x2 blocks (24 is even: no padding), rounded down
    C, X, Y, Z = a.shape
    b = a.reshape(C, X // 2, 2, Y // 2, 2, Z // 2, 2).transpose(0, 1, 3, 5, 2, 4, 6).reshape(C, X // 2, Y // 2, Z // 2, 8)
    return np.trunc(np.median(b.astype(np.float64), -1)).astype(a.dtype)
m1 = np.fromfile(f"{w}/m1.raw", np.uint8).reshape(3, 24, 24, 24)
m2, m4 = step(m1), step(step(m1))
assert m1.std() > 0, "the fixture is constant: no test"
for got, ref, name in ((f"{w}/m2.raw", m2, "2"), (f"{w}/m4.raw", m4, "4")):
    g = np.fromfile(got, np.uint8).reshape(ref.shape)
    bad = int((g != ref).sum())
    assert bad == 0, f"mag {name}: {bad} of {g.size} voxels differ"
PYEOF
"$WKFS" unmount "$M"
diff <(tree_digest "$WORK/root") "$WORK/served_before" || fail "the served files changed"
echo "remote_http: ok"
