#!/usr/bin/env bash
# Issue 11 item 11: one writable mount per dataset. A second writable mount of a dataset (directly or
# through its parent folder) is refused before mounting, exit code 1, with a message naming the
# holder; read-only mounts coexist with it; the lock goes with its holder, kill -9 included.
source "$(dirname "$0")/mount_common.inc" "$@"

mkdir -p "$WORK/src" "$WORK/a" "$WORK/b" "$WORK/ro"
cp -r "$FIXTURES/simple_zarr3_dataset" "$WORK/src/ds"
cp -r "$FIXTURES/simple_zarr_dataset" "$WORK/src/other"
host=$(cat /proc/sys/kernel/hostname)

mount_wkfs "$WORK/src/ds" "$WORK/a"
pids=$(pgrep -f "wkfs mount $WORK/src/ds $WORK/a")
[[ $(wc -w <<< "$pids") == 1 ]] || fail "expected one daemon process, got: $pids"
# The serving child (not the parent that took the lock and exited) holds it and is named.
[[ $(cat "$WORK/src/ds/.wkfs/mount.lock") == "pid $pids on host $host"* ]] ||
  fail "lock file names $(cat "$WORK/src/ds/.wkfs/mount.lock"), not the daemon $pids"

set +e
out=$("$WKFS" mount "$WORK/src/ds" "$WORK/b" 2>&1)
rc=$?
set -e
[[ $rc == 1 ]] || fail "second writable mount: exit code $rc, want 1 ($out)"
[[ $out == *"is in use by pid $pids on host $host (wkfs mount $WORK/src/ds on $WORK/a)"* ]] ||
  fail "refusal does not name the holder: $out"
is_mounted "$WORK/b" && fail "a refused mount left a mount behind"
# Through the folder that holds it: refused as well, and the other dataset is not left locked.
expect_failure "pid $pids on host $host" "$WKFS" mount "$WORK/src" "$WORK/b"
is_mounted "$WORK/b" && fail "a refused mount left a mount behind"
MOUNTS+=("$WORK/b")
out=$("$WKFS" mount "$WORK/src/other" "$WORK/b" --log "$WORK/daemon.log") || fail "mount of the other dataset failed"
[[ $out == "mounted $WORK/src/other at $WORK/b" ]] || fail "a mount says '$out', not where it mounted what"
"$WKFS" unmount "$WORK/b"

# Read-only mounts coexist with the writer (and take no lock).
mount_wkfs "$WORK/src/ds" "$WORK/ro" -o ro
cmp "$WORK/src/ds/datasource-properties.json" "$WORK/ro/datasource-properties.json" || fail "read through ro"
"$WKFS" unmount "$WORK/ro"

# kill -9 of the holder: a writable mount right after it gets the lock; a folder mount locks each
# of its datasets.
pkill -9 -f "wkfs mount $WORK/src/ds $WORK/a"
mount_wkfs "$WORK/src" "$WORK/b"
expect_failure "is in use by" "$WKFS" mount "$WORK/src/other" "$WORK/ro"
expect_failure "is in use by" "$WKFS" mount "$WORK/src/ds" "$WORK/ro"
# A clean unmount releases them; the dead mount at a is detached by the next mount there.
"$WKFS" unmount "$WORK/b"
mount_wkfs "$WORK/src/ds" "$WORK/a"
[[ $(grep -c " $WORK/a " /proc/self/mountinfo) == 1 ]] || fail "the dead mount at a was not detached"
"$WKFS" unmount "$WORK/a"

# Datasets that appear after a folder mount started are locked at first use: one copied in
# through the mount, then a second writable mount of it is refused naming the first.
mount_wkfs "$WORK/src" "$WORK/a"
apid=$(pgrep -f "wkfs mount $WORK/src $WORK/a")
cp -r "$FIXTURES/simple_zarr3_dataset" "$WORK/a/late"
chmod -R u+w "$WORK/src/late"
ls "$WORK/a/late/color" > /dev/null
expect_failure "is in use by pid $apid on host $host (wkfs mount $WORK/src on $WORK/a)" \
  "$WKFS" mount "$WORK/src/late" "$WORK/b"
is_mounted "$WORK/b" && fail "a refused mount left a mount behind"
# One made behind the mount and mounted elsewhere first: served read-only, writes EBUSY.
cp -r "$FIXTURES/simple_zarr3_dataset" "$WORK/src/held"
chmod -R u+w "$WORK/src/held"
mount_wkfs "$WORK/src/held" "$WORK/b"
bpid=$(pgrep -f "wkfs mount $WORK/src/held $WORK/b")
cmp "$WORK/src/held/datasource-properties.json" "$WORK/a/held/datasource-properties.json" || fail "read through a"
set +e
err=$(mkdir "$WORK/a/held/color/2" 2>&1)
rc=$?
set -e
[[ $rc != 0 && $err == *"Device or resource busy"* ]] || fail "mkdir in a dataset held by another mount: rc $rc, $err"
[[ ! -e "$WORK/src/held/color/2" ]] || fail "a refused mkdir left a mag folder"
grep -q "held/color/2 is not written: dataset $WORK/src/held is in use by pid $bpid" "$WORK/daemon.log" ||
  fail "the log does not say why the mkdir was refused: $(tail -3 "$WORK/daemon.log")"
# control commands there: the ones that change refused with EBUSY naming the holder, the ones that read run
before=$(cat "$WORK/src/held/datasource-properties.json")
expect_failure "in use by pid $bpid" "$WKFS" ctl "$WORK/a/held/color" add-mag 2
[[ $before == "$(cat "$WORK/src/held/datasource-properties.json")" ]] || fail "a refused add-mag changed the properties"
"$WKFS" ctl "$WORK/a/held/color" info | /usr/bin/python3 -c 'import json,sys; assert json.load(sys.stdin)["ok"]' || fail "info on a held dataset"
"$WKFS" unmount "$WORK/b"
"$WKFS" unmount "$WORK/a"
echo "two_mounts: ok"
