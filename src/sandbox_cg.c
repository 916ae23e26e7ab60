/* SPDX-License-Identifier: MIT */
/*
 * sandbox (cgroups): a cgroup v2 group per RUN step, bounding its memory
 * (memory.max, with memory.oom.group so an OOM kills the whole step) and its
 * number of tasks (pids.max). Used only where the caller sits in the true root of a
 * cgroup2 hierarchy mounted on /sys/fs/cgroup: the appliance, whose PID 1
 * mounts it (src/init.c). Anywhere else (a host under systemd or with cgroup
 * v1, a container, even one whose cgroup namespace makes its group look like
 * the root, a kernel without cgroups) nothing is made and the step runs without
 * these limits, as before: sbsd does not manage a host's cgroup tree. The
 * group's files are written by the builder before the step exists; the step
 * itself sees no cgroupfs (it has no /sys) and lacks CAP_SYS_ADMIN.
 * Contracts in sandbox_int.h.
 */
#include "sandbox_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

#define CG_ROOT        "/sys/fs/cgroup"
#define CG2_MAGIC      0x63677270   /* CGROUP2_SUPER_MAGIC, linux/magic.h */

/* Writes one value into a cgroup file (no O_CREAT: the kernel makes them). */
static int cg_write(const char *dir, const char *file, const char *val)
{
	char p[SBX_MAX_PATH];
	int fd, rc;

	snprintf(p, sizeof p, "%s/%s", dir, file);
	if ((fd = open(p, O_WRONLY | O_CLOEXEC)) < 0)
		return -errno;
	rc = util_write_all(fd, val, strlen(val));
	close(fd);
	return rc;
}

/* /proc and cgroupfs files report size 0: read until EOF, at most cap - 1
 * bytes, NUL-terminated. 0 or -errno. */
static int read_small(const char *path, char *out, size_t cap)
{
	size_t got = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return -errno;
	while (got < cap - 1 && (n = read(fd, out + got, cap - 1 - got)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			break;
		}
		got += (size_t)n;
	}
	out[got] = 0;
	close(fd);
	return rc;
}

/* 1 when the caller is in the true root of a cgroup2 hierarchy on CG_ROOT
 * that offers the memory and pids controllers, else 0. */
static int cg_usable(void)
{
	struct statfs sf;
	char own[256], ctl[256];

	if (statfs(CG_ROOT, &sf) < 0 || (unsigned long)sf.f_type != CG2_MAGIC)
		return 0;
	/* cgroup.type exists in every group but the hierarchy's true root: in a
	 * container with its own cgroup namespace "0::/" is only its ns root */
	if (access(CG_ROOT "/cgroup.type", F_OK) == 0)
		return 0;
	if (read_small("/proc/self/cgroup", own, sizeof own) < 0 ||
	    read_small(CG_ROOT "/cgroup.controllers", ctl, sizeof ctl) < 0)
		return 0;
	return !strcmp(own, "0::/\n") && strstr(ctl, "memory") && strstr(ctl, "pids");
}

/* memory.max: what the machine has, less SBX_CG_MEM_RESERVE for sbsd and the
 * kernel, never under SBX_CG_MEM_MIN. */
static unsigned long long cg_mem_max(void)
{
	struct sysinfo si;
	unsigned long long total, m;

	if (sysinfo(&si) < 0)
		return SBX_CG_MEM_MIN;
	total = (unsigned long long)si.totalram * (si.mem_unit ? si.mem_unit : 1);
	m = total > SBX_CG_MEM_RESERVE ? total - SBX_CG_MEM_RESERVE : 0;
	return m < SBX_CG_MEM_MIN ? SBX_CG_MEM_MIN : m;
}

int sbx_cg_create(char *dir, size_t cap, char *err, size_t errcap)
{
	uint8_t rnd[6];
	char v[32];
	int rc;

	dir[0] = 0;
	if (!cg_usable())
		return 0;
	/* enabling controllers for the root's children: allowed with processes
	 * in the root (it is exempt from the no-internal-processes rule) */
	if ((rc = cg_write(CG_ROOT, "cgroup.subtree_control", "+memory +pids")) < 0)
		return util_err(err, errcap, rc, "sandbox: cgroup controllers: %s", strerror(-rc));
	if ((rc = util_rng(NULL, rnd, sizeof rnd)) < 0)
		return util_err(err, errcap, rc, "sandbox: no randomness");
	snprintf(dir, cap, "%s/sbs-step-%02x%02x%02x%02x%02x%02x", CG_ROOT, rnd[0], rnd[1], rnd[2],
		 rnd[3], rnd[4], rnd[5]);
	if (mkdir(dir, 0700) < 0) {
		rc = -errno;
		dir[0] = 0;
		return util_err(err, errcap, rc, "sandbox: cgroup: %s", strerror(-rc));
	}
	snprintf(v, sizeof v, "%llu", cg_mem_max());
	rc = cg_write(dir, "memory.max", v);
	/* memory.swap.max exists only with CONFIG_SWAP (the appliance has none) */
	if (rc == 0 && (rc = cg_write(dir, "memory.swap.max", "0")) == -ENOENT)
		rc = 0;
	if (rc == 0)
		rc = cg_write(dir, "memory.oom.group", "1");
	if (rc == 0) {
		snprintf(v, sizeof v, "%u", SBX_CG_PIDS_MAX);
		rc = cg_write(dir, "pids.max", v);
	}
	if (rc < 0) {
		sbx_cg_remove(dir);
		dir[0] = 0;
		return util_err(err, errcap, rc, "sandbox: cgroup limits: %s", strerror(-rc));
	}
	return 1;
}

int sbx_cg_join(const char *dir)
{
	return dir[0] ? cg_write(dir, "cgroup.procs", "0") : 0;
}

void sbx_cg_remove(const char *dir)
{
	struct timespec ts = { 0, SBX_CG_RMDIR_POLL_MS * 1000000L };

	if (!dir[0])
		return;
	/* the step's pid namespace is dying; its tasks leave the group when reaped */
	for (int i = 0; i < SBX_CG_RMDIR_TRIES; i++) {
		if (rmdir(dir) == 0 || errno != EBUSY)
			return;
		nanosleep(&ts, NULL);
	}
	log_warn("sandbox: %s still busy; left in place", dir);
}
