#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# End-to-end test of the s390x appliance: qemu/e2e.sh APPDIR SBS
# Boots APPDIR/vmlinuz + (env cpio ‖ APPDIR/initramfs.cpio.gz) under
# qemu-system-s390x (TCG) with a fresh 256 MiB disk and 127.0.0.1:PORT
# forwarded to the guest's 443, then drives the host client SBS: status
# --noverify, the CSR bootstrap, status, init, update, get-publickey,
# get-state-image; powers off through the monitor (system_powerdown) and
# boots again from the same disk: the posted certificate verifies, the
# public key and parameters are unchanged, and `sbs attest` is told plainly
# that the guest is not protected (QEMU cannot emulate Secure Execution). A third boot from the same disk
# with another env seed must refuse the volume on the console, power off and
# leave the disk image byte-identical (sha256 before and after). Then the
# host's cryptsetup judges the volume: luksDump reads it, and
# open --test-passphrase accepts hex(SHA-256(workload seed || env seed)),
# computed here with sha256sum, and rejects another; the volume key it dumps
# decrypts the data segment (aes-xts-plain64, python3-cryptography) to the
# ext4 superblock the guest wrote through dm-crypt, and the raw disk holds no
# plaintext parameter. Boot timings are printed
# for information only. Every wait is bounded; QEMU is killed by the EXIT trap.
set -euo pipefail
QDIR=$(cd "$(dirname "$0")" && pwd)
APP=$(cd "$1" && pwd)
SBS=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
W=$(mktemp -d /tmp/sbs-e2e.XXXXXX)
QPID=
n=0
cleanup() {
	[ -n "$QPID" ] && { kill -9 "$QPID" && wait "$QPID"; } 2>/dev/null || true
	if [ "${KEEP_TMP:-0}" = 1 ]; then echo "kept $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
ok() { n=$((n + 1)); echo "ok $n - $*"; }
fail() {
	echo "FAIL - $*" >&2
	[ -s "$W/err" ] && sed 's/^/  stderr: /' "$W/err" | tail -15 >&2
	for l in "$W"/console-*.log; do [ -f "$l" ] && { echo "  --- $l" >&2; tail -20 "$l" >&2; }; done
	exit 1
}
has() { grep -q -- "$1" "$2"; }
now() { date +%s.%N; }
since() { echo "$(now) - $1" | bc; }
# TCG on a loaded host: the first get-publickey makes the RSA-2048 manifest
# key inside the emulated guest, which has taken over 30 s here
export SBS_TIMEOUT=${SBS_TIMEOUT:-180}
sbs() { "$SBS" "$@" >"$W/out" 2>"$W/err"; }

cd "$W"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >sbs-config.json <<JSON
{
    "HOSTNAME": "localhost",
    "CICD_PORT": "$PORT",
    "CONTAINER_NAME": "e2e",
    "RUNTIME_TYPE": "vpc",
    "IMAGE_TAG": "1.0.0",
    "GITHUB_KEY_FILE": "$W/github_key",
    "GITHUB_URL": "git@github.com:example/app.git",
    "GITHUB_BRANCH": "main",
    "DOCKER_REPO": "example/app",
    "DOCKER_USER": "builder",
    "DOCKER_PASSWORD": "pw-e2e-Do-Not-Leak",
    "IMAGE_TAG_PREFIX": "s390x-v1"
}
JSON
printf -- '-----BEGIN OPENSSH PRIVATE KEY-----\nGHKEY-e2e\n-----END OPENSSH PRIVATE KEY-----\n' >github_key
sbs create-client-cert --env sbs-config.json || fail "create-client-cert"
sbs appliance-env --env sbs-config.json --out env.cpio || fail "appliance-env"
# the uncompressed env cpio goes first: the kernel rejects a plain cpio after a gzip member
cat env.cpio "$APP/initramfs.cpio.gz" >initrd
truncate -s 256M disk.img
ok "client certificate, env cpio ($(stat -c %s env.cpio) bytes), fresh 256 MiB disk"

# boot NAME [INITRD]: starts QEMU in the background, sets QPID and T0
boot() {
	T0=$(now)
	rm -f "$W/mon.sock"
	: >"$W/console-$1.log"
	"$QDIR"/boot.sh "$APP/vmlinuz" "$W/${2:-initrd}" "$W/disk.img" "$PORT" "$W/mon.sock" \
		>"$W/console-$1.log" 2>&1 </dev/null &
	QPID=$!
}
# wait_listening NAME: the server's "listening" line on the console (bounded)
wait_listening() {
	local i
	for i in $(seq 1 600); do
		has "listening on" "$W/console-$1.log" && return 0
		kill -0 "$QPID" 2>/dev/null || fail "QEMU exited during boot $1"
		sleep 0.1
	done
	fail "no 'listening' line within 60 s (boot $1)"
}
# status_retry ARGS: slirp accepts before the guest listens, so retry (bounded)
status_retry() {
	local i
	for i in $(seq 1 20); do
		sbs status --env sbs-config.json "$@" && return 0
		sleep 0.5
	done
	return 1
}
powerdown() {
	local t=$(now) i
	python3 - "$W/mon.sock" <<'PY' || fail "monitor: system_powerdown"
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.settimeout(5)
s.recv(4096)
s.sendall(b"system_powerdown\n")
time.sleep(0.3)
s.close()
PY
	for i in $(seq 1 300); do
		kill -0 "$QPID" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$QPID" 2>/dev/null && fail "QEMU still running 30 s after system_powerdown"
	wait "$QPID" || fail "QEMU exit status $? after power-off"
	QPID=
	echo "# power-off: QEMU exited $(since "$t") s after system_powerdown"
}

# ---- first boot: fresh disk ----
boot 1
wait_listening 1
status_retry --noverify || fail "status --noverify on first boot"
echo "# boot 1 (formats the disk): QEMU start -> first successful status $(since "$T0") s"
has "formatting it" "$W/console-1.log" || fail "first boot did not format the disk"
ok "first boot: disk formatted, status --noverify answers"
sbs get-server-csr --env sbs-config.json || fail "get-server-csr"
sbs sign-csr --env sbs-config.json || fail "sign-csr"
# The guest's TOD clock under TCG trails the host by a second or two, and
# sign-csr sets notBefore to the host's "now": retry until the guest agrees.
for i in $(seq 1 20); do
	sbs post-server-cert --env sbs-config.json && break
	has "not valid now" "$W/err" || fail "post-server-cert"
	sleep 0.5
done
has '"OK"' "$W/out" || fail "post-server-cert (guest clock still before the certificate's notBefore?)"
sbs status --env sbs-config.json || fail "status verified after post-server-cert"
ok "CSR bootstrap: status verifies the posted certificate"
sbs init --env sbs-config.json || fail "init"
has '"status": "OK"' "$W/out" || fail "init reply: $(cat "$W/out")"
jq '.IMAGE_TAG_PREFIX = "s390x-v2"' sbs-config.json >c2 && mv c2 sbs-config.json
sbs update --env sbs-config.json || fail "update"
has '"status": "OK"' "$W/out" || fail "update reply: $(cat "$W/out")"
sbs get-publickey --env sbs-config.json || fail "get-publickey"
PUB=$(ls manifest.*-public.pem | head -n1)
mv "$PUB" pub-1.pem
sbs status --env sbs-config.json || fail "status after update"
cp "$W/out" status-1.json
sbs get-state-image --env sbs-config.json || fail "get-state-image"
STATE=$(ls sbs-state.* | head -n1)
jq -e '.name and .export_tag and .state' "$STATE" >/dev/null || fail "state image lacks name/export_tag/state"
ok "init, update, get-publickey, get-state-image"
powerdown
has "powering off" "$W/console-1.log" || fail "no clean power-off on the console"
ok "system_powerdown: the server stopped and the guest powered off"

# ---- second boot: same disk ----
boot 2
wait_listening 2
status_retry || fail "status (verified) on the second boot"
echo "# boot 2 (same disk): QEMU start -> first successful status $(since "$T0") s"
has "formatting it" "$W/console-2.log" && fail "second boot formatted the disk again"
cp "$W/out" status-2.json
cmp -s status-1.json status-2.json || fail "status changed across reboot: $(diff status-1.json status-2.json)"
sbs get-publickey --env sbs-config.json || fail "get-publickey after reboot"
cmp -s pub-1.pem "$(ls manifest.*-public.pem | head -n1)" || fail "manifest public key changed across reboot"
sbs update --env sbs-config.json || fail "update after reboot (parameters kept: RUNTIME_TYPE unchanged)"
ok "second boot: posted certificate verifies; status and public key unchanged; parameters kept"
"$SBS" attest --env sbs-config.json --nonce 00c0ffee --out att.bin >"$W/out" 2>"$W/err" &&
	fail "sbs attest succeeded under QEMU (no Secure Execution here)"
has "not protected: /sys/firmware/uv/prot_virt_guest is 0 or absent" "$W/err" ||
	fail "sbs attest: no 'not protected' statement: $(cat "$W/err")"
[ -e att.bin ] && fail "sbs attest wrote evidence although the guest is not protected"
ok "GET /attestation under QEMU: 'not protected' (HTTP 503), sbs attest saves nothing"
powerdown
ok "second power-off"

# ---- third boot: the same disk with other seeds: refused, not written ----
jq '.APPLIANCE_ENV_SEED = "00000000000000000000000000000000000000000000000000000000000000ff"' \
	sbs-config.json >bad-config.json
sbs appliance-env --env bad-config.json --out env-bad.cpio || fail "appliance-env (wrong seed)"
cat env-bad.cpio "$APP/initramfs.cpio.gz" >initrd-bad
SUM0=$(sha256sum <disk.img)
boot 3 initrd-bad
for i in $(seq 1 600); do
	kill -0 "$QPID" 2>/dev/null || break
	sleep 0.1
done
kill -0 "$QPID" 2>/dev/null && fail "the wrong-seed boot did not power off within 60 s"
wait "$QPID" || fail "QEMU exit status $? after the wrong-seed boot"
QPID=
echo "# boot 3 (wrong seed): QEMU start -> power-off $(since "$T0") s"
has "REFUSING the data volume /dev/vda: it holds a LUKS2 volume that does not open" \
	"$W/console-3.log" || fail "no refusal on the console of the wrong-seed boot"
has "listening on" "$W/console-3.log" && fail "the wrong-seed boot started the server"
[ "$(sha256sum <disk.img)" = "$SUM0" ] || fail "the wrong-seed boot changed the disk image"
ok "wrong seed: console refusal, power-off, disk image byte-identical"

# ---- the host's cryptsetup judges the volume ----
command -v cryptsetup >/dev/null || fail "cryptsetup is not installed (apt-get install cryptsetup-bin)"
cryptsetup luksDump disk.img >dump.txt 2>"$W/err" || fail "cryptsetup luksDump"
grep -Eq '^Version:[[:space:]]+2$' dump.txt && grep -q 'PBKDF:[[:space:]]*pbkdf2' dump.txt &&
	grep -q 'cipher: aes-xts-plain64' dump.txt || fail "luksDump: not LUKS2/pbkdf2/aes-xts: $(cat dump.txt)"
PASS=$(printf '%s' "$(jq -r .APPLIANCE_WORKLOAD_SEED sbs-config.json)$(jq -r .APPLIANCE_ENV_SEED sbs-config.json)" |
	sha256sum | cut -c1-64)
printf '%s' "$PASS" >vol.key
cryptsetup open --test-passphrase --key-file vol.key disk.img 2>"$W/err" ||
	fail "cryptsetup open --test-passphrase with hex(SHA-256(workload seed || env seed))"
printf '%s' "$PASS" | tr 0-9a-f 1-9a-f0 >bad.key
cryptsetup open --test-passphrase --key-file bad.key disk.img 2>/dev/null &&
	fail "cryptsetup accepted a wrong passphrase"
ok "host cryptsetup: luksDump reads LUKS2/pbkdf2/aes-xts-plain64; the derived passphrase opens it, another does not"
# The volume key as cryptsetup recovers it decrypts the data segment's sector
# 2 (aes-xts-plain64, IV = sector number from the segment start) to the ext4
# superblock the guest wrote through dm-crypt; the raw disk holds no plaintext.
python3 -c "import cryptography" 2>/dev/null || fail "python3-cryptography is missing (apt-get install python3-cryptography)"
VK=$(cryptsetup luksDump --dump-volume-key --batch-mode --key-file vol.key disk.img 2>/dev/null |
	sed -n '/^MK dump:/,$p' | sed 's/^MK dump://' | tr -d ' \t\n')
[ "${#VK}" = 128 ] || fail "cryptsetup --dump-volume-key"
MAGIC=$(dd if=disk.img bs=512 skip=$((16777216 / 512 + 2)) count=1 2>/dev/null |
	VK=$VK python3 -c '
import os, sys
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
vk = bytes.fromhex(os.environ["VK"])
d = Cipher(algorithms.AES(vk), modes.XTS((2).to_bytes(16, "little"))).decryptor()
sb = d.update(sys.stdin.buffer.read()) + d.finalize()
print(sb[0x38:0x3a].hex())')
VK=
[ "$MAGIC" = 53ef ] || fail "the decrypted data segment holds no ext4 superblock (magic '$MAGIC')"
grep -q "example/app.git" disk.img && fail "plaintext parameters on the raw disk"
ok "host decrypts the data segment with cryptsetup's volume key: ext4 superblock; no plaintext on the raw disk"

if grep -rqs -e "pw-e2e-Do-Not-Leak" -e "$PASS" -e "$(jq -r .APPLIANCE_ENV_SEED sbs-config.json)" \
	-e "$(jq -r .APPLIANCE_SECRET sbs-config.json)" console-*.log; then
	fail "a secret reached the console"
fi
ok "no secret on the console"
echo "e2e: all $n checks passed"
