/* SPDX-License-Identifier: MIT */
/*
 * Tests for src/snap.c. A tree is built in a temp dir, copied (cp -a),
 * snapshotted and mutated in every way a RUN step can (add, modify in place
 * keeping size and mtime, chmod, chown, delete a file, delete a directory
 * tree, directory replaced by a file, a symlink, and file and symlink by a
 * directory, directory
 * deleted and made again, symlink retargeted, a new hardlink to an old file,
 * a new file with two names, a change below an excluded path, a symlink to
 * outside that must not be followed); snap_diff must give exactly the
 * expected change list. Then the real judge: arc_write_layer of the changes
 * unpacked (arc_unpack_layer) onto the copy of the "before" tree must give
 * the "after" tree (names, types, modes, owners, sizes, mtimes, contents,
 * link targets, hardlink counts). Needs root for the chown case (skipped
 * otherwise).
 *
 * `test_snap bench DIR` prints the time of snap_take and of an unchanged
 * snap_diff over a real tree.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arc.h"
#include "snap.h"
#include "tutil.h"

static char base[256], before[300], after[300], copy[300];
static int is_root;

static void put(const char *dir, const char *rel, const char *text, unsigned mode)
{
	char path[1024];
	int fd;

	snprintf(path, sizeof path, "%s/%s", dir, rel);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	CHECK(fchmod(fd, mode) == 0);
	close(fd);
}

static void mkd(const char *dir, const char *rel)
{
	char path[1024];
	snprintf(path, sizeof path, "%s/%s", dir, rel);
	CHECK(mkdir(path, 0755) == 0);
}

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

static const char *at(const char *rel)
{
	static char path[4][1024];
	static int k;
	k = (k + 1) % 4;
	snprintf(path[k], sizeof path[k], "%s/%s", after, rel);
	return path[k];
}

/* The "before" tree. */
static void build(const char *t)
{
	put(t, "f_mod", "hello world", 0644);
	put(t, "f_chmod", "chmod me", 0644);
	put(t, "f_chown", "chown me", 0644);
	put(t, "f_del", "bye", 0644);
	put(t, "f2d", "a file that becomes a dir", 0644);
	put(t, "a.b", "sorts after a/ in a tar", 0644);
	put(t, "hl_src", "one name first", 0755);
	mkd(t, "a");
	put(t, "a/x", "x", 0644);
	mkd(t, "d_del");
	put(t, "d_del/x", "x", 0644);
	mkd(t, "d_del/sub");
	put(t, "d_del/sub/y", "y", 0600);
	mkd(t, "d2f");
	put(t, "d2f/c", "child", 0644);
	mkd(t, "opq");
	put(t, "opq/a", "old a", 0644);
	put(t, "opq/b", "old b", 0644);
	mkd(t, "keep");
	put(t, "keep/old", "old", 0644);
	mkd(t, "same");
	put(t, "same/u", "untouched", 0644);
	mkd(t, "d2l");
	put(t, "d2l/c", "child of a dir that becomes a symlink", 0644);
	CHECK(sh("ln -s f_mod '%s/l2d'", t) == 0);
	mkd(t, "proc");
	put(t, "proc/status", "excluded", 0644);
	CHECK(sh("ln -s f_mod '%s/link'", t) == 0);
	CHECK(sh("ln -s / '%s/ext'", t) == 0);
	CHECK(sh("ln -s f_mod '%s/link2'", t) == 0);
}

static void modify_in_place(const char *path)
{
	struct stat sb;
	struct timespec ts[2];
	int fd = open(path, O_WRONLY);

	CHECK(fd >= 0 && fstat(fd, &sb) == 0);
	CHECK(pwrite(fd, "HELLO", 5, 0) == 5);
	close(fd);
	ts[0] = sb.st_atim;
	ts[1] = sb.st_mtim;
	CHECK(utimensat(AT_FDCWD, path, ts, 0) == 0);
	CHECK(stat(path, &sb) == 0 && sb.st_size == 11);
}

/* What the "step" does. */
static void mutate(void)
{
	char from[1024];

	modify_in_place(at("f_mod"));
	CHECK(chmod(at("f_chmod"), 0600) == 0);
	if (is_root)
		CHECK(chown(at("f_chown"), 1234, 5678) == 0);
	CHECK(unlink(at("f_del")) == 0);
	CHECK(sh("rm -rf '%s'", at("d_del")) == 0);
	CHECK(sh("rm -rf '%s'", at("d2f")) == 0);
	put(after, "d2f", "now a file", 0644);
	CHECK(unlink(at("f2d")) == 0);
	mkd(after, "f2d");
	put(after, "f2d/n", "in the new dir", 0644);
	/* opq: a new directory (made first, so its inode is surely new) */
	mkd(after, "opq.new");
	put(after, "opq.new/b", "new b", 0644);
	put(after, "opq.new/c", "new c", 0644);
	CHECK(sh("rm -rf '%s'", at("opq")) == 0);
	CHECK(rename(at("opq.new"), at("opq")) == 0);
	CHECK(unlink(at("link")) == 0 && symlink("f_chmod", at("link")) == 0);
	CHECK(link(at("hl_src"), at("hl_new")) == 0);
	put(after, "new1", "two names", 0640);
	CHECK(link(at("new1"), at("new2")) == 0);
	put(after, "keep/new", "added", 0644);
	put(after, "a.b", "sorts after a/ in a tar!", 0644);
	put(after, "a/x", "xx", 0644);
	put(after, "proc/status", "excluded, changed", 0644);
	put(after, "proc/new", "excluded, new", 0644);
	CHECK(sh("rm -rf '%s' && ln -s /nowhere '%s'", at("d2l"), at("d2l")) == 0);
	CHECK(unlink(at("l2d")) == 0);
	mkd(after, "l2d");
	put(after, "l2d/in", "in a dir that was a symlink", 0644);
	mkd(after, "add");
	mkd(after, "add/sub");
	put(after, "add/sub/deep", "deep", 0600);
	snprintf(from, sizeof from, "%s", at("same/u"));
	CHECK(access(from, R_OK) == 0);      /* read only: no change */
}

struct want {
	const char *path;
	enum arc_change_kind kind;
};

static const struct want expect[] = {
	{ "a.b", ARC_ADD }, { "a/x", ARC_ADD }, { "add", ARC_ADD }, { "add/sub", ARC_ADD },
	{ "add/sub/deep", ARC_ADD }, { "d2f", ARC_ADD }, { "d2l", ARC_ADD }, { "d_del", ARC_WHITEOUT },
	{ "f2d", ARC_ADD }, { "f2d/n", ARC_ADD }, { "f_chmod", ARC_ADD }, { "f_chown", ARC_ADD },
	{ "f_del", ARC_WHITEOUT }, { "f_mod", ARC_ADD }, { "hl_new", ARC_ADD },
	{ "hl_src", ARC_ADD }, { "keep", ARC_ADD }, { "keep/new", ARC_ADD }, { "l2d", ARC_ADD }, { "l2d/in", ARC_ADD },
	{ "link", ARC_ADD },
	{ "new1", ARC_ADD }, { "new2", ARC_ADD }, { "opq", ARC_OPAQUE }, { "opq/b", ARC_ADD },
	{ "opq/c", ARC_ADD },
};

static void check_changes(const struct snap_changes *c)
{
	size_t n = sizeof expect / sizeof expect[0], j = 0;

	for (size_t i = 0; i < c->n; i++) {
		if (!is_root && !strcmp(c->v[i].path, "f_chown"))
			continue;
		while (j < n && !is_root && !strcmp(expect[j].path, "f_chown"))
			j++;
		if (j >= n || strcmp(c->v[i].path, expect[j].path) || c->v[i].kind != expect[j].kind) {
			fprintf(stderr, "change %zu: got %s kind %d, want %s kind %d\n", i, c->v[i].path,
				c->v[i].kind, j < n ? expect[j].path : "(end)", j < n ? expect[j].kind : 0);
			CHECK(0);
			return;
		}
		j++;
	}
	CHECK_EQ(j, n);
}

/* One line per path below dir: what must agree between two trees. */
static void describe(const char *dir, const char *out)
{
	char cmd[2048];
	snprintf(cmd, sizeof cmd,
		 "cd '%s' && find . -mindepth 1 -printf '%%p %%y %%m %%U:%%G %%n %%l ' "
		 "-a \\( -type l -o -type d -printf '%%Ts ' -o -printf '%%s %%Ts ' \\) "
		 "-a \\( -type f -exec sh -c 'md5sum < \"$1\"' sh {} \\; -o -printf '\\n' \\) "
		 "| sort > '%s'", dir, out);
	CHECK(system(cmd) == 0);
}

static void judge(const struct snap_changes *c)
{
	char layer[512], d1[512], d2[512], err[256] = "";
	struct arc_write_opts wo = { .epoch = 4000000000LL };
	struct arc_unpack_opts uo = { .flags = ARC_U_KEEP_SETID | (is_root ? ARC_U_CHOWN : 0) };
	int afd = open(after, O_RDONLY | O_DIRECTORY), cfd = open(copy, O_RDONLY | O_DIRECTORY);
	int lfd, rc;
	struct stat sb;
	uint8_t *p;

	snprintf(layer, sizeof layer, "%s/layer.tgz", base);
	lfd = open(layer, O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHECK(afd >= 0 && cfd >= 0 && lfd >= 0);
	rc = arc_write_layer(afd, c->v, c->n, &wo, lfd, NULL, err, sizeof err);
	if (rc)
		fprintf(stderr, "arc_write_layer: %d %s\n", rc, err);
	CHECK_EQ(rc, 0);
	CHECK(fstat(lfd, &sb) == 0 && sb.st_size > 0);
	p = malloc((size_t)sb.st_size);
	CHECK(p && pread(lfd, p, (size_t)sb.st_size, 0) == sb.st_size);
	rc = arc_unpack_layer(p, (size_t)sb.st_size, cfd, &uo, NULL, err, sizeof err);
	if (rc)
		fprintf(stderr, "arc_unpack_layer: %d %s\n", rc, err);
	CHECK_EQ(rc, 0);
	free(p);
	close(lfd);
	close(afd);
	close(cfd);
	/* the excluded directory is not part of the comparison */
	CHECK(sh("rm -rf '%s/proc' '%s/proc'", after, copy) == 0);
	snprintf(d1, sizeof d1, "%s/after.txt", base);
	snprintf(d2, sizeof d2, "%s/copy.txt", base);
	describe(after, d1);
	describe(copy, d2);
	rc = sh("diff '%s' '%s' >&2", d1, d2);
	CHECK_EQ(rc, 0);
	CHECK(sh("test $(wc -l < '%s') -ge 25", d1) == 0);
}

static void test_tree(void)
{
	const char *excl[] = { "/proc" };
	struct snap_changes c;
	struct snap *s = NULL;
	char err[256] = "";
	int fd, rc;

	snprintf(after, sizeof after, "%s/after", base);
	snprintf(copy, sizeof copy, "%s/copy", base);
	CHECK(mkdir(after, 0755) == 0);
	build(after);
	CHECK(sh("cp -a '%s' '%s'", after, copy) == 0);
	fd = open(after, O_RDONLY | O_DIRECTORY);
	CHECK(fd >= 0);
	rc = snap_take(fd, excl, 1, &s, err, sizeof err);
	CHECK_EQ(rc, 0);
	/* nothing changed yet: an empty list */
	rc = snap_diff(s, fd, &c, err, sizeof err);
	CHECK_EQ(rc, 0);
	CHECK_EQ(c.n, 0);
	snap_changes_free(&c);
	mutate();
	rc = snap_diff(s, fd, &c, err, sizeof err);
	if (rc)
		fprintf(stderr, "snap_diff: %d %s\n", rc, err);
	CHECK_EQ(rc, 0);
	for (size_t i = 0; i + 1 < c.n; i++)
		CHECK(strcmp(c.v[i].path, c.v[i + 1].path) < 0);
	check_changes(&c);
	judge(&c);
	snap_changes_free(&c);
	CHECK(c.v == NULL && c.n == 0);
	snap_free(s);
	close(fd);
}

/* Errors: a root that is not a directory; bad exclusions. */
static void test_errors(void)
{
	const char *bad[] = { "../x" };
	struct snap *s = (struct snap *)1;
	char err[256] = "";
	int fd = open(base, O_RDONLY | O_DIRECTORY);

	CHECK_EQ(snap_take(fd, bad, 1, &s, err, sizeof err), -EINVAL);
	CHECK(s == NULL && strstr(err, "exclusion") != NULL);
	CHECK_EQ(snap_take(-1, NULL, 0, &s, err, sizeof err), -EBADF);
	CHECK(strstr(err, "open root") != NULL);
	CHECK_EQ(snap_diff(NULL, fd, NULL, err, sizeof err), -EINVAL);
	close(fd);
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* test_snap bench DIR: snap_take and an unchanged snap_diff of a real tree. */
static int bench(const char *dir)
{
	struct snap_changes c;
	struct snap *s;
	char err[256];
	double t0, t1, t2;
	int fd = open(dir, O_RDONLY | O_DIRECTORY), rc;

	t0 = now_ms();
	rc = snap_take(fd, NULL, 0, &s, err, sizeof err);
	t1 = now_ms();
	if (rc == 0)
		rc = snap_diff(s, fd, &c, err, sizeof err);
	t2 = now_ms();
	if (rc) {
		fprintf(stderr, "bench: %d %s\n", rc, err);
		return 1;
	}
	printf("snap_take %.0f ms, snap_diff %.0f ms, %zu changes\n", t1 - t0, t2 - t1, c.n);
	snap_changes_free(&c);
	snap_free(s);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	const char *t = getenv("TMPDIR");

	if (argc == 3 && !strcmp(argv[1], "bench"))
		return bench(argv[2]);

	is_root = geteuid() == 0;
	snprintf(base, sizeof base, "%s/test_snap.XXXXXX", t ? t : "/tmp");
	if (!mkdtemp(base)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(before, sizeof before, "%s/before", base);
	test_tree();
	test_errors();
	if (getenv("KEEP_TMP"))
		fprintf(stderr, "kept %s\n", base);
	else
		sh("rm -rf '%s'", base);
	return tu_done("test_snap");
}
