#!/usr/bin/env bash
# Issue 11 item 11: one writable mount per dataset. A second writable mount of a dataset (directly or
# through its parent folder) is refused before mounting, exit code 1, with a message naming the
# holder; read-only mounts coexist with it; the lock goes with its holder, kill -9 included.
source "$(dirname "$0")/mount_common.inc" "$@"

mkdir -p "$WORK/src" "$WORK/a" "$WORK/b" "$WORK/ro"
cp -r "$FIXTURES/simple_zarr3_dataset" "$WORK/src/ds"
cp -r "$FIXTURES/simple_zarr_dataset" "$WORK/src/other"
host=$(cat /proc/sys/kernel/hostname)

mount_wkfs "$WORK/src" "$WORK/a"
pids=$(pgrep -f "wkfs mount $WORK/src $WORK/a")
[[ $(wc -w <<< "$pids") == 1 ]] || fail "expected one daemon process, got: $pids"
# The serving child (not the parent that took the lock and exited) holds it and is named.
[[ $(cat "$WORK/src/ds/.wkfs/mount.lock") == "pid $pids on host $host"* ]] ||
  fail "lock file names $(cat "$WORK/src/ds/.wkfs/mount.lock"), not the daemon $pids"

set +e
out=$("$WKFS" mount "$WORK/src/ds" "$WORK/b" 2>&1)
rc=$?
set -e
[[ $rc == 1 ]] || fail "second writable mount: exit code $rc, want 1 ($out)"
[[ $out == *"is in use by pid $pids on host $host (wkfs mount $WORK/src on $WORK/a)"* ]] ||
  fail "refusal does not name the holder: $out"
is_mounted "$WORK/b" && fail "a refused mount left a mount behind"
expect_failure "pid $pids on host $host" "$WKFS" mount "$WORK/src" "$WORK/b"
mkdir -p "$WORK/only_other" && mv "$WORK/src/other" "$WORK/only_other/"
mount_wkfs "$WORK/only_other" "$WORK/b"  # a dataset the first mount does not hold
"$WKFS" unmount "$WORK/b"
mv "$WORK/only_other/other" "$WORK/src/"

# Read-only mounts coexist with the writer (and take no lock).
mount_wkfs "$WORK/src/ds" "$WORK/ro" -o ro
cmp "$WORK/src/ds/datasource-properties.json" "$WORK/ro/datasource-properties.json" || fail "read through ro"
"$WKFS" unmount "$WORK/ro"

# kill -9 of the holder: a writable mount right after it gets the lock.
pkill -9 -f "wkfs mount $WORK/src $WORK/a"
mount_wkfs "$WORK/src/ds" "$WORK/b"
# A clean unmount releases it as well; the dead mount at a is detached by the next mount there.
"$WKFS" unmount "$WORK/b"
mount_wkfs "$WORK/src" "$WORK/a"
"$WKFS" unmount "$WORK/a"
echo "two_mounts: ok"
