#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Integration test of the keeper/API process split (docs/processes.md) on a
# real sbsd: after full TLS handshakes (sbs, openssl s_client), a state image
# export (sealed in the keeper) and an import, the API process's memory
# (every readable mapping, read through /proc/<pid>/mem by tests/memscan.py)
# holds none of the private scalars of the TLS, image and manifest keys, as
# openssl reads them from the key files, while the keeper's memory does (the
# control that the scan works); the API's environment no longer holds
# SERVER_KEY; the keeper has no capability, no_new_privs, a seccomp filter,
# and no socket but its unix channel; the API has no CAP_SYS_PTRACE and
# no_new_privs, and root without CAP_SYS_PTRACE cannot read the keeper's
# memory (it is not dumpable); SERVER_KEY is in neither process's
# /proc/<pid>/environ (readable without CAP_SYS_PTRACE); killing
# the keeper makes sbsd exit (status 70) with a clear message; killing the
# API makes the keeper exit. Needs root (to read another process's memory).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || { echo "skip: it_keeper needs root (/proc/<pid>/mem of sbsd)"; exit 0; }
[ -z "$RUN" ] || { echo "skip: it_keeper reads native process memory (RUN=$RUN)"; exit 0; }

cd "$TMP"
PORT=$(free_port)
cat >sbs-config.json <<JSON
{
    "HOSTNAME": "localhost",
    "CICD_PORT": "$PORT",
    "CONTAINER_NAME": "itk",
    "IMAGE_TAG": "1.3.0.20",
    "GITHUB_KEY_FILE": "$TMP/github_key",
    "GITHUB_URL": "http://127.0.0.1:1/example/app.git",
    "GITHUB_BRANCH": "main",
    "DOCKER_REPO": "example/app",
    "DOCKER_USER": "builder",
    "DOCKER_PASSWORD": "pw-Do-Not-Leak-1234",
    "IMAGE_TAG_PREFIX": "s390x-v1"
}
JSON
printf -- '-----BEGIN OPENSSH PRIVATE KEY-----\nGHKEY\n-----END OPENSSH PRIVATE KEY-----\n' >github_key
sbs create-client-cert --env sbs-config.json || fail "create-client-cert"
UUID=$(jget sbs-config.json UUID)
D=.itk-$UUID.d
CLIENT_CA=$(base64 -w0 "$D/client-ca.pem")
export CLIENT_CA
# the client certificate and key as separate files, for openssl
openssl x509 -in ".itk-$UUID" -out client.pem
openssl pkey -in ".itk-$UUID" -out client.key

# procs API: the keeper child of API (named sbsd-keeper)
keeper_of() {
	local p
	for p in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
		[ "$(cat /proc/"$p"/comm 2>/dev/null)" = sbsd-keeper ] && { echo "$p"; return 0; }
	done
	return 1
}
# scalar FILE: the private scalar (EC) or private exponent (RSA) of a key file, hex
scalar() {
	openssl pkey -in "$1" -text -noout |
		awk '/^(priv|privateExponent):/{on=1; next} /^[a-zA-Z]/{on=0} on' |
		tr -d ' :\n' | sed 's/^00//'
}
status_of() { grep -E "^$2:" /proc/"$1"/status | awk '{print $2}'; }

start_sbsd one "$PORT" "$TMP/data"
API=$SBSD_PID
KEEPER=$(keeper_of "$API") || fail "no sbsd-keeper child of the API process $API"
ok "sbsd runs as two processes: API $API, keeper $KEEPER"

# ---- traffic: handshakes, a seal, an import ----
sbs status --env sbs-config.json --noverify || fail "status (full handshake)"
sbs get-server-csr --env sbs-config.json && sbs sign-csr --env sbs-config.json &&
	sbs post-server-cert --env sbs-config.json || fail "CSR bootstrap"
sbs init --env sbs-config.json || fail "init"
echo | timeout 20 openssl s_client -connect 127.0.0.1:"$PORT" -servername localhost \
	-CAfile "$D/client-ca.pem" -verify_return_error -cert client.pem -key client.key \
	>"$TMP/out" 2>&1 || fail "openssl s_client: $(tail -5 "$TMP/out")"
has "Verify return code: 0 (ok)" "$TMP/out" || fail "s_client verify"
sbs get-signed-image-publickey --env sbs-config.json || fail "get-signed-image-publickey"
curl -sS --max-time 20 --cacert "$D/client-ca.pem" --cert client.pem --key client.key -X GET \
	-H 'Content-Type: application/json' --data '""' "https://localhost:$PORT/publickey" >"$TMP/out" ||
	fail "GET /publickey"
has "BEGIN PUBLIC KEY" "$TMP/out" || fail "GET /publickey: $(cat "$TMP/out")"
sbs get-state-image --env sbs-config.json || fail "get-state-image"
STATE=$(ls sbs-state.* | head -n1)
sbs post-state-image --env sbs-config.json --state-image "$STATE" || fail "post-state-image"
has '"OK"' "$TMP/out" || fail "post-state-image reply: $(cat "$TMP/out")"
sbs status --env sbs-config.json || fail "status after the import"
ok "full handshakes (sbs, openssl s_client), a state image sealed and imported"

# ---- memory ----
TLS=$(scalar "$TMP/data/keys/tls.pem"); IMG=$(scalar "$TMP/data/keys/image.pem")
MAN=$(scalar "$TMP/data/keys/manifest.pem" | head -c 64)
[ ${#TLS} -ge 62 ] && [ ${#IMG} -ge 62 ] && [ ${#MAN} = 64 ] || fail "cannot read the scalars with openssl"
python3 "$TESTS_DIR/memscan.py" "$KEEPER" "$TLS" "$IMG" "$MAN" >keeper.scan || fail "cannot scan the keeper"
[ "$(grep -c found keeper.scan)" = 3 ] || fail "the keeper's memory lacks a key (scan broken?): $(cat keeper.scan)"
ok "the keeper's memory holds the TLS, image and manifest private keys (the scan works)"
APPS=$(xxd -p "$TMP/appliance.secret" | tr -d '\n')
python3 "$TESTS_DIR/memscan.py" "$API" "$TLS" "$IMG" "$MAN" "$APPS" >api.scan || fail "cannot scan the API"
[ "$(grep -c absent api.scan)" = 4 ] || fail "the API process holds secret key material: $(cat api.scan)"
ok "the API process's memory holds none of them, nor the appliance secret"

# ---- privileges and descriptors ----
[ "$(status_of "$KEEPER" CapEff)" = 0000000000000000 ] && [ "$(status_of "$KEEPER" CapPrm)" = 0000000000000000 ] &&
	[ "$(status_of "$KEEPER" CapBnd)" = 0000000000000000 ] || fail "the keeper kept capabilities: $(grep ^Cap /proc/$KEEPER/status)"
[ "$(status_of "$KEEPER" NoNewPrivs)" = 1 ] || fail "the keeper lacks no_new_privs"
[ "$(status_of "$KEEPER" Seccomp)" = 2 ] || fail "the keeper has no seccomp filter"
ok "the keeper: no capabilities, no_new_privs, seccomp filter"
socks=0; for f in /proc/"$KEEPER"/fd/*; do
	l=$(readlink "$f" || true)
	case $l in socket:*)
		socks=$((socks + 1)); ino=${l#socket:[}; ino=${ino%]}
		awk -v i="$ino" '$7 == i {f = 1} END {exit !f}' /proc/"$KEEPER"/net/unix ||
			fail "keeper socket $l is not a unix socket"
		cat /proc/net/tcp /proc/net/tcp6 /proc/net/udp /proc/net/udp6 2>/dev/null |
			awk -v i="$ino" '$10 == i {f = 1} END {exit !f}' && fail "keeper holds a network socket $l";;
	esac
done
[ "$socks" = 1 ] || fail "the keeper has $socks sockets (expected only its channel)"
[ "$(ls /proc/"$KEEPER"/fd | wc -l)" -le 4 ] || fail "the keeper has extra descriptors: $(ls -l /proc/$KEEPER/fd)"
ok "the keeper has no network socket: only its unix channel (and stdin/stdout/stderr)"
bnd=$((16#$(status_of "$API" CapBnd)))
[ $(( (bnd >> 19) & 1 )) = 0 ] || fail "the API process kept CAP_SYS_PTRACE"
[ $(( (bnd >> 21) & 1 )) = 1 ] || fail "the API process lost CAP_SYS_ADMIN (builds need it)"
[ "$(status_of "$API" NoNewPrivs)" = 1 ] || fail "the API process lacks no_new_privs"
# root without CAP_SYS_PTRACE, as the API process is: the keeper is not dumpable, so its memory is closed
setpriv --bounding-set -sys_ptrace python3 "$TESTS_DIR/memscan.py" "$KEEPER" "$TLS" >/dev/null 2>"$TMP/err" &&
	fail "a root process without CAP_SYS_PTRACE could read the keeper's memory"
has "Permission denied\|PermissionError" "$TMP/err" || fail "reading the keeper: $(cat "$TMP/err")"
ok "the API process: no CAP_SYS_PTRACE, no_new_privs, CAP_SYS_ADMIN kept for builds; without CAP_SYS_PTRACE the keeper's memory is closed"

# ---- deaths ----
kill -9 "$KEEPER"
for i in $(seq 1 50); do kill -0 "$API" 2>/dev/null || break; sleep 0.1; done
kill -0 "$API" 2>/dev/null && fail "sbsd kept running without its keeper"
rc=0; wait "$API" || rc=$?
[ "$rc" = 70 ] || fail "sbsd exited with $rc after the keeper died (expected 70)"
has "the keeper process is gone" "$TMP/sbsd-one.log" || fail "no clear message when the keeper died"
ok "keeper killed: sbsd exits 70 with 'the keeper process is gone'"

# a deploy-time SERVER_KEY: decoded in the keeper only, wiped from the API's environment
openssl ecparam -name prime256v1 -genkey -noout -out skey.pem 2>/dev/null
openssl req -new -key skey.pem -subj /CN=localhost -addext subjectAltName=DNS:localhost -out s.csr
openssl x509 -req -in s.csr -CA "$D/client-ca.pem" -CAkey "$D/client-ca-key.pem" -CAcreateserial \
	-days 30 -copy_extensions copyall -out s.pem 2>/dev/null
SK=$(base64 -w0 skey.pem)
start_sbsd two "$PORT" "$TMP/data" SERVER_CRT="$(base64 -w0 s.pem)" SERVER_KEY="$SK"
API=$SBSD_PID
KEEPER=$(keeper_of "$API") || fail "no keeper in the second run"
sbs status --env sbs-config.json || fail "status with the deploy-time certificate"
# /proc/<pid>/environ is readable without CAP_SYS_PTRACE: neither process may show it there
tr '\0' '\n' </proc/"$API"/environ | grep -q '^SERVER_KEY=.' && fail "SERVER_KEY still in the API's initial environment"
tr '\0' '\n' </proc/"$KEEPER"/environ | grep -q '^SERVER_KEY=.' && fail "SERVER_KEY still in the keeper's initial environment"
tr '\0' '\n' </proc/"$KEEPER"/environ | grep -q '^CLIENT_CA=.' || fail "the keeper's environment check reads nothing"
# the ASan runtime keeps its own copy of the initial environment (it reads
# /proc/self/environ at start-up), so the base64 is looked for only in the
# plain build; the scalar in both
needles=("$(scalar skey.pem)")
[ "${TARGET:-}" = asan ] || needles+=("$(printf %s "$SK" | head -c 48 | xxd -p | tr -d '\n')")
python3 "$TESTS_DIR/memscan.py" "$API" "${needles[@]}" >api2.scan
python3 "$TESTS_DIR/memscan.py" "$KEEPER" "$(scalar skey.pem)" >keeper2.scan
[ "$(grep -c absent api2.scan)" = ${#needles[@]} ] && grep -q found keeper2.scan ||
	fail "SERVER_KEY material in the API process: $(cat api2.scan) / keeper: $(cat keeper2.scan)"
ok "SERVER_KEY: its scalar only in the keeper; $([ ${#needles[@]} = 2 ] && echo "neither it nor its base64" || echo "not it") in the API"
kill -9 "$API"; wait "$API" 2>/dev/null || true
for i in $(seq 1 50); do kill -0 "$KEEPER" 2>/dev/null || break; sleep 0.1; done
kill -0 "$KEEPER" 2>/dev/null && fail "the keeper outlived the API process"
ok "API killed: the keeper exits"
echo "it_keeper: all $n checks passed"
