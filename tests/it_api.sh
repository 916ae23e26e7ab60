#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Integration test of sbsd's API driven by the real sbs client and by curl and
# openssl as independent clients: the mutual-TLS gate, the CSR bootstrap,
# every endpoint's happy path, one build at a time, the state-image round trip
# between two sbsd instances (and its failures), restart persistence, and that
# no secret reaches a reply or a log.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

cd "$TMP"
PORT=$(free_port)
cat >sbs-config.json <<JSON
{
    "HOSTNAME": "localhost",
    "CICD_PORT": "$PORT",
    "CONTAINER_NAME": "it",
    "IMAGE_TAG": "1.3.0.20",
    "GITHUB_KEY_FILE": "$TMP/github_key",
    "GITHUB_URL": "http://127.0.0.1:1/example/app.git",
    "GITHUB_BRANCH": "main",
    "DOCKER_REPO": "example/app",
    "DOCKER_USER": "builder",
    "DOCKER_PASSWORD": "pw-Do-Not-Leak-1234",
    "IMAGE_TAG_PREFIX": "s390x-v1",
    "DOCKER_RO_USER": "reader",
    "DOCKER_RO_PASSWORD": "ro-Do-Not-Leak-5678",
    "ENV_WHITELIST": ["FOO"],
    "ARG": {"VERSION": "1"}
}
JSON
printf -- '-----BEGIN OPENSSH PRIVATE KEY-----\nGHKEY-Do-Not-Leak-abcdef\n-----END OPENSSH PRIVATE KEY-----\n' >github_key

sbs create-client-cert --env sbs-config.json || fail "create-client-cert"
UUID=$(jget sbs-config.json UUID)
SECRET=$(jget sbs-config.json SECRET)
D=.it-$UUID.d
CK=.it-$UUID
[ -f "$D/client-ca.pem" ] && [ -f "$CK" ] || fail "client certificate files missing"
CLIENT_CA=$(base64 -w0 "$D/client-ca.pem")
export CLIENT_CA
ok "client CA and certificate made by sbs create-client-cert"

start_sbsd one "$PORT" "$TMP/data1"
PID1=$SBSD_PID
ok "sbsd started on 127.0.0.1:$PORT"

# ---- the mutual-TLS gate, judged by openssl and curl ----
URL=https://localhost:$PORT
# curl_ok CERTFILE KEYFILE METHOD PATH [BODY]: curl with a client cert, no server check
curlc() {
	local cert=$1 key=$2 m=$3 p=$4 body=${5:-'""'}
	curl -sS -k --max-time 20 --cert "$cert" --key "$key" -X "$m" \
		-H 'Content-Type: application/json' --data "$body" "$URL$p"
}
curl -sS -k --max-time 20 "$URL/image" >"$TMP/out" 2>"$TMP/err" && fail "request without a client certificate succeeded"
ok "no client certificate: handshake refused (curl: $(head -c 80 "$TMP/err" | tr '\n' ' '))"

# another CA, made by openssl
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout other-ca.key \
	-out other-ca.pem -subj /CN=Other -days 30 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout other.key -out other.csr \
	-subj /CN=Client 2>/dev/null
openssl x509 -req -in other.csr -CA other-ca.pem -CAkey other-ca.key -CAcreateserial \
	-out other.pem -days 30 2>/dev/null
curlc other.pem other.key GET /image >"$TMP/out" 2>"$TMP/err" && fail "certificate from another CA accepted"
ok "client certificate from another CA: handshake refused"
# deploy-time configuration errors stop sbsd with a clear message
bad_start() { # EXPECTED VAR=value...
	local want=$1
	shift
	if env SBS_PORT=0 SBS_LISTEN=127.0.0.1 SBS_DATA_DIR="$TMP/data-bad" "$@" timeout 60 $RUN "$SBSD" \
		>"$TMP/out" 2>"$TMP/err"; then fail "sbsd started with $*"; fi
	grep -q -- "$want" "$TMP/err" || fail "sbsd with bad config does not say '$want': $(cat "$TMP/err")"
}
bad_start "CLIENT_CA is required" CLIENT_CA=
bad_start "CLIENT_CA is not valid base64" CLIENT_CA='not*base64'
bad_start "CLIENT_CRT is not a valid certificate signed by CLIENT_CA" CLIENT_CA="$CLIENT_CA" CLIENT_CRT="$(base64 -w0 other.pem)"
bad_start "SERVER_CRT and SERVER_KEY go together" CLIENT_CA="$CLIENT_CA" SERVER_CRT="$(base64 -w0 other.pem)"
bad_start "SBS_PORT must be a port number" CLIENT_CA="$CLIENT_CA" SBS_PORT=99999
ok "bad deploy-time configuration: sbsd refuses to start and says why"

# an expired certificate from the right CA, signed by openssl ca
mkdir -p ca && : >ca/index.txt && echo 01 >ca/serial
cat >ca/ca.cnf <<CNF
[ca]
default_ca = c
[c]
database = $TMP/ca/index.txt
serial = $TMP/ca/serial
new_certs_dir = $TMP/ca
default_md = sha256
policy = p
[p]
commonName = supplied
CNF
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout old.key -out old.csr \
	-subj /CN=Client 2>/dev/null
openssl ca -batch -config ca/ca.cnf -cert "$D/client-ca.pem" -keyfile "$D/client-ca-key.pem" \
	-startdate 20200101000000Z -enddate 20200102000000Z -in old.csr -out old.pem >/dev/null 2>&1 ||
	fail "openssl ca could not make the expired certificate"
curlc old.pem old.key GET /image >"$TMP/out" 2>"$TMP/err" && fail "expired client certificate accepted"
ok "expired client certificate: handshake refused"

# a good certificate, with openssl s_client as the client
openssl x509 -in "$CK" -out client.pem
openssl pkey -in "$CK" -out client.key
printf 'GET /image HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n""' |
	timeout 20 openssl s_client -quiet -connect 127.0.0.1:"$PORT" -cert client.pem -key client.key \
		>"$TMP/out" 2>"$TMP/err" || true
has '^HTTP/1.1 200' "$TMP/out" && has '"status":""' "$TMP/out" || fail "openssl s_client with a good certificate: $(cat "$TMP/out")"
ok "openssl s_client with the client certificate gets the status"
# the same configuration from an env file, as an HPVS contract env section writes it
PORT4=$(free_port)
{
	printf '# env section of an HPVS contract\n'
	printf 'CLIENT_CA: "%s"\n' "$CLIENT_CA"
	printf "SBS_PORT: '%s'\n" "$PORT4"
	printf 'SBS_LISTEN=127.0.0.1\nSBS_HOSTNAME: "localhost"\n'
	printf 'SBS_DATA_DIR: "%s"\n' "$TMP/data4"
} >contract.env
env -u CLIENT_CA SBS_APPLIANCE_SECRET_FILE="$TMP/appliance.secret" $RUN "$SBSD" --env-file contract.env \
	>"$TMP/sbsd-four.log" 2>&1 &
PIDS+=($!)
wait_tcp "$PORT4" 60 || fail "sbsd --env-file did not listen on $PORT4"
for i in $(seq 1 50); do
	curl -sS -k --max-time 20 --cert client.pem --key client.key -X GET --data '""' \
		"https://localhost:$PORT4/image" >"$TMP/out" 2>"$TMP/err" && break
	sleep 0.2
done
has '"status":""' "$TMP/out" || fail "sbsd --env-file: $(cat "$TMP/out" "$TMP/err")"
ok "sbsd --env-file reads NAME: \"value\" and NAME=value lines"

# ---- CSR bootstrap ----
sbs status --env sbs-config.json && fail "status verified a temporary self-signed certificate"
has "SSLError" "$TMP/err" || fail "status without a server certificate does not say SSLError"
ok "status with verification refuses the bootstrap certificate"
sbs status --env sbs-config.json --noverify || fail "status --noverify"
has '"status": ""' "$TMP/out" || fail "fresh status is not {\"status\": \"\"}: $(cat "$TMP/out")"
ok "status --noverify: {\"status\": \"\"}"
sbs get-server-csr --env sbs-config.json || fail "get-server-csr"
openssl req -in "$D/server-csr.pem" -noout -verify 2>&1 | grep -q -i "verify ok" || fail "CSR self-signature"
openssl req -in "$D/server-csr.pem" -noout -text | grep -q "DNS:localhost" || fail "CSR has no SAN DNS:localhost"
ok "get-server-csr: a valid CSR with SAN DNS:localhost"
sbs sign-csr --env sbs-config.json || fail "sign-csr"
openssl verify -CAfile "$D/client-ca.pem" "$D/server-cert.pem" >/dev/null || fail "signed server cert does not verify"
# a certificate for another key is refused
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout rogue.key -out rogue.csr \
	-subj /CN=localhost -addext subjectAltName=DNS:localhost 2>/dev/null
openssl x509 -req -in rogue.csr -CA "$D/client-ca.pem" -CAkey "$D/client-ca-key.pem" -CAcreateserial \
	-out rogue.pem -days 30 2>/dev/null
curlc client.pem client.key POST /certificate "$(jq -n --rawfile c rogue.pem '{certificate:$c}')" >"$TMP/out" 2>"$TMP/err"
has "not for this server" "$TMP/out" || fail "certificate for another key accepted: $(cat "$TMP/out")"
ok "POST /certificate refuses a certificate for another key"
sbs post-server-cert --env sbs-config.json || fail "post-server-cert"
has '"OK"' "$TMP/out" || fail "post-server-cert reply: $(cat "$TMP/out")"
sbs status --env sbs-config.json || fail "status with verification after the certificate was installed"
has '"status": "restarted nginx"' "$TMP/out" || fail "status after post-server-cert: $(cat "$TMP/out")"
ok "post-server-cert: server now verified against the client CA, status 'restarted nginx'"
echo | timeout 20 openssl s_client -connect 127.0.0.1:"$PORT" -servername localhost -CAfile "$D/client-ca.pem" \
	-verify_hostname localhost -verify_return_error -cert client.pem -key client.key >"$TMP/out" 2>&1 ||
	fail "openssl s_client does not verify the installed certificate"
has "Verify return code: 0 (ok)" "$TMP/out" || fail "openssl s_client verify result"
ok "openssl s_client verifies the server certificate and hostname"

# ---- endpoints ----
curl -sS --max-time 20 --cacert "$D/client-ca.pem" --cert client.pem --key client.key -X PUT \
	-H 'Content-Type: application/json' --data '""' "$URL/image" >"$TMP/out" 2>"$TMP/err" || fail "curl PUT /image"
has "not initialised" "$TMP/out" || fail "build before init: $(cat "$TMP/out")"
ok "build before init: clear error"
sbs init --env sbs-config.json || fail "init"
has '"status": "OK"' "$TMP/out" || fail "init reply: $(cat "$TMP/out")"
sbs status --env sbs-config.json || fail "status after init"
for k in build_image_tag build_name image_tag manifest_key_gen manifest_public_key root_ssh_enabled status; do
	jq -e --arg k "$k" 'has($k)' "$TMP/out" >/dev/null || fail "status lacks $k: $(cat "$TMP/out")"
done
[ "$(jq -r .build_image_tag "$TMP/out")" = 1.3.0.20 ] || fail "build_image_tag"
ok "init: OK; status has every key of PROTOCOL §10"
jq '.IMAGE_TAG_PREFIX = "s390x-v2"' sbs-config.json >c2 && mv c2 sbs-config.json
sbs update --env sbs-config.json || fail "update"
has '"status": "OK"' "$TMP/out" || fail "update reply"
[ "$(jq -r .IMAGE_TAG_PREFIX "$TMP/data1/params.json")" = s390x-v2 ] || fail "update not stored"
ok "update: OK and stored"
before=$(sha256sum <"$TMP/data1/params.json")
jq '.IMAGE_TAG_PREFIX = "evil"' sbs-config.json >evil.json
sbs update --env evil.json --secret not-the-secret && fail "update with a wrong SECRET succeeded"
grep -q "SECRET does not match" "$TMP/out" "$TMP/err" || fail "update with a wrong SECRET: $(cat "$TMP/out")"
sbs update --env evil.json --secret not-the-secret --new-secret && fail "rotation with a wrong SECRET succeeded"
[ "$before" = "$(sha256sum <"$TMP/data1/params.json")" ] || fail "a refused update changed the parameters"
ok "update and --new-secret need the current SECRET; a refused one changes nothing"
sbs get-publickey --env sbs-config.json || fail "get-publickey"
PUB=$(ls manifest.*-public.pem | head -n1)
openssl pkey -pubin -in "$PUB" -noout -text | grep -q "Public-Key: (2048 bit)" || fail "manifest key is not RSA-2048"
cp "$PUB" manifest-pub-1.pem
ok "get-publickey: RSA-2048 manifest key ($PUB)"
sbs get-signed-image-publickey --env sbs-config.json || fail "get-signed-image-publickey"
IMGKEY=docker.io-example-app-public.key
[ -f "$IMGKEY" ] || fail "no $IMGKEY"
grep -q "BEGIN PUBLIC KEY" "$IMGKEY" || base64 -d "$IMGKEY" | grep -q "BEGIN PUBLIC KEY" || fail "image key file"
openssl pkey -pubin -in "$IMGKEY" -noout -text 2>/dev/null | grep -q "prime256v1" ||
	base64 -d "$IMGKEY" | openssl pkey -pubin -noout -text | grep -q "prime256v1" || fail "image key is not P-256"
cp "$IMGKEY" image-pub-1.key
ok "get-signed-image-publickey: ECDSA P-256 key, 201 from /config-json"
curl -sS --max-time 20 --cacert "$D/client-ca.pem" --cert client.pem --key client.key \
	-X GET -H 'Content-Type: application/json' --data '""' -w '%{http_code}' -o "$TMP/out" "$URL/imagedigest" >"$TMP/code"
[ "$(cat "$TMP/code")" = 404 ] && ! jq . "$TMP/out" >/dev/null 2>&1 || fail "imagedigest before a build must be a plain-text error"
ok "imagedigest before any build: plain-text 404"

# ---- builds: one at a time ----
printf 'PUT /image HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n""PUT /image HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n""' >two.req
timeout 20 openssl s_client -quiet -connect 127.0.0.1:"$PORT" -cert client.pem -key client.key \
	<two.req >"$TMP/out" 2>"$TMP/err" || true
has "OK: async build started" "$TMP/out" || fail "first build not started: $(cat "$TMP/out")"
has "already running" "$TMP/out" || fail "second build while one runs was not refused: $(cat "$TMP/out")"
ok "a second build while one runs is refused"
for i in $(seq 1 100); do
	sbs status --env sbs-config.json || fail "status during build"
	grep -q '"status": "exiting due to' "$TMP/out" && break
	sleep 0.2
done
has '"status": "exiting due to a non-zero return value: [0-9]*, cmd: ' "$TMP/out" || fail "build status: $(cat "$TMP/out")"
ok "build ends with a clear status: $(jq -r .status "$TMP/out")"
sbs log --env sbs-config.json --log build || fail "log"
has "starting a build" "$TMP/out" || fail "build log: $(cat "$TMP/out")"
ok "log --log build shows the build log"
sbs build --env sbs-config.json || fail "build"
has "OK: async build started" "$TMP/out" || fail "build reply: $(cat "$TMP/out")"
sbs clean --env sbs-config.json || fail "clean"
sbs status --env sbs-config.json || fail "status after clean"
has '"status": "restarted cicd"' "$TMP/out" || fail "status after clean: $(cat "$TMP/out")"
ok "clean: status 'restarted cicd'"
sbs get-digest --env sbs-config.json && fail "get-digest succeeded without an image"
ok "get-digest without an image: clear error"

# ---- state image ----
sbs get-state-image --env sbs-config.json || fail "get-state-image"
STATE=$(ls sbs-state.* | head -n1)
jq -e '.name and .export_tag and .state' "$STATE" >/dev/null || fail "state image file lacks name/export_tag/state"
ok "get-state-image: $STATE with name, export_tag, state"
PORT2=$(free_port)
start_sbsd two "$PORT2" "$TMP/data2"
PID2=$SBSD_PID
jq --arg p "$PORT2" '.CICD_PORT = $p' sbs-config.json >cfg2.json
bootstrap() { # CONFIG: the CSR bootstrap against the instance CONFIG names
	sbs get-server-csr --env "$1" && sbs sign-csr --env "$1" && sbs post-server-cert --env "$1" ||
		fail "CSR bootstrap with $1"
}
bootstrap cfg2.json

post_state() { # FILE CONFIG -> status of sbs post-state-image
	sbs post-state-image --env "${2:-cfg2.json}" --state-image "$1"
}
snapshot() { (cd "$TMP/data2" && find . -type f ! -name '*.log' ! -name status.json | sort | xargs -r sha256sum); }
before=$(snapshot)
jq '.state = (.state[0:100])' "$STATE" >trunc.json
jq '.state = (.state[0:40])' "$STATE" >short.json
python3 - "$STATE" <<'PY'
import json, sys, base64
s = json.load(open(sys.argv[1]))
b = bytearray(base64.b64decode(s["state"]))
t = dict(s); bb = bytearray(b); bb[60] ^= 1; t["state"] = base64.b64encode(bytes(bb)).decode(); json.dump(t, open("tamper.json", "w"))
v = dict(s); bb = bytearray(b); bb[4] = 2; v["state"] = base64.b64encode(bytes(bb)).decode(); json.dump(v, open("version.json", "w"))
PY
sbs post-state-image --env cfg2.json --state-image "$STATE" --secret wrong-secret-value || true
grep -q "wrong SECRET" "$TMP/out" "$TMP/err" || fail "wrong SECRET: $(cat "$TMP/out")"
post_state trunc.json || true; grep -Eq "malformed or truncated|modified" "$TMP/out" "$TMP/err" || fail "truncated state: $(cat "$TMP/out")"
post_state short.json || true; grep -q "malformed or truncated" "$TMP/out" "$TMP/err" || fail "short state: $(cat "$TMP/out")"
post_state tamper.json || true; grep -q "modified" "$TMP/out" "$TMP/err" || fail "tampered state: $(cat "$TMP/out")"
post_state version.json || true; grep -q "version" "$TMP/out" "$TMP/err" || fail "wrong-version state: $(cat "$TMP/out")"
[ "$before" = "$(snapshot)" ] || fail "a refused state image changed the data directory"
ok "wrong SECRET, truncated, tampered, wrong version: clear errors, nothing changed"
post_state "$STATE" || fail "post-state-image"
has '"OK"' "$TMP/out" || fail "post-state-image reply: $(cat "$TMP/out")"
# instance two answers with instance one's keys
curl -sS --max-time 20 -k --cert client.pem --key client.key -X GET -H 'Content-Type: application/json' \
	--data '""' "https://localhost:$PORT2/publickey" | jq -r .public_key_pem >pub2.pem
cmp -s <(openssl pkey -pubin -in pub2.pem) <(openssl pkey -pubin -in manifest-pub-1.pem) || fail "manifest key differs after restore"
curl -sS --max-time 20 -k --cert client.pem --key client.key -X GET -H 'Content-Type: application/json' \
	--data '""' "https://localhost:$PORT2/config-json" | jq -r .public_key >img2.pem
cmp -s <(openssl pkey -pubin -in img2.pem) <(openssl pkey -pubin -in image-pub-1.key 2>/dev/null || base64 -d image-pub-1.key | openssl pkey -pubin) || fail "image key differs after restore"
[ "$(jq -r .IMAGE_TAG_PREFIX "$TMP/data2/params.json")" = s390x-v2 ] || fail "parameters not restored"
ok "state image restored on a second sbsd: same public keys and parameters"

# another appliance (different appliance secret) cannot open it
PORT3=$(free_port)
APP_SECRET=$TMP/other-appliance.secret start_sbsd three "$PORT3" "$TMP/data3"
jq --arg p "$PORT3" '.CICD_PORT = $p' sbs-config.json >cfg3.json
bootstrap cfg3.json
post_state "$STATE" cfg3.json || true
grep -q "another appliance" "$TMP/out" "$TMP/err" || fail "state opened on another appliance: $(cat "$TMP/out")"
ok "a state image does not open on an appliance with another secret"

# rotating SECRET makes older state images fail
sbs update --env sbs-config.json --new-secret || fail "update --new-secret"
NEWSECRET=$(jget sbs-config.json SECRET)
[ "$NEWSECRET" != "$SECRET" ] || fail "SECRET not rotated in the config"
sbs get-state-image --env sbs-config.json || fail "get-state-image after rotation"
cp "$STATE" old-state.json
NEWSTATE=$(ls -t sbs-state.* | head -n1)
jq --arg s "$NEWSECRET" '.SECRET = $s' cfg2.json >c && mv c cfg2.json
post_state old-state.json || true; grep -q "wrong SECRET" "$TMP/out" "$TMP/err" || fail "old state image opened after rotation"
post_state "$NEWSTATE" || fail "new state image after rotation"
has '"OK"' "$TMP/out" || fail "new state image refused: $(cat "$TMP/out")"
ok "update --new-secret: older state images fail, new ones open"

# ---- restart persistence ----
sbs status --env sbs-config.json && cp "$TMP/out" status-before.json
stop_sbsd "$PID1"
start_sbsd one "$PORT" "$TMP/data1"
PID1=$SBSD_PID
sbs status --env sbs-config.json || fail "status after restart (server certificate lost?)"
cmp -s status-before.json "$TMP/out" || fail "status changed across restart: $(cat "$TMP/out")"
sbs get-publickey --env sbs-config.json || fail "get-publickey after restart"
cmp -s manifest-pub-1.pem "$PUB" || fail "manifest key changed across restart"
ok "restart: certificate, status, parameters and keys persist"

# ---- secrets never leave ----
for s in "$SECRET" "$NEWSECRET" pw-Do-Not-Leak-1234 ro-Do-Not-Leak-5678 GHKEY-Do-Not-Leak-abcdef; do
	if grep -rqF -- "$s" "$TMP"/sbsd-*.log "$TMP"/data1/build.log "$TMP"/data1/status.json status-before.json \
		pub2.pem img2.pem "$IMGKEY" 2>/dev/null; then fail "a secret reached a log or a reply"; fi
done
for p in /image /config-json /config-python /publickey /log/build /state-image; do
	curl -sS --max-time 20 -k --cert client.pem --key client.key -X GET -H 'Content-Type: application/json' \
		--data '""' "$URL$p" >reply.txt || fail "GET $p"
	for s in "$NEWSECRET" pw-Do-Not-Leak-1234 ro-Do-Not-Leak-5678 GHKEY-Do-Not-Leak-abcdef; do
		grep -qF -- "$s" reply.txt && fail "GET $p reveals a secret"
	done
	grep -q "PRIVATE KEY" reply.txt && fail "GET $p reveals a private key"
done
ok "no secret in any log, status, reply or file served"
echo "it_api: all $n checks passed"
