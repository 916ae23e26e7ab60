/* SPDX-License-Identifier: MIT */
/*
 * sandbox: runs one Dockerfile RUN step (hostile code) inside an image
 * rootfs. The process gets new mount, pid, ipc, uts and cgroup namespaces
 * (and a new net namespace with only lo, up, when network is off), the rootfs
 * becomes its root by pivot_root (not chroot alone: the old root is detached,
 * no way back up; where the caller's root is an initramfs, which cannot be
 * pivoted, the rootfs is moved over / and chrooted, and CAP_SYS_CHROOT is
 * dropped too), bind-mounted nodev,nosuid, with a fresh /proc of its own pid
 * namespace (kcore, keys, kmsg, sysrq-trigger, timer_list... covered by
 * /dev/null; /proc/sys, irq, bus, fs read-only), a small /dev (tmpfs with
 * null, zero, full, random, urandom, tty bind-mounted from the host, plus
 * /dev/pts, /dev/shm, ptmx, fd links), and /sys absent. Nothing of the host is
 * visible: not the data directory, the keys, sbsd's /proc entries, nor
 * /dev/uv. The step is PID 1 of its namespace and leads a new session (no
 * controlling terminal). Where sbsd sits in the root of a cgroup2 hierarchy
 * (the appliance) the step runs in a fresh cgroup of its own with memory.max,
 * memory.oom.group and pids.max (sandbox_int.h: sbx_cg_create), removed
 * after the run; elsewhere it has no cgroup limits. Before exec: the bounding set keeps only CHOWN,
 * DAC_OVERRIDE, FOWNER, FSETID, KILL, SETGID, SETUID, SETPCAP,
 * NET_BIND_SERVICE, SYS_CHROOT, MKNOD and SETFCAP (every other capability,
 * SYS_ADMIN, DAC_READ_SEARCH, NET_RAW, SYS_PTRACE... included, is dropped;
 * inheritable and ambient sets emptied); MKNOD is kept because base images'
 * postinst scripts use it, and the nodes it makes are inert on the nodev
 * mounts. PR_SET_NO_NEW_PRIVS is set (setuid binaries such as sudo gain
 * nothing), a seccomp filter refuses new user namespaces, keyctl, bpf,
 * perf_event_open, userfaultfd, io_uring, module and kexec loading, setns,
 * the new mount API and file handles (clone3 gets ENOSYS; 32-bit compat entry
 * kills the step), the user becomes o->user (supplementary groups as docker: its
 * gid plus, without an explicit group, the /etc/group lines naming it), every descriptor but 0 (/dev/null), 1 and 2 (out_fd) is closed. The
 * mounts made for the step live in its mount namespace and vanish with it:
 * the rootfs on disk never holds them; /proc and /dev directories made
 * because the image lacked them, and the pivot directory, are removed after
 * the run. docs/sandbox.md has the model and what it does NOT protect.
 *
 * Output (stdout and stderr of the step) goes to o->out_fd; make it a pipe
 * (the step can reopen its own stdout through /proc/self/fd/1, so a file
 * there could be read back in full). A step that runs past o->timeout_s is
 * killed (the whole pid namespace dies with its init). network = 1 shares
 * the builder's network namespace: the step can reach whatever the builder
 * can (loopback services, abstract unix sockets included), and the builder's
 * /etc/resolv.conf is bound read-only over the image's when the image has
 * one (none is made: that would change etc's times and the snapshot). Core dumps are off
 * (RLIMIT_CORE 0).
 * Needs root (CAP_SYS_ADMIN) in the caller; sbsd's builder is root.
 *
 * Errors: 0 when the step ran (its status in *exit_status: the exit code, or
 * 128 + signal), or a negative errno when the sandbox could not be set up,
 * with one line in err: an exec failure (e.g. no /bin/sh in the image) is
 * -ENOENT/-EACCES... with 'exec "/bin/sh": No such file or directory (not in
 * the image)'; -ETIMEDOUT when the timeout killed the step (*exit_status is
 * then 137); -ENOENT for a user or group name the image does not have.
 */
#ifndef SBS_SANDBOX_H
#define SBS_SANDBOX_H

#include <stddef.h>

struct sbx_opts {
	const char *rootfs;            /* absolute path of the image rootfs */
	const char *const *argv;       /* what to exec (the caller applied SHELL) */
	const char *const *envp;       /* the whole environment (PATH included) */
	const char *workdir;           /* absolute path inside the rootfs; created (0755, as root)
					* if missing, after pivot_root, so a symlink in it resolves
					* inside the rootfs; NULL = "/" */
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
