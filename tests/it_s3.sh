#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Integration: manifests and state images in object storage. Real peers: a
# real S3 server (npm s3rver, installed under build/ when missing), behind
# tests/cosfake.py, which plays IBM COS's front: an IAM token endpoint that
# checks the API key and issues expiring tokens, bearer-token checks, SigV4
# checked by botocore (an independent implementation), Content-MD5 and
# x-amz-content-sha256 checked against the bodies, fault injection, and
# multipart abort on s3rver's store. Both over TLS with a CA of the test's
# own (SBS_CA_BUNDLE). Tokens live 70 s, so sbsd caches one for 10 s (it
# renews 60 s before expiry). Parts are lowered to 2 KiB (SBS_S3_PART_SIZE,
# a test knob) so a small manifest and a state image go up in several parts.
#
# Asserted: a build's manifest lands in the bucket byte-identical to what
# GET /manifest serves (HMAC keys, SigV4); get-state-image uploads and
# answers metadata (IAM), the token is cached, refreshed near its expiry and
# renewed when the store revokes it; the image restores onto a fresh sbsd
# from the bucket; a 500 in the middle of a multipart upload is retried, and
# when it persists the upload is aborted (no object, no pending parts);
# wrong API key, wrong HMAC secret and a missing bucket end in a clear
# status naming the bucket and the HTTP error; no credential or token in
# any log, status, reply or manifest.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_reg.sh"
. "$(dirname "$0")/lib_git.sh"

[ "$(id -u)" = 0 ] || fail "RUN steps need root (namespaces): run as root"
ROOT=$(cd "$TESTS_DIR/.." && pwd)
export GIT_CONFIG_NOSYSTEM=1 HOME=$TMP GIT_AUTHOR_NAME=T GIT_AUTHOR_EMAIL=t@example.com \
	GIT_COMMITTER_NAME=C GIT_COMMITTER_EMAIL=c@example.com
cd "$TMP"

# ---- s3rver (installed when missing: never skipped) ----
S3RVER_PKG=${S3RVER_PKG:-$ROOT/build/npm-s3rver}
S3RVER_JS=$S3RVER_PKG/node_modules/s3rver/bin/s3rver.js
if [ ! -f "$S3RVER_JS" ]; then
	command -v npm >/dev/null || fail "npm is needed to install s3rver (Debian: npm)"
	mkdir -p "$S3RVER_PKG"
	(cd "$S3RVER_PKG" && npm install --no-audit --no-fund --loglevel=error s3rver@3.7.1) \
		>npm.log 2>&1 || { cat npm.log >&2; fail "npm install s3rver"; }
fi
PYTHON=python3
$PYTHON -c 'import botocore' 2>/dev/null || PYTHON=/usr/bin/python3
$PYTHON -c 'import botocore' 2>/dev/null || fail "python3 botocore is needed (Debian: python3-botocore)"
S3DIR=$TMP/s3rver
mkdir -p "$S3DIR"
S3UP=$(free_port)
node "$S3RVER_JS" -d "$S3DIR" -a 127.0.0.1 -p "$S3UP" -s --configure-bucket sbs-manifests \
	--configure-bucket sbs-state >s3rver.log 2>&1 &
PIDS+=($!)
wait_tcp "$S3UP" 30 || fail "s3rver did not start"
reg_make_tls
IAMP=$(free_port)
S3P=$(free_port)
APIKEY="apikey-Do-Not-Leak-$RANDOM$RANDOM"
HMAC_ID="hmac-id-$RANDOM"
HMAC_SECRET="hmacsecret-Do-Not-Leak-$RANDOM$RANDOM"
CRN="crn:v1:bluemix:public:cloud-object-storage:global:a/1234:5678::"
COSLOG=$TMP/cos.log
: >"$COSLOG"
COS_APIKEY=$APIKEY COS_CRN=$CRN COS_HMAC_ID=$HMAC_ID COS_HMAC_SECRET=$HMAC_SECRET COS_TTL=70 \
	$PYTHON "$TESTS_DIR/cosfake.py" "$IAMP" "$S3P" "$S3UP" "$S3DIR" "$COSLOG" \
	"$TMP/reg-tls/server.pem" "$TMP/reg-tls/server.key" >cosfake.out 2>&1 &
PIDS+=($!)
wait_tcp "$S3P" 20 && wait_tcp "$IAMP" 20 || { cat cosfake.out >&2; fail "cosfake did not start"; }
cosmode() { echo "$1" >"$COSLOG.mode"; }
cosmode pass
count() { grep -c -- "$1" "$COSLOG" || true; }
obj() { printf '%s/%s/%s._S3rver_object' "$S3DIR" "$1" "$2"; }
pending() { find "$S3DIR" -path '*._S3rver_uploads/*' -type d 2>/dev/null | wc -l; }
# an unauthenticated request and a wrong SigV4 are refused by the front itself
curl -sS --max-time 10 --cacert "$REG_CA" -o /dev/null -w '%{http_code}' \
	"https://localhost:$S3P/sbs-state/x" >code.txt || true
[ "$(cat code.txt)" = 403 ] || fail "the S3 front let an anonymous request through ($(cat code.txt))"
ok "s3rver on 127.0.0.1:$S3UP behind the COS front (TLS, IAM + SigV4 checks) on localhost:$S3P"

# ---- registry, source, sbsd ----
start_registry main htpasswd
REG=$REG_ADDR
CREDS="$REG_USER:$REG_PASS"
make_busybox_image base amd64 >/dev/null
push_image base "$REG" base/busybox:1 "$CREDS" || fail "push of the base image"
mkdir -p srv app www
git init -q -b main app
printf 'ARG BASE\nFROM ${BASE}\nCOPY hello.txt /hello.txt\n' >app/Dockerfile
echo "hello from the s3 test" >app/hello.txt
git -C app add -A && git -C app commit -qm one
git clone -q --bare app srv/app.git
start_git_http

PORT=$(free_port)
cat >sbs-config.json <<JSON
{
    "HOSTNAME": "localhost",
    "CICD_PORT": "$PORT",
    "CONTAINER_NAME": "its3",
    "IMAGE_TAG": "",
    "GITHUB_URL": "http://127.0.0.1:$HP/git/app.git",
    "GITHUB_BRANCH": "main",
    "DOCKER_REPO": "sbs/app",
    "DOCKER_PUSH_SERVER": "http://$REG",
    "DOCKER_USER": "$REG_USER",
    "DOCKER_PASSWORD": "$REG_PASS",
    "DOCKER_BASE_SERVER": "http://$REG",
    "DOCKER_BASE_USER": "$REG_USER",
    "DOCKER_BASE_PASSWORD": "$REG_PASS",
    "IMAGE_TAG_PREFIX": "s3-v1",
    "ARG": {"BASE": "$REG/base/busybox:1"},
    "COS_API_KEY_ID": "$APIKEY",
    "COS_RESOURCE_CRN": "$CRN",
    "COS_ENDPOINT": "https://localhost:$S3P",
    "COS_AUTH_ENDPOINT": "https://localhost:$IAMP/identity/token",
    "STATE_BUCKET_NAME": "sbs-state",
    "MANIFEST_BUCKET_NAME": "sbs-manifests",
    "MANIFEST_COS_API_KEY_ID": "",
    "MANIFEST_COS_HMAC_ACCESS_KEY_ID": "$HMAC_ID",
    "MANIFEST_COS_HMAC_SECRET_ACCESS_KEY": "$HMAC_SECRET"
}
JSON
sbs create-client-cert --env sbs-config.json || fail "create-client-cert"
sbs create-server-cert --env sbs-config.json || fail "create-server-cert"
UUID=$(jget sbs-config.json UUID)
D=.its3-$UUID.d
CK=$TMP/.its3-$UUID
CLIENT_CA=$(base64 -w0 "$D/client-ca.pem")
export CLIENT_CA
SRV=(SERVER_CRT="$(base64 -w0 "$D/server-cert.pem")" SERVER_KEY="$(base64 -w0 "$D/server-cert-key.pem")"
	SBS_CA_BUNDLE="$REG_CA" SBS_S3_PART_SIZE=2048)
start_sbsd a "$PORT" "$TMP/data-a" "${SRV[@]}"
sbs init --env sbs-config.json || fail "init"
has '"status": "OK"' "$TMP/out" || fail "init: $(cat "$TMP/out")"
ok "registry, git server and sbsd up; init with STATE_* (IAM) and MANIFEST_* (HMAC) set"

build_and_wait() { # CONFIG
	sbs build --env "$1" || fail "build"
	has "OK: async build started" "$TMP/out" || fail "build reply: $(cat "$TMP/out")"
	local i
	for i in $(seq 1 900); do
		sbs status --env "$1" || fail "status during the build"
		grep -q -e '"status": "success"' -e '"status": "exiting due to' "$TMP/out" && return 0
		sleep 0.2
	done
	fail "build did not end within 180 s"
}

# ---- 1. build: the manifest goes to the bucket, signed with SigV4 ----
build_and_wait sbs-config.json
cp "$TMP/out" status1.json
sbs log --env sbs-config.json --log build || fail "log"
cp "$TMP/out" log1.txt
[ "$(jq -r .status status1.json)" = success ] || { tail -20 log1.txt >&2; fail "build: $(jq -r .status status1.json)"; }
BN=$(jq -r .build_name status1.json)
MN=manifest.$BN.sig.tbz
has "transferred a manifest to COS: s3://sbs-manifests/$MN" log1.txt || fail "no transfer line in the log"
sbs get-manifest --env sbs-config.json || fail "get-manifest"
[ -f "$MN" ] || fail "get-manifest wrote no $MN"
[ -f "$(obj sbs-manifests "$MN")" ] || fail "no $MN in the bucket"
cmp -s "$MN" "$(obj sbs-manifests "$MN")" || fail "the bucket's manifest differs from GET /manifest"
NP=$(grep -c "^PUT /sbs-manifests/$MN partNumber,uploadId 200 SIGV4 ok" "$COSLOG" || true)
[ "$NP" -ge 2 ] || fail "the manifest did not go up in parts ($NP)"
[ "$(count 'SIGV4 bad')" = 0 ] || fail "botocore refused a signature"
ok "build: $MN ($(stat -c %s "$MN") bytes) in sbs-manifests, byte-identical to GET /manifest; $NP parts, every SigV4 signature accepted by botocore"

# ---- 2. get-state-image to the bucket (IAM), token cache and refresh ----
sbs get-state-image --env sbs-config.json || fail "get-state-image: $(cat "$TMP/out" "$TMP/err")"
SN=$BN
[ -f "$SN" ] || fail "get-state-image saved no ./$SN: $(cat "$TMP/out")"
jq -e '.name and .export_tag and (has("state") | not)' "$SN" >/dev/null || fail "metadata file: $(cat "$SN")"
[ "$(jq -r .name "$(obj sbs-state "$SN")")" = "$SN" ] && jq -e '.state | length > 100' "$(obj sbs-state "$SN")" >/dev/null ||
	fail "the object in sbs-state is not the state document"
[ "$(jq -r .export_tag "$SN")" = "$(jq -r .export_tag "$(obj sbs-state "$SN")")" ] || fail "export_tag differs"
[ "$(count 'IAM issue')" = 1 ] || fail "IAM exchanges: $(count 'IAM issue')"
grep -q "BEARER ok" "$COSLOG" || fail "no bearer-authenticated request"
ok "get-state-image: s3://sbs-state/$SN holds {name, export_tag, state}; ./$SN the metadata; one IAM exchange"
sbs get-state-image --env sbs-config.json || fail "get-state-image 2"
[ "$(count 'IAM issue')" = 1 ] || fail "the token was not cached ($(count 'IAM issue') exchanges)"
sleep 11
sbs get-state-image --env sbs-config.json || fail "get-state-image 3"
[ "$(count 'IAM issue')" = 2 ] || fail "the token was not refreshed near expiry ($(count 'IAM issue') exchanges)"
cosmode expire
sbs get-state-image --env sbs-config.json || fail "get-state-image after revocation: $(cat "$TMP/out")"
[ "$(count 'BEARER expired')" = 1 ] && [ "$(count 'IAM issue')" = 3 ] ||
	fail "revoked token: $(count 'BEARER expired') refusals, $(count 'IAM issue') exchanges"
ok "IAM token: cached (1 exchange for 2 uploads), refreshed 60 s before expiry, renewed after the store refused it"
cp "$(obj sbs-state "$SN")" state-object.json

# ---- 3. restore onto a fresh sbsd from the bucket ----
PORT2=$(free_port)
jq --arg p "$PORT2" '.CICD_PORT = $p' sbs-config.json >cfg2.json
start_sbsd b "$PORT2" "$TMP/data-b" "${SRV[@]}"
sbs init --env cfg2.json || fail "init b"
pubkey() { curl -sS --max-time 20 -k --cert "$CK" -X GET -H 'Content-Type: application/json' \
	--data '""' "https://localhost:$1/publickey" | jq -r .public_key_pem; }
pubkey "$PORT" >pub-a.pem
pubkey "$PORT2" >pub-b0.pem
cmp -s pub-a.pem pub-b0.pem && fail "two fresh instances share a manifest key"
sbs post-state-image --env cfg2.json --name "$SN" || fail "post-state-image: $(cat "$TMP/out" "$TMP/err")"
has '"OK"' "$TMP/out" || fail "post-state-image reply: $(cat "$TMP/out")"
pubkey "$PORT2" >pub-b.pem
cmp -s <(openssl pkey -pubin -in pub-a.pem) <(openssl pkey -pubin -in pub-b.pem) || fail "manifest key differs after restore"
ok "post-state-image --name $SN: the fresh sbsd restored from the bucket has instance a's manifest key"
sbs post-state-image --env cfg2.json --name no-such-state || true
cat "$TMP/out" "$TMP/err" >nokey.txt
grep -q "GET s3://sbs-state/no-such-state: HTTP 404 NoSuchKey" nokey.txt || fail "missing object: $(cat nokey.txt)"
ok "post-state-image of a missing object: GET s3://sbs-state/no-such-state: HTTP 404 NoSuchKey"

# ---- 4. faults in the middle of a multipart upload (on instance b: fresh names) ----
cosmode part2-500once
sbs get-state-image --env cfg2.json || fail "get-state-image with one 500: $(cat "$TMP/out" "$TMP/err")"
N1=$(sed -n 's/^state:name: //p' "$TMP/out")
[ -f "$(obj sbs-state "$N1")" ] || fail "no object after a retried part"
[ "$(count INJECT)" = 1 ] && grep -q "^PUT /sbs-state/$N1 partNumber,uploadId 200" "$COSLOG" ||
	fail "the 500 was not retried"
ok "a 500 on part 2 is retried: s3://sbs-state/$N1 stored"
cosmode part2-500
before=$(ls "$S3DIR/sbs-state" | sort)
inj0=$(count INJECT)
sbs get-state-image --env cfg2.json && fail "get-state-image succeeded through a persistent 500"
cat "$TMP/out" "$TMP/err" >fault.json
grep -q 'upload part 2 s3://sbs-state/sbs-state\.[^:]*: HTTP 500 InternalError' fault.json ||
	fail "final failure: $(cat fault.json "$TMP/err")"
grep -q 'get-state-image: the server answered HTTP 502: upload part 2 s3://' "$TMP/err" ||
	fail "the client does not show the server's reason plainly: $(cat "$TMP/err")"
TRIES=$(($(count INJECT) - inj0))
[ "$TRIES" = 5 ] || fail "part 2 tried $TRIES times, not 1 + S3_RETRIES (4)"
grep -q "^DELETE /sbs-state/[^ ]* uploadId 204 BEARER ok ABORT" "$COSLOG" ||
	fail "no abort"
[ "$(pending)" = 0 ] || fail "pending multipart uploads left: $(pending)"
[ "$(ls "$S3DIR/sbs-state" | sort)" = "$before" ] || fail "a failed upload left an object behind"
ok "a persistent 500 on part 2: $TRIES tries, upload aborted, no object and no pending parts; $(grep -o 'upload part 2 [^"]*' fault.json | head -n1)"
cosmode pass

# ---- 4b. real part sizes: 8 MiB parts (S3's rules), IAM and HMAC, up and down ----
T="$(dirname "$SBSD")/tests/test_s3"
[ -x "$T" ] || fail "no $T (build tests/test_s3 first)"
head -c $((17 * 1024 * 1024 + 123)) /dev/urandom >big.bin
S3ENV=(S3_ENDPOINT="https://localhost:$S3P" S3_BUCKET=sbs-state S3_CA_FILE="$REG_CA")
env "${S3ENV[@]}" S3_API_KEY="$APIKEY" S3_AUTH_ENDPOINT="https://localhost:$IAMP" S3_CRN="$CRN" 	$RUN "$T" put big-iam.bin big.bin >t.out 2>t.err || fail "test_s3 put (IAM): $(cat t.err)"
grep -q "stored in 3 parts" t.err || fail "17 MiB did not go up in 3 parts of 8 MiB: $(cat t.err)"
cmp -s big.bin "$(obj sbs-state big-iam.bin)" || fail "the 3-part object differs from the file"
env "${S3ENV[@]}" S3_ACCESS_KEY="$HMAC_ID" S3_SECRET_KEY="$HMAC_SECRET" 	$RUN "$T" put big-hmac.bin big.bin >t.out 2>t.err || fail "test_s3 put (HMAC): $(cat t.err)"
env "${S3ENV[@]}" S3_ACCESS_KEY="$HMAC_ID" S3_SECRET_KEY="$HMAC_SECRET" 	$RUN "$T" get big-hmac.bin back.bin >t.out 2>t.err || fail "test_s3 get (HMAC): $(cat t.err)"
cmp -s big.bin back.bin || fail "the object read back differs"
[ "$(count 'SIGV4 bad')" = 0 ] || fail "botocore refused a signature of the 8 MiB parts"
ok "17 MiB in 3 parts of 8 MiB with IAM and with SigV4 (a URL without a path gets /identity/token), read back identical"

# ---- 5. missing bucket, wrong API key, wrong HMAC secret ----
sbs get-state-image --env cfg2.json --state-bucket-name no-such-bucket && fail "upload to a missing bucket succeeded"
cat "$TMP/out" "$TMP/err" >nobucket.txt
grep -q 's3://no-such-bucket/[^:]*: HTTP 404 NoSuchBucket' nobucket.txt || fail "missing bucket: $(cat nobucket.txt)"
ok "missing bucket: $(grep -o '[a-z ]*s3://no-such-bucket[^"]*' nobucket.txt | head -n1)"
jq '.COS_API_KEY_ID = "wrong-key" | .STATE_COS_API_KEY_ID = "wrong-key"' cfg2.json >cfg2-bad.json
sbs update --env cfg2-bad.json || fail "update with a wrong key"
sbs get-state-image --env cfg2.json && fail "upload with a wrong API key succeeded"
cat "$TMP/out" "$TMP/err" >badkey.txt
grep -q 's3://sbs-state/[^:]*: IAM token request to localhost: HTTP 400 BXNIM0415E (API key refused)' badkey.txt ||
	fail "wrong API key: $(cat badkey.txt)"
grep -q "IAM refused" "$COSLOG" || fail "the IAM endpoint saw no wrong key"
ok "wrong API key: $(grep -o '[a-z ]*s3://sbs-state[^"]*' badkey.txt | head -n1)"
jq '.MANIFEST_COS_HMAC_SECRET_ACCESS_KEY = "wrong-Do-Not-Leak-secret"' sbs-config.json >cfg-bad.json
sbs update --env cfg-bad.json || fail "update with a wrong HMAC secret"
git -C app commit -q --allow-empty -m two && git -C app push -q "$TMP/srv/app.git" main
build_and_wait sbs-config.json
cp "$TMP/out" status2.json
grep -q '"status": "exiting due to a non-zero return value: [0-9]*, cmd: manifest upload to COS: initiate multipart upload s3://sbs-manifests/manifest\.[^:]*: HTTP 403 SignatureDoesNotMatch"' status2.json ||
	fail "wrong HMAC secret: $(jq -r .status status2.json)"
grep -q "SIGV4 bad" "$COSLOG" || fail "botocore saw no bad signature"
ok "wrong HMAC secret: status $(jq -r .status status2.json)"

# ---- 6. no credential anywhere ----
sbs log --env sbs-config.json --log build || fail "log 2"
cat "$TMP/out" >>replies.txt
cat status1.json status2.json fault.json nobucket.txt badkey.txt nokey.txt log1.txt t.out t.err >>replies.txt
for f in "$TMP"/sbs-*.log "$TMP"/data-*/*.log "$TMP"/data-*/status.json replies.txt "$SN" "$N1" \
	"$MN" state-object.json; do
	[ -f "$f" ] || continue
	for s in "$APIKEY" "$HMAC_SECRET" "wrong-Do-Not-Leak-secret" $(cat "$COSLOG.tokens"); do
		grep -aqF -- "$s" "$f" && fail "a credential or token ($s) leaked into $f"
	done
done
tar -xOf "$MN" >manifest-members 2>/dev/null || true
for s in "$APIKEY" "$HMAC_SECRET" $(cat "$COSLOG.tokens"); do
	grep -aqF -- "$s" manifest-members && fail "a credential reached the manifest"
done
ok "no API key, HMAC secret or IAM token ($(wc -l <"$COSLOG.tokens") issued) in logs, statuses, replies, saved files or the manifest"
