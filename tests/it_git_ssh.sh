#!/bin/bash
# SPDX-License-Identifier: MIT
# Integration: sbs's git fetch over SSH (src/git_ssh.c: libssh2 1.10 with its
# mbedTLS backend) against Debian's OpenSSH sshd on 127.0.0.1, run here in the
# foreground with its own config, host keys and authorized_keys, whose only
# command is git-shell (authorized_keys command=..., no pty, no forwarding).
# Driven by `test_git fetch ... --ssh-key K --known-hosts F`. Every checkout
# is judged by real git (`git rev-parse`, `git ls-tree -r`); fingerprints and
# the pinned key by ssh-keygen and the host key's .pub file. Then: protocol
# v0 (client not asking; server not accepting GIT_PROTOCOL), a PEM key, the
# pin refusing a changed host key, a wrong deploy key, a quote in the path,
# a path that is no repository, a pack over the limit, servers that are not
# git (random bytes, an endless valid advertisement, silence) and servers
# that are not SSH (random bytes, endless garbage packets, silence).
# Finally no deploy key text may appear in anything printed.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

TG=$(dirname "$SBSD")/tests/test_git
SSHD=/usr/sbin/sshd
[ -x "$TG" ] || fail "no $TG: build the unit tests first (make unit)"
[ -x "$SSHD" ] || fail "no $SSHD (openssh-server)"
[ "$(id -u)" = 0 ] || fail "this test runs sshd and logs in as root: run it as root"
command -v git-shell >/dev/null || fail "no git-shell"
mkdir -p /run/sshd              # sshd's privilege separation directory
export GIT_CONFIG_NOSYSTEM=1 HOME=$TMP GIT_AUTHOR_NAME=T GIT_AUTHOR_EMAIL=t@example.com \
	GIT_COMMITTER_NAME=C GIT_COMMITTER_EMAIL=c@example.com
ALL=$TMP/all-output             # everything the fetches print, for the key check

# ---- keys -----------------------------------------------------------------------
for k in hk1 hk2 deploy wrong; do ssh-keygen -q -t ecdsa -b 256 -N '' -C '' -f "$TMP/$k"; done
ssh-keygen -q -t ecdsa -b 256 -N '' -C '' -m PEM -f "$TMP/deploy-pem"
ssh-keygen -q -t ed25519 -N '' -C '' -f "$TMP/deploy-ed"
head -1 "$TMP/deploy" | grep -q 'BEGIN OPENSSH PRIVATE KEY' || fail "ssh-keygen did not write OpenSSH format"
head -1 "$TMP/deploy-pem" | grep -q 'BEGIN EC PRIVATE KEY' || fail "ssh-keygen did not write PEM"
for k in deploy deploy-pem deploy-ed; do
	printf 'command="git-shell -c \\"$SSH_ORIGINAL_COMMAND\\"",no-pty,no-port-forwarding,no-agent-forwarding,no-X11-forwarding,no-user-rc %s\n' \
		"$(cat "$TMP/$k.pub")"
done >"$TMP/authorized_keys"
fp() { ssh-keygen -l -E sha256 -f "$1" | awk '{print $2}'; }

# ---- repository ---------------------------------------------------------------------
W=$TMP/src
git init -q -b main "$W"
(
	cd "$W"
	for i in $(seq 1 30); do mkdir -p "d$((i % 4))/e"; seq "$i" 4000 >"d$((i % 4))/e/f$i.txt"; done
	head -c 50000 /dev/urandom >bin.dat
	printf '#!/bin/sh\necho hi\n' >run.sh && chmod 755 run.sh
	ln -s d1/e/f1.txt link && ln -s /etc/passwd link-abs
	git add -A && git commit -qm one
	for r in 2 3 4; do sed -i "s/^$r\$/x$r/" d*/e/f*.txt; git add -A; git commit -qm "rev $r"; done
	git checkout -q -b dev && echo dev >dev.txt && chmod 755 d0/e/f4.txt && git add -A &&
		git commit -qm dev && git checkout -q main
)
git clone -q --bare "$W" "$TMP/repo.git"
git -C "$TMP/repo.git" repack -q -adf --depth=50
mkdir -p "$TMP/outside"

# The checkout as `git ls-tree -r` prints a tree.
listing() {
	python3 - "$1" <<'EOF'
import hashlib, os, stat, sys
root = sys.argv[1]
out = []
for dp, dns, fns in os.walk(root):
    for n in fns + [d for d in dns if os.path.islink(os.path.join(dp, d))]:
        p = os.path.join(dp, n)
        st = os.lstat(p)
        if stat.S_ISLNK(st.st_mode):
            mode, data = "120000", os.fsencode(os.readlink(p))
        else:
            mode = "100755" if st.st_mode & 0o100 else "100644"
            data = open(p, "rb").read()
        oid = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
        out.append("%s blob %s\t%s" % (mode, oid, os.path.relpath(p, root)))
print("\n".join(sorted(out)))
EOF
}

# ---- sshd ---------------------------------------------------------------------------
PORT=$(free_port)
SSHD_PID=
# start_sshd NAME HOSTKEY [config lines...]: sshd on 127.0.0.1:$PORT
start_sshd() {
	local name=$1 hk=$2 l
	shift 2
	{
		printf 'Port %s\nListenAddress 127.0.0.1\nHostKey %s\n' "$PORT" "$hk"
		printf 'AuthorizedKeysFile %s\nPermitRootLogin prohibit-password\nAllowUsers root\n' \
			"$TMP/authorized_keys"
		printf 'PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n'
		printf 'StrictModes no\nPidFile %s\nLogLevel VERBOSE\nMaxStartups 50\n' "$TMP/sshd.pid"
		for l in "$@"; do printf '%s\n' "$l"; done
	} >"$TMP/sshd-$name.conf"
	"$SSHD" -t -f "$TMP/sshd-$name.conf" || fail "sshd config $name rejected"
	"$SSHD" -D -e -f "$TMP/sshd-$name.conf" >>"$TMP/sshd-$name.log" 2>&1 &
	SSHD_PID=$!
	PIDS+=("$SSHD_PID")
	wait_tcp "$PORT" 20 || { cat "$TMP/sshd-$name.log" >&2; fail "sshd $name did not start"; }
}
stop_sshd() {
	kill "$SSHD_PID" 2>/dev/null || true
	wait "$SSHD_PID" 2>/dev/null || true
}

URL="ssh://root@127.0.0.1:$PORT$TMP/repo.git"
PINS=$TMP/known_hosts

# tg NAME URL BRANCH [opts]: test_git into $TMP/ws/NAME; stdout $TMP/out.NAME, stderr $TMP/err
tg() {
	local name=$1 url=$2 br=$3 rc=0
	shift 3
	rm -rf "$TMP/ws/$name" && mkdir -p "$TMP/ws/$name"
	timeout 120 $RUN "$TG" fetch "$url" "$br" "$TMP/ws/$name" - --known-hosts "$PINS" \
		--timeout-ms 10000 "$@" >"$TMP/out.$name" 2>"$TMP/err" || rc=$?
	cat "$TMP/out.$name" "$TMP/err" >>"$ALL"
	return $rc
}
# fetch_ok NAME BRANCH [opts]: succeeds; commit and tree as git has them
fetch_ok() {
	local name=$1 br=$2
	shift 2
	tg "$name" "$URL" "$br" --ssh-key "$TMP/deploy" "$@" || fail "$name: fetch failed"
	[ "$(head -1 "$TMP/out.$name")" = "$(git -C "$TMP/repo.git" rev-parse "$br")" ] ||
		fail "$name: commit $(head -1 "$TMP/out.$name") is not $br"
	listing "$TMP/ws/$name" >"$TMP/got.$name"
	git -C "$TMP/repo.git" ls-tree -r --full-tree "$br" | sort >"$TMP/want.$name"
	diff -u "$TMP/want.$name" "$TMP/got.$name" >&2 || fail "$name: checkout differs from git ls-tree"
}
# fetch_fail NAME PATTERN URL BRANCH [opts]: fails, says PATTERN, writes no file
fetch_fail() {
	local name=$1 pat=$2 url=$3 br=$4
	shift 4
	if tg "$name" "$url" "$br" "$@"; then fail "$name: fetch succeeded"; fi
	grep -q -- "$pat" "$TMP/err" || { cat "$TMP/err" >&2; fail "$name: no '$pat' in the error"; }
	[ -z "$(ls -A "$TMP/ws/$name")" ] || fail "$name: files were written"
	[ -z "$(ls -A "$TMP/outside")" ] || fail "$name: something was written outside"
}

start_sshd v2 "$TMP/hk1" "AcceptEnv GIT_PROTOCOL"
ok "sshd (git-shell only) on 127.0.0.1:$PORT accepting GIT_PROTOCOL"

# ---- fetches --------------------------------------------------------------------------
[ ! -e "$PINS" ] || fail "pin file exists before the first fetch"
fetch_ok v2 main
grep -qx 'protocol 2' "$TMP/out.v2" || fail "v2: protocol 2 was not used"
ok "protocol v2 over SSH: commit, names, modes, symlinks and blob ids match git ls-tree"
[ "$(wc -l <"$PINS")" = 1 ] || fail "the pin file does not have one line"
read -r pn pt pk <"$PINS"
[ "$pn" = "127.0.0.1:$PORT" ] && [ "$pt $pk" = "$(cut -d' ' -f1,2 "$TMP/hk1.pub")" ] ||
	fail "pin line '$pn $pt' is not hk1.pub for 127.0.0.1:$PORT"
grep -qx "hostkey ecdsa-sha2-nistp256 $(fp "$TMP/hk1.pub")" "$TMP/out.v2" ||
	fail "reported host key is not ssh-keygen's fingerprint of hk1"
[ "$(stat -c %a "$PINS")" = 600 ] || fail "pin file mode is not 0600"
ok "first use pinned hk1 (line equals hk1.pub, fingerprint equals ssh-keygen -l)"
cp "$PINS" "$TMP/pins.1"
fetch_ok dev dev
cmp -s "$PINS" "$TMP/pins.1" || fail "a second fetch changed the pin file"
ok "branch dev matches; the pin file is unchanged by a later fetch"
fetch_ok v0-client main --v0
grep -qx 'protocol 0' "$TMP/out.v0-client" || fail "v0-client: not v0"
ok "client not asking for v2: v0 advertisement, same checkout"
fetch_ok depth main --depth 2
ok "depth 2 (deepen) over SSH"
tg pem "$URL" main --ssh-key "$TMP/deploy-pem" || fail "PEM key: fetch failed"
[ "$(head -1 "$TMP/out.pem")" = "$(git -C "$TMP/repo.git" rev-parse main)" ] || fail "PEM key: commit"
ok "deploy key in PEM form (SEC1) works too"

fetch_fail pack-limit "over the limit" "$URL" main --ssh-key "$TMP/deploy" --max-pack 4000
ok "a pack over --max-pack is cut at the limit"
fetch_fail no-repo "does not appear to be a git repository" \
	"ssh://root@127.0.0.1:$PORT$TMP/none.git" main --ssh-key "$TMP/deploy"
ok "no repository: the server's own words reach the error"
fetch_fail no-branch "has no refs/heads/nope" "$URL" nope --ssh-key "$TMP/deploy"
ok "no such branch"
fetch_fail quote "holds a quote" "ssh://root@127.0.0.1:$PORT$TMP/re'po.git" main --ssh-key "$TMP/deploy"
fetch_fail quote2 "holds a quote" "root@127.0.0.1:x\";touch $TMP/outside/pwn;\"" main --ssh-key "$TMP/deploy"
ok "a path with a quote is refused before connecting"
fetch_fail wrong-key "refused the deploy key for user root" "$URL" main --ssh-key "$TMP/wrong"
ok "a deploy key the server does not know is refused"
fetch_fail ed25519 "Ed25519 keys are not supported" "$URL" main --ssh-key "$TMP/deploy-ed"
ok "an Ed25519 key is refused with advice (libssh2 1.10 + mbedTLS cannot sign with it)"

# ---- submodules over SSH -----------------------------------------------------------------
# ssuper.git has lib/s via ../ssub.git at a commit that is not ssub's tip;
# branch foreign names the same repository by another host name
# (localhost): the deploy key is not offered there.
git init -q -b main "$TMP/ssub" && for i in 1 2 3; do echo "s$i" >"$TMP/ssub/s.txt";
	git -C "$TMP/ssub" add -A; git -C "$TMP/ssub" commit -qm "s$i"; done
SSUB=$(git -C "$TMP/ssub" rev-parse HEAD~1)
git clone -q --bare "$TMP/ssub" "$TMP/ssub.git"
git init -q -b main "$TMP/ssuper" && echo top >"$TMP/ssuper/top.txt"
(cd "$TMP/ssuper" && git update-index --add --cacheinfo 160000,"$SSUB",lib/s &&
	git config -f .gitmodules submodule.s.path lib/s && git config -f .gitmodules submodule.s.url ../ssub.git &&
	git add top.txt .gitmodules && git commit -qm super && git checkout -q -b foreign &&
	git config -f .gitmodules submodule.s.url "ssh://root@localhost:$PORT$TMP/ssub.git" &&
	git add .gitmodules && git commit -qm foreign && git checkout -q main)
git clone -q --bare "$TMP/ssuper" "$TMP/ssuper.git"
SURL="ssh://root@127.0.0.1:$PORT$TMP/ssuper.git"
# sm_ssh NAME: the recursive fetch of ssuper main, lib/s judged by git
sm_ssh() {
	tg "$1" "$SURL" main --ssh-key "$TMP/deploy" --recurse || { cat "$TMP/err" >&2; fail "$1: fetch failed"; }
	listing "$TMP/ws/$1/lib/s" >"$TMP/got.$1"
	git -C "$TMP/ssub.git" ls-tree -r --full-tree "$SSUB" | sort >"$TMP/want.$1"
	diff -u "$TMP/want.$1" "$TMP/got.$1" >&2 || fail "$1: lib/s differs from git ls-tree of $SSUB"
	grep -q "^submodule lib/s $SSUB ssh://root@127.0.0.1:$PORT$TMP/ssub.git depth 1" "$TMP/out.$1" ||
		fail "$1: the submodule is not reported"
}
sm_ssh sm-v2
grep -q "^submodule lib/s $SSUB .* v2$" "$TMP/out.sm-v2" || fail "sm-v2: not by id over v2"
ok "submodule over SSH (v2): ../ssub.git resolved against the ssh:// URL, a non-tip commit asked for by id"
tg sm-foreign "$SURL" foreign --ssh-key "$TMP/deploy" --recurse && fail "sm-foreign: fetch succeeded"
grep -q "submodule lib/s (ssh://root@localhost:$PORT$TMP/ssub.git) at $SSUB: an SSH fetch needs a deploy key" \
	"$TMP/err" || fail "sm-foreign: $(cat "$TMP/err")"
ok "a submodule on another SSH host name gets no deploy key: $(grep -o 'submodule lib/s.*' "$TMP/err" | head -c 200)"
stop_sshd

# ---- a server without v2 (GIT_PROTOCOL not accepted) ------------------------------------
start_sshd v0 "$TMP/hk1"
fetch_ok v0-server main
grep -qx 'protocol 0' "$TMP/out.v0-server" || fail "v0-server: not v0"
ok "server not accepting GIT_PROTOCOL: v0 fallback, same checkout"
sm_ssh sm-v0
grep -q "^submodule lib/s $SSUB .* v0 searched$" "$TMP/out.sm-v0" || fail "sm-v0: not v0 by history"
ok "submodule over SSH v0: upload-pack refuses the non-tip commit by id, found in HEAD's last commits instead"
stop_sshd

# ---- the host key changes: refused ----------------------------------------------------------
start_sshd hk2 "$TMP/hk2" "AcceptEnv GIT_PROTOCOL"
fetch_fail changed-key "is not the pinned one" "$URL" main --ssh-key "$TMP/deploy"
grep -q "pinned ecdsa-sha2-nistp256 $(fp "$TMP/hk1.pub"), offered ecdsa-sha2-nistp256 $(fp "$TMP/hk2.pub")" \
	"$TMP/err" || { cat "$TMP/err" >&2; fail "changed-key: both fingerprints are not named"; }
grep -q "127.0.0.1:$PORT" "$TMP/err" || fail "changed-key: the host is not named"
cmp -s "$PINS" "$TMP/pins.1" || fail "changed-key: the pin file changed"
grep -q "Accepted publickey" "$TMP/sshd-hk2.log" && fail "changed-key: the deploy key was offered to it"
ok "a changed host key is refused (both SHA256 fingerprints named), before authentication"
PINS=$TMP/known_hosts.other
fetch_ok other-pins main
ok "with a fresh pin file the same server is pinned again and works"
PINS=$TMP/known_hosts
stop_sshd

# ---- servers that are not git ---------------------------------------------------------------
start_sshd urandom "$TMP/hk1" "ForceCommand exec cat /dev/urandom"
t0=$(date +%s)
fetch_fail urandom "advertisement" "$URL" main --ssh-key "$TMP/deploy"
ok "random bytes instead of git: refused in $(($(date +%s) - t0)) s ($(head -1 "$TMP/err" | cut -c1-100))"
stop_sshd
ADV="003a0000000000000000000000000000000000000000 refs/heads/x"
start_sshd endless "$TMP/hk1" "ForceCommand exec yes '$ADV'"
t0=$(date +%s)
fetch_fail endless "over the limit" "$URL" main --ssh-key "$TMP/deploy"
ok "an endless valid advertisement ends at GIT_MAX_ADV in $(($(date +%s) - t0)) s"
stop_sshd
start_sshd silent "$TMP/hk1" "ForceCommand exec sleep 20"
t0=$(date +%s)
fetch_fail silent "timed out" "$URL" main --ssh-key "$TMP/deploy" --timeout-ms 1500
[ $(($(date +%s) - t0)) -lt 10 ] || fail "silent: the timeout took too long"
ok "a silent server times out ($(($(date +%s) - t0)) s with a 1.5 s wait bound)"
stop_sshd

# ---- servers that are not SSH ------------------------------------------------------------------
cat >"$TMP/nossh.py" <<'EOF'
import os, socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(8)
while True:
    c, _ = s.accept()
    try:
        if sys.argv[2] == "random":
            while True:
                c.sendall(os.urandom(65536))
        elif sys.argv[2] == "packets":     # a banner, then endless 4 KiB "packets"
            c.sendall(b"SSH-2.0-x\r\n")
            while True:
                c.sendall(b"\x00\x00\x10\x00" + os.urandom(4092))
        else:
            time.sleep(30)
    except OSError:
        pass
    c.close()
EOF
for m in random packets silent; do
	python3 "$TMP/nossh.py" "$PORT" "$m" &
	NP=$!
	PIDS+=("$NP")
	wait_tcp "$PORT" 20 || fail "nossh $m did not start"
	t0=$(date +%s)
	case $m in silent) pat="timed out" ;; *) pat="SSH handshake with" ;; esac
	fetch_fail "nossh-$m" "$pat" "ssh://git@127.0.0.1:$PORT/r" main --ssh-key "$TMP/deploy" \
		--timeout-ms 2000
	[ $(($(date +%s) - t0)) -lt 15 ] || fail "nossh-$m took too long"
	ok "not an SSH server ($m): $(head -1 "$TMP/err" | sed 's/.*:\/\/[^ ]* //' | cut -c1-70) in $(($(date +%s) - t0)) s"
	kill "$NP" 2>/dev/null || true
	wait "$NP" 2>/dev/null || true
done

# ---- no key material anywhere ------------------------------------------------------------------
for k in deploy deploy-pem wrong deploy-ed; do
	grep -v -- '-----' "$TMP/$k" | sed 's/^ *//' | grep -v '^$' >>"$TMP/keylines"
done
[ -s "$TMP/keylines" ] && [ -s "$ALL" ] || fail "nothing to compare"
if grep -F -f "$TMP/keylines" "$ALL" >/dev/null; then fail "deploy key text appears in the output"; fi
grep -q "PRIVATE KEY" "$ALL" && fail "a PEM header appears in the output"
ok "no line of any deploy key appears in $(wc -l <"$ALL") lines of output"
echo "# all $n passed"
