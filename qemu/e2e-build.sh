#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A real s390x build inside the appliance: qemu/e2e-build.sh APPDIR SBS BUSYBOX
# On the host, on 127.0.0.1 only: Debian's docker-registry (htpasswd, plain
# http: the guest reaches it as 10.0.2.2, an IP address that mbedTLS 2.28
# would not match against a certificate's IP SAN, and the pipeline's TLS is
# judged on the host by tests/it_build.sh) holding an s390x busybox base
# image (BUSYBOX: Debian's busybox-static:s390x, applet symlinks, config
# architecture s390x, pushed with skopeo), and git http-backend behind
# lighttpd serving a repository whose Dockerfile builds FROM that base by
# 10.0.2.2:PORT, COPYs a file and RUNs s390x busybox commands (one fetches
# a file from 10.0.2.2 with wget, one runs with --network=none). QEMU's user
# network maps the guest's 10.0.2.2 to the host's loopback. The appliance
# boots (fresh 256 MiB disk, 127.0.0.1:PORT forwarded to the guest's 443),
# the CSR bootstrap and init run through the host's sbs, then `sbs build`;
# status is followed (bounded) to success and every phase is timed. Judges
# independent of sbs: skopeo inspect (the pushed digest == get-digest, the
# architecture s390x), openssl (the cosign .sig over the payload with the key
# of /config-json (get-signed-image-publickey), a tampered payload refused; the DSSE
# provenance; RSA over the manifest's SHA-256), umoci (the RUN step's files:
# `uname -m` said s390x, busybox's sha256sum agrees with the host's, the
# sandbox's /proc/self/status shows seccomp mode 2, no_new_privs, and a
# bounding set without SYS_ADMIN and without SYS_CHROOT, which only the
# initramfs path, MS_MOVE + chroot, drops; a cgroup namespace; a whiteout).
# A second build whose RUN step asks for more than its cgroup's memory.max
# must be OOM-killed by that cgroup (the kernel says so on the console) and
# fail cleanly while sbsd keeps serving. Then a clean power off, and no
# secret on the console. Every wait is bounded; the EXIT trap
# kills QEMU and the servers. KEEP_TMP=1 keeps the work directory.
set -euo pipefail
QDIR=$(cd "$(dirname "$0")" && pwd)
APP=$(cd "$1" && pwd)
SBS=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
BB=$(cd "$(dirname "$3")" && pwd)/$(basename "$3")
BUILD_WAIT_S=${BUILD_WAIT_S:-300}
TMP=$(mktemp -d /tmp/sbs-e2eb.XXXXXX)
PIDS=()
QPID=
n=0
cleanup() {
	[ -n "$QPID" ] && { kill -9 "$QPID" && wait "$QPID"; } 2>/dev/null || true
	for p in "${PIDS[@]:-}"; do
		[ -n "$p" ] && { kill -9 "$p" && wait "$p"; } 2>/dev/null || true
	done
	if [ "${KEEP_TMP:-0}" = 1 ]; then echo "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
ok() { n=$((n + 1)); echo "ok $n - $*"; }
fail() {
	echo "FAIL - $*" >&2
	[ -s "$TMP/err" ] && sed 's/^/  stderr: /' "$TMP/err" | tail -15 >&2
	[ -s "$TMP/build.log" ] && { echo "  --- build log" >&2; tail -25 "$TMP/build.log" >&2; }
	[ -f "$TMP/console.log" ] && { echo "  --- console" >&2; tail -25 "$TMP/console.log" >&2; }
	exit 1
}
has() { grep -q -- "$1" "$2"; }
now() { date +%s.%N; }
since() { printf '%.1f' "$(echo "$(now) - $1" | bc)"; }
# TCG on a loaded host: key generation in the emulated guest can outlast 30 s
export SBS_TIMEOUT=${SBS_TIMEOUT:-180}
sbs() { "$SBS" "$@" >"$TMP/out" 2>"$TMP/err"; }
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
wait_tcp() {
	local i
	for i in $(seq 1 $((${2:-60} * 10))); do
		(exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
# shellcheck source=tests/lib_reg.sh
. "$QDIR/../tests/lib_reg.sh"

for t in docker-registry skopeo umoci lighttpd openssl jq bc qemu-system-s390x; do
	command -v "$t" >/dev/null || fail "$t is not installed (make setup)"
done
readelf -h "$BB" | grep -q 'Machine:.*S/390' || fail "$BB is not an s390x binary"
export GIT_CONFIG_NOSYSTEM=1 HOME=$TMP GIT_AUTHOR_NAME=T GIT_AUTHOR_EMAIL=t@example.com \
	GIT_COMMITTER_NAME=C GIT_COMMITTER_EMAIL=c@example.com
cd "$TMP"

# ---- host side: registry with the s390x base, git server ----
start_registry main htpasswd
REG=$REG_ADDR
GREG=10.0.2.2:$REG_PORT
CREDS="$REG_USER:$REG_PASS"
make_busybox_image base s390x "$BB" >/dev/null
push_image base "$REG" base/busybox:1 "$CREDS" || fail "push of the base image"
skopeo inspect --tls-verify=false --creds "$CREDS" "docker://$REG/base/busybox:1" >base.json ||
	fail "skopeo inspect of the base"
[ "$(jq -r .Architecture base.json)" = s390x ] || fail "base architecture: $(jq -r .Architecture base.json)"
BASE_DIGEST=$(jq -r .Digest base.json)
ok "docker-registry (htpasswd, plain http) on $REG: s390x busybox base $BASE_DIGEST"

mkdir -p srv app www
HP=$(free_port)
echo "served to a RUN step $RANDOM$RANDOM" >www/fetch.txt
git init -q -b main app
cat >app/Dockerfile <<EOF
FROM $GREG/base/busybox:1
ENV GREETING=hello
WORKDIR /app
COPY hello.txt ./
RUN touch /etc/resolv.conf
RUN cat /etc/resolv.conf >resolv.txt && uname -m >arch.txt && sha256sum hello.txt >hello.sum && hostname >host.txt && \\
    grep -E '^(Seccomp|NoNewPrivs|CapBnd|CapEff):' /proc/self/status >sandbox.txt && \\
    echo "\$GREETING from \$(cat arch.txt)" >built.txt && rm /bin/false && \\
    busybox wget -q -O fetched.txt http://10.0.2.2:$HP/fetch.txt && cat /proc/net/dev >netdev.txt && \\
    cat /proc/self/cgroup >cgroup.txt
RUN --network=none cat /proc/net/dev >netdev-none.txt
CMD ["/bin/sh", "-c", "cat /app/built.txt"]
EOF
echo "hello from the host's git" >app/hello.txt
git -C app add -A && git -C app commit -qm one
COMMIT=$(git -C app rev-parse HEAD)
git clone -q --bare app srv/app.git
BACKEND=$(git --exec-path)/git-http-backend
cat >lighttpd.conf <<EOF
server.modules = ( "mod_alias", "mod_setenv", "mod_cgi" )
server.document-root = "$TMP/www"
server.bind = "127.0.0.1"
server.port = $HP
server.errorlog = "$TMP/lighttpd.err"
alias.url = ( "/git/" => "$BACKEND/" )
\$HTTP["url"] =~ "^/git/" {
	cgi.assign = ( "" => "" )
	setenv.add-environment = ( "GIT_PROJECT_ROOT" => "$TMP/srv", "GIT_HTTP_EXPORT_ALL" => "1",
				   "GIT_CONFIG_NOSYSTEM" => "1", "HOME" => "$TMP" )
}
EOF
lighttpd -D -f lighttpd.conf >lighttpd.out 2>&1 &
PIDS+=($!)
wait_tcp "$HP" 20 || fail "lighttpd did not start"
ok "git http-backend on 127.0.0.1:$HP (the guest's 10.0.2.2:$HP), commit $COMMIT"

# ---- the appliance ----
PORT=$(free_port)
cat >sbs-config.json <<JSON
{
    "HOSTNAME": "localhost",
    "CICD_PORT": "$PORT",
    "CONTAINER_NAME": "e2eb",
    "IMAGE_TAG": "",
    "GITHUB_KEY_FILE": "$TMP/github_key",
    "GITHUB_URL": "http://10.0.2.2:$HP/git/app.git",
    "GITHUB_BRANCH": "main",
    "DOCKER_REPO": "sbs/app",
    "DOCKER_PUSH_SERVER": "http://$GREG",
    "DOCKER_USER": "$REG_USER",
    "DOCKER_PASSWORD": "$REG_PASS",
    "DOCKER_BASE_SERVER": "http://$GREG",
    "DOCKER_BASE_USER": "$REG_USER",
    "DOCKER_BASE_PASSWORD": "$REG_PASS",
    "IMAGE_TAG_PREFIX": "s390x-v1"
}
JSON
printf -- '-----BEGIN OPENSSH PRIVATE KEY-----\nGHKEY-e2eb-Do-Not-Leak\n-----END OPENSSH PRIVATE KEY-----\n' >github_key
sbs create-client-cert --env sbs-config.json || fail "create-client-cert"
sbs appliance-env --env sbs-config.json --out env.cpio || fail "appliance-env"
cat env.cpio "$APP/initramfs.cpio.gz" >initrd
truncate -s 256M disk.img
T0=$(now)
"$QDIR"/boot.sh "$APP/vmlinuz" initrd disk.img "$PORT" "$TMP/mon.sock" >console.log 2>&1 </dev/null &
QPID=$!
for i in $(seq 1 600); do
	has "listening on" console.log && break
	kill -0 "$QPID" 2>/dev/null || fail "QEMU exited during boot"
	sleep 0.1
done
has "listening on" console.log || fail "no 'listening' line within 60 s"
for i in $(seq 1 20); do
	sbs status --env sbs-config.json --noverify && break
	sleep 0.5
done
has '"status"' "$TMP/out" || fail "status --noverify"
T_BOOT=$(since "$T0")
sbs get-server-csr --env sbs-config.json || fail "get-server-csr"
sbs sign-csr --env sbs-config.json || fail "sign-csr"
for i in $(seq 1 20); do # the guest's TOD clock trails the host's (docs/appliance.md)
	sbs post-server-cert --env sbs-config.json && break
	has "not valid now" "$TMP/err" || fail "post-server-cert"
	sleep 0.5
done
has '"OK"' "$TMP/out" || fail "post-server-cert"
T1=$(now)
sbs init --env sbs-config.json || fail "init"
has '"status": "OK"' "$TMP/out" || fail "init reply: $(cat "$TMP/out")"
ok "appliance up (QEMU start -> first status ${T_BOOT} s, fresh disk), CSR bootstrap, init ($(since "$T1") s)"

# ---- the build, in the guest ----
T2=$(now)
sbs build --env sbs-config.json || fail "build"
has "OK: async build started" "$TMP/out" || fail "build reply: $(cat "$TMP/out")"
end=$(($(date +%s) + BUILD_WAIT_S))
while :; do
	sbs status --env sbs-config.json || fail "status during the build"
	grep -q -e '"status": "success"' -e '"status": "exiting due to' "$TMP/out" && break
	[ "$(date +%s)" -lt "$end" ] || fail "the build did not end within $BUILD_WAIT_S s: $(jq -r .status "$TMP/out")"
	sleep 2
done
T_BUILD=$(since "$T2")
cp "$TMP/out" status.json
"$SBS" log --env sbs-config.json --log build >build.log 2>"$TMP/err" || fail "sbs log"
[ "$(jq -r .status status.json)" = success ] || fail "build: $(jq -r .status status.json)"
grep -o 'status: [a-z ]*' build.log | sed 's/status: //' | tr '\n' '|' >seq.txt
[ "$(cat seq.txt)" = "cleaned up|github cloned|image built|image pushed|success|" ] ||
	fail "status sequence: $(cat seq.txt)"
grep -q "platform linux/s390x" build.log || fail "the build log names no linux/s390x platform"
ok "build in the guest: success in ${T_BUILD} s; statuses $(cat seq.txt)"
echo "# build phases (guest clock, from the build log):"
grep -E 'status: |starting a build|docker build:' build.log | sed 's/^/#   /' | cut -c1-150
TAG=$(jq -r .image_tag status.json)
BN=$(jq -r .build_name status.json)
[ "$TAG" = "s390x-v1-${COMMIT:0:7}" ] || fail "image_tag $TAG"

# ---- judges: skopeo, umoci ----
sbs get-digest --env sbs-config.json || fail "get-digest"
DIGEST=$(grep -o 'sha256:[0-9a-f]\{64\}' "$TMP/out" | head -n1)
[ -n "$DIGEST" ] || fail "get-digest: $(cat "$TMP/out")"
skopeo inspect --tls-verify=false --creds "$CREDS" "docker://$REG/sbs/app:$TAG" >app.json ||
	fail "skopeo inspect of the built image"
[ "$(jq -r .Digest app.json)" = "$DIGEST" ] || fail "skopeo says $(jq -r .Digest app.json), sbs says $DIGEST"
[ "$(jq -r .Architecture app.json)" = s390x ] || fail "built image architecture $(jq -r .Architecture app.json)"
ok "skopeo inspect: $REG/sbs/app:$TAG is $DIGEST (= get-digest), architecture s390x"
skopeo copy -q --src-tls-verify=false --src-creds "$CREDS" "docker://$REG/sbs/app:$TAG" oci:pulled:x \
	>/dev/null 2>&1 || fail "skopeo copy of the built image"
umoci unpack --image pulled:x bundle >/dev/null 2>&1 || fail "umoci unpack"
R=bundle/rootfs
[ "$(cat $R/app/hello.txt)" = "hello from the host's git" ] || fail "COPY: hello.txt"
[ "$(cat $R/app/arch.txt)" = s390x ] || fail "uname -m in the RUN step: $(cat $R/app/arch.txt)"
[ "$(cut -d' ' -f1 $R/app/hello.sum)" = "$(sha256sum <app/hello.txt | cut -d' ' -f1)" ] ||
	fail "s390x busybox sha256sum disagrees with the host's"
[ "$(cat $R/app/built.txt)" = "hello from s390x" ] || fail "built.txt: $(cat $R/app/built.txt)"
[ "$(cat $R/app/resolv.txt)" = "nameserver 10.0.2.3" ] || fail "the step's resolv.conf: $(cat $R/app/resolv.txt)"
[ ! -s $R/etc/resolv.conf ] || fail "the builder's resolv.conf went into the layer"
cmp -s $R/app/fetched.txt www/fetch.txt || fail "the RUN step's wget from 10.0.2.2: $(cat $R/app/fetched.txt)"
grep -q 'eth0:' $R/app/netdev.txt || fail "a RUN step with network does not see eth0"
grep -q 'lo:' $R/app/netdev-none.txt && ! grep -q 'eth0:' $R/app/netdev-none.txt ||
	fail "RUN --network=none: $(cat $R/app/netdev-none.txt)"
[ "$(cat $R/app/cgroup.txt)" = "0::/" ] || fail "the step's cgroup namespace: $(cat $R/app/cgroup.txt)"
[ "$(cat $R/app/host.txt)" = sbs-build ] || fail "the step's hostname: $(cat $R/app/host.txt)"
[ ! -e $R/bin/false ] && [ ! -L $R/bin/false ] && [ -L $R/bin/sh ] || fail "the RUN's rm /bin/false (a whiteout)"
ok "umoci unpack: COPY'd file; the RUN steps ran s390x busybox in the guest (uname -m s390x, sha256sum agrees, whiteout, sbs.dns's resolv.conf bound read-only; wget from 10.0.2.2; --network=none has only lo)"
SX=$R/app/sandbox.txt
grep -Eq '^Seccomp:[[:space:]]+2$' $SX || fail "the step ran without a seccomp filter: $(cat $SX)"
grep -Eq '^NoNewPrivs:[[:space:]]+1$' $SX || fail "the step ran without no_new_privs: $(cat $SX)"
BND=$(awk '/^CapBnd:/ {print $2}' $SX)
[ -n "$BND" ] || fail "no CapBnd line: $(cat $SX)"
(((0x$BND >> 21) & 1)) && fail "CAP_SYS_ADMIN in the step's bounding set ($BND)"
(((0x$BND >> 18) & 1)) && fail "CAP_SYS_CHROOT kept: the initramfs (MS_MOVE + chroot) path did not run ($BND)"
(((0x$BND >> 0) & 1)) || fail "CAP_CHOWN missing from the step's bounding set ($BND)"
ok "sandbox in the appliance: seccomp mode 2, no_new_privs, CapBnd $BND (no SYS_ADMIN; SYS_CHROOT dropped by the MS_MOVE + chroot path), cgroup namespace"


# ---- judges: openssl over the cosign signature and the provenance ----
sbs get-signed-image-publickey --env sbs-config.json || fail "get-signed-image-publickey"
KEYF=$(ls ./*-public.key | head -n1)
{ grep -q "BEGIN PUBLIC KEY" "$KEYF" && cp "$KEYF" cosign.pub; } || base64 -d "$KEYF" >cosign.pub
RC=(curl -sS --fail --max-time 20 -u "$CREDS")
"${RC[@]}" -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
	"http://$REG/v2/sbs/app/manifests/sha256-${DIGEST#sha256:}.sig" >sig-manifest.json || fail "no .sig in the registry"
PL=$(jq -r '.layers[] | select(.mediaType == "application/vnd.dev.cosign.simplesigning.v1+json") | .digest' \
	sig-manifest.json | head -n1)
jq -r '.layers[0].annotations["dev.cosignproject.cosign/signature"]' sig-manifest.json | base64 -d >sig.der
"${RC[@]}" "http://$REG/v2/sbs/app/blobs/$PL" >payload.json || fail "payload blob"
openssl dgst -sha256 -verify cosign.pub -signature sig.der payload.json >/dev/null || fail "openssl refuses the signature"
[ "$(jq -r '.critical.image["docker-manifest-digest"]' payload.json)" = "$DIGEST" ] || fail "payload digest"
[ "$(jq -r '.critical.identity["docker-reference"]' payload.json)" = "$GREG/sbs/app:$TAG" ] || fail "payload reference"
printf 'x' | cat payload.json - >payload-tampered.json
openssl dgst -sha256 -verify cosign.pub -signature sig.der payload-tampered.json >/dev/null 2>&1 &&
	fail "openssl accepted a tampered payload"
ok "cosign .sig: openssl verifies it with the appliance's key; the payload names $DIGEST; a tampered payload is refused"
"${RC[@]}" -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
	"http://$REG/v2/sbs/app/manifests/sha256-${DIGEST#sha256:}.att" >att-manifest.json || fail "no .att"
"${RC[@]}" "http://$REG/v2/sbs/app/blobs/$(jq -r '.layers[0].digest' att-manifest.json)" >envelope.json ||
	fail "envelope blob"
jq -r .payload envelope.json | base64 -d >statement.json
jq -r '.signatures[0].sig' envelope.json | base64 -d >env-sig.der
PT=$(jq -r .payloadType envelope.json)
{ printf 'DSSEv1 %d %s %d ' "${#PT}" "$PT" "$(stat -c %s statement.json)"; cat statement.json; } >pae.bin
openssl dgst -sha256 -verify cosign.pub -signature env-sig.der pae.bin >/dev/null || fail "DSSE signature"
grep -q "$COMMIT" statement.json && grep -q "${BASE_DIGEST#sha256:}" statement.json ||
	fail "the provenance does not name the commit and the base"
ok "provenance: openssl verifies the DSSE envelope; it names the commit and the s390x base"

# ---- judges: the manifest (PROTOCOL §12) ----
sbs get-manifest --env sbs-config.json --verify-manifest || fail "get-manifest --verify-manifest"
grep -q "verify=OK" "$TMP/out" "$TMP/err" || fail "get-manifest --verify-manifest: $(cat "$TMP/out" "$TMP/err")"
mkdir -p m && tar -xjf "manifest.$BN.sig.tbz" -C m
python3 -c "import sys; sys.stdout.buffer.write(bytes.fromhex(open(sys.argv[1]).read()))" "m/manifest.$BN.sig" >m/sig.bin
openssl dgst -sha256 -binary "m/manifest.$BN.tbz" >m/digest.bin
openssl dgst -sha256 -verify "manifest.$BN-public.pem" -signature m/sig.bin m/digest.bin >/dev/null ||
	fail "openssl refuses the manifest signature"
mkdir -p m/in && tar -xjf "m/manifest.$BN.tbz" -C m/in
[ "$(jq -r .status m/in/data/build.json)" = success ] || fail "manifest build.json"
ok "manifest: --verify-manifest OK and openssl verifies RSA over SHA-256(.tbz)"

# ---- a RUN step over its memory.max: the step's cgroup OOM-kills it, sbsd serves on ----
# 450 MiB in one read(2) buffer: under the guest's 512 MiB, over memory.max
# (RAM less SBX_CG_MEM_RESERVE). Without the cgroup the kernel would either
# grant it (and the build succeed) or report a global OOM instead.
printf 'FROM %s/base/busybox:1\nRUN busybox dd if=/dev/zero of=/dev/null bs=450M count=1\n' "$GREG" >app/Dockerfile
git -C app commit -qam "too much memory" && git -C app push -q "$TMP/srv/app.git" main
COMMIT2=$(git -C app rev-parse HEAD)
T3=$(now)
sbs build --env sbs-config.json || fail "build 2"
end=$(($(date +%s) + BUILD_WAIT_S))
while :; do
	sbs status --env sbs-config.json || fail "status during build 2"
	# the first answers may still be the first build's (same status file)
	[ "$(jq -r .image_tag "$TMP/out")" = "s390x-v1-${COMMIT2:0:7}" ] &&
		grep -q -e '"status": "success"' -e '"status": "exiting due to' "$TMP/out" && break
	[ "$(date +%s)" -lt "$end" ] || fail "build 2 did not end within $BUILD_WAIT_S s"
	sleep 2
done
cp "$TMP/out" status2.json
"$SBS" log --env sbs-config.json --log build >build2.log 2>"$TMP/err" || fail "sbs log 2"
cp build2.log build.log # what fail shows
grep -q '"status": "exiting due to a non-zero return value: [0-9]*, cmd: docker build' status2.json ||
	fail "a step over memory.max: $(jq -r .status status2.json)"
grep -q "non-zero code: 137" build2.log || fail "the log does not show the step killed (137): $(tail -5 build2.log)"
has "Memory cgroup out of memory" console.log || fail "no memory-cgroup OOM on the console"
has "Out of memory: Killed process" console.log && fail "a global OOM, not the step's cgroup"
has "still busy; left in place" console.log && fail "a step's cgroup was not removed after the run"
sbs status --env sbs-config.json || fail "status after the OOM kill"
ok "a RUN step over memory.max: killed by its cgroup's OOM (console), build failed cleanly in $(since "$T3") s, sbsd still serves"

# ---- clean power-off, no secret on the console ----
python3 - "$TMP/mon.sock" <<'PY' || fail "monitor: system_powerdown"
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
wait "$QPID" || fail "QEMU exit status $? after power-off"
QPID=
has "powering off" console.log || fail "no clean power-off on the console"
for s in "$REG_PASS" "GHKEY-e2eb-Do-Not-Leak" "$(jq -r .APPLIANCE_ENV_SEED sbs-config.json)" \
	"$(jq -r .APPLIANCE_SECRET sbs-config.json)"; do
	grep -qF -- "$s" console.log build.log build2.log status.json m/in/data/build.log statement.json &&
		fail "a secret reached the console, the build log, the status or the manifest"
done
ok "clean power-off; no registry password, GITHUB_KEY, seed or secret on the console, log, status or manifest"
echo "# timings: boot ${T_BOOT} s, build ${T_BUILD} s (QEMU TCG, -smp 1)"
echo "e2e-build: all $n checks passed"
