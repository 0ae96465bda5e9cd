#!/usr/bin/env bash
# Mounting, the backing tree as it is, existing tools through the mount, unmount and stale mounts.
source "$(dirname "$0")/mount_common.inc" "$@"

mkdir -p "$WORK/src" "$WORK/empty" "$WORK/mnt"
cp -r "$FIXTURES/simple_zarr3_dataset" "$WORK/src/ds3"
cp -r "$FIXTURES/simple_zarr_dataset" "$WORK/src/ds2"
cp -r "$FIXTURES/simple_wkw_dataset" "$WORK/src/dsw"
echo "notes stay as they are" > "$WORK/src/ds3/notes.txt"
# A leftover temp file of an interrupted atomic write: hidden, and removed on mount.
echo junk > "$WORK/src/ds3/datasource-properties.json.wkfs-tmp.123"

# Errors before mounting: printed, non-zero exit.
expect_failure "does not exist" "$WKFS" mount "$WORK/missing" "$WORK/mnt"
expect_failure "not a dataset" "$WKFS" mount "$WORK/empty" "$WORK/mnt"
expect_failure "not a folder" "$WKFS" mount "$WORK/src" "$WORK/missing-mountpoint"
is_mounted "$WORK/mnt" && fail "a failed mount left a mount behind"

mount_wkfs "$WORK/src" "$WORK/mnt"
is_mounted "$WORK/mnt" || fail "not mounted after wkfs mount returned"
expect_failure "busy" "$WKFS" mount "$WORK/src" "$WORK/mnt"
[[ -e "$WORK/src/ds3/datasource-properties.json.wkfs-tmp.123" ]] && fail "temp file not removed on mount"

# ls -lR, find, stat sizes, cp -r: same as the backing folder, less wkfs's state folder (.wkfs/, which
# holds the writable mount's lock of each dataset), which the mount hides.
[[ -f "$WORK/src/ds3/.wkfs/mount.lock" && -f "$WORK/src/dsw/.wkfs/mount.lock" ]] || fail "datasets not locked"
ls -lR "$WORK/mnt" > /dev/null
backing_find() { (cd "$WORK/src" && find . -name .wkfs -prune -o -print | sort); }
diff <(backing_find) <(cd "$WORK/mnt" && find . | sort) || fail "find differs"
while IFS= read -r f; do
  [[ $(stat -c %s "$WORK/src/$f") == $(stat -c %s "$WORK/mnt/$f") ]] || fail "size of $f differs"
done < <(cd "$WORK/src" && find . -name .wkfs -prune -o -type f -print)
cp -r "$WORK/mnt/ds3" "$WORK/copy3"
diff -r -x .wkfs "$WORK/src/ds3" "$WORK/copy3" || fail "cp -r of the mounted dataset differs"
cp -r "$WORK/mnt/dsw" "$WORK/copyw"
diff -r -x .wkfs "$WORK/src/dsw" "$WORK/copyw" || fail "cp -r of the mounted WKW dataset differs"
cmp "$WORK/src/ds3/notes.txt" "$WORK/mnt/ds3/notes.txt" || fail "notes differ"

# The control files are found by name but never listed.
{ ls -a "$WORK/mnt/ds3"; ls -a "$WORK/mnt/ds3/color"; ls -a "$WORK/mnt"; } | grep -q "^\.wkfs" && fail "control files are listed"
[[ -e "$WORK/mnt/ds3/.wkfs-ctl" && -e "$WORK/mnt/ds3/color/.wkfs-ctl" ]] || fail "control files missing"
[[ -e "$WORK/mnt/ds3/color/1/.wkfs-ctl" ]] && fail "a mag folder has no control file"
json "$WORK/mnt/.wkfs-status" 'sorted(x["path"] for x in d["datasets"])' | grep -q '"ds2", "ds3", "dsw"' ||
  fail "status does not list the datasets: $(cat "$WORK/mnt/.wkfs-status")"
"$WKFS" ctl "$WORK/mnt" status | "$PY" -c 'import json,sys; d=json.load(sys.stdin); assert "operations" in d and "open_files" in d and "errors" in d'

# Files that are not part of a dataset pass through: create, append, rename, remove.
echo one > "$WORK/mnt/ds3/more.txt"
echo two >> "$WORK/mnt/ds3/more.txt"
[[ $(cat "$WORK/src/ds3/more.txt") == $'one\ntwo' ]] || fail "write through the mount"
mv "$WORK/mnt/ds3/more.txt" "$WORK/mnt/ds3/moved.txt"
[[ -f "$WORK/src/ds3/moved.txt" && ! -e "$WORK/src/ds3/more.txt" ]] || fail "rename through the mount"
rm "$WORK/mnt/ds3/moved.txt"
[[ ! -e "$WORK/src/ds3/moved.txt" ]] || fail "unlink through the mount"
mkdir "$WORK/mnt/ds3/attachments" && rmdir "$WORK/mnt/ds3/attachments"
ln -s notes.txt "$WORK/mnt/ds3/link.txt"
[[ $(readlink "$WORK/mnt/ds3/link.txt") == notes.txt && $(cat "$WORK/mnt/ds3/link.txt") == "notes stay as they are" ]] ||
  fail "symlink through the mount"
rm "$WORK/mnt/ds3/link.txt"

# Writing a chunk file through the mount, then reading it back (the kernel cache must follow).
chunk=$(cd "$WORK/mnt" && find ds2/color/1-1-1 -type f -name '0.0.0.0' | head -1)
cp "$WORK/src/$chunk" "$WORK/chunk.orig"
head -c 100 /dev/urandom > "$WORK/patch"
dd if="$WORK/patch" of="$WORK/mnt/$chunk" bs=100 seek=1 conv=notrunc status=none
cmp "$WORK/mnt/$chunk" "$WORK/src/$chunk" || fail "chunk read after write differs from the backing file"
cp "$WORK/chunk.orig" "$WORK/mnt/$chunk"
cmp "$WORK/chunk.orig" "$WORK/src/$chunk" || fail "chunk restore"

# Unmount while idle leaves no stale mount.
"$WKFS" unmount "$WORK/mnt"
is_mounted "$WORK/mnt" && fail "still mounted after wkfs unmount"
expect_failure "not a mount point" "$WKFS" unmount "$WORK/mnt"

# SIGKILL of every process of the mount: the backing folder stays valid and a new mount at once (no
# wait: stat() of the dead mount is still answered from the kernel's cache) works.
# tests/e2e/remount_after_kill.sh does this 100 times in a row.
mount_wkfs "$WORK/src" "$WORK/mnt"
cat "$WORK/mnt/ds3/color/1/"* > /dev/null 2>&1 || true
pkill -9 -f "wkfs mount $WORK/src $WORK/mnt" || fail "daemon not found"
mount_wkfs "$WORK/src" "$WORK/mnt"
"$PY" -c 'import json,sys; json.load(open(sys.argv[1]))' "$WORK/src/ds3/datasource-properties.json"
diff -r -x .wkfs "$WORK/src/ds3" "$WORK/mnt/ds3" || fail "remount after SIGKILL differs"
[[ $(grep -c " $WORK/mnt " /proc/self/mountinfo) == 1 ]] || fail "the dead mount was not detached"
"$WKFS" unmount "$WORK/mnt"

# A single dataset as SOURCE: the mount root is the dataset root.
mount_wkfs "$WORK/src/ds3" "$WORK/mnt"
diff -r -x .wkfs "$WORK/src/ds3" "$WORK/mnt" || fail "single-dataset mount differs"
[[ -e "$WORK/mnt/.wkfs-ctl" && -e "$WORK/mnt/color/.wkfs-ctl" ]] || fail "single-dataset control files"
"$WKFS" unmount "$WORK/mnt"
echo "mount_passthrough: ok"
