#!/usr/bin/env bash
# `-o ro` refuses every change with EROFS and changes nothing; reads still work. Lazy files read on a
# read-only mount too (issue 11 item 8): computed into memory, or into `cache_dir=DIR`, never into the
# backing folder; a computed file there whose source changed since is computed again, not served.
source "$(dirname "$0")/mount_common.inc" "$@"

mkdir -p "$WORK/src" "$WORK/mnt"
cp -r "$FIXTURES/simple_zarr3_dataset" "$WORK/src/ds"
cp -r "$FIXTURES/simple_zarr3_dataset" "$WORK/src/ds_b"
chmod -R u+w "$WORK/src"
# ds_b has a lazy registration (.wkfs/lazy.json, nothing computed): a read-only mount that starts
# its lazy engine and lists the lazy mag must not write either.
mount_wkfs "$WORK/src/ds_b" "$WORK/mnt"
"$WKFS" ctl "$WORK/mnt/color" downsample-mag-list 1 2-2-1 > /dev/null
"$WKFS" unmount "$WORK/mnt"
rm -f "$WORK/src/ds_b/.wkfs/mount.lock"
# A temp file of an interrupted atomic write: a writable mount removes it, a read-only one leaves it.
echo junk > "$WORK/src/ds/datasource-properties.json.wkfs-tmp.7"
tree_digest "$WORK/src" > "$WORK/before"
(cd "$WORK/src" && find . | sort) > "$WORK/before_names"  # folders too: no .wkfs/ for a lock
mount_wkfs "$WORK/src" "$WORK/mnt" -o ro
M=$WORK/mnt/ds
RO="Read-only file system"
diff -r -x '*.wkfs-tmp.*' "$WORK/src/ds" "$M" || fail "read through a read-only mount"
expect_failure "$RO" mkdir "$M/color/2"
expect_failure "$RO" rmdir "$M/color/1"
expect_failure "$RO" rm -r "$M/color"
expect_failure "$RO" mv "$M/color" "$M/colour"
expect_failure "$RO" ln -s ../../ds_b/color/1 "$M/color/2"
expect_failure "$RO" setfattr -n user.wk.bounding_box -v 0,0,0,1,1,1 "$M/color"
expect_failure "$RO" setfattr -n user.other -v x "$M/color"
expect_failure "$RO" sh -c "echo '{}' > '$M/datasource-properties.json'"
expect_failure "$RO" touch "$M/new-file"
expect_failure "$RO" sh -c "echo x >> '$M/color/1/zarr.json'"
expect_failure "$RO" truncate -s 0 "$M/color/1/zarr.json"
expect_failure "$RO" chmod 600 "$M/color/1/zarr.json"
expect_failure "$RO" "$WKFS" ctl "$M/color" add-mag 2
expect_failure "$RO" "$WKFS" ctl "$M" add-layer seg --category segmentation
diff <(tree_digest "$WORK/src") "$WORK/before" || fail "a read-only mount changed the backing folder"
diff <(cd "$WORK/src" && find . | sort) "$WORK/before_names" || fail "a read-only mount added or removed a name"
# The start-up with pyramid=auto (registers pyramids on writable mounts only) and listing every
# name, lazy ones included, write nothing either.
mount_wkfs "$WORK/src" "$WORK/ro2" -o ro,pyramid=auto
ls -lR "$WORK/ro2" > /dev/null
ls "$WORK/ro2/ds_b/color" | grep -qx 2-2-1 || fail "the lazy mag is not listed on the read-only mount"
"$WKFS" unmount "$WORK/ro2"
diff <(tree_digest "$WORK/src") "$WORK/before" || fail "a read-only mount with pyramid=auto changed the backing folder"
diff <(cd "$WORK/src" && find . | sort) "$WORK/before_names" || fail "a read-only pyramid=auto mount added a name"
getfattr -d -m user.wk "$M/color" | grep -q 'user.wk.read_only="true"' || fail "read_only attribute"
"$WKFS" unmount "$WORK/mnt"

# --- lazy files on a read-only mount ------------------------------------------------------------------
# A uint8 color layer (100x90x40, 32^3 shards) with 2-2-2 and 4-4-4 registered lazily; 2-2-2 computed
# into the backing folder by a writable mount, then a corner of mag 1 rewritten with no mount (one of
# the four 2-2-2 files there is stale now, and the 4-4-4 file computed from it). The read-only mounts must serve the new data everywhere.
L=$WORK/lz
mkdir -p "$L/src" "$L/cache"
LZ=$L/check.py
cat > "$LZ" <<'PYEOF'
# python3 check.py WKFS L COMMAND: the data and the checks of the lazy part of read_only_mount.sh.
import os, subprocess, sys
import numpy as np

WKFS, L, CMD = sys.argv[1], sys.argv[2], sys.argv[3]
SIZE = (100, 90, 40)
MAGS = [2, 4]


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def step(a, f):
    """One library step of a color layer: zero padding to the aligned region, median of each f^3 block
    (an even count: the mean of the middle two, truncated)."""
    C, X, Y, Z = a.shape
    t = [-(-n // f) for n in (X, Y, Z)]
    p = np.zeros((C, t[0] * f, t[1] * f, t[2] * f), a.dtype)
    p[:, :X, :Y, :Z] = a
    b = p.reshape(C, t[0], f, t[1], f, t[2], f).transpose(0, 1, 3, 5, 2, 4, 6).reshape(C, *t, f ** 3)
    srt = np.sort(b, -1)
    n = f ** 3
    lo, hi = srt[..., n // 2 - 1], srt[..., n // 2]
    return np.trunc((lo.astype(np.float64) + hi.astype(np.float64)) / 2).astype(a.dtype)


if CMD == "gen":  # mag-1 data, and the patch that rewrites its corner later
    rng = np.random.default_rng(7)
    a = rng.integers(0, 256, (1, *SIZE), dtype=np.uint8)
    a.tofile(f"{L}/mag1.raw")
    patch = rng.integers(0, 256, (1, 32, 32, 32), dtype=np.uint8)
    patch.tofile(f"{L}/patch.raw")
    a[:, :32, :32, :32] = patch
    np.save(f"{L}/patched.npy", a)
elif CMD == "check":  # MNT: every lazy file reads, every lazy mag equals the reference
    mnt = sys.argv[4]
    ref = np.load(f"{L}/patched.npy")
    files = 0
    for m in MAGS:
        for d, _, names in os.walk(f"{mnt}/ds/color/{m}"):
            for n in names:
                if n == "zarr.json":
                    continue
                with open(os.path.join(d, n), "rb") as f:
                    if not f.read():
                        fail(f"{os.path.join(d, n)} read empty")
                files += 1
    want_files = 2 * 2 * 1 + 1  # 2-2-2: 50x45x20 voxels in 32^3 shards; 4-4-4: 25x23x10, one shard
    if files != want_files:
        fail(f"{files} lazy files listed, expected {want_files}")
    a = ref
    for m in MAGS:
        a = step(a, 2)
        r = a.shape[1:]
        box = ",".join(map(str, (0, 0, 0, *(n * m for n in r))))
        p = subprocess.run([WKFS, "read", f"{mnt}/ds", "--layer", "color", "--mag", f"{m}", "--bbox", box],
                           capture_output=True)
        if p.returncode != 0:
            fail(f"wkfs read mag {m}: {p.stderr.decode()}")
        got = np.frombuffer(p.stdout, np.uint8)
        if got.size != a.size:
            fail(f"mag {m}: {got.size} voxels read, expected {a.size}")
        bad = int((got.reshape(a.shape) != a).sum())
        if bad:
            fail(f"mag {m}: {bad} of {a.size} voxels differ from the numpy reference (stale files served?)")
    print(f"  {files} lazy files read; mags {MAGS} equal the numpy reference")
PYEOF
lz() { "$PY" "$LZ" "$WKFS" "$L" "$@"; }
lz gen
"$WKFS" create "$L/src/ds" --voxel-size 1,1,1
"$WKFS" add-layer "$L/src/ds" color --category color --dtype uint8 --channels 1 --format zarr3 \
  --chunk-shape 16 --shard-shape 32 > /dev/null
"$WKFS" write "$L/src/ds" --layer color --mag 1 --bbox 0,0,0,100,90,40 < "$L/mag1.raw"
mount_wkfs "$L/src" "$L/rw"
"$WKFS" ctl "$L/rw/ds/color" downsample-mag-list 1 2 4 --chunk-shape 16 --shard-shape 32 > /dev/null
find "$L/rw/ds/color/2" -type f ! -name zarr.json -exec cat {} + > /dev/null  # 2-2-2 computed, in the backing folder
"$WKFS" unmount "$L/rw"
rm -f "$L/src/ds/.wkfs/mount.lock"
[[ $(find "$L/src/ds/color/2" -type f ! -name zarr.json | wc -l) == 4 ]] || fail "the writable mount did not store 2-2-2"
[[ $(find "$L/src/ds/color/4" -type f ! -name zarr.json | wc -l) == 0 ]] || fail "4-4-4 computed by the writable mount"
sleep 0.05
"$WKFS" write "$L/src/ds" --layer color --mag 1 --bbox 0,0,0,32,32,32 < "$L/patch.raw"  # no mount: offline
tree_digest "$L/src" > "$L/before"
(cd "$L/src" && find . -printf '%p %T@\n' | sort) > "$L/before_names"  # names and times of everything
unchanged() {
  diff <(tree_digest "$L/src") "$L/before" > /dev/null || fail "$1 changed the backing files"
  diff <(cd "$L/src" && find . -printf '%p %T@\n' | sort) "$L/before_names" || fail "$1 changed names or times in the backing folder"
}

# memory: every file reads, the data are the new ones, nothing in the backing folder changes
mount_wkfs "$L/src" "$L/ro" -o ro
lz check "$L/ro" || fail "lazy files on a read-only mount (memory)"
"$WKFS" unmount "$L/ro"
unchanged "a read-only mount computing lazy files in memory"

# cache_dir: the files go there only; a second mount with the same folder computes nothing again
MOUNTS+=("$L/ro" "$L/cache")  # unmounted at exit should a refused mount happen anyway
expect_failure "read-only mounts" "$WKFS" mount "$L/src" "$L/ro" -o "cache_dir=$L/cache"
expect_failure "inside SOURCE" "$WKFS" mount "$L/src" "$L/ro" -o "ro,cache_dir=$L/src"
expect_failure "does not exist" "$WKFS" mount "$L/src" "$L/ro" -o "ro,cache_dir=$L/nowhere"
expect_failure "inside the mount point" "$WKFS" mount "$L/src" "$L/cache" -o "ro,cache_dir=$L/cache"
is_mounted "$L/ro" && fail "a refused cache_dir mounted"
mount_wkfs "$L/src" "$L/ro" -o "ro,cache_dir=$L/cache"
lz check "$L/ro" || fail "lazy files on a read-only mount (cache_dir)"
"$WKFS" unmount "$L/ro"
unchanged "a read-only mount with cache_dir"
cached() { (cd "$L/cache" && find . -type f ! -name source-scan.json -printf '%p %T@ %s\n' | sort); }
cached > "$L/cached"
# what the cache must hold: the 4-4-4 file, and the one 2-2-2 file the patch made stale (of 4)
[[ $(grep -c '/color/4/' "$L/cached") == 1 ]] || fail "4-4-4 not in the cache: $(cat "$L/cached")"
[[ $(grep -c '/color/2/' "$L/cached") == 1 ]] || fail "not just the stale 2-2-2 files in the cache: $(cat "$L/cached")"
grep -qv '^\./ds-[0-9a-f]*/color/[24]/c/' "$L/cached" && fail "the cache holds other files: $(cat "$L/cached")"
mount_wkfs "$L/src" "$L/ro" -o "ro,cache_dir=$L/cache"
lz check "$L/ro" || fail "lazy files on a second read-only mount with the same cache_dir"
"$WKFS" unmount "$L/ro"
diff <(cached) "$L/cached" || fail "the second mount computed again what the cache held"
unchanged "a second read-only mount with cache_dir"
echo "read_only_mount: ok"
