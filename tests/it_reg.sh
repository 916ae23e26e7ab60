#!/bin/bash
# SPDX-License-Identifier: MIT
# The registry client (src/reg.c) against a real Debian docker-registry:
# anonymous, htpasswd and TLS registries; pulls of images pushed by skopeo,
# pushes judged by skopeo and umoci; a hand-made multi-arch index; and faults
# injected by tests/regproxy.py (5xx during uploads, always 5xx, always 401,
# a corrupted blob, an endless manifest, Bearer tokens that expire).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$TESTS_DIR/lib_reg.sh"

T="$(dirname "$SBSD")/tests/test_reg"
[ -x "$T" ] || fail "no $T (build tests/test_reg first)"
# test_reg reads credentials only from these; a test sets them per call
unset REG_CA_FILE
anon() { env -u REG_USER -u REG_PASS REG_BACKOFF_MS=20 $RUN "$T" "$@" >"$TMP/out" 2>"$TMP/err"; }
creds() { env REG_USER="$REG_USER" REG_PASS="$1" REG_BACKOFF_MS=20 $RUN "$T" "${@:2}" >"$TMP/out" 2>"$TMP/err"; }
no_secret() { ! grep -qF -- "$REG_PASS" "$TMP/out" "$TMP/err" || fail "$1: the password appears in the output"; }

# ---- images ----
make_busybox_image "$TMP/img" amd64
umoci unpack --image "$TMP/img:latest" "$TMP/img.unpacked" >/dev/null 2>&1 || fail "umoci unpack"
make_busybox_image "$TMP/img-arm64" arm64 /bin/busybox

# ---- anonymous registry: pull what skopeo pushed ----
start_registry anon plain
A=$REG_SERVER
AADDR=$REG_ADDR
APORT=$REG_PORT
push_image "$TMP/img" "$AADDR" sbs/busybox:1
want=$(skopeo inspect --tls-verify=false "docker://$AADDR/sbs/busybox:1" | jq -r .Digest)
anon pull "$A" sbs/busybox 1 linux amd64 "$TMP/pull1" || fail "anonymous pull"
got=$(cat "$TMP/out")
[ "$got" = "$want" ] || fail "pull digest $got, skopeo says $want"
[ "$(sha256sum <"$TMP/pull1/manifest.json" | cut -d' ' -f1)" = "${want#sha256:}" ] || fail "manifest bytes"
has "manifest $want application/vnd.oci.image.manifest.v1+json" "$TMP/err" || fail "media type: $(cat "$TMP/err")"
nb=0
for f in "$TMP"/pull1/blobs/*; do
	[ "$(sha256sum <"$f" | cut -d' ' -f1)" = "$(basename "$f")" ] || fail "blob $(basename "$f") does not hash to its name"
	nb=$((nb + 1))
done
[ $nb -eq 2 ] || fail "expected config + 1 layer, got $nb blobs"
ok "anonymous pull of a skopeo-pushed image: digest $want, $nb blobs re-hashed with sha256sum"

anon pull "$A" sbs/busybox "$want" linux amd64 "$TMP/pull1b" || fail "pull by digest"
ok "pull by digest"
anon getmanifest "$A" sbs/busybox nosuchtag && fail "a missing tag was found"
has "HTTP 404" "$TMP/err" && has "MANIFEST_UNKNOWN" "$TMP/err" || fail "missing tag error: $(cat "$TMP/err")"
anon getblob "$A" sbs/busybox "sha256:$(printf x | sha256sum | cut -d' ' -f1)" "$TMP/nob" && fail "a missing blob was found"
[ ! -e "$TMP/nob" ] || fail "missing blob left a file"
ok "missing tag and blob: HTTP 404 with the registry's code"

# ---- push an OCI layout; judges: skopeo inspect, skopeo copy + umoci unpack ----
anon push "$A" sbs/pushed v1 "$TMP/img" || fail "push"
pushed=$(cat "$TMP/out")
sk=$(skopeo inspect --tls-verify=false "docker://$AADDR/sbs/pushed:v1" | jq -r .Digest)
[ "$pushed" = "$sk" ] || fail "pushed $pushed, skopeo sees $sk"
grep -c pushed "$TMP/err" | grep -qx 2 || fail "expected 2 blobs pushed: $(cat "$TMP/err")"
skopeo copy --src-tls-verify=false "docker://$AADDR/sbs/pushed:v1" "oci:$TMP/back:v1" >/dev/null 2>&1 ||
	fail "skopeo copy back"
umoci unpack --image "$TMP/back:v1" "$TMP/back.unpacked" >/dev/null 2>&1 || fail "umoci unpack back"
diff -r --no-dereference "$TMP/img.unpacked/rootfs" "$TMP/back.unpacked/rootfs" >/dev/null ||
	fail "the pulled-back rootfs differs"
[ "$(stat -c %U:%a "$TMP/back.unpacked/rootfs/tmp")" = root:1777 ] || fail "modes lost"
ok "push of an OCI layout: skopeo sees digest $pushed; skopeo copy + umoci unpack give the same files"
anon push "$A" sbs/pushed v2 "$TMP/img" || fail "second push"
[ "$(grep -c 'already there' "$TMP/err")" = 2 ] || fail "second push re-sent blobs"
ok "a second push skips the 2 blobs already there (HEAD)"

# a 20 MiB blob: three PATCH chunks; read back with curl
head -c $((20 << 20)) /dev/urandom >"$TMP/big"
bigd=sha256:$(sha256sum <"$TMP/big" | cut -d' ' -f1)
anon pushfile "$A" sbs/big "$TMP/big" "$bigd" || fail "big push"
curl -sf --max-time 30 "http://$AADDR/v2/sbs/big/blobs/$bigd" | sha256sum | grep -q "${bigd#sha256:}" ||
	fail "big blob read back"
anon exists "$A" sbs/big "$bigd" && [ "$(cat "$TMP/out")" = 1 ] || fail "exists"
ok "20 MiB blob in 8 MiB PATCH chunks, read back intact by curl; HEAD says present"

# ---- a multi-arch index by hand ----
push_image "$TMP/img" "$AADDR" sbs/multi:amd64
push_image "$TMP/img-arm64" "$AADDR" sbs/multi:arm64
for a in amd64 arm64; do
	curl -sf --max-time 10 -H "Accept: application/vnd.oci.image.manifest.v1+json" \
		"http://$AADDR/v2/sbs/multi/manifests/$a" >"$TMP/m-$a"
done
d_amd=sha256:$(sha256sum <"$TMP/m-amd64" | cut -d' ' -f1)
d_arm=sha256:$(sha256sum <"$TMP/m-arm64" | cut -d' ' -f1)
jq -cn --arg da "$d_amd" --arg sa "$(stat -c %s "$TMP/m-amd64")" \
	--arg dr "$d_arm" --arg sr "$(stat -c %s "$TMP/m-arm64")" '{schemaVersion: 2,
	mediaType: "application/vnd.oci.image.index.v1+json", manifests: [
	{mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $da, size: ($sa|tonumber),
	 platform: {os: "unknown", architecture: "unknown"},
	 annotations: {"vnd.docker.reference.type": "attestation-manifest"}},
	{mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $da, size: ($sa|tonumber),
	 platform: {os: "linux", architecture: "amd64"}},
	{mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $dr, size: ($sr|tonumber),
	 platform: {os: "linux", architecture: "arm64", variant: "v8"}}]}' >"$TMP/index.json"
curl -sf --max-time 10 -X PUT -H "Content-Type: application/vnd.oci.image.index.v1+json" \
	--data-binary @"$TMP/index.json" "http://$AADDR/v2/sbs/multi/manifests/latest" >/dev/null ||
	fail "PUT index"
anon getmanifest "$A" sbs/multi latest linux arm64 || fail "index -> arm64"
[ "$(cut -d' ' -f1 "$TMP/out")" = "$d_arm" ] || fail "arm64 resolved to $(cat "$TMP/out"), want $d_arm"
anon getmanifest "$A" sbs/multi latest linux amd64 || fail "index -> amd64"
[ "$(cut -d' ' -f1 "$TMP/out")" = "$d_amd" ] || fail "amd64 resolved wrongly"
anon getmanifest "$A" sbs/multi latest || fail "index itself"
[ "$(cut -d' ' -f1 "$TMP/out")" = "sha256:$(sha256sum <"$TMP/index.json" | cut -d' ' -f1)" ] &&
	has "image.index" "$TMP/out" || fail "the index itself: $(cat "$TMP/out")"
anon getmanifest "$A" sbs/multi latest linux s390x && fail "s390x found in an amd64/arm64 index"
has "no linux/s390x in the index; it has: linux/amd64, linux/arm64/v8" "$TMP/err" ||
	fail "missing-arch error: $(cat "$TMP/err")"
has unknown "$TMP/err" && fail "the attestation entry is listed"
anon pull "$A" sbs/multi latest linux arm64 "$TMP/pull-arm" || fail "pull via index"
jq -r .architecture "$TMP/pull-arm/blobs/$(jq -r .config.digest "$TMP/pull-arm/manifest.json" | cut -d: -f2)" |
	grep -qx arm64 || fail "pulled config is not arm64"
ok "index: linux/arm64 and linux/amd64 resolved, attestation entry skipped, s390x refused listing the platforms"

# ---- htpasswd registry ----
start_registry auth htpasswd
B=$REG_SERVER
push_image "$TMP/img" "$REG_ADDR" sbs/private:1 "$REG_USER:$REG_PASS"
creds "$REG_PASS" pull "$B" sbs/private 1 linux amd64 "$TMP/pull2" || fail "htpasswd pull: $(cat "$TMP/err")"
no_secret "htpasswd pull"
creds "$REG_PASS" push "$B" sbs/private 2 "$TMP/img" || fail "htpasswd push"
ok "htpasswd registry: Basic auth after the 401 challenge, pull and push"
creds "wrong-$REG_PASS" pull "$B" sbs/private 1 linux amd64 "$TMP/pull3" && fail "a wrong password worked"
has "HTTP 401" "$TMP/err" && has "rc -13" "$TMP/err" || fail "wrong password error: $(cat "$TMP/err")"
no_secret "wrong password"
grep -qF "wrong-$REG_PASS" "$TMP/err" "$TMP/out" && fail "the wrong password appears in the output"
anon getmanifest "$B" sbs/private 1 && fail "anonymous access to a private registry"
has "HTTP 401" "$TMP/err" || fail "anonymous error: $(cat "$TMP/err")"
ok "wrong password and anonymous: -EACCES, 'HTTP 401', no password text in the output"

# ---- TLS registry with our CA ----
start_registry tls htpasswd+tls
C=$REG_SERVER
push_image "$TMP/img" "$REG_ADDR" sbs/tls:1 "$REG_USER:$REG_PASS"
REG_CA_FILE=$REG_CA creds "$REG_PASS" pull "$C" sbs/tls 1 linux amd64 "$TMP/pull4" || fail "tls pull: $(cat "$TMP/err")"
REG_CA_FILE=$REG_CA creds "$REG_PASS" push "$C" sbs/tls 2 "$TMP/img" || fail "tls push"
[ "$(cat "$TMP/out")" = "$(skopeo inspect --cert-dir "$REG_CERT_DIR" --creds "$REG_USER:$REG_PASS" \
	"docker://$REG_ADDR/sbs/tls:2" | jq -r .Digest)" ] || fail "tls push digest"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=other \
	-keyout "$TMP/other.key" -out "$TMP/other.pem" >/dev/null 2>&1
start=$(date +%s)
REG_CA_FILE=$TMP/other.pem creds "$REG_PASS" getmanifest "$C" sbs/tls 1 && fail "an untrusted server was accepted"
has "not trusted" "$TMP/err" || fail "untrusted error: $(cat "$TMP/err")"
grep -q retry "$TMP/err" && fail "a certificate failure was retried"
[ $(($(date +%s) - start)) -lt 10 ] || fail "untrusted took too long"
ok "TLS registry: pull and push with our CA; another CA refused at once (no retries)"

# ---- faults through regproxy.py ----
# start_proxy MODE [VAR=value...]: sets P (server string) and PLOG
start_proxy() {
	local mode=$1 port
	shift
	port=$(free_port)
	PLOG=$TMP/proxy-$mode.log
	: >"$PLOG"
	env "$@" python3 "$TESTS_DIR/regproxy.py" "$port" "$APORT" "$mode" "$PLOG" 2>>"$TMP/proxy.err" &
	PIDS+=($!)
	PPID_=$!
	wait_tcp "$port" 10 || fail "regproxy $mode did not start"
	P=http://127.0.0.1:$port
	PADDR=127.0.0.1:$port
}

start_proxy upload500
anon push "$P" sbs/faulty v1 "$TMP/img" || fail "push through upload500: $(cat "$TMP/err")"
d=$(cat "$TMP/out")
[ "$(grep -c INJECT "$PLOG")" = 2 ] || fail "expected 2 injected faults: $(cat "$PLOG")"
grep -q "^reg: upload sbs/faulty .*PATCH failed (HTTP 500), retry 1/4" "$TMP/err" &&
	grep -q "PUT failed (HTTP 500)" "$TMP/err" || fail "retry lines: $(cat "$TMP/err")"
[ "$(skopeo inspect --tls-verify=false "docker://$AADDR/sbs/faulty:v1" | jq -r .Digest)" = "$d" ] ||
	fail "skopeo does not see the image pushed through faults"
skopeo copy --src-tls-verify=false "docker://$AADDR/sbs/faulty:v1" "oci:$TMP/back2:v1" >/dev/null 2>&1 &&
	umoci unpack --image "$TMP/back2:v1" "$TMP/back2.unpacked" >/dev/null 2>&1 &&
	diff -r --no-dereference "$TMP/img.unpacked/rootfs" "$TMP/back2.unpacked/rootfs" >/dev/null ||
	fail "image pushed through faults differs"
kill "$PPID_"
ok "upload500: a lost PATCH answer resumes from the registry's Range, a failed PUT is retried; skopeo + umoci judge the image"

start_proxy upload500
anon pushfile "$P" sbs/big2 "$TMP/big" "$bigd" || fail "big push through upload500"
curl -sf --max-time 30 "http://$AADDR/v2/sbs/big2/blobs/$bigd" | sha256sum | grep -q "${bigd#sha256:}" ||
	fail "big blob through faults"
kill "$PPID_"
ok "upload500 on a 3-chunk upload: resumed, blob intact"

start_proxy always500
start=$(date +%s)
anon getmanifest "$P" sbs/busybox 1 && fail "always500 succeeded"
has "HTTP 500" "$TMP/err" || fail "always500 error: $(cat "$TMP/err")"
[ "$(grep -c "retry" "$TMP/err")" = 4 ] && [ "$(grep -c "GET /v2/sbs/busybox/manifests/1 500" "$PLOG")" = 5 ] ||
	fail "expected 4 retries, 5 tries: $(cat "$TMP/err")"
[ $(($(date +%s) - start)) -lt 15 ] || fail "always500 took too long"
env -u REG_USER REG_BACKOFF_MS=20 REG_RETRIES_N=1 $RUN "$T" getmanifest "$P" sbs/busybox 1 2>"$TMP/err" &&
	fail "always500 succeeded"
[ "$(grep -c retry "$TMP/err")" = 1 ] || fail "retries option ignored"
kill "$PPID_"
ok "always500: 5 tries (4 retries logged, one line each), then HTTP 500; bounded time; retries configurable"

start_proxy always401
creds "$REG_PASS" getmanifest "$P" sbs/busybox 1 && fail "always401 succeeded"
has "HTTP 401" "$TMP/err" && has "rc -13" "$TMP/err" || fail "always401 error: $(cat "$TMP/err")"
no_secret always401
[ "$(grep -c "manifests/1 401" "$PLOG")" = 2 ] || fail "expected anonymous + one Basic try: $(cat "$PLOG")"
kill "$PPID_"
ok "always401: one anonymous and one Basic try, then -EACCES; no password in the output"

start_proxy corrupt
layer=$(jq -r '.layers[0].digest' "$TMP/pull1/manifest.json")
anon getblob "$P" sbs/busybox "$layer" "$TMP/corrupt.blob" && fail "a corrupted blob was accepted"
has "digest mismatch" "$TMP/err" && has "rc -74" "$TMP/err" || fail "corrupt error: $(cat "$TMP/err")"
[ ! -e "$TMP/corrupt.blob" ] || fail "corrupted blob kept"
anon pull "$P" sbs/busybox 1 linux amd64 "$TMP/pull5" && fail "a pull with a corrupted config succeeded"
has "digest mismatch" "$TMP/err" || fail "corrupt pull error"
kill "$PPID_"
ok "corrupt: a flipped byte gives -EBADMSG 'digest mismatch', the file is discarded"

start_proxy endless
start=$(date +%s)
anon getmanifest "$P" sbs/busybox 1 && fail "an endless manifest was accepted"
has "rc -7" "$TMP/err" && has "limit" "$TMP/err" || fail "endless error: $(cat "$TMP/err")"
[ $(($(date +%s) - start)) -lt 20 ] || fail "endless took too long"
kill "$PPID_"
ok "endless manifest: -E2BIG at the 4 MiB limit, no retry storm"

start_proxy bearer PROXY_USER=tokuser PROXY_PASS=tokpass-secret PROXY_TTL=60
env REG_USER=tokuser REG_PASS=tokpass-secret $RUN "$T" pull "$P" sbs/busybox 1 linux amd64 "$TMP/pull6" \
	>"$TMP/out" 2>"$TMP/err" || fail "bearer pull: $(cat "$TMP/err")"
[ "$(cat "$TMP/out")" = "$want" ] || fail "bearer pull digest"
[ "$(grep -c "TOKEN scope=repository%3Asbs%2Fbusybox%3Apull" "$PLOG")" = 1 ] ||
	fail "expected one cached token for the pull: $(cat "$PLOG")"
[ "$(grep -c " 200 $" "$PLOG")" -ge 3 ] || fail "bearer requests: $(cat "$PLOG")"
grep -q tokpass "$TMP/out" "$TMP/err" && fail "token password in the output"
env REG_USER=tokuser REG_PASS=tokpass-secret REG_BACKOFF_MS=20 $RUN "$T" push "$P" sbs/tokpush v1 "$TMP/img" \
	>"$TMP/out" 2>"$TMP/err" || fail "bearer push: $(cat "$TMP/err")"
grep -q "TOKEN scope=repository%3Asbs%2Ftokpush%3Apull%2Cpush" "$PLOG" || fail "push scope"
env REG_USER=tokuser REG_PASS=wrong $RUN "$T" getmanifest "$P" sbs/busybox 1 >"$TMP/out" 2>"$TMP/err" &&
	fail "a wrong token password worked"
has "token service refused the credentials (HTTP 401)" "$TMP/err" || fail "token refusal: $(cat "$TMP/err")"
grep -q wrong "$TMP/err" && fail "password text in the token error"
kill "$PPID_"
ok "bearer: token fetched with Basic credentials, cached for the whole pull (1 token), push asks pull,push; a wrong password gives a clear token error"

start_proxy bearer PROXY_USER=tokuser PROXY_PASS=tokpass-secret PROXY_TTL=2
env REG_USER=tokuser REG_PASS=tokpass-secret REG_TEST_PAUSE_MS=2500 $RUN "$T" pull "$P" sbs/busybox 1 linux amd64 \
	"$TMP/pull7" >"$TMP/out" 2>"$TMP/err" || fail "bearer pull with expiry: $(cat "$TMP/err")"
[ "$(grep -c "TOKEN scope" "$PLOG")" = 2 ] || fail "expected a refreshed token: $(cat "$PLOG")"
grep -q EXPIRED "$PLOG" && fail "an expired token was presented: $(cat "$PLOG")"
kill "$PPID_"
ok "bearer with 2 s tokens: refreshed before expiry (2 tokens, no expired token presented)"

start_proxy bearer+redirect PROXY_USER=tokuser PROXY_PASS=tokpass-secret
env REG_USER=tokuser REG_PASS=tokpass-secret $RUN "$T" pull "$P" sbs/busybox 1 linux amd64 "$TMP/pull8" \
	>"$TMP/out" 2>"$TMP/err" || fail "pull with redirected blobs: $(cat "$TMP/err")"
[ "$(grep -c "REDIRECT" "$PLOG")" = 2 ] && [ "$(grep -c "DIRECT auth=no" "$PLOG")" = 2 ] ||
	fail "expected 2 redirected blob GETs without auth: $(cat "$PLOG")"
grep -q "DIRECT auth=yes" "$PLOG" && fail "credentials followed a redirect to another origin"
cmp -s "$TMP/pull8/manifest.json" "$TMP/pull1/manifest.json" || fail "redirected pull differs"
kill "$PPID_"
ok "blob GETs redirected to another origin are followed without the Bearer token"

echo "all registry integration tests passed ($n)"
