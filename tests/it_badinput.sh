#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Hostile and broken requests to sbsd, sent raw over mutual TLS by python's ssl
# module: each gets a clear 4xx, and the server keeps serving a good client
# (checked after every case). Then 1,000 idle connections are held open while
# a legitimate client is still served within 1 s.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

cd "$TMP"
PORT=$(free_port)
printf '{"HOSTNAME": "localhost", "CICD_PORT": "%s", "CONTAINER_NAME": "it"}' "$PORT" >sbs-config.json
sbs create-client-cert --env sbs-config.json || fail "create-client-cert"
UUID=$(jget sbs-config.json UUID)
D=.it-$UUID.d
CLIENT_CA=$(base64 -w0 "$D/client-ca.pem")
export CLIENT_CA
openssl x509 -in ".it-$UUID" -out client.pem
openssl pkey -in ".it-$UUID" -out client.key
start_sbsd bad "$PORT" "$TMP/data"

req() { # NAME: sends the file NAME, reply in $TMP/reply
	python3 "$TESTS_DIR/rawtls.py" send "$PORT" client.pem client.key "$1" >"$TMP/reply" 2>"$TMP/err" ||
		fail "$1: client error"
}
still_serving() {
	printf 'GET /image HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n""' >good
	req good
	head -n1 "$TMP/reply" | grep -q "^HTTP/1.1 200" || fail "server stopped serving after $1"
}
# expect NAME STATUS WORDS: the reply's status line and that the body says WORDS
expect() {
	req "$1"
	head -n1 "$TMP/reply" | grep -q "^HTTP/1.1 $2 " || fail "$1: expected $2, got: $(head -c 300 "$TMP/reply")"
	grep -qi -- "$3" "$TMP/reply" || fail "$1: reply does not say '$3': $(head -c 300 "$TMP/reply")"
	local said
	said=$(tail -n +2 "$TMP/reply" | head -c 90)
	still_serving "$1"
	ok "$1 -> $2 $said"
}
H='Host: localhost\r\nContent-Type: application/json\r\n'

python3 -c "
import sys
sys.stdout.write('GET /image HTTP/1.1\r\nHost: x\r\nX-Big: ' + 'a'*9000 + '\r\n\r\n')" >header-over-limit
expect header-over-limit 431 "header"
printf "POST /image HTTP/1.1\r\n${H}Content-Length: 2000000\r\n\r\n{}" >body-over-limit
expect body-over-limit 413 "body"
printf "POST /image HTTP/1.1\r\n${H}Content-Length: abc\r\n\r\n{}" >bad-content-length
expect bad-content-length 400 "length"
printf "POST /image HTTP/1.1\r\n${H}Content-Length: -1\r\n\r\n{}" >negative-content-length
expect negative-content-length 400 "length"
printf "POST /image HTTP/1.1\r\n${H}Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}" >two-content-lengths
expect two-content-lengths 400 "length"
printf "POST /image HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n" >bad-chunk-size
expect bad-chunk-size 400 "chunk"
printf "POST /image HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n2\r\n{}XX0\r\n\r\n" >bad-chunk-end
expect bad-chunk-end 400 "chunk"
printf "POST /image HTTP/1.1\r\n${H}Content-Length: 9\r\n\r\n{\"a\": [1," >invalid-json
expect invalid-json 400 "JSON"
python3 -c "
import sys
b = '[' * 100000 + ']' * 100000
sys.stdout.write('POST /image HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s' % (len(b), b))" >json-nested-100000
expect json-nested-100000 400 "deep"
body='{"RUNTIME_TYPE": "vpc", "DOCKER_REPO": 5, "DOCKER_USER": "u", "DOCKER_PASSWORD": "p", "GITHUB_URL": "g", "SECRET": "s"}'
printf "POST /image HTTP/1.1\r\n${H}Content-Length: ${#body}\r\n\r\n%s" "$body" >wrong-value-type
expect wrong-value-type 400 "DOCKER_REPO"
printf 'POST /image HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5\r\n\r\n"abc"' >body-not-object
expect body-not-object 400 "object"
printf "BREW /image HTTP/1.1\r\n${H}Content-Length: 2\r\n\r\n\"\"" >unknown-method
expect unknown-method 501 "method"
printf "GET /no/such/path HTTP/1.1\r\n${H}Content-Length: 2\r\n\r\n\"\"" >unknown-path
expect unknown-path 404 "endpoint"
printf "PATCH /publickey HTTP/1.1\r\n${H}Content-Length: 2\r\n\r\n\"\"" >wrong-method
expect wrong-method 405 "method"
printf "GET /image HTTP/9.9\r\n${H}\r\n" >bad-version
expect bad-version 505 "version"
printf "POST /image HTTP/1.1\r\n${H}\r\n" >no-length
expect no-length 411 "length"

python3 "$TESTS_DIR/rawtls.py" idle "$PORT" 1000 5 client.pem client.key >"$TMP/out" 2>"$TMP/err" ||
	fail "with 1,000 idle connections: $(cat "$TMP/out")"
ok "1,000 idle connections held: $(tail -n1 "$TMP/out")"
still_serving "the idle connections closed"
kill -0 "$SBSD_PID" || fail "sbsd died"
ok "sbsd still running and serving"
# Out of file descriptors: a second sbsd limited to 40 descriptors, flooded
# with 80 connections, sheds the excess and serves again once they are gone.
PORT2=$(free_port)
RUN="prlimit --nofile=40:40 ${RUN}" start_sbsd fdlimit "$PORT2" "$TMP/data2"
fds=()
for i in $(seq 1 80); do exec {fd}<>/dev/tcp/127.0.0.1/"$PORT2" && fds+=("$fd"); done
sleep 1
for fd in "${fds[@]}"; do exec {fd}>&-; done
grep -q "out of file descriptors" "$TMP/sbsd-fdlimit.log" || fail "sbsd with 40 descriptors did not run out"
for i in $(seq 1 50); do
	curl -sS -k --max-time 5 --cert client.pem --key client.key -X GET --data '""' \
		"https://localhost:$PORT2/image" >"$TMP/out" 2>"$TMP/err" && break
	sleep 0.2
done
grep -q '"status"' "$TMP/out" || fail "sbsd did not recover after running out of descriptors"
ok "out of file descriptors: excess connections shed, serving again afterwards"
echo "it_badinput: all $n checks passed"
