/* SPDX-License-Identifier: MIT */
/*
 * image_src: the sources of COPY and ADD (rules in image_copy.c's top
 * comment and docs/image.md): Go's filepath.Match per path component,
 * opening a path below a root without leaving it (the context: openat2
 * RESOLVE_BENEATH, escapes refused; a stage or image: RESOLVE_IN_ROOT, as a
 * chroot), .dockerignore on the real path, wildcard expansion in sorted
 * order, and --from (stage name, index, or an image pulled once).
 */
#include "image_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

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
int img_open_below(int rootfd, const char *rel, int beneath)
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

int img_join(char *out, size_t cap, const char *a, const char *b)
{
	int n = *a ? snprintf(out, cap, "%s/%s", a, b) : snprintf(out, cap, "%s", b);

	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names of a directory, sorted (the walk order is part of the cache key). */
int img_list_dir(int dfd, char ***out, size_t *n)
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
	if (*n)         /* v is NULL for an empty directory: qsort(NULL, 0) is undefined */
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

/* Resolves the longest existing directory prefix of rel (normalised, below
 * the stage's rootfs) inside the rootfs as a chroot would (RESOLVE_IN_ROOT:
 * symlinks followed, never out of it) and rewrites rel to the real path, so
 * that writes and layer entries use it. Without openat2, rel is unchanged
 * (writes then refuse the symlink). */
int img_resolve_in_root(struct img_ctx *x, struct img_stage *s, char *rel, size_t cap)
{
	struct open_how_ how = { .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
				 .resolve = R_NO_MAGICLINKS | R_IN_ROOT };
	char head[IMG_PATH_MAX], proc[64], real[IMG_PATH_MAX], rr[IMG_PATH_MAX];
	size_t hl = strlen(rel), rl;
	long fd = -1;
	ssize_t n;

	if (hl >= sizeof head)
		return img_fail(x, -ENAMETOOLONG, "destination path too long");
	memcpy(head, rel, hl + 1);
	for (;;) {
#ifdef SYS_openat2
		fd = syscall(SYS_openat2, s->rootfd, hl ? head : ".", &how, sizeof how);
#else
		errno = ENOSYS;
#endif
		if (fd >= 0)
			break;
		if (errno == ENOSYS || errno == EPERM)
			return 0;
		if ((errno != ENOENT && errno != ENOTDIR) || !hl)
			return img_fail(x, -errno, "destination /%s: %s", rel, strerror(errno));
		char *sl = strrchr(head, '/');
		hl = sl ? (size_t)(sl - head) : 0;
		head[hl] = 0;
	}
	snprintf(proc, sizeof proc, "/proc/self/fd/%ld", fd);
	n = readlink(proc, real, sizeof real - 1);
	close((int)fd);
	if (n < 0 || !realpath(s->root, rr))
		return img_fail(x, -EIO, "destination /%s: cannot resolve", rel);
	real[n] = 0;
	rl = strlen(rr);
	if (strncmp(real, rr, rl) || (real[rl] && real[rl] != '/'))
		return img_fail(x, -EXDEV, "destination /%s: resolves outside the image", rel);
	snprintf(head, sizeof head, "%s%s%s", real[rl] ? real + rl + 1 : "",
		 real[rl] && rel[hl] ? "/" : "", rel[hl] == '/' ? rel + hl + 1 : rel + hl);
	if (strlen(head) >= cap)
		return img_fail(x, -ENAMETOOLONG, "destination path too long");
	memcpy(rel, head, strlen(head) + 1);
	return 0;
}

/* ---- sources ---- */

void img_plan_free(struct img_plan *p)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->v[i].fd >= 0)
			close(p->v[i].fd);
	free(p->v);
}

static struct img_src *plan_add(struct img_ctx *x, struct img_plan *p)
{
	if (p->n == p->cap) {
		size_t nc = p->cap ? p->cap * 2 : 8;
		struct img_src *v;
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

static int add_src(struct img_ctx *x, struct img_plan *p, const char *rel, const char *shown)
{
	struct img_src *s;
	const char *slash;
	int fd = img_open_below(p->rootfd, rel, p->context), m;

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
static int glob_src(struct img_ctx *x, struct img_plan *p, const char *dir, const char *pat,
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
		rc = img_join(d, IMG_PATH_MAX, dir, comp);
		if (rc == 0 && !pat[l]) {
			if ((fd = img_open_below(p->rootfd, d, p->context)) >= 0) {
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
	if ((fd = img_open_below(p->rootfd, dir, p->context)) < 0)
		return 0; /* not a directory: no match below it */
	rc = img_list_dir(fd, &names, &n);
	close(fd);
	if (rc < 0)
		return 0;
	if (!(next = malloc(IMG_PATH_MAX)))
		rc = -ENOMEM;
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (img_match(comp, names[i]) != 1 || img_join(next, IMG_PATH_MAX, dir, names[i]) < 0)
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

int img_plan_sources(struct img_ctx *x, const struct df_inst *ev, struct img_plan *p)
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
			struct img_src *s = plan_add(x, p);
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

int img_source_root(struct img_ctx *x, struct img_stage *s, const char *from, struct img_plan *p)
{
	struct img_pulled *pl;
	size_t cur = (size_t)(s - x->stages);
	uint64_t idx;
	int rc;

	p->context = 0;
	for (size_t i = 0; i < cur; i++)
		if (x->stages[i].name[0] && !strcasecmp(x->stages[i].name, from)) {
			if ((rc = img_stage_sync(x, &x->stages[i])) < 0)
				return rc;
			return p->rootfd = x->stages[i].rootfd, 0;
		}
	if (s->name[0] && !strcasecmp(s->name, from))
		return img_fail(x, -EINVAL, "--from=%s: circular dependency on the current stage", from);
	if (util_parse_u64(from, strlen(from), 1000, &idx) == 0) {
		if (idx >= cur)
			return img_fail(x, -EINVAL, "--from=%s: no such earlier stage", from);
		if ((rc = img_stage_sync(x, &x->stages[idx])) < 0)
			return rc;
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
	    (rc = img_fill_stage(x, &pl->st, from, cur)) < 0)
		return rc;
	p->rootfd = pl->st.rootfd;
	return 0;
}
