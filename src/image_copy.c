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
		if (fstat(e.fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
			close(e.fd);
			return img_fail(w->x, -EAGAIN, "%s: changed while copied", srel);
		}
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
	if ((rc = img_list_dir(dfd, &names, &n)) < 0)
		return img_fail(w->x, rc, "%s: %s", srel, strerror(-rc));
	if (!(cs = malloc(IMG_PATH_MAX)) || !(cd = malloc(IMG_PATH_MAX)))
		rc = -ENOMEM;
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (img_join(cs, IMG_PATH_MAX, strcmp(srel, ".") ? srel : "", names[i]) < 0 ||
		    img_join(cd, IMG_PATH_MAX, dst, names[i]) < 0) {
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
	int chown_set;                 /* --chown given */
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

static int record_cb(void *ctx, const char *path)
{
	return record(ctx, path);
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
/* The new entry under the temp name tmp in pfd: a hardlink to first, a
 * symlink, or a file with data (a heredoc) or e->fd's bytes. */
static int make_tmp(struct writer *wr, const struct ent *e, const char *first, int pfd,
		    const char *tmp, const uint8_t *data, size_t len)
{
	struct timespec ts[2] = { e->st->st_mtim, e->st->st_mtim };
	const char *fb;
	int fd, rc = 0;

	if (first) {
		if ((fd = arc_open_parent(wr->s->rootfd, first, 0, &fb)) < 0)
			return fd;
		rc = linkat(fd, fb, pfd, tmp, 0) < 0 ? -errno : 0;
		close(fd);
		return rc;
	}
	if (e->type == E_LINK) {
		if (symlinkat(e->link, pfd, tmp) < 0 ||
		    fchownat(pfd, tmp, wr->uid, wr->gid, AT_SYMLINK_NOFOLLOW) < 0)
			return -errno;
		utimensat(pfd, tmp, ts, AT_SYMLINK_NOFOLLOW);
		return 0;
	}
	if ((fd = openat(pfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0)
		return -errno;
	rc = data ? util_write_all(fd, data, len) : copy_bytes(e->fd, fd);
	/* owner first: chown clears setuid/setgid bits that chmod then sets */
	if (rc == 0 && (fchown(fd, wr->uid, wr->gid) < 0 || fchmod(fd, mode_of(wr, e->st)) < 0 ||
			futimens(fd, ts) < 0))
		rc = -errno;
	close(fd);
	return rc;
}

/* Puts a new file, symlink or hardlink at dst: made under a temp name in
 * the parent, then renamed over whatever non-directory is there (an existing
 * symlink is replaced, never followed). */
static int place(struct writer *wr, const struct ent *e, const uint8_t *data, size_t len)
{
	const char *base, *first = e->type == E_FILE && !data ? seen_link(wr, e->st) : NULL;
	char tmp[64];
	struct stat sb;
	int pfd, rc;

	if ((pfd = arc_open_parent(wr->s->rootfd, e->dst, 1, &base)) < 0)
		return dst_fail(wr, pfd, e->dst);
	if (fstatat(pfd, base, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(sb.st_mode)) {
		close(pfd);
		return img_fail(wr->x, -EISDIR, "destination /%s is a directory: cannot overwrite "
				"it with a file", e->dst);
	}
	snprintf(tmp, sizeof tmp, ".sbs-cp-%u", wr->x->seq++);
	rc = make_tmp(wr, e, first, pfd, tmp, data, len);
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
	return d->dir ? img_join(out, cap, d->rel, base) : (snprintf(out, cap, "%s", d->rel), 0);
}

static int do_source(struct walker *w, struct img_plan *p, struct img_src *s, const struct dest *d,
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
	if (img_join(p, sizeof p, a->prefix, e->path) < 0)
		return -ENAMETOOLONG;
	return record(a->wr, p);
}

/* ADD --chown also owns what an archive placed (Docker's ChownOpts): the
 * entries recorded from index first on, never through a symlink. */
static int chown_from(struct writer *wr, size_t first)
{
	for (size_t i = first; i < wr->n; i++) {
		const char *base;
		int pfd = arc_open_parent(wr->s->rootfd, wr->own[i], 0, &base), rc = 0;
		if (pfd < 0)
			return dst_fail(wr, pfd, wr->own[i]);
		if (fchownat(pfd, base, wr->uid, wr->gid, AT_SYMLINK_NOFOLLOW) < 0)
			rc = -errno;
		close(pfd);
		if (rc < 0)
			return dst_fail(wr, rc, wr->own[i]);
	}
	return 0;
}

/* 1 if s is a tar, gzip or bzip2 stream that holds a valid tar (extracted
 * into d), 0 if it is to be copied as a file, <0 error. */
static int add_archive(struct writer *wr, struct img_src *s, const struct dest *d)
{
	struct arc_limits lim;
	struct arc_unpack_opts uo = { .lim = &lim, .on_entry = record_entry };
	struct add_rec ar = { .wr = wr, .prefix = d->rel };
	uint8_t head[512];
	uint64_t n = 0;
	char e[400] = "";
	ssize_t k = pread(s->fd, head, sizeof head, 0);
	void *m;
	size_t first = wr->n;
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
	if (rc == 0 && wr->chown_set)
		rc = chown_from(wr, first);
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

static int resolve_dest(struct img_ctx *x, struct img_stage *s, const struct df_inst *ev,
			size_t nsrc, struct dest *d)
{
	const char *raw = ev->argv[ev->argc - 1];
	size_t rl = strlen(raw);
	char abs[IMG_PATH_MAX];
	int fd, rc;

	d->dir = rl == 0 || raw[rl - 1] == '/' || !strcmp(raw, ".") ||
		 (rl >= 2 && !strcmp(raw + rl - 2, "/."));
	if (img_workdir_abs(&s->cfg, raw, abs, sizeof abs) < 0 ||
	    arc_path_norm(abs, d->rel, sizeof d->rel, ARC_MAX_DEPTH) < 0)
		return img_fail(x, -EINVAL, "bad destination \"%.60s\"", raw);
	if (nsrc > 1 && !d->dir)
		return img_fail(x, -EINVAL, "When using %s with more than one source file, the "
				"destination must be a directory and end with a /", df_kw_name(ev->kw));
	if ((rc = img_resolve_in_root(x, s, d->rel, sizeof d->rel)) < 0)
		return rc;
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
		    struct img_plan *p, const struct dest *d, struct writer *wr, const char *text,
		    const struct img_key *key)
{
	struct walker w = { .x = x, .ignore = p->context ? x->ignore : NULL, .visit = write_visit,
			    .ctx = wr };
	char parent[IMG_PATH_MAX], *sl;
	int rc = 0;

	/* missing parents of the destination (and a directory destination
	 * itself unless a directory source makes it) are owned by --chown, as
	 * Docker makes them */
	snprintf(parent, sizeof parent, "%s", d->rel);
	if (!d->dir || (p->n && S_ISDIR(p->v[0].st.st_mode) && !p->v[0].heredoc)) {
		if ((sl = strrchr(parent, '/')))
			*sl = 0;
		else
			parent[0] = 0;
	}
	rc = img_mkdirs(x, s, parent, wr->uid, wr->gid, record_cb, wr);
	for (size_t i = 0; i < p->n && rc == 0; i++) {
		struct img_src *sr = &p->v[i];
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
	struct img_plan p = { .rootfd = x->ctxfd, .context = 1 };
	struct writer wr = { .x = x, .s = s };
	struct hasher hs;
	struct walker w = { .x = x, .visit = hash_visit, .ctx = &hs };
	struct dest d;
	struct img_key key;
	struct buf kb = { 0 };
	int rc;

	wr.chown_set = ev->chown != NULL;
	if ((rc = parse_chmod(x, ev->chmod, &wr.chmod)) < 0 ||
	    (rc = img_resolve_owner(x, s, ev->chown, &wr.uid, &wr.gid)) < 0)
		return rc;
	if (ev->from && (rc = img_source_root(x, s, ev->from, &p)) < 0)
		return rc;
	if ((rc = img_plan_sources(x, ev, &p)) < 0 || (rc = resolve_dest(x, s, ev, p.n, &d)) < 0)
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
	img_plan_free(&p);
	return rc;
}
