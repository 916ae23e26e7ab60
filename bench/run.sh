#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `make bench`: sbsd next to nginx (Debian's, same certificates, client
# certificate verification on, serving a static JSON status) in the same run,
# driven by the same client (bench/loadgen). Prints each figure with its peer
# and the ratio; machines here are noisy, so only ratios are meaningful.
# Also: the size of the static sbsd and its idle RSS.
set -euo pipefail
SBSD=$(realpath "$1"); LOADGEN=$(realpath "$2")
SECS=${BENCH_SECONDS:-5}
PROCS=${BENCH_PROCS:-2}
W=$(mktemp -d /tmp/sbs-bench.XXXXXX)
PIDS=()
trap 'for p in "${PIDS[@]:-}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$W"' EXIT
cd "$W"
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ec() { openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" -out "$1.csr" -subj "/CN=$2" "${@:3}" 2>/dev/null; }

# one CA, one server certificate (used by both servers), one client certificate
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem -subj /CN=bench-ca -days 2 2>/dev/null
ec server localhost -addext subjectAltName=DNS:localhost
printf 'subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n' >srv.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile srv.ext 2>/dev/null
ec client Client
printf 'extendedKeyUsage=clientAuth\n' >cli.ext
openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out client.pem -days 2 -extfile cli.ext 2>/dev/null
cat client.pem client.key >client-ck.pem

P1=$(port); P2=$(port)
CLIENT_CA=$(base64 -w0 ca.pem) SERVER_CRT=$(base64 -w0 server.pem) SERVER_KEY=$(base64 -w0 server.key) \
SBS_HOSTNAME=localhost SBS_PORT=$P1 SBS_LISTEN=127.0.0.1 SBS_DATA_DIR=$W/data \
SBS_APPLIANCE_SECRET_FILE=$W/app.secret "$SBSD" >sbsd.log 2>&1 &
SBSD_PID=$!; PIDS+=($SBSD_PID)
mkdir -p nginx/logs
cat >nginx/nginx.conf <<CONF
worker_processes 1;
daemon off;
pid $W/nginx/nginx.pid;
error_log $W/nginx/logs/error.log;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $W/nginx/body; proxy_temp_path $W/nginx/proxy;
    fastcgi_temp_path $W/nginx/fcgi; uwsgi_temp_path $W/nginx/uwsgi; scgi_temp_path $W/nginx/scgi;
    keepalive_requests 1000000;
    server {
        listen 127.0.0.1:$P2 ssl;
        ssl_certificate $W/server.pem;
        ssl_certificate_key $W/server.key;
        ssl_client_certificate $W/ca.pem;
        ssl_verify_client on;
        ssl_protocols TLSv1.2;
        location / { default_type application/json; return 200 '{"status": ""}'; }
    }
}
CONF
nginx -c "$W/nginx/nginx.conf" -p "$W/nginx" >nginx.log 2>&1 &
PIDS+=($!)
for i in $(seq 1 100); do
	grep -q "listening on" sbsd.log && (exec 3<>/dev/tcp/127.0.0.1/$P2) 2>/dev/null && break
	sleep 0.1
done
sleep 1
rss() { awk '/VmRSS/ {print $2}' /proc/$1/status; }
IDLE_RSS=$(rss "$SBSD_PID")

ratio() { python3 -c "import sys; a,b=float(sys.argv[1]),float(sys.argv[2]); print('%.2f' % (a/b if b else 0))" "$1" "$2"; }
field() { awk -v k="$1" '{for(i=1;i<NF;i++) if ($i==k) print $(i+1)}' <<<"$2"; }
printf '%-34s %12s %12s %8s\n' "figure" "sbsd" "nginx" "ratio"
for mode in keepalive handshake; do
	s=$("$LOADGEN" 127.0.0.1 "$P1" client-ck.pem "$mode" "$SECS" "$PROCS" /image)
	n=$("$LOADGEN" 127.0.0.1 "$P2" client-ck.pem "$mode" "$SECS" "$PROCS" /image)
	for k in rps p50_ms p99_ms; do
		printf '%-34s %12s %12s %8s\n' "$mode $k" "$(field $k "$s")" "$(field $k "$n")" \
			"$(ratio "$(field $k "$s")" "$(field $k "$n")")"
	done
done
echo "(rps ratio: higher is better, goals keep-alive >= 1.0, handshake >= 0.5; latency ratio: lower is better)"
printf '%-34s %12s %12s\n' "static sbsd size (bytes)" "$(stat -c %s "$SBSD")" "goal <= 2097152"
printf '%-34s %12s %12s\n' "sbsd idle RSS (KiB)" "$IDLE_RSS" "goal <= 8192"
printf '%-34s %12s\n' "sbsd RSS after the runs (KiB)" "$(rss "$SBSD_PID")"
