#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Layer extraction against hostile archives written by Python's tarfile
# (tests/mkhostile.py), and the layer writer judged by GNU tar, gzip and
# Python (the parallel gzip too: the same bytes with 1, 2 and 4 threads,
# and gzip, python's gzip and zlib read the tar of the diff_id). Each archive
# is unpacked by `test_arc unpack` into a fresh root in a fresh case
# directory that also holds a canary directory; after every case
# the listing of the whole temp dir (the root excepted) and the canary's
# content must be unchanged, and the refusal must name the expected reason.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

T=$(dirname "$SBSD")/tests/test_arc
[ -x "$T" ] || fail "$T not built (make unit first)"
arc() { $RUN "$T" "$@"; }

CASE=$TMP/case
CANARY=$CASE/canary
python3 "$TESTS_DIR/mkhostile.py" "$TMP/archives" "$CANARY" || fail "mkhostile.py"

W=$TMP/work
mkdir -p "$W"
listing() { # everything under $TMP but the root, the archives and our notes
	find "$TMP" -mindepth 1 \( -path "$CASE/root" -o -path "$TMP/archives" -o -path "$W" \) \
		-prune -o -printf '%P %y %s %m %T@ %l\n' | sort
}
fresh_case() {
	rm -rf "$CASE"
	mkdir -p "$CASE/root" "$CANARY"
	printf 'canary' >"$CANARY/secret"
	chmod 0644 "$CANARY/secret"
}

while IFS='|' read -r name archive expect words opts; do
	[ "$expect" = layer ] && continue
	fresh_case
	listing >"$W/before"
	set +e
	# shellcheck disable=SC2086
	arc unpack $opts "$archive" "$CASE/root" >"$W/out" 2>"$W/err"
	rc=$?
	set -e
	listing >"$W/after"
	diff "$W/before" "$W/after" >"$W/diff" || fail "$name: changed outside the root: $(cat "$W/diff")"
	[ "$(cat "$CANARY/secret")" = canary ] || fail "$name: canary changed"
	if [ "$expect" = ok ]; then
		[ "$rc" = 0 ] || fail "$name: refused: $(cat "$W/out")"
		ok "$name: unpacked, nothing outside the root"
	else
		[ "$rc" = 1 ] || fail "$name: expected a refusal (exit 1), got $rc: $(cat "$W/out" "$W/err")"
		grep -q -- "$words" "$W/out" || fail "$name: refusal does not say '$words': $(cat "$W/out")"
		ok "$name: $(sed 's/^refused: //' "$W/out" | head -c 110)"
	fi
done <"$TMP/archives/cases.txt"

# what the accepted hostile-looking ones left
fresh_case
arc unpack "$TMP/archives/absolute.tar" "$CASE/root" >/dev/null
[ "$(cat "$CASE/root/etc/abs-x")" = inside ] || fail "absolute path not made relative"
ok "absolute path lands inside the root"
fresh_case
arc unpack "$TMP/archives/symlink-then-write.tar" "$CASE/root" >/dev/null
[ -f "$CASE/root/link" ] && [ ! -L "$CASE/root/link" ] && [ "$(cat "$CASE/root/link")" = replaced ] ||
	fail "symlink-then-write: the symlink was not replaced by the file"
ok "symlink-then-write: the symlink is replaced, its target untouched"

# valid whiteouts and opaque directories over a lower layer
fresh_case
R=$CASE/root
arc unpack "$TMP/archives/lower.tar" "$R" >/dev/null || fail "lower layer"
arc unpack "$TMP/archives/upper.tar.gz" "$R" >"$W/out" || fail "upper layer: $(cat "$W/out")"
(cd "$R" && find . -mindepth 1 -printf '%P %y\n' | sort) >"$W/tree"
cat >"$W/want" <<'EOF'
a d
a/new f
b d
b/stay f
c d
c/d d
c/d/f2 f
c/f f
c/hl f
EOF
diff "$W/want" "$W/tree" >"$W/diff" || fail "whiteouts: unexpected tree: $(cat "$W/diff")"
[ "$(stat -c %i "$R/c/f")" = "$(stat -c %i "$R/c/hl")" ] || fail "hardlink to a lower file is not a link"
ok "whiteouts, opaque directory and a hardlink to a lower file give the expected tree"
arc unpack "$TMP/archives/upper-late-opq.tar" "$R" >/dev/null || fail "late opaque marker"
[ "$(cd "$R/a" && ls -A)" = late ] || fail "late opaque marker: a/ holds $(ls -A "$R/a")"
ok "an opaque marker after the layer's own entry keeps that entry only"

# the writer, judged by GNU tar, gzip and python
S=$TMP/src
mkdir -p "$S/bin" "$S/etc/deep"
printf '#!/bin/sh\necho hi\n' >"$S/bin/run" && chmod 0755 "$S/bin/run"
printf 'new\n' >"$S/etc/new" && touch -d @1900000000 "$S/etc/new"
printf 'old\n' >"$S/etc/old" && touch -d @1000000000 "$S/etc/old"
head -c 300000 /dev/urandom >"$S/rand.bin"
ln "$S/rand.bin" "$S/bin/rand-link"
ln -s ../etc/old "$S/bin/sym"
L=$(printf 'l%.0s' $(seq 1 150))
printf 'long\n' >"$S/etc/deep/$L"
EPOCH=1700000000
arc write "$S" "$TMP/l1.tgz" $EPOCH >"$W/w1" || fail "write 1"
sleep 0.01
arc write "$S" "$TMP/l2.tgz" $EPOCH >"$W/w2" || fail "write 2"
cmp "$TMP/l1.tgz" "$TMP/l2.tgz" || fail "two writes of one tree differ"
cmp "$W/w1" "$W/w2" || fail "digests differ"
ok "two writes of one tree are byte-identical"
want=$(sha256sum <"$TMP/l1.tgz" | cut -d' ' -f1)
grep -q "^digest sha256:$want " "$W/w1" || fail "blob digest is not sha256sum of the file"
want=$(gzip -dc "$TMP/l1.tgz" | sha256sum | cut -d' ' -f1)
grep -q "^diff_id sha256:$want " "$W/w1" || fail "diff_id is not sha256sum of the tar"
ok "digest and diff_id agree with sha256sum and gzip -dc"
[ "$(head -c 10 "$TMP/l1.tgz" | od -An -tx1 | tr -d ' \n')" = 1f8b08000000000000ff ] ||
	fail "gzip header is not fixed"
usize=$(gzip -l "$TMP/l1.tgz" | awk 'NR == 2 { print $2 }')
psize=$(python3 -c 'import gzip, sys; print(len(gzip.open(sys.argv[1]).read()))' "$TMP/l1.tgz")
[ "$usize" = "$psize" ] || fail "gzip -l says $usize, python gzip $psize"
ok "gzip header fixed; gzip -l and python gzip agree on $usize bytes"

TZ=UTC tar --numeric-owner --full-time -tvzf "$TMP/l1.tgz" >"$W/tv" || fail "GNU tar cannot list the layer"
u=$(id -u)
g=$(id -g)
check_tv() { # NAME MODE MTIME [LINK]: one line of tar -tv
	local link=${4:-}
	grep -qE "^$2 $u/$g +[0-9]+ $3 $1( -> $link| link to $link)?\$" "$W/tv" ||
		fail "tar -tv: no '$1' with $2 $3 ${4:-}: $(grep -F "$1" "$W/tv" | head -n2)"
}
check_tv 'bin/' drwxr-xr-x '2023-11-14 22:13:20'
check_tv 'bin/run' -rwxr-xr-x '2023-11-14 22:13:20'
check_tv 'etc/new' -rw-r--r-- '2023-11-14 22:13:20'
check_tv 'etc/old' -rw-r--r-- '2001-09-09 01:46:40'
check_tv 'bin/rand-link' -rw-r--r-- '2023-11-14 22:13:20'
check_tv 'rand.bin' hrw-r--r-- '2023-11-14 22:13:20' 'bin/rand-link'
check_tv 'bin/sym' lrwxrwxrwx '2023-11-14 22:13:20' '../etc/old'
check_tv "etc/deep/$L" -rw-r--r-- '2023-11-14 22:13:20'
[ "$(awk '{print $NF}' "$W/tv" | head -n3 | tr '\n' ' ')" = "bin/ bin/rand-link bin/run " ] ||
	fail "entries are not sorted: $(head -n3 "$W/tv")"
ok "GNU tar lists sorted names, modes, clamped mtimes, owners, link targets"

python3 - "$TMP/l1.tgz" "$EPOCH" <<'EOF' || fail "python tarfile disagrees"
import sys, tarfile
names = []
with tarfile.open(sys.argv[1]) as t:
    for m in t:
        names.append(m.name)
        assert m.mtime <= int(sys.argv[2]), m.name
        assert m.uname == "" and m.gname == "", m.name
        for k in m.pax_headers:
            assert k in ("path", "linkpath", "size", "uid", "gid", "hdrcharset"), k
    assert names == sorted(names, key=lambda s: s.encode()), names
    m = t.getmember("bin/sym")
    assert m.issym() and m.linkname == "../etc/old"
    m = t.getmember("rand.bin")
    assert m.islnk() and m.linkname == "bin/rand-link"
    assert t.extractfile("bin/rand-link").read() == open(sys.argv[1].rsplit("/", 1)[0] + "/src/rand.bin", "rb").read()
EOF
ok "python tarfile: sorted, clamped, empty owner names, only needed pax keys, contents"

fresh_case
arc unpack "$TMP/l1.tgz" "$CASE/root" >/dev/null || fail "own layer does not unpack"
cmp "$S/rand.bin" "$CASE/root/rand.bin" || fail "round trip content"
ok "the written layer unpacks to the same contents"

# parallel gzip: the same bytes with 1, 2 and 4 threads, judged by gzip -t,
# python's gzip and zlib (a random file is stored, a text file deflated)
P=$TMP/par
mkdir -p "$P/d"
head -c 3000000 /dev/urandom >"$P/rand.bin"
seq 1 400000 >"$P/d/text.txt"
cp "$S/bin/run" "$P/d/run"
for t in 1 2 4; do
	arc write "$P" "$TMP/p$t.tgz" $EPOCH $t >"$W/p$t" || fail "write with $t threads"
done
cmp "$TMP/p1.tgz" "$TMP/p2.tgz" && cmp "$TMP/p1.tgz" "$TMP/p4.tgz" || fail "bytes depend on the thread count"
cmp "$W/p1" "$W/p4" || fail "digests depend on the thread count"
ok "1, 2 and 4 threads write the same bytes"
gzip -t "$TMP/p4.tgz" || fail "gzip -t"
want=$(grep '^diff_id' "$W/p4" | cut -d: -f2 | cut -d' ' -f1)
python3 - "$TMP/p4.tgz" "$want" "$P" <<'EOF' || fail "python gzip/zlib disagree"
import gzip, hashlib, io, sys, tarfile, zlib
blob = open(sys.argv[1], "rb").read()
a = gzip.decompress(blob)
d = zlib.decompressobj(wbits=31)
b = d.decompress(blob) + d.flush()
assert d.eof and not d.unused_data, "trailing bytes"
assert a == b and hashlib.sha256(a).hexdigest() == sys.argv[2], "tar differs from diff_id"
with tarfile.open(fileobj=io.BytesIO(a)) as t:
    assert t.extractfile("rand.bin").read() == open(sys.argv[3] + "/rand.bin", "rb").read()
    assert t.extractfile("d/text.txt").read() == open(sys.argv[3] + "/d/text.txt", "rb").read()
assert len(blob) < 3000000 + 2600000 // 2, len(blob)
EOF
[ "$(gzip -dc "$TMP/p4.tgz" | sha256sum | cut -d' ' -f1)" = "$want" ] || fail "gzip -dc tar != diff_id"
ok "gzip -t, gzip -dc, python gzip and zlib read the same tar (sha256 = diff_id)"

# the manifest .tbz
mkdir -p "$TMP/git/src"
printf 'int main;\n' >"$TMP/git/src/main.c"
arc tbz "$TMP/m1.tbz" "$TMP/git" 1700000000 >/dev/null || fail "tbz"
arc tbz "$TMP/m2.tbz" "$TMP/git" 1700000000 >/dev/null || fail "tbz"
cmp "$TMP/m1.tbz" "$TMP/m2.tbz" || fail "tbz not byte-stable"
bzip2 -t "$TMP/m1.tbz" || fail "bzip2 -t"
tar -tjf "$TMP/m1.tbz" >"$W/tl"
printf 'data/\ndata/build.json\ndata/build.log\ngit/\ngit/src/\ngit/src/main.c\n' | diff - "$W/tl" ||
	fail "tbz members"
ok "manifest .tbz: byte-stable, bzip2 -t passes, GNU tar lists data/ and git/"
echo "all $n arc checks passed"
