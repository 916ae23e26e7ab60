/* SPDX-License-Identifier: MIT */
/*
 * arc (writing): byte-stable tar for image layers and the manifest .tbz.
 * The tar headers are formatted here rather than by libarchive, whose writer
 * passes names through the process locale (musl and glibc differ in the C
 * locale, so non-ASCII names would give different bytes per build target).
 * Entries are sorted bytewise, mtimes clamped, owners numeric with empty
 * names, ustar with a pax 'x' header only for what ustar cannot hold. The
 * tar bytes go to src/arc_gz.c (parallel deterministic gzip, or bzip2),
 * which streams them to an fd while both digests are computed. Contract in
 * arc.h; format in docs/layers.md.
 */
#include "arc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arc_int.h"
#include "limits.h"
#include "util.h"

enum { WK_TREE = 1, WK_MEM, WK_WHITEOUT, WK_OPAQUE, WK_SYNDIR };

/* ---- a string -> index map (names in the list, inode keys) ---- */

struct smap {
	const char **k;
	size_t *v;
	size_t cap, used;
};

static size_t smap_slot(const struct smap *m, const char *key)
{
	uint64_t h = 1469598103934665603ull;
	size_t i;

	for (const char *p = key; *p; p++)
		h = (h ^ (uint8_t)*p) * 1099511628211ull;
	for (i = (size_t)h & (m->cap - 1); m->k[i] && strcmp(m->k[i], key);)
		i = (i + 1) & (m->cap - 1);
	return i;
}

static int smap_get(const struct smap *m, const char *key, size_t *v)
{
	size_t i;

	if (!m->cap)
		return 0;
	i = smap_slot(m, key);
	if (!m->k[i])
		return 0;
	*v = m->v[i];
	return 1;
}

/* key is borrowed: it must outlive the map. */
static int smap_put(struct smap *m, const char *key, size_t v)
{
	size_t i;

	if ((m->used + 1) * 2 > m->cap) {
		struct smap n = { .cap = m->cap ? m->cap * 2 : 1024 };
		n.k = calloc(n.cap, sizeof *n.k);
		n.v = calloc(n.cap, sizeof *n.v);
		if (!n.k || !n.v) {
			free(n.k);
			free(n.v);
			return -ENOMEM;
		}
		for (size_t j = 0; j < m->cap; j++)
			if (m->k[j]) {
				size_t s = smap_slot(&n, m->k[j]);
				n.k[s] = m->k[j];
				n.v[s] = m->v[j];
			}
		n.used = m->used;
		free(m->k);
		free(m->v);
		*m = n;
	}
	i = smap_slot(m, key);
	if (!m->k[i])
		m->used++;
	m->k[i] = key;
	m->v[i] = v;
	return 0;
}

static void smap_free(struct smap *m)
{
	free(m->k);
	free(m->v);
	memset(m, 0, sizeof *m);
}

/* ---- the entry list ---- */

struct went {
	char *name;              /* tar name without a trailing '/' */
	const char *src;         /* path in the tree (WK_TREE) */
	const struct arc_mem_file *mem;
	int kind;
};

struct wctx {
	int rootfd, comp, level, threads, zero_owner;
	int64_t epoch;
	const char *prefix;      /* tbz: tree entries live below it */
	struct arc_limits lim;
	struct went *v;
	size_t n, cap;
	struct smap names, inodes;
	char **ikeys;            /* owned inode keys */
	size_t nikeys;
	struct arc_sink *s;
	uint64_t total;
	char *err;
	size_t errcap;
	const char *cur;
	uint8_t *fbuf;
	char link[ARC_MAX_PATH + 1];
};

static int wfail(struct wctx *w, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int wfail(struct wctx *w, int rc, const char *fmt, ...)
{
	char why[256];
	va_list ap;

	if (!w->err || !w->errcap || w->err[0])
		return rc;
	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	if (w->cur)
		snprintf(w->err, w->errcap, "\"%.200s\": %s", w->cur, why);
	else
		snprintf(w->err, w->errcap, "%s", why);
	return rc;
}

/* Appends an entry whose name is taken over (freed here on failure). */
static int add(struct wctx *w, char *name, int kind, const struct arc_mem_file *mem)
{
	size_t plen = w->prefix ? strlen(w->prefix) : 0;

	if (!name)
		return -ENOMEM;
	if (w->n >= w->lim.max_entries) {
		free(name);
		return wfail(w, -E2BIG, "too many entries (limit %llu)",
			     (unsigned long long)w->lim.max_entries);
	}
	if (w->n == w->cap) {
		size_t nc = w->cap ? w->cap * 2 : 256;
		struct went *nv = realloc(w->v, nc * sizeof *nv);
		if (!nv) {
			free(name);
			return -ENOMEM;
		}
		w->v = nv;
		w->cap = nc;
	}
	w->v[w->n] = (struct went){ .name = name, .kind = kind, .mem = mem, .src = name };
	if (kind == WK_TREE && w->prefix)
		w->v[w->n].src = name + plen + 1;
	w->n++;
	return 0;
}

static char *join(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *s = malloc(la + lb + 2);

	if (s) {
		memcpy(s, a, la);
		s[la] = '/';
		memcpy(s + la + (la > 0), b, lb + 1);
	}
	return s;
}

/* Adds everything below the tree directory src (name: its tar name). */
static int add_tree(struct wctx *w, const char *src, const char *name, unsigned depth)
{
	struct dirent *e;
	DIR *d;
	int fd, dfd, rc = 0;

	if (depth >= w->lim.max_depth)
		return wfail(w, -EMLINK, "tree deeper than %llu", (unsigned long long)w->lim.max_depth);
	if ((fd = arc_open_dir(w->rootfd, src, 0)) < 0)
		return wfail(w, fd, "open %s: %s", *src ? src : ".", strerror(-fd));
	dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	close(fd);
	if (dfd < 0 || !(d = fdopendir(dfd))) {
		rc = -errno;
		if (dfd >= 0)
			close(dfd);
		return wfail(w, rc, "read dir %s: %s", src, strerror(-rc));
	}
	while (rc == 0 && (e = readdir(d)) != NULL) {
		struct stat sb;
		char *child, *cname;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		child = join(src, e->d_name);
		cname = join(name, e->d_name);
		if (!child || !cname) {
			free(child);
			free(cname);
			rc = -ENOMEM;
			break;
		}
		if ((rc = add(w, cname, WK_TREE, NULL)) == 0 &&
		    fstatat(dirfd(d), e->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(sb.st_mode))
			rc = add_tree(w, child, cname, depth + 1);
		free(child);
	}
	closedir(d);
	return rc;
}

/* Adds every missing parent directory (from the tree, or made up for names
 * outside it). New entries are visited too, so whole chains are added. */
static int add_parents(struct wctx *w)
{
	size_t plen = w->prefix ? strlen(w->prefix) : 0;
	int rc;

	for (size_t i = 0; i < w->n; i++)
		if ((rc = smap_put(&w->names, w->v[i].name, i)) < 0)
			return rc;
	for (size_t i = 0; i < w->n; i++) {
		const char *nm = w->v[i].name, *slash = strrchr(nm, '/');
		size_t dummy;
		char *parent;
		int kind = WK_TREE;

		if (!slash)
			continue;
		if (!(parent = strndup(nm, (size_t)(slash - nm))))
			return -ENOMEM;
		if (smap_get(&w->names, parent, &dummy)) {
			free(parent);
			continue;
		}
		if (w->prefix && !(strncmp(parent, w->prefix, plen) == 0 && parent[plen] == '/'))
			kind = WK_SYNDIR;
		if ((rc = add(w, parent, kind, NULL)) < 0 ||
		    (rc = smap_put(&w->names, w->v[w->n - 1].name, w->n - 1)) < 0)
			return rc;
	}
	return 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct went *)a)->name, ((const struct went *)b)->name);
}

/* Sorts bytewise and merges duplicates; the same name with two meanings is an error. */
static int sort_list(struct wctx *w)
{
	size_t o = 0;

	if (w->n > 1)
		qsort(w->v, w->n, sizeof *w->v, by_name);
	for (size_t i = 0; i < w->n; i++) {
		if (o > 0 && !strcmp(w->v[o - 1].name, w->v[i].name)) {
			if (w->v[o - 1].kind != w->v[i].kind) {
				w->cur = w->v[i].name;
				return wfail(w, -EINVAL, "two different changes for one name");
			}
			free(w->v[i].name);
			continue;
		}
		w->v[o++] = w->v[i];
	}
	w->n = o;
	return 0;
}

/* ---- tar headers ---- */

static void oct(uint8_t *f, size_t width, uint64_t v)
{
	f[width - 1] = 0;
	for (size_t i = width - 1; i-- > 0; v >>= 3)
		f[i] = (uint8_t)('0' + (v & 7));
}

static int fits(uint64_t v, size_t width)
{
	return v < (1ull << (3 * (width - 1)));
}

static int is_utf8(const uint8_t *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned c = s[i], k = c < 0x80 ? 0 : (c >> 5) == 6 ? 1 : (c >> 4) == 14 ? 2 :
				       (c >> 3) == 30 ? 3 : 9;
		if (k == 9 || (k && c < 0xc2) || i + k >= n)
			return 0;
		for (unsigned j = 1; j <= k; j++)
			if ((s[i + j] & 0xc0) != 0x80)
				return 0;
		i += k + 1;
	}
	return 1;
}

/* "LEN key=value\n" where LEN counts the whole record, itself included. */
static int pax_rec(struct buf *b, const char *key, const char *val, size_t vlen)
{
	size_t base = strlen(key) + vlen + 3, d = 1;
	char num[24];

	for (;;) {          /* the digits of the total are part of the total */
		size_t dd = 1;
		for (size_t t = base + d; t >= 10; t /= 10)
			dd++;
		if (dd == d)
			break;
		d = dd;
	}
	snprintf(num, sizeof num, "%zu ", base + d);
	if (buf_append(b, num, strlen(num)) < 0 || buf_append(b, key, strlen(key)) < 0 ||
	    buf_append(b, "=", 1) < 0 || buf_append(b, val, vlen) < 0 || buf_append(b, "\n", 1) < 0)
		return -ENOMEM;
	return 0;
}

static void ustar(uint8_t h[512], const char *name, size_t nlen, char type, uint32_t mode,
		  uint64_t uid, uint64_t gid, uint64_t size, uint64_t mtime, const char *link,
		  size_t llen)
{
	unsigned sum = 0;

	memset(h, 0, 512);
	memcpy(h, name, nlen < 100 ? nlen : 100);
	oct(h + 100, 8, mode);
	oct(h + 108, 8, fits(uid, 8) ? uid : 0);
	oct(h + 116, 8, fits(gid, 8) ? gid : 0);
	oct(h + 124, 12, fits(size, 12) ? size : 0);
	oct(h + 136, 12, fits(mtime, 12) ? mtime : 0);
	memset(h + 148, ' ', 8);
	h[156] = (uint8_t)type;
	if (link)
		memcpy(h + 157, link, llen < 100 ? llen : 100);
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	oct(h + 329, 8, 0);
	oct(h + 337, 8, 0);
	for (int i = 0; i < 512; i++)
		sum += h[i];
	oct(h + 148, 7, sum);   /* six digits, NUL, then the space already there */
}

struct hdr {
	const char *name;        /* without the trailing '/' */
	char type;
	uint32_t mode;
	uint64_t uid, gid, size, mtime;
	const char *link;
};

static int put_pad(struct arc_sink *s, uint64_t n)
{
	static const uint8_t zero[512];
	size_t pad = (size_t)((512 - (n & 511)) & 511);
	return pad ? arc_sink_put(s, zero, pad) : 0;
}

/* One entry's header(s): a pax 'x' header first when ustar cannot hold it. */
static int put_header(struct wctx *w, const struct hdr *e)
{
	char name[ARC_MAX_PATH + 2], num[24];
	size_t nlen = strlen(e->name), llen = e->link ? strlen(e->link) : 0;
	uint8_t h[512];
	struct buf pax = { .max = 3 * ARC_MAX_PATH };
	int rc = 0;

	if (nlen + 1 >= sizeof name)
		return wfail(w, -ENAMETOOLONG, "name too long");
	memcpy(name, e->name, nlen);
	if (e->type == '5')
		name[nlen++] = '/';
	name[nlen] = 0;
	if (nlen > w->lim.max_path || llen > w->lim.max_link)
		return wfail(w, -ENAMETOOLONG, "name or link target over the limit");
	if (nlen > 100 || llen > 100) {
		if (!is_utf8((const uint8_t *)name, nlen) ||
		    (e->link && !is_utf8((const uint8_t *)e->link, llen)))
			rc = pax_rec(&pax, "hdrcharset", "BINARY", 6);
		if (rc == 0 && nlen > 100)
			rc = pax_rec(&pax, "path", name, nlen);
		if (rc == 0 && llen > 100)
			rc = pax_rec(&pax, "linkpath", e->link, llen);
	}
	if (rc == 0 && !fits(e->uid, 8) && snprintf(num, sizeof num, "%llu", (unsigned long long)e->uid))
		rc = pax_rec(&pax, "uid", num, strlen(num));
	if (rc == 0 && !fits(e->gid, 8) && snprintf(num, sizeof num, "%llu", (unsigned long long)e->gid))
		rc = pax_rec(&pax, "gid", num, strlen(num));
	if (rc == 0 && !fits(e->size, 12) &&
	    snprintf(num, sizeof num, "%llu", (unsigned long long)e->size))
		rc = pax_rec(&pax, "size", num, strlen(num));
	if (rc == 0 && pax.len > 0) {
		const char *base = strrchr(e->name, '/');
		char xname[101];
		snprintf(xname, sizeof xname, "PaxHeaders/%.89s", base ? base + 1 : e->name);
		ustar(h, xname, strlen(xname), 'x', 0644, 0, 0, pax.len, e->mtime, NULL, 0);
		if ((rc = arc_sink_put(w->s, h, 512)) == 0 && (rc = arc_sink_put(w->s, pax.data, pax.len)) == 0)
			rc = put_pad(w->s, pax.len);
	}
	buf_free(&pax);
	if (rc < 0)
		return rc;
	ustar(h, name, nlen, e->type, e->mode, e->uid, e->gid, e->size, e->mtime, e->link, llen);
	return arc_sink_put(w->s, h, 512);
}

/* ---- entries ---- */

static uint64_t clamp_time(const struct wctx *w, int64_t t)
{
	if (t < 0)
		return 0;
	return (uint64_t)(t > w->epoch ? w->epoch : t);
}

/* Copies exactly size bytes of fd; a file that shrinks or grows is an error. */
static int put_data(struct wctx *w, int fd, uint64_t size)
{
	uint64_t left = size;
	ssize_t r;
	int rc;

	while (left > 0) {
		r = read(fd, w->fbuf, left < ARC_IO_BLOCK ? (size_t)left : ARC_IO_BLOCK);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return wfail(w, -errno, "read: %s", strerror(errno));
		if (r == 0)
			return wfail(w, -EAGAIN, "file shrank while it was written");
		if ((rc = arc_sink_put(w->s, w->fbuf, (size_t)r)) < 0)
			return rc;
		left -= (uint64_t)r;
	}
	while ((r = read(fd, w->fbuf, 1)) < 0 && errno == EINTR)
		;
	if (r != 0)
		return wfail(w, -EAGAIN, "file grew while it was written");
	return put_pad(w->s, size);
}

static int file_size_ok(struct wctx *w, uint64_t size)
{
	if (size > w->lim.max_file)
		return wfail(w, -EFBIG, "file too large (limit %llu)", (unsigned long long)w->lim.max_file);
	if (size > w->lim.max_total - w->total)
		return wfail(w, -EFBIG, "layer too large (limit %llu)", (unsigned long long)w->lim.max_total);
	w->total += size;
	return 0;
}

/* A regular file: a hardlink entry if its inode was written before. */
static int put_file(struct wctx *w, size_t i, int pfd, const char *base, struct hdr *h,
		    const struct stat *sb)
{
	struct stat fsb;
	size_t first;
	char key[48], *k;
	int fd, rc;

	if (sb->st_nlink > 1) {
		snprintf(key, sizeof key, "%llx:%llx", (unsigned long long)sb->st_dev,
			 (unsigned long long)sb->st_ino);
		if (smap_get(&w->inodes, key, &first)) {
			h->type = '1';
			h->link = w->v[first].name;
			return put_header(w, h);
		}
		if (!(k = strdup(key)))
			return -ENOMEM;
		w->ikeys[w->nikeys++] = k;
		if ((rc = smap_put(&w->inodes, k, i)) < 0)
			return rc;
	}
	if ((rc = file_size_ok(w, (uint64_t)sb->st_size)) < 0)
		return rc;
	fd = openat(pfd, base, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return wfail(w, -errno, "open: %s", strerror(errno));
	if (fstat(fd, &fsb) < 0 || fsb.st_ino != sb->st_ino || fsb.st_dev != sb->st_dev ||
	    fsb.st_size != sb->st_size || !S_ISREG(fsb.st_mode)) {
		close(fd);
		return wfail(w, -EAGAIN, "file changed while it was written");
	}
	h->type = '0';
	h->size = (uint64_t)sb->st_size;
	if ((rc = put_header(w, h)) == 0)
		rc = put_data(w, fd, h->size);
	close(fd);
	return rc;
}

static int put_tree_entry(struct wctx *w, size_t i)
{
	const struct went *e = &w->v[i];
	struct hdr h = { .name = e->name };
	const char *base;
	struct stat sb;
	ssize_t n;
	int pfd, rc;

	if ((pfd = arc_open_parent(w->rootfd, e->src, 0, &base)) < 0)
		return wfail(w, pfd, "%s", pfd == -ELOOP ? "symlink in path" : strerror(-pfd));
	if (fstatat(pfd, base, &sb, AT_SYMLINK_NOFOLLOW) < 0) {
		rc = wfail(w, -errno, "stat: %s", strerror(errno));
		goto out;
	}
	h.mode = (uint32_t)sb.st_mode & 07777;
	h.uid = w->zero_owner ? 0 : (uint64_t)sb.st_uid;
	h.gid = w->zero_owner ? 0 : (uint64_t)sb.st_gid;
	h.mtime = clamp_time(w, (int64_t)sb.st_mtime);
	if (S_ISDIR(sb.st_mode)) {
		h.type = '5';
		rc = put_header(w, &h);
	} else if (S_ISLNK(sb.st_mode)) {
		n = readlinkat(pfd, base, w->link, sizeof w->link);
		if (n < 0 || (size_t)n >= sizeof w->link || (uint64_t)n > w->lim.max_link) {
			rc = wfail(w, n < 0 ? -errno : -ENAMETOOLONG, "readlink: %s",
				   n < 0 ? strerror(errno) : "target too long");
			goto out;
		}
		w->link[n] = 0;
		h.type = '2';
		h.link = w->link;
		rc = put_header(w, &h);
	} else if (S_ISREG(sb.st_mode)) {
		rc = put_file(w, i, pfd, base, &h, &sb);
	} else if (S_ISSOCK(sb.st_mode)) {
		rc = 1;     /* sockets are skipped, as docker does */
	} else {
		rc = wfail(w, -EPERM, "%s refused", S_ISFIFO(sb.st_mode) ? "fifo" : "device node");
	}
out:
	close(pfd);
	return rc;
}

static int put_entry(struct wctx *w, size_t i)
{
	const struct went *e = &w->v[i];
	struct hdr h = { .name = e->name, .type = '0', .mode = 0644, .mtime = clamp_time(w, w->epoch) };
	int rc;

	w->cur = e->name;
	switch (e->kind) {
	case WK_TREE:
		return put_tree_entry(w, i);
	case WK_SYNDIR:
		h.type = '5';
		h.mode = 0755;
		return put_header(w, &h);
	case WK_MEM:
		h.mode = e->mem->mode ? e->mem->mode & 07777 : 0644;
		h.size = e->mem->len;
		if ((rc = file_size_ok(w, h.size)) < 0 || (rc = put_header(w, &h)) < 0 ||
		    (rc = arc_sink_put(w->s, e->mem->p, e->mem->len)) < 0)
			return rc;
		return put_pad(w->s, h.size);
	default:        /* whiteouts: empty regular files */
		return put_header(w, &h);
	}
}

static int write_all_entries(struct wctx *w, int fd, struct arc_digests *out)
{
	static const uint8_t zero[1024];
	struct arc_digests dg;
	uint64_t count = 0;
	int rc;

	if ((rc = add_parents(w)) < 0 || (rc = sort_list(w)) < 0)
		return rc;
	if (!(w->fbuf = malloc(ARC_IO_BLOCK)) || !(w->ikeys = calloc(w->n + 1, sizeof *w->ikeys)))
		return -ENOMEM;
	if ((rc = arc_sink_open(&w->s, fd, w->comp, w->level, w->threads)) < 0)
		return wfail(w, rc, "write: %s", strerror(-rc));
	for (size_t i = 0; i < w->n; i++) {
		if ((rc = put_entry(w, i)) < 0)
			return wfail(w, rc, "write: %s", strerror(-rc));
		count += rc == 0;
	}
	w->cur = NULL;
	if ((rc = arc_sink_put(w->s, zero, sizeof zero)) < 0 || (rc = arc_sink_finish(w->s, &dg)) < 0)
		return wfail(w, rc, "write: %s", strerror(-rc));
	if (out) {
		*out = dg;
		out->entries = count;
	}
	return 0;
}

static void wctx_free(struct wctx *w)
{
	for (size_t i = 0; i < w->n; i++)
		free(w->v[i].name);
	free(w->v);
	for (size_t i = 0; i < w->nikeys; i++)
		free(w->ikeys[i]);
	free(w->ikeys);
	smap_free(&w->names);
	smap_free(&w->inodes);
	arc_sink_free(w->s);
	free(w->fbuf);
}

/* ---- public ---- */

static struct wctx *wctx_new(int64_t epoch, const struct arc_limits *lim, char *err, size_t errcap)
{
	struct wctx *w;

	if (err && errcap)
		err[0] = 0;
	if (epoch < 0 || epoch > 077777777777LL || !(w = calloc(1, sizeof *w)))
		return NULL;
	w->epoch = epoch;
	if (lim)
		w->lim = *lim;
	else
		arc_limits_layer(&w->lim);
	w->err = err;
	w->errcap = errcap;
	return w;
}

/* The tar name of a change (whiteout names made here); NULL on ENOMEM. */
static char *change_name(const char *p, int kind)
{
	const char *slash = strrchr(p, '/');
	size_t dl = slash ? (size_t)(slash - p) : 0;
	const char *base = slash ? slash + 1 : p;
	char *s;

	if (kind == ARC_OPAQUE)
		return join(p, ".wh..wh..opq");
	if (kind != ARC_WHITEOUT)
		return strdup(p);
	if (!(s = malloc(dl + strlen(base) + 6)))
		return NULL;
	sprintf(s, "%.*s%s.wh.%s", (int)dl, p, dl ? "/" : "", base);
	return s;
}

static int add_change(struct wctx *w, const struct arc_change *c)
{
	char p[ARC_MAX_PATH + 1];
	int rc = arc_path_norm(c->path ? c->path : "", p, sizeof p, w->lim.max_depth);

	w->cur = c->path;
	if (rc < 0)
		return wfail(w, rc, "bad path");
	if (rc == 0 && c->kind != ARC_ADD_TREE && c->kind != ARC_OPAQUE)
		return wfail(w, -EINVAL, "the root itself");
	switch (c->kind) {
	case ARC_ADD:
		return add(w, strdup(p), WK_TREE, NULL);
	case ARC_ADD_TREE:
		if (*p && (rc = add(w, strdup(p), WK_TREE, NULL)) < 0)
			return rc;
		return add_tree(w, p, p, (unsigned)rc);
	case ARC_WHITEOUT:
		return add(w, change_name(p, ARC_WHITEOUT), WK_WHITEOUT, NULL);
	case ARC_OPAQUE:
		if (*p && (rc = add(w, strdup(p), WK_TREE, NULL)) < 0)
			return rc;
		return add(w, change_name(p, ARC_OPAQUE), WK_OPAQUE, NULL);
	default:
		return wfail(w, -EINVAL, "unknown change kind");
	}
}

int arc_write_layer(int rootfd, const struct arc_change *ch, size_t n,
		    const struct arc_write_opts *o, int outfd, struct arc_digests *out,
		    char *err, size_t errcap)
{
	struct wctx *w;
	int rc = 0;

	if (!o || (n && !ch) || o->level < 0 || o->level > 9 || o->threads < 0)
		return -EINVAL;
	if (!(w = wctx_new(o->epoch, o->lim, err, errcap)))
		return -EINVAL;
	w->rootfd = rootfd;
	w->comp = ARC_COMP_GZIP;
	w->level = o->level ? o->level : ARC_GZIP_LEVEL;
	w->threads = o->threads;
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = add_change(w, &ch[i]);
	w->cur = NULL;
	if (rc == 0)
		rc = write_all_entries(w, outfd, out);
	wctx_free(w);
	free(w);
	return rc;
}

int arc_tbz_create(const struct arc_mem_file *files, size_t nfiles, int treefd,
		   const char *tree_prefix, int64_t mtime, int outfd, struct arc_digests *out,
		   char *err, size_t errcap)
{
	char p[ARC_MAX_PATH + 1], prefix[ARC_MAX_PATH + 1];
	struct arc_limits lim;
	struct wctx *w;
	int rc = 0;

	arc_limits_tbz(&lim);
	if ((nfiles && !files) || !(w = wctx_new(mtime, &lim, err, errcap)))
		return -EINVAL;
	w->rootfd = treefd;
	w->comp = ARC_COMP_BZIP2;
	w->zero_owner = 1;
	for (size_t i = 0; i < nfiles && rc == 0; i++) {
		w->cur = files[i].name;
		if (arc_path_norm(files[i].name ? files[i].name : "", p, sizeof p, lim.max_depth) <= 0)
			rc = wfail(w, -EINVAL, "bad member name");
		else
			rc = add(w, strdup(p), WK_MEM, &files[i]);
	}
	if (rc == 0 && treefd >= 0) {
		if (arc_path_norm(tree_prefix ? tree_prefix : "", prefix, sizeof prefix,
				  lim.max_depth) <= 0)
			rc = wfail(w, -EINVAL, "a tree needs a prefix");
		w->prefix = prefix;
		if (rc == 0 && (rc = add(w, strdup(prefix), WK_SYNDIR, NULL)) == 0)
			rc = add_tree(w, "", prefix, 0);
	}
	w->cur = NULL;
	if (rc == 0)
		rc = write_all_entries(w, outfd, out);
	wctx_free(w);
	free(w);
	return rc;
}
