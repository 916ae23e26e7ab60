/* SPDX-License-Identifier: MIT */
/*
 * sandbox: one RUN step in namespaces. sbx_run() forks a middle process that
 * unshares the namespaces, makes every mount private, bind-mounts the rootfs
 * onto itself (nodev, nosuid) and forks the step's process, PID 1 of the new
 * pid namespace. That process mounts /proc (with the dangerous files masked
 * and /proc/sys and friends read-only) and a small /dev, pivots into the
 * rootfs, detaches the old root, drops capabilities and identity, closes every
 * descriptor but 0, 1, 2 and execs. The middle process waits, kills on
 * timeout, and reports the status. Both report through one close-on-exec pipe
 * of fixed-size messages, so a failure before exec (no /bin/sh in the image,
 * a bad workdir) reaches the caller as a line of text instead of an exit
 * code. Contract in sandbox.h; the isolation model in docs/sandbox.md.
 */
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "arc.h"
#include "limits.h"
#include "sandbox_int.h"
#include "util.h"

#define RESOLV_CONF "/etc/resolv.conf"   /* the builder's name servers */

/* ---- messages from the sandbox processes ---- */

enum { MSG_ERR = 1, MSG_STATUS, MSG_TIMEOUT };
struct msg {
	int32_t kind;
	int32_t code;           /* MSG_ERR: -errno; else the raw wait status */
	char text[248];
};                              /* under PIPE_BUF: one write is atomic */

struct ctx {
	const struct sbx_opts *o;
	const char *hostname, *workdir;
	const struct sbx_ids *ids;
	unsigned timeout_s;
	pid_t parent;
	int msgfd;
	int resolv;             /* bind the host's resolv.conf on the image's */
	int moved_root;         /* no pivot_root possible: MS_MOVE + chroot, no SYS_CHROOT */
	char oldroot[40];       /* the pivot directory, a random name in the rootfs */
	char cg[SBX_MAX_PATH];  /* the step's cgroup (sandbox_cg.c), "" for none */
};

static void send_msg(int fd, int kind, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void send_msg(int fd, int kind, int code, const char *fmt, ...)
{
	struct msg m = { .kind = kind, .code = code };
	va_list ap;

	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(m.text, sizeof m.text, fmt, ap);
		va_end(ap);
	}
	while (write(fd, &m, sizeof m) < 0 && errno == EINTR)
		;
}

/* Reports a setup failure (errno is read first) and ends the process. */
#define DIE(c, what, ...) do { \
	int e_ = errno ? errno : EIO; \
	send_msg((c)->msgfd, MSG_ERR, -e_, what ": %s", __VA_ARGS__, strerror(e_)); \
	_exit(126); \
} while (0)

static void pathcat(char *out, size_t cap, const char *a, const char *b)
{
	if ((size_t)snprintf(out, cap, "%s/%s", a, b) >= cap)
		out[0] = 0;     /* an empty path fails every call below */
}

/* ---- /proc and /dev of the step ---- */

/* Files of /proc covered by the host's /dev/null, directories by an empty
 * read-only tmpfs, and trees made read-only (docker's list): writes to
 * /proc/sys (core_pattern!) and /proc/sysrq-trigger act on the whole host,
 * and only file modes guard them from uid 0. */
static const char *const proc_null[] = {
	"kcore", "keys", "latency_stats", "timer_list", "timer_stats", "sched_debug",
	"sysrq-trigger", "kallsyms", "kmsg",
};
static const char *const proc_empty[] = { "acpi", "asound", "scsi", "driver" };
static const char *const proc_ro[] = { "sys", "irq", "bus", "fs" };

static int real_dir(const char *path)
{
	struct stat sb;
	return lstat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static void mount_proc(const struct ctx *c)
{
	char proc[SBX_MAX_PATH], p[SBX_MAX_PATH];
	size_t i;

	pathcat(proc, sizeof proc, c->o->rootfs, "proc");
	errno = ENOTDIR;
	if (!real_dir(proc))
		DIE(c, "mount /proc: %s", "/proc of the image");
	if (mount("proc", proc, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		DIE(c, "mount /proc%s", "");
	for (i = 0; i < sizeof proc_null / sizeof proc_null[0]; i++) {
		pathcat(p, sizeof p, proc, proc_null[i]);
		if (access(p, F_OK) == 0 && mount("/dev/null", p, NULL, MS_BIND, NULL) < 0)
			DIE(c, "mask /proc/%s", proc_null[i]);
	}
	for (i = 0; i < sizeof proc_empty / sizeof proc_empty[0]; i++) {
		pathcat(p, sizeof p, proc, proc_empty[i]);
		if (real_dir(p) && mount("tmpfs", p, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV |
					 MS_NOEXEC, "size=0,mode=0555") < 0)
			DIE(c, "mask /proc/%s", proc_empty[i]);
	}
	for (i = 0; i < sizeof proc_ro / sizeof proc_ro[0]; i++) {
		pathcat(p, sizeof p, proc, proc_ro[i]);
		if (!real_dir(p))
			continue;
		if (mount(p, p, NULL, MS_BIND | MS_REC, NULL) < 0 ||
		    mount(NULL, p, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV |
			  MS_NOEXEC, NULL) < 0)
			DIE(c, "read-only /proc/%s", proc_ro[i]);
	}
}

static const char *const dev_nodes[] = { "null", "zero", "full", "random", "urandom", "tty" };
static const char *const dev_links[][2] = {
	{ "fd", "/proc/self/fd" }, { "stdin", "/proc/self/fd/0" },
	{ "stdout", "/proc/self/fd/1" }, { "stderr", "/proc/self/fd/2" }, { "ptmx", "pts/ptmx" },
};

static void mount_dev(const struct ctx *c)
{
	char dev[SBX_MAX_PATH], p[SBX_MAX_PATH], host[64], opt[64];
	size_t i;
	int fd;

	pathcat(dev, sizeof dev, c->o->rootfs, "dev");
	errno = ENOTDIR;
	if (!real_dir(dev))
		DIE(c, "mount /dev: %s", "/dev of the image");
	snprintf(opt, sizeof opt, "mode=0755,size=%u", (unsigned)SBX_DEV_BYTES);
	if (mount("tmpfs", dev, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, opt) < 0)
		DIE(c, "mount /dev%s", "");
	for (i = 0; i < sizeof dev_nodes / sizeof dev_nodes[0]; i++) {
		struct stat sb;
		snprintf(host, sizeof host, "/dev/%s", dev_nodes[i]);
		if (stat(host, &sb) < 0 || !S_ISCHR(sb.st_mode))
			continue;       /* a node the builder's kernel lacks (tty without CONFIG_TTY) */
		pathcat(p, sizeof p, dev, dev_nodes[i]);
		if ((fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666)) < 0)
			DIE(c, "/dev/%s", dev_nodes[i]);
		close(fd);
		if (mount(host, p, NULL, MS_BIND, NULL) < 0)
			DIE(c, "bind /dev/%s", dev_nodes[i]);
	}
	pathcat(p, sizeof p, dev, "pts");
	if (mkdir(p, 0755) < 0 || mount("devpts", p, "devpts", MS_NOSUID | MS_NOEXEC,
					 "newinstance,ptmxmode=0666,mode=0620") < 0)
		DIE(c, "mount /dev/pts%s", "");
	pathcat(p, sizeof p, dev, "shm");
	snprintf(opt, sizeof opt, "mode=1777,size=%u", (unsigned)SBX_SHM_BYTES);
	if (mkdir(p, 01777) < 0 || mount("tmpfs", p, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, opt) < 0)
		DIE(c, "mount /dev/shm%s", "");
	for (i = 0; i < sizeof dev_links / sizeof dev_links[0]; i++) {
		pathcat(p, sizeof p, dev, dev_links[i][0]);
		if (symlink(dev_links[i][1], p) < 0)
			DIE(c, "/dev/%s", dev_links[i][0]);
	}
}

/* network = 1: the builder's name servers, read-only, on /etc/resolv.conf
 * (the parent checked that etc is a directory and resolv.conf a regular
 * file, both without following symlinks, and made an empty one if missing;
 * nothing else runs in the rootfs meanwhile, and lstat checks again). */
static void mount_resolv(const struct ctx *c)
{
	char etc[SBX_MAX_PATH], p[SBX_MAX_PATH];
	struct stat sb;

	if (!c->resolv)
		return;
	pathcat(etc, sizeof etc, c->o->rootfs, "etc");
	pathcat(p, sizeof p, etc, "resolv.conf");
	errno = ELOOP;
	if (!real_dir(etc) || lstat(p, &sb) < 0 || !S_ISREG(sb.st_mode))
		DIE(c, "/etc/resolv.conf%s", "");
	if (mount(RESOLV_CONF, p, NULL, MS_BIND, NULL) < 0 ||
	    mount(NULL, p, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  NULL) < 0)
		DIE(c, "bind /etc/resolv.conf%s", "");
}

/* pivot_root into the rootfs, then the old root is detached and its
 * directory removed: nothing of the host's file system stays reachable. */
static void pivot(struct ctx *c)
{
	char old[SBX_MAX_PATH], inner[64];

	pathcat(old, sizeof old, c->o->rootfs, c->oldroot);
	snprintf(inner, sizeof inner, "/%s", c->oldroot);
	if (mkdir(old, 0700) < 0)
		DIE(c, "pivot directory%s", "");
	if (syscall(SYS_pivot_root, c->o->rootfs, old) == 0) {
		if (chdir("/") < 0 || umount2(inner, MNT_DETACH) < 0)
			DIE(c, "detach the old root%s", "");
		if (rmdir(inner) < 0)
			DIE(c, "remove the pivot directory%s", "");
		return;
	}
	if (errno != EINVAL)
		DIE(c, "pivot_root%s", "");
	/* EINVAL: the caller's root is not a mount root. That is sbsd as PID 1
	 * of an initramfs, whose rootfs can never be pivoted. Then, as runc's
	 * no-pivot mode: the rootfs mount is moved over / and becomes the root
	 * by chroot. The initramfs stays below it, out of every path; only a
	 * chroot() below the cwd could climb out, so CAP_SYS_CHROOT is dropped
	 * too (drop_caps), and CAP_SYS_ADMIN, user namespaces and descriptors
	 * that could reach it are gone as always. */
	if (rmdir(old) < 0 || chdir(c->o->rootfs) < 0 ||
	    mount(c->o->rootfs, "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0 || chdir("/") < 0)
		DIE(c, "move the root (no pivot_root)%s", "");
	c->moved_root = 1;
}

static void enter_root(struct ctx *c)
{
	pivot(c);
	if (sethostname(c->hostname, strlen(c->hostname)) < 0)
		DIE(c, "sethostname%s", "");
	/* now inside the image: symlinks resolve within it, ".." stops at / */
	if (strcmp(c->workdir, "/") && util_mkdirs(c->workdir, 0755) < 0) {
		errno = errno ? errno : EIO;
		DIE(c, "workdir \"%.100s\"", c->workdir);
	}
	if (chdir(c->workdir) < 0)
		DIE(c, "workdir \"%.100s\"", c->workdir);
}

/* ---- descriptors, capabilities, identity ---- */

static void setup_fds(struct ctx *c)
{
	int of = fcntl(c->o->out_fd, F_DUPFD_CLOEXEC, 3);
	int m = fcntl(c->msgfd, F_DUPFD_CLOEXEC, 3);
	int nul = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (of < 0 || m < 0 || nul < 0)
		DIE(c, "descriptors%s", "");
	c->msgfd = m;
	if (dup2(nul, 0) < 0 || dup2(of, 1) < 0 || dup2(of, 2) < 0)
		DIE(c, "descriptors%s", "");
	/* everything else goes: the builder's sockets, files, directories */
	if ((m > 3 && syscall(SYS_close_range, 3u, (unsigned)m - 1, 0u) < 0) ||
	    syscall(SYS_close_range, (unsigned)m + 1, ~0u, 0u) < 0) {
		struct rlimit rl;
		unsigned top = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (1u << 20) ?
			(unsigned)rl.rlim_cur : (1u << 20);
		for (unsigned fd = 3; fd < top; fd++)
			if ((int)fd != m)
				close((int)fd);
	}
}

/* Kept in the bounding set (docker's defaults without NET_RAW and
 * AUDIT_WRITE): what package installs need (chown, chmod of others' files,
 * setuid/setgid by root, setcap, mknod) and nothing else. Every other
 * capability the kernel knows, including ones newer than this list, is
 * dropped. */
#define CAPB(n) (1ull << (n))
static const uint64_t caps_kept =
	CAPB(0) /* CHOWN */ | CAPB(1) /* DAC_OVERRIDE */ | CAPB(3) /* FOWNER */ |
	CAPB(4) /* FSETID */ | CAPB(5) /* KILL */ | CAPB(6) /* SETGID */ | CAPB(7) /* SETUID */ |
	CAPB(8) /* SETPCAP */ | CAPB(10) /* NET_BIND_SERVICE */ | CAPB(18) /* SYS_CHROOT */ |
	CAPB(27) /* MKNOD */ | CAPB(31) /* SETFCAP */;

struct cap_hdr {
	uint32_t version;
	int pid;
};
struct cap_data {
	uint32_t effective, permitted, inheritable;
};

static void drop_caps(const struct ctx *c)
{
	struct cap_hdr h = { 0x20080522, 0 };   /* _LINUX_CAPABILITY_VERSION_3 */
	struct cap_data d[2];

	for (int cap = 0; cap < 64; cap++) {
		if ((caps_kept & CAPB(cap)) && !(c->moved_root && cap == 18 /* SYS_CHROOT */))
			continue;
		if (prctl(PR_CAPBSET_DROP, (unsigned long)cap, 0, 0, 0) < 0) {
			if (errno == EINVAL)
				break;          /* past the kernel's last capability */
			DIE(c, "drop capability %d", cap);
		}
	}
	/* no inheritable or ambient capability may carry a dropped one over exec */
	if (syscall(SYS_capget, &h, d) < 0)
		DIE(c, "capget%s", "");
	d[0].inheritable = 0;
	d[1].inheritable = 0;
	if (syscall(SYS_capset, &h, d) < 0)
		DIE(c, "capset%s", "");
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		DIE(c, "clear ambient capabilities%s", "");
}

static void set_identity(const struct ctx *c)
{
	gid_t g[SBX_MAX_GROUPS];
	size_t n = c->ids->ngroups;

	for (size_t i = 0; i < n; i++)
		g[i] = (gid_t)c->ids->groups[i];
	if (setgroups(n, g) < 0 || setgid((gid_t)c->ids->gid) < 0)
		DIE(c, "set group %u", c->ids->gid);
	if (setuid((uid_t)c->ids->uid) < 0)
		DIE(c, "set user %u", c->ids->uid);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		DIE(c, "no_new_privs%s", "");
	/* a credential change clears it: set again (the middle process is the parent) */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		DIE(c, "pdeathsig%s", "");
}

/* ---- seccomp: the kernel surface a build never needs ---- */

/* BPF and seccomp ABI (linux/filter.h, linux/seccomp.h, linux/audit.h),
 * defined here because musl's headers do not carry them. */
struct bpf_insn {
	uint16_t code;
	uint8_t jt, jf;
	uint32_t k;
};
struct bpf_prog {
	unsigned short len;
	const struct bpf_insn *filter;
};
#define BPF_LDW_ABS  0x20           /* BPF_LD | BPF_W | BPF_ABS */
#define BPF_JEQ_K    0x15           /* BPF_JMP | BPF_JEQ | BPF_K */
#define BPF_JGE_K    0x35           /* BPF_JMP | BPF_JGE | BPF_K */
#define BPF_JSET_K   0x45           /* BPF_JMP | BPF_JSET | BPF_K */
#define BPF_RET_K    0x06
#define SECCOMP_MODE_FILTER_ 2
#define RET_ALLOW    0x7fff0000u
#define RET_ERRNO(e) (0x00050000u | (uint32_t)(e))
#define RET_KILL     0x80000000u    /* SECCOMP_RET_KILL_PROCESS */
#define OFF_NR       0
#define OFF_ARCH     4
#if defined(__x86_64__)
#define SBX_AUDIT_ARCH 0xc000003eu  /* AUDIT_ARCH_X86_64 */
#define OFF_CLONE_FLAGS 16          /* args[0], low word (little-endian) */
#elif defined(__s390x__)
#define SBX_AUDIT_ARCH 0x80000016u  /* AUDIT_ARCH_S390X */
#define OFF_CLONE_FLAGS 28          /* s390 clone(stack, flags): args[1], low word (big-endian) */
#endif
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define OFF_ARG0_LO  20
#else
#define OFF_ARG0_LO  16
#endif
#define NEWUSER      0x10000000u    /* CLONE_NEWUSER */

/* Refused with EPERM: keyrings, eBPF, perf, userfaultfd, io_uring, module
 * and kexec loading, namespace joining, the new mount API and file handles.
 * Most already need a dropped capability; the filter also closes the ones
 * that do not (keyctl, userfaultfd, io_uring, unprivileged bpf) and keeps
 * the kernel code behind them out of reach. */
static const long denied[] = {
#ifdef SYS_keyctl
	SYS_keyctl, SYS_add_key, SYS_request_key,
#endif
#ifdef SYS_bpf
	SYS_bpf,
#endif
#ifdef SYS_perf_event_open
	SYS_perf_event_open,
#endif
#ifdef SYS_userfaultfd
	SYS_userfaultfd,
#endif
#ifdef SYS_io_uring_setup
	SYS_io_uring_setup, SYS_io_uring_enter, SYS_io_uring_register,
#endif
#ifdef SYS_kexec_load
	SYS_kexec_load,
#endif
#ifdef SYS_kexec_file_load
	SYS_kexec_file_load,
#endif
	SYS_init_module, SYS_finit_module, SYS_delete_module, SYS_setns,
#ifdef SYS_fsopen
	SYS_fsopen, SYS_fsconfig, SYS_fsmount, SYS_fspick, SYS_move_mount, SYS_open_tree,
#endif
#ifdef SYS_mount_setattr
	SYS_mount_setattr,
#endif
	SYS_open_by_handle_at, SYS_name_to_handle_at,
	SYS_syslog,             /* the kernel log, readable when dmesg_restrict is 0 */
};

#define NDENIED (sizeof denied / sizeof denied[0])
#define FILTER_MAX (NDENIED * 2 + 24)

static size_t build_filter(struct bpf_insn *f)
{
	size_t n = 0;

#define I(c, t, e, v) (f[n++] = (struct bpf_insn){ (uint16_t)(c), (uint8_t)(t), (uint8_t)(e), (uint32_t)(v) })
	I(BPF_LDW_ABS, 0, 0, OFF_ARCH);
	I(BPF_JEQ_K, 1, 0, SBX_AUDIT_ARCH);
	I(BPF_RET_K, 0, 0, RET_KILL);           /* compat (32/31-bit) and x32 entry: refused */
	I(BPF_LDW_ABS, 0, 0, OFF_NR);
#if defined(__x86_64__)
	I(BPF_JGE_K, 0, 1, 0x40000000u);        /* __X32_SYSCALL_BIT */
	I(BPF_RET_K, 0, 0, RET_KILL);
#endif
	for (size_t i = 0; i < NDENIED; i++) {
		I(BPF_JEQ_K, 0, 1, denied[i]);
		I(BPF_RET_K, 0, 0, RET_ERRNO(EPERM));
	}
	/* clone3 hides its flags in memory: ENOSYS makes libcs fall back to clone */
	I(BPF_JEQ_K, 0, 1, SYS_clone3);
	I(BPF_RET_K, 0, 0, RET_ERRNO(ENOSYS));
	/* no new user namespace: the way to capabilities over fresh kernel objects */
	I(BPF_JEQ_K, 0, 4, SYS_unshare);
	I(BPF_LDW_ABS, 0, 0, OFF_ARG0_LO);
	I(BPF_JSET_K, 0, 1, NEWUSER);
	I(BPF_RET_K, 0, 0, RET_ERRNO(EPERM));
	I(BPF_LDW_ABS, 0, 0, OFF_NR);
	I(BPF_JEQ_K, 0, 3, SYS_clone);
	I(BPF_LDW_ABS, 0, 0, OFF_CLONE_FLAGS);
	I(BPF_JSET_K, 0, 1, NEWUSER);
	I(BPF_RET_K, 0, 0, RET_ERRNO(EPERM));
	I(BPF_RET_K, 0, 0, RET_ALLOW);
#undef I
	return n;
}

/* Needs no_new_privs (set before). The filter survives exec and fork. */
static void install_filter(const struct ctx *c)
{
	struct bpf_insn f[FILTER_MAX];
	struct bpf_prog prog = { (unsigned short)build_filter(f), f };

	/* A kernel built without seccomp has none of it (the appliance's has
	 * CONFIG_SECCOMP_FILTER; qemu/e2e-build.sh sees mode 2 in a step).
	 * Any other failure is fatal. */
	if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) < 0 && errno == EINVAL)
		return;
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER_, &prog, 0, 0) < 0)
		DIE(c, "seccomp filter%s", "");
}

static void reset_signals(void)
{
	struct sigaction sa;
	sigset_t none;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_DFL;
	for (int s = 1; s < 65; s++)
		sigaction(s, &sa, NULL);        /* fails harmlessly for KILL, STOP, reserved */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/* execve, with a PATH search (the step's PATH) for a name without '/'. */
static void exec_step(const struct ctx *c)
{
	const char *const *argv = c->o->argv, *path = NULL;
	char *const *av = (char *const *)(uintptr_t)argv;      /* execve's historic type */
	char *const *ev = (char *const *)(uintptr_t)c->o->envp;
	char file[SBX_MAX_PATH];
	int err = ENOENT;

	if (strchr(argv[0], '/')) {
		execve(argv[0], av, ev);
		err = errno;
	} else {
		for (const char *const *e = c->o->envp; *e && !path; e++)
			if (!strncmp(*e, "PATH=", 5))
				path = *e + 5;
		if (!path)
			path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
		while (*path) {
			size_t n = strcspn(path, ":");
			if ((size_t)snprintf(file, sizeof file, "%.*s/%s", (int)n, path, argv[0]) <
			    sizeof file) {
				execve(file, av, ev);
				if (errno != ENOENT && errno != ENOTDIR)
					err = errno;
			}
			path += n + (path[n] == ':');
		}
	}
	send_msg(c->msgfd, MSG_ERR, -err, "exec \"%.100s\": %s%s", argv[0], strerror(err),
		 err == ENOENT ? " (not in the image)" : "");
	_exit(127);
}

/* Outside the appliance there is no step cgroup (sandbox_cg.c) and nothing
 * bounds the step's memory; everywhere, make it the OOM killer's first
 * choice, so sbsd's own processes are not. Lowering it again needs
 * CAP_SYS_RESOURCE, which the step does not keep. */
static void oom_first(const struct ctx *c)
{
	int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);

	if (fd < 0 || write(fd, "1000", 4) != 4)
		DIE(c, "oom_score_adj%s", "");
	close(fd);
}

/* PID 1 of the new pid namespace: builds the step's world and becomes it. */
static void step_main(struct ctx *c)
{
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || setsid() < 0)
		DIE(c, "session%s", "");
	/* The step's cgroup, joined here and not by the middle process, which
	 * must survive the group's OOM kill to report it; then a cgroup
	 * namespace rooted in it. A kernel without cgroups has none (EINVAL). */
	if (sbx_cg_join(c->cg) < 0)
		DIE(c, "join the step's cgroup%s", "");
	if (unshare(CLONE_NEWCGROUP) < 0 && errno != EINVAL)
		DIE(c, "cgroup namespace%s", "");
	oom_first(c);
	/* no core files: none in the layer, no host core_pattern handler run */
	if (setrlimit(RLIMIT_CORE, &(struct rlimit){ 0, 0 }) < 0)
		DIE(c, "core limit%s", "");
	mount_proc(c);
	mount_dev(c);
	mount_resolv(c);
	enter_root(c);
	setup_fds(c);
	drop_caps(c);
	set_identity(c);
	install_filter(c);
	reset_signals();
	exec_step(c);
}

/* ---- the middle process ---- */

static unsigned long root_flags(const char *path)
{
	struct statvfs sv;
	unsigned long f = MS_NODEV | MS_NOSUID;

	if (statvfs(path, &sv) == 0) {
		if (sv.f_flag & ST_RDONLY)
			f |= MS_RDONLY;
		if (sv.f_flag & ST_NOEXEC)
			f |= MS_NOEXEC;
		if (sv.f_flag & ST_NOATIME)
			f |= MS_NOATIME;
		if (sv.f_flag & ST_RELATIME)
			f |= MS_RELATIME;
	}
	return f;
}

/* Waits for the step, killing it (and its whole pid namespace) at the deadline. */
static void wait_step(const struct ctx *c, pid_t pid, const sigset_t *chld)
{
	struct timespec now, end, left;
	int st = 0, killed = 0;

	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += (time_t)c->timeout_s;
	for (;;) {
		pid_t r = waitpid(pid, &st, killed ? 0 : WNOHANG);
		if (r == pid)
			break;
		if (r < 0 && errno != EINTR)
			DIE(c, "wait%s", "");
		if (killed)
			continue;
		clock_gettime(CLOCK_MONOTONIC, &now);
		left.tv_sec = end.tv_sec - now.tv_sec;
		left.tv_nsec = end.tv_nsec - now.tv_nsec;
		if (left.tv_nsec < 0)
			left.tv_sec--, left.tv_nsec += 1000000000L;
		if (left.tv_sec < 0) {
			kill(pid, SIGKILL);
			killed = 1;
			continue;
		}
		sigtimedwait(chld, NULL, &left);
	}
	send_msg(c->msgfd, killed ? MSG_TIMEOUT : MSG_STATUS, st, NULL);
}

/* A new network namespace has only lo, and it is down. */
static void loopback_up(const struct ctx *c)
{
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	memset(&ifr, 0, sizeof ifr);
	memcpy(ifr.ifr_name, "lo", 3);
	if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		DIE(c, "loopback%s", "");
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		DIE(c, "loopback up%s", "");
	close(s);
}

static void middle_main(struct ctx *c)
{
	int flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS;
	const char *root = c->o->rootfs;
	sigset_t chld;
	pid_t pid;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid() != c->parent)
		_exit(126);
	reset_signals();                /* the builder's handlers, SIGCHLD ignored... */
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	if (!c->o->network)
		flags |= CLONE_NEWNET;
	if (unshare(flags) < 0)
		DIE(c, "unshare%s", "");
	if (!c->o->network)
		loopback_up(c);
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		DIE(c, "private mounts%s", "");
	if (mount(root, root, NULL, MS_BIND, NULL) < 0 ||
	    mount(NULL, root, NULL, MS_REMOUNT | MS_BIND | root_flags(root), NULL) < 0)
		DIE(c, "bind the rootfs%s", "");
	pid = fork();
	if (pid < 0)
		DIE(c, "fork%s", "");
	if (pid == 0)
		step_main(c);
	wait_step(c, pid, &chld);
	_exit(0);
}

/* ---- the caller's side ---- */

static int bad(char *err, size_t errcap, int rc, const char *what)
{
	snprintf(err, errcap, "sandbox: %s", what);
	return rc;
}

static int check_opts(const struct sbx_opts *o, char *err, size_t errcap)
{
	size_t n = 0, bytes = 0;

	if (!o || !o->rootfs || o->rootfs[0] != '/' || !o->argv || !o->argv[0] ||
	    !o->argv[0][0] || !o->envp || o->out_fd < 0)
		return bad(err, errcap, -EINVAL, "bad options (rootfs, argv, envp, out_fd)");
	if (strlen(o->rootfs) > SBX_MAX_PATH - 64)
		return bad(err, errcap, -ENAMETOOLONG, "rootfs path too long");
	if (o->workdir && (o->workdir[0] != '/' || strlen(o->workdir) >= SBX_MAX_PATH))
		return bad(err, errcap, -EINVAL, "workdir must be an absolute path");
	if (o->hostname && (!o->hostname[0] || strlen(o->hostname) > 64))
		return bad(err, errcap, -EINVAL, "hostname: 1 to 64 bytes");
	for (; o->argv[n]; n++)
		if (n >= SBX_MAX_ARGS || (bytes += strlen(o->argv[n]) + 1) > SBX_MAX_ARG_BYTES)
			return bad(err, errcap, -E2BIG, "too many or too long arguments");
	for (n = 0; o->envp[n]; n++)
		if (n >= SBX_MAX_ENV || (bytes += strlen(o->envp[n]) + 1) > SBX_MAX_ARG_BYTES)
			return bad(err, errcap, -E2BIG, "too many or too long environment variables");
	return 0;
}

/* The mount points the step needs; made (and later removed) when the image
 * lacks them. Bit i of *made: mount_dirs[i] was created here. */
static const char *const mount_dirs[] = { "proc", "dev" };

static int prepare_root(int rfd, unsigned *made, char *err, size_t errcap)
{
	struct stat sb;

	*made = 0;
	for (unsigned i = 0; i < sizeof mount_dirs / sizeof mount_dirs[0]; i++) {
		if (fstatat(rfd, mount_dirs[i], &sb, AT_SYMLINK_NOFOLLOW) == 0) {
			if (!S_ISDIR(sb.st_mode)) {
				snprintf(err, errcap, "sandbox: the image's /%s is not a directory",
					 mount_dirs[i]);
				return -ENOTDIR;
			}
			continue;
		}
		if (errno != ENOENT || mkdirat(rfd, mount_dirs[i], 0755) < 0) {
			snprintf(err, errcap, "sandbox: /%s: %s", mount_dirs[i], strerror(errno));
			return -errno;
		}
		*made |= 1u << i;
	}
	return 0;
}

/* network = 1 and the builder has a resolv.conf: the image's own
 * etc/resolv.conf becomes a mount point. No etc, no resolv.conf, a symlink
 * in the way or anything but a regular file there: nothing is injected
 * (*made_ino stays 0, so cleanup_resolv removes nothing). */
static void prepare_resolv(int rfd, struct ctx *c, uint64_t *made_ino)
{
	struct stat sb;
	const char *base;
	int efd;

	*made_ino = 0;
	if (!c->o->network || stat(RESOLV_CONF, &sb) < 0 || !S_ISREG(sb.st_mode))
		return;
	if ((efd = arc_open_parent(rfd, "etc/resolv.conf", 0, &base)) < 0)
		return;
	/* Only over a file the image has: making a mount point would change
	 * etc's mtime and ctime, and every RUN would then carry a layer with
	 * etc/ in it (snap.c is ctime-sensitive). An image without
	 * /etc/resolv.conf resolves names as it would anywhere: not at all. */
	c->resolv = fstatat(efd, base, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(sb.st_mode);
	close(efd);
}

static void cleanup_resolv(int rfd, uint64_t made_ino)
{
	struct stat sb;
	const char *base;
	int efd;

	if (!made_ino || (efd = arc_open_parent(rfd, "etc/resolv.conf", 0, &base)) < 0)
		return;
	/* only the empty file made here (a step may have moved /etc away) */
	if (fstatat(efd, base, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(sb.st_mode) &&
	    (uint64_t)sb.st_ino == made_ino && sb.st_size == 0)
		unlinkat(efd, base, 0);
	close(efd);
}

static void cleanup_root(int rfd, unsigned made, const char *oldroot)
{
	for (unsigned i = 0; i < sizeof mount_dirs / sizeof mount_dirs[0]; i++)
		if (made & (1u << i))
			unlinkat(rfd, mount_dirs[i], AT_REMOVEDIR);
	unlinkat(rfd, oldroot, AT_REMOVEDIR);   /* only if the step died before removing it */
}

/* Reads the messages until every writer is gone; fills *st and the error. */
static int collect(int fd, const struct ctx *c, int *exit_status, char *err, size_t errcap)
{
	struct msg m;
	int rc = -EIO, have_err = 0;
	size_t got = 0;

	for (;;) {
		ssize_t n = read(fd, (char *)&m + got, sizeof m - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if ((got += (size_t)n) < sizeof m)
			continue;
		got = 0;
		m.text[sizeof m.text - 1] = 0;
		if (m.kind == MSG_ERR && !have_err) {
			have_err = 1;
			rc = m.code < 0 ? m.code : -EIO;
			snprintf(err, errcap, "sandbox: %s", m.text);
		} else if ((m.kind == MSG_STATUS || m.kind == MSG_TIMEOUT) && !have_err) {
			*exit_status = WIFEXITED(m.code) ? WEXITSTATUS(m.code) :
				WIFSIGNALED(m.code) ? 128 + WTERMSIG(m.code) : 255;
			rc = 0;
			if (m.kind == MSG_TIMEOUT) {
				rc = -ETIMEDOUT;
				snprintf(err, errcap, "sandbox: step killed after %u s (timeout)",
					 c->timeout_s);
			}
		}
	}
	if (rc == -EIO && !err[0])
		snprintf(err, errcap, "sandbox: the sandbox process died without a report");
	return rc;
}

/* Forks the middle process and reads its report into *exit_status and err. */
static int spawn(struct ctx *c, int *exit_status, char *err, size_t errcap)
{
	int p[2], rc, st;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return bad(err, errcap, -errno, "pipe");
	c->msgfd = p[1];
	if ((pid = fork()) < 0) {
		rc = bad(err, errcap, -errno, "fork");
		close(p[0]);
		close(p[1]);
		return rc;
	}
	if (pid == 0)
		middle_main(c);
	close(p[1]);
	rc = collect(p[0], c, exit_status, err, errcap);
	close(p[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return rc;
}

int sbx_run(const struct sbx_opts *o, int *exit_status, char *err, size_t errcap)
{
	char dummy[1];
	struct ctx c = { .o = o };
	struct sbx_ids *ids = NULL;
	uint8_t rnd[8];
	unsigned made = 0;
	uint64_t made_resolv = 0;
	int rc, rfd = -1;

	if (!err || !errcap)
		err = dummy, errcap = sizeof dummy;
	err[0] = 0;
	if (!exit_status)
		return -EINVAL;
	*exit_status = -1;
	if ((rc = check_opts(o, err, errcap)) < 0)
		return rc;
	if (!(ids = malloc(sizeof *ids)))
		return bad(err, errcap, -ENOMEM, "out of memory");
	c.ids = ids;
	if ((rc = sbx_resolve_ids(o->rootfs, o->user ? o->user : "", ids, err, errcap)) < 0)
		goto out;
	c.hostname = o->hostname ? o->hostname : "sbs-build";
	c.workdir = o->workdir ? o->workdir : "/";
	c.timeout_s = o->timeout_s ? o->timeout_s : SBX_TIMEOUT_S;
	c.parent = getpid();
	if ((rc = util_rng(NULL, rnd, sizeof rnd)) < 0) {
		rc = bad(err, errcap, rc, "no randomness");
		goto out;
	}
	snprintf(c.oldroot, sizeof c.oldroot, ".sbx-pivot-%02x%02x%02x%02x%02x%02x%02x%02x",
		 rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
	if ((rfd = open(o->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0) {
		rc = -errno;
		snprintf(err, errcap, "sandbox: rootfs: %s", strerror(errno));
		goto out;
	}
	if ((rc = prepare_root(rfd, &made, err, errcap)) == 0 &&
	    (rc = sbx_cg_create(c.cg, sizeof c.cg, err, errcap)) >= 0) {
		prepare_resolv(rfd, &c, &made_resolv);
		rc = spawn(&c, exit_status, err, errcap);
		sbx_cg_remove(c.cg);
	}
out:
	if (rfd >= 0) {
		cleanup_resolv(rfd, made_resolv);
		cleanup_root(rfd, made, c.oldroot);
		close(rfd);
	}
	free(ids);
	return rc;
}
