/* SPDX-License-Identifier: MIT */
/*
 * git_checkout: a commit's tree into an empty workspace (contract in git.h).
 * The walk holds one directory fd per level, each opened by this code with
 * O_NOFOLLOW|O_DIRECTORY right after it created the directory, and writes
 * only with *at() calls relative to those fds. Names never contain '/' and
 * are never "." or "..", so no write can leave the workspace; files are
 * created with O_EXCL|O_NOFOLLOW and directories with mkdirat, so an entry
 * whose name already exists (a duplicate, or anything under a symlink) fails
 * instead of writing through it. Symlink targets are stored verbatim: they
 * may point anywhere, because nothing here ever follows them. Counts and
 * bytes are bounded by the store's max_entries and max_checkout (at most
 * GIT_MAX_ENTRIES and GIT_MAX_CHECKOUT; a tree that
 * names one subtree many times cannot fan out without limit).
 */
#include "git.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

struct co {
	struct git_store *s;
	struct git_result *res;
	char *err;
	size_t errcap;
	size_t entries, max_entries;
	uint64_t bytes, max_bytes;
	char path[GIT_MAX_PATH + 1];
	size_t plen;
	char shown[GIT_MAX_MSG + 1];
};

static int name_ok(const char *n, size_t len)
{
	if (len == 0 || len > 255 || memchr(n, '/', len) || memchr(n, 0, len))
		return 0;
	if ((len == 1 && n[0] == '.') || (len == 2 && n[0] == '.' && n[1] == '.'))
		return 0;
	return !(len == 4 && strncasecmp(n, ".git", 4) == 0);
}

/* The path so far, printable, for messages. */
static const char *shown(struct co *c)
{
	git_sanitize((const uint8_t *)c->path, c->plen, c->shown, sizeof c->shown);
	return c->shown;
}

static int fail(struct co *c, int rc, const char *what)
{
	return git_seterr(c->err, c->errcap, rc, "checkout: %s: %s", shown(c), what);
}

static int get(struct co *c, const uint8_t *oid, enum git_type want, uint8_t **data, size_t *len)
{
	enum git_type t;
	char hex[GIT_HEX_LEN + 1];
	int rc = git_store_get(c->s, oid, &t, data, len);

	if (rc == 0 && t != want) {
		free(*data);
		*data = NULL;
		rc = -EBADMSG;
	}
	if (rc < 0) {
		git_hex(oid, hex);
		return git_seterr(c->err, c->errcap, rc == -ENOMEM ? rc : -EBADMSG,
				  "checkout: %s: %s %s %s", c->plen ? shown(c) : "/", git_type_name(want),
				  hex, rc == -ENOENT ? "is not in the pack" : rc == -ENOMEM ?
				  "out of memory" : "has the wrong type or content");
	}
	return 0;
}

/* The root's .gitmodules, kept for git_submodules_checkout (read from the
 * commit's tree, not from the workspace, where it would be only a file). */
static void keep_gitmodules(struct co *c, const uint8_t *data, size_t len, unsigned mode)
{
	struct git_result *r = c->res;

	if (mode == 0120000)
		r->gitmodules_err = -ELOOP;
	else if (len > GIT_MAX_GITMODULES)
		r->gitmodules_err = -EFBIG;
	else if (!r->gitmodules && (r->gitmodules = malloc(len + 1))) {
		memcpy(r->gitmodules, data, len);
		r->gitmodules[len] = 0;
		r->gitmodules_len = len;
	} else if (!r->gitmodules)
		r->gitmodules_err = -ENOMEM;
}

static int put_file(struct co *c, int dfd, const char *name, const uint8_t *oid, unsigned mode)
{
	uint8_t *data = NULL;
	size_t len = 0;
	int fd, rc;

	if ((rc = get(c, oid, GIT_BLOB, &data, &len)) < 0)
		return rc;
	if (len > c->max_bytes - c->bytes) {
		free(data);
		return fail(c, -EFBIG, "the checkout is over its size limit");
	}
	c->bytes += len;
	if (c->plen == 11 && memcmp(c->path, ".gitmodules", 11) == 0)
		keep_gitmodules(c, data, len, mode);
	if (mode == 0120000) {
		if (len == 0 || len >= GIT_MAX_PATH || memchr(data, 0, len))
			rc = fail(c, -EBADMSG, "bad symlink target");
		else if (symlinkat((const char *)data, dfd, name) < 0)
			rc = fail(c, -errno, strerror(errno));
		free(data);
		return rc;
	}
	mode = mode == 0100755 ? 0755 : 0644;
	fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0) {
		rc = -errno;
		free(data);
		return fail(c, rc, rc == -EEXIST ? "the name exists already (duplicate entry)" :
			    strerror(-rc));
	}
	rc = util_write_all(fd, data, len);
	if (rc == 0 && fchmod(fd, mode) < 0)
		rc = -errno;
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	free(data);
	return rc < 0 ? fail(c, rc, strerror(-rc)) : 0;
}

static int submodule(struct co *c, int dfd, const char *name, const uint8_t *oid)
{
	struct git_result *r = c->res;
	struct git_submodule *n;

	if (r->nsubs >= GIT_MAX_SUBMODULES)
		return fail(c, -E2BIG, "too many submodules");
	if (!(n = realloc(r->subs, (r->nsubs + 1) * sizeof *n)))
		return fail(c, -ENOMEM, "out of memory");
	r->subs = n;
	memcpy(n[r->nsubs].path, c->path, c->plen + 1);
	git_hex(oid, n[r->nsubs].oid);
	r->nsubs++;
	if (mkdirat(dfd, name, 0755) < 0)
		return fail(c, -errno, strerror(errno));
	return 0;
}

static int walk(struct co *c, const uint8_t *oid, int dfd, unsigned depth);

static int put_dir(struct co *c, int dfd, const char *name, const uint8_t *oid, unsigned depth)
{
	int fd, rc;

	if (mkdirat(dfd, name, 0755) < 0)
		return fail(c, -errno, errno == EEXIST ? "the name exists already (duplicate entry)" :
			    strerror(errno));
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return fail(c, -errno, strerror(errno));
	rc = fchmod(fd, 0755) < 0 ? fail(c, -errno, strerror(errno)) : walk(c, oid, fd, depth + 1);
	close(fd);
	return rc;
}

static int entry(struct co *c, int dfd, const struct git_tree_entry *e, unsigned depth)
{
	char name[256];
	size_t save = c->plen;
	int rc;

	if (c->plen + 1 + e->nlen > GIT_MAX_PATH)
		return fail(c, -ENAMETOOLONG, "path too long");
	if (c->plen)
		c->path[c->plen++] = '/';
	memcpy(c->path + c->plen, e->name, e->nlen);
	c->plen += e->nlen;
	c->path[c->plen] = 0;
	if (!name_ok(e->name, e->nlen)) {
		rc = fail(c, -EPERM, "name refused (\".\", \"..\", \".git\", '/' or empty)");
		goto out;
	}
	if (++c->entries > c->max_entries) {
		rc = fail(c, -E2BIG, "too many entries");
		goto out;
	}
	memcpy(name, e->name, e->nlen);
	name[e->nlen] = 0;
	if (e->mode == 040000)
		rc = put_dir(c, dfd, name, e->oid, depth);
	else if (e->mode == 0160000)
		rc = submodule(c, dfd, name, e->oid);
	else
		rc = put_file(c, dfd, name, e->oid, e->mode);
out:
	c->plen = save;
	c->path[save] = 0;
	return rc;
}

static int walk(struct co *c, const uint8_t *oid, int dfd, unsigned depth)
{
	struct git_tree_entry e;
	uint8_t *tree = NULL;
	size_t len = 0, off = 0;
	int rc;

	if (depth > GIT_MAX_TREE_DEPTH)
		return fail(c, -ELOOP, "directories nested too deep");
	if ((rc = get(c, oid, GIT_TREE, &tree, &len)) < 0)
		return rc;
	while ((rc = git_tree_next(tree, len, &off, &e)) == 1)
		if ((rc = entry(c, dfd, &e, depth)) < 0)
			break;
	if (rc == -EBADMSG && !(c->err && c->err[0]))
		rc = fail(c, -EBADMSG, "malformed tree");
	free(tree);
	return rc;
}

static int commit_info(struct co *c, const uint8_t *oid, struct git_commit *cm)
{
	struct git_result *r = c->res;
	uint8_t *data = NULL;
	size_t len = 0;
	int rc;

	if ((rc = get(c, oid, GIT_COMMIT, &data, &len)) < 0)
		return rc;
	rc = git_commit_parse(data, len, cm);
	free(data);
	if (rc < 0)
		return git_seterr(c->err, c->errcap, -EBADMSG, "checkout: malformed commit");
	git_hex(oid, r->commit);
	git_hex(cm->tree, r->tree);
	r->commit_time = cm->commit_time;
	r->author_time = cm->author_time;
	r->nparents = cm->nparents;
	snprintf(r->author, sizeof r->author, "%s", cm->author);
	snprintf(r->committer, sizeof r->committer, "%s", cm->committer);
	return 0;
}

int git_checkout(struct git_store *s, const uint8_t commit[static GIT_OID_LEN], int dirfd,
		 struct git_result *res, char *err, size_t errcap)
{
	const struct git_limits *lim = git_store_limits(s);
	struct co c = { .s = s, .res = res, .err = err, .errcap = errcap,
			.max_entries = lim->max_entries, .max_bytes = lim->max_checkout };
	struct git_commit cm;
	int rc;

	if (err && errcap)
		err[0] = 0;
	if ((rc = commit_info(&c, commit, &cm)) < 0)
		return rc;
	rc = walk(&c, cm.tree, dirfd, 0);
	res->entries = c.entries;
	res->checkout_bytes = c.bytes;
	return rc;
}
