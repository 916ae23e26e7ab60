# SPDX-License-Identifier: MIT
# Shared helpers for the integration tests (sourced). Every server a test
# starts listens on 127.0.0.1 only and is stopped by the EXIT trap; every wait
# is a bounded loop.
#
# Env in: SBSD, SBS (binaries), RUN (empty or qemu-s390x-static).

: "${SBSD:?set SBSD to the sbsd binary}"
: "${SBS:?set SBS to the sbs binary}"
RUN=${RUN:-}
TESTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TMP=$(mktemp -d /tmp/sbs-it.XXXXXX)
PIDS=()
n=0

cleanup() {
	for p in "${PIDS[@]:-}"; do
		[ -n "$p" ] && { kill -9 "$p" && wait "$p"; } 2>/dev/null || true
	done
	if [ "${KEEP_TMP:-0}" = 1 ]; then echo "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT

ok() { n=$((n + 1)); echo "ok $n - $*"; }
fail() {
	echo "FAIL - $*" >&2
	[ -s "$TMP/err" ] && sed 's/^/  stderr: /' "$TMP/err" | tail -20 >&2
	for l in "$TMP"/sbsd*.log; do [ -f "$l" ] && { echo "  --- $l" >&2; tail -15 "$l" >&2; }; done
	exit 1
}
has() { grep -q -- "$1" "$2"; }

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_tcp PORT [SECONDS]: until something accepts on 127.0.0.1:PORT
wait_tcp() {
	local i
	for i in $(seq 1 $((${2:-60} * 10))); do
		(exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

listening() { cat "$TMP/sbsd-$1.log" 2>/dev/null | grep -c "listening on" || true; }

# start_sbsd NAME PORT DATADIR [VAR=value ...]: starts sbsd, sets SBSD_PID
start_sbsd() {
	local name=$1 port=$2 data=$3 before
	shift 3
	# the log is appended across restarts: wait for one more "listening" line
	before=$(listening "$name")
	env SBS_HOSTNAME=localhost SBS_PORT="$port" SBS_LISTEN=127.0.0.1 SBS_DATA_DIR="$data" \
		SBS_APPLIANCE_SECRET_FILE="${APP_SECRET:-$TMP/appliance.secret}" \
		CLIENT_CA="$CLIENT_CA" "$@" $RUN "$SBSD" >>"$TMP/sbsd-$name.log" 2>&1 &
	SBSD_PID=$!
	PIDS+=("$SBSD_PID")
	local i
	for i in $(seq 1 600); do
		[ "$(listening "$name")" -gt "$before" ] && return 0
		kill -0 "$SBSD_PID" 2>/dev/null || fail "sbsd $name exited at start"
		sleep 0.1
	done
	fail "sbsd $name did not start within 60 s"
}

stop_sbsd() {
	kill "$1" 2>/dev/null || true
	local i
	for i in $(seq 1 100); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
	kill -9 "$1" 2>/dev/null || true
}

# sbs ARGS...: the client in the current directory; stdout -> $TMP/out, stderr -> $TMP/err
sbs() { $RUN "$SBS" "$@" >"$TMP/out" 2>"$TMP/err"; }

# jget FILE KEY: a top-level string of a JSON file
jget() { jq -r --arg k "$2" '.[$k] // empty' "$1"; }

# build_and_wait: PUT /image with ./sbs-config.json, then status until success
# or failure (bounded: 120 s); the last status is in $TMP/out.
build_and_wait() {
	sbs build --env sbs-config.json || fail "build"
	has "OK: async build started" "$TMP/out" || fail "build reply: $(cat "$TMP/out")"
	local i
	for i in $(seq 1 600); do
		sbs status --env sbs-config.json || fail "status during the build"
		grep -q -e '"status": "success"' -e '"status": "exiting due to' "$TMP/out" && return 0
		sleep 0.2
	done
	fail "build did not end within 120 s"
}
