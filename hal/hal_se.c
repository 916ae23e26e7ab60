/* SPDX-License-Identifier: MIT */
/*
 * hal se: sbsd as PID 1 of the s390x appliance (Secure Execution on real
 * hardware, plain QEMU in CI). The data volume is the first virtio disk,
 * /dev/vda: LUKS2 (hal/luks2.c, written and read by sbs itself), mapped
 * with dm-crypt ioctls (hal/dm.c) as /dev/dm-N, ext4 on top, mounted at
 * /data; the data directory is /data/sbs (0700).
 *
 * Volume, in order (hal/vol.h has the rules and the passphrase formula):
 *  1. passphrase from SBS_WORKLOAD_SEED and SBS_ENV_SEED of the deploy-time
 *     env; when the guest is protected (Secure Execution), the appliance
 *     secret sealed in the SE image is mixed in (HMAC key);
 *  2. a blank disk is formatted as LUKS2; a LUKS disk is opened; a disk
 *     that does not open (wrong seeds, corrupt headers, unusable keyslots)
 *     or holds a plain file system is refused with a console line naming
 *     the reason (never the passphrase) and is not written to: sbsd exits,
 *     PID 1 powers off;
 *  3. dm-crypt mapping "sbs-data" over the LUKS2 data segment;
 *  4. the file system: mke2fs (the static /sbin/mke2fs of the initramfs, the
 *     only shell-out of sbsd, before any listener exists) covers all but the
 *     last 4 KiB block of the mapping; once it has finished, a marker is
 *     written into that block. No marker and nothing that mounts = a first
 *     boot that never finished (a power cut inside mke2fs included): make
 *     the file system again. Marker present and no mount: refused, never
 *     reformatted. A file system that mounts is never reformatted;
 *  5. mount ext4 on /data (nosuid, nodev).
 *
 * Appliance secret: SBS_APPLIANCE_SECRET from the deploy-time env file, 64
 * hex digits. Under Secure Execution the env cpio is encrypted into the SE
 * image, so the secret is protected at rest exactly as well as that image;
 * under plain QEMU the env cpio is a file on the host and protects nothing.
 * The hex text is left in the environment (root-only /proc/<pid>/environ);
 * the decoded bytes are wiped by the caller.
 *
 * protected_guest: /sys/firmware/uv/prot_virt_guest reads "1".
 * attest: only when protected; the request is SBS_ATTEST_REQUEST (base64 of
 * a `pvattest create` exchange file) from the env; /dev/uv (hal/uv.h).
 */
#include "hal.h"
#include "cry.h"
#include "dm.h"
#include "init.h"
#include "limits.h"
#include "util.h"
#include "uv.h"
#include "vol.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SE_DISK       "/dev/vda"
#define SE_MAP_NAME   "sbs-data"
#define SE_MKE2FS     "/sbin/mke2fs"
#define SE_DATA_DIR   INIT_DATA_MNT "/sbs"
#define SE_UV_GUEST   "/sys/firmware/uv/prot_virt_guest"
#define SE_SECRET_ENV "SBS_APPLIANCE_SECRET"
#define SE_WSEED_ENV  "SBS_WORKLOAD_SEED"
#define SE_ESEED_ENV  "SBS_ENV_SEED"
#define SE_ATT_ENV    "SBS_ATTEST_REQUEST"

/* ext4 superblock at byte 1024, s_magic (le16 0xEF53) at offset 0x38. */
#define EXT_SB_OFF    1024
#define SE_FS_BLOCK   4096u   /* ext4 block size (mke2fs -b) and the marker block */

static int se_protected_guest(void);
static int se_appliance_secret(uint8_t out[static 32]);

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

/* What the mapping holds: an ext4 superblock (and how many bytes its file
 * system spans), and the "first boot finished" marker in the last 4 KiB
 * block, which the file system never covers (mke2fs is given one block
 * less). The marker is written only after mke2fs has finished and synced, so
 * a superblock without it is a format that a power cut interrupted. */
struct fs_state {
	int ext4;           /* superblock magic present */
	uint64_t fs_bytes;  /* s_blocks_count << block size */
	int ready;          /* marker present */
};

static const uint8_t fs_marker[16] = "sbs-volume-ok-1";

static int fs_probe(int fd, uint64_t size, struct fs_state *st)
{
	uint8_t sb[1024], last[sizeof fs_marker];
	uint64_t blocks;
	uint32_t log;

	memset(st, 0, sizeof *st);
	if (size < SE_FS_BLOCK * 2 ||
	    pread(fd, sb, sizeof sb, EXT_SB_OFF) != (ssize_t)sizeof sb ||
	    pread(fd, last, sizeof last, (off_t)(size - SE_FS_BLOCK)) != (ssize_t)sizeof last)
		return -EIO;
	st->ready = !memcmp(last, fs_marker, sizeof fs_marker);
	st->ext4 = sb[0x38] == 0x53 && sb[0x39] == 0xef;
	log = (uint32_t)sb[0x18] | (uint32_t)sb[0x19] << 8 | (uint32_t)sb[0x1a] << 16 |
	      (uint32_t)sb[0x1b] << 24;
	blocks = (uint64_t)sb[0x04] | (uint64_t)sb[0x05] << 8 | (uint64_t)sb[0x06] << 16 |
		 (uint64_t)sb[0x07] << 24 | (uint64_t)sb[0x150] << 32 | (uint64_t)sb[0x151] << 40;
	st->fs_bytes = log <= 6 ? blocks << (10 + log) : UINT64_MAX;
	return 0;
}

/* Writes the marker into the last block, when no file system covers it. */
static int fs_mark(int fd, uint64_t size, const struct fs_state *st)
{
	if (st->fs_bytes > size - SE_FS_BLOCK)
		return 0;   /* a file system of an older sbs spans the whole mapping */
	if (pwrite(fd, fs_marker, sizeof fs_marker, (off_t)(size - SE_FS_BLOCK)) !=
	    (ssize_t)sizeof fs_marker || fsync(fd) < 0)
		return -EIO;
	return 0;
}

/* Runs mke2fs on dev; bounded by SE_MKFS_WAIT_MS. */
static int mkfs(const char *devpath, uint64_t blocks)
{
	char dev[32], nblk[24];
	char *const argv[] = { (char *)"mke2fs", (char *)"-q", (char *)"-F", (char *)"-t",
			       (char *)"ext4", (char *)"-b", (char *)"4096", (char *)"-L",
			       (char *)"sbs-data", (char *)"-m", (char *)"0", dev, nblk, NULL };
	char *const envp[] = { NULL };
	int st = 0, waited = 0;
	pid_t pid, r;

	snprintf(dev, sizeof dev, "%s", devpath);
	snprintf(nblk, sizeof nblk, "%llu", (unsigned long long)blocks);
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
		log_err("hal se: %s %s failed (status %d)", SE_MKE2FS, dev,
			WIFEXITED(st) ? WEXITSTATUS(st) : -1);
		return -EIO;
	}
	return 0;
}

/* The LUKS2 passphrase (vol.h); the sealed secret only when protected. */
static int passphrase(char pass[static VOL_PASS_LEN + 1])
{
	uint8_t sealed[32];
	int prot = se_protected_guest(), rc = 0;

	if (prot && (rc = se_appliance_secret(sealed)) < 0)
		return rc;
	rc = vol_passphrase(getenv(SE_WSEED_ENV), getenv(SE_ESEED_ENV), prot ? sealed : NULL,
			    pass);
	wipe(sealed, sizeof sealed);
	if (rc < 0)
		log_err("hal se: %s and %s (1 to %d characters each) must be in the deploy-time "
			"env (sbs appliance-env writes them)", SE_WSEED_ENV, SE_ESEED_ENV,
			SE_MAX_SEED);
	else
		log_info("hal se: volume passphrase from %s and %s%s", SE_WSEED_ENV, SE_ESEED_ENV,
			 prot ? " and the secret sealed in the SE image" : "");
	return rc;
}

/* The console line for a disk sbsd will not touch. */
static void refuse(int rc)
{
	const char *why;

	switch (rc) {
	case -EKEYREJECTED:
		why = "it holds a LUKS2 volume that does not open with " SE_WSEED_ENV " and "
		      SE_ESEED_ENV " of this deploy-time env (wrong seeds, or the disk of "
		      "another appliance)";
		break;
	case -EINVAL:
		why = "it has a LUKS header, but neither header copy is valid";
		break;
	case -ENOTSUP:
		why = "its LUKS2 header has no keyslot sbs can use (pbkdf2-sha256, "
		      "aes-xts-plain64)";
		break;
	case -EMEDIUMTYPE:
		why = "it holds a plain ext2/3/4 file system, not a LUKS2 volume (sbs formats "
		      "only blank disks)";
		break;
	default:
		log_err("hal se: cannot open the data volume on %s: %s; powering off", SE_DISK,
			strerror(-rc));
		return;
	}
	log_err("hal se: REFUSING the data volume %s: %s. The disk was not written to; "
		"powering off.", SE_DISK, why);
}

/* Maps the unlocked volume; wipes o->vk whatever happens. */
static int map(struct vol_open *o, char *dev, size_t cap)
{
	struct dm_crypt c = {
		.name = SE_MAP_NAME, .backing = SE_DISK, .offset = o->info.data_offset / 512,
		.sectors = o->map_sectors, .iv_offset = o->info.iv_tweak,
		.sector_size = o->info.sector_size, .key = o->vk, .key_len = LUKS2_VK_LEN,
	};
	int rc = dm_crypt_create(&c, dev, cap);

	wipe(o->vk, sizeof o->vk);
	if (rc < 0)
		log_err("hal se: dm-crypt mapping of %s failed: %s", SE_DISK, strerror(-rc));
	return rc;
}

static int do_mount(const char *dev)
{
	if (mkdir(INIT_DATA_MNT, 0755) < 0 && errno != EEXIST)
		return -errno;
	return mount(dev, INIT_DATA_MNT, "ext4", MS_NOSUID | MS_NODEV, NULL) < 0 ? -errno : 0;
}

/* Mounts the file system on the mapping; makes it when the first boot never
 * finished (no marker and nothing that mounts). A finished volume whose file
 * system does not mount is refused, never reformatted. */
static int mount_volume(const char *dev, uint64_t size)
{
	struct fs_state st;
	int fd = open(dev, O_RDWR | O_CLOEXEC), rc;

	if (fd < 0)
		return -errno;
	if ((rc = fs_probe(fd, size, &st)) < 0)
		goto out;
	rc = st.ext4 ? do_mount(dev) : -EINVAL;
	if (rc == 0) {
		if (!st.ready && fs_mark(fd, size, &st) < 0)   /* mke2fs finished, the marker not */
			log_warn("hal se: cannot mark the volume finished (next boot retries)");
		goto out;
	}
	if (st.ready) {
		log_err("hal se: REFUSING the data volume: its ext4 file system (%s) does not "
			"mount on %s: %s; not reformatting it; powering off", dev, INIT_DATA_MNT,
			strerror(-rc));
		goto out;
	}
	log_info("hal se: no finished file system on the volume yet: formatting it (ext4)");
	if ((rc = mkfs(dev, size / SE_FS_BLOCK - 1)) < 0 || (rc = fs_probe(fd, size, &st)) < 0 ||
	    (rc = fs_mark(fd, size, &st)) < 0 || (rc = do_mount(dev)) < 0)
		log_err("hal se: making the file system on %s failed: %s", dev, strerror(-rc));
out:
	close(fd);
	return rc;
}

static int se_open(const struct hal_cfg *cfg)
{
	char pass[VOL_PASS_LEN + 1], dev[32];
	struct vol_open o;
	uint64_t size;
	int rc;

	(void)cfg;
	if ((rc = wait_disk()) < 0 || (rc = passphrase(pass)) < 0)
		return rc;
	rc = vol_unlock(SE_DISK, pass, 0, util_rng, NULL, &o);
	wipe(pass, sizeof pass);
	if (rc < 0) {
		refuse(rc);
		return rc;
	}
	if (o.formatted)
		log_info("hal se: %s was blank: formatting it: LUKS2 written (%llu MiB of data)",
			 SE_DISK, (unsigned long long)(o.map_sectors >> 11));
	else
		log_info("hal se: %s: LUKS2 volume %s opened%s", SE_DISK, o.info.uuid,
			 o.info.used_secondary ? " (from the secondary header)" : "");
	size = o.map_sectors * 512;
	rc = map(&o, dev, sizeof dev);
	wipe(&o, sizeof o);
	if (rc < 0 || (rc = mount_volume(dev, size)) < 0)
		return rc;
	log_info("hal se: %s (dm-crypt over %s) mounted on %s", dev, SE_DISK, INIT_DATA_MNT);
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

/* The deployed attestation request, decoded into req (caller frees). */
static int attest_request(uint8_t **req, size_t *len)
{
	const char *b64 = getenv(SE_ATT_ENV);
	size_t n = b64 ? strlen(b64) : 0, cap = n / 4 * 3 + 3;

	*req = NULL;
	if (!n)
		return -ENOKEY;
	if (cap > SE_MAX_ARCB + 2 * UV_XHDR_LEN)
		return -E2BIG;
	*req = malloc(cap);
	if (!*req)
		return -ENOMEM;
	if (cry_b64_decode(b64, n, *req, cap, len) < 0) {
		free(*req);
		*req = NULL;
		return -EINVAL;
	}
	return 0;
}

static int se_attest(const uint8_t *user, size_t ulen, struct buf *out)
{
	struct uv_request rq;
	uint8_t *req = NULL;
	size_t len = 0;
	int fd = -1, rc;

	if (!se_protected_guest())
		return -ENOTSUP;
	rc = attest_request(&req, &len);
	if (rc == 0 && (rc = uv_parse_request(req, len, &rq)) < 0)
		log_err("hal se: %s is not a pvattest request (exchange format v1)", SE_ATT_ENV);
	if (rc == 0 && (fd = open(UV_DEVICE, O_RDWR | O_CLOEXEC)) < 0) {
		rc = -errno;
		log_err("hal se: cannot open %s: %s", UV_DEVICE, strerror(-rc));
	}
	if (rc == 0)
		rc = uv_attest(fd, &rq, user, ulen, out);
	if (fd >= 0)
		close(fd);
	free(req);
	return rc;
}

const struct hal hal_se = {
	.name = "se",
	.open = se_open,
	.data_dir = se_data_dir,
	.appliance_secret = se_appliance_secret,
	.protected_guest = se_protected_guest,
	.attest = se_attest,
};
