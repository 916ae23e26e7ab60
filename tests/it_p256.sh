#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# ECDHE and ECDSA through crypto/cry_p256.c (mbedTLS's ALT hooks on BearSSL
# for P-256, mbedTLS's generic code for other curves), judged by openssl
# s_client as an independent peer: one full handshake and request per ECDHE
# group (P-256 on BearSSL; X25519 and P-384 generic), with a P-256 server key
# (BearSSL signs ServerKeyExchange; an RSA one for P-384, see below) and
# client certificates whose CertificateVerify is P-256 (BearSSL verifies) or
# P-384 (generic verify).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

cd "$TMP"
PORT=$(free_port)
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:"$2" -out "$1.key"; }
key ca P-256
openssl req -x509 -new -key ca.key -subj /CN=p256-ca -days 2 -out ca.pem
key srv P-256
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa.key 2>/dev/null
printf 'subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n' >srv.ext
for s in srv rsa; do
	openssl req -new -key $s.key -subj /CN=localhost -out $s.csr
	openssl x509 -req -in $s.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
		-extfile srv.ext -out $s.pem 2>/dev/null
done
printf 'extendedKeyUsage=clientAuth\n' >cli.ext
for c in P-256 P-384; do
	key "cli-$c" "$c"
	openssl req -new -key "cli-$c.key" -subj "/CN=client $c" -out "cli-$c.csr"
	openssl x509 -req -in "cli-$c.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
		-extfile cli.ext -out "cli-$c.pem" 2>/dev/null
done
CLIENT_CA=$(base64 -w0 ca.pem)
export CLIENT_CA
start_sbsd p256 "$PORT" "$TMP/data" SERVER_CRT="$(base64 -w0 srv.pem)" \
	SERVER_KEY="$(base64 -w0 srv.key)"
ok "sbsd started with a P-256 server key"
PORT2=$(free_port)
start_sbsd rsa "$PORT2" "$TMP/data2" SERVER_CRT="$(base64 -w0 rsa.pem)" \
	SERVER_KEY="$(base64 -w0 rsa.key)"
ok "sbsd started with an RSA server key"

# A TLS 1.2 client lists the curves it accepts for certificates and ECDHE
# alike: with a P-256 certificate, P-256 must be listed, and mbedTLS then
# prefers it to P-384; so P-384 ECDHE is tried against the RSA server.
REQ='GET /image HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n""'
for sg in ec:P-256 ec:X25519:P-256 rsa:P-384; do
	srv=${sg%%:*} g=${sg#*:} port=$PORT sa=ECDSA+SHA256:ECDSA+SHA384
	[ "$srv" = rsa ] && port=$PORT2 sa=$sa:RSA+SHA256
	for c in P-256 P-384; do
		printf "$REQ" | timeout 30 openssl s_client -connect 127.0.0.1:"$port" \
			-tls1_2 -groups "$g" -sigalgs "$sa" \
			-CAfile ca.pem -verify_return_error -servername localhost \
			-cert "cli-$c.pem" -key "cli-$c.key" -ign_eof >"$TMP/out" 2>"$TMP/err" || true
		has '^HTTP/1.1 200' "$TMP/out" || fail "group $g, client key $c: $(tail -5 "$TMP/out")"
		has "Verify return code: 0 (ok)" "$TMP/out" || fail "group $g: server signature"
		case $g in
		P-256:*|P-256) has 'Server Temp Key: ECDH, prime256v1' "$TMP/out" ;;
		P-384) has 'Server Temp Key: ECDH, secp384r1' "$TMP/out" ;;
		X25519:*) has 'Server Temp Key: X25519' "$TMP/out" ;;
		esac || fail "group $g not negotiated: $(grep 'Temp Key' "$TMP/out")"
		ok "ECDHE $g, $srv server key, client key $c: handshake and request"
	done
done
