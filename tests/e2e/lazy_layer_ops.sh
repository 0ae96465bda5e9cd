#!/usr/bin/env bash
# Layer and mag operations on datasets with lazy pyramids, through a real mount: ctl rename-layer,
# delete-layer and delete-mag carry the lazy registrations along (checked after a remount); rm -r of
# a lazy mag with computed files removes it and its registration; removing, truncating, creating or
# overwriting a source file makes what is computed from it stale, and a read right after close()
# sees the new data; a corrupt .wkfs/lazy.json leaves the dataset served without lazy features;
# ctl --wait counts only its own dataset; unmounting during materialize ends the daemon cleanly.
source "$(dirname "$0")/mount_common.inc" "$@"

"$WKFS" make-demo "$WORK/ds" --size 200,160,40 > /dev/null
cp -r "$WORK/ds" "$WORK/ds_corrupt"
B=$WORK/ds
M=$WORK/mnt
mount_wkfs "$B" "$M"

lazy() {  # lazy LAYER MAG FIELD: a counter of the mount's status
  "$WKFS" ctl "$M" status > "$WORK/status.json"
  json "$WORK/status.json" "[m['$3'] for v in d['lazy'].values() for m in v['mags'] if m['layer']=='$1' and m['mag']=='$2'][0]"
}
mags_of() {  # mags_of PROPERTIES LAYER: the mag paths a properties file lists for the layer
  json "$1" "[m['path'] for l in d['dataLayers'] if l['name']=='$2' for m in l['mags']]"
}
registered() {  # registered: "layer/mag complete" of every entry of the backing lazy.json, sorted
  json "$B/.wkfs/lazy.json" "sorted('%s/%s %s' % (m['layer'], '-'.join(map(str, m['mag'])), m['complete']) for m in d['mags'])"
}
remount() {  # the old daemon is gone before the new one starts: both would write the state
  "$WKFS" unmount "$M"
  for _ in $(seq 50); do pgrep -f "wkfs mount $B $M" > /dev/null || break; sleep 0.1; done
  mount_wkfs "$B" "$M"
}

# --- A. ctl rename-layer, delete-mag, delete-layer tell the lazy engine -------------------------
# (each of these mags is one file: reading it completes the mag)
"$WKFS" ctl "$M/color" downsample-mag-list 1 2-2-1 4-4-2 > /dev/null
"$WKFS" ctl "$M" rename-layer color colour > /dev/null
want='["./colour/1", "./colour/2-2-1", "./colour/4-4-2"]'
[[ $(mags_of "$M/datasource-properties.json" colour) == "$want" ]] ||
  fail "rename-layer: the mount lists $(mags_of "$M/datasource-properties.json" colour)"
remount
[[ $(mags_of "$M/datasource-properties.json" colour) == "$want" ]] ||
  fail "rename-layer + remount: the mount lists $(mags_of "$M/datasource-properties.json" colour)"
[[ $(registered) == '["colour/2-2-1 False", "colour/4-4-2 False"]' ]] || fail "rename-layer: lazy.json has $(registered)"
[[ $(wc -c < "$M/colour/4-4-2/c/0/0/0/0") -gt 0 ]] || fail "renamed lazy mag unreadable"
[[ $(lazy colour 2-2-1 files_computed) == 1 ]] || fail "reading 4-4-2 did not compute 2-2-1"

# delete-mag of a materialized (complete, listed) lazy mag, then downsampling again registers it anew
"$WKFS" ctl "$M/colour" materialize --wait > /dev/null || fail "materialize --wait"
[[ $(mags_of "$B/datasource-properties.json" colour) == "$want" ]] || fail "materialized mags are not listed"
"$WKFS" ctl "$M/colour" delete-mag 4-4-2 > /dev/null
[[ $(registered) == '["colour/2-2-1 True"]' ]] || fail "delete-mag of a complete lazy mag: lazy.json has $(registered)"
[[ ! -e $B/colour/4-4-2 ]] || fail "delete-mag left the folder"
"$WKFS" ctl "$M/colour" materialize --wait > /dev/null
[[ ! -e $B/colour/4-4-2 ]] || fail "materialize recreated the deleted mag's folder"
# four files this time, so that one read leaves it pending
"$WKFS" ctl "$M/colour" downsample-mag 2-2-1 4-4-2 --chunk-shape 16,16,16 --shard-shape 32,32,32 > /dev/null ||
  fail "downsample after delete-mag"
[[ $(registered) == '["colour/2-2-1 True", "colour/4-4-2 False"]' ]] || fail "downsample after delete-mag: $(registered)"
[[ $(wc -c < "$M/colour/4-4-2/c/0/0/0/0") -gt 0 && -f $B/colour/4-4-2/zarr.json ]] || fail "re-registered mag unreadable"
# the source of a pending lazy mag cannot go: the pending one would have nothing to compute from
"$WKFS" ctl "$M/colour" delete-mag 2-2-1 > "$WORK/refused.txt" 2>&1 && fail "delete-mag of the source of a pending lazy mag succeeded"
grep -q "source of lazy mag 4-4-2" "$WORK/refused.txt" || fail "no clear reason: $(cat "$WORK/refused.txt")"
[[ $(registered) == '["colour/2-2-1 True", "colour/4-4-2 False"]' && -f $B/colour/2-2-1/zarr.json ]] ||
  fail "a refused delete-mag changed something: $(registered)"
# delete-mag of a pending lazy mag (listed by the mount only)
"$WKFS" ctl "$M/segmentation" downsample-mag 1 2-2-1 > /dev/null
"$WKFS" ctl "$M/segmentation" delete-mag 2-2-1 > /dev/null || fail "delete-mag of a pending lazy mag"
[[ $(mags_of "$M/datasource-properties.json" segmentation) == '["./segmentation/1"]' && ! -e $B/segmentation/2-2-1 ]] ||
  fail "delete-mag of a pending lazy mag left it"

# delete-layer forgets the layer's registrations: a new layer of the same name gets none of them
"$WKFS" ctl "$M/segmentation" downsample-mag 1 2-2-1 > /dev/null
"$WKFS" ctl "$M" delete-layer segmentation > /dev/null
"$WKFS" ctl "$M" add-layer segmentation --category segmentation --dtype uint32 --bounding-box 0,0,0,200,160,40 > /dev/null
"$WKFS" ctl "$M/segmentation" add-mag 1 > /dev/null
mkdir "$M/segmentation/2-2-1"  # the user's own mag, where the lazy one was
remount
[[ $(registered) == '["colour/2-2-1 True", "colour/4-4-2 False"]' ]] || fail "delete-layer: lazy.json has $(registered)"

# --- B. rm -r of a lazy mag with a computed file -------------------------------------------------
cat "$M/colour/4-4-2/c/0/0/0/0" > /dev/null
[[ -f $B/colour/4-4-2/c/0/0/0/0 && $(lazy colour 4-4-2 complete) == false ]] || fail "one read of 4-4-2"
rm -r "$M/colour/4-4-2" || fail "rm -r of a pending lazy mag with a computed file"
[[ ! -e $B/colour/4-4-2 ]] || fail "rm -r left $B/colour/4-4-2"
rm -r "$M/colour/2-2-1" || fail "rm -r of a complete lazy mag"
remount
[[ $(registered) == '[]' ]] || fail "rm -r: lazy.json still has $(registered)"
[[ $(mags_of "$M/datasource-properties.json" colour) == '["./colour/1"]' ]] ||
  fail "rm -r: the mount lists $(mags_of "$M/datasource-properties.json" colour)"
[[ $(mags_of "$B/datasource-properties.json" colour) == '["./colour/1"]' ]] || fail "rm -r: the backing properties list more"

# --- C. every change of a source file makes dependents stale, before close() returns -----------
"$WKFS" ctl "$M/colour" downsample-mag 1 2-2-1 > /dev/null
S=$M/colour/1/c/0/0/0/0       # the one mag-1 shard (1024³) everything depends on
L=colour/2-2-1/c/0/0/0/0      # the lazy file computed from it
cp "$B/colour/1/c/0/0/0/0" "$WORK/shard.orig"
stale_grows() {  # stale_grows LABEL COMMAND...: the command makes the computed lazy file stale
  local label=$1 before
  shift
  cat "$M/$L" > /dev/null
  [[ -f $B/$L ]] || fail "$label: the lazy file was not computed"
  before=$(lazy colour 2-2-1 files_stale)
  "$@"
  [[ $(lazy colour 2-2-1 files_stale) -gt $before ]] || fail "$label: files_stale did not grow"
  [[ ! -e $B/$L ]] || fail "$label: the stale file is still stored"
}
stale_grows "rm" rm "$S"
stale_grows "create" cp "$WORK/shard.orig" "$S"
stale_grows "overwrite" cp "$WORK/shard.orig" "$S"
mkdir "$M/aside"
stale_grows "mv out" mv "$S" "$M/aside/shard"
stale_grows "mv in" mv "$M/aside/shard" "$S"
cmp -s "$B/colour/1/c/0/0/0/0" "$WORK/shard.orig" || fail "mv changed the shard"
stale_grows "truncate" truncate -s 0 "$S"  # last: an empty shard file does not decode
cp "$WORK/shard.orig" "$S"

# write mag 1, close, read mag 2 at once: the bytes equal a fresh computation after a remount.
# The shell keeps the file open, so the kernel sends no RELEASE until the end: only the FLUSH
# of cat's close() tells the mount that the writing is done.
"$WKFS" make-demo "$WORK/alt" --size 200,160,40 > /dev/null
for i in 1 2 3; do
  cat "$M/$L" > "$WORK/lazy.old"  # computed from mag 1 as it is before the write
  head -c $((40 * 40 * 10)) /dev/urandom > "$WORK/patch.raw"
  "$WKFS" write "$WORK/alt" --layer color --mag 1 --bbox $((i * 40)),0,0,40,40,10 < "$WORK/patch.raw"
  exec 3> "$S"
  cat "$WORK/alt/color/1/c/0/0/0/0" >&3
  cat "$M/$L" > "$WORK/lazy.new"
  exec 3>&-
  cmp -s "$WORK/lazy.old" "$WORK/lazy.new" && fail "the read right after close() served the old data"
done
"$WKFS" unmount "$M"
for _ in $(seq 50); do pgrep -f "wkfs mount $B $M" > /dev/null || break; sleep 0.1; done
rm -f "$B/$L"  # so that the next read computes it from what mag 1 holds now
mount_wkfs "$B" "$M"
cmp -s "$M/$L" "$WORK/lazy.new" || fail "the read right after close() differs from a fresh computation"

# --- D. a corrupt lazy.json: the mount comes up and serves the dataset as stored ----------------
mkdir -p "$WORK/ds_corrupt/.wkfs"
echo '{"version": 1, "mags": [{"layer": ' > "$WORK/ds_corrupt/.wkfs/lazy.json"
C=$WORK/mnt_corrupt
for opts in "pyramid=auto" "pyramid=none"; do
  mount_wkfs "$WORK/ds_corrupt" "$C" -o "$opts" || fail "mount with a corrupt lazy.json ($opts)"
  is_mounted "$C" || fail "no mount with a corrupt lazy.json ($opts)"
  cmp -s "$C/color/1/c/0/0/0/0" "$WORK/ds_corrupt/color/1/c/0/0/0/0" || fail "plain read with a corrupt lazy.json ($opts)"
  "$WKFS" read "$C" --layer segmentation --mag 1 --bbox 0,0,0,200,160,40 > "$WORK/seg.raw" || fail "wkfs read ($opts)"
  "$WKFS" ctl "$C" status > "$WORK/status_c.json"
  [[ $(json "$WORK/status_c.json" "[v.get('error', '') for v in d['lazy'].values()][0]") == *lazy.json* ]] ||
    fail "ctl status does not say why lazy is off ($opts): $(json "$WORK/status_c.json" "d['lazy']")"
  expect_failure "lazy features are off" "$WKFS" ctl "$C/color" downsample
  "$WKFS" unmount "$C"
done
grep -q "lazy features are off.*lazy.json" "$WORK/daemon.log" || fail "the log does not say why lazy is off"

# --- F. ctl --wait counts only its own dataset, not a same-named layer of another --------------
mkdir -p "$WORK/two"
"$WKFS" make-demo "$WORK/two/a" --size 200,160,40 > /dev/null
"$WKFS" make-demo "$WORK/two/b" --size 200,160,40 > /dev/null
mount_wkfs "$WORK/two" "$WORK/mnt_two"
"$WKFS" ctl "$WORK/mnt_two/b/color" downsample > /dev/null  # pending, never computed
"$WKFS" ctl "$WORK/mnt_two/a/color" downsample --wait > "$WORK/wait.txt" 2>&1 || fail "--wait: $(cat "$WORK/wait.txt")"
grep -q "100%" "$WORK/wait.txt" || fail "--wait: $(cat "$WORK/wait.txt")"
"$WKFS" unmount "$WORK/mnt_two"

# --- E. unmounting while materialize runs: the daemon joins its workers and exits 0 -------------
MOUNTS+=("$WORK/mnt_fg")
mkdir -p "$WORK/mnt_fg"
"$WKFS" mount "$WORK/alt" "$WORK/mnt_fg" -f --log "$WORK/daemon.log" -o lazy_threads=1 &
pid=$!
for _ in $(seq 50); do is_mounted "$WORK/mnt_fg" && break; sleep 0.1; done
# 8³ shards: ~750 files, about a second of work for one thread
"$WKFS" ctl "$WORK/mnt_fg/color" downsample-mag-list 1 2-2-1 4-4-2 --chunk-shape 8,8,8 --shard-shape 8,8,8 \
  --materialize > "$WORK/reply.json"
"$WKFS" unmount "$WORK/mnt_fg"
wait "$pid" || fail "the daemon ended with status $? after an unmount during materialize"
[[ -z $(find "$WORK/alt" -name '*wkfs-tmp*') ]] || fail "temp files left after an unmount during materialize"

echo "lazy layer ops e2e: ok"
