/* SPDX-License-Identifier: MIT */
/*
 * hal se: sbsd as PID 1 of the s390x appliance (Secure Execution on real
 * hardware, plain QEMU in CI). The data volume is the first virtio disk,
 * /dev/vda, mounted at /data; the data directory is /data/sbs (0700).
 *
 * Volume (this revision): plain ext4. A disk without an ext4 superblock is
 * formatted with the static /sbin/mke2fs from the initramfs, unless it
 * carries a LUKS header: such a disk is never touched (the LUKS2 volume of
 * hal/luks2.c is opened there once it lands). Formatting is the only
 * shell-out of sbsd and happens before any listener exists.
 *
 * Appliance secret: SBS_APPLIANCE_SECRET from the deploy-time env file, 64
 * hex digits. Under Secure Execution the env cpio is encrypted into the SE
 * image, so the secret is protected at rest exactly as well as that image;
 * under plain QEMU the env cpio is a file on the host and protects nothing.
 * The hex text is left in the environment (root-only /proc/<pid>/environ);
 * the decoded bytes are wiped by the caller.
 *
 * protected_guest: /sys/firmware/uv/prot_virt_guest reads "1".
 */
#include "hal.h"
#include "init.h"
#include "limits.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SE_DISK      "/dev/vda"
#define SE_MKE2FS    "/sbin/mke2fs"
#define SE_DATA_DIR  INIT_DATA_MNT "/sbs"
#define SE_UV_GUEST  "/sys/firmware/uv/prot_virt_guest"
#define SE_SECRET_ENV "SBS_APPLIANCE_SECRET"

/* ext4 superblock at byte 1024, s_magic (le16 0xEF53) at offset 0x38. */
#define EXT_SB_OFF   1024
#define EXT_MAGIC_OFF (EXT_SB_OFF + 0x38)
#define PROBE_LEN    4096

static const uint8_t luks_magic[6] = { 'L', 'U', 'K', 'S', 0xba, 0xbe };

static void nap(void)
{
	struct timespec ts = { 0, INIT_POLL_MS * 1000000L };

	nanosleep(&ts, NULL);
}

static int wait_disk(void)
{
	struct stat st;

	for (int waited = 0; stat(SE_DISK, &st) < 0 || !S_ISBLK(st.st_mode);
	     waited += INIT_POLL_MS) {
		if (waited > INIT_DEV_WAIT_MS) {
			log_err("hal se: no %s after %d ms (attach a virtio-blk-ccw disk)", SE_DISK,
				INIT_DEV_WAIT_MS);
			return -ENODEV;
		}
		nap();
	}
	return 0;
}

/* Reads the first PROBE_LEN bytes of the disk. */
static int probe(uint8_t b[static PROBE_LEN])
{
	size_t got = 0;
	int fd = open(SE_DISK, O_RDONLY | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return -errno;
	while (got < PROBE_LEN) {
		ssize_t r = pread(fd, b + got, PROBE_LEN - got, (off_t)got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			rc = r < 0 ? -errno : -EIO;
			break;
		}
		got += (size_t)r;
	}
	close(fd);
	return rc;
}

/* Runs mke2fs on the disk; bounded by SE_MKFS_WAIT_MS. */
static int mkfs(void)
{
	char *const argv[] = { (char *)"mke2fs", (char *)"-q", (char *)"-F", (char *)"-t",
			       (char *)"ext4", (char *)"-L", (char *)"sbs-data", (char *)"-m",
			       (char *)"0", (char *)SE_DISK, NULL };
	char *const envp[] = { NULL };
	int st = 0, waited = 0;
	pid_t pid, r;

	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		execve(SE_MKE2FS, argv, envp);
		_exit(127);
	}
	while ((r = waitpid(pid, &st, WNOHANG)) == 0 && waited <= SE_MKFS_WAIT_MS) {
		nap();
		waited += INIT_POLL_MS;
	}
	if (r == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		log_err("hal se: mke2fs did not finish within %d ms", SE_MKFS_WAIT_MS);
		return -ETIMEDOUT;
	}
	if (r < 0)
		return -errno;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		log_err("hal se: %s %s failed (status %d)", SE_MKE2FS, SE_DISK,
			WIFEXITED(st) ? WEXITSTATUS(st) : -1);
		return -EIO;
	}
	return 0;
}

static int se_open(const struct hal_cfg *cfg)
{
	uint8_t b[PROBE_LEN];
	int rc;

	(void)cfg;
	if ((rc = wait_disk()) < 0)
		return rc;
	if ((rc = probe(b)) < 0) {
		log_err("hal se: cannot read %s: %s", SE_DISK, strerror(-rc));
		return rc;
	}
	if (memcmp(b, luks_magic, sizeof luks_magic) == 0) {
		log_err("hal se: %s has a LUKS header, but this build mounts a plain ext4 "
			"volume; refusing to touch the disk", SE_DISK);
		return -EMEDIUMTYPE;
	}
	if (b[EXT_MAGIC_OFF] != 0x53 || b[EXT_MAGIC_OFF + 1] != 0xef) {
		log_info("hal se: %s has no file system: formatting it (ext4)", SE_DISK);
		if ((rc = mkfs()) < 0)
			return rc;
	}
	if (mkdir(INIT_DATA_MNT, 0755) < 0 && errno != EEXIST)
		return -errno;
	if (mount(SE_DISK, INIT_DATA_MNT, "ext4", MS_NOSUID | MS_NODEV, NULL) < 0) {
		rc = -errno;
		log_err("hal se: cannot mount %s on %s: %s", SE_DISK, INIT_DATA_MNT,
			strerror(-rc));
		return rc;
	}
	log_info("hal se: %s mounted on %s", SE_DISK, INIT_DATA_MNT);
	return util_mkdirs(SE_DATA_DIR, 0700);
}

static const char *se_data_dir(void)
{
	return SE_DATA_DIR;
}

static int se_appliance_secret(uint8_t out[static 32])
{
	const char *h = getenv(SE_SECRET_ENV);

	if (!h || strlen(h) != 64) {
		log_err("hal se: %s (64 hex digits) is missing from the deploy-time env",
			SE_SECRET_ENV);
		return -ENOKEY;
	}
	for (size_t i = 0; i < 32; i++) {
		int hi = util_hexval(h[2 * i]), lo = util_hexval(h[2 * i + 1]);

		if (hi < 0 || lo < 0) {
			wipe(out, 32);
			log_err("hal se: %s is not 64 hex digits", SE_SECRET_ENV);
			return -EINVAL;
		}
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

static int se_protected_guest(void)
{
	char c = 0;
	int fd = open(SE_UV_GUEST, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	if (read(fd, &c, 1) != 1)
		c = 0;
	close(fd);
	return c == '1';
}

const struct hal hal_se = {
	.name = "se",
	.open = se_open,
	.data_dir = se_data_dir,
	.appliance_secret = se_appliance_secret,
	.protected_guest = se_protected_guest,
};
