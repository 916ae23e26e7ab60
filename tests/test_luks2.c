/* SPDX-License-Identifier: MIT */
/*
 * Tests of hal/luks2.h, hal/dm.h and the primitives they add to crypto/cry.h
 * (PBKDF2-HMAC-SHA256, XTS-AES): known answers from tests/vectors/luks2_kat.txt
 * (origin in tests/vectors/luks2_gen.py), AF split/merge, format and open of
 * a temporary image with the right and wrong passphrase, header copies
 * (corrupt primary, both corrupt, newer secondary), unsupported keyslots and
 * the dm table string; hal/vol.h: the passphrase formula (answers from
 * Python's hashlib/hmac) and open-or-format on an image file (blank ->
 * formatted, LUKS -> opened, wrong passphrase and foreign disks -> refused
 * with the file byte-identical, lost primary header -> still LUKS). Without arguments it is a unit test. With arguments it
 * is the driver of tests/it_luks2.sh, where the real cryptsetup judges:
 *   format IMG PASS [ITER]   format IMG (ITER 0 = benchmark; default 1000)
 *   open IMG PASS            exit 0 and print SHA-256(volume key) in hex,
 *                            3 on a wrong passphrase, 2 on other errors
 *   map DEV PASS NAME        open DEV and map it with dm; print /dev/dm-N
 *   unmap NAME               remove the mapping
 * The volume key itself is never printed, only its hash.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cry.h"
#include "dm.h"
#include "limits.h"
#include "luks2.h"
#include "tutil.h"
#include "util.h"
#include "vol.h"

#define IMG_SIZE ((uint64_t)LUKS2_DATA_OFFSET + LUKS2_MIN_DATA)
#define FAST_ITER 1000u

/* ---- known answers ---- */

static uint8_t *unhex_alloc(const char *hex, size_t *len)
{
	size_t cap = strlen(hex) / 2 + 1;
	uint8_t *p = malloc(cap);
	long n = p ? tu_unhex(hex, p, cap) : -1;

	if (n < 0) {
		free(p);
		return NULL;
	}
	*len = (size_t)n;
	return p;
}

static void kat_pbkdf2(char **f)
{
	size_t pl, sl, wl;
	uint8_t *pw = unhex_alloc(f[1], &pl), *salt = unhex_alloc(f[2], &sl);
	uint8_t *want = unhex_alloc(f[4], &wl), got[128];
	uint64_t it = 0;

	CHECK(pw && salt && want && wl <= sizeof got);
	CHECK(util_parse_u64(f[3], strlen(f[3]), UINT32_MAX, &it) == 0);
	if (pw && salt && want && wl <= sizeof got) {
		CHECK(cry_pbkdf2_sha256(pw, pl, salt, sl, (uint32_t)it, got, wl) == 0);
		CHECK(memcmp(got, want, wl) == 0);
	}
	free(pw), free(salt), free(want);
}

static void kat_xts(char **f)
{
	size_t kl, pl, cl;
	uint8_t *key = unhex_alloc(f[1], &kl), *pt = unhex_alloc(f[3], &pl);
	uint8_t *ct = unhex_alloc(f[4], &cl);
	uint64_t dus = 0;

	CHECK(key && pt && ct && pl == cl);
	CHECK(util_parse_u64(f[2], strlen(f[2]), UINT64_MAX, &dus) == 0);
	if (key && pt && ct && pl == cl) {
		uint8_t *buf = malloc(pl);

		memcpy(buf, pt, pl);
		CHECK(cry_aes_xts(key, kl, dus, pl, buf, pl, 1) == 0);
		CHECK(memcmp(buf, ct, cl) == 0);
		CHECK(cry_aes_xts(key, kl, dus, pl, buf, pl, 0) == 0);
		CHECK(memcmp(buf, pt, pl) == 0);
		free(buf);
	}
	free(key), free(pt), free(ct);
}

static void test_kat(void)
{
	uint8_t *data = NULL;
	size_t len = 0;
	char *save = NULL, *line;
	int npb = 0, nxts = 0;

	CHECK(util_read_file(tu_vector("luks2_kat.txt"), 1 << 20, &data, &len) == 0);
	if (!data)
		return;
	for (line = strtok_r((char *)data, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *f[6] = { 0 }, *s2 = NULL;
		int n = 0;

		if (line[0] == '#')
			continue;
		for (char *t = strtok_r(line, " ", &s2); t && n < 6; t = strtok_r(NULL, " ", &s2))
			f[n++] = t;
		if (n == 5 && !strcmp(f[0], "pbkdf2"))
			kat_pbkdf2(f), npb++;
		else if (n == 5 && !strcmp(f[0], "xts"))
			kat_xts(f), nxts++;
		else
			CHECK(!"unknown vector line");
	}
	CHECK(npb == 7 && nxts == 5);
	free(data);
}

static void test_prim_args(void)
{
	uint8_t key[64] = { 1, 2, 3 }, buf[4096], copy[4096], out[32];

	for (size_t i = 0; i < sizeof buf; i++)
		buf[i] = (uint8_t)(i * 7);
	memcpy(copy, buf, sizeof buf);
	CHECK(cry_aes_xts(key, 48, 0, 512, buf, 512, 1) == -EINVAL);
	CHECK(cry_aes_xts(key, 64, 0, 8, buf, 16, 1) == -EINVAL);
	CHECK(cry_aes_xts(key, 64, 0, 512, buf, 500, 1) == -EINVAL);
	CHECK(cry_aes_xts(key, 64, 0, 8192, buf, 4096, 1) == -EINVAL);
	CHECK(memcmp(buf, copy, sizeof buf) == 0);
	/* Eight 512-byte units equal eight calls of one unit each. */
	CHECK(cry_aes_xts(key, 64, 5, 512, buf, sizeof buf, 1) == 0);
	for (int u = 0; u < 8; u++)
		CHECK(cry_aes_xts(key, 64, 5 + (uint64_t)u, 512, copy + 512 * u, 512, 1) == 0);
	CHECK(memcmp(buf, copy, sizeof buf) == 0);
	CHECK(cry_aes_xts(key, 64, 5, 4096, copy, sizeof copy, 0) == 0);  /* other unit: garbage */
	CHECK(cry_aes_xts(key, 64, 5, 512, buf, sizeof buf, 0) == 0);
	CHECK(buf[100] == (uint8_t)700 && buf[4095] == (uint8_t)(4095 * 7));
	CHECK(cry_pbkdf2_sha256((const uint8_t *)"p", 1, NULL, 0, 0, out, 32) == -EINVAL);
	CHECK(cry_pbkdf2_sha256((const uint8_t *)"p", 1, NULL, 0, 1, out, 0) == -EINVAL);
	CHECK(cry_pbkdf2_sha256((const uint8_t *)"p", 1, NULL, 0, 1, out, 32) == 0);
}

/* ---- AF ---- */

static void test_af(void)
{
	static uint8_t split[64 * 4000];
	uint8_t key[64], back[64];

	CHECK(util_rng(NULL, key, sizeof key) == 0);
	CHECK(luks2_af_split(key, 64, 4000, split, util_rng, NULL) == 0);
	CHECK(memcmp(split + 64 * 3999, key, 64) != 0);
	CHECK(luks2_af_merge(split, 64, 4000, back) == 0);
	CHECK(memcmp(back, key, 64) == 0);
	split[12345] ^= 1;   /* one flipped bit anywhere spoils the whole key */
	CHECK(luks2_af_merge(split, 64, 4000, back) == 0);
	CHECK(memcmp(back, key, 64) != 0);
	/* 33 bytes: a short last diffusion block. */
	CHECK(luks2_af_split(key, 33, 7, split, util_rng, NULL) == 0);
	CHECK(luks2_af_merge(split, 33, 7, back) == 0);
	CHECK(memcmp(back, key, 33) == 0);
	CHECK(luks2_af_split(key, 64, 1, split, util_rng, NULL) == 0);
	CHECK(memcmp(split, key, 64) == 0);
	CHECK(luks2_af_split(key, 65, 2, split, util_rng, NULL) == -EINVAL);
	CHECK(luks2_af_merge(split, 64, 0, back) == -EINVAL);
	wipe(split, sizeof split);
	wipe(key, sizeof key);
}

/* ---- images ---- */

static int tmp_image(uint64_t size)
{
	char path[256];
	const char *dir = getenv("TMPDIR");
	int fd;

	snprintf(path, sizeof path, "%s/sbs-luks2-XXXXXX", dir ? dir : "/tmp");
	fd = mkstemp(path);
	if (fd < 0)
		return -1;
	unlink(path);
	if (ftruncate(fd, (off_t)size) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int fmt_fast(int fd, const char *pass, uint8_t vk[64])
{
	struct luks2_fmt o = { FAST_ITER, FAST_ITER, "sbs-test" };

	return luks2_format(fd, IMG_SIZE, (const uint8_t *)pass, strlen(pass), &o, util_rng,
			    NULL, vk);
}

static int open_pass(int fd, const char *pass, uint8_t vk[64], struct luks2_info *info)
{
	return luks2_open(fd, (const uint8_t *)pass, strlen(pass), vk, info);
}

static void flip(int fd, uint64_t off)
{
	uint8_t b = 0;

	CHECK(pread(fd, &b, 1, (off_t)off) == 1);
	b ^= 0x20;
	CHECK(pwrite(fd, &b, 1, (off_t)off) == 1);
}

/* Rewrites the checksum of the copy at off (after an edit made on purpose). */
static void resum(int fd, uint64_t off)
{
	static uint8_t h[LUKS2_HDR_SIZE];

	CHECK(pread(fd, h, sizeof h, (off_t)off) == (ssize_t)sizeof h);
	memset(h + 448, 0, 64);
	cry_sha256(h, sizeof h, h + 448);
	CHECK(pwrite(fd, h, sizeof h, (off_t)off) == (ssize_t)sizeof h);
}

/* Replaces the first occurrence of from (same length as to) in both JSON areas. */
static void edit_json(int fd, const char *from, const char *to)
{
	static char h[LUKS2_HDR_SIZE];

	for (uint64_t off = 0; off <= LUKS2_HDR_SIZE; off += LUKS2_HDR_SIZE) {
		char *p;

		CHECK(pread(fd, h, sizeof h, (off_t)off) == (ssize_t)sizeof h);
		p = strstr(h + LUKS2_BIN_SIZE, from);
		CHECK(p != NULL);
		if (p)
			memcpy(p, to, strlen(to));
		CHECK(pwrite(fd, h, sizeof h, (off_t)off) == (ssize_t)sizeof h);
		resum(fd, off);
	}
}

static void test_format_open(void)
{
	uint8_t vk[64], vk2[64], zero[64] = { 0 };
	struct luks2_info info;
	int fd = tmp_image(IMG_SIZE);

	CHECK(fd >= 0);
	CHECK(fmt_fast(fd, "right horse", vk) == 0);
	CHECK(memcmp(vk, zero, 64) != 0);
	CHECK(open_pass(fd, "right horse", vk2, &info) == 0);
	CHECK(memcmp(vk, vk2, 64) == 0);
	CHECK(info.data_offset == LUKS2_DATA_OFFSET && info.data_size == 0 &&
	      info.sector_size == 512 && info.iv_tweak == 0 && info.seqid == 1 &&
	      !info.used_secondary && strlen(info.uuid) == 36 && info.uuid[14] == '4');
	CHECK(open_pass(fd, "wrong horse", vk2, NULL) == -EKEYREJECTED);
	CHECK(memcmp(vk2, zero, 64) == 0);
	CHECK(open_pass(fd, "right horsf", vk2, NULL) == -EKEYREJECTED);
	CHECK(luks2_open(fd, (const uint8_t *)"x", 0, vk2, NULL) == -EINVAL);

	/* Primary broken: the secondary opens it. Both broken: not LUKS2. */
	flip(fd, LUKS2_BIN_SIZE + 40);
	CHECK(open_pass(fd, "right horse", vk2, &info) == 0 && info.used_secondary);
	CHECK(memcmp(vk, vk2, 64) == 0);
	flip(fd, LUKS2_HDR_SIZE + 110);  /* secondary's binary part (its salt) */
	CHECK(open_pass(fd, "right horse", vk2, NULL) == -EINVAL);
	/* Secondary repaired and newer: it wins. */
	flip(fd, LUKS2_HDR_SIZE + 110);
	flip(fd, LUKS2_BIN_SIZE + 40);
	CHECK(pwrite(fd, "\x02", 1, LUKS2_HDR_SIZE + 23) == 1);  /* seqid 2 */
	resum(fd, LUKS2_HDR_SIZE);
	CHECK(open_pass(fd, "right horse", vk2, &info) == 0 && info.used_secondary &&
	      info.seqid == 2);
	/* A broken keyslot area rejects the passphrase. */
	flip(fd, 2 * LUKS2_HDR_SIZE + 1000);
	CHECK(open_pass(fd, "right horse", vk2, NULL) == -EKEYREJECTED);
	flip(fd, 2 * LUKS2_HDR_SIZE + 1000);
	CHECK(open_pass(fd, "right horse", vk2, NULL) == 0);

	/* Unsupported kinds. */
	edit_json(fd, "\"encryption\":\"aes-xts-plain64\",\"sector_size\"",
		  "\"encryption\":\"aes-cbc-plain64\",\"sector_size\"");
	CHECK(open_pass(fd, "right horse", vk2, NULL) == -ENOTSUP);
	edit_json(fd, "\"encryption\":\"aes-cbc-plain64\",\"sector_size\"",
		  "\"encryption\":\"aes-xts-plain64\",\"sector_size\"");
	CHECK(open_pass(fd, "right horse", vk2, NULL) == 0);
	edit_json(fd, "\"type\":\"pbkdf2\",\"hash\":\"sha256\",\"iterations\"",
		  "\"type\":\"argon2\",\"hash\":\"sha256\",\"iterations\"");
	CHECK(open_pass(fd, "right horse", vk2, NULL) == -ENOTSUP);
	edit_json(fd, "\"json_size\":\"12288\"", "\"json_size\":\"12289\"");
	CHECK(open_pass(fd, "right horse", vk2, NULL) == -EINVAL);
	close(fd);
	wipe(vk, sizeof vk);
	wipe(vk2, sizeof vk2);
}

/* A memory device with a small max_iter, and non-LUKS input. */
struct mem { const uint8_t *p; uint64_t len; };

static int mem_read(void *ctx, uint64_t off, uint8_t *buf, size_t len)
{
	const struct mem *m = ctx;

	if (off > m->len || len > m->len - off)
		return -EIO;
	memcpy(buf, m->p + off, len);
	return 0;
}

static void test_dev_limits(void)
{
	uint8_t vk[64], *img = calloc(1, IMG_SIZE);
	struct mem m = { img, IMG_SIZE };
	struct luks2_dev d = { mem_read, &m, IMG_SIZE, FAST_ITER };
	int fd = tmp_image(IMG_SIZE);

	CHECK(img && fd >= 0);
	CHECK(luks2_open_dev(&d, (const uint8_t *)"p", 1, vk, NULL) == -EINVAL);  /* zeros */
	CHECK(fmt_fast(fd, "p", vk) == 0);
	CHECK(pread(fd, img, 1 << 20, 0) == 1 << 20);
	CHECK(luks2_open_dev(&d, (const uint8_t *)"p", 1, vk, NULL) == 0);
	d.max_iter = FAST_ITER - 1;
	CHECK(luks2_open_dev(&d, (const uint8_t *)"p", 1, vk, NULL) == -ENOTSUP);
	d.max_iter = FAST_ITER;
	d.size = m.len = 40000;   /* headers fit, the keyslot area does not */
	CHECK(luks2_open_dev(&d, (const uint8_t *)"p", 1, vk, NULL) == -EINVAL);
	/* format refuses bad arguments. */
	struct luks2_fmt slow = { LUKS2_MIN_KDF_ITER - 1, 0, NULL }, lab = { FAST_ITER, 0,
		"a label that is far too long to fit the 48 bytes" };
	CHECK(luks2_format(fd, IMG_SIZE, (const uint8_t *)"p", 1, &slow, util_rng, NULL, vk) == -EINVAL);
	CHECK(luks2_format(fd, IMG_SIZE, (const uint8_t *)"p", 1, &lab, util_rng, NULL, vk) == -EINVAL);
	CHECK(luks2_format(fd, IMG_SIZE - 1, (const uint8_t *)"p", 1, NULL, util_rng, NULL, vk) == -ENOSPC);
	CHECK(luks2_bench_iterations(1) >= LUKS2_MIN_KDF_ITER);
	free(img);
	close(fd);
}

static void test_dm_params(void)
{
	uint8_t key[64];
	char out[DM_MAX_TABLE];
	struct dm_crypt c = { "sbs-data", "/dev/vda", 32768, 1000, 0, 512, key, 64 };

	for (int i = 0; i < 64; i++)
		key[i] = (uint8_t)i;
	CHECK(dm_crypt_params(out, sizeof out, &c, 254, 0) == 0);
	CHECK(!strncmp(out, "aes-xts-plain64 000102030405", 28) &&
	      !strcmp(out + 16 + 128, " 0 254:0 32768"));
	c.sector_size = 4096;
	c.sectors = 1024;
	CHECK(dm_crypt_params(out, sizeof out, &c, 7, 3) == 0);
	CHECK(!strcmp(out + 16 + 128, " 0 7:3 32768 1 sector_size:4096"));
	c.sectors = 1001;
	CHECK(dm_crypt_params(out, sizeof out, &c, 7, 3) == -EINVAL);
	c.sectors = 1024;
	c.name = "bad/name";
	CHECK(dm_crypt_params(out, sizeof out, &c, 7, 3) == -EINVAL);
	c.name = "ok";
	CHECK(dm_crypt_params(out, 100, &c, 7, 3) == -ENOSPC);
	CHECK(dm_remove("") == -EINVAL);
}

/* ---- driver for tests/it_luks2.sh ---- */

static int print_vk_hash(const uint8_t vk[64])
{
	uint8_t h[32];
	char hex[65];

	cry_sha256(vk, 64, h);
	cry_hex(h, sizeof h, hex);
	printf("%s\n", hex);
	return 0;
}

static int cmd_format(const char *img, const char *pass, const char *iter)
{
	struct luks2_fmt o = { FAST_ITER, FAST_ITER, NULL };
	uint8_t vk[64];
	uint64_t size = 0, it = FAST_ITER;
	int fd = open(img, O_RDWR | O_CLOEXEC), rc;

	if (iter && util_parse_u64(iter, strlen(iter), LUKS2_MAX_KDF_ITER, &it))
		return 2;
	o.kdf_iterations = (uint32_t)it;
	rc = fd < 0 ? -errno : luks2_dev_size(fd, &size);
	if (!rc)
		rc = luks2_format(fd, size, (const uint8_t *)pass, strlen(pass), &o, util_rng,
				  NULL, vk);
	if (!rc)
		print_vk_hash(vk);
	wipe(vk, sizeof vk);
	if (fd >= 0)
		close(fd);
	if (rc)
		fprintf(stderr, "format %s: %s\n", img, strerror(-rc));
	return rc ? 2 : 0;
}

static int cmd_open(const char *img, const char *pass)
{
	uint8_t vk[64];
	int fd = open(img, O_RDONLY | O_CLOEXEC);
	int rc = fd < 0 ? -errno : open_pass(fd, pass, vk, NULL);

	if (!rc)
		print_vk_hash(vk);
	wipe(vk, sizeof vk);
	if (fd >= 0)
		close(fd);
	if (rc)
		fprintf(stderr, "open %s: %s\n", img, strerror(-rc));
	return rc == -EKEYREJECTED ? 3 : rc ? 2 : 0;
}

static int cmd_map(const char *dev, const char *pass, const char *name)
{
	struct luks2_info info;
	uint8_t vk[64];
	uint64_t size = 0;
	char path[64];
	int fd = open(dev, O_RDONLY | O_CLOEXEC);
	int rc = fd < 0 ? -errno : open_pass(fd, pass, vk, &info);

	if (!rc)
		rc = luks2_dev_size(fd, &size);
	if (!rc) {
		uint64_t unit = info.sector_size / 512;
		uint64_t len = info.data_size ? info.data_size : size - info.data_offset;
		struct dm_crypt c = { name, dev, info.data_offset / 512, len / 512 / unit * unit,
				      info.iv_tweak, info.sector_size, vk, 64 };

		rc = dm_crypt_create(&c, path, sizeof path);
	}
	wipe(vk, sizeof vk);
	if (fd >= 0)
		close(fd);
	if (rc) {
		fprintf(stderr, "map %s: %s\n", dev, strerror(-rc));
		return 2;
	}
	printf("%s\n", path);
	return 0;
}

/* ---- vol: passphrase and open-or-format ---- */

static void test_vol_passphrase(void)
{
	uint8_t sealed[32];
	char pass[VOL_PASS_LEN + 1], big[SE_MAX_SEED + 2];

	for (int i = 0; i < 32; i++)
		sealed[i] = (uint8_t)i;
	/* python3: hashlib.sha256(b"workload-seed-1env-seed-2").hexdigest() */
	CHECK(vol_passphrase("workload-seed-1", "env-seed-2", NULL, pass) == 0);
	CHECK(!strcmp(pass, "d55f7b8f83b80e9a90df80e055a605941a9c7d219d94d6067c4cf5febbb20e96"));
	/* hmac.new(bytes(range(32)), b"workload-seed-1env-seed-2", hashlib.sha256) */
	CHECK(vol_passphrase("workload-seed-1", "env-seed-2", sealed, pass) == 0);
	CHECK(!strcmp(pass, "266ec943f553f51a95a60e09f7201c3a960de006917f1d5278a7255223ed2ff9"));
	CHECK(vol_passphrase(NULL, "e", NULL, pass) == -EINVAL && !pass[0]);
	CHECK(vol_passphrase("w", "", NULL, pass) == -EINVAL);
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = 0;
	CHECK(vol_passphrase(big, "e", NULL, pass) == -EINVAL);
	big[SE_MAX_SEED] = 0;
	CHECK(vol_passphrase(big, "e", NULL, pass) == 0);
}

/* SHA-256 of the whole file: "the disk was not written to". */
static void file_hash(const char *path, uint8_t h[32])
{
	uint8_t *p = NULL;
	size_t len = 0;

	memset(h, 0, 32);
	if (util_read_file(path, IMG_SIZE + 1, &p, &len) == 0)
		cry_sha256(p, len, h);
	free(p);
}

static void test_vol_unlock(void)
{
	char path[256];
	const char *dir = getenv("TMPDIR");
	uint8_t vk1[64], h0[32], h1[32], zero[16384] = { 0 };
	struct vol_open o;
	enum vol_kind k;
	int fd;

	snprintf(path, sizeof path, "%s/sbs-vol-XXXXXX", dir ? dir : "/tmp");
	fd = mkstemp(path);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK(ftruncate(fd, (off_t)IMG_SIZE) == 0);
	CHECK(vol_probe(fd, IMG_SIZE, &k) == 0 && k == VOL_BLANK);
	/* blank: formatted, mapped size = everything after the metadata */
	CHECK(vol_unlock(path, "pass-1", FAST_ITER, util_rng, NULL, &o) == 0);
	CHECK(o.formatted == 1 && o.kind == VOL_BLANK);
	CHECK(o.map_sectors == LUKS2_MIN_DATA / 512 && o.info.data_offset == LUKS2_DATA_OFFSET);
	memcpy(vk1, o.vk, 64);
	CHECK(vol_probe(fd, IMG_SIZE, &k) == 0 && k == VOL_LUKS);
	/* LUKS: opened, same key, nothing written */
	file_hash(path, h0);
	CHECK(vol_unlock(path, "pass-1", FAST_ITER, util_rng, NULL, &o) == 0);
	CHECK(o.formatted == 0 && o.kind == VOL_LUKS && !memcmp(o.vk, vk1, 64));
	/* wrong passphrase: refused, key zeroed, file byte-identical */
	CHECK(vol_unlock(path, "pass-2", FAST_ITER, util_rng, NULL, &o) == -EKEYREJECTED);
	CHECK(!memcmp(o.vk, zero, 64));
	file_hash(path, h1);
	CHECK(!memcmp(h0, h1, 32));
	/* primary header lost: the secondary still says LUKS, so no reformat */
	CHECK(pwrite(fd, zero, sizeof zero, 0) == (ssize_t)sizeof zero);
	CHECK(vol_probe(fd, IMG_SIZE, &k) == 0 && k == VOL_LUKS);
	CHECK(vol_unlock(path, "pass-1", FAST_ITER, util_rng, NULL, &o) == 0);
	CHECK(o.formatted == 0 && o.info.used_secondary == 1 && !memcmp(o.vk, vk1, 64));
	/* a plain ext4 superblock and no LUKS header: foreign, untouched */
	CHECK(pwrite(fd, zero, sizeof zero, 16384) == (ssize_t)sizeof zero);
	CHECK(pwrite(fd, "\x53\xef", 2, 1024 + 0x38) == 2);
	CHECK(vol_probe(fd, IMG_SIZE, &k) == 0 && k == VOL_FOREIGN);
	file_hash(path, h0);
	CHECK(vol_unlock(path, "pass-1", FAST_ITER, util_rng, NULL, &o) == -EMEDIUMTYPE);
	file_hash(path, h1);
	CHECK(!memcmp(h0, h1, 32));
	/* too small to format */
	CHECK(ftruncate(fd, 0) == 0 && ftruncate(fd, LUKS2_DATA_OFFSET) == 0);
	CHECK(vol_unlock(path, "pass-1", FAST_ITER, util_rng, NULL, &o) < 0);
	CHECK(vol_unlock("/nonexistent/disk", "p", FAST_ITER, util_rng, NULL, &o) == -ENOENT);
	CHECK(vol_unlock(path, "", FAST_ITER, util_rng, NULL, &o) == -EINVAL);
	wipe(vk1, sizeof vk1);
	wipe(&o, sizeof o);
	close(fd);
	unlink(path);
}

int main(int argc, char **argv)
{
	if (argc >= 4 && !strcmp(argv[1], "format"))
		return cmd_format(argv[2], argv[3], argc > 4 ? argv[4] : NULL);
	if (argc == 4 && !strcmp(argv[1], "open"))
		return cmd_open(argv[2], argv[3]);
	if (argc == 5 && !strcmp(argv[1], "map"))
		return cmd_map(argv[2], argv[3], argv[4]);
	if (argc == 3 && !strcmp(argv[1], "unmap")) {
		int rc = dm_remove(argv[2]);

		if (rc)
			fprintf(stderr, "unmap %s: %s\n", argv[2], strerror(-rc));
		return rc ? 2 : 0;
	}
	if (argc > 1) {
		fprintf(stderr, "usage: %s [format IMG PASS [ITER] | open IMG PASS | "
			"map DEV PASS NAME | unmap NAME]\n", argv[0]);
		return 2;
	}
	test_kat();
	test_prim_args();
	test_af();
	test_format_open();
	test_dev_limits();
	test_dm_params();
	test_vol_passphrase();
	test_vol_unlock();
	return tu_done("test_luks2");
}
