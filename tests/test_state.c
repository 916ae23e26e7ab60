/* SPDX-License-Identifier: MIT */
/*
 * Tests of src/state.c (the state image envelope) and of the sim HAL's
 * appliance secret. Known answers come from tests/vectors/state_v1.txt, made
 * by tests/vectors/gen_state.js with Node's OpenSSL (independent of BearSSL):
 * state_seal, fed the vector's salt and nonce through a deterministic RNG,
 * must produce the vector's base64 exactly, and state_open must open it.
 * Then every way of breaking an image: wrong SECRET, wrong appliance secret,
 * every truncation, every single-bit flip, an unknown version, bad base64,
 * oversize input. Run from the repo root (or set SBS_TESTS).
 */
#include "hal.h"
#include "limits.h"
#include "state.h"
#include "tutil.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- a deterministic RNG: hands out a fixed byte stream in order ---- */
struct fixed_rng {
	const uint8_t *p;
	size_t len, off;
	int calls;
};

static int fixed_rng(void *ctx, uint8_t *buf, size_t len)
{
	struct fixed_rng *r = ctx;

	r->calls++;
	if (len > r->len - r->off)
		return -EIO;
	memcpy(buf, r->p + r->off, len);
	r->off += len;
	return 0;
}

static int failing_rng(void *ctx, uint8_t *buf, size_t len)
{
	(void)ctx;
	memset(buf, 0xee, len);
	return -EIO;
}

/* ---- vector file ---- */
struct vec {
	char name[16];
	uint8_t secret[256], app[32], salt[16], nonce[12], plain[2048], key[32];
	size_t slen, plen;
	char b64[4096];
};

static long unhex_field(const char *f, uint8_t *out, size_t cap)
{
	return strcmp(f, "-") == 0 ? 0 : tu_unhex(f, out, cap);
}

static int parse_vec(char *line, struct vec *v)
{
	char *f[9], *save = NULL;
	long n;
	int i = 0;

	for (char *t = strtok_r(line, " ", &save); t && i < 9; t = strtok_r(NULL, " ", &save))
		f[i++] = t;
	if (i != 9 || strcmp(f[0], "state") != 0)
		return -1;
	snprintf(v->name, sizeof v->name, "%s", f[1]);
	if ((n = unhex_field(f[2], v->secret, sizeof v->secret)) < 0)
		return -1;
	v->slen = (size_t)n;
	if (unhex_field(f[3], v->app, 32) != 32 || unhex_field(f[4], v->salt, 16) != 16 ||
	    unhex_field(f[5], v->nonce, 12) != 12 || unhex_field(f[7], v->key, 32) != 32)
		return -1;
	if ((n = unhex_field(f[6], v->plain, sizeof v->plain)) < 0)
		return -1;
	v->plen = (size_t)n;
	snprintf(v->b64, sizeof v->b64, "%s", f[8]);
	return 0;
}

/* Loads every vector; returns how many (at most cap). */
static int load_vectors(struct vec *vs, int cap)
{
	uint8_t *data = NULL;
	size_t len = 0;
	char *save = NULL;
	int n = 0;

	CHECK(util_read_file(tu_vector("state_v1.txt"), 1 << 20, &data, &len) == 0);
	if (!data)
		return 0;
	for (char *l = strtok_r((char *)data, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		if (l[0] == '#' || !l[0])
			continue;
		CHECK(n < cap);
		if (n < cap)
			CHECK(parse_vec(l, &vs[n]) == 0 && ++n);
	}
	free(data);
	return n;
}

static int seal_fixed(const struct vec *v, const uint8_t *plain, size_t plen, char **b64,
		      size_t *blen)
{
	uint8_t stream[28];
	struct fixed_rng r = { stream, sizeof stream, 0, 0 };

	memcpy(stream, v->salt, 16);
	memcpy(stream + 16, v->nonce, 12);
	return state_seal(plain, plen, v->secret, v->slen, v->app, fixed_rng, &r, b64, blen);
}

static int open_vec(const struct vec *v, const char *b64, size_t len)
{
	uint8_t *p = NULL;
	size_t n = 0;
	int rc = state_open(b64, len, v->secret, v->slen, v->app, &p, &n);

	if (rc == 0) {
		CHECK(p != NULL);
		wipe_free(p, n);
	} else {
		CHECK(p == NULL && n == 0);
	}
	return rc;
}

static void test_known_answers(const struct vec *vs, int nv)
{
	for (int i = 0; i < nv; i++) {
		const struct vec *v = &vs[i];
		char *b64 = NULL;
		uint8_t *p = NULL;
		size_t blen = 0, plen = 99;

		CHECK(seal_fixed(v, v->plain, v->plen, &b64, &blen) == 0);
		CHECK(b64 && blen == strlen(v->b64) && strcmp(b64, v->b64) == 0);
		if (b64 && strcmp(b64, v->b64) != 0)
			fprintf(stderr, "vector %s: sealed %s\n", v->name, b64);
		free(b64);
		CHECK(state_open(v->b64, strlen(v->b64), v->secret, v->slen, v->app, &p, &plen) == 0);
		CHECK(p && plen == v->plen && memcmp(p, v->plain, plen) == 0);
		CHECK(p && p[plen] == 0);
		wipe_free(p, plen);
	}
}

/* Decodes a vector's base64 into blob (cap 4096); returns its length. */
static size_t vec_blob(const struct vec *v, uint8_t *blob)
{
	size_t n = 0;

	CHECK(cry_b64_decode(v->b64, strlen(v->b64), blob, 4096, &n) == 0);
	return n;
}

static int open_blob(const struct vec *v, const uint8_t *blob, size_t n)
{
	char b64[8192];
	size_t bl = 0;

	CHECK(cry_b64_encode(blob, n, b64, sizeof b64, &bl) == 0);
	return open_vec(v, b64, bl);
}

static void test_wrong_keys(const struct vec *v)
{
	struct vec w = *v;
	size_t len = strlen(v->b64);

	CHECK(open_vec(v, v->b64, len) == 0);
	w.secret[0] ^= 1;
	CHECK(open_vec(&w, v->b64, len) == -EBADMSG);
	w = *v;
	w.secret[w.slen++] = 'x';          /* one byte longer */
	CHECK(open_vec(&w, v->b64, len) == -EBADMSG);
	w = *v;
	w.app[31] ^= 0x80;
	CHECK(open_vec(&w, v->b64, len) == -EBADMSG);
	w = *v;
	w.slen = 0;
	CHECK(open_vec(&w, v->b64, len) == -EINVAL);
}

static void test_truncation(const struct vec *v)
{
	uint8_t blob[4096];
	size_t n = vec_blob(v, blob), len = strlen(v->b64);
	int bad = 0;

	for (size_t i = 0; i < n; i++) {
		int rc = open_blob(v, blob, i);
		if (rc != -EINVAL && rc != -EBADMSG)
			bad++;
	}
	CHECK(bad == 0);
	bad = 0;
	for (size_t i = 0; i < len; i++) {     /* truncated text as well */
		int rc = open_vec(v, v->b64, i);
		if (rc != -EINVAL && rc != -EBADMSG)
			bad++;
	}
	CHECK(bad == 0);
}

static void test_bit_flips(const struct vec *v)
{
	uint8_t blob[4096];
	size_t n = vec_blob(v, blob);
	int ok = 0, wrong_code = 0;

	for (size_t i = 0; i < n * 8; i++) {
		blob[i / 8] ^= (uint8_t)(1u << (i % 8));
		int rc = open_blob(v, blob, n);
		int want = i / 8 < 4 ? -EINVAL : i / 8 == 4 ? -EPROTO : -EBADMSG;
		if (rc == 0)
			ok++;
		else if (rc != want)
			wrong_code++;
		blob[i / 8] ^= (uint8_t)(1u << (i % 8));
	}
	CHECK(ok == 0);
	CHECK(wrong_code == 0);
	CHECK(open_blob(v, blob, n) == 0);
}

static void test_version_and_base64(const struct vec *v)
{
	uint8_t blob[4096];
	size_t n = vec_blob(v, blob);
	static const char *const bad[] = {
		"!!!!", "U0JTV", "U0J VAGg", "U0JTVAGg====", "====", "U0J\nVAGg", "U0JTVA=g", "U0JT-AG_",
	};

	blob[4] = 2;
	CHECK(open_blob(v, blob, n) == -EPROTO);
	blob[4] = 0;
	CHECK(open_blob(v, blob, n) == -EPROTO);
	blob[4] = 1;
	memcpy(blob, "SBSU", 4);
	CHECK(open_blob(v, blob, n) == -EINVAL);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK(open_vec(v, bad[i], strlen(bad[i])) == -EINVAL);
	CHECK(open_vec(v, "", 0) == -EINVAL);
	/* a valid prefix followed by garbage past the given length is ignored */
	{
		char tmp[4200];
		size_t len = strlen(v->b64);
		snprintf(tmp, sizeof tmp, "%s!!!!", v->b64);
		CHECK(open_vec(v, tmp, len) == 0);
		CHECK(open_vec(v, tmp, len + 4) == -EINVAL);
	}
}

static void test_limits(const struct vec *v)
{
	size_t big = (size_t)STATE_MAX_B64 + 4;
	char *txt = malloc(big + 1);
	uint8_t *plain = calloc(1, (size_t)STATE_MAX_PLAIN + 1);
	char *b64 = NULL;
	size_t blen = 0;
	uint8_t *p = NULL;
	size_t plen = 0;

	CHECK(txt && plain);
	if (!txt || !plain)
		goto out;
	memset(txt, 'A', big);
	txt[big] = 0;
	CHECK(state_open(txt, big, v->secret, v->slen, v->app, &p, &plen) == -E2BIG);
	CHECK(state_seal(plain, (size_t)STATE_MAX_PLAIN + 1, v->secret, v->slen, v->app, util_rng,
			 NULL, &b64, &blen) == -E2BIG);
	CHECK(b64 == NULL);
	/* the largest plaintext seals and opens */
	CHECK(state_seal(plain, STATE_MAX_PLAIN, v->secret, v->slen, v->app, util_rng, NULL,
			 &b64, &blen) == 0);
	CHECK(blen <= STATE_MAX_B64);
	CHECK(state_open(b64, blen, v->secret, v->slen, v->app, &p, &plen) == 0);
	CHECK(plen == STATE_MAX_PLAIN && p && memcmp(p, plain, plen) == 0);
	wipe_free(p, plen);
out:
	free(b64);
	free(txt);
	free(plain);
}

static void test_rng_use(const struct vec *v)
{
	char *a = NULL, *b = NULL;
	size_t al = 0, bl = 0;
	uint8_t stream[16];
	struct fixed_rng r = { stream, sizeof stream, 0, 0 };

	memset(stream, 7, sizeof stream);
	/* salt and nonce are drawn separately: 16 bytes are not enough */
	CHECK(state_seal(v->plain, v->plen, v->secret, v->slen, v->app, fixed_rng, &r, &a,
			 &al) == -EIO);
	CHECK(a == NULL && r.calls == 2);
	CHECK(state_seal(v->plain, v->plen, v->secret, v->slen, v->app, failing_rng, NULL, &a,
			 &al) == -EIO);
	CHECK(a == NULL && al == 0);
	/* real randomness: two seals differ, both open */
	CHECK(state_seal(v->plain, v->plen, v->secret, v->slen, v->app, util_rng, NULL, &a,
			 &al) == 0);
	CHECK(state_seal(v->plain, v->plen, v->secret, v->slen, v->app, util_rng, NULL, &b,
			 &bl) == 0);
	CHECK(a && b && strcmp(a, b) != 0);
	CHECK(a && open_vec(v, a, al) == 0);
	CHECK(b && open_vec(v, b, bl) == 0);
	free(a);
	free(b);
}

/* ---- hal sim: the appliance secret ---- */
static int rm_cb(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(p);
}

static void rm_rf(const char *dir)
{
	nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* Racing first starts all end up with one secret, and no temp file is left. */
static void test_hal_race(const struct hal *h, const char *root)
{
	char path[256];
	struct hal_cfg cfg = { root, path };
	uint8_t s1[32], s2[32];
	int fds[8][2], same = 0, leftovers = 0;
	pid_t pids[8];

	snprintf(path, sizeof path, "%s/raced-secret", root);
	CHECK(h->open(&cfg) == 0);
	for (int i = 0; i < 8; i++) {
		CHECK(pipe(fds[i]) == 0);
		pids[i] = fork();
		if (pids[i] == 0) {
			uint8_t s[32];
			int rc = h->appliance_secret(s);
			_exit(rc == 0 && write(fds[i][1], s, 32) == 32 ? 0 : 1);
		}
	}
	CHECK(h->appliance_secret(s1) == 0);
	for (int i = 0; i < 8; i++) {
		int status = 0;
		waitpid(pids[i], &status, 0);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		if (read(fds[i][0], s2, 32) == 32 && memcmp(s1, s2, 32) == 0)
			same++;
		close(fds[i][0]);
		close(fds[i][1]);
	}
	CHECK(same == 8);
	DIR *d = opendir(root);
	for (struct dirent *e; d && (e = readdir(d));)
		leftovers += strstr(e->d_name, ".tmp") != NULL;
	if (d)
		closedir(d);
	CHECK(leftovers == 0);
}

/* An explicit file (hal_cfg) and SBS_APPLIANCE_SECRET_FILE override the default. */
static void test_hal_override(const struct hal *h, const char *root, const uint8_t def[32])
{
	char data[256], other[256];
	struct hal_cfg cfg = { data, other };
	uint8_t s1[32], s2[32];
	struct stat st;

	snprintf(data, sizeof data, "%s/var/data", root);
	snprintf(other, sizeof other, "%s/explicit-secret", root);
	CHECK(h->open(&cfg) == 0 && h->appliance_secret(s2) == 0);
	CHECK(stat(other, &st) == 0 && memcmp(def, s2, 32) != 0);
	cfg.secret_file = NULL;
	setenv("SBS_APPLIANCE_SECRET_FILE", other, 1);
	CHECK(h->open(&cfg) == 0 && h->appliance_secret(s1) == 0 && memcmp(s1, s2, 32) == 0);
	unsetenv("SBS_APPLIANCE_SECRET_FILE");
}

static void test_hal_sim(void)
{
	char root[] = "/tmp/sbs-test-state-XXXXXX", data[256], sf[256];
	const struct hal *h = hal_select("sim");
	uint8_t s1[32], s2[32], zero[32] = { 0 };
	struct hal_cfg cfg = { data, NULL };
	struct stat st;

	CHECK(hal_select("nope") == NULL && hal_select(NULL) == NULL);
	CHECK(h && strcmp(h->name, "sim") == 0);
	if (!h || !mkdtemp(root))
		return;
	unsetenv("SBS_APPLIANCE_SECRET_FILE");
	snprintf(data, sizeof data, "%s/var/data", root);
	snprintf(sf, sizeof sf, "%s/var/.sbs-appliance-secret", root);
	CHECK(h->open(&cfg) == 0);
	CHECK(stat(data, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0700);
	CHECK(strcmp(h->data_dir(), data) == 0);
	CHECK(h->protected_guest() == 0);
	CHECK(stat(sf, &st) < 0);                     /* created on first use only */
	CHECK(h->appliance_secret(s1) == 0);
	CHECK(stat(sf, &st) == 0 && st.st_size == 32 && (st.st_mode & 0777) == 0600);
	CHECK(memcmp(s1, zero, 32) != 0);
	CHECK(h->open(&cfg) == 0);                    /* a restart reads it back */
	CHECK(h->appliance_secret(s2) == 0 && memcmp(s1, s2, 32) == 0);
	test_hal_override(h, root, s1);

	/* a file of the wrong size is an error and is left alone */
	CHECK(h->open(&cfg) == 0);
	CHECK(truncate(sf, 31) == 0);
	CHECK(h->appliance_secret(s2) == -EINVAL);
	CHECK(stat(sf, &st) == 0 && st.st_size == 31);
	CHECK(truncate(sf, 33) == 0);
	CHECK(h->appliance_secret(s2) == -EINVAL);
	CHECK(stat(sf, &st) == 0 && st.st_size == 33);
	CHECK(h->open(NULL) == -EINVAL);
	test_hal_race(h, root);
	rm_rf(root);
}

int main(void)
{
	static struct vec vs[8];
	int nv;

	log_quiet = 1;
	nv = load_vectors(vs, 8);
	CHECK(nv == 4);
	test_known_answers(vs, nv);
	if (nv > 0) {
		test_wrong_keys(&vs[0]);
		test_wrong_keys(&vs[2]);
		test_truncation(&vs[0]);
		test_truncation(&vs[1]);
		test_bit_flips(&vs[0]);
		test_bit_flips(&vs[1]);
		test_version_and_base64(&vs[0]);
		test_limits(&vs[2]);
		test_rng_use(&vs[2]);
	}
	test_hal_sim();
	return tu_done("test_state");
}
