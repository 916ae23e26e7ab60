#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `make demo`: the main job of sbs, end to end on 127.0.0.1. A local git
# server (git http-backend behind lighttpd) holds a small repository with a
# Dockerfile; a local OCI registry (Debian's docker-registry, htpasswd auth)
# holds a busybox base image. sbsd starts with fresh certificates; the sbs
# client walks through the CSR bootstrap, init, a real build (clone, build
# with RUN in the sandbox, push, cosign signature, SLSA provenance, signed
# manifest), the checks a user makes afterwards (skopeo, sbs verify,
# get-manifest --verify-manifest), and a state-image move to a second sbsd.
# RUN steps use namespaces: run as root. Everything lands in build/demo/.
set -euo pipefail
SBSD=$(realpath "$1")
SBS=$(realpath "$2")
DIR=$(realpath -m "${3:-build/demo}")
TESTS=$(realpath "$(dirname "$0")/../tests")
rm -rf "$DIR" && mkdir -p "$DIR/tmp" && cd "$DIR"
TMP=$DIR/tmp
PIDS=()
trap 'for p in "${PIDS[@]:-}"; do kill "$p" 2>/dev/null || true; done' EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }
fail() { echo "demo: $*" >&2; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
start() { # NAME PORT DATA
	SBS_HOSTNAME=localhost SBS_PORT=$2 SBS_LISTEN=127.0.0.1 SBS_DATA_DIR=$DIR/$3 \
		SBS_APPLIANCE_SECRET_FILE=$DIR/appliance.secret "$SBSD" --env-file "$DIR/sbsd.env" \
		>"$DIR/$1.log" 2>&1 &
	PIDS+=($!)
	for _ in $(seq 1 300); do grep -q "listening on" "$DIR/$1.log" && return 0; sleep 0.1; done
	fail "sbsd did not start; see $DIR/$1.log"
}
[ "$(id -u)" = 0 ] || fail "RUN steps need root (namespaces): run make demo as root"
. "$TESTS/lib_reg.sh"

step "0. the world around sbs: a registry with a base image, a git server with a repository"
start_registry demo htpasswd >/dev/null
REG=$REG_ADDR
make_busybox_image base amd64 >/dev/null
push_image base "$REG" library/busybox:1 "$REG_USER:$REG_PASS" || fail "push of the base image"
echo "docker-registry on $REG (user $REG_USER), base image $REG/library/busybox:1"
mkdir -p srv
git init -q -b main hello
cat >hello/Dockerfile <<EOF
FROM $REG/library/busybox:1
ARG GREETING=hi
WORKDIR /app
COPY hello.sh ./
RUN chmod 755 hello.sh && echo "\$GREETING from a build inside sbs" >message.txt
USER app
CMD ["/app/hello.sh"]
EOF
printf '#!/bin/sh\ncat /app/message.txt\n' >hello/hello.sh
git -C hello add -A
GIT_AUTHOR_NAME=Demo GIT_AUTHOR_EMAIL=demo@example.com GIT_COMMITTER_NAME=Demo \
	GIT_COMMITTER_EMAIL=demo@example.com git -C hello commit -qm "hello"
git clone -q --bare hello srv/hello.git
HP=$(free_port)
cat >lighttpd.conf <<EOF
server.modules = ( "mod_alias", "mod_setenv", "mod_cgi" )
server.document-root = "$DIR/srv"
server.bind = "127.0.0.1"
server.port = $HP
server.errorlog = "$DIR/lighttpd.err"
alias.url = ( "/git/" => "$(git --exec-path)/git-http-backend/" )
\$HTTP["url"] =~ "^/git/" {
	cgi.assign = ( "" => "" )
	setenv.add-environment = ( "GIT_PROJECT_ROOT" => "$DIR/srv", "GIT_HTTP_EXPORT_ALL" => "1" )
}
EOF
lighttpd -D -f lighttpd.conf >lighttpd.out 2>&1 &
PIDS+=($!)
echo "git http-backend on 127.0.0.1:$HP, commit $(git -C hello rev-parse --short HEAD)"

P1=$(free_port)
P2=$(free_port)
cat >sbs-config.json <<JSON
{
    "HOSTNAME": "localhost",
    "CICD_PORT": "$P1",
    "CONTAINER_NAME": "demo",
    "IMAGE_TAG": "",
    "GITHUB_KEY_FILE": "",
    "GITHUB_URL": "http://127.0.0.1:$HP/git/hello.git",
    "GITHUB_BRANCH": "main",
    "DOCKER_REPO": "demo/hello",
    "DOCKER_PUSH_SERVER": "http://$REG",
    "DOCKER_USER": "$REG_USER",
    "DOCKER_PASSWORD": "$REG_PASS",
    "DOCKER_BASE_SERVER": "http://$REG",
    "DOCKER_BASE_USER": "$REG_USER",
    "DOCKER_BASE_PASSWORD": "$REG_PASS",
    "IMAGE_TAG_PREFIX": "demo-v1",
    "ARG": {"GREETING": "hello"}
}
JSON
step "1. client CA and client certificate (sbs create-client-cert)"
run "$SBS" create-client-cert --env sbs-config.json
UUID=$(jq -r .UUID sbs-config.json)
ls -1 ".demo-$UUID.d"

step "2. deploy-time environment for sbsd (sbs instance-env), written to sbsd.env"
"$SBS" instance-env --env sbs-config.json 2>/dev/null | grep '^CLIENT_CA' >sbsd.env || true
grep -q CLIENT_CA sbsd.env || fail "instance-env printed no CLIENT_CA"
sed 's/: ".\{40\}.*/: "…"/' sbsd.env

step "3. start sbsd on 127.0.0.1:$P1 (no server certificate yet: bootstrap mode)"
start sbsd-1 "$P1" data-1
tail -n 2 sbsd-1.log

step "4. status without verification (the server still demands our client certificate)"
run "$SBS" status --env sbs-config.json --noverify

step "5. CSR bootstrap: the server makes its key, we sign its CSR with our CA"
run "$SBS" get-server-csr --env sbs-config.json
run "$SBS" sign-csr --env sbs-config.json
run "$SBS" post-server-cert --env sbs-config.json
run "$SBS" status --env sbs-config.json

step "6. init: the build parameters (credentials stay on the server, never in a reply)"
run "$SBS" init --env sbs-config.json

step "7. build: clone, Dockerfile build (RUN in the sandbox), push, sign, manifest"
run "$SBS" build --env sbs-config.json
for _ in $(seq 1 600); do
	"$SBS" status --env sbs-config.json >status.json 2>/dev/null || true
	st=$(jq -r .status status.json 2>/dev/null || true)
	[ "$st" = "${last:-}" ] || { echo "status: $st"; last=$st; }
	case "$st" in success | exiting*) break ;; esac
	sleep 0.2
done
run "$SBS" log --env sbs-config.json --log build | sed -n 's/.*INFO    //p' | head -n 40
[ "$st" = success ] || fail "the build did not succeed: $st"
run "$SBS" status --env sbs-config.json

step "8. what a user checks afterwards"
run "$SBS" get-digest --env sbs-config.json
TAG=$(jq -r .image_tag status.json)
echo "skopeo inspect (an independent tool) of $REG/demo/hello:$TAG:"
skopeo inspect --tls-verify=false --creds "$REG_USER:$REG_PASS" "docker://$REG/demo/hello:$TAG" |
	jq '{Digest, Architecture, Os, Layers: (.Layers | length)}'
run "$SBS" get-signed-image-publickey --env sbs-config.json
KEYF=$(ls ./*-public.key | head -n1)
{ grep -q "BEGIN PUBLIC KEY" "$KEYF" && cp "$KEYF" cosign.pub; } || base64 -d "$KEYF" >cosign.pub
printf '$ SBS_REG_USER=… SBS_REG_PASS=… sbs verify %s --key cosign.pub --att --plain-http\n' "$REG/demo/hello:$TAG"
SBS_REG_USER=$REG_USER SBS_REG_PASS=$REG_PASS "$SBS" verify "$REG/demo/hello:$TAG" --key cosign.pub \
	--att --plain-http
run "$SBS" get-manifest --env sbs-config.json --verify-manifest
echo "manifest members:" && tar -tjf manifest.*.sig.tbz

step "9. export the state image (keys + parameters, sealed with SECRET)"
run "$SBS" get-state-image --env sbs-config.json
STATE=$(jq -r .build_name status.json)
jq '{name, export_tag, state: (.state[0:40] + "…")}' "$STATE"

step "10. import it into a second, fresh sbsd on 127.0.0.1:$P2"
start sbsd-2 "$P2" data-2
jq --arg p "$P2" '.CICD_PORT = $p' sbs-config.json >cfg-2.json
run "$SBS" get-server-csr --env cfg-2.json
run "$SBS" sign-csr --env cfg-2.json
run "$SBS" post-server-cert --env cfg-2.json
run "$SBS" post-state-image --env cfg-2.json --state-image "$STATE"
"$SBS" get-signed-image-publickey --env cfg-2.json >/dev/null 2>&1
KEYF2=$(ls -t ./*-public.key | head -n1)
{ grep -q "BEGIN PUBLIC KEY" "$KEYF2" && cp "$KEYF2" cosign-2.pub; } || base64 -d "$KEYF2" >cosign-2.pub
cmp -s cosign.pub cosign-2.pub || fail "image keys differ after import"
echo "the second sbsd now signs images with the same key"

step "done: files in $DIR"
