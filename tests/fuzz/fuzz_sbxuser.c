/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: USER resolution against an image's /etc/passwd and /etc/group
 * (src/sandbox_user.c). Input: the USER value up to the first newline, then
 * the passwd text, then "\n%%\n", then the group text; both are written into
 * a temp rootfs made once. Checked, abort() on any breach:
 * - success: uid and gid below 2^32-1, 1..SBX_MAX_GROUPS groups with no
 *   duplicate and the primary gid among them, err empty; a plain name
 *   resolved only if passwd has a line starting "name:";
 * - failure: one of the documented codes, with a non-empty NUL-terminated
 *   err that does not run past its buffer;
 * - the same input resolves the same way twice, and sbx_resolve_user agrees.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sandbox.h"
#include "sandbox_int.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(e) do { if (!(e)) abort(); } while (0)

static char root[64];

/* The temp rootfs goes when the process ends normally (replay, -runs=N). */
static void cleanup(void)
{
	char path[128];

	snprintf(path, sizeof path, "%s/etc/passwd", root);
	unlink(path);
	snprintf(path, sizeof path, "%s/etc/group", root);
	unlink(path);
	snprintf(path, sizeof path, "%s/etc", root);
	rmdir(path);
	rmdir(root);
}

static void put(const char *name, const uint8_t *p, size_t n)
{
	char path[128];
	int fd;

	snprintf(path, sizeof path, "%s/etc/%s", root, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	CHECK(fd >= 0);
	CHECK(util_write_all(fd, p, n) == 0);
	close(fd);
}

static int has_name(const uint8_t *p, size_t n, const char *name)
{
	size_t l = strlen(name);

	for (size_t i = 0; i + l < n; i++)
		if ((i == 0 || p[i - 1] == '\n') && !memcmp(p + i, name, l) && p[i + l] == ':')
			return 1;
	return 0;
}

static void check_ok(const struct sbx_ids *r)
{
	int primary = 0;

	CHECK(r->uid != 0xffffffffu && r->gid != 0xffffffffu);
	CHECK(r->ngroups >= 1 && r->ngroups <= SBX_MAX_GROUPS);
	for (size_t i = 0; i < r->ngroups; i++) {
		primary |= r->groups[i] == r->gid;
		for (size_t j = i + 1; j < r->ngroups; j++)
			CHECK(r->groups[i] != r->groups[j]);
	}
	CHECK(primary);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sbx_ids a, b;
	char user[SBX_MAX_USER + 2], err[128], err2[128];
	const uint8_t *nl = memchr(data, '\n', size), *pw, *sep;
	size_t ul = nl ? (size_t)(nl - data) : size, pwn;
	unsigned u, g;
	int rc, rc2;

	if (!root[0]) {
		snprintf(root, sizeof root, "/tmp/fuzz_sbxuser.%d", (int)getpid());
		mkdir(root, 0700);
		snprintf(user, sizeof user, "%s/etc", root);
		mkdir(user, 0700);
		atexit(cleanup);
	}
	if (ul > SBX_MAX_USER + 1)
		ul = SBX_MAX_USER + 1;
	memcpy(user, data, ul);
	user[ul] = 0;
	pw = nl ? nl + 1 : data + size;
	pwn = (size_t)(data + size - pw);
	sep = pwn >= 4 ? memmem(pw, pwn, "\n%%\n", 4) : NULL;
	put("passwd", pw, sep ? (size_t)(sep - pw) : pwn);
	put("group", sep ? sep + 4 : pw, sep ? (size_t)(data + size - sep - 4) : 0);

	memset(err, 'x', sizeof err);
	rc = sbx_resolve_ids(root, user, &a, err, sizeof err);
	CHECK(memchr(err, 0, sizeof err) != NULL);
	if (rc == 0) {
		check_ok(&a);
		if (user[0] && !strchr(user, ':') && strspn(user, "0123456789") != strlen(user))
			CHECK(has_name(pw, sep ? (size_t)(sep - pw) : pwn, user));
	} else {
		CHECK(err[0]);
		CHECK(rc == -EINVAL || rc == -ENOENT || rc == -ERANGE || rc == -E2BIG ||
		      rc == -ENAMETOOLONG || rc == -EFBIG);
	}
	rc2 = sbx_resolve_ids(root, user, &b, err2, sizeof err2);
	CHECK(rc2 == rc && (rc < 0 || (a.uid == b.uid && a.gid == b.gid && a.ngroups == b.ngroups &&
				       !memcmp(a.groups, b.groups, a.ngroups * sizeof a.groups[0]))));
	CHECK(!strcmp(err, err2));
	rc2 = sbx_resolve_user(root, user, &u, &g, err2, sizeof err2);
	CHECK(rc2 == rc && (rc < 0 || (u == a.uid && g == a.gid)));
	return 0;
}
