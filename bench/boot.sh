#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `make bench-boot` (and `make bench` through it): boot figures of the s390x
# appliance under qemu-system-s390x (TCG), next to their floor measured in
# the same run on the same kernel:
#   bench/boot.sh APPDIR SBS [RUNS]
#   floor      QEMU start -> QEMU exit, the initramfs holding only a static
#              musl PID 1 that calls reboot(RB_POWER_OFF) at once
#   appliance  QEMU start -> first successful `sbs status --noverify` (boots
#              from a disk formatted by a warm-up boot: LUKS2 open, dm-crypt,
#              ext4 mount, TLS listener); the console is polled every 20 ms
#              for the "listening" line, then status every 50 ms (an earlier
#              connection would sit in slirp behind the guest's SYN backoff)
#   first boot the same on a blank disk (LUKS2 format + mke2fs), once
# Printed: min and median of RUNS (default 5) for each, the difference and
# the ratio of the medians; the gzip initramfs size (and the floor's); the
# server's VmRSS/VmHWM after boot, which sbsd prints on the console when the
# kernel command line has sbs.rss=1 (src/init.c). The host is shared and
# noisy: compare figures of the same run only.
set -euo pipefail
QDIR=$(cd "$(dirname "$0")/../qemu" && pwd)
APP=$(cd "$1" && pwd)
SBS=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
RUNS=${3:-${BENCH_BOOT_RUNS:-5}}
W=$(mktemp -d /tmp/sbs-bench-boot.XXXXXX)
QPID=
cleanup() {
	[ -n "$QPID" ] && { kill -9 "$QPID" && wait "$QPID"; } 2>/dev/null || true
	[ "${KEEP_TMP:-0}" = 1 ] && echo "kept $W" || rm -rf "$W"
}
trap cleanup EXIT
die() { echo "bench-boot: $*" >&2; exit 1; }
now() { date +%s%N; }
ms() { echo $(( ($2 - $1) / 1000000 )); }
stats() {   # stats v1 v2 ...: "min median" (ms)
	printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { printf "%d %d\n", v[1], v[int((NR + 1) / 2)] }'
}
cd "$W"

# ---- the floor: a trivial static PID 1 on the same kernel ----
cat >poweroff.c <<'C'
#include <sys/reboot.h>
#include <unistd.h>
int main(void)
{
	sync();
	reboot(RB_POWER_OFF);
	return 1;
}
C
s390x-linux-gnu-gcc -specs /usr/lib/s390x-linux-musl/musl-gcc.specs -static -Os -o init poweroff.c ||
	die "cannot build the trivial PID 1 (s390x-linux-gnu-gcc with musl)"
s390x-linux-gnu-strip init
mkdir -p floor && mv init floor/init
(cd floor && echo init | cpio --create --format=newc --owner 0:0 --quiet) | gzip -n -9 >floor.cpio.gz
floor=()
for i in $(seq 1 "$RUNS"); do
	t0=$(now)
	timeout 60 qemu-system-s390x -M s390-ccw-virtio -cpu max -m 512 -smp 1 -nographic \
		-no-reboot -kernel "$APP/vmlinuz" -initrd floor.cpio.gz \
		-append 'console=ttysclp0 quiet panic=-1' </dev/null >floor.log 2>&1 ||
		die "the trivial PID 1 did not power off (rc $?)"
	floor+=("$(ms "$t0" "$(now)")")
done

# ---- the appliance ----
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
jq -n --arg p "$PORT" '{HOSTNAME: "localhost", CICD_PORT: $p, CONTAINER_NAME: "bench",
	RUNTIME_TYPE: "vpc"}' >sbs-config.json
"$SBS" create-client-cert --env sbs-config.json >/dev/null 2>&1 || die "create-client-cert"
"$SBS" appliance-env --env sbs-config.json --out env.cpio >/dev/null 2>&1 || die "appliance-env"
cat env.cpio "$APP/initramfs.cpio.gz" >initrd
truncate -s 256M disk.img

# boot_to_status LOG: prints ms from QEMU start to the first good status,
# then powers the guest off (monitor) and waits for QEMU to exit
boot_to_status() {
	local t0 t1 i
	rm -f mon.sock
	t0=$(now)
	SBS_APPEND=sbs.rss=1 "$QDIR"/boot.sh "$APP/vmlinuz" initrd disk.img "$PORT" "$W/mon.sock" \
		>"$1" 2>&1 </dev/null &
	QPID=$!
	# a connection made before the guest listens is held by slirp while the
	# guest's SYN backs off (seconds): poll the console, then the API
	for i in $(seq 1 3000); do
		grep -q "listening on" "$1" && break
		kill -0 "$QPID" 2>/dev/null || die "QEMU exited during boot: $(tail -5 "$1")"
		sleep 0.02
	done
	for i in $(seq 1 1200); do
		if "$SBS" status --env sbs-config.json --noverify >/dev/null 2>&1; then
			t1=$(now)
			break
		fi
		kill -0 "$QPID" 2>/dev/null || die "QEMU exited during boot: $(tail -5 "$1")"
		sleep 0.05
	done
	[ -n "${t1:-}" ] || die "no status within 60 s"
	for i in $(seq 1 100); do grep -q "memory after boot" "$1" && break; sleep 0.05; done
	python3 - "$W/mon.sock" <<'PY' >/dev/null 2>&1 || true
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.settimeout(5)
s.recv(4096)
s.sendall(b"system_powerdown\n")
time.sleep(0.3)
PY
	for i in $(seq 1 300); do kill -0 "$QPID" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$QPID" 2>/dev/null || true
	wait "$QPID" 2>/dev/null || true
	QPID=
	ms "$t0" "$t1"
}
first=$(boot_to_status first.log)
app=()
for i in $(seq 1 "$RUNS"); do
	app+=("$(boot_to_status "boot-$i.log")")
done
RSS=$(grep -ho 'VmRSS [0-9]* kB, VmHWM [0-9]* kB' boot-*.log | tail -n1)

read -r fmin fmed <<<"$(stats "${floor[@]}")"
read -r amin amed <<<"$(stats "${app[@]}")"
echo "bench-boot: qemu-system-s390x TCG, -m 512 -smp 1, kernel $(stat -c %s "$APP/vmlinuz") B, $RUNS runs each"
printf '  %-52s min %5d ms  median %5d ms\n' \
	"floor: QEMU start -> power-off (trivial static PID 1)" "$fmin" "$fmed" \
	"sbs: QEMU start -> first successful sbs status" "$amin" "$amed"
printf '  %-52s %5d ms  (once; LUKS2 format + mke2fs)\n' "sbs first boot (blank disk) -> status" "$first"
printf '  sbs - floor (medians): %d ms; sbs / floor: %s\n' "$((amed - fmed))" \
	"$(echo "scale=2; $amed / $fmed" | bc)"
printf '  initramfs (gzip): %d B (floor: %d B)\n' "$(stat -c %s "$APP/initramfs.cpio.gz")" \
	"$(stat -c %s floor.cpio.gz)"
echo "  sbsd memory after boot: ${RSS:-not reported (no 'memory after boot' console line)}"
