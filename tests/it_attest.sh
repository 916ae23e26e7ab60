#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# GET /attestation on a real sbsd (HAL sim: never a Secure Execution guest)
# with curl (mutual TLS) and the real sbs client: the nonce is validated
# before anything else (400 for a missing, odd, non-hex, oversized or
# repeated nonce), a valid request gets the plain 503 "not protected"
# statement with protected=false, the endpoint sits behind the client
# certificate like every other one, and `sbs attest` prints the statement,
# exits 255 and writes no file. The Secure Execution path itself is
# tests/test_uv.c (fake /dev/uv) and docs/attestation.md.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

cd "$TMP"
PORT=$(free_port)
jq -n --arg p "$PORT" '{HOSTNAME: "localhost", CICD_PORT: $p, CONTAINER_NAME: "att",
	RUNTIME_TYPE: "vpc"}' >sbs-config.json
sbs create-client-cert --env sbs-config.json || fail "create-client-cert"
sbs create-server-cert --env sbs-config.json || fail "create-server-cert"
UUID=$(jget sbs-config.json UUID)
D=.att-$UUID.d
CK=.att-$UUID
CLIENT_CA=$(base64 -w0 "$D/client-ca.pem")
start_sbsd a "$PORT" "$TMP/data" SERVER_CRT="$(base64 -w0 "$D/server-cert.pem")" \
	SERVER_KEY="$(base64 -w0 "$D/server-cert-key.pem")"
ok "sbsd (hal sim) with a server certificate from the client CA"

# get QUERY [CURL ARGS]: body in $TMP/body, HTTP status printed
get() {
	local q=$1
	shift
	curl -sS --max-time 20 --cacert "$D/client-ca.pem" --resolve "localhost:$PORT:127.0.0.1" \
		-o "$TMP/body" -w '%{http_code}' "$@" "https://localhost:$PORT/attestation$q"
}

for q in "" "?" "?nonce=" "?nonce=0" "?nonce=abc" "?nonce=zz" "?nonce=0x12" "?other=1" \
	"?nonce=$(printf 'ab%.0s' $(seq 1 65))" "?nonce=ab&nonce=cd"; do
	[ "$(get "$q" --cert "$CK")" = 400 ] || fail "'$q': expected 400, got $(cat "$TMP/body")"
	jq -e '.error | test("nonce")' "$TMP/body" >/dev/null || fail "'$q': $(cat "$TMP/body")"
done
ok "bad nonces (missing, empty, odd, not hex, 65 bytes, twice) are 400 with a reason"

for q in "?nonce=00" "?nonce=$(printf 'ab%.0s' $(seq 1 64))" "?x=1&nonce=C0FFEE&y=2"; do
	[ "$(get "$q" --cert "$CK")" = 503 ] || fail "'$q': expected 503: $(cat "$TMP/body")"
	jq -e '.protected == false and .error ==
		"not protected: /sys/firmware/uv/prot_virt_guest is 0 or absent"' "$TMP/body" \
		>/dev/null || fail "'$q': $(cat "$TMP/body")"
	jq -e 'has("evidence") | not' "$TMP/body" >/dev/null || fail "evidence from a sim guest"
done
ok "a valid nonce (1 and 64 bytes, upper case, among other parameters): 503 'not protected', no evidence"

code=$(get "?nonce=00" 2>/dev/null) || true
[ "$code" != 503 ] && [ "$code" != 200 ] || fail "GET /attestation answered without a client certificate"
ok "no client certificate, no answer (HTTP code '$code')"

rc=0
sbs attest --env sbs-config.json --nonce 0123abcd --out att.bin || rc=$?
[ "$rc" = 255 ] || fail "sbs attest exit status $rc, expected 255"
has "not protected: /sys/firmware/uv/prot_virt_guest is 0 or absent" "$TMP/err" ||
	fail "sbs attest: $(cat "$TMP/err")"
[ ! -e att.bin ] || fail "sbs attest wrote a file"
rc=0
sbs attest --env sbs-config.json --nonce xyz || rc=$?
[ "$rc" = 255 ] && has "nonce must be" "$TMP/err" || fail "sbs attest --nonce xyz: $(cat "$TMP/err")"
rc=0
sbs attest --env sbs-config.json || rc=$?
[ "$rc" = 255 ] && has "not protected" "$TMP/err" || fail "sbs attest (random nonce): $(cat "$TMP/err")"
ok "sbs attest: the statement on stderr, exit 255, no file; a bad --nonce refused locally"
echo "it_attest: $n passed"
