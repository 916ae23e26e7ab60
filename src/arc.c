/* SPDX-License-Identifier: MIT */
/*
 * arc: the libarchive adapter (the only file that includes its headers) and
 * the safe extraction of untrusted tar streams into a root directory: name
 * normalisation, symlink-free parent resolution (openat2 or an O_NOFOLLOW
 * walk), temp-name-and-rename for every non-directory, OCI whiteouts, and
 * every limit checked before the disk is touched. Contract in arc.h; rules in
 * docs/layers.md.
 */
#include "arc.h"

#include <archive.h>
#include <archive_entry.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "limits.h"

void arc_limits_layer(struct arc_limits *l)
{
	l->max_entries = ARC_MAX_ENTRIES;
	l->max_total = ARC_MAX_TOTAL;
	l->max_file = ARC_MAX_FILE;
	l->max_path = ARC_MAX_PATH;
	l->max_link = ARC_MAX_LINK;
	l->max_depth = ARC_MAX_DEPTH;
}

void arc_limits_tbz(struct arc_limits *l)
{
	arc_limits_layer(l);
	l->max_entries = ARC_TBZ_MAX_ENTRIES;
	l->max_total = ARC_TBZ_MAX_TOTAL;
	l->max_file = ARC_TBZ_MAX_FILE;
}

/* ---- names ---- */

int arc_path_norm(const char *in, char *out, size_t cap, uint64_t max_depth)
{
	size_t o = 0;
	uint64_t depth = 0;

	if (cap == 0)
		return -ENAMETOOLONG;
	while (*in) {
		const char *c = in;
		size_t n;

		while (*c == '/')
			c++;
		n = strcspn(c, "/");
		in = c + n;
		if (n == 0 || (n == 1 && c[0] == '.'))
			continue;
		if (n == 2 && c[0] == '.' && c[1] == '.') {
			if (depth == 0)
				return -EPERM;
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--;        /* the separator */
			depth--;
			continue;
		}
		if (n > 255 + 4)        /* NAME_MAX, plus ".wh." of a whiteout */
			return -ENAMETOOLONG;
		if (++depth > max_depth)
			return -EMLINK;
		if (o + (o > 0) + n + 1 > cap)
			return -ENAMETOOLONG;
		if (o > 0)
			out[o++] = '/';
		memcpy(out + o, c, n);
		o += n;
	}
	out[o] = 0;
	return (int)(depth > 0x7fffffff ? 0x7fffffff : depth);
}

/* ---- resolution below the root ---- */

/* struct open_how and the RESOLVE_* flags (linux/openat2.h), defined here
 * because musl's headers do not carry them. */
struct arc_open_how {
	uint64_t flags, mode, resolve;
};
#define ARC_RESOLVE_NO_MAGICLINKS 0x02
#define ARC_RESOLVE_NO_SYMLINKS   0x04
#define ARC_RESOLVE_IN_ROOT       0x10

static int have_openat2 = 1;  /* cleared for good at the first ENOSYS */

/* openat2 as above; -ENOSYS when the kernel (or qemu-user, or seccomp) lacks it. */
static int try_openat2(int rootfd, const char *path, int flags)
{
#ifdef SYS_openat2
	struct arc_open_how how = {
		.flags = (uint64_t)(unsigned)flags,
		.resolve = ARC_RESOLVE_IN_ROOT | ARC_RESOLVE_NO_MAGICLINKS | ARC_RESOLVE_NO_SYMLINKS,
	};
	long fd;

	if (!have_openat2)
		return -ENOSYS;
	fd = syscall(SYS_openat2, rootfd, path, &how, sizeof how);
	if (fd >= 0)
		return (int)fd;
	if (errno == ENOSYS || errno == E2BIG || errno == EPERM) {
		have_openat2 = 0;
		return -ENOSYS;
	}
	return -errno;
#else
	(void)rootfd, (void)path, (void)flags;
	return -ENOSYS;
#endif
}

/* One component below dfd as an O_PATH directory, never through a symlink. */
static int open_comp(int dfd, const char *name, int create)
{
	struct stat sb;
	int fd;

	for (int tries = 0; tries < 2; tries++) {
		fd = openat(dfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0)
			return fd;
		if (errno == ENOENT && create && tries == 0) {
			if (mkdirat(dfd, name, 0755) < 0 && errno != EEXIST)
				return -errno;
			continue;
		}
		if (errno == ENOTDIR || errno == ELOOP) {
			if (fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(sb.st_mode))
				return -ELOOP;
			return -ENOTDIR;
		}
		return -errno;
	}
	return -ENOENT;
}

static int walk_dir(int rootfd, const char *dir, int create)
{
	char comp[256];
	int fd = openat(rootfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while (*dir) {
		size_t n = strcspn(dir, "/");
		int nfd;

		if (n == 0 || n >= sizeof comp) {
			close(fd);
			return n ? -ENAMETOOLONG : -EINVAL;
		}
		memcpy(comp, dir, n);
		comp[n] = 0;
		dir += n + (dir[n] == '/');
		nfd = open_comp(fd, comp, create);
		close(fd);
		if (nfd < 0)
			return nfd;
		fd = nfd;
	}
	return fd;
}

int arc_open_dir(int rootfd, const char *dir, int create)
{
	int fd = try_openat2(rootfd, *dir ? dir : ".", O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0 || (fd != -ENOSYS && !(fd == -ENOENT && create) && fd != -ENOTDIR))
		return fd;
	/* the walk also tells a symlink (-ELOOP) from a file (-ENOTDIR) */
	return walk_dir(rootfd, dir, create);
}

int arc_open_parent(int rootfd, const char *path, int create, const char **base)
{
	const char *slash = strrchr(path, '/');
	char dir[ARC_MAX_PATH + 1];
	size_t n;

	if (!*path)
		return -EINVAL;
	if (!slash) {
		*base = path;
		return arc_open_dir(rootfd, "", 0);
	}
	n = (size_t)(slash - path);
	if (n >= sizeof dir)
		return -ENAMETOOLONG;
	memcpy(dir, path, n);
	dir[n] = 0;
	*base = slash + 1;
	return arc_open_dir(rootfd, dir, create);
}

/* ---- removal ---- */

/* Names in an open directory, read before anything is deleted. */
static int list_dir(int fd, char ***names, size_t *count)
{
	int dfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	DIR *d;
	struct dirent *e;
	size_t n = 0, cap = 0;
	char **v = NULL;
	int rc = 0;

	if (dfd < 0)
		return -errno;
	if (!(d = fdopendir(dfd))) {
		close(dfd);
		return -errno;
	}
	while ((e = readdir(d)) != NULL) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (n == cap) {
			char **nv = realloc(v, (cap = cap ? cap * 2 : 32) * sizeof *v);
			if (!nv) {
				rc = -ENOMEM;
				break;
			}
			v = nv;
		}
		if (!(v[n] = strdup(e->d_name))) {
			rc = -ENOMEM;
			break;
		}
		n++;
	}
	closedir(d);
	*names = v;
	*count = n;
	return rc;
}

static void free_names(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* A directory below dfd opened for reading and made owner-rwx if needed. */
static int open_for_rm(int dfd, const char *name, const struct stat *sb)
{
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0 && errno == EACCES && fchmodat(dfd, name, 0700, 0) == 0)
		fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if ((sb->st_mode & 0700) != 0700)
		(void)fchmod(fd, (sb->st_mode & 07777) | 0700);
	return fd;
}

static int rm_at(int dfd, const char *name, unsigned depth);

static int rm_children(int fd, unsigned depth)
{
	char **names = NULL;
	size_t n = 0;
	int rc = list_dir(fd, &names, &n);

	for (size_t i = 0; i < n && rc == 0; i++)
		rc = rm_at(fd, names[i], depth + 1);
	free_names(names, n);
	return rc;
}

static int rm_at(int dfd, const char *name, unsigned depth)
{
	struct stat sb;
	int fd, rc;

	if (fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(sb.st_mode))
		return unlinkat(dfd, name, 0) < 0 && errno != ENOENT ? -errno : 0;
	if (depth >= ARC_RM_DEPTH)
		return -ELOOP;
	if ((fd = open_for_rm(dfd, name, &sb)) < 0)
		return fd;
	rc = rm_children(fd, depth);
	close(fd);
	if (rc == 0 && unlinkat(dfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		rc = -errno;
	return rc;
}

int arc_remove_tree(int dirfd, const char *name)
{
	return rm_at(dirfd, name, 0);
}

/* ---- the set of names this layer has placed (and their ancestors) ---- */

struct pset {
	char **slot;
	size_t cap, used;
};

static uint64_t fnv(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)s[i]) * 1099511628211ull;
	return h;
}

static char **pset_find(const struct pset *s, const char *p, size_t n)
{
	size_t i = (size_t)fnv(p, n) & (s->cap - 1);

	while (s->slot[i]) {
		if (strlen(s->slot[i]) == n && !memcmp(s->slot[i], p, n))
			return &s->slot[i];
		i = (i + 1) & (s->cap - 1);
	}
	return &s->slot[i];
}

static int pset_has(const struct pset *s, const char *p, size_t n)
{
	return s->cap && *pset_find(s, p, n) != NULL;
}

static int pset_grow(struct pset *s)
{
	struct pset ns = { .cap = s->cap ? s->cap * 2 : 1024 };

	if (!(ns.slot = calloc(ns.cap, sizeof *ns.slot)))
		return -ENOMEM;
	for (size_t i = 0; i < s->cap; i++)
		if (s->slot[i])
			*pset_find(&ns, s->slot[i], strlen(s->slot[i])) = s->slot[i];
	ns.used = s->used;
	free(s->slot);
	*s = ns;
	return 0;
}

/* Adds path and every ancestor (stops at the first one already present). */
static int pset_add_path(struct pset *s, const char *p)
{
	size_t n = strlen(p);

	while (n > 0) {
		char **slot;
		if ((s->used + 1) * 2 > s->cap && pset_grow(s) < 0)
			return -ENOMEM;
		slot = pset_find(s, p, n);
		if (*slot)
			return 0;
		if (!(*slot = strndup(p, n)))
			return -ENOMEM;
		s->used++;
		while (n > 0 && p[n - 1] != '/')
			n--;
		if (n > 0)
			n--;
	}
	return 0;
}

static void pset_free(struct pset *s)
{
	for (size_t i = 0; i < s->cap; i++)
		free(s->slot[i]);
	free(s->slot);
	memset(s, 0, sizeof *s);
}

/* ---- the unpack context ---- */

struct dirmeta {
	char *path;
	size_t order;
	uint32_t mode;
	int64_t uid, gid;
	struct timespec mtime;
};

struct ux {
	struct archive *a;
	int rootfd, chown_ok;
	unsigned flags;
	struct arc_limits lim;
	struct arc_stats *st;
	uint64_t declared;            /* sum of declared file sizes */
	uint64_t data_blocks;         /* the same, in 512-byte blocks, as bytes */
	struct pset mine;
	struct dirmeta *dirs;
	size_t ndirs, capdirs;
	arc_entry_fn on_entry;
	void *ctx;
	char *err;
	size_t errcap;
	const char *raw;              /* the current entry's name as stored */
	char path[ARC_MAX_PATH + 1];
	char link[ARC_MAX_PATH + 1];
	uint8_t *iobuf;
	arc_read_fn rd;
	void *rctx;
};

/* err = "entry N "name": why" with the name's control bytes escaped. */
static int fail(struct ux *u, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct ux *u, int rc, const char *fmt, ...)
{
	char why[256], name[160];
	size_t o = 0;
	va_list ap;

	if (!u->err || !u->errcap)
		return rc;
	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	for (const char *s = u->raw ? u->raw : ""; *s && o + 5 < sizeof name; s++) {
		unsigned char c = (unsigned char)*s;
		if (c < 0x20 || c == 0x7f || c == '"' || c == '\\')
			o += (size_t)snprintf(name + o, sizeof name - o, "\\x%02x", c);
		else
			name[o++] = (char)c;
	}
	name[o] = 0;
	if (!u->raw) {
		snprintf(u->err, u->errcap, "%s%s", u->st->entries ? "after the last entry: " : "", why);
		return rc;
	}
	snprintf(u->err, u->errcap, "entry %llu \"%s%s\": %s",
		 (unsigned long long)(u->st->entries ? u->st->entries - 1 : 0), name,
		 (u->raw && o < strlen(u->raw)) ? "..." : "", why);
	return rc;
}

static const char *res_why(int rc)
{
	switch (rc) {
	case -ELOOP: return "symlink in path (refused: nothing is written through a symlink)";
	case -ENOTDIR: return "a parent in the path is not a directory";
	case -ENOENT: return "parent directory missing";
	default: return strerror(-rc);
	}
}

static int set_times(int fd, const char *name, const struct timespec *mt, int flags)
{
	struct timespec ts[2] = { { .tv_nsec = UTIME_OMIT }, *mt };
	return utimensat(fd, name, ts, flags) < 0 ? -errno : 0;
}

static struct timespec entry_mtime(struct archive_entry *e)
{
	struct timespec t = { .tv_nsec = UTIME_OMIT };

	if (archive_entry_mtime_is_set(e)) {
		t.tv_sec = archive_entry_mtime(e);
		t.tv_nsec = archive_entry_mtime_nsec(e);
		if (t.tv_nsec < 0 || t.tv_nsec > 999999999)
			t.tv_nsec = 0;
	}
	return t;
}

static uint32_t entry_mode(const struct ux *u, struct archive_entry *e)
{
	uint32_t m = (uint32_t)archive_entry_perm(e) & 07777;
	return (u->flags & ARC_U_KEEP_SETID) ? m : (m & ~(uint32_t)06000);
}

/* Makes room for a new entry called base in pfd: an existing directory is
 * kept if the new entry is a directory (returns 1) and removed otherwise;
 * an existing non-directory is unlinked before a directory, and left for
 * rename() to replace atomically before anything else. */
static int make_room(int pfd, const char *base, int new_is_dir)
{
	struct stat sb;

	if (fstatat(pfd, base, &sb, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (S_ISDIR(sb.st_mode))
		return new_is_dir ? 1 : arc_remove_tree(pfd, base);
	if (new_is_dir && unlinkat(pfd, base, 0) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

/* A fresh temporary name in pfd, created by mk (0 or -errno, -EEXIST to retry). */
typedef int (*mk_fn)(struct ux *u, int pfd, const char *tmp, void *arg);

static int place(struct ux *u, int pfd, const char *base, mk_fn mk, void *arg)
{
	char tmp[48];
	int rc;

	for (unsigned i = 0; i < 64; i++) {
		snprintf(tmp, sizeof tmp, ".sbs-tmp-%llu-%u",
			 (unsigned long long)u->st->entries, i);
		rc = mk(u, pfd, tmp, arg);
		if (rc == -EEXIST)
			continue;
		if (rc < 0) {
			(void)unlinkat(pfd, tmp, 0);
			return rc;
		}
		if ((rc = make_room(pfd, base, 0)) < 0 || renameat(pfd, tmp, pfd, base) < 0) {
			rc = rc < 0 ? rc : -errno;
			(void)unlinkat(pfd, tmp, 0);
			return rc;
		}
		/* rename() of two links to one inode does nothing: drop the temp */
		(void)unlinkat(pfd, tmp, 0);
		return 0;
	}
	return -EEXIST;
}

static int write_all_at(int fd, const uint8_t *p, size_t n, int64_t off)
{
	while (n > 0) {
		ssize_t w = pwrite(fd, p, n, (off_t)off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
		off += w;
	}
	return 0;
}

struct file_arg {
	struct archive_entry *e;
	uint64_t size;
};

static int mk_file(struct ux *u, int pfd, const char *tmp, void *arg)
{
	struct file_arg *fa = arg;
	struct timespec mt = entry_mtime(fa->e), ts[2] = { { .tv_nsec = UTIME_OMIT }, mt };
	const void *buf;
	size_t len;
	la_int64_t off;
	int fd, rc = 0, r;

	fd = openat(pfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	while ((r = archive_read_data_block(u->a, &buf, &len, &off)) == ARCHIVE_OK ||
	       r == ARCHIVE_WARN) {
		if (off < 0 || (uint64_t)off > fa->size || len > fa->size - (uint64_t)off) {
			rc = fail(u, -EBADMSG, "data beyond the entry's size");
			goto out;
		}
		if ((rc = write_all_at(fd, buf, len, off)) < 0)
			goto out;
		u->st->bytes += len;
	}
	if (r != ARCHIVE_EOF) {
		rc = fail(u, -EBADMSG, "malformed archive: %s", archive_error_string(u->a));
		goto out;
	}
	if (ftruncate(fd, (off_t)fa->size) < 0 || fchmod(fd, entry_mode(u, fa->e)) < 0)
		rc = -errno;
	else if (u->chown_ok && fchown(fd, (uid_t)archive_entry_uid(fa->e),
				       (gid_t)archive_entry_gid(fa->e)) < 0)
		rc = -errno;
	else if (futimens(fd, ts) < 0)
		rc = -errno;
out:
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	return rc;
}

static int mk_symlink(struct ux *u, int pfd, const char *tmp, void *arg)
{
	struct archive_entry *e = arg;
	struct timespec mt = entry_mtime(e);

	if (symlinkat(u->link, pfd, tmp) < 0)
		return -errno;
	if (u->chown_ok && fchownat(pfd, tmp, (uid_t)archive_entry_uid(e),
				    (gid_t)archive_entry_gid(e), AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	return set_times(pfd, tmp, &mt, AT_SYMLINK_NOFOLLOW);
}

static int mk_hardlink(struct ux *u, int pfd, const char *tmp, void *arg)
{
	const int *tgt = arg;   /* [0] parent fd of the target, [1] offset of its base in u->link */

	return linkat(tgt[0], u->link + tgt[1], pfd, tmp, 0) < 0 ? -errno : 0;
}

/* ---- one entry of each kind ---- */

static int add_dirmeta(struct ux *u, struct archive_entry *e)
{
	struct dirmeta *d;

	if (u->ndirs == u->capdirs) {
		size_t nc = u->capdirs ? u->capdirs * 2 : 256;
		struct dirmeta *nd = realloc(u->dirs, nc * sizeof *nd);
		if (!nd)
			return -ENOMEM;
		u->dirs = nd;
		u->capdirs = nc;
	}
	d = &u->dirs[u->ndirs];
	if (!(d->path = strdup(u->path)))
		return -ENOMEM;
	d->order = u->ndirs++;
	d->mode = entry_mode(u, e);
	d->uid = archive_entry_uid(e);
	d->gid = archive_entry_gid(e);
	d->mtime = entry_mtime(e);
	return 0;
}

static int do_dir(struct ux *u, struct archive_entry *e)
{
	const char *base;
	int pfd, rc;

	if (!*u->path)
		return 0;   /* the root itself: its fd belongs to the caller */
	if ((pfd = arc_open_parent(u->rootfd, u->path, 1, &base)) < 0)
		return fail(u, pfd, "%s", res_why(pfd));
	rc = make_room(pfd, base, 1);
	if (rc == 0 && mkdirat(pfd, base, 0700) < 0)
		rc = -errno;
	close(pfd);
	if (rc < 0)
		return fail(u, rc, "mkdir: %s", strerror(-rc));
	u->st->dirs++;
	return add_dirmeta(u, e);
}

static int do_file(struct ux *u, struct archive_entry *e, uint64_t size)
{
	struct file_arg fa = { e, size };
	const char *base;
	int pfd, rc;

	if ((pfd = arc_open_parent(u->rootfd, u->path, 1, &base)) < 0)
		return fail(u, pfd, "%s", res_why(pfd));
	rc = place(u, pfd, base, mk_file, &fa);
	close(pfd);
	if (rc < 0)
		return u->err && *u->err ? rc : fail(u, rc, "write: %s", strerror(-rc));
	u->st->files++;
	return 0;
}

static int do_symlink(struct ux *u, struct archive_entry *e)
{
	const char *t = archive_entry_symlink(e), *base;
	size_t n = t ? strlen(t) : 0;
	int pfd, rc;

	if (n == 0)
		return fail(u, -EINVAL, "empty symlink target");
	if (n > u->lim.max_link || n >= sizeof u->link)
		return fail(u, -ENAMETOOLONG, "symlink target too long (limit %llu)",
			    (unsigned long long)u->lim.max_link);
	memcpy(u->link, t, n + 1);
	if ((pfd = arc_open_parent(u->rootfd, u->path, 1, &base)) < 0)
		return fail(u, pfd, "%s", res_why(pfd));
	rc = place(u, pfd, base, mk_symlink, e);
	close(pfd);
	if (rc < 0)
		return fail(u, rc, "symlink: %s", strerror(-rc));
	u->st->symlinks++;
	return 0;
}

static int do_hardlink(struct ux *u, const char *target)
{
	const char *tbase, *base;
	struct stat sb;
	int arg[2], pfd, tpfd, rc;

	if (strlen(target) > u->lim.max_link)
		return fail(u, -ENAMETOOLONG, "hardlink target too long (limit %llu)",
			    (unsigned long long)u->lim.max_link);
	rc = arc_path_norm(target, u->link, sizeof u->link, u->lim.max_depth);
	if (rc == -EPERM)
		return fail(u, -EPERM, "hardlink target escapes the root");
	if (rc < 0)
		return fail(u, rc, "hardlink target: %s", strerror(-rc));
	if (rc == 0)
		return fail(u, -EPERM, "hardlink to the root");
	if ((tpfd = arc_open_parent(u->rootfd, u->link, 0, &tbase)) < 0)
		return fail(u, tpfd, "hardlink target %s", tpfd == -ENOENT ?
			    "not found in the root" : res_why(tpfd));
	rc = fstatat(tpfd, tbase, &sb, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
	if (rc < 0 || !S_ISREG(sb.st_mode)) {
		close(tpfd);
		if (rc == -ENOENT)
			return fail(u, rc, "hardlink target not found in the root");
		return fail(u, rc < 0 ? rc : -EPERM, "hardlink target is not a regular file");
	}
	if ((pfd = arc_open_parent(u->rootfd, u->path, 1, &base)) < 0) {
		close(tpfd);
		return fail(u, pfd, "%s", res_why(pfd));
	}
	arg[0] = tpfd;
	arg[1] = (int)(tbase - u->link);
	rc = place(u, pfd, base, mk_hardlink, arg);
	close(pfd);
	close(tpfd);
	if (rc < 0)
		return fail(u, rc, "hardlink: %s", strerror(-rc));
	u->st->hardlinks++;
	return 0;
}

/* Deletes, below the open directory fd (whose path is buf[0..len)), every
 * entry that this layer has not placed; recurses into the ones it has. */
static int opaque_clear(struct ux *u, int fd, char *buf, size_t len, unsigned depth)
{
	char **names = NULL;
	size_t n = 0;
	int rc = list_dir(fd, &names, &n);

	for (size_t i = 0; i < n && rc == 0; i++) {
		size_t cl = strlen(names[i]), nl = len + (len > 0) + cl;
		struct stat sb;
		int cfd;

		if (nl > ARC_MAX_PATH) {
			rc = rm_at(fd, names[i], depth + 1); /* too long to be ours */
			continue;
		}
		if (len > 0)
			buf[len] = '/';
		memcpy(buf + len + (len > 0), names[i], cl + 1);
		if (!pset_has(&u->mine, buf, nl)) {
			rc = rm_at(fd, names[i], depth + 1);
		} else if (fstatat(fd, names[i], &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
			   S_ISDIR(sb.st_mode)) {
			if (depth >= ARC_RM_DEPTH)
				rc = -ELOOP;
			else if ((cfd = open_for_rm(fd, names[i], &sb)) < 0)
				rc = cfd;
			else {
				rc = opaque_clear(u, cfd, buf, nl, depth + 1);
				close(cfd);
			}
		}
		buf[len] = 0;
	}
	free_names(names, n);
	return rc;
}

/* ".wh.NAME" deletes NAME of the lower layers; ".wh..wh..opq" empties its
 * directory of them. base points into u->path. */
static int do_whiteout(struct ux *u, char *base)
{
	const char *name = base + 4;
	char *dir = u->path;
	int fd, rfd, rc;

	if (base == u->path)
		dir = (char *)"";
	else
		base[-1] = 0;
	if (!strcmp(base, ".wh..wh..opq")) {
		if ((fd = arc_open_dir(u->rootfd, dir, 1)) < 0)
			return fail(u, fd, "opaque directory: %s", res_why(fd));
		rfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		close(fd);
		if (rfd < 0)
			return fail(u, -errno, "opaque directory: %s", strerror(errno));
		strcpy(u->link, dir);
		rc = opaque_clear(u, rfd, u->link, strlen(u->link), 0);
		close(rfd);
		if (rc < 0)
			return fail(u, rc, "opaque directory: %s", strerror(-rc));
		u->st->opaques++;
		return *dir ? pset_add_path(&u->mine, dir) : 0;
	}
	if (!strncmp(base, ".wh..wh.", 8))
		return fail(u, -EPERM, "unsupported whiteout");
	if (!*name || !strcmp(name, ".") || !strcmp(name, ".."))
		return fail(u, -EPERM, "malformed whiteout");
	{
		size_t dl = strlen(dir), nl = strlen(name);
		if (dl + 1 + nl >= sizeof u->link)
			return fail(u, -ENAMETOOLONG, "path too long");
		memcpy(u->link, dir, dl);
		u->link[dl] = '/';
		memcpy(u->link + dl + (dl > 0), name, nl + 1);
	}
	u->st->whiteouts++;
	if (pset_has(&u->mine, u->link, strlen(u->link)))
		return 0;   /* applies to lower layers only */
	if ((fd = arc_open_dir(u->rootfd, dir, 0)) == -ENOENT)
		return 0;   /* nothing below to delete */
	if (fd < 0)
		return fail(u, fd, "whiteout: %s", res_why(fd));
	rc = arc_remove_tree(fd, name);
	close(fd);
	return rc < 0 ? fail(u, rc, "whiteout: %s", strerror(-rc)) : 0;
}

/* ---- the entry loop ---- */

static int report(struct ux *u, struct archive_entry *e, enum arc_type t, const char *path,
		  const char *link, uint64_t size)
{
	struct arc_entry_info i = {
		.path = path, .type = t, .mode = entry_mode(u, e),
		.uid = (uint64_t)archive_entry_uid(e), .gid = (uint64_t)archive_entry_gid(e),
		.mtime = archive_entry_mtime(e), .size = size, .link = link,
	};
	int rc;

	if (!u->on_entry || (rc = u->on_entry(u->ctx, &i)) >= 0)
		return 0;
	return fail(u, rc, "stopped by the caller");
}

static const char *type_refused(mode_t t)
{
	switch (t) {
	case AE_IFCHR: return "character device node refused";
	case AE_IFBLK: return "block device node refused";
	case AE_IFIFO: return "fifo refused";
	case AE_IFSOCK: return "socket refused";
	default: return "unsupported entry type";
	}
}

/* Checks the declared size against the limits before anything is written. */
static int check_size(struct ux *u, struct archive_entry *e, uint64_t *size)
{
	int64_t s = archive_entry_size_is_set(e) ? archive_entry_size(e) : 0;

	if (s < 0)
		return fail(u, -EBADMSG, "negative size");
	*size = (uint64_t)s;
	if (*size > u->lim.max_file)
		return fail(u, -EFBIG, "layer entry too large (%llu bytes, limit %llu)",
			    (unsigned long long)*size, (unsigned long long)u->lim.max_file);
	if (*size > u->lim.max_total - u->declared)
		return fail(u, -EFBIG, "layer too large (over %llu bytes of files)",
			    (unsigned long long)u->lim.max_total);
	u->declared += *size;
	u->data_blocks += (*size + 511) & ~(uint64_t)511;
	return 0;
}

static int ux_entry(struct ux *u, struct archive_entry *e)
{
	const char *hard = archive_entry_hardlink(e), *base;
	mode_t ft = archive_entry_filetype(e);
	uint64_t size = 0;
	int rc;

	if (!u->raw)
		return fail(u, -EBADMSG, "entry without a name");
	if (strlen(u->raw) > u->lim.max_path)
		return fail(u, -ENAMETOOLONG, "path too long (limit %llu)",
			    (unsigned long long)u->lim.max_path);
	rc = arc_path_norm(u->raw, u->path, sizeof u->path, u->lim.max_depth);
	if (rc == -EPERM)
		return fail(u, rc, "path escapes the root (\"..\")");
	if (rc == -EMLINK)
		return fail(u, rc, "path too deep (limit %llu)", (unsigned long long)u->lim.max_depth);
	if (rc < 0)
		return fail(u, rc, "path too long");
	if (!hard && ft != AE_IFREG && ft != AE_IFDIR && ft != AE_IFLNK)
		return fail(u, -EPERM, "%s", type_refused(ft));
	base = strrchr(u->path, '/');
	base = base ? base + 1 : u->path;
	if (!(u->flags & ARC_U_NO_WHITEOUT) && !strncmp(base, ".wh.", 4)) {
		int opq = !strcmp(base, ".wh..wh..opq");
		if ((rc = do_whiteout(u, u->path + (base - u->path))) < 0)
			return rc;
		return report(u, e, opq ? ARC_T_OPAQUE : ARC_T_WHITEOUT,
			      opq ? u->path : u->link, NULL, 0);
	}
	if (hard) {
		rc = do_hardlink(u, hard);
		ft = 0;
	} else if (ft == AE_IFREG) {
		if ((rc = check_size(u, e, &size)) == 0)
			rc = do_file(u, e, size);
	} else if (ft == AE_IFDIR) {
		rc = do_dir(u, e);
	} else {
		rc = do_symlink(u, e);
	}
	if (rc < 0)
		return rc;
	if (*u->path && (rc = pset_add_path(&u->mine, u->path)) < 0)
		return fail(u, rc, "out of memory");
	return report(u, e, hard ? ARC_T_HARDLINK : ft == AE_IFREG ? ARC_T_FILE :
		      ft == AE_IFDIR ? ARC_T_DIR : ARC_T_SYMLINK, u->path,
		      (hard || ft == AE_IFLNK) ? u->link : NULL, size);
}

static int by_depth_first(const void *a, const void *b)
{
	const struct dirmeta *x = a, *y = b;
	int c = strcmp(y->path, x->path);   /* children ("a/b") before parents ("a") */
	return c ? c : (x->order < y->order ? -1 : 1);
}

/* Directory modes, owners and mtimes, deepest first, once nothing more will
 * be created in them. A directory replaced later in the stream is skipped. */
static int apply_dirs(struct ux *u)
{
	if (u->ndirs > 1)
		qsort(u->dirs, u->ndirs, sizeof *u->dirs, by_depth_first);
	for (size_t i = 0; i < u->ndirs; i++) {
		struct dirmeta *d = &u->dirs[i];
		const char *base;
		struct stat sb;
		int pfd = arc_open_parent(u->rootfd, d->path, 0, &base), rc = 0;

		if (pfd < 0)
			continue;
		if (fstatat(pfd, base, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(sb.st_mode)) {
			if (u->chown_ok && fchownat(pfd, base, (uid_t)d->uid, (gid_t)d->gid,
						    AT_SYMLINK_NOFOLLOW) < 0)
				rc = -errno;
			else if (fchmodat(pfd, base, d->mode, 0) < 0)
				rc = -errno;
			else
				rc = set_times(pfd, base, &d->mtime, AT_SYMLINK_NOFOLLOW);
		}
		close(pfd);
		if (rc < 0) {
			u->raw = d->path;
			return fail(u, rc, "directory metadata: %s", strerror(-rc));
		}
	}
	return 0;
}

static int ux_loop(struct ux *u)
{
	struct archive_entry *e;
	int r, rc;

	for (;;) {
		r = archive_read_next_header(u->a, &e);
		if (r == ARCHIVE_EOF)
			break;
		u->raw = NULL;
		if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
			return fail(u, -EBADMSG, "malformed archive: %s",
				    archive_error_string(u->a) ? archive_error_string(u->a) : "?");
		u->st->entries++;
		u->raw = archive_entry_pathname(e);
		if (u->st->entries > u->lim.max_entries)
			return fail(u, -E2BIG, "too many entries (limit %llu)",
				    (unsigned long long)u->lim.max_entries);
		if ((uint64_t)archive_filter_bytes(u->a, 0) - u->data_blocks >
		    ARC_META_BASE + u->st->entries * (uint64_t)ARC_META_PER_ENTRY)
			return fail(u, -E2BIG, "too many header bytes");
		if ((rc = ux_entry(u, e)) < 0)
			return rc;
	}
	u->raw = NULL;
	return apply_dirs(u);
}

static la_ssize_t rd_cb(struct archive *a, void *ctx, const void **buf)
{
	struct ux *u = ctx;
	long n = u->rd(u->rctx, u->iobuf, ARC_IO_BLOCK);

	if (n < 0 || n > (long)ARC_IO_BLOCK) {
		archive_set_error(a, n < 0 ? (int)-n : EIO, "read: %s",
				  strerror(n < 0 ? (int)-n : EIO));
		return -1;
	}
	*buf = u->iobuf;
	return (la_ssize_t)n;
}

/* A reader for tar, plain or gzip or bzip2, over memory or the callback. */
static int ux_open(struct ux *u, const uint8_t *p, size_t len)
{
	if (!(u->a = archive_read_new()))
		return -ENOMEM;
	if (archive_read_support_format_tar(u->a) != ARCHIVE_OK ||
	    archive_read_support_filter_gzip(u->a) != ARCHIVE_OK ||
	    archive_read_support_filter_bzip2(u->a) != ARCHIVE_OK)
		return fail(u, -EIO, "libarchive lacks tar, gzip or bzip2 support");
	if (p) {
		if (archive_read_open_memory(u->a, p, len) != ARCHIVE_OK)
			goto bad;
		return 0;
	}
	if (!(u->iobuf = malloc(ARC_IO_BLOCK)))
		return -ENOMEM;
	if (archive_read_open(u->a, u, NULL, rd_cb, NULL) != ARCHIVE_OK)
		goto bad;
	return 0;
bad:
	return fail(u, -EBADMSG, "not a tar archive: %s",
		    archive_error_string(u->a) ? archive_error_string(u->a) : "?");
}

static void ux_close(struct ux *u)
{
	if (u->a)
		archive_read_free(u->a);
	for (size_t i = 0; i < u->ndirs; i++)
		free(u->dirs[i].path);
	free(u->dirs);
	free(u->iobuf);
	pset_free(&u->mine);
}

/* Names in pax headers are UTF-8; with the C locale libarchive would turn
 * every non-ASCII byte into '?'. A thread-local UTF-8 locale keeps them as
 * they are, on musl and glibc alike. */
static locale_t utf8_begin(locale_t *old)
{
	locale_t l = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
	if (l)
		*old = uselocale(l);
	return l;
}

static void utf8_end(locale_t l, locale_t old)
{
	if (l) {
		uselocale(old);
		freelocale(l);
	}
}

static int unpack(const uint8_t *p, size_t len, arc_read_fn rd, void *rctx, int rootfd,
		  const struct arc_unpack_opts *o, struct arc_stats *st, char *err, size_t errcap)
{
	struct arc_stats dummy;
	struct ux *u = calloc(1, sizeof *u);
	locale_t old = (locale_t)0, loc;
	int rc;

	if (err && errcap)
		err[0] = 0;
	if (!u)
		return -ENOMEM;
	u->rootfd = rootfd;
	u->st = st ? st : &dummy;
	memset(u->st, 0, sizeof *u->st);
	u->err = err;
	u->errcap = errcap;
	u->rd = rd;
	u->rctx = rctx;
	if (o && o->lim)
		u->lim = *o->lim;
	else
		arc_limits_layer(&u->lim);
	if (o) {
		u->flags = o->flags;
		u->on_entry = o->on_entry;
		u->ctx = o->ctx;
	}
	u->chown_ok = (u->flags & ARC_U_CHOWN) && geteuid() == 0;
	loc = utf8_begin(&old);
	rc = ux_open(u, p, len);
	if (rc == 0)
		rc = ux_loop(u);
	ux_close(u);
	utf8_end(loc, old);
	free(u);
	return rc;
}

int arc_unpack_layer(const uint8_t *p, size_t len, int rootfd, const struct arc_unpack_opts *o,
		     struct arc_stats *st, char *err, size_t errcap)
{
	static const uint8_t empty[1];
	return unpack(p ? p : empty, p ? len : 0, NULL, NULL, rootfd, o, st, err, errcap);
}

int arc_unpack_layer_cb(arc_read_fn rd, void *rctx, int rootfd, const struct arc_unpack_opts *o,
			struct arc_stats *st, char *err, size_t errcap)
{
	if (!rd)
		return -EINVAL;
	return unpack(NULL, 0, rd, rctx, rootfd, o, st, err, errcap);
}

int arc_tbz_extract(const uint8_t *p, size_t len, int rootfd, const struct arc_limits *lim,
		    struct arc_stats *st, char *err, size_t errcap)
{
	struct arc_limits l;
	struct arc_unpack_opts o = { .lim = lim, .flags = ARC_U_NO_WHITEOUT };

	if (!lim) {
		arc_limits_tbz(&l);
		o.lim = &l;
	}
	return arc_unpack_layer(p, len, rootfd, &o, st, err, errcap);
}

/* ---- reading a .tbz without extracting ---- */

static int read_member(struct ux *u, uint64_t size, size_t max, uint8_t **out, size_t *olen)
{
	uint8_t *b;
	size_t got = 0;

	if (size > max || size > u->lim.max_file)
		return fail(u, -EFBIG, "member too large (%llu bytes, limit %llu)",
			    (unsigned long long)size, (unsigned long long)max);
	if (!(b = malloc((size_t)size + 1)))
		return -ENOMEM;
	while (got < size) {
		la_ssize_t r = archive_read_data(u->a, b + got, (size_t)size - got);
		if (r <= 0) {
			free(b);
			return fail(u, -EBADMSG, "truncated member: %s",
				    archive_error_string(u->a) ? archive_error_string(u->a) : "?");
		}
		got += (size_t)r;
	}
	b[got] = 0;
	*out = b;
	*olen = got;
	return 0;
}

struct tbz_q {
	const char *want;
	size_t max;
	uint8_t **out;
	size_t *olen;
	arc_entry_fn fn;
	void *ctx;
};

static int tbz_entry(struct ux *u, struct archive_entry *e, const struct tbz_q *q)
{
	const char *hard = archive_entry_hardlink(e);
	mode_t ft = archive_entry_filetype(e);
	int64_t sz = archive_entry_size(e);
	struct arc_entry_info i = { .path = u->path, .mode = entry_mode(u, e),
		.uid = (uint64_t)archive_entry_uid(e), .gid = (uint64_t)archive_entry_gid(e),
		.mtime = archive_entry_mtime(e), .size = sz > 0 ? (uint64_t)sz : 0 };
	int rc;

	if (!u->raw || strlen(u->raw) > u->lim.max_path)
		return fail(u, -ENAMETOOLONG, "path too long or missing");
	if ((rc = arc_path_norm(u->raw, u->path, sizeof u->path, u->lim.max_depth)) < 0)
		return fail(u, rc, "bad path: %s", rc == -EPERM ? "escapes the root" : strerror(-rc));
	i.type = hard ? ARC_T_HARDLINK : ft == AE_IFREG ? ARC_T_FILE : ft == AE_IFDIR ? ARC_T_DIR :
		 ft == AE_IFLNK ? ARC_T_SYMLINK : 0;
	if (!i.type)
		return fail(u, -EPERM, "%s", type_refused(ft));
	i.link = hard ? hard : ft == AE_IFLNK ? archive_entry_symlink(e) : NULL;
	if (q->fn && (rc = q->fn(q->ctx, &i)) < 0)
		return fail(u, rc, "stopped by the caller");
	if (q->want && i.type == ARC_T_FILE && !strcmp(u->path, q->want))
		return (rc = read_member(u, i.size, q->max, q->out, q->olen)) < 0 ? rc : 1;
	return 0;
}

static int tbz_iter(const uint8_t *p, size_t len, const struct arc_limits *lim,
		    const struct tbz_q *q, char *err, size_t errcap)
{
	struct arc_stats st = { 0 };
	struct archive_entry *e;
	struct ux *u = calloc(1, sizeof *u);
	locale_t old = (locale_t)0, loc;
	int rc, r;

	if (err && errcap)
		err[0] = 0;
	if (!u)
		return -ENOMEM;
	u->st = &st;
	u->err = err;
	u->errcap = errcap;
	if (lim)
		u->lim = *lim;
	else
		arc_limits_tbz(&u->lim);
	loc = utf8_begin(&old);
	if ((rc = ux_open(u, p ? p : (const uint8_t *)"", p ? len : 0)) < 0)
		goto out;
	rc = q->want ? -ENOENT : 0;
	while ((r = archive_read_next_header(u->a, &e)) != ARCHIVE_EOF) {
		u->raw = NULL;
		if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
			rc = fail(u, -EBADMSG, "malformed archive: %s",
				  archive_error_string(u->a) ? archive_error_string(u->a) : "?");
			break;
		}
		u->raw = archive_entry_pathname(e);
		if (++st.entries > u->lim.max_entries) {
			rc = fail(u, -E2BIG, "too many entries");
			break;
		}
		if ((r = tbz_entry(u, e, q)) != 0) {
			rc = r > 0 ? 0 : r;
			break;
		}
	}
out:
	ux_close(u);
	utf8_end(loc, old);
	free(u);
	if (rc == -ENOENT && err && errcap)
		snprintf(err, errcap, "no member \"%s\"", q->want);
	return rc;
}

int arc_tbz_list(const uint8_t *p, size_t len, const struct arc_limits *lim,
		 arc_entry_fn fn, void *ctx, char *err, size_t errcap)
{
	struct tbz_q q = { .fn = fn, .ctx = ctx };
	return tbz_iter(p, len, lim, &q, err, errcap);
}

int arc_tbz_get(const uint8_t *p, size_t len, const char *name, size_t max,
		uint8_t **out, size_t *olen, char *err, size_t errcap)
{
	char want[ARC_MAX_PATH + 1];
	struct tbz_q q = { .want = want, .max = max, .out = out, .olen = olen };

	*out = NULL;
	*olen = 0;
	if (arc_path_norm(name, want, sizeof want, ARC_MAX_DEPTH) <= 0)
		return -EINVAL;
	return tbz_iter(p, len, NULL, &q, err, errcap);
}
