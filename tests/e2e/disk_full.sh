#!/usr/bin/env bash
# Issue 11 item 14: a full disk through a real mount. The dataset lives on a 4 MiB tmpfs that a
# filler file fills up; then, through the mount: (a) rewriting a chunk file (O_TRUNC + write, or
# in place) fails with ENOSPC and the file keeps its old bytes, also when the disk fills in the
# middle of the write; (b) control commands that write (add-mag, a downsample registration,
# compress) fail with ENOSPC, and the control file's reply says so; (c) a read of a lazy file not
# computed yet fails with ENOSPC or serves the right bytes, never EIO or wrong data (today ENOSPC:
# the lazy engine hands out only stored files; serving what it computed from memory when the store
# fails would be friendlier, and then the bytes served must be the ones stored later); (d) setfattr of
# a layer property and an edit of datasource-properties.json fail with ENOSPC (an edit whose fsync
# failed is kept: the fsync after space was freed stores it). After every failure
# the backing folder is as before (digest) and holds no wkfs temp file. (e) With the filler gone the
# same operations succeed and the data equals numpy's (python3-zarr reads the mount), and the
# daemon served everything from one process.
source "$(dirname "$0")/mount_common.inc" "$@"

DISK=$WORK/disk
M=$WORK/mnt
mkdir -p "$DISK"
mount -t tmpfs -o size=4m tmpfs "$DISK" || fail "cannot mount a tmpfs (needs root)"
disk_cleanup() {
  for m in "${MOUNTS[@]}"; do fusermount3 -u "$m" 2> /dev/null || true; done
  # the daemon holds files on the tmpfs until it has exited
  for _ in $(seq 50); do pgrep -f "wkfs mount $DISK/" > /dev/null || break; sleep 0.1; done
  umount "$DISK" 2> /dev/null || umount -l "$DISK" 2> /dev/null || true
  cleanup
}
trap disk_cleanup EXIT

B=$DISK/ds
"$WKFS" make-demo "$B" --size 128,128,32 > /dev/null
# two zarr2 layers, raw chunks of 32^3 voxels: python3-zarr reads them, numpy knows their data.
# plain: nothing depends on it; pyr: a lazy 2-2-1 is registered on it.
for l in plain pyr; do
  "$WKFS" add-layer "$B" $l --category color --dtype uint8 --format zarr --chunk-shape 32 --no-compress > /dev/null
done
"$PY" -c '
import numpy as np
rng = np.random.default_rng(14)
for l in ("plain", "pyr"):
    rng.integers(0, 256, (1, 128, 128, 32), dtype=np.uint8).tofile("'"$WORK"'/" + l + ".raw")
rng.integers(0, 256, 32 ** 3, dtype=np.uint8).tofile("'"$WORK"'/new_chunk")'
for l in plain pyr; do
  "$WKFS" write "$B" --layer $l --bbox 0,0,0,128,128,32 < "$WORK/$l.raw" || fail "wkfs write $l"
done

mount_wkfs "$B" "$M"
DAEMON=$(pgrep -f "wkfs mount $B $M" | head -1)
[[ -n $DAEMON ]] || fail "no daemon"
"$WKFS" ctl "$M/pyr" downsample-mag 1 2-2-1 > /dev/null || fail "downsample-mag"

TARGET=plain/1/0/1/1/0  # c=0, chunk x=1, y=1, z=0
LAZY=pyr/2-2-1/0/0/0/0
sha() { sha256sum "$1" | cut -d' ' -f1; }
digest() { tree_digest "$B" | grep -v '\.wkfs/mount\.lock'; }
alive() { kill -0 "$DAEMON" 2> /dev/null || fail "the daemon died ($1)"; }
fill() {  # fill [FREE_KIB]: the disk full, or with FREE_KIB (whole 4 KiB pages) left
  rm -f "$DISK/filler"
  dd if=/dev/zero of="$DISK/filler" bs=4k 2> /dev/null || true
  if [[ ${1:-0} -gt 0 ]]; then
    local pages=$((($(stat -c %s "$DISK/filler") + 4095) / 4096 - $1 / 4))
    truncate -s $((pages * 4096)) "$DISK/filler"
  fi
}
no_temp_files() {
  local t
  t=$(find "$B" -name '*.wkfs-tmp.*' -o -name '.*.wkfs-tmp.*')
  [[ -z $t ]] || fail "$1: wkfs temp files left: $t"
}
# unchanged WHAT BEFORE: the backing folder's digest is BEFORE and it holds no temp file
unchanged() {
  [[ $(digest) == "$2" ]] || { diff <(echo "$2") <(digest) >&2; fail "$1 changed the backing folder"; }
  no_temp_files "$1"
  alive "$1"
}

OLD=$(sha "$B/$TARGET")

# --- (a) rewrite a chunk file on a full disk ------------------------------------------------------
# rewrite MODE: writes new_chunk over TARGET through the mount, MODE=trunc (O_TRUNC + write) or
# inplace (pwrite from 0), then fsync and close; prints "ok" or the calls done before ENOSPC (any
# other errno fails)
rewrite() {  # [TARGET]: another chunk file than $TARGET
  "$PY" - "$M/${2:-$TARGET}" "$WORK/new_chunk" "$1" <<'PYEOF'
import errno, os, sys
path, new_file, mode = sys.argv[1:]
new = open(new_file, "rb").read()
flags = os.O_WRONLY | os.O_TRUNC if mode == "trunc" else os.O_RDWR
calls = []
fd = None
try:
    fd = os.open(path, flags)
    calls.append("open")
    done = 0
    while done < len(new):  # a short write is followed by the rest, as cp does
        done += (os.write(fd, new[done:]) if mode == "trunc" else os.pwrite(fd, new[done:], done))
        calls.append("write")
    os.fsync(fd)
    calls.append("fsync")
    f, fd = fd, None
    os.close(f)
    print("ok")
except OSError as e:
    if e.errno != errno.ENOSPC:
        sys.exit(f"{mode}: {' '.join(calls)} then {os.strerror(e.errno)} (errno {e.errno}), want ENOSPC")
    if fd is not None:
        try:
            os.close(fd)  # the close of a handle that failed: reports or not, but changes nothing
        except OSError as e2:
            if e2.errno != errno.ENOSPC:
                sys.exit(f"{mode}: close after ENOSPC gave {os.strerror(e2.errno)}")
    print("ENOSPC after " + (" ".join(calls) or "nothing"))
PYEOF
}

fill
BEFORE=$(digest)
for mode in trunc inplace; do
  out=$(rewrite $mode) || fail "(a) $out"
  [[ $out == ENOSPC* ]] || fail "(a) $mode rewrite on a full disk: $out"
  [[ $(sha "$B/$TARGET") == "$OLD" ]] || fail "(a) $mode: the chunk file changed on a full disk"
  unchanged "(a) $mode rewrite" "$BEFORE"
  echo "(a) $mode rewrite, disk full: $out, file unchanged"
done
# the disk fills in the middle of the write: 16 KiB free for a 32 KiB chunk
for mode in trunc inplace; do
  fill 16
  BEFORE=$(digest)
  out=$(rewrite $mode) || fail "(a) $out"
  [[ $out == ENOSPC* ]] || fail "(a) $mode rewrite, 16 KiB free: $out"
  [[ $(sha "$B/$TARGET") == "$OLD" ]] || fail "(a) $mode, 16 KiB free: the chunk file is torn ($(stat -c %s "$B/$TARGET") bytes)"
  unchanged "(a) $mode rewrite, 16 KiB free" "$BEFORE"
  echo "(a) $mode rewrite, 16 KiB free: $out, file unchanged"
done
# a chunk with a lazy mag computed from it: the copy fits, the durable intent that must precede
# the replacement does not (item 1): the close fails and the file is the old one
fill 32
BEFORE=$(digest)
OLD_PYR=$(sha "$B/pyr/1/0/1/1/0")
out=$(rewrite trunc pyr/1/0/1/1/0) || fail "(a) $out"
[[ $out == "ENOSPC after open write"* ]] || fail "(a) rewrite of a lazy mag's source, 32 KiB free: $out"
[[ $(sha "$B/pyr/1/0/1/1/0") == "$OLD_PYR" ]] || fail "(a) a lazy mag's source changed without its intent"
unchanged "(a) rewrite of a lazy mag's source" "$BEFORE"
echo "(a) trunc rewrite of a lazy mag's source, 32 KiB free: $out, file unchanged"
# reading it through the mount gives the old bytes (no cached new page)
cmp -s "$M/$TARGET" "$B/$TARGET" || fail "(a) the mount reads other bytes than the backing file"

# --- (b) control commands that write --------------------------------------------------------------
fill
BEFORE=$(digest)
# ctl_write PATH COMMAND: writes COMMAND to PATH/.wkfs-ctl; prints the write's errno and the reply
ctl_write() {
  "$PY" - "$M/$1/.wkfs-ctl" "$2" <<'PYEOF'
import errno, json, os, sys
ctl, command = sys.argv[1:]
fd = os.open(ctl, os.O_WRONLY)
try:
    os.write(fd, command.encode())
    err = 0
except OSError as e:
    err = e.errno
os.close(fd)
reply = json.loads(open(ctl).read())
print(json.dumps({"errno": err, "reply": reply}))
PYEOF
}
for cmd in "pyr|add-mag 4-4-1" "pyr|downsample-mag 2-2-1 4-4-2" "plain|compress 1" "|add-layer extra --category color --dtype uint8"; do
  where=${cmd%%|*} c=${cmd#*|}
  ctl_write "$where" "$c" > "$WORK/out.json" || fail "(b) $c: no reply"
  [[ $(json "$WORK/out.json" 'd["errno"]') == 28 ]] || fail "(b) $c: write errno $(json "$WORK/out.json" 'd["errno"]'), want ENOSPC: $(cat "$WORK/out.json")"
  [[ $(json "$WORK/out.json" '[d["reply"]["ok"], d["reply"]["errno"], d["reply"]["errno_name"]]') == '[false, 28, "No space left on device"]' ]] ||
    fail "(b) $c: reply $(cat "$WORK/out.json")"
  unchanged "(b) $c" "$BEFORE"
  "$PY" -c 'import json,sys; json.load(open(sys.argv[1]))' "$B/datasource-properties.json" || fail "(b) $c: properties not valid JSON"
  echo "(b) $c: ENOSPC, reply says so, nothing changed"
done
# materialize queues; what it computes cannot be stored: counted as errors, nothing stored
"$WKFS" ctl "$M/pyr" materialize --wait > /dev/null 2>&1 && fail "(b) materialize --wait succeeded on a full disk"
unchanged "(b) materialize" "$BEFORE"
"$WKFS" ctl "$M" status > "$WORK/status.json"
grep -q "No space left on device" "$WORK/status.json" || fail "(b) the status does not name ENOSPC"
echo "(b) materialize: failed, nothing stored"

# --- (c) a lazy file not computed yet -------------------------------------------------------------
LAZY_OUT=$("$PY" - "$M/$LAZY" "$WORK/lazy_served" <<'PYEOF'
import errno, os, sys
try:
    data = open(sys.argv[1], "rb").read()
except OSError as e:
    if e.errno != errno.ENOSPC:
        sys.exit(f"lazy read on a full disk: {os.strerror(e.errno)} (errno {e.errno}), want ENOSPC or the data")
    print("ENOSPC")
    sys.exit(0)
open(sys.argv[2], "wb").write(data)
print("served")
PYEOF
) || fail "(c) $LAZY_OUT"
[[ ! -e $B/$LAZY ]] || fail "(c) the lazy file was stored on a full disk"
unchanged "(c) lazy read" "$BEFORE"
echo "(c) lazy read on a full disk: $LAZY_OUT, nothing stored"

# --- (d) layer properties ---------------------------------------------------------------------------
out=$(setfattr -n user.wk.bounding_box -v "0,0,0,64,64,32" "$M/plain" 2>&1) && fail "(d) setfattr succeeded on a full disk"
[[ $out == *"No space left on device"* ]] || fail "(d) setfattr: $out"
unchanged "(d) setfattr" "$BEFORE"
echo "(d) setfattr user.wk.bounding_box: ENOSPC, nothing changed"
edit_properties() {  # the properties with plain's bounding box 64 wide; prints the failing call
  "$PY" - "$M/datasource-properties.json" <<'PYEOF'
import errno, json, os, sys
path = sys.argv[1]
d = json.load(open(path))
for l in d["dataLayers"]:
    if l["name"] == "plain":
        l["boundingBox"]["width"] = 64
text = json.dumps(d, indent=4).encode()
fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
step = "write"
try:
    os.write(fd, text)
    step = "fsync"
    os.fsync(fd)
    step = "close"
    f, fd = fd, None
    os.close(f)
    print("ok")
except OSError as e:
    if e.errno != errno.ENOSPC:
        sys.exit(f"properties edit: {step} gave {os.strerror(e.errno)}, want ENOSPC")
    if fd is not None:
        try:
            os.close(fd)
        except OSError:
            pass
    print(f"ENOSPC at {step}")
PYEOF
}
out=$(edit_properties) || fail "(d) $out"
[[ $out == ENOSPC* ]] || fail "(d) properties edit on a full disk: $out"
unchanged "(d) properties edit" "$BEFORE"
echo "(d) properties edit: $out, nothing changed"

# --- (e) space freed: the same operations succeed ---------------------------------------------------
# first an edit whose fsync failed: kept by the handle, stored by the fsync after space was freed
"$PY" - "$M/datasource-properties.json" "$DISK/filler" <<'PYEOF' || fail "(e) fsync retried after freeing space"
import errno, json, os, sys
path, filler = sys.argv[1:]
d = json.load(open(path))
for l in d["dataLayers"]:
    if l["name"] == "plain":
        l["defaultViewConfiguration"] = {"alpha": 50}  # the data stay as they are
fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
os.write(fd, json.dumps(d, indent=4).encode())
try:
    os.fsync(fd)
    sys.exit("fsync of the edit succeeded on a full disk")
except OSError as e:
    assert e.errno == errno.ENOSPC, os.strerror(e.errno)
os.remove(filler)
os.fsync(fd)
os.close(fd)
PYEOF
[[ $(json "$B/datasource-properties.json" '[l.get("defaultViewConfiguration") for l in d["dataLayers"] if l["name"]=="plain"][0]') == '{"alpha": 50}' ]] ||
  fail "(e) the edit kept after a failed fsync was not stored by the next fsync"
echo "(e) properties edit: fsync ENOSPC, space freed, the next fsync stored it"
out=$(rewrite trunc) || fail "(e) $out"
[[ $out == ok ]] || fail "(e) rewrite with space: $out"
cmp -s "$B/$TARGET" "$WORK/new_chunk" || fail "(e) the rewritten chunk file is not the bytes written"
for cmd in "pyr|add-mag 4-4-1" "pyr|downsample-mag 2-2-1 4-4-2" "plain|compress 1" "|add-layer extra --category color --dtype uint8"; do
  where=${cmd%%|*} c=${cmd#*|}
  ctl_write "$where" "$c" > "$WORK/out.json" || fail "(e) $c: no reply"
  [[ $(json "$WORK/out.json" '[d["errno"], d["reply"]["ok"]]') == '[0, true]' ]] || fail "(e) $c: $(cat "$WORK/out.json")"
done
json "$B/datasource-properties.json" '[m["path"] for l in d["dataLayers"] if l["name"]=="pyr" for m in l["mags"]]' |
  grep -q '4-4-1' || fail "(e) add-mag 4-4-1 is not in the properties"
[[ -f $B/pyr/4-4-1/.zarray ]] || fail "(e) add-mag made no array"
"$WKFS" ctl "$M/pyr" materialize --wait > /dev/null || fail "(e) materialize --wait"
# the data, read through the mount by python3-zarr, against numpy
"$PY" - "$M" "$B" "$WORK" "$LAZY_OUT" <<'PYEOF' || fail "(e) data check"
import os, sys
import numpy as np, zarr
M, B, W, lazy_out = sys.argv[1:]
plain = np.fromfile(os.path.join(W, "plain.raw"), np.uint8).reshape(1, 128, 128, 32)
# a raw chunk of the layer's order "F" array
plain[:, 32:64, 32:64, 0:32] = np.fromfile(os.path.join(W, "new_chunk"), np.uint8).reshape((1, 32, 32, 32), order="F")
got = zarr.open(os.path.join(M, "plain", "1"), mode="r")[:]
bad = np.argwhere(got != plain)
assert len(bad) == 0, f"plain/1: {len(bad)} voxels differ, in {bad.min(0)}..{bad.max(0)}"
pyr = np.fromfile(os.path.join(W, "pyr.raw"), np.uint8).reshape(1, 128, 128, 32)

def step(a, f):  # the library's median step: dy fastest, then dx, then dz; even count: truncated mean
    C, X, Y, Z = a.shape
    b = a.reshape(C, X // f[0], f[0], Y // f[1], f[1], Z // f[2], f[2])
    s = np.stack([b[:, :, dx, :, dy, :, dz] for dz in range(f[2]) for dx in range(f[0]) for dy in range(f[1])], -1)
    srt = np.sort(s, -1)
    n = s.shape[-1]
    if n % 2:
        return srt[..., n // 2]
    return np.trunc((srt[..., n // 2 - 1].astype(np.float64) + srt[..., n // 2]) / 2).astype(a.dtype)

m2 = step(pyr, (2, 2, 1))
m4 = step(m2, (2, 2, 2))
for mag, ref in (("2-2-1", m2), ("4-4-2", m4)):
    arr = zarr.open(os.path.join(M, "pyr", mag), mode="r")
    assert all(a >= r for a, r in zip(arr.shape, ref.shape)), f"pyr/{mag}: shape {arr.shape}, numpy {ref.shape}"
    got = arr[tuple(slice(0, n) for n in ref.shape)]  # the array may extend to whole chunks
    bad = int((got != ref).sum())
    assert bad == 0, f"pyr/{mag}: {bad} voxels differ from numpy"
# a lazy file served from memory on the full disk is the file stored now
if lazy_out == "served":
    a = open(os.path.join(W, "lazy_served"), "rb").read()
    b = open(os.path.join(B, "pyr", "2-2-1", "0", "0", "0", "0"), "rb").read()
    assert a == b, "the lazy file served on the full disk differs from the one stored later"
print("ok: plain/1 and pyr 2-2-1, 4-4-2 equal numpy")
PYEOF
# the properties last: a smaller bounding box shrinks the arrays
setfattr -n user.wk.bounding_box -v "0,0,0,128,128,16" "$M/plain" || fail "(e) setfattr"
[[ $(getfattr --only-values -n user.wk.bounding_box "$M/plain" 2> /dev/null) == *"128,128,16"* ]] ||
  fail "(e) setfattr: bounding box $(getfattr --only-values -n user.wk.bounding_box "$M/plain" 2> /dev/null)"
out=$(edit_properties) || fail "(e) $out"
[[ $out == ok ]] || fail "(e) properties edit: $out"
[[ $(json "$B/datasource-properties.json" '[l["boundingBox"]["width"] for l in d["dataLayers"] if l["name"]=="plain"][0]') == 64 ]] ||
  fail "(e) the properties edit is not stored"
no_temp_files "(e)"
alive "(e)"

alive "(e) after the data check"
[[ $(pgrep -f "wkfs mount $B $M" | head -1) == "$DAEMON" ]] || fail "the daemon was restarted"
echo "(e) space freed: rewrite, add-mag, downsample, compress, add-layer, materialize, setfattr, properties edit succeed; data equals numpy"
