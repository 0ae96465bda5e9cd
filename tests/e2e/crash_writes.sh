#!/usr/bin/env bash
# Issue 11 items 1 and 2 through a real mount: a chunk file of mag 1 rewritten directly (O_TRUNC and
# writes, in-place pwrite, fsync, close) with the daemon killed (-9) at several points. After each
# remount, checked on the backing folder with python3-zarr (not wkfs's code): the file is the old or
# the new complete version (the one the point of the kill implies), no wkfs temp file is left, and
# every computed file of the lazy mags equals numpy's eager computation from the current mag 1.
source "$(dirname "$0")/mount_common.inc" "$@"

B=$WORK/ds
M=$WORK/mnt
"$WKFS" create "$B" --voxel-size 1,1,1 > /dev/null
"$WKFS" add-layer "$B" color --category color --dtype uint8 --format zarr --chunk-shape 32 > /dev/null
"$PY" -c 'import numpy as np; np.random.default_rng(5).integers(0, 256, (1, 128, 128, 64), dtype=np.uint8).tofile("'"$WORK"'/raw")'
"$WKFS" write "$B" --layer color --bbox 0,0,0,128,128,64 < "$WORK/raw" || fail "wkfs write"

mount_wkfs "$B" "$M"
"$WKFS" ctl "$M/color" downsample-mag-list 1 2-2-1 4-4-2 > /dev/null || fail "downsample"

TARGET=color/1/0/1/1/0  # c=0, chunk x=1, y=1, z=0 of mag 1
OTHER=color/1/0/2/2/1   # its bytes are the "new" version: a valid chunk file with other data
sha() { sha256sum "$1" | cut -d' ' -f1; }
NEW=$(sha "$B/$OTHER")

kill_daemon() {
  pkill -9 -f "wkfs mount $B" || true
  for _ in $(seq 50); do pgrep -f "wkfs mount $B" > /dev/null || break; sleep 0.1; done
  umount -l "$M" 2> /dev/null || fusermount3 -uz "$M" 2> /dev/null || true
}

check() {  # check WANT(old|new|absent) OLD_SHA: the backing folder after a crash and a remount
  "$PY" - "$B" "$TARGET" "$1" "$2" "$NEW" <<'PYEOF' || fail "check after a crash ($1)"
import os, sys, hashlib
import numpy as np, zarr
B, target, want, old, new = sys.argv[1:]
if want == "absent":  # created, never closed: it must not appear
    assert not os.path.exists(os.path.join(B, target)), f"{target}: a file that was never complete appeared"
else:
    got = hashlib.sha256(open(os.path.join(B, target), "rb").read()).hexdigest()
    assert got == (old if want == "old" else new), f"{target}: not the {want} version ({got[:12]})"
for root, dirs, files in os.walk(B):
    for n in files + dirs:
        assert ".wkfs-tmp." not in n, f"temp file left: {os.path.join(root, n)}"

def step(a, f):  # the library's median step: zero padding, dy fastest, then dx, then dz
    C, X, Y, Z = a.shape
    t = [-(-n // k) for n, k in zip((X, Y, Z), f)]
    p = np.zeros((C, t[0] * f[0], t[1] * f[1], t[2] * f[2]), a.dtype)
    p[:, :X, :Y, :Z] = a
    b = p.reshape(C, t[0], f[0], t[1], f[1], t[2], f[2])
    s = np.stack([b[:, :, dx, :, dy, :, dz] for dz in range(f[2]) for dx in range(f[0]) for dy in range(f[1])], -1)
    srt = np.sort(s, -1)
    n = s.shape[-1]
    if n % 2:
        return srt[..., n // 2]
    return np.trunc((srt[..., n // 2 - 1].astype(np.float64) + srt[..., n // 2]) / 2).astype(a.dtype)

prev, prev_mag, computed = zarr.open(os.path.join(B, "color", "1"), mode="r")[:], (1, 1, 1), 0
for mag in ("2-2-1", "4-4-2"):
    m = tuple(int(v) for v in mag.split("-"))
    ref = step(prev, tuple(a // b for a, b in zip(m, prev_mag)))
    d = os.path.join(B, "color", mag)
    arr = zarr.open(d, mode="r")
    cs = arr.chunks
    for root, _, files in os.walk(d):
        for n in files:
            rel = os.path.relpath(os.path.join(root, n), d)
            if n.startswith("."):
                continue
            idx = tuple(int(v) for v in rel.split("/"))
            box = tuple(slice(i * c, min((i + 1) * c, s)) for i, c, s in zip(idx, cs, ref.shape))
            got_v, ref_v = arr[box], ref[box]
            bad = int((got_v != ref_v).sum())
            assert bad == 0, f"{mag}/{rel}: {bad} voxels differ from the eager computation of the current sources"
            computed += 1
    prev, prev_mag = ref, m
print(f"ok: {target} is {want}, {computed} computed lazy files equal the eager result")
PYEOF
}

# scenario NAME WANT PYTHON: materializes, runs PYTHON (a write through the mount that stops at a
# point and holds its file open), kills the daemon there, remounts, checks.
scenario() {
  local name=$1 want=$2 code=$3 old
  "$WKFS" ctl "$M/color" materialize --wait > /dev/null || fail "materialize before $name"
  old=$(sha "$B/$TARGET")
  rm -f "$WORK/ready"
  "$PY" -c "
import os, time
new = open('$B/$OTHER', 'rb').read()
path = '$M/$TARGET'
$code
open('$WORK/ready', 'w').close()
time.sleep(60)
" 2> /dev/null &
  local writer=$!
  for _ in $(seq 100); do [[ -e $WORK/ready ]] && break; sleep 0.05; done
  [[ -e $WORK/ready ]] || fail "$name: the writer did not get to its point"
  kill_daemon
  kill -9 "$writer" 2> /dev/null || true
  wait "$writer" 2> /dev/null || true
  mount_wkfs "$B" "$M"
  echo "$name: $(check "$want" "$old")"
  # one more time after the mount has read everything it lists: stale files were recomputed
  find "$M/color" -type f -exec cat {} + > /dev/null || fail "$name: a listed file cannot be read"
  if [[ $want == absent ]]; then check absent ""; else check "$want" "$(sha "$B/$TARGET")"; fi > /dev/null
}

scenario trunc-half-written old '
fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
os.write(fd, new[: len(new) // 2])'
scenario inplace-half-written old '
fd = os.open(path, os.O_RDWR)
os.pwrite(fd, new[: len(new) // 2], 0)'
scenario trunc-written-fsynced new '
fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
os.write(fd, new[:1000]); os.write(fd, new[1000:])
os.fsync(fd)'
scenario written-closed new '
fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
os.write(fd, new); os.close(fd)'
scenario created-half-written absent '
os.unlink(path)
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
os.write(fd, new[:100])'
"$WKFS" unmount "$M"
echo "crash_writes: ok"
