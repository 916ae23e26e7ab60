#!/bin/sh
# SPDX-License-Identifier: MIT
# fetch-src.sh DIR PKG...: download the Debian source package of each PKG into
# DIR (apt-get source --download-only). The newest version is tried first; when
# the archive cannot serve it (seen: bookworm-security answering 404 for a
# .dsc its signed index lists), every other version apt knows is tried, newest
# first, so a fresh machine still builds. Prints the version taken.
set -eu
dir=$1; shift
cd "$dir"
fetch() { # pkg [=version]
	apt-get source -qq --download-only "$1$2" 2>&1 | \
		grep -v -e '^W: Download is performed unsandboxed' -e '404  Not Found' \
		        -e '^E: Failed to fetch some' || true
	ls "${1}"_*.dsc >/dev/null 2>&1
}
for p in "$@"; do
	if fetch "$p" ""; then
		echo "deps: $p $(ls "${p}"_*.dsc | head -n1 | sed "s/^${p}_//; s/\.dsc$//")"
		continue
	fi
	ok=0
	for v in $(apt-cache showsrc "$p" | sed -n 's/^Version: //p' | sort -u -V -r); do
		rm -f "${p}"_* 2>/dev/null || true
		if fetch "$p" "=$v"; then echo "deps: $p $v (fallback: newest not served)"; ok=1; break; fi
	done
	[ $ok = 1 ] || { echo "deps: no source package for $p could be fetched" >&2; exit 1; }
done
