#!/usr/bin/env bash
# `-o ro` refuses every change with EROFS and changes nothing; reads still work.
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
echo "read_only_mount: ok"
