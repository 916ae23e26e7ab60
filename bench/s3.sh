#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# S3 client throughput: sbs's client (tests/test_s3 put/get: SigV4, MD5 and
# SHA-256 of every byte, multipart in 8 MiB parts for the upload) next to
# curl --aws-sigv4 (one PUT, UNSIGNED-PAYLOAD: no hashing, no checks) against the same s3rver on loopback
# HTTP, in the same run. s3rver (node) is the bottleneck of both, so only the
# ratios mean something. The client CPU column is what the checks cost:
# sbs hashes every byte with SHA-256 (x-amz-content-sha256) and MD5
# (Content-MD5 and the ETag checks), curl here hashes nothing.
# usage: bench/s3.sh TEST_S3_BINARY [MiB]
set -euo pipefail
T=$(realpath "$1")
MB=${2:-${BENCH_S3_MB:-64}}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
JS=$ROOT/build/npm-s3rver/node_modules/s3rver/bin/s3rver.js
[ -f "$JS" ] || (mkdir -p "$ROOT/build/npm-s3rver" && cd "$ROOT/build/npm-s3rver" &&
	npm install --no-audit --no-fund --loglevel=error s3rver@3.7.1 >/dev/null)
W=$(mktemp -d /tmp/sbs-bench-s3.XXXXXX)
PID=
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$W"' EXIT
P=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
node "$JS" -d "$W/d" -a 127.0.0.1 -p "$P" -s --configure-bucket bench >"$W/log" 2>&1 &
PID=$!
for _ in $(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/"$P") 2>/dev/null && break; sleep 0.1; done
head -c $((MB * 1024 * 1024)) /dev/urandom >"$W/obj"
export S3_ENDPOINT=http://127.0.0.1:$P S3_BUCKET=bench S3_ACCESS_KEY=S3RVER S3_SECRET_KEY=S3RVER
# best of 3: "<wall> <cpu>" (cpu = user + sys of the client process)
run3() {
	local i out
	for i in 1 2 3; do
		out=$( { TIMEFORMAT='%R %U %S'; time "$@" >/dev/null 2>&1; } 2>&1 | tail -n1)
		echo "$out" | awk '{ printf "%.3f %.3f\n", $1, $2 + $3 }'
	done | sort -n | head -n1
}
CURL=(curl -sS --fail --max-time 120 --aws-sigv4 aws:amz:us-east-1:s3 --user S3RVER:S3RVER
	-H "x-amz-content-sha256: UNSIGNED-PAYLOAD")
head -c $((8 * 1024 * 1024)) "$W/obj" >"$W/obj8"
s8=$(run3 "$T" put o8 "$W/obj8")
c8=$(run3 "${CURL[@]}" -T "$W/obj8" "$S3_ENDPOINT/bench/c8")
sp=$(run3 "$T" put o "$W/obj")
cp=$(run3 "${CURL[@]}" -T "$W/obj" "$S3_ENDPOINT/bench/c")
sg=$(run3 "$T" get o "$W/back")
cg=$(run3 "${CURL[@]}" -o "$W/cback" "$S3_ENDPOINT/bench/c")
cmp -s "$W/obj" "$W/back" && cmp -s "$W/obj" "$W/cback" || { echo "bench/s3: objects differ" >&2; exit 1; }
line() { # WHAT SBS CURL
	set -- "$1" $2 $3
	printf '%-34s sbs %6.2f s (client CPU %5.2f s)   curl %6.2f s (CPU %5.2f s)   wall ratio %.2f\n' \
		"$1" "$2" "$3" "$4" "$5" "$(echo "$2 / $4" | bc -l)"
}
line "PUT 8 MiB (one PUT each)" "$s8" "$c8"
line "PUT $MB MiB (sbs: $(((MB + 7) / 8)) parts; curl: 1)" "$sp" "$cp"
line "GET $MB MiB (sbs: ETag checked, fsync)" "$sg" "$cg"
