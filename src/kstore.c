/* SPDX-License-Identifier: MIT */
/*
 * kstore: the keeper process's key store (contract in kstore.h). Each key is a
 * PEM file in the keeper directory (0600, written atomically), loaded at open
 * and generated on first need. A key file that exists but does not parse, or
 * holds the wrong kind of key, is an error at open and is never regenerated
 * over. Every private-key PEM in memory lives in a stack buffer that is wiped
 * before the function returns.
 *
 * Replacement (kstore_import, kstore_set_tls_key) parses and checks everything
 * first, then stages every new file as <name>.new (atomic writes), then renames
 * the staged files into place, and only then swaps the in-memory keys. A
 * failure before the renames changes nothing; a rename failure rolls back the
 * files already renamed. Keys that the import does not name are kept.
 *
 * No key object ever leaves this file: the TLS engine in the API process signs
 * its handshakes through the keeper (keeper_sign), so a replaced key is freed
 * (wiped) at once.
 */
#include "kstore.h"
#include "limits.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define HOST_MAX 253

static const char *const key_name[KEEPER_NKEYS] = { "manifest", "image", "tls" };

static struct {
	int open;
	char dir[PATH_MAX_SBS];
	cry_rng_fn rng;
	void *rctx;
	struct cry_key *key[KEEPER_NKEYS];
} K;

static void key_free(struct cry_key *key)
{
	if (key)
		cry_key_free(key);
}

static int valid_key(enum keeper_key k)
{
	return (int)k >= 0 && k < KEEPER_NKEYS;
}

/* MANIFEST must be RSA (build.py verifies PKCS#1 v1.5), IMAGE EC P-256
 * (cosign); TLS may be either, since a deploy-time SERVER_KEY is RSA. */
static int type_ok(enum keeper_key k, const struct cry_key *key)
{
	enum cry_key_type t = cry_key_type(key);

	if (k == KEEPER_MANIFEST)
		return t == CRY_KEY_RSA;
	if (k == KEEPER_IMAGE)
		return t == CRY_KEY_EC_P256;
	return t == CRY_KEY_RSA || t == CRY_KEY_EC_P256;
}

static int key_path(enum keeper_key k, const char *suffix, char *out, size_t cap)
{
	int n = snprintf(out, cap, "%s/%s.pem%s", K.dir, key_name[k], suffix);

	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

/* Parses a private key PEM and checks its kind for slot k. */
static int parse_for(enum keeper_key k, const uint8_t *pem, size_t len, struct cry_key **out)
{
	struct cry_key *key = NULL;
	int rc;

	*out = NULL;
	if (len == 0 || len > KEY_MAX_PEM)
		return len ? -E2BIG : -EINVAL;
	rc = cry_key_parse(&key, pem, len);
	if (rc < 0)
		return -EINVAL;
	if (!type_ok(k, key)) {
		key_free(key);
		return -EINVAL;
	}
	*out = key;
	return 0;
}

/* Loads one key file; absent is fine (slot stays empty). */
static int load_key(enum keeper_key k)
{
	char path[PATH_MAX_SBS];
	uint8_t *pem = NULL;
	size_t len = 0;
	int rc;

	rc = key_path(k, "", path, sizeof path);
	if (rc < 0)
		return rc;
	rc = util_read_file(path, KEY_MAX_PEM, &pem, &len);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0) {
		log_err("keeper: cannot read the %s key file (%s)", key_name[k], strerror(-rc));
		return rc;
	}
	rc = parse_for(k, pem, len, &K.key[k]);
	if (rc < 0)
		log_err("keeper: the %s key file does not hold a usable key", key_name[k]);
	wipe_free(pem, len);
	return rc;
}

static void free_all(void)
{
	for (int k = 0; k < KEEPER_NKEYS; k++)
		key_free(K.key[k]);
	wipe(&K, sizeof K);
}

int kstore_open(const char *dir, cry_rng_fn rng, void *rctx)
{
	char stale[PATH_MAX_SBS];
	size_t n;
	int rc;

	if (!dir || !dir[0] || !rng)
		return -EINVAL;
	if (K.open)
		return -EBUSY;
	n = strlen(dir);
	if (n >= sizeof K.dir - 16)
		return -ENAMETOOLONG;
	rc = util_mkdirs(dir, 0700);
	if (rc < 0)
		return rc;
	memcpy(K.dir, dir, n + 1);
	K.rng = rng;
	K.rctx = rctx;
	for (int k = 0; k < KEEPER_NKEYS; k++) {
		/* a staged file left by a crash mid-import is never rolled forward */
		if (key_path((enum keeper_key)k, ".new", stale, sizeof stale) == 0)
			unlink(stale);
		rc = load_key((enum keeper_key)k);
		if (rc < 0) {
			free_all();
			return rc;
		}
	}
	K.open = 1;
	return 0;
}

void kstore_close(void)
{
	free_all();
}

/* Writes key's private PEM to <name>.pem<suffix> atomically, 0600. */
static int store_key(enum keeper_key k, const struct cry_key *key, const char *suffix)
{
	char pem[KEY_MAX_PEM], path[PATH_MAX_SBS];
	size_t len = 0;
	int rc;

	rc = key_path(k, suffix, path, sizeof path);
	if (rc < 0)
		return rc;
	rc = cry_key_priv_pem(key, pem, sizeof pem, &len);
	if (rc == 0)
		rc = util_write_atomic(path, pem, len, 0600);
	wipe(pem, sizeof pem);
	return rc;
}

/* The key in slot k, generated and stored first if absent. */
static int ensure(enum keeper_key k, const struct cry_key **out)
{
	static const enum cry_key_type gen_type[KEEPER_NKEYS] = {
		CRY_KEY_RSA, CRY_KEY_EC_P256, CRY_KEY_EC_P256
	};
	struct cry_key *key = NULL;
	int rc;

	if (!K.open)
		return -EBADF;
	if (!valid_key(k))
		return -EINVAL;
	if (!K.key[k]) {
		rc = cry_key_gen(&key, gen_type[k], K.rng, K.rctx);
		if (rc < 0)
			return rc;
		rc = store_key(k, key, "");
		if (rc < 0) {
			key_free(key);
			log_err("keeper: cannot store the new %s key (%s)", key_name[k],
				strerror(-rc));
			return rc;
		}
		K.key[k] = key;
		log_info("keeper: generated the %s key", key_name[k]);
	}
	*out = K.key[k];
	return 0;
}

int kstore_pubkey_pem(enum keeper_key k, char *out, size_t cap, size_t *len)
{
	const struct cry_key *key;
	int rc;

	if (!out || !len)
		return -EINVAL;
	rc = ensure(k, &key);
	if (rc < 0)
		return rc;
	return cry_key_pub_pem(key, out, cap, len);
}

int kstore_pubkey_der(enum keeper_key k, uint8_t *out, size_t cap, size_t *len)
{
	const struct cry_key *key;
	int rc;

	if (!out || !len)
		return -EINVAL;
	rc = ensure(k, &key);
	if (rc < 0)
		return rc;
	return cry_key_pub_der(key, out, cap, len);
}

int kstore_has(enum keeper_key k)
{
	return K.open && valid_key(k) && K.key[k] != NULL;
}

int kstore_sign(enum keeper_key k, const uint8_t hash[static 32],
		uint8_t *sig, size_t cap, size_t *siglen)
{
	const struct cry_key *key;
	int rc;

	if (!sig || !siglen)
		return -EINVAL;
	rc = ensure(k, &key);
	if (rc < 0)
		return rc;
	return cry_sign_sha256(key, hash, sig, cap, siglen, K.rng, K.rctx);
}

/* 1..253 characters of [A-Za-z0-9.-]: nothing that could change the DN. */
static int host_ok(const char *host)
{
	size_t n = 0;

	if (!host)
		return 0;
	for (; host[n]; n++) {
		char c = host[n];
		if (n >= HOST_MAX)
			return 0;
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '-'))
			return 0;
	}
	return n > 0;
}

int kstore_tls_csr(const char *host, char *out, size_t cap)
{
	char subject[HOST_MAX + 4];
	const struct cry_key *key;
	int rc;

	if (!out || !host_ok(host))
		return -EINVAL;
	rc = ensure(KEEPER_TLS, &key);
	if (rc < 0)
		return rc;
	snprintf(subject, sizeof subject, "CN=%s", host);
	return cry_csr_make(key, subject, host, out, cap, K.rng, K.rctx);
}

int kstore_tls_selfsigned(const char *host, uint64_t serial, time_t not_before,
			  time_t not_after, char *out, size_t cap)
{
	char subject[HOST_MAX + 4];
	const struct cry_key *key;
	struct cry_cert_req r = {
		.subject = subject, .serial = serial, .not_before = not_before,
		.not_after = not_after, .key_usage = CRY_KU_DIGSIG,
		.ext_key_usage = CRY_EKU_SERVER, .san_dns = host,
	};
	int rc;

	if (!out || !host_ok(host) || serial == 0 || not_after <= not_before)
		return -EINVAL;
	rc = ensure(KEEPER_TLS, &key);
	if (rc < 0)
		return rc;
	snprintf(subject, sizeof subject, "CN=%s", host);
	r.subject_key = r.issuer_key = key;
	return cry_cert_make(&r, out, cap, K.rng, K.rctx);
}

static void unlink_staged(struct cry_key *const nk[KEEPER_NKEYS])
{
	char path[PATH_MAX_SBS];

	for (int k = 0; k < KEEPER_NKEYS; k++)
		if (nk[k] && key_path((enum keeper_key)k, ".new", path, sizeof path) == 0)
			unlink(path);
}

/* Puts the previous file of slot k back after a failed commit. */
static void restore_file(enum keeper_key k)
{
	char path[PATH_MAX_SBS];

	if (K.key[k]) {
		if (store_key(k, K.key[k], "") < 0)
			log_err("keeper: cannot restore the %s key file", key_name[k]);
	} else if (key_path(k, "", path, sizeof path) == 0) {
		unlink(path);
	}
}

static int sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc;

	if (fd < 0)
		return -errno;
	rc = fsync(fd) < 0 ? -errno : 0;
	close(fd);
	return rc;
}

static int rename_staged(enum keeper_key k)
{
	char from[PATH_MAX_SBS], to[PATH_MAX_SBS];
	int rc;

	rc = key_path(k, ".new", from, sizeof from);
	if (rc == 0)
		rc = key_path(k, "", to, sizeof to);
	if (rc == 0 && rename(from, to) < 0)
		rc = -errno;
	return rc;
}

/* Stages, renames, then swaps the slots whose nk[k] is set. Takes ownership
 * of every nk[k]: on success they are in use, on failure they are freed. */
static int commit(struct cry_key *nk[KEEPER_NKEYS])
{
	int rc = 0, k, done = 0;

	for (k = 0; k < KEEPER_NKEYS && rc == 0; k++)
		if (nk[k])
			rc = store_key((enum keeper_key)k, nk[k], ".new");
	for (; done < KEEPER_NKEYS && rc == 0; done++)
		if (nk[done])
			rc = rename_staged((enum keeper_key)done);
	if (rc == 0)
		rc = sync_dir(K.dir);
	if (rc < 0) {
		/* slots below the failing one were renamed: put the old files back */
		for (k = 0; k + 1 < done; k++)
			if (nk[k])
				restore_file((enum keeper_key)k);
		unlink_staged(nk);
		for (k = 0; k < KEEPER_NKEYS; k++)
			key_free(nk[k]);
		return rc;
	}
	for (k = 0; k < KEEPER_NKEYS; k++) {
		if (!nk[k])
			continue;
		key_free(K.key[k]);
		K.key[k] = nk[k];
	}
	return 0;
}

int kstore_set_tls_key(const uint8_t *pem, size_t len)
{
	struct cry_key *nk[KEEPER_NKEYS] = { NULL };
	int rc;

	if (!K.open)
		return -EBADF;
	if (!pem)
		return -EINVAL;
	rc = parse_for(KEEPER_TLS, pem, len, &nk[KEEPER_TLS]);
	if (rc < 0)
		return rc;
	return commit(nk);
}

int kstore_export(json **out)
{
	char pem[KEY_MAX_PEM];
	size_t len;
	json *o;
	int rc = 0;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!K.open)
		return -EBADF;
	o = json_new_obj();
	if (!o)
		return -ENOMEM;
	for (int k = 0; k < KEEPER_NKEYS && rc == 0; k++) {
		if (!K.key[k])
			continue;
		rc = cry_key_priv_pem(K.key[k], pem, sizeof pem, &len);
		if (rc == 0)
			rc = json_set_strn(o, key_name[k], pem, len);
		wipe(pem, sizeof pem);
	}
	if (rc < 0) {
		json_free_secret(o);
		return rc;
	}
	*out = o;
	return 0;
}

/* Maps an export member name to its slot; -1 if unknown. */
static int slot_of(const char *name)
{
	for (int k = 0; k < KEEPER_NKEYS; k++)
		if (name && strcmp(name, key_name[k]) == 0)
			return k;
	return -1;
}

int kstore_import(const json *keys)
{
	struct cry_key *nk[KEEPER_NKEYS] = { NULL };
	const json *m;
	const char *s;
	int rc = 0, k;

	if (!K.open)
		return -EBADF;
	if (!json_is_obj(keys))
		return -EINVAL;
	for (m = json_child(keys); m && rc == 0; m = json_next(m)) {
		k = slot_of(json_key(m));
		s = json_str(m);
		if (k < 0 || !s || nk[k])
			rc = -EINVAL;   /* unknown name, not a string, or duplicate */
		else
			rc = parse_for((enum keeper_key)k, (const uint8_t *)s, strlen(s), &nk[k]);
	}
	if (rc < 0) {
		for (k = 0; k < KEEPER_NKEYS; k++)
			key_free(nk[k]);
		return rc;
	}
	return commit(nk);
}
