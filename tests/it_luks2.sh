#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The LUKS2 data volume judged by the real cryptsetup (2.x, package
# cryptsetup-bin), on image files only, never a host disk:
#  (a) an image formatted by sbs: luksDump parses it and shows our layout,
#      --test-passphrase takes the passphrase and refuses a wrong one,
#      --dump-volume-key shows the volume key we made (compared by SHA-256),
#      and cryptsetup still opens it from our secondary header alone;
#  (b) an image formatted by cryptsetup (pbkdf2, aes-xts-plain64, 512-bit key)
#      opens with our code to the same volume key;
#  (c) with device-mapper and loop devices (root): our dm.c maps the sbs
#      volume, data written through /dev/dm-N reads back through a mapping
#      made by cryptsetup, and the image holds no plaintext. Skipped, with
#      the reason, where the kernel has no device-mapper.
# The driver is the unit test binary with arguments (tests/test_luks2.c),
# found next to $SBSD and run under $RUN.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

T=$(dirname "$SBSD")/tests/test_luks2
[ -x "$T" ] || fail "$T missing (make TARGET=$TARGET unit builds it)"
command -v cryptsetup >/dev/null || fail "cryptsetup missing (package cryptsetup-bin)"
LOOP= MAPS=() CSMAP=
luks_cleanup() {
	[ -n "$CSMAP" ] && cryptsetup close "$CSMAP" 2>/dev/null
	for m in "${MAPS[@]:-}"; do [ -n "$m" ] && $RUN "$T" unmap "$m" 2>/dev/null; done
	[ -n "$LOOP" ] && losetup -d "$LOOP" 2>/dev/null
	cleanup
}
trap luks_cleanup EXIT
cd "$TMP"

# vk_hash_cs IMG KEYFILE: SHA-256 of the volume key as cryptsetup dumps it.
vk_hash_cs() {
	cryptsetup luksDump --dump-volume-key --batch-mode --key-file "$2" "$1" >dump 2>"$TMP/err" ||
		fail "cryptsetup --dump-volume-key on $1"
	sed -n '/^MK dump:/,$p' dump | sed 's/^MK dump://' | tr -d ' \t\n' | xxd -r -p | sha256sum |
		cut -d' ' -f1
}
cs_test() { cryptsetup open --test-passphrase --key-file "$2" "$1" 2>"$TMP/err"; }

# ---- (a) sbs formats, cryptsetup judges ----
printf 'correct horse battery staple' >pass.key
printf 'correct horse battery stapl3' >wrong.key
truncate -s 64M sbs.img
H=$($RUN "$T" format sbs.img "$(cat pass.key)" 1000 2>"$TMP/err") || fail "sbs format"
[ ${#H} = 64 ] || fail "format printed no key hash"
cryptsetup luksDump sbs.img >dump.txt 2>"$TMP/err" || fail "cryptsetup luksDump cannot parse our header"
for want in 'Version:[[:space:]]*2' 'Metadata area:[[:space:]]*16384' 'offset: 16777216' \
	'cipher: aes-xts-plain64' 'sector: 512' 'PBKDF:[[:space:]]*pbkdf2' 'Iterations: 1000' \
	'AF stripes: 4000' 'AF hash:[[:space:]]*sha256' 'Area offset:32768' 'Area length:258048' \
	'Cipher key: 512 bits'; do
	grep -q -- "$want" dump.txt || fail "luksDump lacks '$want'"
done
ok "cryptsetup luksDump parses the sbs header and shows its layout"
cs_test sbs.img pass.key || fail "cryptsetup refuses our passphrase"
ok "cryptsetup accepts the passphrase of an sbs-formatted volume"
if cs_test sbs.img wrong.key; then fail "cryptsetup accepts a wrong passphrase"; fi
ok "cryptsetup refuses a wrong passphrase"
[ "$(vk_hash_cs sbs.img pass.key)" = "$H" ] || fail "cryptsetup's volume key differs from ours"
ok "cryptsetup --dump-volume-key shows the volume key sbs made"
[ "$($RUN "$T" open sbs.img "$(cat pass.key)")" = "$H" ] || fail "sbs cannot reopen its volume"
rc=0; $RUN "$T" open sbs.img "$(cat wrong.key)" >/dev/null 2>&1 || rc=$?
[ $rc = 3 ] || fail "sbs open with a wrong passphrase: exit $rc, want 3 (-EKEYREJECTED)"
ok "sbs reopens its volume and rejects a wrong passphrase"
cp sbs.img sec.img
dd if=/dev/zero of=sec.img bs=4096 count=1 conv=notrunc status=none
cs_test sec.img pass.key || fail "cryptsetup cannot use our secondary header"
[ "$(vk_hash_cs sec.img pass.key)" = "$H" ] || fail "secondary header: other volume key"
ok "cryptsetup opens the volume from the sbs secondary header alone"
truncate -s 64M bench.img
HB=$($RUN "$T" format bench.img "$(cat pass.key)" 0 2>"$TMP/err") || fail "sbs format, benchmarked"
IT=$(cryptsetup luksDump bench.img | sed -n 's/^[[:space:]]*Iterations:[[:space:]]*//p' | head -n1)
[ "${IT:-0}" -ge 1000 ] || fail "benchmarked iterations $IT < 1000"
[ "$(vk_hash_cs bench.img pass.key)" = "$HB" ] || fail "benchmarked volume: other volume key"
ok "benchmarked KDF ($IT iterations) accepted by cryptsetup"

# ---- (b) cryptsetup formats, sbs opens ----
truncate -s 64M cs.img
cryptsetup luksFormat --batch-mode --type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 \
	--cipher aes-xts-plain64 --key-size 512 --key-file pass.key cs.img 2>"$TMP/err" ||
	fail "cryptsetup luksFormat"
HC=$($RUN "$T" open cs.img "$(cat pass.key)" 2>"$TMP/err") || fail "sbs cannot open a cryptsetup volume"
[ "$HC" = "$(vk_hash_cs cs.img pass.key)" ] || fail "sbs and cryptsetup disagree on the volume key"
ok "sbs opens a cryptsetup-formatted LUKS2 volume to the same volume key"
rc=0; $RUN "$T" open cs.img "$(cat wrong.key)" >/dev/null 2>&1 || rc=$?
[ $rc = 3 ] || fail "cryptsetup volume, wrong passphrase: exit $rc, want 3"
ok "sbs rejects a wrong passphrase on a cryptsetup volume"
truncate -s 64M argon.img
cryptsetup luksFormat --batch-mode --type luks2 --pbkdf argon2id --pbkdf-force-iterations 4 \
	--pbkdf-memory 32 --key-file pass.key argon.img 2>/dev/null || true
if cryptsetup isLuks argon.img 2>/dev/null; then
	rc=0; $RUN "$T" open argon.img "$(cat pass.key)" >/dev/null 2>&1 || rc=$?
	[ $rc = 2 ] || fail "argon2 keyslot: exit $rc, want 2 (-ENOTSUP)"
	ok "an argon2 keyslot is refused as unsupported"
fi

# ---- (c) dm.c maps, cryptsetup reads back ----
skip_c() { echo "skip: (c) $*"; }
if [ "$(id -u)" != 0 ]; then
	skip_c "not root"
elif ! grep -qw device-mapper /proc/misc 2>/dev/null || [ ! -c /dev/mapper/control ]; then
	skip_c "no device-mapper in this kernel (/proc/misc has no device-mapper)"
elif ! LOOP=$(losetup -f --show sbs.img 2>/dev/null); then
	LOOP=
	skip_c "losetup cannot attach a loop device"
else
	name=sbs-it-$$
	MAPS=("$name")
	DM=$($RUN "$T" map "$LOOP" "$(cat pass.key)" "$name" 2>"$TMP/err") || fail "dm map"
	[ -b "$DM" ] || fail "dm map printed $DM, not a block device"
	head -c 1048576 /dev/urandom >plain
	dd if=plain of="$DM" bs=1M count=1 oflag=direct status=none || fail "write through $DM"
	$RUN "$T" unmap "$name" || fail "dm unmap"
	MAPS=()
	CSMAP=sbs-it-cs-$$
	cryptsetup open --key-file pass.key "$LOOP" "$CSMAP" 2>"$TMP/err" || fail "cryptsetup open"
	dd if="/dev/mapper/$CSMAP" bs=1M count=1 iflag=direct status=none | cmp -s - plain ||
		fail "cryptsetup reads other data than dm.c wrote"
	cryptsetup close "$CSMAP"
	CSMAP=
	losetup -d "$LOOP"
	LOOP=
	dd if=sbs.img bs=1M skip=16 count=1 status=none | cmp -s - plain &&
		fail "plaintext on the image"
	ok "data written through dm.c's mapping reads back through cryptsetup's"
fi
echo "it_luks2: $n passed"
