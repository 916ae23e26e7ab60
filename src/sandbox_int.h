/* SPDX-License-Identifier: MIT */
/*
 * sandbox internals shared by src/sandbox.c and src/sandbox_user.c: who a
 * step runs as, resolved from a USER value against the image's /etc/passwd
 * and /etc/group (read below the rootfs, never through a symlink).
 */
#ifndef SBS_SANDBOX_INT_H
#define SBS_SANDBOX_INT_H

#include <stddef.h>

#include "limits.h"

struct sbx_ids {
	unsigned uid, gid;
	unsigned groups[SBX_MAX_GROUPS];   /* supplementary, the primary gid first */
	size_t ngroups;
	char name[SBX_MAX_USER + 1];       /* the passwd name, "" if none */
};

/* "", "name", "uid", "name:group", "uid:gid" -> ids; 0 or a negative errno
 * with one line in err (-ENOENT for a name the image lacks, -E2BIG past
 * SBX_MAX_GROUPS, -ERANGE for an id over 2^32-2). */
int sbx_resolve_ids(const char *rootfs, const char *user, struct sbx_ids *r, char *err,
		    size_t errcap);

#endif
