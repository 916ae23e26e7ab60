#!/bin/bash
# SPDX-License-Identifier: MIT
# The RUN sandbox (src/sandbox.c) against a real busybox rootfs, driven by
# `test_sandbox run ROOTFS [opts] -- ARGV...`: exit codes and signals pass
# through, output, env, workdir, user, hostname, PID 1 and no host processes,
# a secret in a data dir outside the rootfs unreadable by every trick tried
# (paths, /proc links, chroot escape, mounts, user namespaces, mknod of the
# host disk, the parent's environ, open_by_handle_at), no /dev/uv and no /sys,
# --net=0 (only lo, and lo works), the timeout, nothing left on the rootfs,
# and the clear error for an image without /bin/sh. Needs root.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

T=$(dirname "$SBSD")/tests/test_sandbox
[ -x "$T" ] || fail "no $T (build it first)"
[ "$(id -u)" = 0 ] || { echo "skip: it_sandbox needs root"; exit 0; }

R=$TMP/rootfs
mkdir -p "$R"/bin "$R"/etc "$R"/tmp "$R"/root "$R"/home/app
cp /bin/busybox "$R"/bin/busybox
for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -s busybox "$R/bin/$a"; done
printf 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n' >"$R"/etc/passwd
printf 'root:x:0:\napp:x:1000:\nstaff:x:50:other,app\nwheel:x:10:other\n' >"$R"/etc/group
chmod 1777 "$R"/tmp
chown 1000:1000 "$R"/home/app

# the probe (test_sandbox itself) and, for a dynamic build (asan), its libraries
cp "$T" "$R"/probe
if ldd "$T" >/dev/null 2>&1; then
	for lib in $(ldd "$T" | grep -o '/[^ ]*'); do
		mkdir -p "$R$(dirname "$lib")"
		cp -L "$lib" "$R$lib"
	done
fi

# the secret the steps must never read
D=$TMP/data/keys
CANARY="canary-$RANDOM$RANDOM$RANDOM"
export SBX_PARENT_CANARY=$CANARY    # in the environ of this shell and of test_sandbox
mkdir -p "$D"
echo "$CANARY" >"$D/image.pem"
chmod 600 "$D/image.pem"

# sbx [opts] -- argv...: stdout -> $TMP/out, stderr -> $TMP/err; sets RC, ST
sbx() {
	set +e
	timeout 60 "$T" run "$R" "$@" >"$TMP/out" 2>"$TMP/err"
	RC=$?
	set -e
	ST=$(sed -n 's/^sbx: rc=[-0-9]* status=\([-0-9]*\).*/\1/p' "$TMP/err")
}

sbx -- /bin/sh -c 'exit 0'
[ "$RC" = 0 ] && [ "$ST" = 0 ] || fail "exit 0: rc=$RC status=$ST"
sbx -- /bin/sh -c 'exit 3'
[ "$RC" = 0 ] && [ "$ST" = 3 ] || fail "exit 3: rc=$RC status=$ST"
ok "exit codes pass through (0, 3)"

# killed by a signal: SIGKILL from outside to the step (PID 1 of its namespace)
("$T" run "$R" -- /bin/sh -c 'exec sleep 1000' >"$TMP/out" 2>"$TMP/err") &
SUB=$!
PIDS+=("$SUB")
# descendants PID: every process below PID (by parent id)
descendants() {
	local c
	for c in $(pgrep -P "$1" 2>/dev/null || true); do echo "$c"; descendants "$c"; done
}
step=""
for _ in $(seq 1 100); do
	for p in $(descendants "$SUB"); do
		[ "$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)" = "sleep 1000 " ] && step=$p
	done
	[ -n "$step" ] && break
	sleep 0.1
done
[ -n "$step" ] || fail "the sleeping step did not appear"
kill -KILL "$step"
wait "$SUB" || true
grep -q "rc=0 status=137" "$TMP/err" || fail "killed step: $(cat "$TMP/err")"
ok "a step killed by SIGKILL reports 128+9"

sbx -- /bin/sh -c 'echo to-stdout; echo to-stderr >&2'
grep -qx to-stdout "$TMP/out" && grep -qx to-stderr "$TMP/out" || fail "output: $(cat "$TMP/out")"
ok "stdout and stderr reach out_fd"

sbx --env=A=1 --env="B=two words" --env=PATH=/bin -- env
[ "$(cat "$TMP/out")" = "$(printf 'A=1\nB=two words\nPATH=/bin')" ] || fail "env: $(cat "$TMP/out")"
ok "the environment is exactly the one given (exec form, PATH search)"

sbx --workdir=/work/sub/dir -- /bin/sh -c 'pwd; echo made >here'
[ "$(cat "$TMP/out")" = /work/sub/dir ] && [ -f "$R/work/sub/dir/here" ] || fail "workdir: $(cat "$TMP/out")"
ln -s /tmp "$R/wlink"
sbx --workdir=/wlink/inside-$CANARY -- /bin/pwd
[ -d "$R/tmp/inside-$CANARY" ] && [ ! -e "/tmp/inside-$CANARY" ] || fail "workdir through an absolute symlink"
ok "workdir created (a symlink in it resolves inside the rootfs)"

sbx --user=app -- /bin/sh -c 'id -u; id -g; id -G; cat /proc/self/status | grep -E "^Cap(Prm|Eff|Bnd)"'
[ "$(sed -n 1,3p "$TMP/out" | tr '\n' ' ')" = "1000 1000 1000 50 " ] || fail "user: $(cat "$TMP/out")"
grep -q "CapEff:	0000000000000000" "$TMP/out" || fail "user app has capabilities: $(cat "$TMP/out")"
sbx --user=app:wheel -- /bin/sh -c 'id -u; id -G'
[ "$(cat "$TMP/out" | tr '\n' ' ')" = "1000 10 " ] || fail "user app:wheel: $(cat "$TMP/out")"
sbx --user=4242 -- /bin/sh -c 'id -u; id -G'
[ "$(cat "$TMP/out" | tr '\n' ' ')" = "4242 0 " ] || fail "user 4242: $(cat "$TMP/out")"
sbx --user=ghost -- /bin/true
[ "$RC" = 2 ] && grep -q '"ghost" not found' "$TMP/err" || fail "unknown user: $(cat "$TMP/err")"
ok "user switch (app = 1000:1000 + member group 50, no capabilities; app:wheel = 1000:10 only; 4242 = 4242:0; unknown name named in the error)"

sbx -- /bin/sh -c 'cat /proc/self/oom_score_adj; echo 0 >/proc/self/oom_score_adj; cat /proc/self/oom_score_adj; dmesg 2>/dev/null | head -c 1 | wc -c'
# oom_score_adj_min is only recorded by a writer holding CAP_SYS_RESOURCE:
# where this host's root lacks it (some VMs), lowering cannot be refused
eff=$(sed -n 's/^CapEff:[[:space:]]*//p' /proc/self/status)
if (( (16#$eff >> 24) & 1 )); then
	[ "$(cat "$TMP/out")" = "$(printf '1000\n1000\n0')" ] || fail "oom_score_adj / dmesg: $(cat "$TMP/out")"
	ok "the step is the OOM killer's first choice and cannot lower it; no kernel log"
else
	[ "$(sed -n '1p;3p' "$TMP/out")" = "$(printf '1000\n0')" ] || fail "oom_score_adj / dmesg: $(cat "$TMP/out")"
	ok "the step is the OOM killer's first choice; no kernel log (not checked: lowering, this host's root lacks CAP_SYS_RESOURCE)"
fi

sbx -- /bin/sh -c 'hostname; cat /proc/sys/kernel/hostname'
[ "$(cat "$TMP/out")" = "$(printf 'sbs-build\nsbs-build')" ] || fail "hostname: $(cat "$TMP/out")"
sbx --hostname=other -- hostname
[ "$(cat "$TMP/out")" = other ] || fail "hostname other"
[ "$(hostname)" != other ] || fail "host's hostname changed"
ok "hostname sbs-build (own uts namespace)"

sbx -- /bin/sh -c 'echo $$; ls /proc | grep -E "^[0-9]+$" | sort -n | tr "\n" " "; echo;
	for p in /proc/[0-9]*; do tr "\0" " " <$p/cmdline; echo; done'
[ "$(sed -n 1p "$TMP/out")" = 1 ] || fail "not PID 1: $(cat "$TMP/out")"
pids=$(sed -n 2p "$TMP/out")
for p in $pids; do [ "$p" -lt 20 ] || fail "a host pid in /proc: $pids"; done
! grep -q -e test_sandbox -e sbsd "$TMP/out" || fail "host processes visible: $(cat "$TMP/out")"
ok "the step is PID 1 and sees no host process ($pids)"

# ---- the secret ----
DEV=$(stat -c %d "$D/image.pem")
MAJ=$(( (DEV >> 8) & 0xfff )); MIN=$(( (DEV & 0xff) | ((DEV >> 12) & 0xfff00) ))
PARENT=$$
cat >"$R/escape.sh" <<EOF
D='$D'
echo "--- paths"
cat "\$D/image.pem"
cd /tmp && cat ../../../../../../..\$D/image.pem
cat /proc/1/root\$D/image.pem
cat /proc/self/root/../../..\$D/image.pem
cat /proc/self/cwd/../../../..\$D/image.pem
echo "DEVLIST: \$(ls /dev | tr '\\n' ' ')"
ls /dev/uv && echo "UV present"
ls /sys/kernel && echo "SYS present"
echo "--- mounts"
mkdir -p /tmp/m
mount -t proc proc /tmp/m && echo "MOUNTED proc"
mount -t tmpfs tmpfs /tmp/m && echo "MOUNTED tmpfs"
mount -o bind / /tmp/m && echo "MOUNTED bind"
mount -t sysfs sysfs /tmp/m && echo "MOUNTED sysfs"
umount -l /proc && echo "UNMOUNTED proc"
echo "--- user namespace"
unshare -U -r -m sh -c 'mount -t proc proc /tmp/m && echo "USERNS proc"; umount -l /proc/sys && echo "USERNS umount"; cat /proc/1/root$D/image.pem' 2>&1
echo "--- devices"
mknod /tmp/disk b $MAJ $MIN && echo "mknod ok"
dd if=/tmp/disk bs=512 count=1 2>&1 | head -c 200 | od -c | head -2
mknod /dev/disk b $MAJ $MIN && echo "mknod /dev ok"
dd if=/dev/disk bs=512 count=1 2>&1 | od -c | head -2
mknod /dev/shm/disk b $MAJ $MIN && dd if=/dev/shm/disk bs=512 count=1 2>&1 | od -c | head -2
grep -a -c "$CANARY" /tmp/disk /dev/disk
echo "--- the parent's environ"
cat /proc/$PARENT/environ | tr '\0' '\n' | grep CANARY
cat /proc/\$PPID/environ | tr '\0' '\n' | grep CANARY
grep -l CANARY /proc/*/environ
echo "--- proc"
echo c > /proc/sysrq-trigger && echo "SYSRQ written"
echo x > /proc/sys/kernel/core_pattern && echo "CORE_PATTERN written"
head -c 100 /proc/kcore | od -c | head -2
echo "--- probe"
/probe probe "\$D/image.pem"
echo "--- end"
EOF
sbx -- /bin/sh /escape.sh
out=$(cat "$TMP/out")
grep -q -- "--- end" "$TMP/out" || fail "escape script did not finish: $out"
! grep -q "$CANARY" "$TMP/out" || fail "the secret leaked: $out"
! grep -q -e MOUNTED -e UNMOUNTED -e USERNS -e SYSRQ -e CORE_PATTERN -e LEAK -e "UV present" \
	-e "SYS present" "$TMP/out" || fail "an escape step succeeded: $out"
grep -q "mknod ok" "$TMP/out" || fail "mknod with CAP_MKNOD should work (inert on nodev): $out"
grep -q "Permission denied" <(sed -n '/--- devices/,/--- the parent/p' "$TMP/out") ||
	fail "reading the disk node was not refused: $out"
grep -qx "DEVLIST: fd full null ptmx pts random shm stderr stdin stdout tty urandom zero " "$TMP/out" ||
	fail "/dev: $out"
grep -q "open_by_handle_at: refused (Operation not permitted)" "$TMP/out" || fail "open_by_handle_at: $out"
grep -q "chroot-escape: refused" "$TMP/out" || fail "chroot escape: $out"
for what in "user namespace" keyctl bpf io_uring_setup; do
	grep -q "^$what: refused (Operation not permitted)" "$TMP/out" || fail "$what not refused: $out"
done
grep -q "^clone3: refused (Function not implemented)" "$TMP/out" || fail "clone3: $out"
ok "the data dir secret stays unreadable (paths, /proc links, mounts, userns, mknod, environ, handles, chroot escape; seccomp refuses userns, keyctl, bpf, io_uring); /dev has only the listed nodes, no /dev/uv, no /sys"

# a descriptor of the secret open in the caller (not close-on-exec) must not reach the step
exec 7<"$D/image.pem"
sbx -- /bin/sh -c 'ls /proc/self/fd | tr "\n" " "; echo; cat <&7'
exec 7<&-
[ "$(head -1 "$TMP/out")" = "0 1 2 3 " ] && ! grep -q "$CANARY" "$TMP/out" || fail "descriptors: $(cat "$TMP/out")"
ok "only 0, 1, 2 reach the step (a secret's fd open in the caller does not)"

sbx --net=0 -- /bin/sh -c 'tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " "
	mkdir -p /tmp/www; echo over-lo >/tmp/www/x
	httpd -f -p 127.0.0.1:7777 -h /tmp/www & h=$!
	for i in $(seq 100); do wget -q -O - http://127.0.0.1:7777/x 2>/dev/null && break; sleep 0.1; done
	kill $h'
[ "$(cat "$TMP/out")" = "$(printf 'lo\nover-lo')" ] || fail "--net=0: $(cat "$TMP/out")"
sbx -- /bin/sh -c 'tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " " | sort'
[ "$(cat "$TMP/out")" = "$(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | sort)" ] ||
	fail "network on should see the host's interfaces: $(cat "$TMP/out")"
ok "--net=0 sees only lo (and lo works); network on sees the builder's interfaces"

if [ -f /etc/resolv.conf ]; then
	: >"$R/etc/resolv.conf"      # injected only over a file the image has
	sbx -- /bin/sh -c 'cat /etc/resolv.conf; echo x >>/etc/resolv.conf && echo WROTE; ulimit -c'
	[ "$(head -n -1 "$TMP/out" | grep -v "Read-only")" = "$(cat /etc/resolv.conf)" ] && ! grep -q WROTE "$TMP/out" &&
		[ "$(tail -1 "$TMP/out")" = 0 ] || fail "resolv.conf: $(cat "$TMP/out")"
	[ -f "$R/etc/resolv.conf" ] && [ ! -s "$R/etc/resolv.conf" ] || fail "the image's resolv.conf was changed"
	sbx --net=0 -- /bin/cat /etc/resolv.conf
	[ "$RC" = 0 ] && ! grep -q . "$TMP/out" || fail "--net=0 got the builder's resolv.conf"
	rm -f "$R/etc/resolv.conf"
	ok "network steps read the builder's resolv.conf over the image's (read-only, image file unchanged), --net=0 none; core limit 0"
fi

start=$(date +%s)
nap=$((100000 + RANDOM))
sbx --timeout=2 -- /bin/sh -c "sleep $nap & sleep $nap"
took=$(( $(date +%s) - start ))
[ "$RC" = 2 ] && grep -q "timeout" "$TMP/err" && [ "$took" -le 6 ] || fail "timeout: rc=$RC took=${took}s $(cat "$TMP/err")"
sleep 0.2
! ps -eo args | grep -qx "sleep $nap" || fail "a sleep survived the timeout"
ok "timeout kills the step and its children (${took}s for a 2 s limit)"

sbx --diff -- /bin/sh -c 'echo new >/tmp/new; rm /etc/group'
[ "$(grep '^change' "$TMP/err" | tr '\n' ' ')" = "change A etc change W etc/group change A tmp change A tmp/new " ] ||
	fail "snapshot around a step: $(cat "$TMP/err")"
ok "a snapshot around a step lists exactly what it changed (no proc, dev, pivot dir, resolv.conf)"
printf 'root:x:0:\napp:x:1000:\nstaff:x:50:other,app\nwheel:x:10:other\n' >"$R"/etc/group

! grep -q " $R" /proc/self/mountinfo || fail "mounts left on the rootfs"
[ -z "$(ls -a "$R" | grep sbx-pivot)" ] || fail "pivot dir left: $(ls -a "$R")"
[ ! -e "$R/proc" ] && [ ! -e "$R/dev" ] || fail "proc/dev made by the sandbox were left behind"
ok "after the runs the rootfs holds no mounts, no pivot dir, no proc/dev it did not have"

# a 32-bit entry (int 0x80 exit(7)) is outside the filter's ABI: killed by SIGSYS
if [ "$(uname -m)" = x86_64 ] && printf '.globl _start\n_start:\n mov $1, %%eax\n mov $7, %%ebx\n int $0x80\n' |
	as --32 -o "$TMP/a32.o" - 2>/dev/null && ld -m elf_i386 "$TMP/a32.o" -o "$R/a32" 2>/dev/null; then
	"$R/a32" && fail "a32 should exit 7 on the host" || [ $? = 7 ] || fail "a32 on the host"
	sbx -- /a32
	[ "$RC" = 0 ] && [ "$ST" = 159 ] || fail "compat syscall: rc=$RC status=$ST"
	ok "a 32-bit syscall (int 0x80) kills the step with SIGSYS (status 159); natively it exits 7"
fi

# ---- a caller chrooted into a plain directory (its root not a mount root):
# mount propagation there is unknown, so the sandbox must refuse before any
# mount rather than risk mounts leaking into the caller's namespace. (The
# initramfs case, where / is a mount root that pivot_root refuses, takes the
# MS_MOVE + chroot path; see docs/sandbox.md.)
H=$TMP/chrooted
mkdir -p "$H"/dev "$H"/proc "$H"/bin
cp "$T" "$H"/bin/test_sandbox
if ldd "$T" >/dev/null 2>&1; then
	for lib in $(ldd "$T" | grep -o '/[^ ]*'); do
		mkdir -p "$H$(dirname "$lib")"
		cp -L "$lib" "$H$lib"
	done
fi
cp -a "$R" "$H"/rootfs
set +e
unshare -m sh -c "mount --make-rprivate / && mount --rbind /dev '$H/dev' && mount -t proc proc '$H/proc' &&
	exec chroot '$H' /bin/test_sandbox run /rootfs -- /bin/sh -c 'echo RAN'" >"$TMP/out" 2>"$TMP/err"
RC=$?
set -e
[ "$RC" = 2 ] && grep -q "private mounts: Invalid argument" "$TMP/err" && ! grep -q RAN "$TMP/out" ||
	fail "chrooted caller: rc=$RC $(cat "$TMP/out" "$TMP/err")"
[ -z "$(ls -a "$H/rootfs" | grep sbx-pivot)" ] && [ ! -e "$H/rootfs/proc" ] || fail "refusal left files: $(ls -a "$H/rootfs")"
ok "a caller chrooted into a plain directory is refused before any mount (unknown propagation), nothing left behind"

mkdir -p "$TMP/nosh/etc"
R=$TMP/nosh sbx -- /bin/sh -c true
[ "$RC" = 2 ] && grep -q 'exec "/bin/sh": No such file or directory (not in the image)' "$TMP/err" ||
	fail "no /bin/sh: rc=$RC $(cat "$TMP/err")"
ok "an image without /bin/sh gives a clear exec error"
