#!/bin/bash
# SPDX-License-Identifier: MIT
# Integration: sbs's git fetch (src/git_*.c, src/hcl.c) against a real git
# server, `git http-backend` behind lighttpd on 127.0.0.1, over HTTPS (a CA
# made here by openssl) and plain HTTP, protocol v2 and v0 (a wrapper that
# hides the Git-Protocol header, like a server without v2, and a client that
# does not ask). Every checkout is judged by real git: the commit id against
# `git rev-parse`, and names, modes, symlink targets and blob ids against
# `git ls-tree -r` of that commit. Then a tiny python server sends crafted
# responses (corrupt pack, wrong object id, endless stream, band-3 error,
# truncated pkt-line, dumb HTTP, a redirect to http): each must fail with a
# clear message and write nothing outside the workspace.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

TG=$(dirname "$SBSD")/tests/test_git
[ -x "$TG" ] || fail "no $TG: build the unit tests first (make unit)"
command -v lighttpd >/dev/null || fail "lighttpd is not installed"
BACKEND=$(git --exec-path)/git-http-backend
export GIT_CONFIG_NOSYSTEM=1 HOME=$TMP GIT_AUTHOR_NAME=T GIT_AUTHOR_EMAIL=t@example.com \
	GIT_COMMITTER_NAME=C GIT_COMMITTER_EMAIL=c@example.com

# ---- CA, server certificate ---------------------------------------------------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-keyout "$TMP/ca.key" -out "$TMP/ca.pem" -subj /CN=sbs-git-test-ca \
	-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$TMP/srv.key" \
	-out "$TMP/srv.csr" -subj /CN=localhost 2>/dev/null
printf 'subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n' >"$TMP/ext"
openssl x509 -req -in "$TMP/srv.csr" -CA "$TMP/ca.pem" -CAkey "$TMP/ca.key" -CAcreateserial \
	-days 2 -extfile "$TMP/ext" -out "$TMP/srv.pem" 2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-keyout "$TMP/other.key" -out "$TMP/other.pem" -subj /CN=other-ca 2>/dev/null

# ---- repositories -------------------------------------------------------------
mkdir -p "$TMP/srv" "$TMP/src" "$TMP/outside"
W=$TMP/src
git init -q -b main "$W"
cd "$W"
python3 - <<'EOF'
import os, random
random.seed(7)
words = [("w%d" % i) for i in range(300)]
for i in range(40):
    os.makedirs("src/lib/deep/er" if i % 5 == 0 else "src", exist_ok=True)
    d = "src/lib/deep/er" if i % 5 == 0 else "src"
    with open("%s/f%02d.txt" % (d, i), "w") as f:
        f.write("\n".join(random.choice(words) for _ in range(400)) + "\n")
with open("bin.dat", "wb") as f:
    f.write(bytes(random.getrandbits(8) for _ in range(70000)))
EOF
printf '#!/bin/sh\necho hi\n' >run.sh && chmod 755 run.sh
printf 'FROM scratch\n' >Dockerfile
ln -s src/f01.txt link-in
ln -s ../../outside/x link-out
ln -s /etc/passwd link-abs
: >empty
git add -A && git commit -qm one
for r in 2 3 4 5 6; do          # similar versions of the same files: deltas
	for f in src/f0*.txt; do sed -i "s/w$r\$/v$r/" "$f"; echo "rev $r" >>"$f"; done
	git add -A && git commit -qm "rev $r"
done
SUBC=$(git rev-parse HEAD~2)
git update-index --add --cacheinfo 160000,"$SUBC",vendor/mod
git commit -qm "a submodule gitlink"
git checkout -q -b dev
echo dev >dev.txt && chmod 755 src/f03.txt && git add -A && git commit -qm dev
git checkout -q main
cd - >/dev/null
git clone -q --bare "$W" "$TMP/srv/repo.git"
git -C "$TMP/srv/repo.git" repack -q -adf --depth=50
git init -q --bare "$TMP/srv/empty.git"
git -C "$TMP/srv/repo.git" verify-pack -v "$TMP"/srv/repo.git/objects/pack/*.idx >"$TMP/vp"
grep -q '^chain length = ' "$TMP/vp" || fail "the test repository has no deltas"

# ---- lighttpd + git http-backend ------------------------------------------------
HP=$(free_port); SP=$(free_port)
while [ "$SP" = "$HP" ]; do SP=$(free_port); done
printf '#!/bin/sh\n# a server without protocol v2: the request header is dropped\nunset HTTP_GIT_PROTOCOL GIT_PROTOCOL\nexec %s\n' \
	"$BACKEND" >"$TMP/backend-v0" && chmod 755 "$TMP/backend-v0"
# a server that logs the Authorization header each request carried
printf '#!/bin/sh\necho "$PATH_INFO auth=${HTTP_AUTHORIZATION:--}" >>%s\nexec %s\n' \
	"$TMP/cgi-auth.log" "$BACKEND" >"$TMP/backend-log" && chmod 755 "$TMP/backend-log"
mkdir -p "$TMP/www"
cat >"$TMP/lighttpd.conf" <<EOF
server.modules = ( "mod_alias", "mod_setenv", "mod_cgi", "mod_openssl" )
server.document-root = "$TMP/www"
server.bind = "127.0.0.1"
server.port = $HP
server.errorlog = "$TMP/lighttpd.err"
\$SERVER["socket"] == "127.0.0.1:$SP" {
	ssl.engine = "enable"
	ssl.pemfile = "$TMP/srv.pem"
	ssl.privkey = "$TMP/srv.key"
}
alias.url = ( "/git/" => "$BACKEND/", "/git0/" => "$TMP/backend-v0/", "/gitl/" => "$TMP/backend-log/" )
\$HTTP["url"] =~ "^/git[0l]?/" {
	cgi.assign = ( "" => "" )
	setenv.add-environment = ( "GIT_PROJECT_ROOT" => "$TMP/srv", "GIT_HTTP_EXPORT_ALL" => "1",
				   "GIT_CONFIG_NOSYSTEM" => "1", "HOME" => "$TMP" )
}
EOF
lighttpd -D -f "$TMP/lighttpd.conf" >"$TMP/lighttpd.out" 2>&1 &
PIDS+=($!)
wait_tcp "$HP" 20 && wait_tcp "$SP" 20 || { cat "$TMP/lighttpd.out" "$TMP/lighttpd.err" >&2; fail "lighttpd did not start"; }
ok "lighttpd with git http-backend on 127.0.0.1:$HP (http) and :$SP (https)"

# The checkout as `git ls-tree -r` prints a tree: mode type id<TAB>path.
listing() {
	python3 - "$1" "$2" <<'EOF'
import hashlib, os, stat, sys
root, subs = sys.argv[1], sys.argv[2]
out = []
def blob(b):
    return hashlib.sha1(b"blob %d\0" % len(b) + b).hexdigest()
for dp, dns, fns in os.walk(root):
    for n in fns + [d for d in dns if os.path.islink(os.path.join(dp, d))]:
        p = os.path.join(dp, n)
        rel = os.path.relpath(p, root)
        st = os.lstat(p)
        if stat.S_ISLNK(st.st_mode):
            out.append("120000 blob %s\t%s" % (blob(os.fsencode(os.readlink(p))), rel))
        else:
            mode = "100755" if st.st_mode & 0o100 else "100644"
            out.append("%s blob %s\t%s" % (mode, blob(open(p, "rb").read()), rel))
for line in open(subs):
    _, path, oid = line.split()
    if os.listdir(os.path.join(root, path)):
        out.append("non-empty submodule dir " + path)
    out.append("160000 commit %s\t%s" % (oid, path))
print("\n".join(sorted(out)))
EOF
}

# Everything a fetch might write to by mistake, with the workspaces' parent.
snapshot() {
	find "$TMP/outside" "$TMP/srv" "$TMP/src" "$TMP/www" -printf '%p %s %T@\n' | sort
	ls -a "$TMP/ws"
}

# fetch NAME URL BRANCH CA [opts]: checkout into $TMP/ws/NAME, judged by git
fetch_ok() {
	local name=$1 url=$2 branch=$3 ca=$4 ref
	shift 4
	mkdir -p "$TMP/ws/$name"
	$RUN "$TG" fetch "$url" "$branch" "$TMP/ws/$name" "$ca" "$@" >"$TMP/out.$name" 2>"$TMP/err" ||
		fail "$name: fetch of $url failed"
	ref=${branch:-HEAD}
	[ "$(head -1 "$TMP/out.$name")" = "$(git -C "$TMP/srv/repo.git" rev-parse "$ref")" ] ||
		fail "$name: commit $(head -1 "$TMP/out.$name") is not $ref"
	grep '^submodule ' "$TMP/out.$name" >"$TMP/subs.$name" || true
	listing "$TMP/ws/$name" "$TMP/subs.$name" >"$TMP/got.$name"
	git -C "$TMP/srv/repo.git" ls-tree -r --full-tree "$ref" | sort >"$TMP/want.$name"
	diff -u "$TMP/want.$name" "$TMP/got.$name" >&2 || fail "$name: checkout differs from git ls-tree"
	[ -z "$(ls -A "$TMP/outside")" ] || fail "$name: something was written outside"
}

CT=$(git -C "$TMP/srv/repo.git" log -1 --format=%ct main)
fetch_ok https-v2 "https://localhost:$SP/git/repo.git" main "$TMP/ca.pem"
grep -qx 'protocol 2' "$TMP/out.https-v2" || fail "https-v2: protocol 2 was not used"
grep -qx "time $CT" "$TMP/out.https-v2" || fail "commit time is not $CT"
grep -qx "submodule vendor/mod $SUBC" "$TMP/out.https-v2" || fail "gitlink not reported"
[ "$(readlink "$TMP/ws/https-v2/link-out")" = ../../outside/x ] || fail "link-out not kept as a symlink"
ok "https, protocol v2: commit, names, modes, symlinks and blobs match git ls-tree; gitlink reported"
fetch_ok http-v2-dev "http://127.0.0.1:$HP/git/repo.git/" dev -
ok "http, protocol v2, branch dev (executable bit change) matches"
fetch_ok head "https://localhost:$SP/git/repo.git" "" "$TMP/ca.pem"
ok "no branch: the remote HEAD"
fetch_ok v0-server "https://localhost:$SP/git0/repo.git" main "$TMP/ca.pem"
grep -qx 'protocol 0' "$TMP/out.v0-server" || fail "v0-server: not v0"
ok "server without v2 (Git-Protocol dropped): v0 fallback, same checkout"
fetch_ok v0-client "http://127.0.0.1:$HP/git/repo.git" dev - --v0
grep -qx 'protocol 0' "$TMP/out.v0-client" || fail "v0-client: not v0"
ok "client not asking for v2: v0, same checkout"
fetch_ok deep "https://localhost:$SP/git/repo.git" main "$TMP/ca.pem" --depth 3
ok "depth 3"

# tgf NAME PATTERN URL BRANCH CA [opts]: fails, says PATTERN, nothing outside changes
tgf() { expect_fail_raw "$@"; }
expect_fail_raw() {
	local name=$1 pat=$2 url=$3 br=$4 ca=$5 before
	shift 5
	mkdir -p "$TMP/ws/$name"
	before=$(snapshot)
	if timeout 120 $RUN "$TG" fetch "$url" "$br" "$TMP/ws/$name" "$ca" "$@" >"$TMP/out" 2>"$TMP/err"; then
		fail "$name: fetch succeeded"
	fi
	grep -q -- "$pat" "$TMP/err" || { cat "$TMP/err" >&2; fail "$name: no '$pat' in the error"; }
	[ "$(snapshot)" = "$before" ] || fail "$name: files changed outside the workspace"
	[ -z "$(ls -A "$TMP/outside")" ] || fail "$name: something was written outside"
	ok "$name: $(head -c 200 "$TMP/err")"
}
tgf untrusted-ca "not trusted" "https://localhost:$SP/git/repo.git" main "$TMP/other.pem"
tgf wrong-name "does not match the host name" "https://127.0.0.1:$SP/git/repo.git" main "$TMP/ca.pem"
tgf no-branch "has no refs/heads/nope" "https://localhost:$SP/git/repo.git" nope "$TMP/ca.pem"
tgf no-repo "404" "https://localhost:$SP/git/none.git" main "$TMP/ca.pem"
tgf empty-repo "has no refs/heads/main" "http://127.0.0.1:$HP/git/empty.git" main -
tgf bad-branch "bad branch" "http://127.0.0.1:$HP/git/repo.git" "../x" -
tgf token-url-logged "404" "https://user:s3cret-token@localhost:$SP/git/none.git" main "$TMP/ca.pem"
grep -q s3cret "$TMP/err" && fail "a credential reached the error message"
mkdir -p "$TMP/ws/notempty" && : >"$TMP/ws/notempty/x"
if $RUN "$TG" fetch "http://127.0.0.1:$HP/git/repo.git" main "$TMP/ws/notempty" - 2>"$TMP/err"; then
	fail "fetch into a non-empty workspace succeeded"
fi
grep -q "not an empty directory" "$TMP/err" || fail "non-empty workspace: unclear error"
ok "a non-empty workspace is refused"


# ---- submodules (git_submod.c) ------------------------------------------------------
# super.git: lib/mid via the relative URL ../mid.git (which has deps/leaf via
# ../leaf.git, pinned to a commit that is not leaf's tip) and ext/other via
# an absolute URL. Judged by real git: `git clone --recurse-submodules` of
# the same URL, compared file by file (modes, symlinks, contents).
mkrepo() {              # mkrepo NAME FILE: a bare repo $TMP/srv/NAME.git with two commits
	rm -rf "$TMP/sm/$1" && git init -q -b main "$TMP/sm/$1"
	echo "$1 one" >"$TMP/sm/$1/$2" && git -C "$TMP/sm/$1" add -A && git -C "$TMP/sm/$1" commit -qm one
	echo "$1 two" >"$TMP/sm/$1/$2" && ln -s "$2" "$TMP/sm/$1/link" && chmod 755 "$TMP/sm/$1/$2"
	git -C "$TMP/sm/$1" add -A && git -C "$TMP/sm/$1" commit -qm two
}
gitlink() {             # gitlink WORKTREE PATH COMMIT NAME URL
	git -C "$1" update-index --add --cacheinfo 160000,"$3","$2"
	git -C "$1" config -f .gitmodules "submodule.$4.path" "$2"
	git -C "$1" config -f .gitmodules "submodule.$4.url" "$5"
	git -C "$1" add .gitmodules
}
mkdir -p "$TMP/sm"
mkrepo leaf leaf.txt
LEAF1=$(git -C "$TMP/sm/leaf" rev-parse HEAD~1)
mkrepo mid mid.txt
(cd "$TMP/sm/mid" && gitlink . deps/leaf "$LEAF1" leaf ../leaf.git && git commit -qm "leaf")
mkrepo other other.txt
mkrepo super Dockerfile
OTHER=$(git -C "$TMP/sm/other" rev-parse HEAD)
MID=$(git -C "$TMP/sm/mid" rev-parse HEAD)
(cd "$TMP/sm/super" && gitlink . lib/mid "$MID" mid ../mid.git &&
	gitlink . ext/other "$OTHER" other "http://127.0.0.1:$HP/git/other.git" && git commit -qm subs)
for r in leaf mid other super; do rm -rf "$TMP/srv/$r.git"; git clone -q --bare "$TMP/sm/$r" "$TMP/srv/$r.git"; done
# the leaf's tip moves on: the gitlink now names an older commit
(cd "$TMP/sm/leaf" && echo three >leaf.txt && git commit -qam three && git push -q "$TMP/srv/leaf.git" main)

# super-missing: a gitlink to a commit leaf.git does not have
(cd "$TMP/sm/super" && git checkout -q -b missing &&
	gitlink . lib/ghost 0123456789abcdef0123456789abcdef01234567 ghost ../leaf.git &&
	git commit -qm ghost && git push -q "$TMP/srv/super.git" missing && git checkout -q main)
# hostile .gitmodules, one branch each
hostile() {             # hostile BRANCH NAME PATH URL
	(cd "$TMP/sm/super" && git checkout -q -b "$1" main &&
		gitlink . "$3" "$LEAF1" "$2" "$4" && git commit -qm "$1" &&
		git push -q "$TMP/srv/super.git" "$1" && git checkout -q main)
}
hostile h-file evil x/file "file://$TMP/srv/leaf.git"
hostile h-ext evil x/ext "ext::sh -c touch% $TMP/outside/pwned"
hostile h-local evil x/local "$TMP/srv/leaf.git"
hostile h-opt evil x/opt "-oProxyCommand=touch $TMP/outside/pwned"
hostile h-climb evil x/climb "../../../../../leaf.git"
(cd "$TMP/sm/super" && git checkout -q -b h-path main && git update-index --add --cacheinfo \
	160000,"$LEAF1",x/p && printf '[submodule "p"]\n\tpath = ../../outside/p\n\turl = ../leaf.git\n' \
	>>.gitmodules && git add .gitmodules && git commit -qm h-path && git push -q "$TMP/srv/super.git" h-path &&
	git checkout -q main)
(cd "$TMP/sm/super" && git checkout -q -b h-noentry main &&
	git update-index --add --cacheinfo 160000,"$LEAF1",x/none && git commit -qm noentry &&
	git push -q "$TMP/srv/super.git" h-noentry && git checkout -q main)

SUPER=$(git -C "$TMP/srv/super.git" rev-parse main)
git clone -q --recurse-submodules "http://127.0.0.1:$HP/git/super.git" "$TMP/judge" 2>"$TMP/judge.err" ||
	{ cat "$TMP/judge.err" >&2; fail "git clone --recurse-submodules failed"; }
[ "$(git -C "$TMP/judge/lib/mid/deps/leaf" rev-parse HEAD)" = "$LEAF1" ] || fail "the judge is not at LEAF1"
# tree NAME DIR: every file, link and directory below DIR except .git, as "mode path sha1-or-target"
tree_of() {
	python3 - "$1" <<'EOF2'
import hashlib, os, stat, sys
root, out = sys.argv[1], []
for dp, dns, fns in os.walk(root):
    dns[:] = [d for d in dns if d != ".git"]
    for n in fns + [d for d in dns if os.path.islink(os.path.join(dp, d))]:
        if n == ".git":
            continue
        p = os.path.join(dp, n); st = os.lstat(p); rel = os.path.relpath(p, root)
        if stat.S_ISLNK(st.st_mode):
            out.append("link %s %s" % (rel, os.readlink(p)))
        else:
            out.append("%s %s %s" % (oct(st.st_mode & 0o100), rel, hashlib.sha1(open(p, "rb").read()).hexdigest()))
    for d in dns:
        out.append("dir " + os.path.relpath(os.path.join(dp, d), root))
print("\n".join(sorted(out)))
EOF2
}
tree_of "$TMP/judge" >"$TMP/want.sm"

sm_ok() {               # sm_ok NAME URL CA [opts]: recursive fetch, same tree as the judge
	local name=$1 url=$2 ca=$3
	shift 3
	mkdir -p "$TMP/ws/$name"
	$RUN "$TG" fetch "$url" main "$TMP/ws/$name" "$ca" --recurse "$@" >"$TMP/out.$name" 2>"$TMP/err.$name" ||
		{ cat "$TMP/err.$name" >&2; fail "$name: recursive fetch failed"; }
	[ "$(head -1 "$TMP/out.$name")" = "$SUPER" ] || fail "$name: not the superproject's commit"
	tree_of "$TMP/ws/$name" >"$TMP/got.$name"
	diff -u "$TMP/want.sm" "$TMP/got.$name" >&2 || fail "$name: differs from git clone --recurse-submodules"
	[ -z "$(ls -A "$TMP/outside")" ] || fail "$name: something was written outside"
}
sm_ok sm-v2 "http://127.0.0.1:$HP/git/super.git" -
grep -qx "submodule lib/mid $MID http://127.0.0.1:$HP/git/mid.git depth 1 v2" "$TMP/out.sm-v2" ||
	{ cat "$TMP/out.sm-v2" >&2; fail "sm-v2: lib/mid not reported with its resolved URL"; }
grep -qx "submodule lib/mid/deps/leaf $LEAF1 http://127.0.0.1:$HP/git/leaf.git depth 2 v2" "$TMP/out.sm-v2" ||
	fail "sm-v2: the nested leaf not reported"
grep -qx "submodule ext/other $OTHER http://127.0.0.1:$HP/git/other.git depth 1 v2" "$TMP/out.sm-v2" ||
	fail "sm-v2: ext/other not reported"
grep -q "fetched submodule lib/mid/deps/leaf from http://127.0.0.1:$HP/git/leaf.git at $LEAF1" "$TMP/err.sm-v2" ||
	fail "sm-v2: no log line for the nested fetch"
ok "submodules over v2: relative ../mid.git, nested ../leaf.git at a non-tip commit, absolute URL; the tree equals git clone --recurse-submodules"
sm_ok sm-v0 "http://127.0.0.1:$HP/git0/super.git" -
grep -q "submodule lib/mid/deps/leaf $LEAF1 http://127.0.0.1:$HP/git0/leaf.git depth 2 v0" "$TMP/out.sm-v0" ||
	fail "sm-v0: the nested leaf not fetched over v0"
ok "submodules from a v0 server (relative URLs stay on /git0/; a non-tip commit by id over v0 HTTP)"
sm_ok sm-https "https://localhost:$SP/git/super.git" "$TMP/ca.pem"
grep -q "submodule lib/mid/deps/leaf $LEAF1 https://localhost:$SP/git/leaf.git depth 2 v2" "$TMP/out.sm-https" ||
	fail "sm-https: the nested leaf not fetched over https"
ok "submodules over https: relative URLs resolve to https, the absolute one stays http"
mkdir -p "$TMP/ws/sm-off"
$RUN "$TG" fetch "http://127.0.0.1:$HP/git/super.git" main "$TMP/ws/sm-off" - >"$TMP/out.sm-off" 2>&1 ||
	fail "sm-off: fetch failed"
[ -d "$TMP/ws/sm-off/lib/mid" ] && [ -z "$(ls -A "$TMP/ws/sm-off/lib/mid")" ] &&
	[ -z "$(ls -A "$TMP/ws/sm-off/ext/other")" ] || fail "sm-off: submodule directories not empty"
ok "without --recurse the submodule directories stay empty"
PACK=$(sed -n 's/^pack //p' "$TMP/out.sm-off")
mkdir -p "$TMP/ws/sm-budget"
$RUN "$TG" fetch "http://127.0.0.1:$HP/git/super.git" main "$TMP/ws/sm-budget" - --recurse \
	--max-pack $((PACK + 40)) >"$TMP/out" 2>"$TMP/err" && fail "sm-budget: over the pack budget, accepted"
grep -q "over the limit of 40 bytes\|are used up" "$TMP/err" || { cat "$TMP/err" >&2; fail "sm-budget: unclear error"; }
ok "the pack limit covers the superproject and its submodules together ($PACK + 40 bytes: $(grep -o 'submodule [^ ]*' "$TMP/err" | tail -1) stops)"

# smf NAME PATTERN BRANCH: the recursive fetch of super.git BRANCH fails saying PATTERN
smf() {
	local before
	mkdir -p "$TMP/ws/$1"
	before=$(snapshot)
	if timeout 120 $RUN "$TG" fetch "http://127.0.0.1:$HP/git/super.git" "$3" "$TMP/ws/$1" - --recurse \
		>"$TMP/out" 2>"$TMP/err"; then
		fail "$1: fetch succeeded"
	fi
	grep -q -- "$2" "$TMP/err" || { cat "$TMP/err" >&2; fail "$1: no '$2' in the error"; }
	[ "$(snapshot)" = "$before" ] || fail "$1: files changed outside the workspace"
	[ -z "$(ls -A "$TMP/outside")" ] || fail "$1: something was written outside"
	ok "$1: $(grep -m1 'failed' "$TMP/err" | head -c 300)"
}
smf sm-missing "does not give the commit 0123456789abcdef0123456789abcdef01234567" missing
smf sm-file "only https://, http://, ssh://" h-file
smf sm-ext "a transport helper" h-ext
smf sm-local "a local path" h-local
smf sm-opt "starts with '-'" h-opt
smf sm-climb "climb above the host" h-climb
smf sm-path "the repository: .gitmodules: submodule \"p\": path refused" h-path
smf sm-noentry "has no entry in the .gitmodules" h-noentry

# ---- hostile server ------------------------------------------------------------------
COMMIT=$(git -C "$TMP/srv/repo.git" rev-parse main)
printf '%s\n' "$COMMIT" | git -C "$TMP/srv/repo.git" pack-objects -q --revs --depth=50 --stdout \
	>"$TMP/good.pack"
PP=$(free_port)
python3 - "$PP" "$COMMIT" "$TMP/good.pack" "$TMP/py-auth.log" >"$TMP/py.log" 2>&1 <<'EOF' &
import http.server, socketserver, sys
port, commit, packf, authlog = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
pack = open(packf, "rb").read()
def pkt(b):
    return b"%04x" % (len(b) + 4) + b
def band(n, b):
    out = b""
    for i in range(0, len(b), 65000):
        out += pkt(bytes([n]) + b[i:i + 65000])
    return out
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def mode(self): return self.path.split("/")[1]
    def send(self, ctype, body, close=False):
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        if close:
            self.send_header("Connection", "close")
        else:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        if close:
            self.close_connection = True
    def auth(self):
        with open(authlog, "a") as f:
            f.write("%s auth=%s\n" % (self.path, self.headers.get("Authorization", "-")))
    def do_GET(self):
        self.auth()
        m = self.mode()
        if m == "dumb":
            return self.send("text/plain", b"%s\trefs/heads/main\n" % commit.encode())
        if m in ("redirect", "downgrade"):
            self.send_response(302)
            self.send_header("Location", "%s://127.0.0.1:%d/plain/info/refs?service=git-upload-pack"
                             % ("http" if m == "redirect" else "https", port))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        oid = commit
        if m == "wronghash":
            oid = commit[:-1] + ("0" if commit[-1] != "0" else "1")
        body = pkt(b"# service=git-upload-pack\n") + b"0000"
        body += pkt(b"%s refs/heads/main\0side-band-64k ofs-delta shallow no-progress\n" % oid.encode())
        body += b"0000"
        self.send("application/x-git-upload-pack-advertisement", body)
    def do_POST(self):
        self.auth()
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        m = self.mode()
        ct = "application/x-git-upload-pack-result"
        head = pkt(b"NAK\n")
        if m == "corrupt":
            p = bytearray(pack); p[len(p) // 2] ^= 0x20
            return self.send(ct, head + band(1, bytes(p)) + b"0000")
        if m == "wronghash":
            return self.send(ct, head + band(1, pack) + b"0000")
        if m == "band3":
            return self.send(ct, head + band(1, pack[:100]) + pkt(b"\3fatal: the disk is on fire\n"))
        if m == "trunc":
            return self.send(ct, head + band(1, pack[:5000])[:3000], close=True)
        if m == "endless":
            self.send_response(200)
            self.send_header("Content-Type", ct)
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(head)
            chunk = pkt(b"\1" + b"\0" * 65000)
            try:
                for _ in range(200000):
                    self.wfile.write(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass
            self.close_connection = True
            return
        self.send(ct, head + band(1, pack) + b"0000")
class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
S(("127.0.0.1", port), H).serve_forever()
EOF
PIDS+=($!)
wait_tcp "$PP" 20 || fail "the python server did not start"
PY=http://127.0.0.1:$PP
fetch_ok py-plain "$PY/plain" main -
ok "the crafted server's good answer checks out (the harness itself is sound)"
tgf corrupt-pack "checksum mismatch" "$PY/corrupt" main -
tgf wrong-hash "the pack has no object" "$PY/wronghash" main -
tgf endless-stream "over the limit" "$PY/endless" main - --max-pack 8000000
tgf band3-error "the disk is on fire" "$PY/band3" main -
tgf truncated "truncated" "$PY/trunc" main -
tgf dumb-http "not a smart-HTTP git server" "$PY/dumb" main -
fetch_ok redirect "$PY/redirect" main -
ok "a redirect to the same scheme is followed"
tgf redirect-scheme "another scheme" "$PY/downgrade" main -

# Credentials of the superproject go to submodules on its origin only: the
# access logs show which requests carried them.
(cd "$TMP/sm/super" && git checkout -q -b auth main && gitlink . x/py "$COMMIT" py "$PY/plain" &&
	git commit -qm auth && git push -q "$TMP/srv/super.git" auth && git checkout -q main)
: >"$TMP/py-auth.log"
mkdir -p "$TMP/ws/sm-auth"
B64=$(printf 'tok-user:s3cret-sm' | base64)
# (repo.git, which the python server serves, has a gitlink and no .gitmodules:
# after x/py is checked out the recursion stops there, as git's would)
$RUN "$TG" fetch "http://tok-user:s3cret-sm@127.0.0.1:$HP/gitl/super.git" auth "$TMP/ws/sm-auth" - --recurse \
	>"$TMP/out.sm-auth" 2>"$TMP/err.sm-auth" && fail "sm-auth: a gitlink without .gitmodules was accepted"
grep -q "the submodule x/py has gitlinks but no .gitmodules" "$TMP/err.sm-auth" ||
	{ cat "$TMP/err.sm-auth" >&2; fail "sm-auth: unexpected failure"; }
[ "$(cat "$TMP/ws/sm-auth/x/py/run.sh")" = "$(git -C "$TMP/srv/repo.git" show "$COMMIT:run.sh")" ] ||
	fail "sm-auth: the submodule on the other origin was not checked out"
grep -q "^/super.git/git-upload-pack auth=Basic $B64\$" "$TMP/cgi-auth.log" &&
	grep -q "^/leaf.git/git-upload-pack auth=Basic $B64\$" "$TMP/cgi-auth.log" &&
	! grep -q "auth=-" "$TMP/cgi-auth.log" ||
	fail "sm-auth: the same-origin submodule was fetched without the superproject's credentials"
grep -q "auth=-" "$TMP/py-auth.log" && ! grep -qv "auth=-" "$TMP/py-auth.log" ||
	{ cat "$TMP/py-auth.log" >&2; fail "sm-auth: credentials went to another origin"; }
grep -q s3cret "$TMP/out.sm-auth" "$TMP/err.sm-auth" && fail "sm-auth: the password reached the output"
ok "superproject credentials: sent for the submodules on its origin, not to the other origin; never printed; a nested gitlink without .gitmodules is refused"

echo "all git integration tests passed ($n)"
