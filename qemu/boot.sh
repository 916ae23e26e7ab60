#!/bin/sh
# SPDX-License-Identifier: MIT
# Boots the appliance under qemu-system-s390x (TCG) in the foreground:
#   qemu/boot.sh KERNEL INITRD DISK PORT [MONITOR_SOCKET]
# INITRD is the initramfs with the env cpio appended. The guest's 443 is
# forwarded to 127.0.0.1:PORT; the console is stdio. `system_powerdown` on
# the monitor (or ctrl-alt-del) makes sbsd power off cleanly. SBS_APPEND adds
# words to the kernel command line (bench/boot.sh: sbs.rss=1).
set -eu
kernel=$1 initrd=$2 disk=$3 port=$4 mon=${5:-}
exec qemu-system-s390x -M s390-ccw-virtio -cpu max -m 512 -smp 1 -nographic -no-reboot \
	-kernel "$kernel" -initrd "$initrd" \
	-append "console=ttysclp0 quiet panic=-1 sbs.ip=10.0.2.15/24 sbs.gw=10.0.2.2 sbs.dns=10.0.2.3${SBS_APPEND:+ $SBS_APPEND}" \
	-drive file="$disk",if=none,id=d0,format=raw -device virtio-blk-ccw,drive=d0 \
	-netdev user,id=n0,hostfwd=tcp:127.0.0.1:"$port"-:443 -device virtio-net-ccw,netdev=n0 \
	-object rng-random,id=rng0,filename=/dev/urandom -device virtio-rng-ccw,rng=rng0 \
	${mon:+-monitor unix:"$mon",server,nowait}
