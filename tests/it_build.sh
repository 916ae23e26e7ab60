#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Integration: the whole secure build, driven by the sbs client against sbsd,
# with real peers: git http-backend behind lighttpd (the source), Debian's
# docker-registry with htpasswd auth (base image and push target). Judges
# independent of sbs's code: skopeo inspect (the pushed digest), curl (the
# cosign .sig and .att objects), openssl (ECDSA over the payload, ECDSA over
# the DSSE PAE, RSA over the manifest digest), umoci (the pushed image's
# files), tar (the manifest's members), and skopeo's sigstore policy (finds
# and parses the attachment, then stops at Debian's "sigstore disabled").
# Then: the same commit built again gives the same digest (from the cache),
# failures end in a clear status, and no secret reaches a log, a status, a
# manifest or an API reply.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_reg.sh"
. "$(dirname "$0")/lib_git.sh"

[ "$(id -u)" = 0 ] || fail "RUN steps need root (namespaces): run as root"
command -v lighttpd >/dev/null || fail "lighttpd is not installed"
export GIT_CONFIG_NOSYSTEM=1 HOME=$TMP GIT_AUTHOR_NAME=T GIT_AUTHOR_EMAIL=t@example.com \
	GIT_COMMITTER_NAME=C GIT_COMMITTER_EMAIL=c@example.com
cd "$TMP"

# ---- registry and base image ----
start_registry main htpasswd
REG=$REG_ADDR
CREDS="$REG_USER:$REG_PASS"
make_busybox_image base amd64 >/dev/null
push_image base "$REG" base/busybox:1 "$CREDS" || fail "push of the base image"
BASE_DIGEST=$(skopeo inspect --tls-verify=false --creds "$CREDS" "docker://$REG/base/busybox:1" | jq -r .Digest)
ok "docker-registry (htpasswd) on $REG with a busybox base image $BASE_DIGEST"

# ---- the source repository and a git server ----
mkdir -p srv app
git init -q -b main app
cat >app/Dockerfile <<'EOF'
ARG BASE
FROM ${BASE}
ARG VERSION=0
ENV GREETING=hello
LABEL org.example.name=it-build
WORKDIR /app
COPY hello.txt ./
COPY --chown=1000:1000 data/ /app/data/
RUN echo "built $VERSION" >/app/built.txt && rm /bin/false && mkdir -p /var/empty
USER app
CMD ["/bin/sh", "-c", "cat /app/hello.txt"]
EOF
printf 'secret.txt\n' >app/.dockerignore
echo "hello from the build" >app/hello.txt
mkdir -p app/data && echo d1 >app/data/one && echo d2 >app/data/two
echo "not for the image" >app/secret.txt
cp app/Dockerfile Dockerfile.good
git -C app add -A && git -C app commit -qm one
COMMIT=$(git -C app rev-parse HEAD)
git clone -q --bare app srv/app.git
start_git_http
ok "git http-backend on 127.0.0.1:$HP, commit $COMMIT"

# ---- sbsd and the client ----
PORT=$(free_port)
GHKEY="-----BEGIN OPENSSH PRIVATE KEY-----
GHKEY-Do-Not-Leak-$RANDOM$RANDOM
-----END OPENSSH PRIVATE KEY-----"
printf '%s\n' "$GHKEY" >github_key
cat >sbs-config.json <<JSON
{
    "HOSTNAME": "localhost",
    "CICD_PORT": "$PORT",
    "CONTAINER_NAME": "itb",
    "IMAGE_TAG": "",
    "GITHUB_KEY_FILE": "$TMP/github_key",
    "GITHUB_URL": "http://127.0.0.1:$HP/git/app.git",
    "GITHUB_BRANCH": "main",
    "DOCKER_REPO": "sbs/app",
    "DOCKER_PUSH_SERVER": "http://$REG",
    "DOCKER_USER": "$REG_USER",
    "DOCKER_PASSWORD": "$REG_PASS",
    "DOCKER_BASE_SERVER": "http://$REG",
    "DOCKER_BASE_USER": "$REG_USER",
    "DOCKER_BASE_PASSWORD": "$REG_PASS",
    "IMAGE_TAG_PREFIX": "it-v1",
    "ARG": {"BASE": "$REG/base/busybox:1", "VERSION": "7"}
}
JSON
sbs create-client-cert --env sbs-config.json || fail "create-client-cert"
sbs create-server-cert --env sbs-config.json || fail "create-server-cert"
UUID=$(jget sbs-config.json UUID)
SECRET=$(jget sbs-config.json SECRET)
D=.itb-$UUID.d
CLIENT_CA=$(base64 -w0 "$D/client-ca.pem")
export CLIENT_CA
start_sbsd b "$PORT" "$TMP/data" SERVER_CRT="$(base64 -w0 "$D/server-cert.pem")" \
	SERVER_KEY="$(base64 -w0 "$D/server-cert-key.pem")"
sbs init --env sbs-config.json || fail "init"
has '"status": "OK"' "$TMP/out" || fail "init: $(cat "$TMP/out")"
ok "sbsd up, init OK"


build_and_wait
cp "$TMP/out" status1.json
[ "$(jq -r .status status1.json)" = success ] || {
	sbs log --env sbs-config.json --log build; tail -30 "$TMP/out" >&2
	fail "build: $(jq -r .status status1.json)"; }
sbs log --env sbs-config.json --log build || fail "log"
cp "$TMP/out" log1.txt
grep -o 'status: [a-z ]*' log1.txt | sed 's/status: //' | tr '\n' '|' >seq.txt
[ "$(cat seq.txt)" = "cleaned up|github cloned|image built|image pushed|success|" ] ||
	fail "status sequence: $(cat seq.txt)"
ok "build: success; statuses in order: $(cat seq.txt)"
TAG=$(jq -r .image_tag status1.json)
BN=$(jq -r .build_name status1.json)
[ "$TAG" = "it-v1-${COMMIT:0:7}" ] || fail "image_tag $TAG"
case "$BN" in "${REG/:/.}.sbs.app.$TAG."20[0-9][0-9]-*) ;; *) fail "build_name $BN" ;; esac
[ "$(jq -r .manifest_key_gen status1.json)" = soft_crypto ] || fail "manifest_key_gen"
[ "$(jq -r .manifest_public_key status1.json)" = "manifest.$BN-public.pem" ] || fail "manifest_public_key"
ok "status: image_tag $TAG, build_name $BN (PROTOCOL §10)"

# ---- the pushed image, judged by skopeo and umoci ----
sbs get-digest --env sbs-config.json || fail "get-digest"
DIGEST=$(grep -o 'sha256:[0-9a-f]\{64\}' "$TMP/out" | head -n1)
[ -n "$DIGEST" ] || fail "get-digest: $(cat "$TMP/out")"
SDIG=$(skopeo inspect --tls-verify=false --creds "$CREDS" "docker://$REG/sbs/app:$TAG" | jq -r .Digest)
[ "$SDIG" = "$DIGEST" ] || fail "skopeo says $SDIG, sbs says $DIGEST"
ok "skopeo inspect: the pushed digest is $DIGEST"
skopeo copy -q --src-tls-verify=false --src-creds "$CREDS" "docker://$REG/sbs/app:$TAG" oci:pulled:x \
	>/dev/null 2>&1 || fail "skopeo copy of the built image"
umoci unpack --image pulled:x bundle >/dev/null 2>&1 || fail "umoci unpack"
R=bundle/rootfs
[ "$(cat $R/app/hello.txt)" = "hello from the build" ] || fail "hello.txt"
[ "$(cat $R/app/built.txt)" = "built 7" ] || fail "built.txt: $(cat $R/app/built.txt 2>&1)"
[ ! -e $R/app/secret.txt ] || fail ".dockerignore'd file in the image"
[ ! -e $R/bin/false ] && [ ! -L $R/bin/false ] && [ -L $R/bin/sh ] || fail "the RUN's deletion of /bin/false (a whiteout) is not in the image"
[ "$(stat -c %u:%g $R/app/data/one)" = 1000:1000 ] || fail "COPY --chown"
[ -d $R/var/empty ] || fail "mkdir in RUN"
jq -e '.config.User == "app" and .config.WorkingDir == "/app" and (.config.Env | index("GREETING=hello"))
	and .config.Labels["org.example.name"] == "it-build"' pulled/blobs/sha256/$(jq -r .config.digest \
	pulled/blobs/sha256/"${DIGEST#sha256:}" | sed 's/sha256://') >/dev/null || fail "image config"
ok "umoci unpack: files, ownership, whiteout, .dockerignore and config as the Dockerfile says"

# ---- the cosign signature, judged by curl + openssl ----
sbs get-signed-image-publickey --env sbs-config.json || fail "get-signed-image-publickey"
KEYF=$(ls ./*-public.key | head -n1)
{ grep -q "BEGIN PUBLIC KEY" "$KEYF" && cp "$KEYF" cosign.pub; } || base64 -d "$KEYF" >cosign.pub
SIGTAG="sha256-${DIGEST#sha256:}.sig"
RC=(curl -sS --fail --max-time 20 -u "$CREDS")
"${RC[@]}" -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
	"http://$REG/v2/sbs/app/manifests/$SIGTAG" >sig-manifest.json || fail "no $SIGTAG in the registry"
PL=$(jq -r '.layers[] | select(.mediaType == "application/vnd.dev.cosign.simplesigning.v1+json") | .digest' sig-manifest.json | head -n1)
jq -r '.layers[0].annotations["dev.cosignproject.cosign/signature"]' sig-manifest.json | base64 -d >sig.der
"${RC[@]}" "http://$REG/v2/sbs/app/blobs/$PL" >payload.json || fail "payload blob"
openssl dgst -sha256 -verify cosign.pub -signature sig.der payload.json >/dev/null || fail "openssl refuses the signature"
[ "$(jq -r '.critical.image["docker-manifest-digest"]' payload.json)" = "$DIGEST" ] || fail "payload digest"
[ "$(jq -r '.critical.identity["docker-reference"]' payload.json)" = "$REG/sbs/app:$TAG" ] || fail "payload reference"
[ "$(jq -r .critical.type payload.json)" = "cosign container image signature" ] || fail "payload type"
ok "cosign signature: openssl accepts it, the payload names $DIGEST and $REG/sbs/app"
printf 'x' | cat payload.json - >payload-tampered.json
openssl dgst -sha256 -verify cosign.pub -signature sig.der payload-tampered.json >/dev/null 2>&1 &&
	fail "openssl accepted a tampered payload"
openssl ecparam -name prime256v1 -genkey -noout -out other.key 2>/dev/null
openssl ec -in other.key -pubout -out other.pub 2>/dev/null
openssl dgst -sha256 -verify other.pub -signature sig.der payload.json >/dev/null 2>&1 &&
	fail "another key verified the signature"
sed "s/${DIGEST#sha256:}/$(printf '%064d' 0)/" payload.json >payload-other.json
openssl dgst -sha256 -verify cosign.pub -signature sig.der payload-other.json >/dev/null 2>&1 &&
	fail "the signature verified for another digest"
ok "tampered payload, another key, another digest: refused by openssl"

# skopeo's sigstore policy finds and parses the attachment (SIGSTORE.md)
mkdir -p regd
printf 'docker:\n  %s:\n    use-sigstore-attachments: true\n' "$REG" >regd/sbs.yaml
jq -n --arg r "$REG" --arg k "$TMP/cosign.pub" '{default:[{type:"reject"}],transports:{docker:{($r):[
	{type:"sigstoreSigned",keyPath:$k,signedIdentity:{type:"matchRepository"}}]}}}' >policy.json
skopeo --registries.d regd --policy policy.json copy --src-tls-verify=false --src-creds "$CREDS" \
	"docker://$REG/sbs/app:$TAG" oci:policy-out:x >skopeo.out 2>&1 && fail "Debian's skopeo verified sigstore?"
grep -q "sigstore disabled" skopeo.out || fail "skopeo did not reach the sigstore check: $(tail -3 skopeo.out)"
ok "skopeo with a sigstoreSigned policy finds the .sig attachment (stops at Debian's 'sigstore disabled')"

# ---- provenance: DSSE envelope in the .att, judged by openssl over the PAE ----
"${RC[@]}" -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
	"http://$REG/v2/sbs/app/manifests/sha256-${DIGEST#sha256:}.att" >att-manifest.json || fail "no .att"
AL=$(jq -r '.layers[0].digest' att-manifest.json)
"${RC[@]}" "http://$REG/v2/sbs/app/blobs/$AL" >envelope.json || fail "envelope blob"
jq -r .payload envelope.json | base64 -d >statement.json
jq -r '.signatures[0].sig' envelope.json | base64 -d >env-sig.der
PT=$(jq -r .payloadType envelope.json)
{ printf 'DSSEv1 %d %s %d ' "${#PT}" "$PT" "$(stat -c %s statement.json)"; cat statement.json; } >pae.bin
openssl dgst -sha256 -verify cosign.pub -signature env-sig.der pae.bin >/dev/null || fail "DSSE signature"
[ "$(jq -r '.subject[0].digest.sha256' statement.json)" = "${DIGEST#sha256:}" ] || fail "statement subject"
[ "$(jq -r .predicateType statement.json)" = "https://slsa.dev/provenance/v1" ] || fail "predicateType"
grep -q "$COMMIT" statement.json || fail "the provenance does not name the commit"
grep -q "${BASE_DIGEST#sha256:}" statement.json || fail "the provenance does not name the base image digest"
ok "provenance: SLSA v1 statement in a DSSE envelope, openssl verifies it; it names the commit and the base"

# ---- sbs verify: the same checks from the registry alone ----
SBS_REG_USER=$REG_USER SBS_REG_PASS=$REG_PASS sbs verify "$REG/sbs/app:$TAG" --key cosign.pub --att \
	--plain-http || fail "sbs verify: $(cat "$TMP/out" "$TMP/err")"
grep -q "$COMMIT" "$TMP/out" || fail "sbs verify --att does not print the commit: $(cat "$TMP/out")"
SBS_REG_USER=$REG_USER SBS_REG_PASS=$REG_PASS sbs verify "$REG/sbs/app:$TAG" --key other.pub \
	--plain-http && fail "sbs verify accepted another key"
SBS_REG_USER=$REG_USER SBS_REG_PASS=$REG_PASS sbs verify "$REG/base/busybox:1" --key cosign.pub \
	--plain-http && fail "sbs verify accepted an unsigned image"
ok "sbs verify: signature and provenance verified offline; another key and an unsigned image refused"

# ---- the manifest .sig.tbz (PROTOCOL §12) ----
sbs get-manifest --env sbs-config.json --verify-manifest || fail "get-manifest --verify-manifest"
grep -q "verify=OK" "$TMP/out" "$TMP/err" || fail "get-manifest --verify-manifest: $(cat "$TMP/out" "$TMP/err")"
[ -f "manifest.$BN.sig.tbz" ] || fail "no manifest.$BN.sig.tbz"
mkdir -p m && tar -xjf "manifest.$BN.sig.tbz" -C m
[ "$(cat "m/manifest.$BN.sig" | wc -c)" = 512 ] || fail ".sig is not 512 hex characters"
python3 -c "import sys; sys.stdout.buffer.write(bytes.fromhex(open(sys.argv[1]).read()))" "m/manifest.$BN.sig" >m/sig.bin
openssl dgst -sha256 -binary "m/manifest.$BN.tbz" >m/digest.bin
openssl dgst -sha256 -verify "manifest.$BN-public.pem" -signature m/sig.bin m/digest.bin >/dev/null ||
	fail "openssl refuses the manifest signature"
mkdir -p m/in && tar -xjf "m/manifest.$BN.tbz" -C m/in
[ "$(jq -r .status m/in/data/build.json)" = success ] && grep -q "starting a build" m/in/data/build.log &&
	[ "$(cat m/in/git/hello.txt)" = "hello from the build" ] || fail "manifest contents"
ok "manifest: openssl verifies RSA over SHA-256(.tbz); data/build.json, data/build.log, git/ inside"

# ---- the same commit again: same digest, from the cache ----
build_and_wait
[ "$(jq -r .status "$TMP/out")" = success ] || fail "second build: $(jq -r .status "$TMP/out")"
sbs get-digest --env sbs-config.json || fail "get-digest 2"
grep -q "$DIGEST" "$TMP/out" || fail "the second build of one commit gave another digest: $(cat "$TMP/out")"
sbs log --env sbs-config.json --log build || fail "log 2"
grep -q "from the cache" "$TMP/out" || fail "second build log does not mention the cache"
ok "the same commit built twice: one digest ($(grep -o '[0-9]* from the cache' "$TMP/out"))"

# ---- the same commit over SSH (deploy key, host key pinned on first use) ----
mkdir -p /run/sshd
ssh-keygen -q -t ecdsa -b 256 -N '' -C '' -f hostkey
ssh-keygen -q -t ecdsa -b 256 -N '' -C '' -f hostkey2
ssh-keygen -q -t ecdsa -b 256 -N '' -C '' -f deploy
printf 'command="git-shell -c \\"$SSH_ORIGINAL_COMMAND\\"",no-pty,no-port-forwarding,no-agent-forwarding,no-X11-forwarding %s\n' \
	"$(cat deploy.pub)" >authorized_keys
SP=$(free_port)
start_sshd() { # HOSTKEY
	printf 'Port %s\nListenAddress 127.0.0.1\nHostKey %s\nAuthorizedKeysFile %s\n' "$SP" "$1" "$TMP/authorized_keys" >sshd.conf
	printf 'PermitRootLogin prohibit-password\nAllowUsers root\nPasswordAuthentication no\n' >>sshd.conf
	printf 'KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\nPidFile %s\nAcceptEnv GIT_PROTOCOL\n' \
		"$TMP/sshd.pid" >>sshd.conf
	/usr/sbin/sshd -D -e -f sshd.conf >>sshd.log 2>&1 &
	SSHD_PID=$!
	PIDS+=("$SSHD_PID")
	wait_tcp "$SP" 20 || fail "sshd did not start: $(cat sshd.log)"
}
start_sshd "$TMP/hostkey"
jq --arg u "ssh://root@127.0.0.1:$SP$TMP/srv/app.git" --arg k "$TMP/deploy" \
	'.GITHUB_URL = $u | .GITHUB_KEY_FILE = $k' sbs-config.json >c2 && mv c2 sbs-config.json
sbs update --env sbs-config.json || fail "update to the ssh URL"
build_and_wait
[ "$(jq -r .status "$TMP/out")" = success ] || {
	sbs log --env sbs-config.json --log build; tail -5 "$TMP/out" >&2
	fail "build over ssh: $(jq -r .status "$TMP/out")"; }
sbs get-digest --env sbs-config.json || fail "get-digest (ssh)"
grep -q "$DIGEST" "$TMP/out" || fail "the build over ssh gave another digest: $(cat "$TMP/out")"
FP=$(ssh-keygen -l -E sha256 -f hostkey.pub | awk '{print $2}')
sbs log --env sbs-config.json --log build || fail "log (ssh)"
cp "$TMP/out" log-ssh.txt
grep -q "github_host_key=.*$FP" log-ssh.txt || fail "the log does not name the host key $FP"
grep -qF "$(awk '{print $2}' hostkey.pub)" "$TMP/data/known_hosts" ||
	fail "the host key is not pinned in the data directory"
sbs get-manifest --env sbs-config.json || fail "get-manifest (ssh)"
M2=$(ls -t manifest.*.sig.tbz | head -n1)
mkdir -p m2/x m2/in && tar -xjf "$M2" -C m2/x && tar -xjf m2/x/*.tbz -C m2/in
grep -q "$FP" m2/in/data/build.json || fail "the manifest does not record the pinned host key"
ok "the same commit over SSH (ECDSA deploy key): same digest; host key $FP pinned and in the manifest"
kill "$SSHD_PID" && wait "$SSHD_PID" 2>/dev/null || true
start_sshd "$TMP/hostkey2"
build_and_wait
grep -q '"status": "exiting due to a non-zero return value: 3, cmd: git fetch' "$TMP/out" ||
	fail "a changed host key: $(jq -r .status "$TMP/out")"
sbs log --env sbs-config.json --log build || fail "log (hostkey2)"
grep -q "$FP" "$TMP/out" || fail "the refusal does not name the pinned key"
ok "a changed SSH host key stops the build at git fetch, naming the pinned key"
DEPLOY_LINE=$(sed -n 2p deploy)
jq --arg u "http://127.0.0.1:$HP/git/app.git" '.GITHUB_URL = $u' sbs-config.json >c2 && mv c2 sbs-config.json
sbs update --env sbs-config.json || fail "update back to the http URL"

# ---- secrets never leak ----
for s in "$REG_PASS" "$SECRET" "GHKEY-Do-Not-Leak" "$DEPLOY_LINE"; do
	for f in log1.txt log-ssh.txt status1.json "$TMP"/sbsd-b.log m/in/data/build.json m/in/data/build.log \
		m2/in/data/build.json m2/in/data/build.log statement.json payload.json; do
		grep -qF -- "$s" "$f" && fail "a secret is in $f"
	done
done
ok "no registry password, SECRET or GITHUB_KEY in logs, status, manifest, provenance, payload"

# ---- failures: a clear status, the server keeps serving ----
fail_build() { # WANT-in-status DESCRIPTION
	build_and_wait
	grep -q "\"status\": \"exiting due to a non-zero return value: [0-9]*, cmd: $1" "$TMP/out" ||
		fail "$2: $(jq -r .status "$TMP/out")"
	ok "$2: $(jq -r .status "$TMP/out")"
}
printf 'FROM %s/base/busybox:1\nRUN : >/proc/self/fd/1; : >/proc/self/fd/2; exit 3\n' "$REG" >app/Dockerfile
git -C app commit -qam "fails" && git -C app push -q "$TMP/srv/app.git" main
fail_build "docker build" "a RUN step truncating its stdout, then exiting 3"
sbs log --env sbs-config.json --log build || fail "log 3"
grep -q "non-zero code: 3" "$TMP/out" || fail "the log does not name the RUN's exit code"
grep -q "starting a build" "$TMP/out" || fail "a RUN step truncated the build log through /proc/self/fd/1"
printf 'FROM %s/base/busybox:1\nRUN cat %s/keys/image.pem\n' "$REG" "$TMP/data" >app/Dockerfile
git -C app commit -qam "reads keys" && git -C app push -q "$TMP/srv/app.git" main
fail_build "docker build" "a RUN step reading the data directory's keys"
sbs log --env sbs-config.json --log build || fail "log 4"
grep -q "BEGIN" "$TMP/out" && fail "key material in the build log"
jq '.GITHUB_URL = "http://127.0.0.1:'"$HP"'/git/nope.git"' sbs-config.json >c2 && mv c2 sbs-config.json
sbs update --env sbs-config.json || fail "update"
fail_build "git fetch" "a repository that does not exist"
jq '.GITHUB_URL = "http://127.0.0.1:'"$HP"'/git/app.git" | .DOCKER_PASSWORD = "wrong"' sbs-config.json >c2 && mv c2 sbs-config.json
cp Dockerfile.good app/Dockerfile && git -C app commit -qam "good again" && git -C app push -q "$TMP/srv/app.git" main
sbs update --env sbs-config.json || fail "update 2"
fail_build "docker push" "a wrong push password"
sbs status --env sbs-config.json || fail "status after the failures"
ok "the server kept serving through every failure"
