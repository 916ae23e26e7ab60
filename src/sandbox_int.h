/* SPDX-License-Identifier: MIT */
/*
 * sandbox internals shared by src/sandbox.c, src/sandbox_user.c and
 * src/sandbox_cg.c: who a step runs as, resolved from a USER value against
 * the image's /etc/passwd and /etc/group (read below the rootfs, never
 * through a symlink), and the step's cgroup.
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

/* cgroup v2 limits (src/sandbox_cg.c). sbx_cg_create(): where the caller is
 * in the true root of a cgroup2 hierarchy on /sys/fs/cgroup with the memory and
 * pids controllers (the appliance), makes a fresh group below it with
 * memory.max (RAM less SBX_CG_MEM_RESERVE, at least SBX_CG_MEM_MIN), no
 * swap, memory.oom.group 1 and pids.max SBX_CG_PIDS_MAX, puts its path in
 * dir and returns 1; anywhere else returns 0 with dir "" (no limits); a
 * negative errno with one line in err when the group could not be made.
 * sbx_cg_join(): moves the calling process into dir (nothing for ""); 0 or
 * -errno. sbx_cg_remove(): removes the group once its tasks are gone
 * (bounded retries; nothing for ""). */
int sbx_cg_create(char *dir, size_t cap, char *err, size_t errcap);
int sbx_cg_join(const char *dir);
void sbx_cg_remove(const char *dir);

#endif
