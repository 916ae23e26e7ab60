/* SPDX-License-Identifier: MIT */
/*
 * luks2: LUKS2 format and unlock (see luks2.h for the contract and
 * docs/volume.md for the layout). The binary header follows cryptsetup's
 * struct luks2_hdr_disk (big-endian integers); the checksum is SHA-256 over
 * the whole header copy (binary part with the checksum field zeroed, then the
 * JSON area). Keyslot material is the volume key AF-split into 4000 stripes
 * and encrypted with aes-xts-plain64 (IV = 512-byte sector number counted
 * from the start of the keyslot area) under PBKDF2(passphrase). JSON is
 * parsed only through src/json.h; every number taken from it is range-checked
 * before use, and every read stays inside the device.
 */
#include "luks2.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "json.h"
#include "limits.h"
#include "util.h"

/* Binary header fields: byte offsets (cryptsetup's struct luks2_hdr_disk). */
#define BH_MAGIC      0     /* 6 bytes */
#define BH_VERSION    6     /* u16, 2 */
#define BH_HDR_SIZE   8     /* u64: binary part + JSON area */
#define BH_SEQID      16    /* u64 */
#define BH_LABEL      24    /* 48 bytes, NUL-padded */
#define BH_CSUM_ALG   72    /* 32 bytes, "sha256" */
#define BH_SALT       104   /* 64 random bytes */
#define BH_UUID       168   /* 40 bytes, NUL-padded */
#define BH_HDR_OFFSET 256   /* u64: where this copy starts */
#define BH_CSUM       448   /* 64 bytes; SHA-256 uses the first 32 */
#define LABEL_LEN     48
#define UUID_LEN      40
#define SALT_LEN      64
#define CSUM_LEN      64

static const uint8_t magic1[6] = { 'L', 'U', 'K', 'S', 0xba, 0xbe };
static const uint8_t magic2[6] = { 'S', 'K', 'U', 'L', 0xba, 0xbe };

/* What format writes: one keyslot area right after the two header copies. */
#define AREA_OFFSET   (2u * LUKS2_HDR_SIZE)
#define AF_LEN        (LUKS2_VK_LEN * LUKS2_STRIPES)      /* 256000: 500 sectors */
#define AREA_SIZE     ((AF_LEN + 4095u) / 4096u * 4096u)  /* 258048 */
#define KEYSLOTS_SIZE (LUKS2_DATA_OFFSET - AREA_OFFSET)
#define KDF_SALT_LEN  32    /* cryptsetup's LUKS_SALTSIZE */
#define DIGEST_LEN    32
#define DIGEST_MIN    20    /* shorter digests would let wrong keys through (LUKS1 used 20) */
#define XTS_SECTOR    512

_Static_assert(AF_LEN % XTS_SECTOR == 0, "AF material fills whole sectors");
_Static_assert(AREA_OFFSET + AREA_SIZE <= LUKS2_DATA_OFFSET, "keyslot before data");

static void put_be(uint8_t *p, uint64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t get_be(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

/* ---- anti-forensic split (LUKS1 spec 2.4, H1 with SHA-256) ---- */

/* Diffusion: block i (32 bytes, the last may be short) becomes
 * SHA-256(be32(i) || block), truncated to the block's length. */
static void af_diffuse(uint8_t *d, size_t len)
{
	struct cry_sha256 c;
	uint8_t h[32], iv[4];
	uint32_t i = 0;

	for (size_t off = 0; off < len; off += 32, i++) {
		size_t n = len - off < 32 ? len - off : 32;

		put_be(iv, i, 4);
		cry_sha256_init(&c);
		cry_sha256_update(&c, iv, sizeof iv);
		cry_sha256_update(&c, d + off, n);
		cry_sha256_final(&c, h);
		memcpy(d + off, h, n);
	}
	wipe(h, sizeof h);
}

static void xor_into(uint8_t *d, const uint8_t *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		d[i] ^= s[i];
}

int luks2_af_split(const uint8_t *key, size_t klen, uint32_t stripes, uint8_t *out,
		   cry_rng_fn rng, void *rctx)
{
	uint8_t d[LUKS2_VK_LEN] = { 0 };
	size_t last;
	int rc;

	if (!key || !out || !rng || !klen || klen > sizeof d || !stripes)
		return -EINVAL;
	last = klen * (stripes - 1);
	rc = rng(rctx, out, last);
	if (rc < 0) {
		wipe(out, last);
		return rc;
	}
	for (size_t i = 0; i < last; i += klen) {
		xor_into(d, out + i, klen);
		af_diffuse(d, klen);
	}
	for (size_t j = 0; j < klen; j++)
		out[last + j] = d[j] ^ key[j];
	wipe(d, sizeof d);
	return 0;
}

int luks2_af_merge(const uint8_t *in, size_t klen, uint32_t stripes, uint8_t *key)
{
	uint8_t d[LUKS2_VK_LEN] = { 0 };
	size_t last;

	if (!in || !key || !klen || klen > sizeof d || !stripes)
		return -EINVAL;
	last = klen * (stripes - 1);
	for (size_t i = 0; i < last; i += klen) {
		xor_into(d, in + i, klen);
		af_diffuse(d, klen);
	}
	for (size_t j = 0; j < klen; j++)
		key[j] = d[j] ^ in[last + j];
	wipe(d, sizeof d);
	return 0;
}

/* ---- device I/O ---- */

static int fd_read(void *ctx, uint64_t off, uint8_t *buf, size_t len)
{
	int fd = *(const int *)ctx;

	while (len) {
		ssize_t n = pread(fd, buf, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		buf += n, off += (uint64_t)n, len -= (size_t)n;
	}
	return 0;
}

static int fd_write(int fd, uint64_t off, const uint8_t *buf, size_t len)
{
	while (len) {
		ssize_t n = pwrite(fd, buf, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		buf += n, off += (uint64_t)n, len -= (size_t)n;
	}
	return 0;
}

int luks2_dev_size(int fd, uint64_t *size)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISREG(st.st_mode)) {
		*size = (uint64_t)st.st_size;
		return 0;
	}
	if (S_ISBLK(st.st_mode))
		return ioctl(fd, BLKGETSIZE64, size) < 0 ? -errno : 0;
	return -ENOTBLK;
}

/* SHA-256 over one header copy with its checksum field read as zeros. */
static void hdr_csum(const uint8_t *h, size_t hdr_size, uint8_t out[static 32])
{
	static const uint8_t zero[CSUM_LEN];
	struct cry_sha256 c;

	cry_sha256_init(&c);
	cry_sha256_update(&c, h, BH_CSUM);
	cry_sha256_update(&c, zero, sizeof zero);
	cry_sha256_update(&c, h + BH_CSUM + CSUM_LEN, hdr_size - BH_CSUM - CSUM_LEN);
	cry_sha256_final(&c, out);
}

/* ---- format ---- */

/* Random bytes format draws besides the volume key and the AF stripes. */
struct fmt_rand {
	uint8_t kdf_salt[KDF_SALT_LEN];
	uint8_t dig_salt[KDF_SALT_LEN];
	uint8_t hdr_salt[2][SALT_LEN];
	uint8_t uuid[16];
};

static int b64(const uint8_t *p, size_t n, char *out, size_t cap)
{
	size_t olen;

	return cry_b64_encode(p, n, out, cap, &olen);
}

/* The JSON metadata (the layout cryptsetup 2.6 writes for these options). */
static int fmt_json(char *out, size_t cap, uint32_t kit, uint32_t dit,
		    const struct fmt_rand *r, const uint8_t dig[static DIGEST_LEN])
{
	char ks[64], ds[64], dg[64];
	int n;

	if (b64(r->kdf_salt, KDF_SALT_LEN, ks, sizeof ks) < 0 ||
	    b64(r->dig_salt, KDF_SALT_LEN, ds, sizeof ds) < 0 ||
	    b64(dig, DIGEST_LEN, dg, sizeof dg) < 0)
		return -EIO;
	n = snprintf(out, cap,
		"{\"keyslots\":{\"0\":{\"type\":\"luks2\",\"key_size\":%u,"
		"\"af\":{\"type\":\"luks1\",\"stripes\":%u,\"hash\":\"sha256\"},"
		"\"area\":{\"type\":\"raw\",\"offset\":\"%u\",\"size\":\"%u\","
		"\"encryption\":\"aes-xts-plain64\",\"key_size\":%u},"
		"\"kdf\":{\"type\":\"pbkdf2\",\"hash\":\"sha256\",\"iterations\":%u,"
		"\"salt\":\"%s\"}}},"
		"\"tokens\":{},"
		"\"segments\":{\"0\":{\"type\":\"crypt\",\"offset\":\"%u\","
		"\"size\":\"dynamic\",\"iv_tweak\":\"0\",\"encryption\":\"aes-xts-plain64\","
		"\"sector_size\":%u}},"
		"\"digests\":{\"0\":{\"type\":\"pbkdf2\",\"keyslots\":[\"0\"],"
		"\"segments\":[\"0\"],\"hash\":\"sha256\",\"iterations\":%u,"
		"\"salt\":\"%s\",\"digest\":\"%s\"}},"
		"\"config\":{\"json_size\":\"%u\",\"keyslots_size\":\"%u\"}}",
		LUKS2_VK_LEN, LUKS2_STRIPES, AREA_OFFSET, AREA_SIZE, LUKS2_VK_LEN, kit, ks,
		LUKS2_DATA_OFFSET, XTS_SECTOR, dit, ds, dg,
		LUKS2_HDR_SIZE - LUKS2_BIN_SIZE, KEYSLOTS_SIZE);
	if (n < 0 || (size_t)n >= cap)
		return -ENOSPC;
	return 0;
}

/* Lower-case RFC 4122 version 4 UUID from 16 random bytes. */
static void fmt_uuid(uint8_t u[16], char out[UUID_LEN])
{
	static const char hx[] = "0123456789abcdef";
	size_t o = 0;

	u[6] = (uint8_t)((u[6] & 0x0f) | 0x40);
	u[8] = (uint8_t)((u[8] & 0x3f) | 0x80);
	memset(out, 0, UUID_LEN);
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hx[u[i] >> 4];
		out[o++] = hx[u[i] & 15];
	}
}

/* Fills the binary part of copy c (0 primary, 1 secondary) whose JSON area is
 * already in place, then its checksum. */
static void fmt_bin(uint8_t *h, int c, const char *label, const struct fmt_rand *r,
		    const char uuid[UUID_LEN])
{
	memcpy(h + BH_MAGIC, c ? magic2 : magic1, sizeof magic1);
	put_be(h + BH_VERSION, 2, 2);
	put_be(h + BH_HDR_SIZE, LUKS2_HDR_SIZE, 8);
	put_be(h + BH_SEQID, 1, 8);
	if (label)
		memcpy(h + BH_LABEL, label, strlen(label));
	memcpy(h + BH_CSUM_ALG, "sha256", 6);
	memcpy(h + BH_SALT, r->hdr_salt[c], SALT_LEN);
	memcpy(h + BH_UUID, uuid, UUID_LEN);
	put_be(h + BH_HDR_OFFSET, c ? LUKS2_HDR_SIZE : 0, 8);
	hdr_csum(h, LUKS2_HDR_SIZE, h + BH_CSUM);
}

static int label_ok(const char *l)
{
	size_t n;

	if (!l)
		return 1;
	n = strnlen(l, LABEL_LEN);
	if (n >= LABEL_LEN)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (l[i] < 0x20 || l[i] > 0x7e)
			return 0;
	return 1;
}

/* Zeroes [0, LUKS2_DATA_OFFSET): old headers and keyslots must not survive. */
static int zero_meta(int fd)
{
	enum { CHUNK = 1u << 20 };
	uint8_t *z = calloc(1, CHUNK);
	int rc = 0;

	if (!z)
		return -ENOMEM;
	for (uint64_t off = 0; off < LUKS2_DATA_OFFSET && !rc; off += CHUNK)
		rc = fd_write(fd, off, z, CHUNK);
	free(z);
	return rc;
}

/* Builds both header copies and the encrypted keyslot area in memory. */
static int fmt_build(uint8_t *hdr, uint8_t *area, const uint8_t *pass, size_t plen,
		     const struct luks2_fmt *o, struct fmt_rand *r,
		     const uint8_t vk[static LUKS2_VK_LEN], cry_rng_fn rng, void *rctx)
{
	uint8_t key[LUKS2_VK_LEN], dig[DIGEST_LEN];
	char uuid[UUID_LEN];
	int rc;

	fmt_uuid(r->uuid, uuid);
	rc = cry_pbkdf2_sha256(vk, LUKS2_VK_LEN, r->dig_salt, KDF_SALT_LEN,
			       o->digest_iterations, dig, sizeof dig);
	if (!rc)
		rc = cry_pbkdf2_sha256(pass, plen, r->kdf_salt, KDF_SALT_LEN,
				       o->kdf_iterations, key, sizeof key);
	if (!rc)
		rc = luks2_af_split(vk, LUKS2_VK_LEN, LUKS2_STRIPES, area, rng, rctx);
	if (!rc)
		rc = cry_aes_xts(key, sizeof key, 0, XTS_SECTOR, area, AF_LEN, 1);
	if (!rc)
		rc = fmt_json((char *)hdr + LUKS2_BIN_SIZE, LUKS2_HDR_SIZE - LUKS2_BIN_SIZE,
			      o->kdf_iterations, o->digest_iterations, r, dig);
	if (!rc) {
		memcpy(hdr + LUKS2_HDR_SIZE + LUKS2_BIN_SIZE, hdr + LUKS2_BIN_SIZE,
		       LUKS2_HDR_SIZE - LUKS2_BIN_SIZE);
		fmt_bin(hdr, 0, o->label, r, uuid);
		fmt_bin(hdr + LUKS2_HDR_SIZE, 1, o->label, r, uuid);
	}
	wipe(key, sizeof key);
	wipe(dig, sizeof dig);
	return rc;
}

int luks2_format(int fd, uint64_t dev_size, const uint8_t *pass, size_t plen,
		 const struct luks2_fmt *opt, cry_rng_fn rng, void *rctx,
		 uint8_t vk[static LUKS2_VK_LEN])
{
	struct luks2_fmt o = opt ? *opt : (struct luks2_fmt){ 0 };
	struct fmt_rand r;
	uint8_t *hdr = NULL, *area = NULL;
	int rc = -EINVAL;

	wipe(vk, LUKS2_VK_LEN);
	if (fd < 0 || !pass || !plen || plen > LUKS2_MAX_PASSPHRASE || !rng || !label_ok(o.label))
		return -EINVAL;
	if (dev_size < (uint64_t)LUKS2_DATA_OFFSET + LUKS2_MIN_DATA)
		return -ENOSPC;
	if (!o.kdf_iterations)
		o.kdf_iterations = luks2_bench_iterations(LUKS2_KDF_TARGET_MS);
	if (!o.digest_iterations)
		o.digest_iterations = LUKS2_MIN_KDF_ITER;
	if (o.kdf_iterations < LUKS2_MIN_KDF_ITER || o.kdf_iterations > LUKS2_MAX_KDF_ITER ||
	    o.digest_iterations < LUKS2_MIN_KDF_ITER || o.digest_iterations > LUKS2_MAX_KDF_ITER)
		return -EINVAL;
	hdr = calloc(2, LUKS2_HDR_SIZE);
	area = calloc(1, AREA_SIZE);
	rc = -ENOMEM;
	if (!hdr || !area)
		goto out;
	rc = rng(rctx, vk, LUKS2_VK_LEN);
	if (!rc)
		rc = rng(rctx, (uint8_t *)&r, sizeof r);
	if (!rc)
		rc = fmt_build(hdr, area, pass, plen, &o, &r, vk, rng, rctx);
	/* Order: metadata zeroed, keyslot, secondary, primary, then fsync. */
	if (!rc)
		rc = zero_meta(fd);
	if (!rc)
		rc = fd_write(fd, AREA_OFFSET, area, AREA_SIZE);
	if (!rc)
		rc = fd_write(fd, LUKS2_HDR_SIZE, hdr + LUKS2_HDR_SIZE, LUKS2_HDR_SIZE);
	if (!rc)
		rc = fd_write(fd, 0, hdr, LUKS2_HDR_SIZE);
	if (!rc && fsync(fd) < 0)
		rc = -errno;
out:
	wipe(&r, sizeof r);
	wipe_free(area, area ? AREA_SIZE : 0);
	free(hdr);
	if (rc)
		wipe(vk, LUKS2_VK_LEN);
	return rc;
}

/* ---- benchmark ---- */

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint32_t luks2_bench_iterations(unsigned ms)
{
	static const uint8_t pw[] = "sbs-bench", salt[KDF_SALT_LEN] = { 0 };
	uint8_t out[LUKS2_VK_LEN];
	uint64_t it = LUKS2_MIN_KDF_ITER, el = 0, want;

	/* Double until one run takes 25 ms, so the clock's grain does not matter. */
	for (;;) {
		uint64_t t0 = mono_ns();

		cry_pbkdf2_sha256(pw, sizeof pw - 1, salt, sizeof salt, (uint32_t)it, out, sizeof out);
		el = mono_ns() - t0;
		if (el >= 25000000u || it >= LUKS2_MAX_KDF_ITER)
			break;
		it *= 2;
	}
	wipe(out, sizeof out);
	want = el ? it * ms * 1000000u / el : LUKS2_MAX_KDF_ITER;
	if (want < LUKS2_MIN_KDF_ITER)
		want = LUKS2_MIN_KDF_ITER;
	if (want > LUKS2_MAX_KDF_ITER)
		want = LUKS2_MAX_KDF_ITER;
	return (uint32_t)want;
}

/* ---- open: header copies ---- */

struct hcopy {
	uint8_t *buf;        /* the whole copy, size bytes */
	uint64_t size, seqid, off;
	json *j;
};

static void hcopy_free(struct hcopy *h)
{
	json_free(h->j);
	free(h->buf);
	memset(h, 0, sizeof *h);
}

/* A power of two from 16 KiB to LUKS2_MAX_HDR_SIZE, as cryptsetup allows. */
static int hdr_size_ok(uint64_t s)
{
	return s >= LUKS2_HDR_SIZE && s <= LUKS2_MAX_HDR_SIZE && !(s & (s - 1));
}

/* Checks the binary part (bin) of a copy at off; 0 or -EINVAL. */
static int bin_check(const uint8_t *bin, uint64_t off, const uint8_t magic[6],
		     uint64_t dev_size)
{
	uint64_t size = get_be(bin + BH_HDR_SIZE, 8);

	if (memcmp(bin + BH_MAGIC, magic, 6) || get_be(bin + BH_VERSION, 2) != 2 ||
	    !hdr_size_ok(size) || get_be(bin + BH_HDR_OFFSET, 8) != off ||
	    size > dev_size - off || memcmp(bin + BH_CSUM_ALG, "sha256", 7) ||
	    !memchr(bin + BH_UUID, 0, UUID_LEN) || !memchr(bin + BH_LABEL, 0, LABEL_LEN))
		return -EINVAL;
	return 0;
}

/* JSON area: NUL-terminated inside, an object, config.json_size matching. */
static int json_check(struct hcopy *h)
{
	const char *p = (const char *)h->buf + LUKS2_BIN_SIZE, *err = NULL, *js;
	size_t alen = h->size - LUKS2_BIN_SIZE, n = strnlen(p, alen);
	uint64_t jsz;

	if (n == alen || json_parse(p, n, &h->j, &err) < 0)
		return -EINVAL;
	js = json_get_str(json_get(h->j, "config"), "json_size");
	if (!json_is_obj(h->j) || !js || util_parse_u64(js, strlen(js), UINT64_MAX, &jsz) ||
	    jsz != alen)
		return -EINVAL;
	return 0;
}

static int hdr_load(const struct luks2_dev *d, uint64_t off, const uint8_t magic[6],
		    struct hcopy *h)
{
	uint8_t bin[LUKS2_BIN_SIZE], sum[32];
	int rc;

	memset(h, 0, sizeof *h);
	if (off > d->size || d->size - off < LUKS2_HDR_SIZE)
		return -EINVAL;
	rc = d->read(d->ctx, off, bin, sizeof bin);
	if (rc)
		return rc;
	if (bin_check(bin, off, magic, d->size))
		return -EINVAL;
	h->off = off;
	h->size = get_be(bin + BH_HDR_SIZE, 8);
	h->seqid = get_be(bin + BH_SEQID, 8);
	h->buf = malloc(h->size);
	if (!h->buf)
		return -ENOMEM;
	memcpy(h->buf, bin, sizeof bin);
	rc = d->read(d->ctx, off + LUKS2_BIN_SIZE, h->buf + LUKS2_BIN_SIZE,
		     h->size - LUKS2_BIN_SIZE);
	if (!rc) {
		hdr_csum(h->buf, h->size, sum);
		rc = memcmp(sum, h->buf + BH_CSUM, sizeof sum) ? -EINVAL : json_check(h);
	}
	if (rc)
		hcopy_free(h);
	return rc;
}

/* Loads the primary and the first valid secondary (at the primary's size
 * first, then at every offset cryptsetup may put it) and keeps the valid one
 * with the higher seqid in *best. -EINVAL if neither is valid (-EIO/-ENOMEM
 * if that is why). */
static int hdr_pick(const struct luks2_dev *d, struct hcopy *best, int *secondary)
{
	struct hcopy p, s = { 0 };
	int rp, rs = -EINVAL;

	rp = hdr_load(d, 0, magic1, &p);
	if (!rp)
		rs = hdr_load(d, p.size, magic2, &s);
	for (uint64_t off = LUKS2_HDR_SIZE; rs && rs != -ENOMEM && off <= LUKS2_MAX_HDR_SIZE;
	     off *= 2)
		if (rp || off != p.size)
			rs = hdr_load(d, off, magic2, &s);
	if (rp && rs)   /* a read or memory failure is reported as such */
		return rp != -EINVAL ? rp : rs;
	*secondary = rp || (!rs && s.seqid > p.seqid);
	*best = *secondary ? s : p;
	if (*secondary)
		hcopy_free(&p);
	else
		hcopy_free(&s);
	return 0;
}

/* ---- open: JSON members ---- */

static const json *jobj(const json *o, const char *k)
{
	const json *v = json_get(o, k);

	return json_is_obj(v) ? v : NULL;
}

static int jis(const json *o, const char *k, const char *want)
{
	const char *s = json_get_str(o, k);

	return s && !strcmp(s, want);
}

/* A decimal string member ("offset", "size", ...). */
static int jstr_u64(const json *o, const char *k, uint64_t *v)
{
	const char *s = json_get_str(o, k);

	return s && !util_parse_u64(s, strlen(s), UINT64_MAX, v) ? 0 : -EINVAL;
}

/* An integer number member in [0, max] (max < 2^53). */
static int jnum(const json *o, const char *k, uint64_t max, uint64_t *v)
{
	const json *n = json_get(o, k);
	double x;

	if (!json_is_num(n))
		return -EINVAL;
	x = json_num(n);
	if (!(x >= 0 && x <= (double)max) || x != (double)(uint64_t)x)
		return -EINVAL;
	*v = (uint64_t)x;
	return 0;
}

/* A base64 member of 1 to cap bytes. */
static int jb64(const json *o, const char *k, uint8_t *out, size_t cap, size_t *len)
{
	const char *s = json_get_str(o, k);

	if (!s || cry_b64_decode(s, strlen(s), out, cap, len) || !*len)
		return -EINVAL;
	return 0;
}

/* ---- open: digests ---- */

struct digest {
	const json *keyslots;   /* array of keyslot ids */
	const char *segment;    /* first segment id */
	uint8_t salt[LUKS2_MAX_SALT], dig[LUKS2_MAX_SALT];
	size_t slen, dlen;
	uint32_t iter;
};

/* Collects the pbkdf2/sha256 digests; any other digest is ignored. */
static int digests_parse(const json *all, uint32_t max_iter, struct digest *dg, size_t *n)
{
	const json *m;
	uint64_t it;

	*n = 0;
	if (json_count(all) > LUKS2_MAX_DIGESTS)
		return -EINVAL;
	for (m = json_child(all); m; m = json_next(m)) {
		struct digest *g = &dg[*n];
		const json *seg = json_get(m, "segments");

		if (!json_is_obj(m) || !json_is_arr(json_get(m, "keyslots")) || !json_is_arr(seg))
			return -EINVAL;
		if (!jis(m, "type", "pbkdf2") || !jis(m, "hash", "sha256"))
			continue;
		if (jnum(m, "iterations", UINT32_MAX, &it) || !it ||
		    jb64(m, "salt", g->salt, sizeof g->salt, &g->slen) ||
		    jb64(m, "digest", g->dig, sizeof g->dig, &g->dlen) || g->dlen < DIGEST_MIN)
			return -EINVAL;
		if (it > max_iter || !json_str(json_child(seg)))
			continue;
		g->iter = (uint32_t)it;
		g->keyslots = json_get(m, "keyslots");
		g->segment = json_str(json_child(seg));
		(*n)++;
	}
	return 0;
}

static int lists(const json *arr, const char *id)
{
	for (const json *e = json_child(arr); e; e = json_next(e))
		if (json_str(e) && !strcmp(json_str(e), id))
			return 1;
	return 0;
}

/* Index of the digest of keyslot id that vk matches, or -1. */
static int digest_match(const struct digest *dg, size_t n, const char *id,
			const uint8_t vk[static LUKS2_VK_LEN])
{
	uint8_t got[LUKS2_MAX_SALT];
	int hit = -1;

	for (size_t i = 0; i < n && hit < 0; i++) {
		if (!lists(dg[i].keyslots, id) ||
		    cry_pbkdf2_sha256(vk, LUKS2_VK_LEN, dg[i].salt, dg[i].slen, dg[i].iter,
				      got, dg[i].dlen))
			continue;
		if (cry_ct_eq(got, dg[i].dig, dg[i].dlen))
			hit = (int)i;
	}
	wipe(got, sizeof got);
	return hit;
}

/* ---- open: keyslots ---- */

/* What a keyslot needs, checked. -ENOTSUP: a kind we do not handle. */
struct slot {
	uint64_t area_off, area_key;
	uint8_t salt[LUKS2_MAX_SALT];
	size_t slen;
	uint32_t iter;
};

static int slot_parse(const struct luks2_dev *d, const json *ks, struct slot *s)
{
	const json *af = jobj(ks, "af"), *area = jobj(ks, "area"), *kdf = jobj(ks, "kdf");
	uint64_t v, size;

	if (!json_is_obj(ks) || !af || !area || !kdf)
		return -EINVAL;
	if (!jis(ks, "type", "luks2") || jnum(ks, "key_size", 512, &v) || v != LUKS2_VK_LEN ||
	    !jis(af, "type", "luks1") || !jis(af, "hash", "sha256") ||
	    jnum(af, "stripes", UINT32_MAX, &v) || v != LUKS2_STRIPES ||
	    !jis(area, "type", "raw") || !jis(area, "encryption", "aes-xts-plain64") ||
	    jnum(area, "key_size", 512, &s->area_key) ||
	    (s->area_key != 32 && s->area_key != 64) ||
	    !jis(kdf, "type", "pbkdf2") || !jis(kdf, "hash", "sha256"))
		return -ENOTSUP;
	if (jstr_u64(area, "offset", &s->area_off) || jstr_u64(area, "size", &size) ||
	    size < AF_LEN || s->area_off > d->size || size > d->size - s->area_off ||
	    jnum(kdf, "iterations", UINT32_MAX, &v) || !v ||
	    jb64(kdf, "salt", s->salt, sizeof s->salt, &s->slen))
		return -EINVAL;
	if (v > d->max_iter)
		return -ENOTSUP;
	s->iter = (uint32_t)v;
	return 0;
}

/* Derives the candidate volume key of keyslot ks into vk. */
static int slot_unlock(const struct luks2_dev *d, const json *ks, const uint8_t *pass,
		       size_t plen, uint8_t vk[static LUKS2_VK_LEN])
{
	struct slot s;
	uint8_t key[LUKS2_VK_LEN], *mat;
	int rc = slot_parse(d, ks, &s);

	if (rc)
		return rc;
	mat = malloc(AF_LEN);
	if (!mat)
		return -ENOMEM;
	rc = cry_pbkdf2_sha256(pass, plen, s.salt, s.slen, s.iter, key, s.area_key);
	if (!rc)
		rc = d->read(d->ctx, s.area_off, mat, AF_LEN);
	if (!rc)
		rc = cry_aes_xts(key, s.area_key, 0, XTS_SECTOR, mat, AF_LEN, 0);
	if (!rc)
		rc = luks2_af_merge(mat, LUKS2_VK_LEN, LUKS2_STRIPES, vk);
	wipe(key, sizeof key);
	wipe_free(mat, AF_LEN);
	return rc;
}

/* ---- open: the data segment ---- */

static int seg_info(const struct luks2_dev *d, const json *segs, const char *id,
		    struct luks2_info *info)
{
	const json *sg = jobj(segs, id);
	const char *size;
	uint64_t ss;

	if (!sg || !jis(sg, "type", "crypt"))
		return -EINVAL;
	if (!jis(sg, "encryption", "aes-xts-plain64"))
		return -ENOTSUP;
	size = json_get_str(sg, "size");
	if (jstr_u64(sg, "offset", &info->data_offset) || !size ||
	    jstr_u64(sg, "iv_tweak", &info->iv_tweak) ||
	    jnum(sg, "sector_size", 4096, &ss) || ss < 512 || (ss & (ss - 1)) ||
	    info->data_offset % 512 || info->data_offset > d->size)
		return -EINVAL;
	info->sector_size = (uint32_t)ss;
	info->data_size = 0;
	if (strcmp(size, "dynamic") &&
	    (util_parse_u64(size, strlen(size), UINT64_MAX, &info->data_size) ||
	     !info->data_size || info->data_size % ss ||
	     info->data_size > d->size - info->data_offset))
		return -EINVAL;
	return 0;
}

/* Tries every keyslot; on a match fills vk and info. */
static int try_slots(const struct luks2_dev *d, const json *root, const uint8_t *pass,
		     size_t plen, uint8_t vk[static LUKS2_VK_LEN], struct luks2_info *info)
{
	const json *slots = jobj(root, "keyslots"), *segs = jobj(root, "segments");
	struct digest dg[LUKS2_MAX_DIGESTS];
	size_t ndg;
	int rc, tried = 0;

	if (!slots || !segs || !jobj(root, "digests") ||
	    json_count(slots) > LUKS2_MAX_KEYSLOTS)
		return -EINVAL;
	rc = digests_parse(jobj(root, "digests"), d->max_iter, dg, &ndg);
	for (const json *ks = json_child(slots); ks && !rc; ks = json_next(ks)) {
		int m;

		rc = slot_unlock(d, ks, pass, plen, vk);
		if (rc == -ENOTSUP) {
			rc = 0;
			continue;
		}
		if (rc)
			break;
		tried = 1;
		m = digest_match(dg, ndg, json_key(ks), vk);
		if (m >= 0) {
			rc = seg_info(d, segs, dg[m].segment, info);
			goto out;
		}
	}
	if (!rc)
		rc = tried ? -EKEYREJECTED : -ENOTSUP;
out:
	wipe(dg, sizeof dg);
	return rc;
}

int luks2_open_dev(const struct luks2_dev *d, const uint8_t *pass, size_t plen,
		   uint8_t vk[static LUKS2_VK_LEN], struct luks2_info *info)
{
	struct luks2_info tmp;
	struct hcopy h;
	int rc, second = 0;

	wipe(vk, LUKS2_VK_LEN);
	if (!info)
		info = &tmp;
	memset(info, 0, sizeof *info);
	if (!d || !d->read || !pass || !plen || plen > LUKS2_MAX_PASSPHRASE)
		return -EINVAL;
	rc = hdr_pick(d, &h, &second);
	if (rc)
		return rc;
	rc = try_slots(d, h.j, pass, plen, vk, info);
	if (!rc) {
		info->seqid = h.seqid;
		info->used_secondary = second;
		memcpy(info->uuid, h.buf + BH_UUID, UUID_LEN);
	}
	hcopy_free(&h);
	if (rc)
		wipe(vk, LUKS2_VK_LEN);
	return rc;
}

int luks2_open(int fd, const uint8_t *pass, size_t plen,
	       uint8_t vk[static LUKS2_VK_LEN], struct luks2_info *info)
{
	struct luks2_dev d = { fd_read, &fd, 0, LUKS2_MAX_KDF_ITER };
	int rc;

	wipe(vk, LUKS2_VK_LEN);
	if (fd < 0)
		return -EINVAL;
	rc = luks2_dev_size(fd, &d.size);
	if (rc)
		return rc;
	return luks2_open_dev(&d, pass, plen, vk, info);
}
