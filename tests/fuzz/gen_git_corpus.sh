#!/bin/bash
# SPDX-License-Identifier: MIT
# Regenerates the seed corpora of fuzz_gitpack and fuzz_pktline with the real
# git: small packs (OFS and REF deltas, every object type) without their
# trailing SHA-1 (the target appends it), and what `git upload-pack
# --stateless-rpc` answers to discovery, ls-refs and fetch in protocol v2 and
# v0, each prefixed with the target's two selector bytes. Output is
# deterministic in shape, not in bytes (commit times differ).
set -euo pipefail
top=$(cd "$(dirname "$0")" && pwd)
P=$top/corpus/gitpack; L=$top/corpus/pktline
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
export GIT_CONFIG_NOSYSTEM=1 HOME=$T GIT_AUTHOR_NAME=a GIT_AUTHOR_EMAIL=a@b GIT_COMMITTER_NAME=c \
	GIT_COMMITTER_EMAIL=c@d
rm -rf "$P" "$L"; mkdir -p "$P" "$L"
git init -q -b main "$T/w"; cd "$T/w"
seq 1 200 >a.txt; mkdir d; echo hi >d/b; ln -s a.txt l; printf '#!/bin/sh\n' >x; chmod 755 x
git add -A; git commit -qm 1
for i in 2 3 4; do sed -i "s/^$i\$/v$i/" a.txt; echo $i >>a.txt; git add -A; git commit -qm $i; done
git tag -a -m tag t1
git update-index --add --cacheinfo 160000,"$(git rev-parse HEAD~1)",sub; git commit -qm sub
strip() { head -c $(($(stat -c %s "$1") - 20)) "$1" >"$2"; }
git rev-parse HEAD | git pack-objects -q --revs --stdout --delta-base-offset >"$T/ofs.pack"
git rev-parse HEAD | git pack-objects -q --revs --stdout >"$T/ref.pack"
git rev-parse HEAD~4 | git pack-objects -q --revs --stdout >"$T/one.pack"
printf 't1\n' | git pack-objects -q --revs --stdout --delta-base-offset >"$T/tag.pack"
for f in ofs ref one tag; do strip "$T/$f.pack" "$P/$f"; done
cd "$T"; git clone -q --bare w r.git
req() { # builds a request with python: pkt-lines from argv ("0000"/"0001" literal)
	python3 -c 'import sys
o=b""
for a in sys.argv[1:]:
    o += a.encode() if a in ("0000","0001") else b"%04x" % (len(a)+5) + a.encode() + b"\n"
sys.stdout.buffer.write(o)' "$@"; }
H=$(git -C r.git rev-parse HEAD)
sel() { printf "\\x$(printf %02x "$1")\\x$(printf %02x "$2")"; cat; }
GIT_PROTOCOL=version=2 git upload-pack --advertise-refs --stateless-rpc r.git | sel 0 0 >"$L/adv-v2"
git upload-pack --advertise-refs --stateless-rpc r.git | sel 8 0 >"$L/adv-v0"
git upload-pack --advertise-refs --stateless-rpc r.git | sel 0 0 >"$L/adv-v0-head"
req command=ls-refs 0001 symrefs "ref-prefix HEAD" "ref-prefix refs/heads/main" 0000 |
	GIT_PROTOCOL=version=2 git upload-pack --stateless-rpc r.git | sel 1 0 >"$L/lsrefs-head"
req command=ls-refs 0001 symrefs "ref-prefix refs/heads/main" 0000 |
	GIT_PROTOCOL=version=2 git upload-pack --stateless-rpc r.git | sel 9 0 >"$L/lsrefs-main"
# fetch answers: only the first 3000 bytes of the pack matter for framing
req command=fetch 0001 ofs-delta no-progress "want $H" "deepen 1" done 0000 |
	GIT_PROTOCOL=version=2 git upload-pack --stateless-rpc r.git 2>/dev/null | sel 2 7 >"$L/fetch-v2"
req "want $H side-band-64k ofs-delta no-progress" "deepen 1" 0000 done |
	git upload-pack --stateless-rpc r.git | sel 3 200 >"$L/fetch-v0"
req "want $H ofs-delta" 0000 done | git upload-pack --stateless-rpc r.git | sel 4 30 >"$L/fetch-v0-raw"
du -sb "$P" "$L"
