#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `make demo`: start sbsd on 127.0.0.1 with freshly made certificates and walk
# the sbs client through status, the CSR bootstrap, init, update, state-image
# export and import into a second sbsd, printing each step.
set -euo pipefail
SBSD=$(realpath "$1")
SBS=$(realpath "$2")
DIR=$(realpath -m "${3:-build/demo}")
rm -rf "$DIR" && mkdir -p "$DIR" && cd "$DIR"
PIDS=()
trap 'for p in "${PIDS[@]:-}"; do kill "$p" 2>/dev/null || true; done' EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
start() { # NAME PORT DATA
	SBS_HOSTNAME=localhost SBS_PORT=$2 SBS_LISTEN=127.0.0.1 SBS_DATA_DIR=$DIR/$3 \
		SBS_APPLIANCE_SECRET_FILE=$DIR/appliance.secret "$SBSD" --env-file "$DIR/sbsd.env" \
		>"$DIR/$1.log" 2>&1 &
	PIDS+=($!)
	for _ in $(seq 1 300); do grep -q "listening on" "$DIR/$1.log" && return 0; sleep 0.1; done
	echo "sbsd did not start; see $DIR/$1.log" >&2
	exit 1
}

P1=$(port)
P2=$(port)
cat >sbs-config.json <<JSON
{
    "HOSTNAME": "localhost",
    "CICD_PORT": "$P1",
    "CONTAINER_NAME": "demo",
    "IMAGE_TAG": "",
    "GITHUB_KEY_FILE": "",
    "GITHUB_URL": "git@github.com:example/hello.git",
    "GITHUB_BRANCH": "main",
    "DOCKER_REPO": "example/hello",
    "DOCKER_USER": "demo",
    "DOCKER_PASSWORD": "demo-password",
    "IMAGE_TAG_PREFIX": "s390x-v1"
}
JSON
step "1. client CA and client certificate (sbs create-client-cert)"
run "$SBS" create-client-cert --env sbs-config.json
UUID=$(jq -r .UUID sbs-config.json)
ls -1 ".demo-$UUID.d"

step "2. deploy-time environment for sbsd (sbs instance-env), written to sbsd.env"
"$SBS" instance-env --env sbs-config.json 2>/dev/null | grep '^CLIENT_CA' >sbsd.env || true
grep -q CLIENT_CA sbsd.env || { echo "instance-env printed no CLIENT_CA" >&2; exit 1; }
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

step "6. init and update the build parameters"
run "$SBS" init --env sbs-config.json
jq '.IMAGE_TAG_PREFIX = "s390x-v2"' sbs-config.json >c && mv c sbs-config.json
run "$SBS" update --env sbs-config.json
run "$SBS" status --env sbs-config.json

step "7. public keys: manifest (RSA-2048) and image signing (ECDSA P-256)"
run "$SBS" get-publickey --env sbs-config.json
run "$SBS" get-signed-image-publickey --env sbs-config.json
openssl pkey -pubin -in manifest.-public.pem -noout -text | head -n1

step "8. export the state image (keys + parameters, sealed with SECRET)"
run "$SBS" get-state-image --env sbs-config.json
STATE=$(ls sbs-state.* | head -n1)
jq '{name, export_tag, state: (.state[0:40] + "…")}' "$STATE"

step "9. import it into a second, fresh sbsd on 127.0.0.1:$P2"
start sbsd-2 "$P2" data-2
jq --arg p "$P2" '.CICD_PORT = $p' sbs-config.json >cfg-2.json
run "$SBS" get-server-csr --env cfg-2.json
run "$SBS" sign-csr --env cfg-2.json
run "$SBS" post-server-cert --env cfg-2.json
run "$SBS" post-state-image --env cfg-2.json --state-image "$STATE"
curl -s -k --cert ".demo-$UUID" -X GET -H 'Content-Type: application/json' --data '""' \
	"https://localhost:$P2/publickey" | jq -r .public_key_pem >pub-2.pem
if cmp -s <(openssl pkey -pubin -in pub-2.pem) <(openssl pkey -pubin -in manifest.-public.pem); then
	echo "the second sbsd now signs with the same manifest key"
else
	echo "manifest keys differ after import" >&2
	exit 1
fi

step "done: files in $DIR"
