#!/usr/bin/env bash
# The remote cache through a real mount (issue 12 item 6): nginx-light serves a copy of a fixture;
# `wkfs mount https://.../ds -o remote_cache_dir=DIR` serves the served bytes and counts its
# fetches in .wkfs-status; a remount over the same DIR asks nginx for nothing it cached (within
# the revalidation window), with remote_revalidate_s=0 only conditional requests answered 304; a
# file replaced on the server is served new once the window is over; `wkfs ctl MOUNT cache-clear`
# makes reads fetch again; a daemon killed mid-read and damaged entries (truncated, a byte
# flipped) never give other bytes than the server's; a folder that is not a cache is refused.
source "$(dirname "$0")/mount_common.inc" "$@"
source "$(dirname "$0")/remote_common.inc"

copy_fixtures "$WORK/root" simple_zarr3_dataset
mv "$WORK/root/simple_zarr3_dataset" "$WORK/root/ds"
start_nginx "$WORK/root"
URL=https://127.0.0.1:$HTTPS/ds
SERVED=$WORK/root/ds
C=$WORK/cache
M=$WORK/mnt

# same_bytes: every served file read through the mount equals the server's
same_bytes() {
  (cd "$SERVED" && find . -type f) | while read -r f; do cmp "$SERVED/$f" "$M/$f" || fail "bytes differ: $f"; done
}
# gets_since N STATUS: GET requests after access-log line N answered with STATUS (a regex)
gets_since() { access_since "$1" | grep -cE "^[0-9]+ [0-9]+ ($2) \"GET " || true; }
# status EXPR: a Python expression over d = the mount's .wkfs-status
status() { json "$M/.wkfs-status" "$1"; }
# daemon_pid SOURCE MOUNTPOINT: the pid of the daemon this script started for that mount
daemon_pid() {
  local p
  for p in /proc/[0-9]*; do
    [[ $(tr '\0' ' ' 2> /dev/null < "$p/cmdline") == "$WKFS mount $1 $2 "* ]] && echo "${p#/proc/}"
  done
  return 0
}
total=$(find "$SERVED" -type f -printf '%s\n' | awk '{s += $1} END {print s}')

# --- a folder that is not a cache is refused, nothing mounted, nothing changed ----------------------
mkdir -p "$WORK/foreign" "$M"
echo "not a cache" > "$WORK/foreign/notes.txt"
expect_failure "holds no 'wkfs-remote-cache' file" "$WKFS" mount "$URL" "$M" -o ca_file="$CA",remote_cache_dir="$WORK/foreign"
is_mounted "$M" && fail "mounted over a foreign cache folder"
[[ $(ls -A "$WORK/foreign") == notes.txt && $(cat "$WORK/foreign/notes.txt") == "not a cache" ]] || fail "the foreign folder changed"
expect_failure "overlap" "$WKFS" mount "$URL" "$M" -o ca_file="$CA",remote_cache_dir="$M/cache"
expect_failure "remote_cache_mb=0 is too small" "$WKFS" mount "$URL" "$M" -o ca_file="$CA",remote_cache_mb=0

# --- first mount: everything fetched once, counted ---------------------------------------------------
mount_wkfs "$URL" "$M" -o ca_file="$CA",remote_cache_dir="$C"
same_bytes
[[ $(status 'd["remote"]["misses"] > 0') == true ]] || fail "no misses counted: $(status 'd["remote"]')"
[[ $(status "d['remote']['bytes_fetched'] >= $total") == true ]] || fail "fewer bytes fetched than served: $(status 'd["remote"]')"
[[ $(status "d['remote']['cache']['bytes_used'] > $total") == true ]] || fail "the cache holds less than the files: $(status 'd["remote"]["cache"]')"
[[ $(status 'd["remote"]["cache"]["dir"]') == "$C" ]] || fail "status names another cache folder"
echo "first mount: $(status 'd["remote"]["misses"]') misses, $(status 'd["remote"]["bytes_fetched"]') bytes fetched for $total served"
"$WKFS" unmount "$M"

# --- remount within the window: nginx sends no bytes -------------------------------------------------
n=$(wc -l < "$NGINX_LOG")
mount_wkfs "$URL" "$M" -o ca_file="$CA",remote_cache_dir="$C"
same_bytes
[[ $(gets_since "$n" '200|206') == 0 ]] || fail "a remount fetched cached ranges again: $(access_since "$n")"
[[ $(status 'd["remote"]["misses"]') == 0 && $(status 'd["remote"]["hits"] > 0') == true ]] ||
  fail "remount counters: $(status 'd["remote"]')"
echo "remount: $(status 'd["remote"]["hits"]') hits, 0 GETs, $(access_since "$n" | grep -c '"HEAD ' || true) HEADs (sizes; head() is not cached)"
"$WKFS" unmount "$M"

# --- remote_revalidate_s=0: every cached range is checked, and every answer is a 304 -----------------
n=$(wc -l < "$NGINX_LOG")
mount_wkfs "$URL" "$M" -o ca_file="$CA",remote_cache_dir="$C",remote_revalidate_s=0
same_bytes
[[ $(gets_since "$n" '200|206') == 0 ]] || fail "unchanged ranges fetched whole: $(access_since "$n")"
[[ $(gets_since "$n" '304') -gt 0 ]] || fail "no conditional request answered 304: $(access_since "$n")"
[[ $(status 'd["remote"]["revalidated"] > 0') == true ]] || fail "no revalidation counted: $(status 'd["remote"]')"
echo "remote_revalidate_s=0: $(gets_since "$n" 304) GETs answered 304, none 200/206"
"$WKFS" unmount "$M"

# --- a file replaced on the server: the new bytes once the window is over ----------------------------
CHUNK=color/1/c/0/0/0/0
"$PY" - "$SERVED/$CHUNK" <<'PYEOF'
import os, sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[len(b) // 2] ^= 0xFF   # same size, other bytes
open(p + ".new", "wb").write(b)
os.rename(p + ".new", p)   # atomically, as a deploy would
PYEOF
sleep 1.5  # past remote_revalidate_s=1 since the 304s above
n=$(wc -l < "$NGINX_LOG")
mount_wkfs "$URL" "$M" -o ca_file="$CA",remote_cache_dir="$C",remote_revalidate_s=1
same_bytes
[[ $(gets_since "$n" '200|206') -gt 0 ]] || fail "the replaced file was not fetched: $(access_since "$n")"

# --- cache-clear: the folder is emptied and reads fetch again -----------------------------------------
reply=$("$WKFS" ctl "$M" cache-clear) || fail "cache-clear failed: $reply"
[[ $(status 'd["remote"]["cache"]["bytes_used"]') == 0 ]] || fail "cache not empty after cache-clear: $(status 'd["remote"]["cache"]')"
[[ -z $(find "$C/entries" -type f) ]] || fail "entry files left after cache-clear: $(find "$C/entries" -type f | head -3)"
"$WKFS" unmount "$M"
n=$(wc -l < "$NGINX_LOG")
mount_wkfs "$URL" "$M" -o ca_file="$CA",remote_cache_dir="$C"
same_bytes
[[ $(gets_since "$n" '200|206') -gt 0 ]] || fail "reads after cache-clear did not fetch"
"$WKFS" unmount "$M"
# without a cache folder: a clear error
mount_wkfs "$URL" "$M" -o ca_file="$CA"
expect_failure "no remote_cache_dir" "$WKFS" ctl "$M" cache-clear
"$WKFS" unmount "$M"

# --- kill -9 mid-read, damaged entries: never other bytes than the server's ---------------------------
SLOW=http://127.0.0.1:$HTTP/slow/ds   # 2 KB/s: a read of the 96 KiB chunk is still running at the kill
mount_wkfs "$SLOW" "$M" -o remote_cache_dir="$C",remote_timeout_s=600
cat "$M/$CHUNK" > /dev/null 2>&1 &
reader=$!
sleep 1
pid=$(daemon_pid "$SLOW" "$M")
[[ -n $pid ]] || fail "no daemon found for $M"
[[ -n $(jobs -r) ]] || fail "the read ended before the kill"
kill -9 "$pid"
wait "$reader" && fail "the read finished although its daemon was killed"
# the entries of two objects the next mount reads (each entry names its object in its header): the
# properties truncated to half, a byte flipped in the largest range of the chunk
entry_of() { find "$C/entries" -type f ! -name version -print0 | xargs -0 grep -l "127.0.0.1:$HTTPS/ds/$1" | xargs ls -S | head -1; }
first=$(entry_of datasource-properties.json)
second=$(entry_of "$CHUNK")
[[ -n $first && -n $second ]] || fail "no cache entries of the properties and the chunk: $(find "$C/entries" -type f | head)"
truncate -s $(($(stat -c %s "$first") / 2)) "$first"
"$PY" - "$second" <<'PYEOF'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[len(b) // 2] ^= 0x01   # one flipped bit
open(p, "wb").write(b)
PYEOF
mount_wkfs "$URL" "$M" -o ca_file="$CA",remote_cache_dir="$C"   # detaches the dead mount first
same_bytes
[[ $(status 'd["remote"]["cache"]["corrupt_dropped"] >= 2') == true ]] ||
  fail "no damaged entry noticed: $(status 'd["remote"]')"
echo "after kill -9 and 2 damaged entries: $(status 'd["remote"]["cache"]["corrupt_dropped"]') dropped, bytes equal the server's"
[[ -z $(find "$C/tmp" -type f) ]] || fail "temp files of the killed daemon left: $(ls "$C/tmp")"
"$WKFS" unmount "$M"
echo "remote_cache: ok"
