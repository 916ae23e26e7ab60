/* SPDX-License-Identifier: MIT */
/*
 * image_copy: COPY and ADD (contract in image.h, rules in docs/image.md).
 *
 * Sources. From the context, a source path is cleaned and must stay inside
 * it ("../x" is refused); it is opened with openat2(RESOLVE_BENEATH |
 * RESOLVE_NO_MAGICLINKS), so a symlink is followed only while it stays
 * inside the context (an absolute symlink, or one that climbs out, is
 * refused with EXDEV; without openat2 every symlink on the way is refused).
 * .dockerignore decides on the real path below the context root (read back
 * from /proc/self/fd). Wildcards follow Go's filepath.Match per path
 * component. From a stage or an image (--from), paths resolve inside that
 * rootfs as in a chroot (RESOLVE_IN_ROOT), which is what Docker does.
 * Inside a copied directory nothing is followed: symlinks are copied as
 * symlinks, and files that share an inode are hardlinked again at the
 * destination.
 *
 * Destination. Written only through *at() calls below the rootfs fd;
 * parents are opened by arc_open_dir/arc_open_parent, which refuse a symlink
 * anywhere on the way (Docker would follow it inside the rootfs; sbs refuses
 * with a clear error, documented). Files are written under a temporary name
 * and renamed into place, so an existing symlink at the final name is
 * replaced, never followed. Owners are 0:0 unless --chown; modes are the
 * source's unless --chmod; mtimes are kept (the layer clamps them).
 *
 * The cache key of a COPY/ADD covers every source byte, name, mode, type and
 * link target (and clamped mtime), so a hit is exact.
 */
#include "image_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cry.h"
#include "util.h"

/* ---- Go's filepath.Match for one component ---- */

/* One class at *pp ("[...]"); 1 if c matches, 0 if not, -EINVAL malformed. */
static int match_class(const char **pp, unsigned char c)
{
	const char *p = *pp + 1;
	int neg = 0, hit = 0, n = 0;

	if (*p == '^') {
		neg = 1;
		p++;
	}
	for (;; n++) {
		unsigned char lo, hi;
		if (*p == ']' && n > 0)
			break;
		if (!*p || *p == '-' || *p == ']')
			return -EINVAL;
		if (*p == '\\' && !*++p)
			return -EINVAL;
		lo = hi = (unsigned char)*p++;
		if (*p == '-') {
			if (!*++p || *p == ']')
				return -EINVAL;
			if (*p == '\\' && !*++p)
				return -EINVAL;
			hi = (unsigned char)*p++;
			if (hi < lo)
				return -EINVAL;
		}
		if (lo <= c && c <= hi)
			hit = 1;
	}
	*pp = p + 1;
	return hit ^ neg;
}

/* Checks the whole pattern's syntax (Go reports bad patterns even after a
 * mismatch). */
static int pattern_ok(const char *p)
{
	while (*p) {
		if (*p == '\\') {
			if (!*++p)
				return 0;
			p++;
		} else if (*p == '[') {
			if (match_class(&p, 0) < 0)
				return 0;
		} else {
			p++;
		}
	}
	return 1;
}

int img_match(const char *pat, const char *name)
{
	const char *p = pat, *n = name, *star_p = NULL, *star_n = NULL;

	if (!pattern_ok(pat))
		return -EINVAL;
	while (*n) {
		if (*p == '*') {
			star_p = ++p;
			star_n = n;
			continue;
		}
		if (*p == '?' && *n != '/') {
			p++, n++;
			continue;
		}
		if (*p == '[') {
			const char *q = p;
			if (*n != '/' && match_class(&q, (unsigned char)*n) == 1) {
				p = q, n++;
				continue;
			}
		} else if (*p == '\\' ? p[1] == *n : (*p && *p == *n)) {
			p += *p == '\\' ? 2 : 1;
			n++;
			continue;
		}
		if (!star_p || *star_n == '/')
			return 0;
		p = star_p;
		n = ++star_n;
	}
	while (*p == '*')
		p++;
	return *p == 0;
}

static int has_meta(const char *s)
{
	return strpbrk(s, "*?[\\") != NULL;
}

/* ---- opening sources ---- */

struct open_how_ {
	uint64_t flags, mode, resolve;
};
#define R_NO_MAGICLINKS 0x02
#define R_NO_SYMLINKS   0x04
#define R_BENEATH       0x08
#define R_IN_ROOT       0x10

/* rel below rootfd: beneath (context: escapes refused) or in_root (chroot). */
static int open_below(int rootfd, const char *rel, int beneath)
{
	struct open_how_ how = {
		.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
		.resolve = R_NO_MAGICLINKS | (beneath ? R_BENEATH : R_IN_ROOT),
	};
	const char *base;
	long fd = -1;
	int pfd;

#ifdef SYS_openat2
	fd = syscall(SYS_openat2, rootfd, *rel ? rel : ".", &how, sizeof how);
	if (fd >= 0)
		return (int)fd;
	if (errno != ENOSYS && errno != EPERM)
		return -errno;
#endif
	/* no openat2: no symlink followed at all */
	if (!*rel)
		return openat(rootfd, ".", (int)how.flags | O_DIRECTORY);
	if ((pfd = arc_open_parent(rootfd, rel, 0, &base)) < 0)
		return pfd;
	fd = openat(pfd, base, (int)how.flags | O_NOFOLLOW);
	if (fd < 0)
		fd = -errno;
	close(pfd);
	return (int)fd;
}

/* ---- the walk over one source ---- */

enum { E_FILE = 1, E_DIR, E_LINK };

struct ent {
	int type;
	const struct stat *st;
	int fd;                        /* E_FILE: open for reading */
	const char *link;              /* E_LINK: target */
	const char *dst;               /* normalised, relative to the rootfs */
	int post;                      /* E_DIR: after its children */
};

struct walker {
	struct img_ctx *x;
	const struct di_rules *ignore; /* NULL: none (stages, images) */
	int (*visit)(struct walker *w, const struct ent *e);
	void *ctx;
	uint64_t count;
};

static int join(char *out, size_t cap, const char *a, const char *b)
{
	int n = *a ? snprintf(out, cap, "%s/%s", a, b) : snprintf(out, cap, "%s", b);

	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names of a directory, sorted (the walk order is part of the cache key). */
static int list_dir(int dfd, char ***out, size_t *n)
{
	int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	size_t cap = 0;
	char **v = NULL;

	*n = 0;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (*n == cap) {
			char **nv = realloc(v, (cap = cap ? cap * 2 : 32) * sizeof *v);
			if (!nv)
				goto nomem;
			v = nv;
		}
		if (!(v[*n] = strdup(de->d_name)))
			goto nomem;
		(*n)++;
	}
	closedir(d);
	qsort(v, *n, sizeof *v, cmp_name);
	*out = v;
	return 0;
nomem:
	closedir(d);
	for (size_t i = 0; i < *n; i++)
		free(v[i]);
	free(v);
	return -ENOMEM;
}

static int walk_tree(struct walker *w, int dfd, const char *srel, const char *dst, unsigned depth);

static int walk_one(struct walker *w, int dfd, const char *name, const char *srel,
		    const char *dst, unsigned depth)
{
	struct stat sb;
	struct ent e = { .st = &sb, .fd = -1, .dst = dst };
	char link[ARC_MAX_LINK + 1];
	int rc = 0, m = DI_INCLUDE;

	if (fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
		return img_fail(w->x, -errno, "%s: %s", srel, strerror(errno));
	if (w->ignore && (m = di_match(w->ignore, srel, strlen(srel), S_ISDIR(sb.st_mode))) < 0)
		return img_fail(w->x, m, "%s: bad path for .dockerignore", srel);
	if (m == DI_PRUNE || (m == DI_EXCLUDE && !S_ISDIR(sb.st_mode)))
		return 0;
	if (++w->count > IMG_MAX_COPY_FILES)
		return img_fail(w->x, -E2BIG, "more than %d files", IMG_MAX_COPY_FILES);
	if (S_ISREG(sb.st_mode)) {
		e.type = E_FILE;
		if ((e.fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)) < 0)
			return img_fail(w->x, -errno, "%s: %s", srel, strerror(errno));
		rc = w->visit(w, &e);
		close(e.fd);
	} else if (S_ISLNK(sb.st_mode)) {
		ssize_t n = readlinkat(dfd, name, link, sizeof link);
		if (n < 0 || (size_t)n >= sizeof link)
			return img_fail(w->x, n < 0 ? -errno : -ENAMETOOLONG, "%s: bad symlink", srel);
		link[n] = 0;
		e.type = E_LINK;
		e.link = link;
		rc = w->visit(w, &e);
	} else if (S_ISDIR(sb.st_mode)) {
		int cfd = openat(dfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (cfd < 0)
			return img_fail(w->x, -errno, "%s: %s", srel, strerror(errno));
		int made = 0;
		e.type = E_DIR;
		if (m == DI_INCLUDE && (rc = w->visit(w, &e)) > 0)
			made = 1, rc = 0;
		if (rc == 0)
			rc = walk_tree(w, cfd, srel, dst, depth + 1);
		e.post = 1;
		if (rc == 0 && made)
			rc = w->visit(w, &e);
		close(cfd);
	} else if (!S_ISSOCK(sb.st_mode)) {
		return img_fail(w->x, -EPERM, "%s: a device or FIFO can not be copied", srel);
	}
	return rc;
}

static int walk_tree(struct walker *w, int dfd, const char *srel, const char *dst, unsigned depth)
{
	char **names = NULL, *cs = NULL, *cd = NULL;
	size_t n = 0;
	int rc;

	if (depth > IMG_MAX_COPY_DEPTH)
		return img_fail(w->x, -ELOOP, "%s: deeper than %d directories", srel,
				IMG_MAX_COPY_DEPTH);
	if ((rc = list_dir(dfd, &names, &n)) < 0)
		return img_fail(w->x, rc, "%s: %s", srel, strerror(-rc));
	if (!(cs = malloc(IMG_PATH_MAX)) || !(cd = malloc(IMG_PATH_MAX)))
		rc = -ENOMEM;
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (join(cs, IMG_PATH_MAX, strcmp(srel, ".") ? srel : "", names[i]) < 0 ||
		    join(cd, IMG_PATH_MAX, dst, names[i]) < 0) {
			rc = img_fail(w->x, -ENAMETOOLONG, "%s/%s: path too long", srel, names[i]);
			break;
		}
		rc = walk_one(w, dfd, names[i], cs, cd, depth);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(cs);
	free(cd);
	return rc;
}

/* ---- sources ---- */

struct src {
	char rel[IMG_PATH_MAX];        /* below the source root, as resolved for ignore */
	char base[256];                /* name at the destination */
	int fd;                        /* O_RDONLY */
	struct stat st;
	int heredoc;                   /* index + 1 of a heredoc source */
};

struct plan {
	int rootfd;                    /* source root: context, stage or image rootfs */
	int context;
	struct src *v;
	size_t n, cap;
};

static void plan_free(struct plan *p)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->v[i].fd >= 0)
			close(p->v[i].fd);
	free(p->v);
}

static struct src *plan_add(struct img_ctx *x, struct plan *p)
{
	if (p->n == p->cap) {
		size_t nc = p->cap ? p->cap * 2 : 8;
		struct src *v;
		if (nc > IMG_MAX_COPY_FILES || !(v = realloc(p->v, nc * sizeof *v))) {
			img_fail(x, -E2BIG, "too many sources");
			return NULL;
		}
		p->v = v;
		p->cap = nc;
	}
	memset(&p->v[p->n], 0, sizeof p->v[0]);
	p->v[p->n].fd = -1;
	return &p->v[p->n++];
}

/* The real path of fd below the context, for .dockerignore. */
static int real_rel(struct img_ctx *x, int fd, char *out, size_t cap)
{
	char proc[64], real[IMG_PATH_MAX];
	size_t cl = strlen(x->ctxreal);
	ssize_t n;

	snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
	if ((n = readlink(proc, real, sizeof real - 1)) < 0)
		return -errno;
	real[n] = 0;
	if (strncmp(real, x->ctxreal, cl) || (real[cl] && real[cl] != '/'))
		return -EXDEV;
	snprintf(out, cap, "%s", real[cl] ? real + cl + 1 : ".");
	return 0;
}

static int add_src(struct img_ctx *x, struct plan *p, const char *rel, const char *shown)
{
	struct src *s;
	const char *slash;
	int fd = open_below(p->rootfd, rel, p->context), m;

	if (fd == -ENOENT || fd == -ENOTDIR)
		return img_fail(x, -ENOENT, "\"%s\": not found%s", shown,
				p->context ? " in the build context" : "");
	if (fd == -EXDEV || fd == -ELOOP)
		return img_fail(x, -EPERM, "\"%s\": a symlink leads out of the build context "
				"(refused)", shown);
	if (fd < 0)
		return img_fail(x, fd, "\"%s\": %s", shown, strerror(-fd));
	if (!(s = plan_add(x, p))) {
		close(fd);
		return -E2BIG;
	}
	s->fd = fd;
	if (fstat(fd, &s->st) < 0)
		return img_fail(x, -errno, "\"%s\": %s", shown, strerror(errno));
	snprintf(s->rel, sizeof s->rel, "%s", *rel ? rel : ".");
	slash = strrchr(rel, '/');
	snprintf(s->base, sizeof s->base, "%s", slash ? slash + 1 : rel);
	if (p->context && x->ignore) {
		if (real_rel(x, fd, s->rel, sizeof s->rel) < 0)
			return img_fail(x, -EPERM, "\"%s\": outside the build context", shown);
		m = di_match(x->ignore, s->rel, strlen(s->rel), S_ISDIR(s->st.st_mode));
		if (m == DI_PRUNE || (m == DI_EXCLUDE && !S_ISDIR(s->st.st_mode)))
			return img_fail(x, -ENOENT, "\"%s\": not found in the build context "
					"(excluded by .dockerignore)", shown);
	}
	return 0;
}

/* Wildcards: component by component, sorted, each match opened as a source. */
static int glob_src(struct img_ctx *x, struct plan *p, const char *dir, const char *pat,
		    const char *shown, size_t *found, unsigned depth)
{
	size_t l = strcspn(pat, "/");
	char comp[256], *next = NULL, **names = NULL;
	size_t n = 0;
	int fd, rc = 0;

	if (l >= sizeof comp || depth > IMG_MAX_COPY_DEPTH)
		return img_fail(x, -ENAMETOOLONG, "\"%s\": pattern too long", shown);
	snprintf(comp, sizeof comp, "%.*s", (int)l, pat);
	if (!has_meta(comp)) {
		char *d = malloc(IMG_PATH_MAX);
		if (!d)
			return -ENOMEM;
		rc = join(d, IMG_PATH_MAX, dir, comp);
		if (rc == 0 && !pat[l]) {
			if ((fd = open_below(p->rootfd, d, p->context)) >= 0) {
				close(fd);
				++*found;
				rc = add_src(x, p, d, shown);
			}
		} else if (rc == 0)
			rc = glob_src(x, p, d, pat + l + 1, shown, found, depth + 1);
		free(d);
		return rc;
	}
	if (img_match(comp, "") < 0)
		return img_fail(x, -EINVAL, "\"%s\": bad pattern", shown);
	if ((fd = open_below(p->rootfd, dir, p->context)) < 0)
		return 0; /* not a directory: no match below it */
	rc = list_dir(fd, &names, &n);
	close(fd);
	if (rc < 0)
		return 0;
	if (!(next = malloc(IMG_PATH_MAX)))
		rc = -ENOMEM;
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (img_match(comp, names[i]) != 1 || join(next, IMG_PATH_MAX, dir, names[i]) < 0)
			continue;
		if (!pat[l]) {
			int m = DI_INCLUDE;
			struct stat sb;
			if (p->context && x->ignore && fstatat(p->rootfd, next, &sb, AT_SYMLINK_NOFOLLOW) == 0)
				m = di_match(x->ignore, next, strlen(next), S_ISDIR(sb.st_mode));
			if (m == DI_PRUNE || (m == DI_EXCLUDE && !S_ISDIR(sb.st_mode)))
				continue;
			++*found;
			rc = add_src(x, p, next, shown);
		} else {
			rc = glob_src(x, p, next, pat + l + 1, shown, found, depth + 1);
		}
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(next);
	return rc;
}

static int is_url(const char *s)
{
	return !strncasecmp(s, "http://", 7) || !strncasecmp(s, "https://", 8) ||
	       !strncasecmp(s, "git@", 4);
}

static int plan_sources(struct img_ctx *x, const struct df_inst *ev, struct plan *p)
{
	char clean[IMG_PATH_MAX + 2];
	int rc;

	for (size_t i = 0; i + 1 < ev->argc; i++) {
		const char *a = ev->argv[i];
		size_t found = 0, n = strlen(a);
		int hd = -1;
		for (size_t k = 0; k < ev->nhd; k++)
			if (ev->hd[k].arg == (int)i)
				hd = (int)k;
		if (hd >= 0) {
			struct src *s = plan_add(x, p);
			if (!s)
				return -E2BIG;
			s->heredoc = hd + 1;
			snprintf(s->base, sizeof s->base, "%s", ev->hd[hd].name);
			continue;
		}
		if (is_url(a))
			return img_fail(x, -ENOTSUP, "%s from a URL (%.60s) is not supported; "
					"download it in a RUN step", df_kw_name(ev->kw), a);
		while (*a == '/')
			a++, n--;
		if (n > IMG_PATH_MAX - 1)
			return img_fail(x, -ENAMETOOLONG, "source path too long");
		di_clean(a, n, clean);
		if (!strcmp(clean, "..") || !strncmp(clean, "../", 3))
			return img_fail(x, -EPERM, "\"%s\": forbidden path outside the build context",
					ev->argv[i]);
		if (!strcmp(clean, "."))
			clean[0] = 0;
		if (!has_meta(clean)) {
			if ((rc = add_src(x, p, clean, ev->argv[i])) < 0)
				return rc;
			continue;
		}
		if ((rc = glob_src(x, p, "", clean, ev->argv[i], &found, 0)) < 0)
			return rc;
		if (!found)
			return img_fail(x, -ENOENT, "\"%s\": no source files were specified",
					ev->argv[i]);
	}
	return 0;
}

/* ---- writing ---- */

struct hl {
	dev_t dev;
	ino_t ino;
	char *dst;
};

struct writer {
	struct img_ctx *x;
	struct img_stage *s;
	unsigned uid, gid;
	int chmod;                     /* -1: keep */
	struct arc_change *ch;
	char **own;                    /* the paths of ch, owned */
	size_t n, cap;
	struct hl *links;
	size_t nl, lcap;
};

static int record(struct writer *wr, const char *dst)
{
	char *d;

	if (!*dst)
		return 0; /* the root directory itself is never a layer entry */
	if (wr->n == wr->cap) {
		size_t nc = wr->cap ? wr->cap * 2 : 64;
		struct arc_change *v = realloc(wr->ch, nc * sizeof *v);
		char **o;
		if (!v)
			return -ENOMEM;
		wr->ch = v;
		if (!(o = realloc(wr->own, nc * sizeof *o)))
			return -ENOMEM;
		wr->own = o;
		wr->cap = nc;
	}
	if (!(d = strdup(dst)))
		return -ENOMEM;
	wr->own[wr->n] = d;
	wr->ch[wr->n].path = d;
	wr->ch[wr->n++].kind = ARC_ADD;
	return 0;
}

static void writer_free(struct writer *wr)
{
	for (size_t i = 0; i < wr->n; i++)
		free(wr->own[i]);
	for (size_t i = 0; i < wr->nl; i++)
		free(wr->links[i].dst);
	free(wr->ch);
	free(wr->own);
	free(wr->links);
}

static int dst_fail(struct writer *wr, int rc, const char *dst)
{
	if (rc == -ELOOP)
		return img_fail(wr->x, rc, "destination /%s: a symlink is on the way (refused: "
				"sbs never writes through a symlink)", dst);
	return img_fail(wr->x, rc, "destination /%s: %s", dst, strerror(-rc));
}

static unsigned mode_of(const struct writer *wr, const struct stat *st)
{
	return wr->chmod >= 0 ? (unsigned)wr->chmod : (unsigned)(st->st_mode & 07777);
}

static int copy_bytes(int in, int out)
{
	uint8_t buf[128 << 10];
	ssize_t n;
	int rc = 0;

	while (rc == 0 && (n = read(in, buf, sizeof buf)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		rc = n < 0 ? -errno : util_write_all(out, buf, (size_t)n);
	}
	return rc;
}

/* A hardlink to a file this COPY wrote already (same source inode). */
static const char *seen_link(struct writer *wr, const struct stat *st)
{
	for (size_t i = 0; st->st_nlink > 1 && i < wr->nl; i++)
		if (wr->links[i].dev == st->st_dev && wr->links[i].ino == st->st_ino)
			return wr->links[i].dst;
	return NULL;
}

static int remember_link(struct writer *wr, const struct stat *st, const char *dst)
{
	if (st->st_nlink < 2)
		return 0;
	if (wr->nl == wr->lcap) {
		size_t nc = wr->lcap ? wr->lcap * 2 : 16;
		struct hl *v = realloc(wr->links, nc * sizeof *v);
		if (!v)
			return -ENOMEM;
		wr->links = v;
		wr->lcap = nc;
	}
	if (!(wr->links[wr->nl].dst = strdup(dst)))
		return -ENOMEM;
	wr->links[wr->nl].dev = st->st_dev;
	wr->links[wr->nl++].ino = st->st_ino;
	return 0;
}

/* Puts a new file, symlink or hardlink at dst: made under a temp name in
 * the parent, then renamed over whatever non-directory is there. */
static int place(struct writer *wr, const struct ent *e, const uint8_t *data, size_t len)
{
	struct img_ctx *x = wr->x;
	const char *base, *first = e->type == E_FILE && !data ? seen_link(wr, e->st) : NULL;
	char tmp[64];
	struct stat sb;
	int pfd, fd = -1, rc = 0;

	if ((pfd = arc_open_parent(wr->s->rootfd, e->dst, 1, &base)) < 0)
		return dst_fail(wr, pfd, e->dst);
	if (fstatat(pfd, base, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(sb.st_mode)) {
		close(pfd);
		return img_fail(x, -EISDIR, "destination /%s is a directory: cannot overwrite it "
				"with a file", e->dst);
	}
	snprintf(tmp, sizeof tmp, ".sbs-cp-%u", x->seq++);
	if (first) {
		int ffd;
		const char *fb;
		if ((ffd = arc_open_parent(wr->s->rootfd, first, 0, &fb)) < 0)
			rc = ffd;
		else if (linkat(ffd, fb, pfd, tmp, 0) < 0)
			rc = -errno;
		if (ffd >= 0)
			close(ffd);
	} else if (e->type == E_LINK) {
		if (symlinkat(e->link, pfd, tmp) < 0 ||
		    fchownat(pfd, tmp, wr->uid, wr->gid, AT_SYMLINK_NOFOLLOW) < 0)
			rc = -errno;
		if (rc == 0) {
			struct timespec ts[2] = { e->st->st_mtim, e->st->st_mtim };
			utimensat(pfd, tmp, ts, AT_SYMLINK_NOFOLLOW);
		}
	} else {
		fd = openat(pfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0)
			rc = -errno;
		else
			rc = data ? util_write_all(fd, data, len) : copy_bytes(e->fd, fd);
		if (rc == 0 && (fchown(fd, wr->uid, wr->gid) < 0 ||
				fchmod(fd, data ? (wr->chmod >= 0 ? (unsigned)wr->chmod : 0644)
					        : mode_of(wr, e->st)) < 0))
			rc = -errno;
		if (rc == 0) {
			struct timespec ts[2];
			ts[0].tv_sec = ts[1].tv_sec = (time_t)x->o->epoch;
			ts[0].tv_nsec = ts[1].tv_nsec = 0;
			if (!data)
				ts[0] = ts[1] = e->st->st_mtim;
			if (futimens(fd, ts) < 0)
				rc = -errno;
		}
		if (fd >= 0)
			close(fd);
	}
	if (rc == 0 && renameat(pfd, tmp, pfd, base) < 0)
		rc = -errno;
	unlinkat(pfd, tmp, 0); /* gone after the rename, unless base was the same inode */
	close(pfd);
	if (rc < 0)
		return dst_fail(wr, rc, e->dst);
	if (!first && e->type == E_FILE && (rc = remember_link(wr, e->st, e->dst)) < 0)
		return rc;
	return record(wr, e->dst);
}

/* A directory at dst: made if missing (its metadata after the children). */
static int place_dir(struct writer *wr, const struct ent *e)
{
	const char *base;
	struct stat sb;
	int pfd, rc = 0;

	if (!*e->dst)
		return 0; /* the root itself */
	if ((pfd = arc_open_parent(wr->s->rootfd, e->dst, 1, &base)) < 0)
		return dst_fail(wr, pfd, e->dst);
	if (!e->post) {
		/* an existing directory keeps its owner and mode */
		if (fstatat(pfd, base, &sb, AT_SYMLINK_NOFOLLOW) == 0)
			rc = S_ISLNK(sb.st_mode) ? -ELOOP : S_ISDIR(sb.st_mode) ? 0 : -ENOTDIR;
		else if (mkdirat(pfd, base, 0700) < 0)
			rc = -errno;
		else if ((rc = record(wr, e->dst)) == 0)
			rc = 1;
	} else {
		struct timespec ts[2] = { e->st->st_mtim, e->st->st_mtim };
		if (fchownat(pfd, base, wr->uid, wr->gid, AT_SYMLINK_NOFOLLOW) < 0 ||
		    fchmodat(pfd, base, mode_of(wr, e->st), 0) < 0 ||
		    utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW) < 0)
			rc = -errno;
	}
	close(pfd);
	return rc < 0 ? dst_fail(wr, rc, e->dst) : rc;
}

static int write_visit(struct walker *w, const struct ent *e)
{
	struct writer *wr = w->ctx;

	return e->type == E_DIR ? place_dir(wr, e) : place(wr, e, NULL, 0);
}

/* ---- hashing (cache key) ---- */

struct hasher {
	struct cry_sha256 h;
	int64_t epoch;
};

static int hash_visit(struct walker *w, const struct ent *e)
{
	struct hasher *hs = w->ctx;
	char hdr[128];
	int64_t mt = e->st->st_mtim.tv_sec < hs->epoch ? e->st->st_mtim.tv_sec : hs->epoch;
	int n;

	if (e->post)
		return 0;
	n = snprintf(hdr, sizeof hdr, "%d %o %lld %llu %d\n", e->type,
		     (unsigned)(e->st->st_mode & 07777), (long long)mt,
		     (unsigned long long)e->st->st_size, e->st->st_nlink > 1);
	cry_sha256_update(&hs->h, e->dst, strlen(e->dst) + 1);
	cry_sha256_update(&hs->h, hdr, (size_t)n);
	if (e->type == E_LINK)
		cry_sha256_update(&hs->h, e->link, strlen(e->link) + 1);
	if (e->type == E_FILE) {
		uint8_t buf[64 << 10];
		ssize_t k;
		for (off_t off = 0; (k = pread(e->fd, buf, sizeof buf, off)) > 0; off += k)
			cry_sha256_update(&hs->h, buf, (size_t)k);
		if (k < 0)
			return img_fail(w->x, -errno, "/%s: read error", e->dst);
	}
	return 0;
}

/* ---- one source to its destination ---- */

struct dest {
	char rel[IMG_PATH_MAX];        /* normalised below the rootfs ("" = /) */
	int dir;                       /* ends in "/" or is a directory */
};

static int target_of(const struct dest *d, const char *base, char *out, size_t cap)
{
	return d->dir ? join(out, cap, d->rel, base) : (snprintf(out, cap, "%s", d->rel), 0);
}

static int do_source(struct walker *w, struct plan *p, struct src *s, const struct dest *d,
		     const struct df_inst *ev)
{
	char *t = malloc(IMG_PATH_MAX);
	struct ent e = { .st = &s->st, .fd = s->fd };
	int rc = 0;

	if (!t)
		return -ENOMEM;
	if (s->heredoc) {
		const struct df_heredoc *h = &ev->hd[s->heredoc - 1];
		struct stat fake = { .st_mode = S_IFREG | 0644, .st_size = (off_t)h->len };
		fake.st_mtim.tv_sec = (time_t)w->x->o->epoch;
		e.st = &fake;
		e.type = E_FILE;
		if ((rc = target_of(d, s->base, t, IMG_PATH_MAX)) == 0) {
			e.dst = t;
			if (w->visit == write_visit)
				rc = place(w->ctx, &e, (const uint8_t *)h->body, h->len);
			else {
				struct hasher *hs = w->ctx;
				cry_sha256_update(&hs->h, t, strlen(t) + 1);
				cry_sha256_update(&hs->h, h->body, h->len);
			}
		}
	} else if (S_ISDIR(s->st.st_mode)) {
		/* the contents go into the destination directory */
		int made = 0;
		e.type = E_DIR;
		e.dst = d->rel;
		if ((rc = w->visit(w, &e)) > 0)
			made = 1, rc = 0;
		if (rc == 0)
			rc = walk_tree(w, s->fd, s->rel, d->rel, 0);
		e.post = 1;
		if (rc == 0 && made)
			rc = w->visit(w, &e);
	} else if (S_ISREG(s->st.st_mode)) {
		e.type = E_FILE;
		if ((rc = target_of(d, s->base, t, IMG_PATH_MAX)) == 0) {
			e.dst = t;
			lseek(s->fd, 0, SEEK_SET);
			rc = w->visit(w, &e);
		}
	} else {
		rc = img_fail(w->x, -EPERM, "\"%s\": not a regular file or directory", s->rel);
	}
	(void)p;
	free(t);
	return rc;
}

/* ---- ADD's local archives ---- */

static int count_entry(void *ctx, const struct arc_entry_info *e)
{
	(void)e;
	++*(uint64_t *)ctx;
	return 0;
}

struct add_rec {
	struct writer *wr;
	const char *prefix;
};

static int record_entry(void *ctx, const struct arc_entry_info *e)
{
	struct add_rec *a = ctx;
	char p[IMG_PATH_MAX];

	if (!*e->path)
		return *a->prefix ? record(a->wr, a->prefix) : 0;
	if (join(p, sizeof p, a->prefix, e->path) < 0)
		return -ENAMETOOLONG;
	return record(a->wr, p);
}

/* 1 if s is a tar, gzip or bzip2 stream that holds a valid tar (extracted
 * into d), 0 if it is to be copied as a file, <0 error. */
static int add_archive(struct writer *wr, struct src *s, const struct dest *d)
{
	struct arc_limits lim;
	struct arc_unpack_opts uo = { .lim = &lim, .on_entry = record_entry };
	struct add_rec ar = { .wr = wr, .prefix = d->rel };
	uint8_t head[512];
	uint64_t n = 0;
	char e[400] = "";
	ssize_t k = pread(s->fd, head, sizeof head, 0);
	void *m;
	int fd, rc;

	if (k < 6 || s->st.st_size <= 0)
		return 0;
	if (!memcmp(head, "\xfd" "7zXZ", 6))
		return img_fail(wr->x, -ENOTSUP, "ADD: \"%s\": xz archives are not supported", s->rel);
	if (memcmp(head, "\x1f\x8b", 2) && memcmp(head, "BZh", 3) &&
	    (k < 262 || memcmp(head + 257, "ustar", 5)))
		return 0;
	m = mmap(NULL, (size_t)s->st.st_size, PROT_READ, MAP_PRIVATE, s->fd, 0);
	if (m == MAP_FAILED)
		return img_fail(wr->x, -errno, "ADD: \"%s\": %s", s->rel, strerror(errno));
	arc_limits_layer(&lim);
	if (arc_tbz_list(m, (size_t)s->st.st_size, &lim, count_entry, &n, e, sizeof e) < 0) {
		munmap(m, (size_t)s->st.st_size);
		return 0; /* not a tar: copied as it is, like Docker */
	}
	uo.ctx = &ar;
	uo.flags = ARC_U_NO_WHITEOUT | (geteuid() == 0 ? ARC_U_CHOWN : 0);
	if ((fd = arc_open_dir(wr->s->rootfd, d->rel, 1)) < 0)
		rc = dst_fail(wr, fd, d->rel);
	else if ((rc = record(wr, d->rel)) == 0 && (rc = arc_unpack_layer(m, (size_t)s->st.st_size, fd,
								    &uo, NULL, e, sizeof e)) < 0)
		rc = img_fail(wr->x, rc, "ADD: \"%s\": %s", s->rel, e);
	if (fd >= 0)
		close(fd);
	munmap(m, (size_t)s->st.st_size);
	return rc < 0 ? rc : 1;
}

/* ---- the instruction ---- */

static int parse_chmod(struct img_ctx *x, const char *s, int *out)
{
	uint64_t v = 0;

	*out = -1;
	if (!s)
		return 0;
	if (!*s || strlen(s) > 4)
		return img_fail(x, -EINVAL, "--chmod=%.20s: want an octal mode", s);
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '7')
			return img_fail(x, -EINVAL, "--chmod=%.20s: want an octal mode", s);
		v = v * 8 + (uint64_t)(*p - '0');
	}
	*out = (int)v;
	return 0;
}

static int source_root(struct img_ctx *x, struct img_stage *s, const char *from, struct plan *p)
{
	struct img_pulled *pl;
	size_t cur = (size_t)(s - x->stages);
	uint64_t idx;
	int rc;

	p->context = 0;
	for (size_t i = 0; i < cur; i++)
		if (x->stages[i].name[0] && !strcasecmp(x->stages[i].name, from))
			return p->rootfd = x->stages[i].rootfd, 0;
	if (util_parse_u64(from, strlen(from), 1000, &idx) == 0) {
		if (idx >= cur)
			return img_fail(x, -EINVAL, "--from=%s: no such earlier stage", from);
		return p->rootfd = x->stages[idx].rootfd, 0;
	}
	for (size_t i = 0; i < x->npulled; i++)
		if (!strcmp(x->pulled[i].ref, from))
			return p->rootfd = x->pulled[i].st.rootfd, 0;
	if (x->npulled == IMG_MAX_STAGES)
		return img_fail(x, -E2BIG, "more than %d --from images", IMG_MAX_STAGES);
	pl = &x->pulled[x->npulled];
	memset(pl, 0, sizeof *pl);
	pl->st.rootfd = -1;
	x->npulled++;
	snprintf(pl->ref, sizeof pl->ref, "%s", from);
	snprintf(pl->st.os, sizeof pl->st.os, "%s", s->os);
	snprintf(pl->st.arch, sizeof pl->st.arch, "%s", s->arch);
	if ((rc = img_make_root(x, &pl->st, "from", x->npulled - 1)) < 0 ||
	    (rc = img_fill_stage(x, &pl->st, from)) < 0)
		return rc;
	p->rootfd = pl->st.rootfd;
	return 0;
}

static int resolve_dest(struct img_ctx *x, struct img_stage *s, const struct df_inst *ev,
			size_t nsrc, struct dest *d)
{
	const char *raw = ev->argv[ev->argc - 1];
	size_t rl = strlen(raw);
	char abs[IMG_PATH_MAX];
	int fd;

	d->dir = rl == 0 || raw[rl - 1] == '/' || !strcmp(raw, ".") ||
		 (rl >= 2 && !strcmp(raw + rl - 2, "/."));
	if (img_workdir_abs(&s->cfg, raw, abs, sizeof abs) < 0 ||
	    arc_path_norm(abs, d->rel, sizeof d->rel, ARC_MAX_DEPTH) < 0)
		return img_fail(x, -EINVAL, "bad destination \"%.60s\"", raw);
	if (nsrc > 1 && !d->dir)
		return img_fail(x, -EINVAL, "When using %s with more than one source file, the "
				"destination must be a directory and end with a /", df_kw_name(ev->kw));
	fd = arc_open_dir(s->rootfd, d->rel, 0);
	if (fd >= 0) {
		d->dir = 1;
		close(fd);
	} else if (fd == -ELOOP) {
		return img_fail(x, fd, "destination %s: a symlink is on the way (refused: sbs "
				"never writes through a symlink)", abs);
	}
	return 0;
}

static int copy_all(struct img_ctx *x, struct img_stage *s, const struct df_inst *ev,
		    struct plan *p, const struct dest *d, struct writer *wr, const char *text,
		    const struct img_key *key)
{
	struct walker w = { .x = x, .ignore = p->context ? x->ignore : NULL, .visit = write_visit,
			    .ctx = wr };
	int rc = 0;

	for (size_t i = 0; i < p->n && rc == 0; i++) {
		struct src *sr = &p->v[i];
		if (ev->kw == DF_ADD && !sr->heredoc && S_ISREG(sr->st.st_mode) &&
		    (rc = add_archive(wr, sr, d)) != 0)
			continue;
		rc = do_source(&w, p, sr, d, ev);
	}
	if (rc < 0)
		return rc;
	return img_commit(x, s, wr->ch, wr->n, text, key);
}

int img_copy(struct img_ctx *x, struct img_stage *s, const struct df_inst *ev,
	     const char *text)
{
	struct plan p = { .rootfd = x->ctxfd, .context = 1 };
	struct writer wr = { .x = x, .s = s };
	struct hasher hs;
	struct walker w = { .x = x, .visit = hash_visit, .ctx = &hs };
	struct dest d;
	struct img_key key;
	struct buf kb = { 0 };
	int rc;

	if ((rc = parse_chmod(x, ev->chmod, &wr.chmod)) < 0 ||
	    (rc = img_resolve_owner(x, s, ev->chown, &wr.uid, &wr.gid)) < 0)
		return rc;
	if (ev->from && (rc = source_root(x, s, ev->from, &p)) < 0)
		return rc;
	if ((rc = plan_sources(x, ev, &p)) < 0 || (rc = resolve_dest(x, s, ev, p.n, &d)) < 0)
		goto out;
	/* the cache key: instruction, owner, mode, dest, then every source byte */
	cry_sha256_init(&hs.h);
	hs.epoch = x->o->epoch;
	w.ignore = p.context ? x->ignore : NULL;
	for (size_t i = 0; i < p.n && rc == 0; i++)
		rc = do_source(&w, &p, &p.v[i], &d, ev);
	if (rc < 0 || (rc = img_inst_key(ev, &kb)) < 0 ||
	    (rc = buf_printf(&kb, "owner %u:%u mode %d dest %s %d\n", wr.uid, wr.gid, wr.chmod,
			     d.rel, d.dir)) < 0)
		goto out;
	{
		uint8_t h[32];
		cry_sha256_final(&hs.h, h);
		if ((rc = buf_append(&kb, h, 32)) < 0)
			goto out;
	}
	img_cache_key(s, x->o, df_kw_name(ev->kw), kb.data, kb.len, &key);
	if ((rc = img_cache_apply(x, s, &key, text)) != 0) {
		rc = rc < 0 ? rc : 0;
		goto out;
	}
	rc = copy_all(x, s, ev, &p, &d, &wr, text, &key);
out:
	buf_free(&kb);
	writer_free(&wr);
	plan_free(&p);
	return rc;
}
