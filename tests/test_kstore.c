/* SPDX-License-Identifier: MIT */
/*
 * Tests of src/kstore.c (the keeper process's key store, called in-process
 * here) in a temporary directory: keys generated on first
 * need and stable across close/reopen, signatures checked with
 * cry_verify_sha256 (RSA PKCS#1 v1.5 for MANIFEST, ECDSA for IMAGE), the TLS
 * CSR and its host check, export -> import into a second directory, imports
 * and TLS key replacements that must change nothing, file modes, and that no
 * public output carries private key material.
 */
#include "kstore.h"
#include "limits.h"
#include "tutil.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char root[] = "/tmp/sbs-test-keeper-XXXXXX";
static const char *const files[KEEPER_NKEYS] = { "manifest.pem", "image.pem", "tls.pem" };

struct pubs {
	char pem[KEEPER_NKEYS][1024];
};

static void get_pubs(struct pubs *p)
{
	for (int k = 0; k < KEEPER_NKEYS; k++) {
		size_t n = 0;
		CHECK(kstore_pubkey_pem((enum keeper_key)k, p->pem[k], sizeof p->pem[k], &n) == 0);
		CHECK(n == strlen(p->pem[k]));
		CHECK(strncmp(p->pem[k], "-----BEGIN PUBLIC KEY-----", 26) == 0);
		CHECK(strstr(p->pem[k], "PRIVATE") == NULL);
		CHECK(n < 600);                 /* an RSA-2048 private key PEM is ~1.7 KiB */
	}
}

static int same_pubs(const struct pubs *a, const struct pubs *b)
{
	for (int k = 0; k < KEEPER_NKEYS; k++)
		if (strcmp(a->pem[k], b->pem[k]) != 0)
			return 0;
	return 1;
}

static void path_of(char *out, size_t cap, const char *dir, const char *name)
{
	snprintf(out, cap, "%s/%s", dir, name);
}

static int file_mode(const char *dir, const char *name)
{
	char p[512];
	struct stat st;

	path_of(p, sizeof p, dir, name);
	return stat(p, &st) == 0 ? (int)(st.st_mode & 07777) : -1;
}

/* Concatenation of the key files, to prove that nothing changed on disk. */
static char *snapshot(const char *dir)
{
	struct buf b = { 0 };

	for (int k = 0; k < KEEPER_NKEYS; k++) {
		char p[512];
		uint8_t *d = NULL;
		size_t n = 0;
		path_of(p, sizeof p, dir, files[k]);
		if (util_read_file(p, KEY_MAX_PEM, &d, &n) == 0)
			buf_append(&b, d, n);
		buf_append(&b, "|", 1);
		wipe_free(d, n);
	}
	return (char *)b.data;
}

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	int n = 0;

	for (struct dirent *e; d && (e = readdir(d));)
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

static void test_generate_and_reopen(const char *dir, struct pubs *first)
{
	struct pubs again;
	struct stat st;
	char sub[300];

	CHECK(kstore_has(KEEPER_MANIFEST) == 0);     /* not open yet */
	CHECK(kstore_open(dir, util_rng, NULL) == 0);
	CHECK(kstore_open(dir, util_rng, NULL) == -EBUSY);
	CHECK(stat(dir, &st) == 0 && (st.st_mode & 0777) == 0700);
	for (int k = 0; k < KEEPER_NKEYS; k++)
		CHECK(kstore_has((enum keeper_key)k) == 0);
	CHECK(kstore_has(KEEPER_NKEYS) == 0 && kstore_has((enum keeper_key)-1) == 0);
	CHECK(count_entries(dir) == 0);
	get_pubs(first);
	for (int k = 0; k < KEEPER_NKEYS; k++) {
		CHECK(kstore_has((enum keeper_key)k) == 1);
		CHECK(file_mode(dir, files[k]) == 0600);
	}
	CHECK(count_entries(dir) == KEEPER_NKEYS);   /* no temp files left */
	get_pubs(&again);
	CHECK(same_pubs(first, &again));
	kstore_close();
	CHECK(kstore_has(KEEPER_MANIFEST) == 0);
	CHECK(kstore_open(dir, util_rng, NULL) == 0);
	for (int k = 0; k < KEEPER_NKEYS; k++)
		CHECK(kstore_has((enum keeper_key)k) == 1);
	get_pubs(&again);
	CHECK(same_pubs(first, &again));
	kstore_close();
	/* the keys directory itself is created when missing */
	snprintf(sub, sizeof sub, "%s/new/keys", root);
	CHECK(kstore_open(sub, util_rng, NULL) == 0);
	CHECK(kstore_has(KEEPER_IMAGE) == 0);
	kstore_close();
}

static void test_sign(const struct pubs *p)
{
	uint8_t hash[32], other[32], sig[SIG_MAX];
	size_t n = 0;
	const char *m = p->pem[KEEPER_MANIFEST], *i = p->pem[KEEPER_IMAGE];

	cry_sha256("sbs manifest", 12, hash);
	cry_sha256("something else", 14, other);
	CHECK(kstore_sign(KEEPER_MANIFEST, hash, sig, sizeof sig, &n) == 0);
	CHECK(n == 256);
	CHECK(cry_verify_sha256((const uint8_t *)m, strlen(m), hash, sig, n) == 0);
	CHECK(cry_verify_sha256((const uint8_t *)m, strlen(m), other, sig, n) == -EBADMSG);
	CHECK(cry_verify_sha256((const uint8_t *)i, strlen(i), hash, sig, n) != 0);
	CHECK(kstore_sign(KEEPER_MANIFEST, hash, sig, 100, &n) < 0);   /* too small */
	CHECK(kstore_sign(KEEPER_IMAGE, hash, sig, sizeof sig, &n) == 0);
	CHECK(n >= 8 && n <= 72 && sig[0] == 0x30);                     /* DER ECDSA */
	CHECK(cry_verify_sha256((const uint8_t *)i, strlen(i), hash, sig, n) == 0);
	sig[n - 1] ^= 1;
	CHECK(cry_verify_sha256((const uint8_t *)i, strlen(i), hash, sig, n) != 0);
	CHECK(kstore_sign(KEEPER_NKEYS, hash, sig, sizeof sig, &n) == -EINVAL);
}

static void test_csr(const struct pubs *p)
{
	char csr[4096], pub[1024], san[300], host[300];
	static const char *const bad[] = {
		"", "a b", "x,CN=evil", "host/1", "h\xc3\xa9", "a_b", "x\ny",
	};

	CHECK(kstore_tls_csr("build.example.com", csr, sizeof csr) == 0);
	CHECK(strstr(csr, "BEGIN CERTIFICATE REQUEST") != NULL);
	CHECK(strstr(csr, "PRIVATE") == NULL);
	CHECK(cry_csr_info((const uint8_t *)csr, strlen(csr), pub, sizeof pub, san,
			   sizeof san) == 0);
	CHECK(strcmp(pub, p->pem[KEEPER_TLS]) == 0);
	CHECK(strcmp(san, "build.example.com") == 0);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK(kstore_tls_csr(bad[i], csr, sizeof csr) == -EINVAL);
	CHECK(kstore_tls_csr(NULL, csr, sizeof csr) == -EINVAL);
	memset(host, 'a', 254);
	host[254] = 0;
	CHECK(kstore_tls_csr(host, csr, sizeof csr) == -EINVAL);
	host[253] = 0;
	for (int i = 63; i < 253; i += 64)
		host[i] = '.';                  /* labels of 63 */
	CHECK(kstore_tls_csr(host, csr, sizeof csr) == 0);
	CHECK(cry_csr_info((const uint8_t *)csr, strlen(csr), pub, sizeof pub, san,
			   sizeof san) == 0 && strcmp(san, host) == 0);
	/* the self-signed bootstrap certificate carries the TLS key */
	struct cry_cert_info info;
	CHECK(kstore_tls_selfsigned("build.example.com", 7, 1000, 999, csr, sizeof csr) == -EINVAL);
	CHECK(kstore_tls_selfsigned("a b", 7, 1000, 2000, csr, sizeof csr) == -EINVAL);
	CHECK(kstore_tls_selfsigned("build.example.com", 0, 1000, 2000, csr, sizeof csr) == -EINVAL);
	CHECK(kstore_tls_selfsigned("build.example.com", 7, time(NULL) - 60, time(NULL) + 3600,
				    csr, sizeof csr) == 0);
	CHECK(strstr(csr, "PRIVATE") == NULL);
	CHECK(cry_cert_info((const uint8_t *)csr, strlen(csr), &info) == 0);
	CHECK(strcmp(info.pub_pem, p->pem[KEEPER_TLS]) == 0);
	CHECK(strcmp(info.san_dns, "build.example.com") == 0);
	CHECK(cry_cert_verify((const uint8_t *)csr, strlen(csr), (const uint8_t *)csr, strlen(csr),
			      time(NULL)) == 0);
	uint8_t der[256];
	size_t dl = 0;
	CHECK(kstore_pubkey_der(KEEPER_TLS, der, sizeof der, &dl) == 0 && dl == 91);  /* P-256 SPKI */
}

static json *export_all(void)
{
	json *e = NULL;

	CHECK(kstore_export(&e) == 0);
	CHECK(json_count(e) == KEEPER_NKEYS);
	CHECK(json_get_str(e, "manifest") &&
	      strstr(json_get_str(e, "manifest"), "-----BEGIN RSA PRIVATE KEY-----"));
	CHECK(json_get_str(e, "image") &&
	      strstr(json_get_str(e, "image"), "-----BEGIN EC PRIVATE KEY-----"));
	CHECK(json_get_str(e, "tls") && strstr(json_get_str(e, "tls"), "PRIVATE KEY"));
	return e;
}

/* Every one of these must fail and leave memory and disk as they were. */
static void test_bad_imports(const char *dir, const json *good)
{
	struct pubs before, after;
	char *snap = snapshot(dir), *snap2;
	const char *rsa = json_get_str(good, "manifest"), *ec = json_get_str(good, "image");
	static const char *const bad_json[] = {
		"[]", "\"x\"", "{\"manifest\": \"garbage\"}", "{\"bogus\": \"x\"}",
		"{\"manifest\": 5}", "{\"tls\": null}", "{\"image\": {}}",
	};

	get_pubs(&before);
	for (size_t i = 0; i < sizeof bad_json / sizeof bad_json[0]; i++) {
		json *j = NULL;
		const char *err;
		CHECK(json_parse(bad_json[i], strlen(bad_json[i]), &j, &err) == 0);
		CHECK(kstore_import(j) == -EINVAL);
		json_free(j);
	}
	CHECK(kstore_import(NULL) == -EINVAL);
	/* right PEMs in the wrong slots; a valid key next to a bad one */
	json *j = json_new_obj();
	CHECK(json_set_str(j, "image", rsa) == 0);
	CHECK(kstore_import(j) == -EINVAL);
	json_del(j, "image");
	CHECK(json_set_str(j, "manifest", ec) == 0);
	CHECK(kstore_import(j) == -EINVAL);
	CHECK(json_set_str(j, "manifest", rsa) == 0 && json_set_str(j, "image", "junk") == 0);
	CHECK(kstore_import(j) == -EINVAL);
	json_free_secret(j);
	CHECK(kstore_set_tls_key((const uint8_t *)"junk", 4) == -EINVAL);
	CHECK(kstore_set_tls_key(NULL, 0) == -EINVAL);
	get_pubs(&after);
	CHECK(same_pubs(&before, &after));
	snap2 = snapshot(dir);
	CHECK(snap && snap2 && strcmp(snap, snap2) == 0);
	CHECK(count_entries(dir) == KEEPER_NKEYS);
	wipe_free(snap, snap ? strlen(snap) : 0);
	wipe_free(snap2, snap2 ? strlen(snap2) : 0);
}

/* A partial import replaces only the keys it names; a deploy-time RSA TLS
 * key replaces the generated one. */
static void test_partial_and_tls(const struct pubs *orig)
{
	struct cry_key *k = NULL;
	char pem[KEY_MAX_PEM];
	size_t n = 0;
	struct pubs now;
	json *j = json_new_obj();

	CHECK(cry_key_gen(&k, CRY_KEY_EC_P256, util_rng, NULL) == 0);
	CHECK(cry_key_priv_pem(k, pem, sizeof pem, &n) == 0);
	CHECK(json_set_strn(j, "image", pem, n) == 0);
	CHECK(kstore_import(j) == 0);
	json_free_secret(j);
	get_pubs(&now);
	CHECK(strcmp(now.pem[KEEPER_MANIFEST], orig->pem[KEEPER_MANIFEST]) == 0);
	CHECK(strcmp(now.pem[KEEPER_IMAGE], orig->pem[KEEPER_IMAGE]) != 0);
	CHECK(strcmp(now.pem[KEEPER_TLS], orig->pem[KEEPER_TLS]) == 0);
	cry_key_free(k);
	wipe(pem, sizeof pem);

	/* a deploy-time RSA server key */
	k = NULL;
	CHECK(cry_key_gen(&k, CRY_KEY_RSA, util_rng, NULL) == 0);
	CHECK(cry_key_priv_pem(k, pem, sizeof pem, &n) == 0);
	CHECK(kstore_set_tls_key((const uint8_t *)pem, n) == 0);
	get_pubs(&now);
	CHECK(strcmp(now.pem[KEEPER_TLS], orig->pem[KEEPER_TLS]) != 0);
	cry_key_free(k);
	wipe(pem, sizeof pem);
}

static void test_export_import(const char *dir1, const char *dir2, const struct pubs *p1)
{
	struct pubs p2;
	json *e;

	CHECK(kstore_open(dir1, util_rng, NULL) == 0);
	e = export_all();
	test_bad_imports(dir1, e);
	kstore_close();

	CHECK(kstore_open(dir2, util_rng, NULL) == 0);
	CHECK(kstore_import(e) == 0);
	for (int k = 0; k < KEEPER_NKEYS; k++) {
		CHECK(kstore_has((enum keeper_key)k) == 1);
		CHECK(file_mode(dir2, files[k]) == 0600);
	}
	CHECK(count_entries(dir2) == KEEPER_NKEYS);
	get_pubs(&p2);
	CHECK(same_pubs(p1, &p2));
	kstore_close();
	CHECK(kstore_open(dir2, util_rng, NULL) == 0);     /* and it was stored */
	get_pubs(&p2);
	CHECK(same_pubs(p1, &p2));
	test_partial_and_tls(p1);
	kstore_close();
	json_free_secret(e);
}

static void test_bad_files(const char *dir)
{
	char p[512], pn[512];
	json *e = NULL;
	uint8_t h[32] = { 0 }, sig[SIG_MAX];
	size_t n;

	CHECK(kstore_export(&e) == -EBADF && e == NULL);
	CHECK(kstore_sign(KEEPER_IMAGE, h, sig, sizeof sig, &n) == -EBADF);
	/* a staged file from an interrupted import is discarded, never used */
	path_of(pn, sizeof pn, dir, "image.pem.new");
	CHECK(util_write_atomic(pn, "junk", 4, 0600) == 0);
	CHECK(kstore_open(dir, util_rng, NULL) == 0);
	CHECK(access(pn, F_OK) < 0);
	kstore_close();
	/* an unreadable key file fails open and is left alone */
	path_of(p, sizeof p, dir, "manifest.pem");
	CHECK(util_write_atomic(p, "not a key", 9, 0600) == 0);
	CHECK(kstore_open(dir, util_rng, NULL) == -EINVAL);
	CHECK(kstore_has(KEEPER_MANIFEST) == 0);
	CHECK(kstore_open(dir, util_rng, NULL) == -EINVAL);  /* not regenerated */
	/* a key of the wrong kind in a slot is refused too */
	char ip[512];
	uint8_t *d = NULL;
	size_t dl = 0;
	path_of(ip, sizeof ip, dir, "image.pem");
	CHECK(util_read_file(ip, KEY_MAX_PEM, &d, &dl) == 0);
	CHECK(d && util_write_atomic(p, d, dl, 0600) == 0);
	wipe_free(d, dl);
	CHECK(kstore_open(dir, util_rng, NULL) == -EINVAL);
	CHECK(kstore_open(NULL, util_rng, NULL) == -EINVAL);
	CHECK(kstore_open(dir, NULL, NULL) == -EINVAL);
}

static int rm_cb(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(p);
}

int main(void)
{
	char d1[300], d2[300];
	struct pubs p1;

	log_quiet = 1;
	if (!mkdtemp(root)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(d1, sizeof d1, "%s/one/keys", root);
	snprintf(d2, sizeof d2, "%s/two/keys", root);
	test_generate_and_reopen(d1, &p1);
	CHECK(kstore_open(d1, util_rng, NULL) == 0);
	test_sign(&p1);
	test_csr(&p1);
	kstore_close();
	test_export_import(d1, d2, &p1);
	test_bad_files(d1);
	nftw(root, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	return tu_done("test_kstore");
}
