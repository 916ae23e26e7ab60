/* SPDX-License-Identifier: MIT */
/*
 * luks2: the on-disk format of the encrypted data volume, written and read by
 * sbs itself so that the appliance needs no cryptsetup. The result is a plain
 * LUKS2 volume that the host's cryptsetup (2.x) opens too (docs/volume.md).
 *
 * What luks2_format() writes: two header copies (primary at 0, secondary at
 * LUKS2_HDR_SIZE; binary header + 12 KiB JSON, SHA-256 checksum), one keyslot
 * (PBKDF2-HMAC-SHA256, AF "luks1" with 4000 stripes of SHA-256, area
 * encrypted with aes-xts-plain64 and a 512-bit key), one segment
 * (aes-xts-plain64, 512-byte sectors, from LUKS2_DATA_OFFSET to the end of the
 * device) and one PBKDF2 digest of the volume key. The rest of the metadata
 * area (up to LUKS2_DATA_OFFSET) is zeroed first, so no old keyslot survives.
 * The data area is not touched.
 *
 * What luks2_open() accepts: a LUKS2 device whose header copies are checked
 * (magic, version, size, offset, SHA-256 checksum, JSON NUL-terminated inside
 * its area and parsable, config.json_size); the valid copy with the higher
 * seqid wins (primary on a tie). Keyslots of type luks2 with a pbkdf2/sha256
 * KDF, af luks1/sha256/4000 stripes and an aes-xts-plain64 area (256- or
 * 512-bit) are tried in order; others are skipped as unsupported. The volume
 * key must be 64 bytes and its segment aes-xts-plain64. It never writes.
 *
 * Errors (negative errno): -EINVAL not LUKS2, both headers corrupt or a JSON
 * member missing or out of range; -EKEYREJECTED at least one keyslot was
 * tried and the passphrase opened none; -ENOTSUP no keyslot could be tried
 * (argon2, other ciphers or hashes, more than max_iter iterations) or the
 * matching segment is not aes-xts-plain64; -EIO a read or write failed;
 * -ENOSPC device too small for format; -ENOMEM.
 *
 * Secrets: the passphrase (borrowed), the volume key (caller's buffer, which
 * the caller wipes) and everything derived from them inside: the keyslot key,
 * the AF material, the digest candidates. All are wiped before return, on
 * every path. No secret reaches a log or an error.
 *
 * Limits: src/limits.h LUKS2_* (header size, keyslots, digests, salts,
 * passphrase, iterations).
 */
#ifndef SBS_LUKS2_H
#define SBS_LUKS2_H

#include <stddef.h>
#include <stdint.h>

#include "cry.h"

/* Format constants (what luks2_format writes; see docs/volume.md). */
#define LUKS2_VK_LEN          64            /* AES-256-XTS volume key: K1 || K2 */
#define LUKS2_HDR_SIZE        16384u        /* binary 4 KiB + JSON 12 KiB (cryptsetup's default) */
#define LUKS2_BIN_SIZE        4096u         /* binary part of one header copy */
#define LUKS2_DATA_OFFSET     (16u << 20)   /* first byte of the encrypted data */
#define LUKS2_STRIPES         4000u         /* AF stripes (the only value cryptsetup uses) */
#define LUKS2_MIN_KDF_ITER    1000u         /* cryptsetup's floor for PBKDF2 */
#define LUKS2_KDF_TARGET_MS   100u          /* benchmark target when iterations == 0 */
#define LUKS2_MIN_DATA        (1u << 20)    /* smallest data area luks2_format accepts */

struct luks2_fmt {
	uint32_t kdf_iterations;     /* keyslot PBKDF2; 0 = luks2_bench_iterations(LUKS2_KDF_TARGET_MS) */
	uint32_t digest_iterations;  /* digest PBKDF2; 0 = LUKS2_MIN_KDF_ITER */
	const char *label;           /* NULL = none; printable ASCII, at most 47 bytes */
};

/* Formats the device behind fd (an image file or a block device) of dev_size
 * bytes with a fresh random volume key, which is also copied to vk so the
 * caller can map the volume without a second KDF run. pass/plen: 1 to
 * LUKS2_MAX_PASSPHRASE bytes. opt NULL = all defaults. rng supplies every
 * random byte (volume key, salts, UUID, AF stripes). The device is fsynced.
 * Iterations outside [LUKS2_MIN_KDF_ITER, LUKS2_MAX_KDF_ITER] are -EINVAL. */
int luks2_format(int fd, uint64_t dev_size, const uint8_t *pass, size_t plen,
		 const struct luks2_fmt *opt, cry_rng_fn rng, void *rctx,
		 uint8_t vk[static LUKS2_VK_LEN]);

/* What luks2_open learnt about the data segment (not secret). */
struct luks2_info {
	uint64_t data_offset;   /* bytes from the start of the device */
	uint64_t data_size;     /* bytes; 0 = "dynamic": to the end of the device */
	uint64_t iv_tweak;      /* first IV (dm-crypt iv_offset), in 512-byte units */
	uint32_t sector_size;   /* encryption sector: 512, 1024, 2048 or 4096 */
	uint64_t seqid;         /* of the header copy used */
	int used_secondary;     /* 1 if the secondary copy was used */
	char uuid[40];          /* NUL-terminated, as in the header */
};

/* A read-only device: read() fills exactly len bytes at off (0) or fails
 * (negative errno); size is the device size in bytes; reads never reach
 * past it. max_iter bounds every PBKDF2 count taken from the header. */
typedef int (*luks2_read_fn)(void *ctx, uint64_t off, uint8_t *buf, size_t len);
struct luks2_dev {
	luks2_read_fn read;
	void *ctx;
	uint64_t size;
	uint32_t max_iter;
};

/* Unlocks with pass and writes the 64-byte volume key to vk (wiped by the
 * caller). info may be NULL. On failure vk is zeroed. */
int luks2_open_dev(const struct luks2_dev *d, const uint8_t *pass, size_t plen,
		   uint8_t vk[static LUKS2_VK_LEN], struct luks2_info *info);
/* The same on fd (pread; size from fstat or BLKGETSIZE64; max_iter =
 * LUKS2_MAX_KDF_ITER). */
int luks2_open(int fd, const uint8_t *pass, size_t plen,
	       uint8_t vk[static LUKS2_VK_LEN], struct luks2_info *info);

/* Size in bytes of a regular file or block device. 0 or -errno. */
int luks2_dev_size(int fd, uint64_t *size);

/* PBKDF2-HMAC-SHA256 iterations (64-byte output) that take about ms
 * milliseconds here, clamped to [LUKS2_MIN_KDF_ITER, LUKS2_MAX_KDF_ITER]. */
uint32_t luks2_bench_iterations(unsigned ms);

/* Anti-forensic split and merge (LUKS1 spec, H1 diffusion with SHA-256),
 * exposed for tests. split: out gets stripes * klen bytes, all but the last
 * stripe from rng. merge: key gets klen bytes. klen <= 64, stripes >= 1.
 * Both outputs are secret. 0, -EINVAL or the rng's error. */
int luks2_af_split(const uint8_t *key, size_t klen, uint32_t stripes, uint8_t *out,
		   cry_rng_fn rng, void *rctx);
int luks2_af_merge(const uint8_t *in, size_t klen, uint32_t stripes, uint8_t *key);

#endif
