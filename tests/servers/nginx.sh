#!/usr/bin/env bash
# A throw-away nginx-light on 127.0.0.1 for the storage tests: plain HTTP and TLS + HTTP/2 with a
# self-signed certificate for IP:127.0.0.1, plus fault locations. Everything lives in DIR.
#   nginx.sh start DIR ROOT   serve ROOT; prints "HTTP_PORT HTTPS_PORT" (also in DIR/ports)
#   nginx.sh proxy DIR PORT   TLS (and plain) front for a server on 127.0.0.1:PORT, Host kept (SigV4 signs it)
#   nginx.sh stop DIR         stop the server started in DIR (by its PID)
# Locations: /          ROOT with Range support
#            /slow/     ROOT at 2 KB/s (timeouts)
#            /fail/     always 503 (retries)
#            /norange/  ROOT with Range ignored: 200 and the whole body (max_ranges 0)
# The access log DIR/access.log starts with $connection, so connection reuse can be counted.
set -euo pipefail
cmd=${1:?start|stop}; dir=${2:?DIR}
nginx=/usr/sbin/nginx
[ -x $nginx ] || { echo "nginx.sh: $nginx missing (apt-get install nginx-light)" >&2; exit 1; }

stop() {
  [ -f "$dir/server.pid" ] || return 0
  local pid; pid=$(cat "$dir/server.pid")
  if kill "$pid" 2>/dev/null; then
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
  fi
  rm -f "$dir/server.pid"
}

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

if [ "$cmd" = stop ]; then stop; exit 0; fi
http_extra=""
case "$cmd" in
  start)
    root=$(cd "${3:?ROOT}" && pwd)
    server_body="root $root;
    location /slow/ { alias $root/; limit_rate 2k; }
    location /fail/ { return 503; }
    location /norange/ { alias $root/; max_ranges 0; }" ;;
  proxy)
    upstream=${3:?PORT}
    http_extra="upstream backend { server 127.0.0.1:$upstream; keepalive 32; }"
    server_body="client_max_body_size 0;
    location / {
      proxy_pass http://backend;
      proxy_set_header Host \$http_host;
      proxy_http_version 1.1;
      proxy_set_header Connection \"\";
      proxy_request_buffering off;
      proxy_buffering off;
    }" ;;
  *) echo "nginx.sh: unknown command $cmd" >&2; exit 2 ;;
esac
mkdir -p "$dir"/tmp
dir=$(cd "$dir" && pwd)
if [ ! -f "$dir/cert.pem" ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
    -keyout "$dir/key.pem" -out "$dir/cert.pem" 2>/dev/null
fi

for try in 1 2 3 4 5; do
  http_port=$(free_port); https_port=$(free_port)
  [ "$http_port" != "$https_port" ] || continue
  user=""; [ "$(id -u)" = 0 ] && user="user root;"
  cat > "$dir/nginx.conf" <<CONF
daemon off;
master_process on;
worker_processes 1;
$user
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 1024; }
http {
  log_format conns '\$connection \$connection_requests \$status "\$request" \$server_protocol "\$http_range" "\$http_x_auth_token" \$body_bytes_sent';
  access_log $dir/access.log conns;
  client_body_temp_path $dir/tmp/body;
  proxy_temp_path $dir/tmp/proxy;
  fastcgi_temp_path $dir/tmp/fastcgi;
  uwsgi_temp_path $dir/tmp/uwsgi;
  scgi_temp_path $dir/tmp/scgi;
  keepalive_requests 100000;
  keepalive_timeout 60s;
  http2_max_requests 100000;
  types { application/octet-stream bin; application/json json; }
  default_type application/octet-stream;
  $http_extra
  server {
    listen 127.0.0.1:$http_port;
    listen 127.0.0.1:$https_port ssl http2;
    ssl_certificate $dir/cert.pem;
    ssl_certificate_key $dir/key.pem;
    $server_body
  }
}
CONF
  $nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" </dev/null >"$dir/stdout.log" 2>&1 &
  pid=$!
  echo $pid > "$dir/server.pid"
  for _ in $(seq 100); do
    kill -0 $pid 2>/dev/null || break
    if curl -s -o /dev/null "http://127.0.0.1:$http_port/healthcheck" &&
       curl -sk -o /dev/null "https://127.0.0.1:$https_port/healthcheck"; then
      echo "$http_port $https_port" | tee "$dir/ports"
      exit 0
    fi
    sleep 0.02
  done
  stop  # most likely a port was taken between choosing and binding: choose again
done
echo "nginx.sh: nginx did not start; see $dir/error.log" >&2
cat "$dir/error.log" >&2 || true
exit 1
