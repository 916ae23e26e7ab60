/* SPDX-License-Identifier: MIT */
/*
 * sandbox (users): USER values resolved against an image's /etc/passwd and
 * /etc/group. The image is hostile: both files are opened below the rootfs
 * with every parent resolved without following symlinks (arc_open_parent),
 * the file itself O_NOFOLLOW | O_NONBLOCK, regular and bounded by
 * SBX_MAX_IDFILE; lines are split by one splitter and ids parsed by
 * util_parse_u64. Contracts in sandbox.h (sbx_resolve_user) and
 * sandbox_int.h.
 */
#include "sandbox.h"
#include "sandbox_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arc.h"
#include "util.h"

/* Reads etc/<name> of the rootfs: every parent opened without following a
 * symlink, the file itself O_NOFOLLOW and non-blocking (a FIFO planted by an
 * earlier step must not hang the builder), regular, bounded. */
static int read_idfile(const char *rootfs, const char *name, char **out, size_t *len)
{
	const char *base;
	struct stat sb;
	int rfd, dfd = -1, fd = -1, rc = 0;
	ssize_t n;

	*out = NULL;
	*len = 0;
	if ((rfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -errno;
	if ((dfd = arc_open_parent(rfd, name, 0, &base)) < 0) {
		rc = dfd;
		goto out;
	}
	if ((fd = openat(dfd, base, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) < 0 ||
	    fstat(fd, &sb) < 0) {
		rc = -errno;
		goto out;
	}
	if (!S_ISREG(sb.st_mode) || sb.st_size > (off_t)SBX_MAX_IDFILE) {
		rc = S_ISREG(sb.st_mode) ? -EFBIG : -EINVAL;
		goto out;
	}
	if (!(*out = malloc((size_t)sb.st_size + 1))) {
		rc = -ENOMEM;
		goto out;
	}
	n = pread(fd, *out, (size_t)sb.st_size, 0);
	if (n < 0) {
		rc = -errno;
		free(*out);
		*out = NULL;
		goto out;
	}
	(*out)[n] = 0;
	*len = (size_t)n;
out:
	if (fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd);
	close(rfd);
	return rc;
}

static int parse_id(const char *p, size_t n, unsigned *id)
{
	uint64_t v;
	int rc = util_parse_u64(p, n, 0xfffffffeu, &v);   /* (unsigned)-1 means "no change" */
	if (rc == 0)
		*id = (unsigned)v;
	return rc;
}

/* One line of a passwd or group file split at ':' (at most 5 fields kept). */
struct idline {
	const char *fld[5];
	size_t fl[5], nf;
};

/* Splits the line at *pos into l and moves *pos past it; 0 at the end. */
static int next_line(const char *f, size_t len, size_t *pos, struct idline *l)
{
	const char *p = f + *pos, *end = f + len, *nl, *le;

	if (*pos >= len)
		return 0;
	nl = memchr(p, '\n', (size_t)(end - p));
	le = nl ? nl : end;
	l->nf = 0;
	for (const char *q = p; l->nf < 5 && q <= le; l->nf++) {
		const char *c = memchr(q, ':', (size_t)(le - q));
		l->fld[l->nf] = q;
		l->fl[l->nf] = (size_t)((c ? c : le) - q);
		q = c ? c + 1 : le + 1;
	}
	*pos = (size_t)(le - f) + 1;
	return 1;
}

static int field_is(const struct idline *l, size_t i, const char *k, size_t kn)
{
	return l->nf > i && l->fl[i] == kn && !memcmp(l->fld[i], k, kn);
}

/* Finds the first line whose field key (0: name, 2: id) equals [k, k+kn)
 * and has a valid id (field 2) and, for passwd (gid != NULL), gid (field 3).
 * Returns 1 found (l is that line), 0 not. Malformed lines are skipped. */
static int lookup(const char *f, size_t len, size_t key, const char *k, size_t kn,
		  unsigned *id, unsigned *gid, struct idline *l)
{
	size_t pos = 0;

	while (next_line(f, len, &pos, l))
		if (l->nf >= 3 && field_is(l, key, k, kn) && parse_id(l->fld[2], l->fl[2], id) == 0 &&
		    (!gid || (l->nf >= 4 && parse_id(l->fld[3], l->fl[3], gid) == 0)))
			return 1;
	return 0;
}

static int all_digits(const char *p, size_t n)
{
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (p[i] < '0' || p[i] > '9')
			return 0;
	return 1;
}

static int add_group(struct sbx_ids *r, unsigned g)
{
	for (size_t i = 0; i < r->ngroups; i++)
		if (r->groups[i] == g)
			return 0;
	if (r->ngroups >= SBX_MAX_GROUPS)
		return -E2BIG;
	r->groups[r->ngroups++] = g;
	return 0;
}

/* The groups of the image's /etc/group that list r->name as a member. */
static int member_groups(const char *rootfs, struct sbx_ids *r, char *err, size_t errcap)
{
	size_t nlen = strlen(r->name), len = 0, pos = 0;
	struct idline l;
	char *f = NULL;
	int rc = read_idfile(rootfs, "etc/group", &f, &len);

	if (rc < 0)
		return rc == -ENOENT ? 0 : rc;
	while (rc == 0 && next_line(f, len, &pos, &l)) {
		const char *m = l.nf >= 4 ? l.fld[3] : NULL, *me = m ? m + l.fl[3] : NULL;
		unsigned g;
		if (!m || parse_id(l.fld[2], l.fl[2], &g) < 0)
			continue;
		while (m < me && rc == 0) {
			const char *c = memchr(m, ',', (size_t)(me - m));
			size_t n = (size_t)((c ? c : me) - m);
			if (n == nlen && !memcmp(m, r->name, n) && (rc = add_group(r, g)) < 0)
				snprintf(err, errcap, "user \"%s\": more than %u groups", r->name,
					 (unsigned)SBX_MAX_GROUPS);
			m += n + 1;
		}
	}
	free(f);
	return rc;
}

static int resolve_group(const char *rootfs, const char *g, size_t gn, unsigned *gid,
			 char *err, size_t errcap)
{
	struct idline l;
	char *f = NULL;
	size_t len = 0;
	int rc;

	if (all_digits(g, gn)) {
		if (parse_id(g, gn, gid) == 0)
			return 0;
		snprintf(err, errcap, "group \"%.*s\": id out of range", (int)(gn > 64 ? 64 : gn), g);
		return -ERANGE;
	}
	rc = read_idfile(rootfs, "etc/group", &f, &len);
	if (rc == 0 && !lookup(f, len, 0, g, gn, gid, NULL, &l))
		rc = -ENOENT;
	free(f);
	if (rc < 0)
		snprintf(err, errcap, "group \"%.*s\" not found in the image's /etc/group%s%s",
			 (int)(gn > 64 ? 64 : gn), g, rc == -ENOENT ? "" : ": ",
			 rc == -ENOENT ? "" : strerror(-rc));
	return rc < 0 ? -ENOENT : 0;
}

/* The user part [user, user+un) against the image's /etc/passwd. */
static int resolve_name(const char *rootfs, const char *user, size_t un, struct sbx_ids *r,
			char *err, size_t errcap)
{
	struct idline l;
	char *f = NULL;
	size_t flen = 0;
	unsigned u;
	int rc = read_idfile(rootfs, "etc/passwd", &f, &flen);

	if (rc < 0 && rc != -ENOENT) {
		snprintf(err, errcap, "the image's /etc/passwd: %s", strerror(-rc));
		goto out;
	}
	rc = 0;
	if (all_digits(user, un)) {
		if (parse_id(user, un, &r->uid) < 0) {
			snprintf(err, errcap, "user \"%.*s\": id out of range", (int)(un > 64 ? 64 : un),
				 user);
			rc = -ERANGE;
		} else if (f && lookup(f, flen, 2, user, un, &u, &r->gid, &l) && l.fl[0] <= SBX_MAX_USER) {
			/* a numeric id need not exist; its group and name are used if it does */
			memcpy(r->name, l.fld[0], l.fl[0]);
			r->name[l.fl[0]] = 0;
		}
	} else if (f && lookup(f, flen, 0, user, un, &r->uid, &r->gid, &l)) {
		memcpy(r->name, user, un);
		r->name[un] = 0;
	} else {
		snprintf(err, errcap, "user \"%.*s\" not found in the image's /etc/passwd",
			 (int)(un > 64 ? 64 : un), user);
		rc = -ENOENT;
	}
out:
	free(f);
	return rc;
}

/* "", "name", "uid", "name:group", "uid:gid" -> ids. Supplementary groups,
 * as docker: the primary gid, plus, when no group was given and the user has
 * a passwd name, every group listing that name as a member. */
int sbx_resolve_ids(const char *rootfs, const char *user, struct sbx_ids *r, char *err,
		       size_t errcap)
{
	size_t ulen = strnlen(user, SBX_MAX_USER + 1), un;
	const char *colon;
	int rc;

	memset(r, 0, sizeof *r);
	if (errcap)
		err[0] = 0;
	if (ulen > SBX_MAX_USER) {
		snprintf(err, errcap, "user: longer than %u bytes", (unsigned)SBX_MAX_USER);
		return -ENAMETOOLONG;
	}
	colon = memchr(user, ':', ulen);
	un = colon ? (size_t)(colon - user) : ulen;
	if (un == 0 && !colon) {                /* "": root */
		r->ngroups = 1;
		return 0;
	}
	if (un == 0 || (colon && colon[1] == 0)) {
		snprintf(err, errcap, "user \"%.64s\": empty name", user);
		return -EINVAL;
	}
	if ((rc = resolve_name(rootfs, user, un, r, err, errcap)) < 0)
		return rc;
	if (colon)
		rc = resolve_group(rootfs, colon + 1, ulen - un - 1, &r->gid, err, errcap);
	if (rc == 0)
		rc = add_group(r, r->gid);
	if (rc == 0 && !colon && r->name[0])
		rc = member_groups(rootfs, r, err, errcap);
	if (rc < 0 && !err[0])
		snprintf(err, errcap, "the image's /etc/group: %s", strerror(-rc));
	return rc;
}

int sbx_resolve_user(const char *rootfs, const char *user, unsigned *uid, unsigned *gid,
		     char *err, size_t errcap)
{
	char dummy[1];
	struct sbx_ids *r;
	int rc;

	if (!err || !errcap)
		err = dummy, errcap = sizeof dummy;
	err[0] = 0;
	if (!rootfs || !user || !uid || !gid)
		return -EINVAL;
	if (!(r = malloc(sizeof *r)))
		return -ENOMEM;
	rc = sbx_resolve_ids(rootfs, user, r, err, errcap);
	*uid = rc == 0 ? r->uid : 0;
	*gid = rc == 0 ? r->gid : 0;
	free(r);
	return rc;
}
