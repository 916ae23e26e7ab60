/* SPDX-License-Identifier: MIT */
/*
 * snap: filesystem snapshots of a rootfs and the difference between one and
 * the tree as it is now, as a change list for arc_write_layer(). A snapshot
 * is a flat array of entries in "tree order" (preorder, the children of a
 * directory sorted bytewise), which is the order of the paths when '/' sorts
 * below every other byte; two snapshots in that order are merged in one pass.
 * Nothing is followed: every stat is AT_SYMLINK_NOFOLLOW and every directory
 * is opened O_NOFOLLOW relative to its parent's fd. Contract in snap.h.
 */
#include "snap.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "limits.h"

struct sent {
	size_t path;           /* offset in pool */
	size_t link;           /* offset in pool of the symlink target, or SIZE_MAX */
	uint32_t mode;         /* st_mode: type and permissions */
	uint32_t uid, gid;
	uint64_t size, ino, dev;
	int64_t mtime_s, ctime_s;
	long mtime_ns, ctime_ns;
};

struct snap {
	struct sent *v;
	size_t n, cap;
	char *pool;
	size_t pool_len, pool_cap;
	char **excl;           /* owned copies of the exclusions */
	size_t nexcl;
	struct timespec newest;  /* newest ctime seen */
	char *err;
	size_t errcap;
};

static int sfail(struct snap *s, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int sfail(struct snap *s, int rc, const char *fmt, ...)
{
	va_list ap;

	if (s->err && s->errcap && !s->err[0]) {
		va_start(ap, fmt);
		vsnprintf(s->err, s->errcap, fmt, ap);
		va_end(ap);
	}
	return rc;
}

/* Appends n bytes plus a NUL to the pool; the offset in *off. */
static int pool_put(char **pool, size_t *len, size_t *cap, const char *p, size_t n, size_t *off)
{
	if (*len + n + 1 > *cap) {
		size_t nc = *cap ? *cap : 4096;
		char *np;
		while (nc < *len + n + 1)
			nc *= 2;
		if (!(np = realloc(*pool, nc)))
			return -ENOMEM;
		*pool = np;
		*cap = nc;
	}
	memcpy(*pool + *len, p, n);
	(*pool)[*len + n] = 0;
	*off = *len;
	*len += n + 1;
	return 0;
}

/* Tree order: bytewise, except that '/' sorts below every other byte. */
static int tree_cmp(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	if (*a == *b)
		return 0;
	if (!*a)
		return -1;
	if (!*b)
		return 1;
	if (*a == '/')
		return -1;
	if (*b == '/')
		return 1;
	return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
}

static int excluded(const struct snap *s, const char *rel)
{
	for (size_t i = 0; i < s->nexcl; i++)
		if (s->excl[i] && !strcmp(s->excl[i], rel))
			return 1;
	return 0;
}

static int record(struct snap *s, int dfd, const char *name, const char *rel, size_t rlen,
		  const struct stat *sb)
{
	struct sent *e;
	char target[ARC_MAX_LINK + 1];
	int rc;

	if (s->n >= SNAP_MAX_ENTRIES)
		return sfail(s, -E2BIG, "snapshot: more than %u paths", (unsigned)SNAP_MAX_ENTRIES);
	if (s->n == s->cap) {
		size_t nc = s->cap ? s->cap * 2 : 1024;
		struct sent *nv = realloc(s->v, nc * sizeof *nv);
		if (!nv)
			return -ENOMEM;
		s->v = nv;
		s->cap = nc;
	}
	e = &s->v[s->n];
	*e = (struct sent){
		.link = SIZE_MAX, .mode = (uint32_t)sb->st_mode, .uid = (uint32_t)sb->st_uid,
		.gid = (uint32_t)sb->st_gid, .size = (uint64_t)sb->st_size,
		.ino = (uint64_t)sb->st_ino, .dev = (uint64_t)sb->st_dev,
		.mtime_s = (int64_t)sb->st_mtim.tv_sec, .mtime_ns = sb->st_mtim.tv_nsec,
		.ctime_s = (int64_t)sb->st_ctim.tv_sec, .ctime_ns = sb->st_ctim.tv_nsec,
	};
	if ((rc = pool_put(&s->pool, &s->pool_len, &s->pool_cap, rel, rlen, &e->path)) < 0)
		return rc;
	if (S_ISLNK(sb->st_mode)) {
		ssize_t n = readlinkat(dfd, name, target, sizeof target);
		if (n < 0 || (size_t)n > ARC_MAX_LINK)
			return sfail(s, n < 0 ? -errno : -ENAMETOOLONG, "snapshot: readlink %.200s: %s",
				     rel, n < 0 ? strerror(errno) : "target too long");
		if ((rc = pool_put(&s->pool, &s->pool_len, &s->pool_cap, target, (size_t)n,
				   &e->link)) < 0)
			return rc;
	}
	if (sb->st_ctim.tv_sec > s->newest.tv_sec ||
	    (sb->st_ctim.tv_sec == s->newest.tv_sec && sb->st_ctim.tv_nsec > s->newest.tv_nsec))
		s->newest = sb->st_ctim;
	s->n++;
	return 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names of a directory (no "." and ".."), sorted; *names is one malloc
 * block of pointers followed by the strings. */
static int list_dir(int dfd, char ***names, size_t *count)
{
	size_t n = 0, cap = 64, bytes = 0, bcap = 4096;
	size_t *offs = malloc(cap * sizeof *offs);
	char *pool = malloc(bcap), **out = NULL;
	struct dirent *e;
	DIR *d = NULL;
	int fd = dup(dfd), rc = 0;

	if (fd < 0 || !offs || !pool || !(d = fdopendir(fd))) {
		rc = fd < 0 || (offs && pool) ? -errno : -ENOMEM;
		if (fd >= 0 && !d)
			close(fd);
		goto out;
	}
	while (rc == 0 && (errno = 0, e = readdir(d)) != NULL) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (n == cap) {
			size_t *no = realloc(offs, 2 * cap * sizeof *no);
			if (!no) {
				rc = -ENOMEM;
				break;
			}
			offs = no;
			cap *= 2;
		}
		rc = pool_put(&pool, &bytes, &bcap, e->d_name, strlen(e->d_name), &offs[n++]);
	}
	if (rc == 0 && errno)
		rc = -errno;
	if (rc == 0 && !(out = malloc(n * sizeof *out + bytes + 1)))
		rc = -ENOMEM;
	if (rc == 0) {
		char *strs = (char *)(out + n);
		memcpy(strs, pool, bytes);
		for (size_t i = 0; i < n; i++)
			out[i] = strs + offs[i];
		if (n > 1)
			qsort(out, n, sizeof *out, by_name);
		*names = out;
		*count = n;
	}
out:
	if (d)
		closedir(d);
	free(offs);
	free(pool);
	return rc;
}

/* Records every child of the directory dfd (whose relative path is rel, of
 * rlen bytes in a buffer of ARC_MAX_PATH + 1), recursing into directories. */
static int walk(struct snap *s, int dfd, char *rel, size_t rlen, unsigned depth)
{
	char **names = NULL;
	size_t n = 0;
	int rc;

	if (depth >= ARC_MAX_DEPTH)
		return sfail(s, -ELOOP, "snapshot: %.200s: deeper than %u", rel, (unsigned)ARC_MAX_DEPTH);
	if ((rc = list_dir(dfd, &names, &n)) < 0)
		return sfail(s, rc, "snapshot: read dir %.200s: %s", rlen ? rel : ".", strerror(-rc));
	for (size_t i = 0; i < n && rc == 0; i++) {
		size_t nl = strlen(names[i]), cl = rlen + (rlen > 0) + nl;
		struct stat sb;
		int cfd;

		if (cl > ARC_MAX_PATH) {
			rc = sfail(s, -ENAMETOOLONG, "snapshot: path longer than %u bytes below %.200s",
				   (unsigned)ARC_MAX_PATH, rel);
			break;
		}
		if (rlen)
			rel[rlen] = '/';
		memcpy(rel + rlen + (rlen > 0), names[i], nl + 1);
		if (excluded(s, rel))
			goto next;
		if (fstatat(dfd, names[i], &sb, AT_SYMLINK_NOFOLLOW) < 0) {
			rc = sfail(s, -errno, "snapshot: stat %.200s: %s", rel, strerror(errno));
			break;
		}
		if ((rc = record(s, dfd, names[i], rel, cl, &sb)) < 0 || !S_ISDIR(sb.st_mode))
			goto next;
		cfd = openat(dfd, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (cfd < 0) {
			rc = sfail(s, -errno, "snapshot: open %.200s: %s", rel, strerror(errno));
			break;
		}
		rc = walk(s, cfd, rel, cl, depth + 1);
		close(cfd);
next:
		rel[rlen] = 0;
	}
	free(names);
	return rc;
}

/* After a snapshot, waits (a few ms at most) until the coarse clock the
 * kernel stamps ctimes with has passed the newest ctime recorded, so a
 * change made after snap_take() returns can never carry a ctime equal to
 * the recorded one. A newest ctime with 0 ns looks like a file system with
 * whole-second stamps: then the next second is awaited. */
static void settle(const struct snap *s)
{
	struct timespec now, nap = { 0, 1000000 };
	long granule = s->newest.tv_nsec == 0 ? 1000000000L : 1;

	for (int i = 0; i < 1100; i++) {
		if (clock_gettime(CLOCK_REALTIME_COARSE, &now) < 0)
			return;
		if (now.tv_sec > s->newest.tv_sec ||
		    (now.tv_sec == s->newest.tv_sec && now.tv_nsec / granule > s->newest.tv_nsec / granule))
			return;
		nanosleep(&nap, NULL);
	}
}

static int take(int rootfd, const char *const *excl, size_t nexcl, struct snap **out,
		char *err, size_t errcap)
{
	char rel[ARC_MAX_PATH + 1] = "";
	struct snap *s = calloc(1, sizeof *s);
	int fd = -1, rc = 0;

	*out = NULL;
	if (!s || (nexcl && !(s->excl = calloc(nexcl, sizeof *s->excl)))) {
		rc = -ENOMEM;
		goto out;
	}
	s->err = err;
	s->errcap = errcap;
	for (; s->nexcl < nexcl; s->nexcl++) {
		if (!excl[s->nexcl])
			continue;
		if (arc_path_norm(excl[s->nexcl], rel, sizeof rel, ARC_MAX_DEPTH) < 0) {
			rc = sfail(s, -EINVAL, "snapshot: bad exclusion \"%.200s\"", excl[s->nexcl]);
			goto out;
		}
		if (!(s->excl[s->nexcl] = strdup(rel))) {
			rc = -ENOMEM;
			goto out;
		}
	}
	rel[0] = 0;
	fd = openat(rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		rc = sfail(s, -errno, "snapshot: open root: %s", strerror(errno));
	else
		rc = walk(s, fd, rel, 0, 0);
out:
	if (fd >= 0)
		close(fd);
	if (s)
		s->err = NULL;
	if (rc < 0) {
		snap_free(s);
		return rc;
	}
	*out = s;
	return 0;
}

int snap_take(int rootfd, const char *const *excl, size_t nexcl, struct snap **out,
	      char *err, size_t errcap)
{
	int rc;

	if (err && errcap)
		err[0] = 0;
	if (!out || (nexcl && !excl))
		return -EINVAL;
	rc = take(rootfd, excl, nexcl, out, err, errcap);
	if (rc == 0)
		settle(*out);
	return rc;
}

void snap_free(struct snap *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nexcl; i++)
		free(s->excl[i]);
	free(s->excl);
	free(s->v);
	free(s->pool);
	free(s);
}

/* ---- diff ---- */

struct dctx {
	const struct snap *a, *b;
	struct snap_changes *c;
	size_t *offs;          /* path offsets in c->pool until the end */
};

static const char *P(const struct snap *s, size_t i)
{
	return s->pool + s->v[i].path;
}

static int emit(struct dctx *d, const char *path, enum arc_change_kind kind)
{
	struct snap_changes *c = d->c;
	int rc;

	if (c->n == c->cap) {
		size_t nc = c->cap ? c->cap * 2 : 256;
		struct arc_change *nv = realloc(c->v, nc * sizeof *nv);
		size_t *no = nv ? realloc(d->offs, nc * sizeof *no) : NULL;
		if (nv)
			c->v = nv;
		if (!no)
			return -ENOMEM;
		d->offs = no;
		c->cap = nc;
	}
	if ((rc = pool_put(&c->pool, &c->pool_len, &c->pool_cap, path, strlen(path),
			   &d->offs[c->n])) < 0)
		return rc;
	c->v[c->n].path = NULL;
	c->v[c->n++].kind = kind;
	return 0;
}

/* Index of the first entry after i that is not below entry i. */
static size_t skip_below(const struct snap *s, size_t i)
{
	const char *p = P(s, i);
	size_t len = strlen(p), j = i + 1;

	while (j < s->n && !strncmp(P(s, j), p, len) && P(s, j)[len] == '/')
		j++;
	return j;
}

static int same(const struct snap *a, size_t i, const struct snap *b, size_t j)
{
	const struct sent *x = &a->v[i], *y = &b->v[j];

	if (x->mode != y->mode || x->uid != y->uid || x->gid != y->gid || x->size != y->size ||
	    x->ino != y->ino || x->dev != y->dev || x->mtime_s != y->mtime_s ||
	    x->mtime_ns != y->mtime_ns || x->ctime_s != y->ctime_s || x->ctime_ns != y->ctime_ns)
		return 0;
	if ((x->link == SIZE_MAX) != (y->link == SIZE_MAX))
		return 0;
	return x->link == SIZE_MAX || !strcmp(a->pool + x->link, b->pool + y->link);
}

/* One path present in both snapshots; advances *i and *j. */
static int diff_both(struct dctx *d, size_t *i, size_t *j)
{
	const struct snap *a = d->a, *b = d->b;
	uint32_t ta = a->v[*i].mode & S_IFMT, tb = b->v[*j].mode & S_IFMT;
	size_t ai = *i, bj = *j;
	int rc = 0;

	if (ta == S_IFDIR && tb == S_IFDIR && (a->v[ai].ino != b->v[bj].ino ||
					       a->v[ai].dev != b->v[bj].dev)) {
		/* deleted and made again: the new one hides all below the old */
		size_t end = skip_below(b, bj);
		rc = emit(d, P(b, bj), ARC_OPAQUE);
		for (size_t k = bj + 1; k < end && rc == 0; k++)
			rc = emit(d, P(b, k), ARC_ADD);
		*i = skip_below(a, ai);
		*j = end;
		return rc;
	}
	if (!same(a, ai, b, bj))
		rc = emit(d, P(b, bj), ARC_ADD);
	/* a directory that became something else: its old children are gone
	 * with it (the layer's entry replaces the whole lower directory) */
	*i = ta == S_IFDIR && tb != S_IFDIR ? skip_below(a, ai) : ai + 1;
	*j = bj + 1;
	return rc;
}

static int by_path(const void *x, const void *y)
{
	return strcmp(((const struct arc_change *)x)->path, ((const struct arc_change *)y)->path);
}

static int merge(struct dctx *d)
{
	const struct snap *a = d->a, *b = d->b;
	size_t i = 0, j = 0;
	int rc = 0;

	while (rc == 0 && (i < a->n || j < b->n)) {
		int c = i >= a->n ? 1 : j >= b->n ? -1 : tree_cmp(P(a, i), P(b, j));
		if (c < 0) {            /* deleted: one whiteout for the whole subtree */
			rc = emit(d, P(a, i), ARC_WHITEOUT);
			i = skip_below(a, i);
		} else if (c > 0) {     /* new */
			rc = emit(d, P(b, j), ARC_ADD);
			j++;
		} else {
			rc = diff_both(d, &i, &j);
		}
	}
	if (rc < 0)
		return rc;
	for (size_t k = 0; k < d->c->n; k++)
		d->c->v[k].path = d->c->pool + d->offs[k];
	if (d->c->n > 1)
		qsort(d->c->v, d->c->n, sizeof *d->c->v, by_path);
	return 0;
}

int snap_diff(const struct snap *before, int rootfd, struct snap_changes *out,
	      char *err, size_t errcap)
{
	struct snap *now = NULL;
	struct dctx d = { 0 };
	int rc;

	if (err && errcap)
		err[0] = 0;
	if (!before || !out)
		return -EINVAL;
	memset(out, 0, sizeof *out);
	rc = take(rootfd, (const char *const *)before->excl, before->nexcl, &now, err, errcap);
	if (rc < 0)
		return rc;
	d.a = before;
	d.b = now;
	d.c = out;
	rc = merge(&d);
	free(d.offs);
	snap_free(now);
	if (rc < 0) {
		if (err && errcap && !err[0])
			snprintf(err, errcap, "snapshot diff: %s", strerror(-rc));
		snap_changes_free(out);
	}
	return rc;
}

void snap_changes_free(struct snap_changes *c)
{
	if (!c)
		return;
	free(c->v);
	free(c->pool);
	memset(c, 0, sizeof *c);
}
