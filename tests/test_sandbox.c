/* SPDX-License-Identifier: MIT */
/*
 * Tests for src/sandbox.c. Without arguments (make check): sbx_resolve_user
 * against a made-up rootfs (names, numeric ids, "user:group", a missing name
 * named in the error, /etc/passwd as a symlink out of the rootfs, /etc as a
 * symlink, a FIFO that must not hang) and the option checks of sbx_run.
 *
 * Command forms used by tests/it_sandbox.sh (root needed):
 *   test_sandbox run ROOTFS [--net=0] [--user=U] [--workdir=W] [--timeout=S]
 *                [--hostname=H] [--env=K=V]... [--diff] -- ARGV...
 *       runs ARGV in the sandbox with stdout/stderr as out_fd; prints
 *       "sbx: rc=RC status=N err=TEXT" on stderr; exits 0 when the step ran
 *       (whatever its status), 2 when sbx_run failed. --diff: a snapshot
 *       (proc and dev excluded) before, and "change K PATH" lines on stderr
 *       after (K: A add, W whiteout, O opaque), as the builder does.
 *   test_sandbox probe SECRET_PATH
 *       run inside the sandbox: escape attempts that need C (chroot escape,
 *       open_by_handle_at, mount, user namespace tricks); prints one line per
 *       attempt and "LEAK ..." if the secret file could be read.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox.h"
#include "snap.h"
#include "tutil.h"

static char base[256];

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	return system(cmd);
}

static void put(const char *rel, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", base, rel);
	f = fopen(path, "w");
	CHECK(f != NULL);
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static void test_users(void)
{
	char root[300], err[256];
	unsigned u = 9, g = 9;

	snprintf(root, sizeof root, "%s/r1", base);
	CHECK(sh("mkdir -p '%s/r1/etc' '%s/r2' '%s/r3/etc' '%s/r4/etc' '%s/r5'", base, base, base,
		 base, base) == 0);
	put("r1/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"
	    "# a comment line\n" "broken line without fields\n"
	    "app:x:1000:1000::/home/app:/bin/sh\n" "svc:x:77:50::/:/bin/false");
	put("r1/etc/group", "root:x:0:\nstaff:x:50:app\napp:x:1000:\n");
	CHECK_EQ(sbx_resolve_user(root, "", &u, &g, err, sizeof err), 0);
	CHECK(u == 0 && g == 0);
	CHECK_EQ(sbx_resolve_user(root, "app", &u, &g, err, sizeof err), 0);
	CHECK(u == 1000 && g == 1000);
	CHECK_EQ(sbx_resolve_user(root, "svc", &u, &g, err, sizeof err), 0);  /* last line, no \n */
	CHECK(u == 77 && g == 50);
	CHECK_EQ(sbx_resolve_user(root, "1000", &u, &g, err, sizeof err), 0);
	CHECK(u == 1000 && g == 1000);
	CHECK_EQ(sbx_resolve_user(root, "4242", &u, &g, err, sizeof err), 0);  /* need not exist */
	CHECK(u == 4242 && g == 0);
	CHECK_EQ(sbx_resolve_user(root, "app:staff", &u, &g, err, sizeof err), 0);
	CHECK(u == 1000 && g == 50);
	CHECK_EQ(sbx_resolve_user(root, "4242:4343", &u, &g, err, sizeof err), 0);
	CHECK(u == 4242 && g == 4343);
	CHECK_EQ(sbx_resolve_user(root, "root:app", &u, &g, err, sizeof err), 0);
	CHECK(u == 0 && g == 1000);
	CHECK_EQ(sbx_resolve_user(root, "nobody", &u, &g, err, sizeof err), -ENOENT);
	CHECK(strstr(err, "\"nobody\"") && strstr(err, "/etc/passwd"));
	CHECK_EQ(sbx_resolve_user(root, "app:wheel", &u, &g, err, sizeof err), -ENOENT);
	CHECK(strstr(err, "\"wheel\"") && strstr(err, "/etc/group"));
	CHECK(sbx_resolve_user(root, "app:", &u, &g, err, sizeof err) < 0);
	CHECK(sbx_resolve_user(root, ":0", &u, &g, err, sizeof err) < 0);
	CHECK_EQ(sbx_resolve_user(root, "99999999999", &u, &g, err, sizeof err), -ERANGE);
	CHECK_EQ(sbx_resolve_user(root, "4294967295", &u, &g, err, sizeof err), -ERANGE);
	/* no /etc/passwd: names fail, numbers work */
	snprintf(root, sizeof root, "%s/r2", base);
	CHECK_EQ(sbx_resolve_user(root, "root", &u, &g, err, sizeof err), -ENOENT);
	CHECK_EQ(sbx_resolve_user(root, "0:0", &u, &g, err, sizeof err), 0);
	/* /etc/passwd a symlink to a host file that has the user: not followed */
	snprintf(root, sizeof root, "%s/r3", base);
	put("host_passwd", "evil:x:4000:4000::/:/bin/sh\n");
	CHECK(sh("ln -s '%s/host_passwd' '%s/r3/etc/passwd'", base, base) == 0);
	CHECK(sbx_resolve_user(root, "evil", &u, &g, err, sizeof err) < 0);
	CHECK(u != 4000);
	/* /etc itself a symlink out of the rootfs */
	snprintf(root, sizeof root, "%s/r5", base);
	CHECK(sh("mkdir -p '%s/hostetc' && cp '%s/host_passwd' '%s/hostetc/passwd' && "
		 "ln -s '%s/hostetc' '%s/r5/etc'", base, base, base, base, base) == 0);
	CHECK(sbx_resolve_user(root, "evil", &u, &g, err, sizeof err) < 0);
	CHECK(u != 4000);
	/* more supplementary groups than SBX_MAX_GROUPS: a specific error */
	snprintf(root, sizeof root, "%s/r6", base);
	CHECK(sh("mkdir -p '%s/r6/etc' && cp '%s/r1/etc/passwd' '%s/r6/etc/' && "
		 "for i in $(seq 100 170); do echo g$i:x:$i:x,app,y; done >'%s/r6/etc/group'",
		 base, base, base, base) == 0);
	CHECK_EQ(sbx_resolve_user(root, "app", &u, &g, err, sizeof err), -E2BIG);
	CHECK(strstr(err, "more than") != NULL);
	CHECK_EQ(sbx_resolve_user(root, "app:g100", &u, &g, err, sizeof err), 0);
	CHECK(u == 1000 && g == 100);
	/* a FIFO where /etc/passwd should be: refused at once, no hang */
	snprintf(root, sizeof root, "%s/r4", base);
	CHECK(sh("mkfifo '%s/r4/etc/passwd'", base) == 0);
	CHECK(sbx_resolve_user(root, "app", &u, &g, err, sizeof err) < 0);
	CHECK(strstr(err, "/etc/passwd") != NULL);
}

static void test_opts(void)
{
	const char *argv[] = { "/bin/true", NULL }, *envp[] = { NULL };
	struct sbx_opts o = { .rootfs = "relative/path", .argv = argv, .envp = envp, .out_fd = 1 };
	char err[256];
	int st;

	CHECK_EQ(sbx_run(&o, &st, err, sizeof err), -EINVAL);
	CHECK(strstr(err, "sandbox:") != NULL);
	o.rootfs = base;
	o.workdir = "not/absolute";
	CHECK_EQ(sbx_run(&o, &st, err, sizeof err), -EINVAL);
	o.workdir = NULL;
	CHECK_EQ(sbx_run(&o, NULL, err, sizeof err), -EINVAL);
	o.user = "ghost";
	CHECK_EQ(sbx_run(&o, &st, err, sizeof err), -ENOENT);
	CHECK(strstr(err, "\"ghost\"") != NULL);
	o.user = NULL;
	{
		static const char *many[5000];
		for (size_t i = 0; i < 4999; i++)
			many[i] = "x";
		o.argv = many;
		CHECK_EQ(sbx_run(&o, &st, err, sizeof err), -E2BIG);
	}
}

/* ---- command forms ---- */

static int cmd_run(int argc, char **argv)
{
	static const char *envp[256];
	struct sbx_opts o = { .rootfs = argv[2], .out_fd = 1, .network = 1 };
	const char *excl[] = { "proc", "dev" };
	struct snap *before = NULL;
	size_t ne = 0;
	char err[512] = "";
	int i, st = -1, rc, diff = 0, rfd = -1;

	for (i = 3; i < argc && strcmp(argv[i], "--"); i++) {
		if (!strcmp(argv[i], "--net=0"))
			o.network = 0;
		else if (!strncmp(argv[i], "--user=", 7))
			o.user = argv[i] + 7;
		else if (!strncmp(argv[i], "--workdir=", 10))
			o.workdir = argv[i] + 10;
		else if (!strncmp(argv[i], "--timeout=", 10))
			o.timeout_s = (unsigned)atoi(argv[i] + 10);
		else if (!strncmp(argv[i], "--hostname=", 11))
			o.hostname = argv[i] + 11;
		else if (!strcmp(argv[i], "--diff"))
			diff = 1;
		else if (!strncmp(argv[i], "--env=", 6) && ne < 255)
			envp[ne++] = argv[i] + 6;
		else
			return fprintf(stderr, "unknown option %s\n", argv[i]), 64;
	}
	if (i + 1 >= argc)
		return fprintf(stderr, "no command after --\n"), 64;
	if (ne == 0)
		envp[ne++] = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";
	envp[ne] = NULL;
	o.envp = envp;
	o.argv = (const char *const *)(argv + i + 1);
	if (diff && ((rfd = open(o.rootfs, O_RDONLY | O_DIRECTORY)) < 0 ||
		     snap_take(rfd, excl, 2, &before, err, sizeof err) < 0))
		return fprintf(stderr, "snapshot: %s\n", err), 2;
	rc = sbx_run(&o, &st, err, sizeof err);
	fflush(stdout);
	fprintf(stderr, "sbx: rc=%d status=%d err=%s\n", rc, st, err);
	if (diff) {
		struct snap_changes c;
		if (snap_diff(before, rfd, &c, err, sizeof err) < 0)
			return fprintf(stderr, "diff: %s\n", err), 2;
		for (size_t k = 0; k < c.n; k++)
			fprintf(stderr, "change %c %s\n", "?AAWO"[c.v[k].kind], c.v[k].path);
		snap_changes_free(&c);
		snap_free(before);
		close(rfd);
	}
	return rc == 0 ? 0 : 2;
}

static void attempt(const char *what, int rc)
{
	printf("%s: %s%s%s\n", what, rc < 0 ? "refused (" : "DONE", rc < 0 ? strerror(errno) : "",
	       rc < 0 ? ")" : "");
}

static void try_read(const char *what, const char *path)
{
	char buf[256];
	int fd = open(path, O_RDONLY);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;

	if (n > 0) {
		buf[n] = 0;
		printf("LEAK %s: %s\n", what, buf);
	} else {
		printf("%s: refused (%s)\n", what, strerror(errno));
	}
	if (fd >= 0)
		close(fd);
}

/* The classic chroot escape: a chroot below the cwd, then ".." upwards. */
static void chroot_escape(const char *secret)
{
	mkdir("/tmp/esc", 0700);
	if (chdir("/tmp") == 0 && chroot("/tmp/esc") == 0) {
		for (int i = 0; i < 64; i++)
			if (chdir("..") < 0)
				break;
		attempt("chroot-escape chroot(.)", chroot("."));
		try_read("chroot-escape", secret);
	} else {
		attempt("chroot-escape", -1);
	}
}

static int cmd_probe(const char *secret)
{
	struct {
		unsigned int bytes;
		int type;
		unsigned char f[8];
	} fh = { 8, 1, { 2, 0, 0, 0, 0, 0, 0, 0 } };   /* ext4 root inode, generation 0 */
	int fd;

	setvbuf(stdout, NULL, _IONBF, 0);
	try_read("direct", secret);
	attempt("mount tmpfs", mount("tmpfs", "/tmp", "tmpfs", 0, NULL));
	attempt("mount proc", mount("proc", "/tmp", "proc", 0, NULL));
	attempt("bind /", mount("/", "/tmp", NULL, MS_BIND, NULL));
	attempt("umount /proc/sys", umount2("/proc/sys", MNT_DETACH));
	fd = open("/", O_RDONLY | O_DIRECTORY);
	attempt("open_by_handle_at", (int)syscall(SYS_open_by_handle_at, fd, &fh, O_RDONLY));
	close(fd);
	attempt("write core_pattern", open("/proc/sys/kernel/core_pattern", O_WRONLY));
	attempt("keyctl", (int)syscall(SYS_keyctl, 0 /* GET_KEYRING_ID */, -3 /* session */, 0));
	attempt("bpf", (int)syscall(SYS_bpf, 0, NULL, 0));
	attempt("io_uring_setup", (int)syscall(SYS_io_uring_setup, 1, NULL));
	attempt("clone3", (int)syscall(SYS_clone3, NULL, 0));
	if (unshare(CLONE_NEWUSER | CLONE_NEWNS) == 0) {
		printf("user namespace: made\n");
		attempt("userns umount /proc/sys", umount2("/proc/sys", MNT_DETACH));
		attempt("userns umount /proc/kcore", umount2("/proc/kcore", MNT_DETACH));
		attempt("userns mount proc", mount("proc", "/tmp", "proc", 0, NULL));
	} else {
		attempt("user namespace", -1);
	}
	chroot_escape(secret);
	return 0;
}

int main(int argc, char **argv)
{
	const char *t = getenv("TMPDIR");

	if (argc >= 5 && !strcmp(argv[1], "run"))
		return cmd_run(argc, argv);
	if (argc == 3 && !strcmp(argv[1], "probe"))
		return cmd_probe(argv[2]);
	if (argc > 1) {
		fprintf(stderr, "usage: test_sandbox [run ROOTFS [opts] -- ARGV... | probe PATH]\n");
		return 64;
	}
	snprintf(base, sizeof base, "%s/test_sandbox.XXXXXX", t ? t : "/tmp");
	if (!mkdtemp(base)) {
		perror("mkdtemp");
		return 1;
	}
	test_users();
	test_opts();
	sh("rm -rf '%s'", base);
	return tu_done("test_sandbox");
}
