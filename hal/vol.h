/* SPDX-License-Identifier: MIT */
/*
 * vol: the decisions about the appliance's data volume that need no kernel
 * help, so they are unit-tested on an image file (tests/test_luks2.c): the
 * LUKS2 passphrase from the deploy-time seeds, what a disk holds, and "open
 * it, or format it when it is blank". hal/hal_se.c adds the kernel half
 * (dm-crypt mapping, mke2fs, mount). docs/volume.md is the user's view.
 *
 * Passphrase (64 lower-case hex characters, ASCII, no newline):
 *   no sealed secret:  hex(SHA-256(workload_seed || env_seed))
 *   sealed secret S:   hex(HMAC-SHA256(key = S (32 bytes), workload_seed || env_seed))
 * The seeds are the env values exactly as given (text, not hex-decoded), as
 * HPVS hashes its contract seeds; a host recomputes the first form with
 * `printf %s "$W$E" | sha256sum`, the second with `openssl dgst -sha256
 * -mac HMAC -macopt hexkey:<S>`.
 *
 * What a disk holds (vol_probe): VOL_LUKS when the primary LUKS magic is at
 * byte 0 or a secondary header magic ("SKUL\xba\xbe") is at any offset
 * cryptsetup can put one (16 KiB ... 4 MiB) -- so a disk whose primary
 * header was lost is still LUKS and never reformatted; VOL_FOREIGN when an
 * ext2/3/4 superblock is at byte 1024 (a plain volume of an older sbs, or a
 * disk meant for something else); VOL_BLANK otherwise (zeros, or a format
 * cut short before any header copy was written).
 *
 * vol_unlock never writes to a disk that is not VOL_BLANK: a LUKS disk is
 * only read (luks2_open), a foreign one is refused. A blank disk is
 * formatted (luks2_format: PBKDF2 keyslot, iterations benchmarked for
 * LUKS2_KDF_TARGET_MS on this machine, label "sbs-data").
 *
 * Errors (negative errno, never naming a secret): -EKEYREJECTED the
 * passphrase opens no keyslot; -EINVAL both LUKS headers corrupt (or a bad
 * argument); -ENOTSUP no keyslot sbs can use; -EMEDIUMTYPE foreign disk;
 * -ENOSPC too small to format; -EIO and others from the device.
 *
 * Secrets: the seeds and sealed secret (borrowed), the passphrase (caller's
 * buffer) and struct vol_open.vk (the volume key): the caller wipes both;
 * every intermediate is wiped here. Limits: SE_MAX_SEED (src/limits.h).
 */
#ifndef SBS_VOL_H
#define SBS_VOL_H

#include <stddef.h>
#include <stdint.h>

#include "cry.h"
#include "luks2.h"

#define VOL_PASS_LEN 64
#define VOL_LABEL    "sbs-data"

/* out gets VOL_PASS_LEN hex characters and a NUL (SECRET). Seeds must be
 * 1..SE_MAX_SEED bytes; sealed is NULL or 32 bytes. 0 or -EINVAL. */
int vol_passphrase(const char *wseed, const char *eseed, const uint8_t *sealed,
		   char out[static VOL_PASS_LEN + 1]);

enum vol_kind { VOL_BLANK = 0, VOL_LUKS = 1, VOL_FOREIGN = 2 };
/* Classifies the disk behind fd (size bytes). 0 or -errno (read error). */
int vol_probe(int fd, uint64_t size, enum vol_kind *kind);

struct vol_open {
	uint8_t vk[LUKS2_VK_LEN];   /* SECRET: the volume key */
	struct luks2_info info;     /* data segment */
	uint64_t dev_size;          /* bytes */
	uint64_t map_sectors;       /* 512-byte sectors of the data segment */
	int formatted;              /* 1: this call formatted a blank disk */
	enum vol_kind kind;         /* what the disk held before */
};

/* Opens (or formats, when blank) the disk at path with pass. kdf_iterations
 * 0 = benchmark (tests pass LUKS2_MIN_KDF_ITER). o->vk is zero on failure. */
int vol_unlock(const char *path, const char *pass, uint32_t kdf_iterations,
	       cry_rng_fn rng, void *rctx, struct vol_open *o);

#endif
