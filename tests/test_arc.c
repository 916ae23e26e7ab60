/* SPDX-License-Identifier: MIT */
/*
 * Tests for src/arc.c and src/arc_write.c without python: trees written with
 * arc_write_layer and read back with arc_unpack_layer (types, modes, setuid
 * stripped, contents, symlink targets, hardlinks, clamped mtimes, long and
 * non-ASCII names), byte stability (two writes, same bytes and digests, the
 * blob digest equal to SHA-256 of the file, the fixed gzip header),
 * whiteouts and opaque directories over a prepared lower layer (markers before
 * and after the layer's own entries), limits refused before any byte is
 * written, hostile entries in ustar archives built by hand here (".." escape,
 * symlink in path, symlink replaced, hardlink escape, devices), streaming in
 * small pieces, the .tbz round trip, and the parallel gzip: the same trees
 * (random, text, mixed, a tar of exactly one block, an empty one) give the
 * same bytes with 1, 2, 3 and 4 threads, and unpack to the same files.
 *
 * Command forms used by tests/it_arc.sh:
 *   test_arc unpack [-e MAX_ENTRIES] [-f MAX_FILE] ARCHIVE ROOT
 *   test_arc write ROOT OUT EPOCH [THREADS] (a layer of the whole tree)
 *   test_arc tbz OUT TREE EPOCH            (data/build.json, data/build.log, git/)
 * They print the error and exit 1 on refusal.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <signal.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "arc.h"
#include "cry.h"
#include "limits.h"
#include "tutil.h"
#include "util.h"

static char tmpdir[256];

/* ---- small helpers ---- */

static void put(const char *dir, const char *rel, const void *p, size_t n, unsigned mode, long mtime)
{
	char path[4200];
	struct timespec ts[2] = { { mtime, 0 }, { mtime, 0 } };
	int fd;

	snprintf(path, sizeof path, "%s/%s", dir, rel);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK(write(fd, p, n) == (ssize_t)n);
	CHECK(fchmod(fd, mode) == 0);
	CHECK(futimens(fd, ts) == 0);
	close(fd);
}

static void mkd(const char *dir, const char *rel, unsigned mode)
{
	char path[4200];
	snprintf(path, sizeof path, "%s/%s", dir, rel);
	CHECK(mkdir(path, mode) == 0 || errno == EEXIST);
}

static int exists(const char *dir, const char *rel)
{
	char path[4200];
	struct stat sb;
	snprintf(path, sizeof path, "%s/%s", dir, rel);
	return lstat(path, &sb) == 0;
}

static int st_at(const char *dir, const char *rel, struct stat *sb)
{
	char path[4200];
	snprintf(path, sizeof path, "%s/%s", dir, rel);
	return lstat(path, sb);
}

static size_t slurp(const char *path, uint8_t **out)
{
	size_t len = 0;
	*out = NULL;
	CHECK(util_read_file(path, 64u << 20, out, &len) == 0);
	return len;
}

static void fresh(char *out, size_t cap, const char *name)
{
	snprintf(out, cap, "%s/%s", tmpdir, name);
	CHECK(mkdir(out, 0755) == 0);
}

static int open_root(const char *dir)
{
	int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	CHECK(fd >= 0);
	return fd;
}

static int unpack_file(const char *archive, const char *root, const struct arc_limits *lim,
		       char *err, size_t errcap)
{
	uint8_t *p;
	size_t len = slurp(archive, &p);
	struct arc_unpack_opts o = { .lim = lim };
	int rfd = open_root(root), rc;

	rc = arc_unpack_layer(p, len, rfd, &o, NULL, err, errcap);
	close(rfd);
	free(p);
	return rc;
}

static int write_tree_t(const char *root, const char *out, int64_t epoch, int threads,
			struct arc_digests *d)
{
	struct arc_change all = { "", ARC_ADD_TREE };
	struct arc_write_opts o = { .epoch = epoch, .threads = threads };
	char err[512] = "";
	int rfd = open_root(root), ofd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644), rc;

	rc = arc_write_layer(rfd, &all, 1, &o, ofd, d, err, sizeof err);
	if (rc < 0)
		fprintf(stderr, "write %s: %s\n", root, err);
	close(ofd);
	close(rfd);
	return rc;
}

static int write_tree(const char *root, const char *out, int64_t epoch, struct arc_digests *d)
{
	return write_tree_t(root, out, epoch, 0, d);
}

/* Streaming input in pieces of 777 bytes. */
static long rd(void *ctx, uint8_t *buf, size_t cap)
{
	ssize_t n = read(*(int *)ctx, buf, cap > 777 ? 777 : cap);
	return n < 0 ? -errno : n;
}

static void sym(const char *dir, const char *target, const char *rel)
{
	char path[4200];
	snprintf(path, sizeof path, "%s/%s", dir, rel);
	CHECK(symlink(target, path) == 0);
}

/* ---- a hand-made ustar writer, independent of arc_write.c ---- */

struct raw {
	uint8_t b[64 * 512];
	size_t len;
};

static void raw_add(struct raw *r, const char *name, char type, unsigned mode, const char *link,
		    const char *data, unsigned long long size)
{
	uint8_t *h = r->b + r->len;
	unsigned sum = 0;
	size_t dl = data ? strlen(data) : 0;

	memset(h, 0, 512);
	snprintf((char *)h, 100, "%s", name);
	snprintf((char *)h + 100, 8, "%07o", mode);
	snprintf((char *)h + 108, 8, "%07o", 0);
	snprintf((char *)h + 116, 8, "%07o", 0);
	if (size < (1ull << 33)) {
		snprintf((char *)h + 124, 12, "%011llo", size);
	} else {                                   /* GNU base-256 */
		h[124] = 0x80;
		for (int i = 0; i < 8; i++)
			h[135 - i] = (uint8_t)(size >> (8 * i));
	}
	snprintf((char *)h + 136, 12, "%011o", 1000000000);
	memset(h + 148, ' ', 8);
	h[156] = (uint8_t)type;
	if (link)
		snprintf((char *)h + 157, 100, "%s", link);
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	for (int i = 0; i < 512; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
	r->len += 512;
	if (dl) {
		memcpy(r->b + r->len, data, dl);
		r->len += (dl + 511) & ~(size_t)511;
	}
}

static int raw_unpack(struct raw *r, const char *root, char *err, size_t cap)
{
	int rfd = open_root(root), rc;
	memset(r->b + r->len, 0, 1024);
	rc = arc_unpack_layer(r->b, r->len + 1024, rfd, NULL, NULL, err, cap);
	close(rfd);
	return rc;
}

/* ---- tests ---- */

static void test_norm(void)
{
	char o[64];
	CHECK(arc_path_norm("./a//b/./c/", o, sizeof o, 10) == 3 && !strcmp(o, "a/b/c"));
	CHECK(arc_path_norm("/etc/passwd", o, sizeof o, 10) == 2 && !strcmp(o, "etc/passwd"));
	CHECK(arc_path_norm("a/../b", o, sizeof o, 10) == 1 && !strcmp(o, "b"));
	CHECK(arc_path_norm("./", o, sizeof o, 10) == 0 && !strcmp(o, ""));
	CHECK(arc_path_norm("../x", o, sizeof o, 10) == -EPERM);
	CHECK(arc_path_norm("a/../../x", o, sizeof o, 10) == -EPERM);
	CHECK(arc_path_norm("a/b/c", o, sizeof o, 2) == -EMLINK);
	CHECK(arc_path_norm("abcdefgh", o, 8, 10) == -ENAMETOOLONG);
}

/* The source tree: every kind of entry the writer handles. */
static void make_tree(const char *t)
{
	static uint8_t big[200000];
	char longname[300];
	char target[200];

	for (size_t i = 0; i < sizeof big; i++)
		big[i] = (uint8_t)(i * 2654435761u >> 13);
	mkd(t, "bin", 0755);
	mkd(t, "etc", 0750);
	mkd(t, "etc/empty", 0700);
	put(t, "bin/tool", "#!/bin/sh\n", 10, 04755, 1500000000);  /* setuid: stripped */
	put(t, "etc/conf", "a=1\n", 4, 0640, 2000000000);          /* newer than epoch */
	put(t, "etc/zero", "", 0, 0600, 1400000000);
	put(t, "big.bin", big, sizeof big, 0644, 1600000000);
	put(t, "blk512", big, 512, 0644, 1600000000);
	put(t, "caf\xc3\xa9", "x", 1, 0644, 1600000000);            /* non-ASCII name */
	memset(longname, 'n', sizeof longname);
	memcpy(longname, "etc/", 4);
	longname[200] = 0;
	put(t, longname, "long", 4, 0644, 1600000000);
	memset(target, 't', sizeof target);
	target[150] = 0;
	sym(t, target, "longlink");
	sym(t, "/etc/passwd", "abs-link");
	sym(t, "../etc/conf", "bin/rel-link");
	{
		char a[4200], b[4200];
		snprintf(a, sizeof a, "%s/big.bin", t);
		snprintf(b, sizeof b, "%s/bin/hard", t);
		CHECK(link(a, b) == 0);
	}
}

static void test_roundtrip(void)
{
	char src[300], dst[300], l1[300], l2[300], err[512] = "", longname[300];
	struct arc_digests d1, d2;
	uint8_t *a, *b, h[32];
	size_t na, nb;
	struct stat s1, s2;
	const int64_t epoch = 1700000000;

	fresh(src, sizeof src, "src");
	make_tree(src);
	snprintf(l1, sizeof l1, "%s/l1.tgz", tmpdir);
	snprintf(l2, sizeof l2, "%s/l2.tgz", tmpdir);
	CHECK(write_tree(src, l1, epoch, &d1) == 0);
	CHECK(write_tree(src, l2, epoch, &d2) == 0);
	na = slurp(l1, &a);
	nb = slurp(l2, &b);
	CHECK(na == nb && na > 0 && !memcmp(a, b, na));             /* byte-stable */
	CHECK(!memcmp(d1.blob, d2.blob, 32) && !memcmp(d1.diff_id, d2.diff_id, 32));
	cry_sha256(a, na, h);
	CHECK(!memcmp(h, d1.blob, 32) && d1.blob_size == na);
	CHECK(memcmp(d1.blob, d1.diff_id, 32) != 0);
	CHECK(na > 10 && !memcmp(a, "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff", 10));
	CHECK(d1.tar_size % 512 == 0 && d1.entries == 14);

	fresh(dst, sizeof dst, "dst");
	CHECK(unpack_file(l1, dst, NULL, err, sizeof err) == 0);
	if (err[0])
		fprintf(stderr, "unpack: %s\n", err);
	CHECK(st_at(dst, "bin/tool", &s1) == 0 && (s1.st_mode & 07777) == 0755);
	CHECK(st_at(dst, "etc", &s1) == 0 && S_ISDIR(s1.st_mode) && (s1.st_mode & 07777) == 0750);
	CHECK(st_at(dst, "etc/conf", &s1) == 0 && s1.st_mtime == epoch);   /* clamped */
	CHECK(st_at(dst, "big.bin", &s1) == 0 && s1.st_mtime == 1600000000 && s1.st_size == 200000);
	CHECK(st_at(dst, "bin/hard", &s2) == 0 && s1.st_ino == s2.st_ino && s1.st_nlink == 2);
	CHECK(st_at(dst, "etc/empty", &s1) == 0 && S_ISDIR(s1.st_mode));
	CHECK(st_at(dst, "etc/zero", &s1) == 0 && s1.st_size == 0 && (s1.st_mode & 0777) == 0600);
	CHECK(exists(dst, "caf\xc3\xa9"));
	memset(longname, 'n', sizeof longname);
	memcpy(longname, "etc/", 4);
	longname[200] = 0;
	CHECK(exists(dst, longname));
	{
		char t[300], p[4200];
		ssize_t n;
		snprintf(p, sizeof p, "%s/longlink", dst);
		n = readlink(p, t, sizeof t);
		CHECK(n == 150 && t[0] == 't' && t[149] == 't');
		snprintf(p, sizeof p, "%s/abs-link", dst);
		n = readlink(p, t, sizeof t);
		CHECK(n == 11 && !memcmp(t, "/etc/passwd", 11));
	}
	free(b);
	b = NULL;
	{
		char p[600];
		snprintf(p, sizeof p, "%s/big.bin", dst);
		nb = slurp(p, &b);
		CHECK(nb == 200000 && b[12345] == (uint8_t)(12345u * 2654435761u >> 13));
	}
	free(a);
	free(b);

	/* the same tree streamed in pieces of 777 bytes gives the same result */
	{
		struct arc_stats st;
		char dst2[300];
		int fd = open(l1, O_RDONLY), rfd;
		fresh(dst2, sizeof dst2, "dst2");
		rfd = open_root(dst2);
		CHECK(arc_unpack_layer_cb(rd, &fd, rfd, NULL, &st, err, sizeof err) == 0);
		CHECK(st.entries == 14 && st.hardlinks == 1 && st.symlinks == 3 && st.dirs == 3);
		CHECK(exists(dst2, "bin/rel-link"));
		close(rfd);
		close(fd);
	}
}

/* Lower layer, then a layer of whiteouts and an opaque directory. */
static void test_whiteouts(void)
{
	char low[300], up[300], root[300], l1[300], l2[300], err[512] = "";
	struct arc_digests d;
	struct arc_change ch[] = {
		{ "b/keep", ARC_WHITEOUT }, { "a", ARC_OPAQUE }, { "a/new", ARC_ADD },
		{ "a/+plus", ARC_ADD }, { "c/file2", ARC_ADD }, { "gone-dir", ARC_WHITEOUT },
	};
	struct arc_write_opts o = { .epoch = 1700000000 };
	int rfd, ofd;

	fresh(low, sizeof low, "low");
	mkd(low, "a", 0755);
	mkd(low, "a/sub", 0555);     /* not writable: removal must still work */
	put(low, "a/x", "x", 1, 0644, 1);
	put(low, "a/new", "old", 3, 0644, 1);
	mkd(low, "b", 0755);
	put(low, "b/keep", "k", 1, 0644, 1);
	put(low, "b/stay", "s", 1, 0644, 1);
	mkd(low, "c", 0755);
	put(low, "c/file", "f", 1, 0644, 1);
	mkd(low, "gone-dir", 0755);
	mkd(low, "gone-dir/deeper", 0755);
	put(low, "gone-dir/deeper/f", "f", 1, 0644, 1);
	{
		char p[600];
		snprintf(p, sizeof p, "%s/a/sub", low);
		chmod(p, 0755);
		put(low, "a/sub/z", "z", 1, 0644, 1);
		chmod(p, 0555);
	}
	snprintf(l1, sizeof l1, "%s/low.tgz", tmpdir);
	CHECK(write_tree(low, l1, 1700000000, &d) == 0);

	fresh(up, sizeof up, "up");
	mkd(up, "a", 0755);
	put(up, "a/new", "new", 3, 0644, 1);
	put(up, "a/+plus", "p", 1, 0644, 1);     /* sorts before ".wh..wh..opq" */
	mkd(up, "c", 0755);
	put(up, "c/file2", "2", 1, 0644, 1);
	mkd(up, "b", 0755);
	snprintf(l2, sizeof l2, "%s/up.tgz", tmpdir);
	rfd = open_root(up);
	ofd = open(l2, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(arc_write_layer(rfd, ch, sizeof ch / sizeof ch[0], &o, ofd, &d, err, sizeof err) == 0);
	close(rfd);
	close(ofd);

	fresh(root, sizeof root, "wroot");
	CHECK(unpack_file(l1, root, NULL, err, sizeof err) == 0);
	CHECK(exists(root, "a/sub/z") && exists(root, "b/keep"));
	CHECK(unpack_file(l2, root, NULL, err, sizeof err) == 0);
	if (err[0])
		fprintf(stderr, "whiteouts: %s\n", err);
	CHECK(!exists(root, "a/x") && !exists(root, "a/sub"));
	CHECK(exists(root, "a/new") && exists(root, "a/+plus"));
	CHECK(!exists(root, "b/keep") && exists(root, "b/stay"));
	CHECK(exists(root, "c/file") && exists(root, "c/file2"));
	CHECK(!exists(root, "gone-dir"));
	CHECK(!exists(root, "a/.wh..wh..opq") && !exists(root, "b/.wh.keep"));
	{
		uint8_t *p;
		char path[600];
		snprintf(path, sizeof path, "%s/a/new", root);
		CHECK(slurp(path, &p) == 3 && !memcmp(p, "new", 3));
		free(p);
	}
}

/* A whiteout never deletes this layer's own entry, before or after it. */
static void test_whiteout_own(void)
{
	char root[300], err[512];
	struct raw r = { .len = 0 };

	fresh(root, sizeof root, "own");
	put(root, "lower", "l", 1, 0644, 1);
	raw_add(&r, "d/", '5', 0755, NULL, NULL, 0);
	raw_add(&r, "d/f", '0', 0644, NULL, "mine", 4);
	raw_add(&r, "d/.wh.f", '0', 0644, NULL, NULL, 0);
	raw_add(&r, ".wh.lower", '0', 0644, NULL, NULL, 0);
	raw_add(&r, ".wh..wh..opq", '0', 0644, NULL, NULL, 0);
	CHECK(raw_unpack(&r, root, err, sizeof err) == 0);
	CHECK(exists(root, "d/f") && !exists(root, "lower") && !exists(root, "d/.wh.f"));
}

static void hostile(const char *name, struct raw *r, int want_rc, const char *want_words)
{
	char root[300], err[512] = "";
	int rc;

	fresh(root, sizeof root, name);
	rc = raw_unpack(r, root, err, sizeof err);
	CHECK(rc == want_rc);
	CHECK(strstr(err, want_words) != NULL);
	if (rc != want_rc || !strstr(err, want_words))
		fprintf(stderr, "%s: rc %d err \"%s\"\n", name, rc, err);
}

static void test_hostile(void)
{
	struct raw r;
	char root[300], err[512] = "", out[300], p[600];
	struct stat sb;

	r.len = 0;
	raw_add(&r, "../../etc/x", '0', 0644, NULL, "x", 1);
	hostile("h1", &r, -EPERM, "escapes the root");
	r.len = 0;
	raw_add(&r, "s", '2', 0777, "/etc", NULL, 0);
	raw_add(&r, "s/passwd", '0', 0644, NULL, "x", 1);
	hostile("h2", &r, -ELOOP, "symlink in path");
	r.len = 0;
	raw_add(&r, "h", '1', 0644, "../x", NULL, 0);
	hostile("h3", &r, -EPERM, "hardlink target escapes");
	r.len = 0;
	raw_add(&r, "h", '1', 0644, "/etc/passwd", NULL, 0);
	hostile("h4", &r, -ENOENT, "hardlink target not found");
	r.len = 0;
	raw_add(&r, "dev", '3', 0644, NULL, NULL, 0);
	hostile("h5", &r, -EPERM, "character device");
	r.len = 0;
	raw_add(&r, "fifo", '6', 0644, NULL, NULL, 0);
	hostile("h6", &r, -EPERM, "fifo refused");
	r.len = 0;
	raw_add(&r, "huge", '0', 0644, NULL, "abc", 10ull << 30);
	hostile("h7", &r, -EFBIG, "layer entry too large");
	r.len = 0;
	raw_add(&r, "l", '2', 0777, "l2", NULL, 0);
	raw_add(&r, "h", '1', 0644, "l", NULL, 0);
	hostile("h8", &r, -EPERM, "not a regular file");

	/* symlink then a file of the same name: the link is replaced, not followed */
	snprintf(out, sizeof out, "%s/outside", tmpdir);
	put(tmpdir, "outside", "orig", 4, 0644, 1);
	fresh(root, sizeof root, "h9");
	r.len = 0;
	raw_add(&r, "link", '2', 0777, out, NULL, 0);
	raw_add(&r, "link", '0', 0644, NULL, "new", 3);
	CHECK(raw_unpack(&r, root, err, sizeof err) == 0);
	CHECK(st_at(root, "link", &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size == 3);
	CHECK(stat(out, &sb) == 0 && sb.st_size == 4);

	/* a refused entry leaves no temporary file behind */
	fresh(root, sizeof root, "h10");
	r.len = 0;
	raw_add(&r, "ok", '0', 0644, NULL, "fine", 4);
	raw_add(&r, "trunc", '0', 0644, NULL, "abc", 100000);  /* data missing */
	CHECK(raw_unpack(&r, root, err, sizeof err) < 0);
	{
		DIR *d = opendir(root);
		struct dirent *e;
		int n = 0;
		while (d && (e = readdir(d)))
			n += e->d_name[0] != '.';
		if (d)
			closedir(d);
		CHECK(n == 1 && exists(root, "ok") && !exists(root, "trunc"));
	}
	snprintf(p, sizeof p, "%s/h10", tmpdir);
	(void)p;
}

static void test_limits(void)
{
	char src[300], root[300], l[300], err[512] = "";
	struct arc_digests d;
	struct arc_limits lim;

	fresh(src, sizeof src, "lsrc");
	for (int i = 0; i < 5; i++) {
		char n[16];
		snprintf(n, sizeof n, "f%d", i);
		put(src, n, "0123456789", 10, 0644, 1);
	}
	put(src, "big", "0123456789012345678901234567890123456789", 40, 0644, 1);
	snprintf(l, sizeof l, "%s/lim.tgz", tmpdir);
	CHECK(write_tree(src, l, 100, &d) == 0);

	arc_limits_layer(&lim);
	lim.max_entries = 3;
	fresh(root, sizeof root, "lim1");
	CHECK(unpack_file(l, root, &lim, err, sizeof err) == -E2BIG && strstr(err, "too many entries"));
	arc_limits_layer(&lim);
	lim.max_file = 20;
	fresh(root, sizeof root, "lim2");
	CHECK(unpack_file(l, root, &lim, err, sizeof err) == -EFBIG &&
	      strstr(err, "layer entry too large") && strstr(err, "\"big\""));
	CHECK(!exists(root, "big"));
	arc_limits_layer(&lim);
	lim.max_total = 45;
	fresh(root, sizeof root, "lim3");
	CHECK(unpack_file(l, root, &lim, err, sizeof err) == -EFBIG && strstr(err, "layer too large"));
	arc_limits_layer(&lim);
	lim.max_path = 1;
	fresh(root, sizeof root, "lim4");
	CHECK(unpack_file(l, root, &lim, err, sizeof err) == -ENAMETOOLONG);
}

static int count_cb(void *ctx, const struct arc_entry_info *e)
{
	(*(int *)ctx) += e->type == ARC_T_FILE;
	return 0;
}

static void test_tbz(void)
{
	char tree[300], out[300], out2[300], root[300], err[512] = "";
	static const char json[] = "{\"status\":\"success\"}";
	struct arc_mem_file f[] = {
		{ "data/build.log", (const uint8_t *)"line\n", 5, 0 },
		{ "data/build.json", (const uint8_t *)json, sizeof json - 1, 0 },
	};
	struct arc_digests d1, d2;
	uint8_t *a, *b, *m;
	size_t na, nb, nm;
	int files = 0, tfd, ofd;

	fresh(tree, sizeof tree, "gitsrc");
	mkd(tree, "sub", 0755);
	put(tree, "README", "hi\n", 3, 0644, 1000);
	put(tree, "sub/x.c", "int x;\n", 7, 0644, 5000);
	snprintf(out, sizeof out, "%s/m.tbz", tmpdir);
	snprintf(out2, sizeof out2, "%s/m2.tbz", tmpdir);
	for (int k = 0; k < 2; k++) {
		tfd = open_root(tree);
		ofd = open(k ? out2 : out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		CHECK(arc_tbz_create(f, 2, tfd, "git", 2000, ofd, k ? &d2 : &d1, err, sizeof err) == 0);
		if (err[0])
			fprintf(stderr, "tbz: %s\n", err);
		close(ofd);
		close(tfd);
	}
	na = slurp(out, &a);
	nb = slurp(out2, &b);
	CHECK(na == nb && !memcmp(a, b, na) && !memcmp(d1.blob, d2.blob, 32));
	CHECK(na > 3 && !memcmp(a, "BZh9", 4));
	CHECK(arc_tbz_list(a, na, NULL, count_cb, &files, err, sizeof err) == 0 && files == 4);
	CHECK(arc_tbz_get(a, na, "data/build.json", 1024, &m, &nm, err, sizeof err) == 0);
	CHECK(nm == sizeof json - 1 && !memcmp(m, json, nm));
	free(m);
	CHECK(arc_tbz_get(a, na, "./git/sub/x.c", 1024, &m, &nm, err, sizeof err) == 0 && nm == 7);
	free(m);
	CHECK(arc_tbz_get(a, na, "nope", 1024, &m, &nm, err, sizeof err) == -ENOENT);
	CHECK(arc_tbz_get(a, na, "data/build.json", 4, &m, &nm, err, sizeof err) == -EFBIG);
	fresh(root, sizeof root, "tbzx");
	tfd = open_root(root);
	CHECK(arc_tbz_extract(a, na, tfd, NULL, NULL, err, sizeof err) == 0);
	close(tfd);
	CHECK(exists(root, "git/sub/x.c") && exists(root, "data/build.log"));
	free(a);
	free(b);
}

/* ---- command forms for tests/it_arc.sh ---- */

static int cmd_unpack(int argc, char **argv)
{
	struct arc_limits lim;
	struct arc_unpack_opts o = { .lim = &lim };
	struct arc_stats st;
	char err[1024] = "";
	int i = 2, fd, rfd, rc;
	uint64_t v;

	arc_limits_layer(&lim);
	for (; i + 1 < argc && argv[i][0] == '-'; i += 2) {
		if (util_parse_u64(argv[i + 1], strlen(argv[i + 1]), UINT64_MAX, &v) < 0)
			return 2;
		if (!strcmp(argv[i], "-e"))
			lim.max_entries = v;
		else if (!strcmp(argv[i], "-f"))
			lim.max_file = v;
		else
			return 2;
	}
	if (argc - i != 2)
		return 2;
	if ((fd = open(argv[i], O_RDONLY | O_CLOEXEC)) < 0 ||
	    (rfd = open(argv[i + 1], O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0) {
		perror("open");
		return 2;
	}
	rc = arc_unpack_layer_cb(rd, &fd, rfd, &o, &st, err, sizeof err);
	if (rc < 0) {
		printf("refused: %s (%s)\n", err, strerror(-rc));
		return 1;
	}
	printf("ok entries=%llu files=%llu whiteouts=%llu opaques=%llu\n",
	       (unsigned long long)st.entries, (unsigned long long)st.files,
	       (unsigned long long)st.whiteouts, (unsigned long long)st.opaques);
	return 0;
}

static int cmd_write(int argc, char **argv)
{
	struct arc_digests d;
	char hex[65];
	uint64_t epoch;

	uint64_t threads = 0;

	if ((argc != 5 && argc != 6) ||
	    util_parse_u64(argv[4], strlen(argv[4]), 1ull << 33, &epoch) < 0 ||
	    (argc == 6 && util_parse_u64(argv[5], strlen(argv[5]), 64, &threads) < 0))
		return 2;
	if (write_tree_t(argv[2], argv[3], (int64_t)epoch, (int)threads, &d) < 0)
		return 1;
	cry_hex(d.blob, 32, hex);
	printf("digest sha256:%s size %llu\n", hex, (unsigned long long)d.blob_size);
	cry_hex(d.diff_id, 32, hex);
	printf("diff_id sha256:%s size %llu\n", hex, (unsigned long long)d.tar_size);
	return 0;
}

static int cmd_tbz(int argc, char **argv)
{
	static const char json[] = "{\"status\":\"success\"}";
	struct arc_mem_file f[] = {
		{ "data/build.json", (const uint8_t *)json, sizeof json - 1, 0 },
		{ "data/build.log", (const uint8_t *)"step 1\n", 7, 0 },
	};
	struct arc_digests d;
	char err[512] = "", hex[65];
	uint64_t epoch;
	int tfd, ofd, rc;

	if (argc != 5 || util_parse_u64(argv[4], strlen(argv[4]), 1ull << 33, &epoch) < 0)
		return 2;
	tfd = open(argv[3], O_PATH | O_DIRECTORY | O_CLOEXEC);
	ofd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	rc = arc_tbz_create(f, 2, tfd, "git", (int64_t)epoch, ofd, &d, err, sizeof err);
	if (rc < 0) {
		printf("refused: %s\n", err);
		return 1;
	}
	cry_hex(d.blob, 32, hex);
	printf("sha256 %s\n", hex);
	return 0;
}

static void fill_rand(uint8_t *p, size_t n, uint32_t seed)
{
	uint32_t x = seed | 1;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (uint8_t)(x >> 11);
	}
}

static void fill_text(uint8_t *p, size_t n, unsigned seed)
{
	size_t k = 0;

	for (unsigned line = 0; k < n; line++) {
		char l[96];
		int m = snprintf(l, sizeof l, "line %u of the text, word %u and %u\n", line,
				 (line * 7919u + seed) % 1000, line % 13);
		for (int i = 0; i < m && k < n; i++)
			p[k++] = (uint8_t)l[i];
	}
}

/* Writes root with 1..4 threads: one byte sequence; returns blob size. */
static uint64_t same_bytes(const char *root, const char *tag, const char *check_file, size_t clen)
{
	struct arc_digests d[4];
	char out[4][300], dst[300], err[512] = "", p[600];
	uint8_t *b[4] = { 0 }, *got = NULL;
	size_t n[4];

	for (int t = 0; t < 4; t++) {
		snprintf(out[t], sizeof out[t], "%s/%s-%d.tgz", tmpdir, tag, t + 1);
		CHECK(write_tree_t(root, out[t], 1700000000, t + 1, &d[t]) == 0);
		n[t] = slurp(out[t], &b[t]);
	}
	for (int t = 1; t < 4; t++) {
		CHECK(n[t] == n[0] && n[0] > 0 && !memcmp(b[t], b[0], n[0]));
		CHECK(!memcmp(d[t].blob, d[0].blob, 32) && !memcmp(d[t].diff_id, d[0].diff_id, 32));
	}
	snprintf(p, sizeof p, "%s-dst", tag);
	fresh(dst, sizeof dst, p);
	CHECK(unpack_file(out[3], dst, NULL, err, sizeof err) == 0);
	if (check_file) {
		snprintf(p, sizeof p, "%s/%s", root, check_file);
		size_t a = slurp(p, &got);
		snprintf(p, sizeof p, "%s/%s", dst, check_file);
		CHECK(a == clen);
		free(b[1]);
		b[1] = NULL;
		CHECK(slurp(p, &b[1]) == a && !memcmp(got, b[1], a));
	}
	free(got);
	for (int t = 0; t < 4; t++)
		free(b[t]);
	return d[0].blob_size;
}

static void test_parallel(void)
{
	const size_t rn = 1100000, tn = 900000;
	uint8_t *r = malloc(rn), *t = malloc(tn), *m = malloc(2 * rn);
	char src[300], one[300], none[300];
	uint64_t sz;

	if (!r || !t || !m)
		abort();
	fill_rand(r, rn, 7);
	fill_text(t, tn, 3);
	for (size_t i = 0; i < 2 * rn; i += 65536)   /* 64 KiB random, 64 KiB text, ... */
		memcpy(m + i, (i / 65536) % 2 ? t + i % (tn - 65536) : r + i % (rn - 65536),
		       2 * rn - i < 65536 ? 2 * rn - i : 65536);
	fresh(src, sizeof src, "par");
	put(src, "rand.bin", r, rn, 0644, 1600000000);
	put(src, "text.txt", t, tn, 0644, 1600000000);
	put(src, "mixed.bin", m, 2 * rn, 0644, 1600000000);
	mkd(src, "small", 0755);
	for (int i = 0; i < 300; i++) {
		char nm[64];
		snprintf(nm, sizeof nm, "small/f%03d", i);
		put(src, nm, t + i * 100, 50 + (size_t)i, 0644, 1600000000);
	}
	sz = same_bytes(src, "par", "mixed.bin", 2 * rn);
	/* random stays (stored), text shrinks: between rn and rn + the rest */
	CHECK(sz > rn + rn / 2 && sz < rn + tn / 2 + rn);

	/* a tar of exactly one block (512 + 129536 + 1024 bytes), random: stored */
	fresh(one, sizeof one, "one");
	put(one, "x", r, 131072 - 1536, 0644, 1600000000);
	sz = same_bytes(one, "one", "x", 131072 - 1536);
	CHECK(sz > 131072 && sz < 131072 + 64);
	/* a failing write is an error with a message: at once (/dev/full), or
	 * after 300 KB (a pipe whose reader leaves: seen by the writer thread) */
	signal(SIGPIPE, SIG_IGN);
	for (int th = 1; th <= 4; th += 3)
		for (int late = 0; late < 2; late++) {
			struct arc_change all = { "", ARC_ADD_TREE };
			struct arc_write_opts o = { .epoch = 1700000000, .threads = th };
			struct arc_digests d;
			char err[512] = "";
			int rfd = open_root(src), pp[2] = { -1, -1 }, ofd, rc;
			pid_t kid = -1;
			if (late) {
				CHECK(pipe(pp) == 0);
				if ((kid = fork()) == 0) {
					static uint8_t sink[4096];
					close(pp[1]);
					for (size_t got = 0; got < 300000;) {
						ssize_t k = read(pp[0], sink, sizeof sink);
						if (k <= 0)
							break;
						got += (size_t)k;
					}
					_exit(0);
				}
				close(pp[0]);
				ofd = pp[1];
			} else {
				ofd = open("/dev/full", O_WRONLY);
			}
			rc = arc_write_layer(rfd, &all, 1, &o, ofd, &d, err, sizeof err);
			CHECK(rc == (late ? -EPIPE : -ENOSPC));
			CHECK(strstr(err, late ? "Broken pipe" : "No space left") != NULL);
			close(ofd);
			close(rfd);
			if (kid > 0)
				waitpid(kid, NULL, 0);
		}
	fresh(none, sizeof none, "none");
	CHECK(same_bytes(none, "none", NULL, 0) < 64);
	free(r);
	free(t);
	free(m);
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "unpack"))
		return cmd_unpack(argc, argv);
	if (argc > 1 && !strcmp(argv[1], "write"))
		return cmd_write(argc, argv);
	if (argc > 1 && !strcmp(argv[1], "tbz"))
		return cmd_tbz(argc, argv);
	if (argc > 1) {
		fprintf(stderr, "usage: test_arc [unpack [-e N] [-f N] ARCHIVE ROOT | "
				"write ROOT OUT EPOCH [THREADS] | tbz OUT TREE EPOCH]\n");
		return 2;
	}
	snprintf(tmpdir, sizeof tmpdir, "/tmp/test_arc.XXXXXX");
	if (!mkdtemp(tmpdir))
		return 1;
	umask(022);
	test_norm();
	test_roundtrip();
	test_whiteouts();
	test_whiteout_own();
	test_hostile();
	test_limits();
	test_tbz();
	test_parallel();
	{
		int fd = open("/tmp", O_PATH | O_DIRECTORY);
		CHECK(arc_remove_tree(fd, tmpdir + 5) == 0);
		close(fd);
	}
	return tu_done("test_arc");
}
