/* SPDX-License-Identifier: MIT */
/*
 * snap: what a build step changed in a rootfs. snap_take() records every path
 * under a root (type, mode, owner, size, mtime and ctime in nanoseconds,
 * inode, symlink target); snap_diff() walks the tree again and lists what
 * differs as arc_change entries for arc_write_layer(): added and changed
 * paths as ARC_ADD, deleted paths as ARC_WHITEOUT (a deleted directory is one
 * whiteout, not one per child), a path whose type changed as ARC_ADD (the
 * writer's entry replaces the lower one), a directory replaced by a new one
 * as ARC_OPAQUE. A file counts as changed when any recorded field differs
 * (ctime catches a rewrite that restores size and mtime); hardlinks that
 * were made by the step are exact because the writer turns a second name of
 * the same inode into a hardlink entry. Directories whose only change is
 * their mtime (a child added or removed) are listed too, so the layer keeps
 * them. Nothing is followed: symlinks are recorded as links.
 *
 * excl: relative paths (normalised by arc_path_norm, so "/proc" is "proc";
 * copied into the snapshot) that are skipped with everything below them in
 * both walks, e.g. "proc", "sys", "dev" of a rootfs. The root itself is never
 * listed (a layer cannot carry it). snap_take() returns only once the coarse
 * clock has moved past the newest ctime it saw (a few ms; up to a second on
 * a file system with whole-second stamps), so no later change can carry a
 * recorded ctime.
 *
 * Errors: 0 or a negative errno with one line in err; -E2BIG past
 * SNAP_MAX_ENTRIES.
 */
#ifndef SBS_SNAP_H
#define SBS_SNAP_H

#include <stddef.h>

#include "arc.h"

struct snap;
int snap_take(int rootfd, const char *const *excl, size_t nexcl, struct snap **out,
	      char *err, size_t errcap);
void snap_free(struct snap *s);

/* The changes, sorted bytewise (strcmp) by path; strings owned by the struct.
 * For a directory made again (ARC_OPAQUE) every path below it is listed as
 * ARC_ADD. snap_changes_free() leaves the struct zeroed. */
struct snap_changes {
	struct arc_change *v;
	size_t n;
	char *pool;                    /* private */
	size_t pool_len, pool_cap, cap;
};
int snap_diff(const struct snap *before, int rootfd, struct snap_changes *out,
	      char *err, size_t errcap);
void snap_changes_free(struct snap_changes *c);

#endif
