#!/bin/sh
# SPDX-License-Identifier: MIT
# Builds the appliance initramfs reproducibly from rootfs/files.list:
#   rootfs/mkinitramfs.sh LIST OUT.cpio.gz NAME=path...
# A staging directory gets every entry with the listed mode; every mtime is
# set to 0, names are sorted (C locale), owners forced to 0:0, GNU cpio's
# --reproducible drops inode and device numbers, and gzip -n stores no name or
# time. Two builds from the same inputs give the same bytes.
set -eu
list=$1 out=$2
shift 2
st=$(mktemp -d "${TMPDIR:-/tmp}/sbs-initramfs.XXXXXX")
trap 'rm -rf "$st"' EXIT
subst() {
	v=$1
	for kv in "$@"; do :; done
	case $v in
	@*@*) name=${v#@}; name=${name%%@*}; shift
		for kv in "$@"; do
			[ "${kv%%=*}" = "$name" ] && { echo "${kv#*=}"; return 0; }
		done
		echo "mkinitramfs: no value for @$name@" >&2; return 1 ;;
	*) echo "$v" ;;
	esac
}
grep -v -e '^#' -e '^[[:space:]]*$' "$list" | while read -r kind name a b c d; do
	case $kind in
	dir)  mkdir -p "$st$name"; chmod "$a" "$st$name" ;;
	file) src=$(subst "$a" "$@") || exit 1
		[ -f "$src" ] || { echo "mkinitramfs: $name: no such file $src" >&2; exit 1; }
		cp "$src" "$st$name"; chmod "$b" "$st$name" ;;
	*) echo "mkinitramfs: unknown entry '$kind'" >&2; exit 1 ;;
	esac
done
find "$st" -exec touch -h -d @0 {} +
(cd "$st" && find . -mindepth 1 -print0 | LC_ALL=C sort -z |
	cpio --null --create --format=newc --owner 0:0 --reproducible --quiet) |
	gzip -n -9 > "$out.tmp"
mv "$out.tmp" "$out"
