/* SPDX-License-Identifier: MIT */
/*
 * hal hpvs: sbsd as the container workload of an IBM Hyper Protect Virtual
 * Server (HPVS / Hyper Protect Container Runtime). The runtime, not sbsd,
 * owns the machine: it decrypted the contract, LUKS-formatted and opened the
 * data volume with the contract's two seeds, mounted it and bind-mounted it
 * into this container; the env comes from the contract through the compose
 * file's `environment:`. So this backend mounts nothing, formats nothing and
 * has no PID-1 duties (sbsd.c takes the appliance path as PID 1 only when
 * SBS_HAL is unset or "se"; the server's tick reaps every child and SIGTERM
 * stops it, which is all a container's PID 1 owes). docs/hpvs.md is the
 * user's view.
 *
 * Data directory: SBS_DATA_DIR (absolute; default HPVS_VOLUME, "/data", the
 * compose file's volume target) must be the root of a mount: statx(2)
 * STATX_ATTR_MOUNT_ROOT, or, on a kernel that does not report it, a st_dev
 * different from the parent's. It must be writable: a probe file is created,
 * written, fsynced and removed. Otherwise sbsd refuses to start with a line
 * naming the path and the reason (a plain directory in the image would put
 * the keys on the container's ephemeral, unencrypted layer). The data lives
 * in <volume>/sbs (0700), as /data/sbs under hal se.
 *
 * Appliance secret: HPVS holds no secret of its own for a workload (no SE
 * secret reaches a container), so it is SBS_APPLIANCE_SECRET, 64 hex digits,
 * from the contract's env section (encrypted for the HPCR image's contract
 * key: only that SE guest decrypts it). It is required: open() fails with
 * -ENOKEY when it is missing and -EINVAL when malformed; it is never created
 * or stored, least of all on the volume. open() decodes it into this file's
 * memory and wipes the text in the environment (so /proc/<pid>/environ and
 * the keeper, api and builder children, forked later, hold no copy of the
 * text), and appliance_secret() copies the 32 bytes out; callers wipe them.
 *
 * protected_guest: /sys/firmware/uv/prot_virt_guest reads "1". Docker masks
 * /sys/firmware in an unprivileged container, so under HPVS this is usually
 * 0 even though the VM is a Secure Execution guest (docs/hpvs.md).
 * attest: -ENOTSUP when not protected; -ENODEV when protected but /dev/uv is
 * not in the container (HPVS does not pass it); otherwise the same pvattest
 * exchange as hal se (SBS_ATTEST_REQUEST from the env; hal_se.attest).
 * HPVS's own attestation record (/var/hyperprotect/se-checksums.txt, signed
 * by IBM's attestation key) is not read here: docs/hpvs.md says why.
 */
#include "hal.h"
#include "limits.h"
#include "util.h"
#include "uv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define HPVS_VOLUME     "/data"   /* the compose file's volume target */
#define HPVS_SECRET_ENV "SBS_APPLIANCE_SECRET"
#define HPVS_SUBDIR     "/sbs"
#define HPVS_PROBE      "/.sbs-write-probe.tmp-"

/* statx(2), restated: musl 1.2.3 has the syscall number but no wrapper or
 * struct. Only the fields read here are named; the kernel fills 256 bytes. */
struct hpvs_statx {
	uint32_t mask, blksize;
	uint64_t attributes;
	uint32_t nlink, uid, gid;
	uint16_t mode, spare0;
	uint64_t ino, size, blocks;
	uint64_t attributes_mask;
	uint8_t rest[256 - 64];
};
#define HPVS_STATX_BASIC      0x7ffu     /* STATX_BASIC_STATS */
#define HPVS_ATTR_MOUNT_ROOT  0x2000u    /* STATX_ATTR_MOUNT_ROOT (Linux 5.8) */

_Static_assert(sizeof(struct hpvs_statx) == 256, "struct statx is 256 bytes");

static char hpvs_dir[PATH_MAX_SBS];
static uint8_t hpvs_secret[32];   /* SECRET: decoded SBS_APPLIANCE_SECRET */
static int hpvs_have_secret;

/* 1 when path is the root of a mount, 0 when not, -errno. */
static int mount_root(const char *path)
{
	struct hpvs_statx sx;
	struct stat st, up;
	char parent[PATH_MAX_SBS + 4];

	memset(&sx, 0, sizeof sx);
	if (syscall(SYS_statx, AT_FDCWD, path, 0, HPVS_STATX_BASIC, &sx) == 0 &&
	    (sx.attributes_mask & HPVS_ATTR_MOUNT_ROOT))
		return (sx.attributes & HPVS_ATTR_MOUNT_ROOT) != 0;
	if ((size_t)snprintf(parent, sizeof parent, "%s/..", path) >= sizeof parent)
		return -ENAMETOOLONG;
	if (stat(path, &st) < 0 || stat(parent, &up) < 0)
		return -errno;
	return st.st_dev != up.st_dev;
}

/* Creates, writes, fsyncs and removes a probe file in dir: 0 or -errno. */
static int probe_write(const char *dir)
{
	char p[PATH_MAX_SBS + 40];
	uint8_t r[6];
	int fd, rc;

	if ((rc = util_rng(NULL, r, sizeof r)) < 0)
		return rc;
	if ((size_t)snprintf(p, sizeof p, "%s" HPVS_PROBE "%02x%02x%02x%02x%02x%02x", dir, r[0],
			     r[1], r[2], r[3], r[4], r[5]) >= sizeof p)
		return -ENAMETOOLONG;
	fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	rc = util_write_all(fd, "sbs\n", 4);
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	close(fd);
	if (unlink(p) < 0 && rc == 0)
		rc = -errno;
	return rc;
}

/* The volume: absolute, an existing directory, a mount root, writable. */
static int check_volume(const char *vol)
{
	struct stat st;
	int rc;

	if (vol[0] != '/') {
		log_err("hal hpvs: SBS_DATA_DIR must be an absolute path (the volume's mount point "
			"in the container, default %s)", HPVS_VOLUME);
		return -EINVAL;
	}
	rc = stat(vol, &st) < 0 ? -errno : S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
	if (rc < 0) {
		log_err("hal hpvs: the data volume %s is not a directory (%s): mount the HPVS "
			"volume there (docker-compose.yml `volumes:`); refusing to start", vol,
			strerror(-rc));
		return rc;
	}
	if ((rc = mount_root(vol)) <= 0) {
		if (rc == 0)
			rc = -ENOMEDIUM;
		log_err("hal hpvs: %s is not a mounted volume (%s): the keys would land on the "
			"container's own layer. Mount the HPVS data volume there "
			"(docker-compose.yml `volumes:`); refusing to start", vol, strerror(-rc));
		return rc;
	}
	if ((rc = probe_write(vol)) < 0) {
		log_err("hal hpvs: the data volume %s is not writable (%s); refusing to start", vol,
			strerror(-rc));
		return rc;
	}
	return 0;
}

/* Decodes SBS_APPLIANCE_SECRET into hpvs_secret and wipes the env text. */
static int take_secret(void)
{
	char *h = getenv(HPVS_SECRET_ENV);
	size_t n = h ? strlen(h) : 0;
	int rc = 0;

	if (!n && hpvs_have_secret)
		return 0;   /* a second open(): taken from the environment already */
	if (!n) {
		log_err("hal hpvs: %s (64 hex digits) is missing: put it in the contract's env "
			"section and pass it in docker-compose.yml `environment:`; refusing to "
			"start", HPVS_SECRET_ENV);
		return -ENOKEY;
	}
	for (size_t i = 0; n == 64 && i < 32 && rc == 0; i++) {
		int hi = util_hexval(h[2 * i]), lo = util_hexval(h[2 * i + 1]);

		if (hi < 0 || lo < 0)
			rc = -EINVAL;
		else
			hpvs_secret[i] = (uint8_t)(hi << 4 | lo);
	}
	if (n != 64)
		rc = -EINVAL;
	wipe(h, n);
	unsetenv(HPVS_SECRET_ENV);
	if (rc < 0) {
		wipe(hpvs_secret, sizeof hpvs_secret);
		hpvs_have_secret = 0;
		log_err("hal hpvs: %s is not 64 hex digits; refusing to start", HPVS_SECRET_ENV);
		return rc;
	}
	hpvs_have_secret = 1;
	return 0;
}

static int hpvs_open(const struct hal_cfg *cfg)
{
	const char *vol = cfg && cfg->data_dir && cfg->data_dir[0] ? cfg->data_dir : HPVS_VOLUME;
	size_t n = strlen(vol);
	int rc;

	hpvs_dir[0] = 0;
	if (n + sizeof HPVS_SUBDIR > sizeof hpvs_dir)
		return -ENAMETOOLONG;
	if ((rc = take_secret()) < 0)
		return rc;
	if ((rc = check_volume(vol)) < 0)
		return rc;
	memcpy(hpvs_dir, vol, n);
	memcpy(hpvs_dir + n, HPVS_SUBDIR, sizeof HPVS_SUBDIR);
	if ((rc = util_mkdirs(hpvs_dir, 0700)) < 0) {
		log_err("hal hpvs: cannot make %s: %s", hpvs_dir, strerror(-rc));
		hpvs_dir[0] = 0;
		return rc;
	}
	log_info("hal hpvs: data volume %s (a mount) is writable; data in %s", vol, hpvs_dir);
	return 0;
}

static const char *hpvs_data_dir(void)
{
	return hpvs_dir;
}

static int hpvs_appliance_secret(uint8_t out[static 32])
{
	if (!hpvs_have_secret)
		return -ENOKEY;
	memcpy(out, hpvs_secret, sizeof hpvs_secret);
	return 0;
}

extern const struct hal hal_se;

/* The same test as hal se: /sys/firmware/uv/prot_virt_guest reads "1". */
static int hpvs_protected_guest(void)
{
	return hal_se.protected_guest();
}

static int hpvs_attest(const uint8_t *user, size_t ulen, struct buf *out)
{
	struct stat st;

	if (!hpvs_protected_guest())
		return -ENOTSUP;
	if (stat(UV_DEVICE, &st) < 0 || !S_ISCHR(st.st_mode))
		return -ENODEV;
	return hal_se.attest(user, ulen, out);
}

const struct hal hal_hpvs = {
	.name = "hpvs",
	.open = hpvs_open,
	.data_dir = hpvs_data_dir,
	.appliance_secret = hpvs_appliance_secret,
	.protected_guest = hpvs_protected_guest,
	.attest = hpvs_attest,
	.default_data_dir = HPVS_VOLUME,
};
