/* SPDX-License-Identifier: MIT */
/*
 * vol: passphrase derivation, disk classification and open-or-format of the
 * appliance data volume (see vol.h). Only a disk classified VOL_BLANK is
 * ever opened for writing.
 */
#include "vol.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "limits.h"
#include "util.h"

#define EXT_MAGIC_OFF  (1024 + 0x38)   /* ext2/3/4 s_magic, le16 0xEF53 */
#define MAGIC_LEN      6

static const uint8_t magic1[MAGIC_LEN] = { 'L', 'U', 'K', 'S', 0xba, 0xbe };
static const uint8_t magic2[MAGIC_LEN] = { 'S', 'K', 'U', 'L', 0xba, 0xbe };

int vol_passphrase(const char *wseed, const char *eseed, const uint8_t *sealed,
		   char out[static VOL_PASS_LEN + 1])
{
	size_t wl = wseed ? strnlen(wseed, SE_MAX_SEED + 1) : 0;
	size_t el = eseed ? strnlen(eseed, SE_MAX_SEED + 1) : 0;
	uint8_t msg[2 * SE_MAX_SEED], h[32];

	out[0] = 0;
	if (!wl || !el || wl > SE_MAX_SEED || el > SE_MAX_SEED)
		return -EINVAL;
	memcpy(msg, wseed, wl);
	memcpy(msg + wl, eseed, el);
	if (sealed)
		cry_hmac_sha256(sealed, 32, msg, wl + el, h);
	else
		cry_sha256(msg, wl + el, h);
	cry_hex(h, sizeof h, out);
	wipe(msg, sizeof msg);
	wipe(h, sizeof h);
	return 0;
}

/* Exactly len bytes at off, or -errno (-EIO at end of device). */
static int read_at(int fd, uint64_t off, uint8_t *b, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t r = pread(fd, b + got, len - got, (off_t)(off + got));

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -EIO;
		got += (size_t)r;
	}
	return 0;
}

int vol_probe(int fd, uint64_t size, enum vol_kind *kind)
{
	uint8_t b[MAGIC_LEN];
	int rc;

	*kind = VOL_BLANK;
	if (size >= MAGIC_LEN) {
		if ((rc = read_at(fd, 0, b, MAGIC_LEN)) < 0)
			return rc;
		if (!memcmp(b, magic1, MAGIC_LEN))
			goto luks;
	}
	/* secondary copies: cryptsetup places one at every power of two
	 * from 16 KiB to 4 MiB (the primary's hdr_size) */
	for (uint64_t off = 16384; off <= LUKS2_MAX_HDR_SIZE; off <<= 1) {
		if (off + MAGIC_LEN > size)
			break;
		if ((rc = read_at(fd, off, b, MAGIC_LEN)) < 0)
			return rc;
		if (!memcmp(b, magic2, MAGIC_LEN))
			goto luks;
	}
	if (size >= EXT_MAGIC_OFF + 2) {
		if ((rc = read_at(fd, EXT_MAGIC_OFF, b, 2)) < 0)
			return rc;
		if (b[0] == 0x53 && b[1] == 0xef)
			*kind = VOL_FOREIGN;
	}
	return 0;
luks:
	*kind = VOL_LUKS;
	return 0;
}

/* Formats the blank disk at path (opened again, read-write). */
static int format(const char *path, const char *pass, uint32_t iter, cry_rng_fn rng,
		  void *rctx, struct vol_open *o)
{
	struct luks2_fmt f = { .kdf_iterations = iter, .label = VOL_LABEL };
	int fd = open(path, O_RDWR | O_CLOEXEC), rc;

	if (fd < 0)
		return -errno;
	rc = luks2_format(fd, o->dev_size, (const uint8_t *)pass, strlen(pass), &f, rng, rctx,
			  o->vk);
	close(fd);
	if (rc < 0)
		return rc;
	/* what luks2_format writes (luks2.h): one dynamic segment */
	o->info.data_offset = LUKS2_DATA_OFFSET;
	o->info.data_size = 0;
	o->info.iv_tweak = 0;
	o->info.sector_size = 512;
	o->formatted = 1;
	return 0;
}

int vol_unlock(const char *path, const char *pass, uint32_t kdf_iterations,
	       cry_rng_fn rng, void *rctx, struct vol_open *o)
{
	uint64_t data, ss;
	int fd, rc;

	memset(o, 0, sizeof *o);
	if (!path || !pass || !*pass)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	rc = luks2_dev_size(fd, &o->dev_size);
	if (rc == 0)
		rc = vol_probe(fd, o->dev_size, &o->kind);
	if (rc == 0 && o->kind == VOL_LUKS)
		rc = luks2_open(fd, (const uint8_t *)pass, strlen(pass), o->vk, &o->info);
	close(fd);
	if (rc == 0 && o->kind == VOL_FOREIGN)
		rc = -EMEDIUMTYPE;
	if (rc == 0 && o->kind == VOL_BLANK)
		rc = format(path, pass, kdf_iterations, rng, rctx, o);
	if (rc < 0)
		goto out;
	data = o->info.data_size ? o->info.data_size : o->dev_size - o->info.data_offset;
	if (o->info.data_offset >= o->dev_size || data > o->dev_size - o->info.data_offset) {
		rc = -EINVAL;
		goto out;
	}
	ss = o->info.sector_size / 512;
	o->map_sectors = data / 512 / ss * ss;
	if (!o->map_sectors)
		rc = -ENOSPC;
out:
	if (rc < 0)
		wipe(o->vk, sizeof o->vk);
	return rc;
}
