#!/usr/bin/env bash
# Faults of remote stores through a real mount, each with its documented result and never wrong
# bytes or a hang (every read runs under `timeout 60`, a hang guard, not a timing assertion):
#   slow server (nginx /slow/, 2 KB/s)  -> EIO once remote_timeout_s has passed; other files keep being served
#   503 server (nginx /fail/)           -> retried, then EIO (mount: refused, naming HTTP 503)
#   body dropped midway (python3)       -> retried, then EIO; other files keep being served
#   server ignoring Range (/norange/)   -> the right bytes
#   missing object                      -> not listed, ENOENT at lookup; gone after lookup: EIO at read
source "$(dirname "$0")/mount_common.inc" "$@"
source "$(dirname "$0")/remote_common.inc"

copy_fixtures "$WORK/root" simple_zarr3_dataset simple_zarr_dataset
start_nginx "$WORK/root"
DROP_PID=
on_exit '[[ -n $DROP_PID ]] && kill $DROP_PID 2>/dev/null'
EIO="Input/output error"
SHARD=color/1/c/0/0/0/0
M=$WORK/mnt

# --- slow server: EIO after the timeout, the daemon keeps serving -------------------------------------
mount_wkfs "https://127.0.0.1:$HTTPS/slow/simple_zarr3_dataset" "$M" -o ca_file="$CA",remote_timeout_s=2
start=$(date +%s.%N)
(rc=0; timeout 60 cat "$M/$SHARD" > "$WORK/slow.out" 2> "$WORK/slow.err" || rc=$?; echo $rc > "$WORK/slow.rc") &
reader=$!
sleep 0.3
timeout 60 cmp "$M/color/1/zarr.json" "$WORK/root/simple_zarr3_dataset/color/1/zarr.json" ||
  fail "another file was not served while a slow read was under way"
wait $reader
end=$(date +%s.%N)
[[ $(cat "$WORK/slow.rc") != 124 ]] || fail "a read of a slow server hung past 60 s"
[[ $(cat "$WORK/slow.rc") != 0 ]] && grep -q "$EIO" "$WORK/slow.err" || fail "slow read: $(cat "$WORK/slow.rc") $(cat "$WORK/slow.err")"
[[ ! -s $WORK/slow.out ]] || cmp -n "$(stat -c %s "$WORK/slow.out")" "$WORK/slow.out" "$WORK/root/simple_zarr3_dataset/$SHARD" ||
  fail "the slow read gave wrong bytes"
echo "[ measure ] slow server, remote_timeout_s=2: EIO after $(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }') s"
"$WKFS" unmount "$M"

# --- 503: retried, then EIO ---------------------------------------------------------------------------
expect_failure "HTTP 503" "$WKFS" mount "https://127.0.0.1:$HTTPS/fail/simple_zarr3_dataset" "$M" -o ca_file="$CA",remote_timeout_s=5
url_mag_dataset "$WORK/local/ds" simple_zarr3_dataset "https://127.0.0.1:$HTTPS/fail/simple_zarr3_dataset/color/1"
mount_wkfs "$WORK/local" "$M" -o ca_file="$CA",remote_timeout_s=5
expect_failure "$EIO" timeout 60 ls "$M/ds/color/1"
grep -q "fail/simple_zarr3_dataset/color/1/zarr.json.*503" "$WORK/daemon.log" || fail "no log line with the URL and 503: $(tail -3 "$WORK/daemon.log")"
[[ $(grep -c "fail/simple_zarr3_dataset/color/1/zarr.json" "$NGINX_LOG") -ge 2 ]] || fail "503 was not retried"
timeout 60 cmp "$M/ds/color/zarr.json" "$WORK/local/ds/color/zarr.json" || fail "local files after a 503"
"$WKFS" unmount "$M"

# --- a body dropped midway -------------------------------------------------------------------------------
# GET and HEAD with Range; below /drop/, bodies over 1000 bytes stop halfway and the connection closes.
cat > "$WORK/drop.py" <<'PYEOF'
import http.server, os, socketserver, sys
root = sys.argv[1]
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def answer(self, body):
        drop = self.path.startswith("/drop/")
        p = os.path.join(root, self.path[len("/drop/"):] if drop else self.path.lstrip("/"))
        if not os.path.isfile(p):
            self.send_response(404); self.send_header("Content-Length", "0"); self.end_headers(); return
        data = open(p, "rb").read(); n = len(data); start, end, status = 0, n - 1, 200
        r = self.headers.get("Range")
        if r and r.startswith("bytes="):
            a, b = r[6:].split("-")
            start, end = (max(0, n - int(b)), n - 1) if a == "" else (int(a), min(n - 1, int(b)) if b else n - 1)
            status = 206
        self.send_response(status)
        self.send_header("Content-Length", str(end - start + 1))
        if status == 206: self.send_header("Content-Range", f"bytes {start}-{end}/{n}")
        self.end_headers()
        if not body: return
        part = data[start:end + 1]
        if drop and len(part) > 1000:
            self.wfile.write(part[: len(part) // 2]); self.wfile.flush(); self.close_connection = True
            self.connection.shutdown(2); return
        self.wfile.write(part)
    def do_GET(self): self.answer(True)
    def do_HEAD(self): self.answer(False)
class S(socketserver.ThreadingMixIn, http.server.HTTPServer): daemon_threads = True
s = S(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
PYEOF
"$PY" -u "$WORK/drop.py" "$WORK/root" > "$WORK/drop.port" &
DROP_PID=$!
for _ in $(seq 100); do [[ -s $WORK/drop.port ]] && break; sleep 0.05; done
DROP=$(head -1 "$WORK/drop.port")
mount_wkfs "http://127.0.0.1:$DROP/drop/simple_zarr3_dataset" "$M" -o remote_timeout_s=10
expect_failure "$EIO" timeout 60 cat "$M/$SHARD"
timeout 60 cmp "$M/color/1/zarr.json" "$WORK/root/simple_zarr3_dataset/color/1/zarr.json" || fail "small files after a dropped body"
"$WKFS" unmount "$M"

# --- a server that ignores Range: the right bytes ---------------------------------------------------------
mount_wkfs "https://127.0.0.1:$HTTPS/norange/simple_zarr3_dataset" "$M" -o ca_file="$CA"
(cd "$WORK/root/simple_zarr3_dataset" && find . -type f) | while read -r f; do
  timeout 60 cmp "$M/$f" "$WORK/root/simple_zarr3_dataset/$f" || fail "norange: $f"
done
"$PY" -c "
import sys
f = open(sys.argv[1], 'rb'); f.seek(-100, 2); a = f.read()
g = open(sys.argv[2], 'rb'); g.seek(-100, 2); assert a == g.read(), 'tail read differs'
" "$M/$SHARD" "$WORK/root/simple_zarr3_dataset/$SHARD" || fail "norange: a read of the shard index"
"$WKFS" unmount "$M"

# --- missing objects -------------------------------------------------------------------------------------
# The Zarr v2 array grows to two chunks along x; the server has only the first.
"$PY" - "$WORK/root/simple_zarr_dataset/color/1-1-1/.zarray" <<'PYEOF'
import json, sys
d = json.load(open(sys.argv[1])); d["shape"][1] = 48; json.dump(d, open(sys.argv[1], "w"))
PYEOF
mount_wkfs "http://127.0.0.1:$HTTP/simple_zarr_dataset" "$M"
[[ $(ls -A "$M/color/1-1-1" | tr '\n' ' ') == ".zarray 0.0.0.0 " ]] || fail "listing with a missing chunk: $(ls -A "$M/color/1-1-1")"
expect_failure "No such file" stat "$M/color/1-1-1/0.1.0.0"
stat "$M/color/1-1-1/0.0.0.0" > /dev/null
mv "$WORK/root/simple_zarr_dataset/color/1-1-1/0.0.0.0" "$WORK/gone"
expect_failure "$EIO" timeout 60 cat "$M/color/1-1-1/0.0.0.0"
grep -q "gone since it was looked up" "$WORK/daemon.log" || fail "no log line for the object gone"
"$WKFS" unmount "$M"
echo "remote_faults: ok"
