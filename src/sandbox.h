/* SPDX-License-Identifier: MIT */
/*
 * sandbox: runs one Dockerfile RUN step (hostile code) inside an image
 * rootfs. The process gets new mount, pid, ipc and uts namespaces (and a new,
 * empty net namespace when network is off), the rootfs becomes its root by
 * pivot_root (not chroot alone: no way back up), with a fresh /proc of its own
 * pid namespace, a small /dev (tmpfs with null, zero, full, random, urandom,
 * tty bind-mounted from the host, plus /dev/pts, /dev/shm, ptmx), and /sys
 * absent. Nothing of the host is visible: not the data directory, the keys,
 * sbsd's /proc entries, nor /dev/uv. Before exec: the capabilities a build
 * never needs are dropped from the bounding set (CAP_SYS_ADMIN, SYS_MODULE,
 * SYS_RAWIO, SYS_PTRACE, SYS_BOOT, SYS_TIME, MAC_*, SYSLOG, BPF, PERFMON,
 * NET_ADMIN, SYS_RESOURCE, AUDIT_*, LINUX_IMMUTABLE, WAKE_ALARM,
 * BLOCK_SUSPEND, DAC_READ_SEARCH, MKNOD kept (base images' postinst scripts
 * use it)), PR_SET_NO_NEW_PRIVS is set, and the user becomes o->user. The mounts
 * made for the step live in its mount namespace and vanish with it: the
 * rootfs on disk never holds them.
 *
 * Output (stdout and stderr of the step) goes to o->out_fd. A step that runs
 * past o->timeout_s is killed (the whole pid namespace dies with its init).
 * Needs root (CAP_SYS_ADMIN) in the caller; sbsd's builder is root.
 *
 * Errors: 0 when the step ran (its status in *exit_status: the exit code, or
 * 128 + signal), or a negative errno when the sandbox could not be set up,
 * with one line in err.
 */
#ifndef SBS_SANDBOX_H
#define SBS_SANDBOX_H

#include <stddef.h>

struct sbx_opts {
	const char *rootfs;            /* absolute path of the image rootfs */
	const char *const *argv;       /* what to exec (the caller applied SHELL) */
	const char *const *envp;       /* the whole environment (PATH included) */
	const char *workdir;           /* absolute path inside the rootfs; created (0755) if missing */
	const char *user;              /* "", "name", "uid", "name:group", "uid:gid" (names looked
					* up in the rootfs's /etc/passwd and /etc/group, read
					* without following symlinks out of it); "" = root */
	const char *hostname;          /* NULL = "sbs-build" */
	int network;                   /* 1 = the builder's network, 0 = none (loopback only) */
	int out_fd;                    /* stdout and stderr of the step */
	unsigned timeout_s;            /* 0 = SBX_TIMEOUT_S */
};
int sbx_run(const struct sbx_opts *o, int *exit_status, char *err, size_t errcap);

/* Resolves o->user against the rootfs (exported for tests). */
int sbx_resolve_user(const char *rootfs, const char *user, unsigned *uid, unsigned *gid,
		     char *err, size_t errcap);

#endif
