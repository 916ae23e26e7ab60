/* SPDX-License-Identifier: MIT */
/*
 * init: sbsd's duties as PID 1 of the s390x appliance, in the spirit of
 * s6-linux-init and tini: PID 1 only mounts, spawns, reaps and forwards
 * signals. Everything that parses (the kernel command line, the env file)
 * or touches the volume happens in the server child, never in PID 1.
 *
 * init_pid1() runs in PID 1: mounts /proc, /sys, /dev (devtmpfs), /tmp
 * (tmpfs) and, when the kernel has cgroups, cgroup2 on /sys/fs/cgroup (the
 * RUN steps' limits, src/sandbox_cg.c); waits a bounded time (INIT_RNG_WAIT_MS) for the kernel RNG to be
 * initialised and logs how long it took; sets RB_DISABLE_CAD so that
 * ctrl-alt-del (QEMU's system_powerdown: SCLP quiesce) arrives as SIGINT;
 * forks the server child. In the child it returns 0 with the signal mask
 * restored; the caller then runs the normal serve path. In PID 1 it never
 * returns: it reaps every child, and on SIGINT or SIGTERM sends SIGTERM to the
 * server (SIGKILL after INIT_STOP_MS). Whenever the server has exited, for
 * any reason, PID 1 kills what is left, syncs, unmounts /data and powers off;
 * a server that failed has already printed its reason on the console (its
 * stderr). A failure of PID 1 itself is printed and also powers off.
 *
 * init_net() runs in the server child: reads /proc/cmdline (at most
 * INIT_MAX_CMDLINE bytes) and sets lo up, then eth0 from
 * sbs.ip=A.B.C.D/N and sbs.gw=A.B.C.D (both IPv4, static: QEMU's user
 * network needs no DHCP). sbs.dns=A.B.C.D[,A.B.C.D] (at most INIT_MAX_DNS)
 * becomes /etc/resolv.conf (QEMU's user network: 10.0.2.3); without it there
 * is none and names resolve through 127.0.0.1 (musl's default), i.e. not at
 * all. Without sbs.ip only lo is configured. Waits at most
 * INIT_DEV_WAIT_MS for eth0 to appear. 0 or -errno (logged). With sbs.rss=1
 * (bench/boot.sh) it forks a reporter that waits (at most INIT_RSS_WAIT_MS)
 * until the server accepts on 127.0.0.1:SBS_PORT, prints "sbs init: sbsd
 * memory after boot: VmRSS <n> kB, VmHWM <n> kB" on the console and exits
 * (the server then logs one refused TLS handshake from 127.0.0.1).
 *
 * init_poweroff() syncs, unmounts /data and powers off (PID 1 only).
 * init_console() prints one line on /dev/console (falls back to stderr).
 */
#ifndef SBS_INIT_H
#define SBS_INIT_H

/* The deploy-time env file, from the second cpio appended to the initramfs. */
#define INIT_ENV_FILE "/etc/sbs/env"
/* cgroup2, mounted by init_pid1() when the kernel has cgroups. */
#define INIT_CGROUP_MNT "/sys/fs/cgroup"
/* Written from sbs.dns= by init_net(). */
#define INIT_RESOLV_CONF "/etc/resolv.conf"
/* Where the data volume is mounted (hal se). */
#define INIT_DATA_MNT "/data"

int init_pid1(void);
int init_net(void);
void init_poweroff(void) __attribute__((noreturn));
void init_console(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
