#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# sbsd killed with SIGKILL at random moments while init/update requests are in
# flight: after each kill the stored parameters are the old or the new ones,
# never a torn file, and a restarted sbsd serves them.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

cd "$TMP"
PORT=$(free_port)
printf '{"HOSTNAME": "localhost", "CICD_PORT": "%s", "CONTAINER_NAME": "it", "DOCKER_REPO": "ns/app", "DOCKER_USER": "u", "DOCKER_PASSWORD": "p", "GITHUB_URL": "git@example.com:a/b.git", "IMAGE_TAG": "", "IMAGE_TAG_PREFIX": "v0"}' "$PORT" >sbs-config.json
sbs create-client-cert --env sbs-config.json || fail "create-client-cert"
UUID=$(jget sbs-config.json UUID)
D=.it-$UUID.d
CLIENT_CA=$(base64 -w0 "$D/client-ca.pem")
export CLIENT_CA
start_sbsd crash "$PORT" "$TMP/data"
# serve a certificate signed by our CA so that sbs verifies normally
sbs get-server-csr --env sbs-config.json && sbs sign-csr --env sbs-config.json &&
	sbs post-server-cert --env sbs-config.json || fail "CSR bootstrap"
sbs init --env sbs-config.json || fail "init"
prev=v0
ROUNDS=${CRASH_ROUNDS:-10}
for i in $(seq 1 "$ROUNDS"); do
	new=v$i
	jq --arg v "$new" '.IMAGE_TAG_PREFIX = $v | .ARG = {"PAD": ("x" * 60000)}' sbs-config.json >c && mv c sbs-config.json
	# a stream of identical updates; the kill lands somewhere in it
	( for j in $(seq 1 20); do $RUN "$SBS" update --env sbs-config.json >/dev/null 2>&1 || true; done ) &
	upd=$!
	sleep "$(printf '0.%03d' $(( RANDOM % 300 )))"
	{ kill -9 "$SBSD_PID" && wait "$SBSD_PID"; } 2>/dev/null || true
	wait "$upd" 2>/dev/null || true
	got=$(jq -r .IMAGE_TAG_PREFIX "$TMP/data/params.json") || fail "round $i: params.json is torn"
	[ "$got" = "$prev" ] || [ "$got" = "$new" ] || fail "round $i: params hold '$got', expected $prev or $new"
	start_sbsd crash "$PORT" "$TMP/data"
	ls "$TMP/data" | grep -q '\.tmp-' && fail "round $i: a temp file survived the restart"
	sbs status --env sbs-config.json || fail "round $i: restarted sbsd does not serve"
	ok "round $i: killed, params are '$got' ($prev or $new), restart serves"
	prev=$got
	[ "$got" = "$new" ] || prev=$got
done
echo "it_crash: all $n checks passed"
