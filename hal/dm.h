/* SPDX-License-Identifier: MIT */
/*
 * dm: device-mapper "crypt" mappings through raw ioctls on
 * /dev/mapper/control (no libdevmapper, no cryptsetup, no udev): create,
 * load one crypt target, resume; and remove. The appliance maps its LUKS2
 * data volume this way after luks2_open() (hal/luks2.h).
 *
 * Secrets: the key (borrowed) goes into the table as hex. The ioctl buffer
 * and the parameter string are wiped before return on every path, and the
 * load is flagged DM_SECURE_DATA_FLAG so the kernel wipes its copy too. The
 * key never appears in an error or a log line.
 *
 * Errors (negative errno): -EINVAL bad argument (name not 1..DM_MAX_NAME of
 * [A-Za-z0-9._-], key length not 32/64, zero length, sector size not a power
 * of two in 512..4096); -ENOTBLK backing is not a block device; -ENOENT no
 * /dev/mapper/control (no device-mapper in this kernel or no devtmpfs);
 * -EPROTO the kernel speaks another DM ioctl major version; -EBUSY the name
 * is taken; otherwise the ioctl's errno. A failed create removes the
 * half-made device again.
 *
 * Limits: DM_MAX_NAME, DM_MAX_TABLE (src/limits.h).
 */
#ifndef SBS_DM_H
#define SBS_DM_H

#include <stddef.h>
#include <stdint.h>

struct dm_crypt {
	const char *name;        /* mapping name (/dev/mapper/<name> with udev) */
	const char *backing;     /* block device holding the ciphertext, e.g. /dev/vda */
	uint64_t offset;         /* first data sector on backing, 512-byte units */
	uint64_t sectors;        /* mapping length, 512-byte units; a multiple of sector_size/512 */
	uint64_t iv_offset;      /* first IV (LUKS2 iv_tweak), 512-byte units */
	uint32_t sector_size;    /* encryption sector, 512..4096 */
	const uint8_t *key;      /* SECRET: aes-xts-plain64 key, K1 || K2 */
	size_t key_len;          /* 64 (AES-256-XTS) or 32 (AES-128-XTS) */
};

/* The crypt target's parameter string for the table line
 * "0 <sectors> crypt <params>":
 * "aes-xts-plain64 <hex key> <iv_offset> <major>:<minor> <offset>"
 * plus " 1 sector_size:<n>" when n != 512. out is SECRET (holds the key).
 * 0, -EINVAL or -ENOSPC. */
int dm_crypt_params(char *out, size_t cap, const struct dm_crypt *c,
		    unsigned major, unsigned minor);

/* Creates and activates the mapping; writes "/dev/dm-<minor>" to path. */
int dm_crypt_create(const struct dm_crypt *c, char *path, size_t cap);

/* Removes the mapping called name (-ENXIO: none; -EBUSY: still open). */
int dm_remove(const char *name);

#endif
