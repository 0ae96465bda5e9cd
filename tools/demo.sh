#!/usr/bin/env bash
# The demo: installs and builds wkfs, writes the built-in demo dataset, mounts it, registers a lazy
# pyramid (metadata only), reads one coarse file (computed on that first read), and returns with
# the mount still up.
#   tools/demo.sh [WORKDIR]     (default /var/tmp/wkfs-demo)
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-/var/tmp/wkfs-demo}
bash "$src/tools/setup.sh"
wkfs=$src/build/wkfs
data=$work/dataset
mnt=$work/mnt

mkdir -p "$work"
if grep -qs " $mnt " /proc/self/mountinfo || ! stat "$mnt" > /dev/null 2>&1; then
  "$wkfs" unmount "$mnt" 2> /dev/null || umount -l "$mnt" 2> /dev/null || true
fi
mkdir -p "$mnt"
if [ ! -f "$data/datasource-properties.json" ]; then
  echo "== writing the demo dataset (synthetic EM volume 512x512x128 + segmentation)"
  "$wkfs" make-demo "$data" --size 512,512,128
fi
echo "== mounting $data at $mnt"
"$wkfs" mount "$data" "$mnt" --log "$work/wkfs.log"

echo "== registering lazy pyramids (no data is computed yet)"
for layer in color segmentation; do
  start=$(date +%s%N)
  "$wkfs" ctl "$mnt/$layer" downsample 2>&1 || true
  echo "   $layer: registered in $(( ($(date +%s%N) - start) / 1000000 )) ms"
done
echo "== the mount shows the whole pyramid:"
ls "$mnt/color"
coarse=$(find "$mnt/color/8-8-4" -type f ! -name zarr.json 2> /dev/null | head -1 || true)
[ -n "$coarse" ] || coarse=$(find "$mnt/color" -path '*-*' -type f ! -name zarr.json | tail -1)
echo "== first read of one lazy file computes it (and what it needs, recursively):"
start=$(date +%s%N)
bytes=$(wc -c < "$coarse")
echo "   $coarse: $bytes bytes in $(( ($(date +%s%N) - start) / 1000000 )) ms"
start=$(date +%s%N)
wc -c < "$coarse" > /dev/null
echo "   second read: $(( ($(date +%s%N) - start) / 1000000 )) ms (now a plain file on disk)"
"$wkfs" ctl "$mnt" status > "$work/status.json"
echo "== lazy counters (files computed / total per mag):"
grep -E '"(layer|mag|files_computed|files_total)"' "$work/status.json" | paste - - - - | sed 's/[",]//g; s/  */ /g' || true
cat <<MSG

The mount is up at $mnt (backing folder $data).
  look:        ls $mnt/color ; cat $mnt/datasource-properties.json ; $wkfs ctl $mnt status
  compute all: $wkfs ctl $mnt/color materialize --wait
  unmount:     $wkfs unmount $mnt
MSG
