#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Power cuts on the s390x appliance: qemu/powercut.sh APPDIR SBS [ROUNDS] [SEED]
#
# One disk for the whole run. Round 0 cuts the very first boot at a random
# moment of its mke2fs (0-2.5 s after it starts; the LUKS2 header is already
# written); the set-up boot after it must open the volume and make the file
# system again (hal_se.c: no "finished" marker), then does the CSR
# bootstrap and `init`, and records the baseline: manifest public key, image
# public key, state image. Each of ROUNDS (default 10) rounds then boots,
# starts a writer on the host (`sbs update` with a new DOCKER_REPO, `sbs
# post-state-image` of the baseline state, `sbs init`, in turn) and kills
# QEMU with SIGKILL after a random delay (0-4 s after the writer started;
# bash RANDOM seeded with SEED, printed). The next boot must open the volume
# without a refusal, serve a verified `status` whose body is valid JSON,
# hand out the baseline keys, and hold a DOCKER_REPO that is either the last
# acknowledged value or one that was in flight when the power went: old or
# new, never broken. A last clean power-off and the host's cryptsetup
# (--test-passphrase) close the run.
#
# QEMU is killed, not the host: writes QEMU had issued sit in the host's
# page cache and survive; what the guest had not yet written (its page cache,
# in-flight virtio requests) is lost, which is what a power cut does to the
# guest. Every wait is bounded; QEMU and the writer are killed on exit.
set -euo pipefail
QDIR=$(cd "$(dirname "$0")" && pwd)
APP=$(cd "$1" && pwd)
SBS=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
ROUNDS=${3:-10}
SEED=${4:-$(( $(date +%s) % 32768 ))}
W=$(mktemp -d /tmp/sbs-powercut.XXXXXX)
QPID= WPID=
n=0
cleanup() {
	[ -n "$WPID" ] && { kill "$WPID" && wait "$WPID"; } 2>/dev/null || true
	[ -n "$QPID" ] && { kill -9 "$QPID" && wait "$QPID"; } 2>/dev/null || true
	if [ "${KEEP_TMP:-0}" = 1 ]; then echo "kept $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
ok() { n=$((n + 1)); echo "ok $n - $*"; }
fail() {
	echo "FAIL - $* (seed $SEED)" >&2
	[ -s "$W/err" ] && sed 's/^/  stderr: /' "$W/err" | tail -10 >&2
	[ -n "${LOG:-}" ] && [ -f "$LOG" ] && { echo "  --- $LOG" >&2; tail -25 "$LOG" >&2; }
	exit 1
}
has() { grep -q -- "$1" "$2"; }
# TCG on a loaded host: the first get-publickey makes the RSA-2048 manifest
# key inside the emulated guest, which has taken over 30 s here
export SBS_TIMEOUT=${SBS_TIMEOUT:-180}
sbs() { "$SBS" "$@" --env "$W/sbs-config.json" >"$W/out" 2>"$W/err"; }
RANDOM=$SEED
echo "# power-cut seed $SEED (rerun: qemu/powercut.sh APPDIR SBS $ROUNDS $SEED)"

cd "$W"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >sbs-config.json <<JSON
{
    "HOSTNAME": "localhost",
    "CICD_PORT": "$PORT",
    "CONTAINER_NAME": "powercut",
    "RUNTIME_TYPE": "vpc",
    "IMAGE_TAG": "1.0.0",
    "GITHUB_KEY_FILE": "$W/github_key",
    "GITHUB_URL": "git@github.com:example/app.git",
    "GITHUB_BRANCH": "main",
    "DOCKER_REPO": "example/base",
    "DOCKER_USER": "builder",
    "DOCKER_PASSWORD": "pw-powercut",
    "IMAGE_TAG_PREFIX": "s390x-v1"
}
JSON
printf -- '-----BEGIN OPENSSH PRIVATE KEY-----\nGHKEY-pc\n-----END OPENSSH PRIVATE KEY-----\n' >github_key
sbs create-client-cert || fail "create-client-cert"
sbs appliance-env --out env.cpio || fail "appliance-env"
cat env.cpio "$APP/initramfs.cpio.gz" >initrd
truncate -s 256M disk.img
CERTDIR=$(ls -d .powercut-*.d | head -n1)
CRTKEY=${CERTDIR%.d}

boot() {   # boot NAME: QEMU in the background; sets QPID, LOG
	LOG=$W/console-$1.log
	: >"$LOG"
	"$QDIR"/boot.sh "$APP/vmlinuz" "$W/initrd" "$W/disk.img" "$PORT" "$W/mon.sock" \
		>"$LOG" 2>&1 </dev/null &
	QPID=$!
}
pcut() {   # SIGKILL: the power cut
	kill -9 "$QPID" 2>/dev/null || true
	wait "$QPID" 2>/dev/null || true
	QPID=
}
wait_listening() {
	local i
	for i in $(seq 1 600); do
		has "listening on" "$LOG" && return 0
		has "REFUSING" "$LOG" && fail "$1: the volume was refused after a power cut"
		kill -0 "$QPID" 2>/dev/null || fail "$1: QEMU exited during boot"
		sleep 0.1
	done
	fail "$1: no 'listening' line within 60 s"
}
status_retry() {
	local i
	for i in $(seq 1 20); do
		sbs status "$@" && return 0
		sleep 0.5
	done
	return 1
}
msleep() { sleep "$(printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)))"; }
set_repo() { jq --arg r "$1" '.DOCKER_REPO = $r' sbs-config.json >c.tmp && mv c.tmp sbs-config.json; }
# GET /config-json over mTLS: the image key and DOCKER_REPO as stored
config_json() {
	curl -sS --max-time 20 --cert "$CRTKEY" --cacert "$CERTDIR/client-ca.pem" \
		--resolve "localhost:$PORT:127.0.0.1" "https://localhost:$PORT/config-json" >"$1"
}

# ---- round 0: the first boot is cut inside mke2fs ----
T=$((RANDOM % 2500))
boot r0
for i in $(seq 1 600); do
	has "formatting it (ext4)" "$LOG" && break
	kill -0 "$QPID" 2>/dev/null || fail "round 0: QEMU exited during the first boot"
	sleep 0.05
done
has "formatting it (ext4)" "$LOG" || fail "round 0: no ext4 formatting within 30 s"
msleep "$T"
pcut
ok "round 0: first boot cut $T ms into mke2fs (LUKS2 already written)"

# ---- set-up boot: the volume opens or is formatted cleanly; baseline ----
boot setup
wait_listening "set-up boot"
status_retry --noverify || fail "status --noverify on the set-up boot"
sbs get-server-csr || fail "get-server-csr"
sbs sign-csr || fail "sign-csr"
for i in $(seq 1 20); do
	sbs post-server-cert && break
	has "not valid now" "$W/err" || fail "post-server-cert"
	sleep 0.5
done
sbs init || fail "init"
status_retry || fail "verified status on the set-up boot"
sbs get-publickey || fail "get-publickey"
mv "$(ls manifest.*-public.pem | head -n1)" pub-base.pem
config_json cj-base.json || fail "GET /config-json"
jq -e .public_key cj-base.json >/dev/null || fail "config-json: $(cat cj-base.json)"
sbs get-state-image || fail "get-state-image"
mv "$(ls sbs-state.* | head -n1)" state-base.json
pcut
ok "set-up boot after the cut: volume usable, CSR bootstrap, init, baseline keys and state"

# writer ROUND: one write after another; "S v" before, "A v" when acknowledged
writer() {
	local k=0 v
	while :; do
		k=$((k + 1))
		case $((k % 3)) in
		1) v=example/r$1-$k; set_repo "$v"; echo "S $v"; sbs update && echo "A $v" ;;
		2) v=example/base; echo "S $v"; sbs post-state-image --state-image state-base.json &&
			echo "A $v" ;;
		0) v=example/r$1-$k; set_repo "$v"; echo "S $v"; sbs init && echo "A $v" ;;
		esac
	done
}

ACKED=example/base
# check NAME: the boot after a cut is consistent
check() {
	local repo
	status_retry || fail "$1: no verified status"
	jq -e '.status | type == "string"' "$W/out" >/dev/null || fail "$1: status body: $(cat "$W/out")"
	sbs get-publickey || fail "$1: get-publickey"
	cmp -s pub-base.pem "$(ls manifest.*-public.pem | head -n1)" || fail "$1: manifest key changed"
	config_json cj.json || fail "$1: GET /config-json"
	[ "$(jq -r .public_key cj.json)" = "$(jq -r .public_key cj-base.json)" ] ||
		fail "$1: image key changed"
	repo=$(jq -r .repository_name cj.json)
	repo=${repo#docker.io/}
	case " $POSSIBLE " in
	*" $repo "*) ;;
	*) fail "$1: DOCKER_REPO is '$repo', expected one of: $POSSIBLE" ;;
	esac
	echo "$repo"
}

POSSIBLE=$ACKED
TOTAL_OPS=0
for r in $(seq 1 "$ROUNDS"); do
	boot "$r"
	wait_listening "round $r"
	R=$(check "boot $r")
	ACKED=$R   # what the server holds now is the new baseline
	T=$((RANDOM % 4000))
	writer "$r" >"writes-$r.log" 2>/dev/null &
	WPID=$!
	msleep "$T"
	pcut
	kill "$WPID" 2>/dev/null || true
	wait "$WPID" 2>/dev/null || true
	WPID=
	# possible now: the last acknowledged value, or any sent after it
	POSSIBLE=$(awk -v a="$ACKED" '$1 == "A" { a = $2; s = "" } $1 == "S" { s = s " " $2 }
		END { print a s }' "writes-$r.log")
	ops=$(grep -c '^A' "writes-$r.log" || true)
	TOTAL_OPS=$((TOTAL_OPS + ops))
	last=$(tail -n1 "writes-$r.log")
	case $last in "S "*) last=${last#S } ;; *) last=none ;; esac
	ok "round $r: QEMU killed $T ms into the writes ($ops acknowledged; in flight: $last)"
done

# ---- after the last cut: consistent, then a clean power-off ----
boot final
wait_listening "final boot"
check "final boot" >/dev/null
python3 - "$W/mon.sock" <<'PY' || fail "monitor: system_powerdown"
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.settimeout(5)
s.recv(4096)
s.sendall(b"system_powerdown\n")
time.sleep(0.3)
s.close()
PY
for i in $(seq 1 300); do
	kill -0 "$QPID" 2>/dev/null || break
	sleep 0.1
done
kill -0 "$QPID" 2>/dev/null && fail "QEMU still running 30 s after system_powerdown"
wait "$QPID" || fail "QEMU exit status $? after the final power-off"
QPID=
ok "after $ROUNDS cuts ($TOTAL_OPS writes acknowledged): volume opens, status verified, keys unchanged, DOCKER_REPO old or new; clean power-off"
if command -v cryptsetup >/dev/null; then
	printf '%s' "$(jq -r .APPLIANCE_WORKLOAD_SEED sbs-config.json)$(jq -r .APPLIANCE_ENV_SEED sbs-config.json)" |
		sha256sum | cut -c1-64 | tr -d '\n' >vol.key
	cryptsetup open --test-passphrase --key-file vol.key disk.img 2>"$W/err" ||
		fail "cryptsetup --test-passphrase after the power cuts"
	ok "host cryptsetup opens the volume after the power cuts"
fi
echo "powercut: all $n checks passed (seed $SEED)"
