#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Integration: GITHUB_RECURSE_SUBMODULES in a whole build, driven by the sbs
# client against sbsd. The source is served by git http-backend behind
# lighttpd: app.git has the submodule lib/greet (relative URL ../greet.git,
# pinned to a commit that is no longer greet's tip) whose own submodule
# deps/words (../words.git) is nested; the Dockerfile COPYs lib/ into the
# image. Judges: umoci unpack of the image skopeo pulls from the registry
# (the submodule files are in it with the parameter "True", the directories
# are empty without it), tar (the manifest's git/ snapshot holds the
# submodule files, build.json lists them), jq over the DSSE statement (each
# submodule a resolvedDependency with its URL and commit). Then: a gitlink
# to a commit the server does not have stops the build at git fetch with a
# clear status; the superproject's credentials never reach a log.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_reg.sh"
. "$(dirname "$0")/lib_git.sh"

[ "$(id -u)" = 0 ] || fail "RUN steps need root (namespaces): run as root"
command -v lighttpd >/dev/null || fail "lighttpd is not installed"
export GIT_CONFIG_NOSYSTEM=1 HOME=$TMP GIT_AUTHOR_NAME=T GIT_AUTHOR_EMAIL=t@example.com \
	GIT_COMMITTER_NAME=C GIT_COMMITTER_EMAIL=c@example.com
cd "$TMP"

start_registry main htpasswd
REG=$REG_ADDR
CREDS="$REG_USER:$REG_PASS"
make_busybox_image base amd64 >/dev/null
push_image base "$REG" base/busybox:1 "$CREDS" || fail "push of the base image"
ok "docker-registry (htpasswd) on $REG with a busybox base image"

# ---- repositories: app -> lib/greet (../greet.git) -> deps/words (../words.git) ----
mkdir -p srv
gitlink() {             # gitlink WORKTREE PATH COMMIT NAME URL
	git -C "$1" update-index --add --cacheinfo 160000,"$3","$2"
	git -C "$1" config -f .gitmodules "submodule.$4.path" "$2"
	git -C "$1" config -f .gitmodules "submodule.$4.url" "$5"
	git -C "$1" add .gitmodules
}
git init -q -b main words && echo "nested words" >words/words.txt
git -C words add -A && git -C words commit -qm words
WORDS=$(git -C words rev-parse HEAD)
git init -q -b main greet && echo "greetings from a submodule" >greet/greet.txt
printf '#!/bin/sh\necho hi\n' >greet/run.sh && chmod 755 greet/run.sh
git -C greet add -A && git -C greet commit -qm greet
gitlink greet deps/words "$WORDS" words ../words.git && git -C greet commit -qm words
GREET=$(git -C greet rev-parse HEAD)
git init -q -b main app
cat >app/Dockerfile <<EOF
FROM $REG/base/busybox:1
COPY lib/ /app/lib/
EOF
echo app >app/app.txt
git -C app add -A && git -C app commit -qm app
gitlink app lib/greet "$GREET" greet ../greet.git && git -C app commit -qm "greet"
for r in words greet app; do git clone -q --bare "$r" "srv/$r.git"; done
# greet moves on: the gitlink names a commit that is not its tip any more
echo "newer" >greet/greet.txt && git -C greet commit -qam newer && git -C greet push -q "$TMP/srv/greet.git" main
COMMIT=$(git -C app rev-parse HEAD)
# branch ghost: a second gitlink to a commit greet.git does not have
git -C app checkout -q -b ghost
gitlink app lib/ghost 0123456789abcdef0123456789abcdef01234567 ghost ../greet.git
git -C app commit -qm ghost && git -C app push -q "$TMP/srv/app.git" ghost && git -C app checkout -q main

BACKEND=$(git --exec-path)/git-http-backend
printf '#!/bin/sh\necho "$PATH_INFO auth=${HTTP_AUTHORIZATION:--}" >>%s\nexec %s\n' \
	"$TMP/cgi-auth.log" "$BACKEND" >backend-log && chmod 755 backend-log
start_git_http "$TMP/backend-log"
ok "git http-backend on 127.0.0.1:$HP: app $COMMIT, lib/greet $GREET (not greet's tip), nested deps/words"

# ---- sbsd ----
PORT=$(free_port)
GIT_PW="sm-Do-Not-Leak-$RANDOM$RANDOM"
cat >sbs-config.json <<JSON
{
    "HOSTNAME": "localhost",
    "CICD_PORT": "$PORT",
    "CONTAINER_NAME": "itsm",
    "IMAGE_TAG": "",
    "GITHUB_URL": "http://sm-user:$GIT_PW@127.0.0.1:$HP/git/app.git",
    "GITHUB_BRANCH": "main",
    "GITHUB_RECURSE_SUBMODULES": "True",
    "DOCKER_REPO": "sbs/sm",
    "DOCKER_PUSH_SERVER": "http://$REG",
    "DOCKER_USER": "$REG_USER",
    "DOCKER_PASSWORD": "$REG_PASS",
    "DOCKER_BASE_SERVER": "http://$REG",
    "DOCKER_BASE_USER": "$REG_USER",
    "DOCKER_BASE_PASSWORD": "$REG_PASS"
}
JSON
sbs create-client-cert --env sbs-config.json || fail "create-client-cert"
sbs create-server-cert --env sbs-config.json || fail "create-server-cert"
UUID=$(jget sbs-config.json UUID)
D=.itsm-$UUID.d
CLIENT_CA=$(base64 -w0 "$D/client-ca.pem")
export CLIENT_CA
start_sbsd s "$PORT" "$TMP/data" SERVER_CRT="$(base64 -w0 "$D/server-cert.pem")" \
	SERVER_KEY="$(base64 -w0 "$D/server-cert-key.pem")"
sbs init --env sbs-config.json || fail "init"
has '"status": "OK"' "$TMP/out" || fail "init: $(cat "$TMP/out")"
ok "sbsd up, init OK"

# unpack NAME: the pushed image of the last build into NAME/rootfs (umoci)
unpack() {
	sbs get-digest --env sbs-config.json || fail "get-digest"
	local dg
	dg=$(grep -o 'sha256:[0-9a-f]\{64\}' "$TMP/out" | head -n1)
	[ -n "$dg" ] || fail "no digest: $(cat "$TMP/out")"
	skopeo copy -q --src-tls-verify=false --src-creds "$CREDS" "docker://$REG/sbs/sm@$dg" "oci:$1-oci:x" \
		>/dev/null 2>&1 || fail "skopeo copy"
	umoci unpack --image "$1-oci:x" "$1" >/dev/null 2>&1 || fail "umoci unpack"
	echo "$dg"
}

# ---- GITHUB_RECURSE_SUBMODULES "True" ----
build_and_wait
cp "$TMP/out" status1.json
[ "$(jq -r .status status1.json)" = success ] || {
	sbs log --env sbs-config.json --log build; tail -30 "$TMP/out" >&2
	fail "build: $(jq -r .status status1.json)"; }
DIGEST=$(unpack on)
R=on/rootfs/app/lib/greet
[ "$(cat $R/greet.txt)" = "greetings from a submodule" ] || fail "lib/greet/greet.txt: $(cat $R/greet.txt 2>&1)"
[ "$(cat $R/deps/words/words.txt)" = "nested words" ] || fail "the nested submodule's file"
[ -x $R/run.sh ] || fail "the submodule's executable bit"
ok "True: the image (umoci unpack) holds the submodule's files at its gitlink commit and the nested one's"
sbs log --env sbs-config.json --log build || fail "log"
cp "$TMP/out" log1.txt
grep -q "submodule lib/greet: commit=$GREET url=http://127.0.0.1:$HP/git/greet.git" log1.txt &&
	grep -q "submodule lib/greet/deps/words: commit=$WORDS url=http://127.0.0.1:$HP/git/words.git" log1.txt ||
	fail "the build log does not name path, url and commit of each submodule"
grep -q "^/greet.git/git-upload-pack auth=Basic " cgi-auth.log && ! grep -q "auth=-" cgi-auth.log ||
	fail "the same-origin submodules were not fetched with the superproject's credentials"
ok "the build log names each submodule (path, URL without credentials, commit); same-origin credentials used"

sbs get-manifest --env sbs-config.json || fail "get-manifest"
M=$(ls -t manifest.*.sig.tbz | head -n1)
mkdir -p m/x m/in && tar -xjf "$M" -C m/x && tar -xjf m/x/*.tbz -C m/in
[ "$(cat m/in/git/lib/greet/greet.txt)" = "greetings from a submodule" ] &&
	[ "$(cat m/in/git/lib/greet/deps/words/words.txt)" = "nested words" ] ||
	fail "the manifest's git/ snapshot lacks the submodule files"
jq -e --arg g "$GREET" --arg w "$WORDS" --arg u "http://127.0.0.1:$HP/git/" '.git_submodules |
	any(.path == "lib/greet" and .commit == $g and .url == ($u + "greet.git") and .checked_out) and
	any(.path == "lib/greet/deps/words" and .commit == $w and .url == ($u + "words.git"))' \
	m/in/data/build.json >/dev/null || fail "build.json git_submodules: $(jq -c .git_submodules m/in/data/build.json)"
ok "manifest: git/ holds the submodule files; build.json lists path, commit and URL"

RC=(curl -sS --fail --max-time 20 -u "$CREDS")
"${RC[@]}" -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
	"http://$REG/v2/sbs/sm/manifests/sha256-${DIGEST#sha256:}.att" >att-manifest.json || fail "no .att"
"${RC[@]}" "http://$REG/v2/sbs/sm/blobs/$(jq -r '.layers[0].digest' att-manifest.json)" >envelope.json ||
	fail "envelope blob"
jq -r .payload envelope.json | base64 -d >statement.json
jq -e --arg g "$GREET" --arg w "$WORDS" --arg u "git+http://127.0.0.1:$HP/git/" \
	'.predicate.buildDefinition.resolvedDependencies as $d |
	($d | any(.name == "lib/greet" and .uri == ($u + "greet.git") and .digest.gitCommit == $g)) and
	($d | any(.name == "lib/greet/deps/words" and .uri == ($u + "words.git") and .digest.gitCommit == $w))' \
	statement.json >/dev/null || fail "provenance: $(jq -c .predicate.buildDefinition.resolvedDependencies statement.json)"
ok "provenance: each submodule is a resolvedDependency (git+URL, gitCommit, name = path)"

# ---- the parameter off: the directories stay empty ----
jq '.GITHUB_RECURSE_SUBMODULES = "False"' sbs-config.json >c2 && mv c2 sbs-config.json
sbs update --env sbs-config.json || fail "update (False)"
echo more >app/app.txt && git -C app add app.txt && git -C app commit -qm more && git -C app push -q "$TMP/srv/app.git" main
build_and_wait
ST=$(jq -r .status "$TMP/out")
[ "$ST" = success ] || { sbs log --env sbs-config.json --log build; tail -8 "$TMP/out" >&2; fail "build (False): $ST"; }
unpack off >/dev/null
[ -d off/rootfs/app/lib/greet ] && [ -z "$(ls -A off/rootfs/app/lib/greet)" ] ||
	fail "False: lib/greet is not an empty directory in the image"
sbs log --env sbs-config.json --log build || fail "log (False)"
grep -q "1 submodule(s) left empty" "$TMP/out" || fail "the log does not say the submodule was left empty"
ok "False: the submodule directory is empty in the image, and the log says so"

# ---- a gitlink to a commit the server does not have ----
jq '.GITHUB_RECURSE_SUBMODULES = "true" | .GITHUB_BRANCH = "ghost"' sbs-config.json >c2 && mv c2 sbs-config.json
sbs update --env sbs-config.json || fail "update (ghost)"
build_and_wait
grep -q '"status": "exiting due to a non-zero return value: 3, cmd: git fetch' "$TMP/out" ||
	fail "ghost: $(jq -r .status "$TMP/out")"
ST=$(jq -r .status "$TMP/out")
sbs log --env sbs-config.json --log build || fail "log (ghost)"
cp "$TMP/out" log-ghost.txt
grep -q "git submodules failed: git: submodule lib/ghost (http://127.0.0.1:$HP/git/greet.git) at 0123456789abcdef0123456789abcdef01234567: .*does not give the commit" \
	log-ghost.txt || { grep -i submodule log-ghost.txt >&2; fail "ghost: the log does not say which commit is missing"; }
ok "a gitlink to a commit the server lacks: $ST; the log names path, URL and commit"

for f in log1.txt log-ghost.txt status1.json "$TMP"/sbsd-s.log m/in/data/build.json m/in/data/build.log \
	statement.json; do
	grep -qF -- "$GIT_PW" "$f" && fail "the git password is in $f"
done
ok "the superproject's password is in no log, status, manifest or provenance"
echo "all submodule build tests passed ($n)"
