#!/usr/bin/env bash
# A throw-away OpenStack Swift with the s3api middleware on 127.0.0.1 (real SigV4 checks), with an
# nginx TLS front so that s3://127.0.0.1:TLS_PORT/bucket/... works as webknossos-libs reads it (https).
#   swift_s3.sh start DIR   prints "S3_HTTP_PORT TLS_PORT" (also in DIR/ports); CA: DIR/front/cert.pem
#   swift_s3.sh stop DIR    stops everything started in DIR, by PID
# Credentials: access key "test:tester", secret "testing" (tempauth), region us-east-1.
set -euo pipefail
cmd=${1:?start|stop}; dir=${2:?DIR}
here=$(cd "$(dirname "$0")" && pwd)
py=/usr/bin/python3  # Debian's python: swift's modules are there, not in a pyenv one

stop() {
  bash "$here/nginx.sh" stop "$dir/front" || true
  [ -f "$dir/pids" ] || return 0
  local pids; pids=$(cat "$dir/pids")
  for pid in $pids; do kill "$pid" 2>/dev/null || true; done
  for pid in $pids; do
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    kill -9 "$pid" 2>/dev/null || true
  done
  rm -f "$dir/pids"
}
if [ "$cmd" = stop ]; then stop; exit 0; fi
[ "$cmd" = start ] || { echo "swift_s3.sh: unknown command $cmd" >&2; exit 2; }
for b in swift-proxy-server swift-account-server swift-container-server swift-object-server memcached; do
  command -v $b >/dev/null || { echo "swift_s3.sh: $b missing (apt-get install swift swift-proxy swift-account swift-container swift-object memcached)" >&2; exit 1; }
done
if [ ! -f /etc/swift/swift.conf ]; then  # swift reads only this path; the package normally ships it
  mkdir -p /etc/swift
  printf '[swift-hash]\nswift_hash_path_suffix = wkfs-test\nswift_hash_path_prefix = wkfs-test\n[storage-policy:0]\nname = Policy-0\ndefault = yes\n' > /etc/swift/swift.conf
fi
mkdir -p "$dir/srv/d0" "$dir/run"
dir=$(cd "$dir" && pwd)
read -r mc acc con obj proxy < <($py -c '
import socket
socks = [socket.socket() for _ in range(5)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])')

$py - "$dir" "$acc" "$con" "$obj" <<'PY'
import sys
from swift.common.ring import RingBuilder
d, ports = sys.argv[1], dict(zip(("account", "container", "object"), map(int, sys.argv[2:5])))
for name, port in ports.items():
    b = RingBuilder(6, 1, 1)
    b.add_dev({"id": 0, "region": 1, "zone": 1, "ip": "127.0.0.1", "port": port, "device": "d0", "weight": 100})
    b.rebalance()
    b.get_ring().save(f"{d}/{name}.ring.gz")
PY

common="[DEFAULT]
bind_ip = 127.0.0.1
workers = 0
devices = $dir/srv
mount_check = false
swift_dir = $dir
log_level = WARNING
"
for kind in account container object; do
  port_var=${kind:0:3}; port=${!port_var}
  printf '%sbind_port = %s\n[pipeline:main]\npipeline = %s-server\n[app:%s-server]\nuse = egg:swift#%s\n' \
    "$common" "$port" "$kind" "$kind" "$kind" > "$dir/$kind-server.conf"
done
cat > "$dir/proxy-server.conf" <<CONF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $proxy
workers = 0
swift_dir = $dir
log_level = WARNING
[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats s3api tempauth copy slo dlo proxy-logging proxy-server
[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true
[filter:s3api]
use = egg:swift#s3api
location = us-east-1
[filter:tempauth]
use = egg:swift#tempauth
user_test_tester = testing .admin
[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:$mc
[filter:catch_errors]
use = egg:swift#catch_errors
[filter:gatekeeper]
use = egg:swift#gatekeeper
[filter:healthcheck]
use = egg:swift#healthcheck
[filter:proxy-logging]
use = egg:swift#proxy_logging
[filter:listing_formats]
use = egg:swift#listing_formats
[filter:copy]
use = egg:swift#copy
[filter:slo]
use = egg:swift#slo
[filter:dlo]
use = egg:swift#dlo
CONF

: > "$dir/pids"
memcached -u root -l 127.0.0.1 -p "$mc" -U 0 </dev/null >"$dir/run/memcached.log" 2>&1 &
echo $! >> "$dir/pids"
for kind in account container object proxy; do
  swift-$kind-server "$dir/$kind-server.conf" </dev/null >"$dir/run/$kind.log" 2>&1 &
  echo $! >> "$dir/pids"
done
for _ in $(seq 300); do
  curl -sf -o /dev/null "http://127.0.0.1:$proxy/healthcheck" && break
  sleep 0.05
done
if ! curl -sf -o /dev/null "http://127.0.0.1:$proxy/healthcheck"; then
  echo "swift_s3.sh: the proxy did not come up; logs in $dir/run" >&2
  tail -n 20 "$dir"/run/*.log >&2 || true
  stop; exit 1
fi
read -r _ tls < <(bash "$here/nginx.sh" proxy "$dir/front" "$proxy")
echo "$proxy $tls" | tee "$dir/ports"
