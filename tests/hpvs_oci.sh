#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The HPVS image (make oci) judged by independent tools, then run as a
# workload from its own config. Run by `make TARGET=s390x s390x-smoke` (it
# needs the s390x sbsd, so it is not one of the tests/it_*.sh every target
# runs):
#   OCI=build/appliance/sbs-oci.tar COMPOSE=build/appliance/hpvs/docker-compose.yml
#   SBSD=build/appliance/sbsd (the stripped s390x sbsd) SBS=build/x86_64/sbs
#   SBS_VERSION=0.1.0 bash tests/hpvs_oci.sh
# 1. skopeo inspect: os linux, architecture s390x; the config (skopeo
#    inspect --config) has Entrypoint /sbsd, Env SBS_HAL=hpvs, the volume, the
#    port;
# 2. rootfs/hpvs/mkoci.sh run twice more gives the same bytes as OCI;
# 3. skopeo copy to an OCI layout + umoci unpack: the rootfs holds exactly
#    the listed files, /sbsd a static s390x ELF identical to SBSD;
# 4. skopeo copy into a real registry (Debian docker-registry) succeeds, the
#    registry serves the same manifest digest, architecture s390x;
# 5. the compose file pins that digest, mounts the volume on the config's
#    SBS_DATA_DIR and maps the exposed port;
# 6. the unpacked rootfs, entrypoint and env read from the image config (jq)
#    plus the compose file's environment, interpolated from a stand-in
#    contract env: chroot into the rootfs (qemu-s390x-static copied in), as
#    PID 1 of a new pid namespace, a directory bind-mounted on the volume
#    path in a private mount namespace; only SBS_PORT and SBS_LISTEN are
#    overridden (the stand-in for the compose port mapping). The host sbs
#    gets an answer to `status --noverify`, the keys land on the volume, a
#    restart keeps them, the appliance secret is in no log;
# 7. the same image refuses to start without the volume mounted and without
#    SBS_APPLIANCE_SECRET, with a clear message, writing nothing.
set -euo pipefail
RUN=
. "$(dirname "$0")/lib.sh"
. "$TESTS_DIR/lib_reg.sh"
: "${OCI:?set OCI to the archive make oci wrote}" "${COMPOSE:?set COMPOSE to the rendered compose file}"
VERSION=${SBS_VERSION:-0.1.0}
QEMU=$(command -v qemu-s390x-static) || fail "no qemu-s390x-static"
ROOT_DIR=$(cd "$TESTS_DIR/.." && pwd)
OCI=$(readlink -f "$OCI")
COMPOSE=$(readlink -f "$COMPOSE")
cd "$TMP"

# ---- 1. what skopeo says about the archive and its config ----
skopeo inspect "oci-archive:$OCI" >inspect.json 2>"$TMP/err" || fail "skopeo inspect"
[ "$(jq -r .Os inspect.json)" = linux ] && [ "$(jq -r .Architecture inspect.json)" = s390x ] ||
	fail "skopeo: os/arch $(jq -c '[.Os, .Architecture]' inspect.json)"
[ "$(jq '.Layers | length' inspect.json)" = 1 ] || fail "not one layer"
ok "skopeo inspect oci-archive: linux/s390x, one layer"
skopeo inspect --config "oci-archive:$OCI" >config.json 2>"$TMP/err" || fail "skopeo inspect --config"
mapfile -t ENTRY < <(jq -r '.config.Entrypoint[]' config.json)
mapfile -t IMG_ENV < <(jq -r '.config.Env[]' config.json)
[ "${ENTRY[*]}" = /sbsd ] || fail "Entrypoint ${ENTRY[*]}"
printf '%s\n' "${IMG_ENV[@]}" | grep -qx SBS_HAL=hpvs || fail "no SBS_HAL=hpvs in the config Env"
DATA=$(printf '%s\n' "${IMG_ENV[@]}" | sed -n 's/^SBS_DATA_DIR=//p')
IPORT=$(printf '%s\n' "${IMG_ENV[@]}" | sed -n 's/^SBS_PORT=//p')
jq -e --arg d "$DATA" '.config.Volumes[$d]' config.json >/dev/null || fail "volume $DATA not in the config"
jq -e --arg p "$IPORT/tcp" '.config.ExposedPorts[$p]' config.json >/dev/null || fail "port $IPORT not exposed"
[ "$(jq -r .created config.json)" = 1970-01-01T00:00:00Z ] || fail "created is not the epoch"
ok "config: Entrypoint [/sbsd], Env SBS_HAL=hpvs, volume $DATA, port $IPORT/tcp, created at the epoch"

# ---- 2. reproducible ----
"$ROOT_DIR/rootfs/hpvs/mkoci.sh" again1.tar "$SBSD" "$VERSION" || fail "mkoci.sh"
"$ROOT_DIR/rootfs/hpvs/mkoci.sh" again2.tar "$SBSD" "$VERSION" || fail "mkoci.sh"
cmp -s again1.tar again2.tar && cmp -s again1.tar "$OCI" ||
	fail "two more builds differ: $(sha256sum again1.tar again2.tar "$OCI")"
ok "two more builds are byte-identical to the archive (sha256 $(sha256sum <"$OCI" | cut -c1-16)...)"

# ---- 3. unpacked by umoci ----
skopeo --policy /etc/containers/policy.json copy -q "oci-archive:$OCI" "oci:$TMP/layout:sbs" \
	>"$TMP/out" 2>"$TMP/err" || fail "skopeo copy to an OCI layout"
umoci unpack --image "$TMP/layout:sbs" "$TMP/bundle" >"$TMP/out" 2>"$TMP/err" || fail "umoci unpack"
R=$TMP/bundle/rootfs
(cd "$R" && find . -mindepth 1 -printf '%M %U:%G %p\n' | LC_ALL=C sort -k3) >tree.txt
cat >tree.want <<'EOF'
drwx------ 0:0 ./data
drwxr-xr-x 0:0 ./etc
drwxr-xr-x 0:0 ./etc/ssl
drwxr-xr-x 0:0 ./etc/ssl/certs
-rw-r--r-- 0:0 ./etc/ssl/certs/ca-certificates.crt
-rwxr-xr-x 0:0 ./sbsd
drwxrwxrwt 0:0 ./tmp
EOF
diff tree.want tree.txt >"$TMP/err" || fail "the rootfs holds other files"
file -b "$R/sbsd" | grep -q 'ELF 64-bit MSB executable, IBM S/390.*statically linked' ||
	fail "/sbsd is not a static s390x ELF: $(file -b "$R/sbsd")"
cmp -s "$R/sbsd" "$SBSD" || fail "/sbsd differs from $SBSD"
ok "umoci unpack: exactly /sbsd (static s390x ELF, = $SBSD), the CA bundle, /data, /tmp"
"$QEMU" "$R/sbsd" --help >"$TMP/out" 2>&1 || fail "/sbsd --help"
grep -q 'hpvs' "$TMP/out" || fail "sbsd --help does not name hpvs"
ok "the image's sbsd --help names the hpvs HAL"

# ---- 4. a real registry accepts it ----
start_registry hpvs plain
TAG=$VERSION-it
timeout 120 skopeo --policy /etc/containers/policy.json copy -q --dest-tls-verify=false \
	"oci-archive:$OCI" "docker://$REG_ADDR/sbs:$TAG" >"$TMP/out" 2>"$TMP/err" || fail "skopeo copy to the registry"
skopeo inspect --tls-verify=false "docker://$REG_ADDR/sbs:$TAG" >reg.json 2>"$TMP/err" || fail "skopeo inspect docker://"
MDIG=$(tar -xOf "$OCI" index.json | jq -r '.manifests[0].digest')
[ "$(jq -r .Digest reg.json)" = "$MDIG" ] || fail "registry digest $(jq -r .Digest reg.json), archive $MDIG"
[ "$(jq -r .Architecture reg.json)" = s390x ] || fail "registry: architecture"
curl -s --max-time 20 -H 'Accept: application/vnd.oci.image.manifest.v1+json' -o reg-manifest.json \
	"$REG_URL/v2/sbs/manifests/$MDIG" || fail "GET manifest"
[ "$(sha256sum <reg-manifest.json | cut -d' ' -f1)" = "${MDIG#sha256:}" ] || fail "manifest bytes differ"
ok "skopeo copy into docker-registry at $REG_ADDR: same manifest digest ${MDIG:7:16}..., s390x"

# ---- 5. the compose file matches the image ----
grep -Eq "^    image: [^ ]+@$MDIG\$" "$COMPOSE" || fail "compose image is not pinned to $MDIG"
grep -Eq "^      - /mnt/data:$DATA\$" "$COMPOSE" || fail "compose does not mount the volume on $DATA"
grep -Eq "^      - \"$IPORT:$IPORT\"\$" "$COMPOSE" || fail "compose does not map port $IPORT"
# the environment list: "      - NAME=value" lines after "    environment:"
mapfile -t CENV < <(awk '/^    environment:/ { on = 1; next } on && /^      - / { sub(/^      - /, ""); print; next }
	on && !/^      - / { on = 0 }' "$COMPOSE")
[ "${#CENV[@]}" -ge 2 ] || fail "no environment in the compose file"
ok "compose: image pinned by digest, /mnt/data on $DATA, port $IPORT, ${#CENV[@]} env entries"

# ---- 6. the workload starts from the image's own config ----
PORT=$(free_port)
cat >sbs-config.json <<JSON
{ "HOSTNAME": "localhost", "CICD_PORT": "$PORT", "CONTAINER_NAME": "hpvs",
  "IMAGE_TAG": "1", "GITHUB_URL": "http://127.0.0.1:1/x.git", "GITHUB_BRANCH": "main",
  "DOCKER_REPO": "example/app", "IMAGE_TAG_PREFIX": "s390x" }
JSON
sbs create-client-cert --env sbs-config.json || fail "create-client-cert"
UUID=$(jget sbs-config.json UUID)
# the stand-in contract env (env.env): what the deployer would put there
declare -A CONTRACT=(
	[CLIENT_CA]=$(base64 -w0 ".hpvs-$UUID.d/client-ca.pem")
	[SBS_HOSTNAME]=localhost
	[SBS_APPLIANCE_SECRET]=$(openssl rand -hex 32)
)
SECRET_HEX=${CONTRACT[SBS_APPLIANCE_SECRET]}
interp() { # "NAME=${VAR}" -> NAME=<contract value or empty>, as docker compose does
	local s=$1 v
	while [[ $s =~ \$\{([A-Za-z_][A-Za-z0-9_]*)\} ]]; do
		v=${CONTRACT[${BASH_REMATCH[1]}]:-}
		s=${s/"${BASH_REMATCH[0]}"/$v}
	done
	printf '%s' "$s"
}
WENV=("${IMG_ENV[@]}")
for e in "${CENV[@]}"; do WENV+=("$(interp "$e")"); done
printf '%s\n' "${WENV[@]}" | grep -qx "SBS_APPLIANCE_SECRET=$SECRET_HEX" || fail "secret not passed by compose"
cp "$QEMU" "$R/.qemu-s390x-static"
mkdir -p "$R/proc" "$TMP/volume"
LOG=$TMP/sbsd-hpvs.log
# start_workload [mount|nomount] [VAR=value...]: the runtime's part, in a new
# mount and pid namespace: the volume bind-mounted on $DATA, /proc, chroot.
start_workload() {
	local how=$1
	shift
	env -i "${WENV[@]}" SBS_PORT="$PORT" SBS_LISTEN=127.0.0.1 "$@" \
		unshare -m -p -f --kill-child --propagation private sh -c '
			[ "$1" = mount ] && { mount --bind "$2" "$3$4" || exit 90; }
			mount -t proc proc "$3/proc" || exit 91
			r=$3; shift 4
			exec chroot "$r" /.qemu-s390x-static "$@"' \
		sh "$how" "$TMP/volume" "$R" "$DATA" "${ENTRY[@]}" >>"$LOG" 2>&1 &
	WPID=$!
	PIDS+=("$WPID")
}
wait_listening() { # COUNT
	local i
	for i in $(seq 1 600); do
		[ "$(grep -c 'listening on' "$LOG" 2>/dev/null || true)" -ge "$1" ] && return 0
		kill -0 "$WPID" 2>/dev/null || { tail -5 "$LOG" >&2; fail "the workload exited at start"; }
		sleep 0.1
	done
	fail "the workload did not listen within 60 s"
}
stop_workload() {
	local c i
	c=$(pgrep -P "$WPID" | head -n1 || true)
	[ -n "$c" ] && kill -TERM "$c" 2>/dev/null
	for i in $(seq 1 100); do kill -0 "$WPID" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$WPID" 2>/dev/null && fail "the workload did not stop on SIGTERM"
	wait "$WPID" 2>/dev/null || true
}
start_workload mount
wait_listening 1
grep -q "hal hpvs: data volume $DATA (a mount) is writable" "$LOG" || fail "no hpvs volume line"
grep -q "(hal hpvs, data $DATA/sbs)" "$LOG" || fail "not serving with hal hpvs on $DATA/sbs"
grep -q 'sbs init' "$LOG" && fail "PID 1 took the appliance path"
W1=$(pgrep -P "$WPID" | head -n1 || true)
[ -n "$W1" ] && [ "$(awk '/^NSpid:/ { print $NF }' "/proc/$W1/status")" = 1 ] ||
	fail "the workload is not PID 1 of its pid namespace"
ok "the image's entrypoint with its config Env + the compose env, PID 1 of its namespace: listening (hal hpvs)"
sbs status --env sbs-config.json --noverify || fail "sbs status --noverify"
jq -e .status "$TMP/out" >/dev/null || fail "status reply: $(head -c 200 "$TMP/out")"
ok "host sbs status --noverify: $(jq -c . "$TMP/out" | head -c 80)"
[ -s "$TMP/volume/sbs/keys/tls.pem" ] || fail "the keys are not on the volume"
[ -z "$(ls -A "$R$DATA")" ] || fail "something was written under the image's own $DATA"
TLS1=$(sha256sum <"$TMP/volume/sbs/keys/tls.pem")
ok "the keys are on the mounted volume, nothing on the image's own $DATA"
stop_workload
grep -q 'sbsd stopping' "$LOG" || fail "no clean stop on SIGTERM"
start_workload mount
wait_listening 2
sbs status --env sbs-config.json --noverify || fail "status after a restart"
[ "$(sha256sum <"$TMP/volume/sbs/keys/tls.pem")" = "$TLS1" ] || fail "the TLS key changed across a restart"
stop_workload
ok "SIGTERM stops it cleanly; a restart on the same volume serves with the same keys"

# ---- 7. refusals ----
for l in "$LOG" "$TMP/out" "$TMP/err"; do
	grep -qi -- "$SECRET_HEX" "$l" && fail "the appliance secret is in $l"
done
start_workload nomount
wait "$WPID" && fail "started without the volume"
grep -q "hal hpvs: $DATA is not a mounted volume" "$LOG" || fail "no refusal line for an unmounted volume"
[ -z "$(ls -A "$R$DATA")" ] || fail "the refused start wrote under $DATA"
ok "without the volume mounted: refused ('$DATA is not a mounted volume'), nothing written"
start_workload mount SBS_APPLIANCE_SECRET=
wait "$WPID" && fail "started without SBS_APPLIANCE_SECRET"
grep -q 'SBS_APPLIANCE_SECRET (64 hex digits) is missing' "$LOG" || fail "no refusal line for a missing secret"
ok "without SBS_APPLIANCE_SECRET: refused with a clear message"
grep -qi -- "$SECRET_HEX" "$LOG" && fail "the appliance secret is in the log"
ok "the appliance secret is in no log or client output"

# ---- 8. the secret's text leaves the environment (native sbsd: under
# qemu-user /proc/<pid>/environ is qemu's own, not the guest's) ----
NATIVE=$(dirname "$SBS")/sbsd
if [ -x "$NATIVE" ] && file -b "$NATIVE" | grep -q x86-64; then
	NLOG=$TMP/sbsd-native.log
	mkdir -p "$TMP/nvol" "$TMP/nmnt"
	env -i "${WENV[@]}" SBS_PORT=0 SBS_LISTEN=127.0.0.1 SBS_DATA_DIR="$TMP/nmnt" \
		unshare -m --kill-child --propagation private sh -c \
		'mount --bind "$1" "$2" && exec "$3"' sh "$TMP/nvol" "$TMP/nmnt" "$NATIVE" >"$NLOG" 2>&1 &
	NPID=$!
	PIDS+=("$NPID")
	for i in $(seq 1 300); do grep -q 'listening on' "$NLOG" && break; sleep 0.1; done
	grep -q 'listening on' "$NLOG" || fail "native sbsd (hal hpvs) did not start"
	N1=$(pgrep -P "$NPID" | head -n1 || true)
	[ -n "$N1" ] && tr '\0' '\n' <"/proc/$N1/environ" >native-environ.txt || fail "no environ"
	grep -q '^SBS_HAL=hpvs$' native-environ.txt || fail "not the workload's environ"
	grep -qi -- "$SECRET_HEX" native-environ.txt && fail "the secret is still in /proc/<pid>/environ"
	kill -TERM "$N1"
	wait "$NPID" 2>/dev/null || true
	ok "native sbsd (hal hpvs): SBS_APPLIANCE_SECRET's text is wiped from /proc/<pid>/environ"
	# the secret in an --env-file instead (an HPVS env section as a file)
	printf 'SBS_APPLIANCE_SECRET: "%s"\n' "$SECRET_HEX" >hpvs.env
	mapfile -t NOSEC < <(printf '%s\n' "${WENV[@]}" | grep -v '^SBS_APPLIANCE_SECRET=')
	env -i "${NOSEC[@]}" SBS_PORT=0 SBS_LISTEN=127.0.0.1 SBS_DATA_DIR="$TMP/nmnt" \
		unshare -m --kill-child --propagation private sh -c \
		'mount --bind "$1" "$2" && exec "$3" --env-file "$4"' sh "$TMP/nvol" "$TMP/nmnt" \
		"$NATIVE" "$TMP/hpvs.env" >"$NLOG" 2>&1 &
	NPID=$!
	PIDS+=("$NPID")
	for i in $(seq 1 300); do grep -q 'listening on' "$NLOG" && break; sleep 0.1; done
	grep -q 'listening on' "$NLOG" || fail "native sbsd with the secret in --env-file did not start"
	grep -qi -- "$SECRET_HEX" "$NLOG" && fail "the secret is in the log"
	kill -TERM "$(pgrep -P "$NPID" | head -n1)"
	wait "$NPID" 2>/dev/null || true
	ok "native sbsd (hal hpvs) takes SBS_APPLIANCE_SECRET from --env-file too"
fi
echo "hpvs_oci: $n checks passed"
