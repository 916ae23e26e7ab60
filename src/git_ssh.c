/* SPDX-License-Identifier: MIT */
/*
 * git_ssh: the SSH transport of git (contract in git.h): one exec channel
 * running git-upload-pack, over libssh2 1.10 with its mbedTLS backend
 * (mk/ssh2.mk). This is the only file that includes libssh2.h.
 *
 * libssh2 runs in non-blocking mode; every wait is a poll(2) bounded by the
 * per-wait timeout and the session deadline (GIT_SSH_SESSION_MS), so a
 * silent, slow or endless server ends in -ETIMEDOUT or at a byte limit of
 * the caller. The algorithms offered are narrowed to what libssh2 1.10 with
 * mbedTLS does well and OpenSSH and GitHub speak: ECDH on P-256/P-384 (then
 * finite-field DH with SHA-2), ECDSA host keys, AES-CTR and HMAC-SHA2. When
 * the pin file holds a key for the host, only that key's type is offered,
 * so a server with several host keys keeps presenting the pinned one.
 *
 * Secrets: the deploy key. libssh2 parses it from our buffer; the session's
 * allocator wipes every block libssh2 frees (malloc_usable_size bytes), and
 * the copies made here (base64 text and binary of an OpenSSH key, for its
 * public half) are wiped. Errors name the host, user and key type only.
 *
 * Randomness: libssh2's mbedTLS glue seeds its own CTR-DRBG from an entropy
 * context; our mbedTLS has no platform entropy, so mk/ssh2.mk renames the
 * glue's mbedtls_entropy_func to sbs_ssh2_entropy below (getrandom(2)). A
 * session is refused unless the seeding at libssh2_init drew from it and no
 * draw ever failed (libssh2 would otherwise go on with an unseeded DRBG).
 *
 * A build without mk/ssh2.mk (no libssh2.h among the deps) keeps URL parsing
 * and pinning, and git_ssh_open fails with -ENOTSUP saying so.
 */
#include "git.h"

#include <errno.h>
#include <malloc.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cry.h"

#if __has_include(<libssh2.h>)
#define SBS_HAVE_LIBSSH2 1
#include <libssh2.h>
#else
#define SBS_HAVE_LIBSSH2 0
#endif

#define KEX_PREF "ecdh-sha2-nistp256,ecdh-sha2-nistp384,diffie-hellman-group14-sha256," \
		 "diffie-hellman-group16-sha512,diffie-hellman-group18-sha512," \
		 "diffie-hellman-group-exchange-sha256"
#define HOSTKEY_PREF "ecdsa-sha2-nistp256,ecdsa-sha2-nistp384"
#define CIPHER_PREF "aes256-ctr,aes192-ctr,aes128-ctr"
#define MAC_PREF "hmac-sha2-256,hmac-sha2-512"
#define MAX_TYPE 64             /* a key type name ("ecdsa-sha2-nistp256") */
#define CLOSE_MS 2000           /* the polite goodbye, bounded */
#define PATH_BAD "'\"\\`$!"     /* never inside the remote command's quotes */

/* ---- URLs ------------------------------------------------------------------- */

int git_ssh_is_url(const char *url)
{
	const char *c, *sl;

	if (strncmp(url, "ssh://", 6) == 0)
		return 1;
	if (strstr(url, "://"))
		return 0;
	c = strchr(url, ':');
	sl = strchr(url, '/');
	return c && c != url && (!sl || c < sl);
}

static int user_ok(const char *p, size_t n)
{
	if (n == 0 || n > GIT_SSH_MAX_USER || p[0] == '-')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-", p[i]))
			return 0;
	return 1;
}

static int host_ok(const char *p, size_t n, int v6)
{
	if (n == 0 || n > HCL_MAX_HOST || p[0] == '-')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!strchr(v6 ? "0123456789abcdefABCDEF:." :
			    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-", p[i]))
			return 0;
	return 1;
}

static int path_ok(const char *p)
{
	size_t n = strlen(p);

	if (n == 0 || n >= GIT_MAX_PATH || p[0] == '-')
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f || strchr(PATH_BAD, p[i]))
			return 0;
	return 1;
}

/* authority = [user@]host[:port] (port only for ssh://) */
static int parse_auth(const char *a, size_t n, int with_port, struct git_ssh_url *u)
{
	const char *at = memchr(a, '@', n), *h, *e = a + n, *hend, *colon;
	uint64_t port = 22;

	if (at) {
		if (!user_ok(a, (size_t)(at - a)))
			return -EINVAL;
		memcpy(u->user, a, (size_t)(at - a));
		u->user[at - a] = 0;
	}
	h = at ? at + 1 : a;
	if (h < e && *h == '[') {
		if (!with_port || !(hend = memchr(h, ']', (size_t)(e - h))) ||
		    !host_ok(h + 1, (size_t)(hend - h - 1), 1))
			return -EINVAL;
		memcpy(u->host, h + 1, (size_t)(hend - h - 1));
		u->host[hend - h - 1] = 0;
		colon = hend + 1 < e ? hend + 1 : NULL;
		if (colon && *colon != ':')
			return -EINVAL;
	} else {
		colon = memchr(h, ':', (size_t)(e - h));
		hend = colon ? colon : e;
		if (!host_ok(h, (size_t)(hend - h), 0) || (colon && !with_port))
			return -EINVAL;
		memcpy(u->host, h, (size_t)(hend - h));
		u->host[hend - h] = 0;
	}
	if (colon && (util_parse_u64(colon + 1, (size_t)(e - colon - 1), 65535, &port) < 0 ||
		      port == 0))
		return -EINVAL;
	u->port = (unsigned)port;
	return 0;
}

int git_ssh_parse_url(const char *url, struct git_ssh_url *u, char *err, size_t errcap)
{
	size_t n = strlen(url);
	const char *rest, *sep;
	int rc;

	memset(u, 0, sizeof *u);
	strcpy(u->user, "git");
	if (n > HCL_MAX_URL || !git_ssh_is_url(url))
		return git_seterr(err, errcap, -EINVAL, "git: bad SSH repository URL");
	if (strncmp(url, "ssh://", 6) == 0) {
		rest = url + 6;
		sep = strchr(rest, '/');
		rc = sep ? parse_auth(rest, (size_t)(sep - rest), 1, u) : -EINVAL;
		if (rc == 0)        /* ssh://host/~user/x means ~user/x, as git reads it */
			snprintf(u->path, sizeof u->path, "%s", sep[1] == '~' ? sep + 1 : sep);
	} else {
		sep = strchr(url, ':');
		rc = parse_auth(url, (size_t)(sep - url), 0, u);
		if (rc == 0)
			snprintf(u->path, sizeof u->path, "%s", sep + 1);
	}
	if (rc < 0)
		return git_seterr(err, errcap, -EINVAL, "git: bad user, host or port in the SSH "
				  "repository URL");
	if (!path_ok(u->path))
		return git_seterr(err, errcap, -EINVAL, "git: the repository path in the SSH URL is "
				  "empty, starts with '-' or holds a quote, a backslash, '`', '$', "
				  "'!' or a control character");
	return 0;
}

/* ---- host keys and the pin file ---------------------------------------------- */

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The SSH string at *off of p[0..n): *s, *sl; advances *off. */
static int sshstr(const uint8_t *p, size_t n, size_t *off, const uint8_t **s, size_t *sl)
{
	uint32_t l;

	if (n - *off < 4)
		return -EBADMSG;
	l = be32(p + *off);
	if (l > n - *off - 4)
		return -EBADMSG;
	*s = p + *off + 4;
	*sl = l;
	*off += 4 + (size_t)l;
	return 0;
}

/* The type name a key blob starts with, NUL-terminated in t. */
static int blob_type(const uint8_t *blob, size_t len, char t[static MAX_TYPE + 1])
{
	const uint8_t *s;
	size_t sl, off = 0;

	if (sshstr(blob, len, &off, &s, &sl) < 0 || sl == 0 || sl > MAX_TYPE)
		return -EBADMSG;
	for (size_t i = 0; i < sl; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyz0123456789@.-", s[i]))
			return -EBADMSG;
	memcpy(t, s, sl);
	t[sl] = 0;
	return 0;
}

int git_ssh_fingerprint(const uint8_t *blob, size_t len, char out[static GIT_SSH_HOSTKEY_LEN])
{
	char t[MAX_TYPE + 1], b64[64];
	uint8_t h[32];
	size_t bl;

	out[0] = 0;
	if (blob_type(blob, len, t) < 0)
		return -EBADMSG;
	cry_sha256(blob, len, h);
	if (cry_b64_encode(h, sizeof h, b64, sizeof b64, &bl) < 0)
		return -EINVAL;
	while (bl > 0 && b64[bl - 1] == '=')
		bl--;
	snprintf(out, GIT_SSH_HOSTKEY_LEN, "%s SHA256:%.*s", t, (int)bl, b64);
	return 0;
}

/* Finds name's line ("name type key"): 1 with the fields, 0 if none,
 * -EBADMSG if that line is malformed. '#' lines are comments. */
static int pin_find(const char *txt, size_t n, const char *name, const char **type,
		    size_t *tl, const char **key, size_t *kl)
{
	size_t nl = strlen(name);

	for (size_t off = 0; off < n;) {
		const char *l = txt + off, *eol = memchr(l, '\n', n - off);
		size_t ll = eol ? (size_t)(eol - l) : n - off;
		const char *sp1, *sp2;

		off += ll + 1;
		if (ll <= nl || l[0] == '#' || memcmp(l, name, nl) != 0 || l[nl] != ' ')
			continue;
		sp1 = l + nl;
		sp2 = memchr(sp1 + 1, ' ', ll - nl - 1);
		if (!sp2 || sp2 == sp1 + 1 || sp2 + 1 == l + ll ||
		    memchr(sp2 + 1, ' ', (size_t)(l + ll - sp2 - 1)))
			return -EBADMSG;
		*type = sp1 + 1;
		*tl = (size_t)(sp2 - sp1 - 1);
		*key = sp2 + 1;
		*kl = (size_t)(l + ll - sp2 - 1);
		return 1;
	}
	return 0;
}

static int pin_read(const char *file, uint8_t **txt, size_t *n)
{
	int rc = util_read_file(file, GIT_SSH_MAX_PINS, txt, n);

	if (rc == -ENOENT) {
		*txt = NULL;
		*n = 0;
		return 0;
	}
	return rc;
}

/* The pinned key's fingerprint, for the refusal message. */
static void pinned_fp(const char *key, size_t kl, char out[static GIT_SSH_HOSTKEY_LEN])
{
	uint8_t blob[GIT_SSH_MAX_HOSTKEY];
	size_t bl;

	if (cry_b64_decode(key, kl, blob, sizeof blob, &bl) < 0 ||
	    git_ssh_fingerprint(blob, bl, out) < 0)
		snprintf(out, GIT_SSH_HOSTKEY_LEN, "(unreadable key)");
}

int git_ssh_pin(const char *file, const char *name, const uint8_t *blob, size_t len,
		char *err, size_t errcap)
{
	char t[MAX_TYPE + 1], fp_new[GIT_SSH_HOSTKEY_LEN], fp_old[GIT_SSH_HOSTKEY_LEN];
	const char *pt = NULL, *pk = NULL;
	size_t ptl = 0, pkl = 0, n = 0, bl;
	uint8_t *txt = NULL;
	char *b64 = NULL;
	struct buf nb = { .max = GIT_SSH_MAX_PINS };
	int rc;

	if (len > GIT_SSH_MAX_HOSTKEY || blob_type(blob, len, t) < 0 ||
	    git_ssh_fingerprint(blob, len, fp_new) < 0)
		return git_seterr(err, errcap, -EBADMSG, "git: %s sent a malformed host key", name);
	if (!(b64 = malloc(cry_b64_encoded_len(len))))
		return git_seterr(err, errcap, -ENOMEM, "out of memory");
	if ((rc = cry_b64_encode(blob, len, b64, cry_b64_encoded_len(len), &bl)) < 0)
		goto out;
	if ((rc = pin_read(file, &txt, &n)) < 0) {
		rc = git_seterr(err, errcap, rc, "git: cannot read the host-key pin file: %s",
				strerror(-rc));
		goto out;
	}
	rc = pin_find((const char *)txt, n, name, &pt, &ptl, &pk, &pkl);
	if (rc < 0) {
		rc = git_seterr(err, errcap, rc, "git: the pin file's line for %s is malformed", name);
		goto out;
	}
	if (rc == 1) {
		if (ptl == strlen(t) && memcmp(pt, t, ptl) == 0 && pkl == bl &&
		    memcmp(pk, b64, bl) == 0) {
			rc = 0;
			goto out;
		}
		pinned_fp(pk, pkl, fp_old);
		rc = git_seterr(err, errcap, -EKEYREJECTED, "git: the host key of %s is not the "
				"pinned one: pinned %s, offered %s; refused (remove the line for %s "
				"from the pin file if the change is expected)", name, fp_old, fp_new,
				name);
		goto out;
	}
	rc = buf_append(&nb, txt ? txt : (const uint8_t *)"", n);
	if (rc == 0 && n > 0 && txt[n - 1] != '\n')
		rc = buf_append(&nb, "\n", 1);
	if (rc == 0)
		rc = buf_printf(&nb, "%s %s %s\n", name, t, b64);
	if (rc == 0)
		rc = util_write_atomic(file, nb.data, nb.len, 0600);
	if (rc < 0)
		rc = git_seterr(err, errcap, rc, "git: cannot write the host-key pin file: %s",
				strerror(-rc));
	else
		log_info("git: pinned the host key of %s: %s", name, fp_new);
out:
	buf_free(&nb);
	free(txt);
	free(b64);
	return rc;
}

#if SBS_HAVE_LIBSSH2

struct git_ssh {
	int fd;
	int inited;                 /* libssh2_init done (libssh2_exit owed) */
	LIBSSH2_SESSION *sess;
	LIBSSH2_CHANNEL *ch;
	int timeout_ms;
	int werr;                   /* the last failed wait's -errno */
	int64_t deadline;           /* CLOCK_MONOTONIC ms */
	size_t elen;
	uint8_t eraw[GIT_MAX_MSG];  /* the start of the server's stderr */
	char etxt[GIT_MAX_MSG + 1];
	char name[GIT_MAX_PATH + HCL_MAX_HOST + GIT_SSH_MAX_USER + 32];
};

static void pin_name(const struct git_ssh_url *u, char *out, size_t cap)
{
	snprintf(out, cap, strchr(u->host, ':') ? "[%s]:%u" : "%s:%u", u->host, u->port);
}

/* The pinned key type for name, into t ("" if none or unreadable). */
static void pin_type(const char *file, const char *name, char t[static MAX_TYPE + 1])
{
	const char *pt, *pk;
	size_t ptl, pkl, n;
	uint8_t *txt;

	t[0] = 0;
	if (pin_read(file, &txt, &n) == 0 &&
	    pin_find((const char *)txt, n, name, &pt, &ptl, &pk, &pkl) == 1 && ptl <= MAX_TYPE) {
		memcpy(t, pt, ptl);
		t[ptl] = 0;
	}
	free(txt);
}

/* ---- randomness for libssh2's DRBG (see the top) ----------------------------- */

int sbs_ssh2_entropy(void *data, unsigned char *out, size_t len);
static int entropy_draws, entropy_failed;

int sbs_ssh2_entropy(void *data, unsigned char *out, size_t len)
{
	(void)data;
	entropy_draws++;
	if (util_rng(NULL, out, len) < 0) {
		entropy_failed = 1;
		return -0x003C;         /* MBEDTLS_ERR_ENTROPY_SOURCE_FAILED */
	}
	return 0;
}

/* ---- libssh2's allocator: every freed block is wiped --------------------------
 * Plain malloc blocks (libssh2's mbedTLS glue frees some of them with
 * mbedtls_free, which is free(3) in our build), zeroed when allocated: the
 * glue copies a PEM key into a block one byte longer and hands that byte,
 * never written, to mbedtls_pk_parse_key, which needs it to be NUL. */

static void *ss_alloc(size_t n, void **abstract)
{
	(void)abstract;
	return calloc(1, n ? n : 1);
}

static void ss_free(void *p, void **abstract)
{
	(void)abstract;
	if (p)
		wipe(p, malloc_usable_size(p));
	free(p);
}

static void *ss_realloc(void *p, size_t n, void **abstract)
{
	size_t old;
	void *q;

	if (!p)
		return ss_alloc(n, abstract);
	old = malloc_usable_size(p);
	if (!(q = malloc(n ? n : 1)))
		return NULL;
	memcpy(q, p, old < n ? old : n);
	ss_free(p, abstract);
	return q;
}

/* ---- the deploy key ---------------------------------------------------------- */

#define OSSH_BEGIN "-----BEGIN OPENSSH PRIVATE KEY-----"
#define OSSH_END "-----END OPENSSH PRIVATE KEY-----"
#define OSSH_MAGIC "openssh-key-v1"

#define USE_ECDSA "use an ECDSA key (ssh-keygen -t ecdsa -b 256)"
#define RSA_ADVICE "libssh2 1.10 signs with RSA only as ssh-rsa (SHA-1), which OpenSSH " \
		   "8.8 and later and GitHub refuse: " USE_ECDSA

static const char *key_type_advice(const char *t)
{
	if (strcmp(t, "ssh-ed25519") == 0)
		return "Ed25519 keys are not supported by libssh2 1.10 with mbedTLS: " USE_ECDSA;
	if (strcmp(t, "ssh-rsa") == 0)
		return RSA_ADVICE;
	return "unsupported key type: " USE_ECDSA;
}

/* The public half of an OpenSSH-format key (stored in the clear in it), as
 * "type base64" for libssh2. The key text and its decoding are SECRET. */
static int ossh_public(const uint8_t *k, size_t n, char **pub, size_t *publen, char *err,
		       size_t errcap)
{
	const uint8_t *b = memmem(k, n, OSSH_BEGIN, strlen(OSSH_BEGIN)), *e, *s;
	char *txt = malloc(n + 1), t[MAX_TYPE + 1];
	uint8_t *bin = malloc(n);
	size_t tl = 0, bl = 0, off = sizeof OSSH_MAGIC, sl, pl;
	int rc = -EINVAL;

	if (!txt || !bin) {
		rc = git_seterr(err, errcap, -ENOMEM, "out of memory");
		goto out;
	}
	b += strlen(OSSH_BEGIN);
	e = memmem(b, n - (size_t)(b - k), OSSH_END, strlen(OSSH_END));
	for (const uint8_t *c = b; e && c < e; c++)
		if (*c != '\n' && *c != '\r' && *c != ' ' && *c != '\t')
			txt[tl++] = (char)*c;
	if (!e || cry_b64_decode(txt, tl, bin, n, &bl) < 0 || bl < off ||
	    memcmp(bin, OSSH_MAGIC, sizeof OSSH_MAGIC) != 0 ||
	    sshstr(bin, bl, &off, &s, &sl) < 0) {
		rc = git_seterr(err, errcap, -EINVAL, "git: the deploy key is not a readable "
				"OpenSSH private key");
		goto out;
	}
	if (sl != 4 || memcmp(s, "none", 4) != 0) {
		rc = git_seterr(err, errcap, -EINVAL, "git: the deploy key is encrypted (a key with "
				"a passphrase cannot be used)");
		goto out;
	}
	if (sshstr(bin, bl, &off, &s, &sl) < 0 || sshstr(bin, bl, &off, &s, &sl) < 0 ||
	    bl - off < 4 || be32(bin + off) != 1 || (off += 4, sshstr(bin, bl, &off, &s, &sl)) < 0 ||
	    blob_type(s, sl, t) < 0) {
		rc = git_seterr(err, errcap, -EINVAL, "git: the deploy key is not a readable "
				"OpenSSH private key (one unencrypted key expected)");
		goto out;
	}
	if (strcmp(t, "ecdsa-sha2-nistp256") != 0 && strcmp(t, "ecdsa-sha2-nistp384") != 0) {
		rc = git_seterr(err, errcap, -ENOTSUP, "git: deploy key of type %s: %s", t,
				key_type_advice(t));
		goto out;
	}
	pl = strlen(t) + 1 + cry_b64_encoded_len(sl);
	if (!(*pub = malloc(pl))) {
		rc = git_seterr(err, errcap, -ENOMEM, "out of memory");
		goto out;
	}
	snprintf(*pub, pl, "%s ", t);
	rc = cry_b64_encode(s, sl, *pub + strlen(t) + 1, pl - strlen(t) - 1, publen);
	*publen += strlen(t) + 1;
out:
	wipe_free(txt, n + 1);
	wipe_free(bin, n);
	return rc;
}

/* The public half of a PEM (SEC1 or PKCS#8) P-256 key, as "type base64".
 * libssh2 1.10's mbedTLS glue derives public keys from RSA PEM keys only
 * (and returns an uninitialised status even then), so we always pass it. */
static int pem_public(const uint8_t *k, size_t n, char **pub, size_t *publen, char *err,
		      size_t errcap)
{
	/* SubjectPublicKeyInfo of a P-256 key up to its 65-byte point (RFC 5480) */
	static const uint8_t spki[] = { 0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48,
					0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48,
					0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00 };
	static const char t[] = "ecdsa-sha2-nistp256", curve[] = "nistp256";
	struct cry_key *key = NULL;
	uint8_t der[128], blob[128];
	size_t dl = 0, bl = 0, pl;
	int rc = cry_key_parse(&key, k, n);

	if (rc == 0 && cry_key_type(key) == CRY_KEY_RSA)
		rc = git_seterr(err, errcap, -ENOTSUP, "git: deploy key of type RSA: %s", RSA_ADVICE);
	else if (rc < 0 || cry_key_pub_der(key, der, sizeof der, &dl) < 0 || dl != sizeof spki + 65 ||
		 memcmp(der, spki, sizeof spki) != 0)
		rc = git_seterr(err, errcap, -EINVAL, "git: the deploy key is not a readable PEM "
				"key (ECDSA P-256 in PEM form, or ECDSA P-256/P-384 in OpenSSH form)");
	cry_key_free(key);
	if (rc < 0)
		return rc;
	for (const char *f[2] = { t, curve }, **p = f; p < f + 2; p++) {
		size_t l = strlen(*p);

		blob[bl] = blob[bl + 1] = blob[bl + 2] = 0;
		blob[bl + 3] = (uint8_t)l;
		memcpy(blob + bl + 4, *p, l);
		bl += 4 + l;
	}
	blob[bl] = blob[bl + 1] = blob[bl + 2] = 0;
	blob[bl + 3] = 65;
	memcpy(blob + bl + 4, der + sizeof spki, 65);
	bl += 4 + 65;
	pl = sizeof t + cry_b64_encoded_len(bl);
	if (!(*pub = malloc(pl)))
		return git_seterr(err, errcap, -ENOMEM, "out of memory");
	snprintf(*pub, pl, "%s ", t);
	rc = cry_b64_encode(blob, bl, *pub + sizeof t, pl - sizeof t, publen);
	*publen += sizeof t;
	return rc;
}

/* Checks the key's form and finds its public half for libssh2 (*pub). */
static int key_prepare(const uint8_t *k, size_t n, char **pub, size_t *publen, char *err,
		       size_t errcap)
{
	*pub = NULL;
	*publen = 0;
	if (!k || n == 0)
		return git_seterr(err, errcap, -EINVAL, "git: an SSH fetch needs a deploy key");
	if (n > GIT_SSH_MAX_KEY)
		return git_seterr(err, errcap, -E2BIG, "git: the deploy key is over %u bytes",
				  GIT_SSH_MAX_KEY);
	if (memchr(k, 0, n))    /* libssh2 takes the key's length with strlen */
		return git_seterr(err, errcap, -EINVAL, "git: the deploy key holds a NUL byte");
	if (memmem(k, n, "ENCRYPTED", 9))
		return git_seterr(err, errcap, -EINVAL, "git: the deploy key is encrypted (a key "
				  "with a passphrase cannot be used)");
	if (memmem(k, n, OSSH_BEGIN, strlen(OSSH_BEGIN)))
		return ossh_public(k, n, pub, publen, err, errcap);
	if (memmem(k, n, "-----BEGIN ", 11))
		return pem_public(k, n, pub, publen, err, errcap);
	return git_seterr(err, errcap, -EINVAL, "git: the deploy key is not a PEM or OpenSSH "
			  "private key");
}

/* ---- waiting ------------------------------------------------------------------ */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for the socket in the direction(s) libssh2 is blocked on. */
static int wait_io(struct git_ssh *s)
{
	int dir = libssh2_session_block_directions(s->sess), r;
	int64_t left = s->deadline - now_ms();
	struct pollfd p = { .fd = s->fd, .events = 0 };

	if (dir & LIBSSH2_SESSION_BLOCK_INBOUND || dir == 0)
		p.events |= POLLIN;
	if (dir & LIBSSH2_SESSION_BLOCK_OUTBOUND)
		p.events |= POLLOUT;
	do {
		r = left <= 0 ? 0 : poll(&p, 1, left < s->timeout_ms ? (int)left : s->timeout_ms);
	} while (r < 0 && errno == EINTR);
	s->werr = r < 0 ? -errno : r == 0 ? -ETIMEDOUT : 0;
	return s->werr;
}

/* Repeats a libssh2 call while it would block; a failed wait ends the loop
 * with s->werr set (and rc = LIBSSH2_ERROR_TIMEOUT). */
#define RETRY(s, rc, call) \
	do { (s)->werr = 0; \
	     while (((rc) = (call)) == LIBSSH2_ERROR_EAGAIN) \
		     if (wait_io(s) < 0) { (rc) = LIBSSH2_ERROR_TIMEOUT; break; } \
	} while (0)

/* libssh2's last error text (static strings in libssh2), sanitised. */
static const char *ss_errtxt(struct git_ssh *s, char *out, size_t cap)
{
	char *m = NULL;
	int ml = 0;

	libssh2_session_last_error(s->sess, &m, &ml, 0);
	git_sanitize((const uint8_t *)(m ? m : ""), m && ml > 0 ? (size_t)ml : 0, out, cap);
	return out;
}

static int ss_fail(struct git_ssh *s, int rc, const char *what, char *err, size_t errcap)
{
	char m[GIT_MAX_MSG + 1];

	if (s->werr)
		return git_seterr(err, errcap, s->werr, "git: %s with %s: %s", what, s->name,
				  s->werr == -ETIMEDOUT ? "timed out" : strerror(-s->werr));
	return git_seterr(err, errcap, -EPROTO, "git: %s with %s failed: %s (libssh2 %d)", what,
			  s->name, ss_errtxt(s, m, sizeof m), rc);
}

/* ---- the connection ----------------------------------------------------------- */

static int connect_one(struct git_ssh *s, const struct addrinfo *a)
{
	int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
	struct pollfd p = { .events = POLLOUT };
	int r, e = 0;
	socklen_t el = sizeof e;
	int64_t left;

	if (fd < 0)
		return -errno;
	if (connect(fd, a->ai_addr, a->ai_addrlen) < 0) {
		if (errno != EINPROGRESS) {
			e = errno;
			close(fd);
			return -e;
		}
		p.fd = fd;
		left = s->deadline - now_ms();
		do {
			r = left <= 0 ? 0 : poll(&p, 1, left < s->timeout_ms ? (int)left : s->timeout_ms);
		} while (r < 0 && errno == EINTR);
		if (r <= 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) < 0 || e) {
			e = r == 0 ? ETIMEDOUT : r < 0 ? errno : e ? e : EIO;
			close(fd);
			return -e;
		}
	}
	s->fd = fd;
	return 0;
}

static int tcp_connect(struct git_ssh *s, const struct git_ssh_url *u, char *err, size_t errcap)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICSERV }, *res = NULL;
	char port[8];
	int rc = -EHOSTUNREACH;

	snprintf(port, sizeof port, "%u", u->port);
	if (getaddrinfo(u->host, port, &hints, &res) != 0 || !res)
		return git_seterr(err, errcap, -EHOSTUNREACH, "git: cannot resolve %s", u->host);
	for (const struct addrinfo *a = res; a && s->fd < 0; a = a->ai_next)
		rc = connect_one(s, a);
	freeaddrinfo(res);
	if (s->fd < 0)
		return git_seterr(err, errcap, rc, "git: cannot connect to %s:%u: %s", u->host,
				  u->port, rc == -ETIMEDOUT ? "timed out" : strerror(-rc));
	return 0;
}

static int set_prefs(struct git_ssh *s, const char *hostkeys)
{
	static const struct { int m; const char *v; } tab[] = {
		{ LIBSSH2_METHOD_KEX, KEX_PREF }, { LIBSSH2_METHOD_CRYPT_CS, CIPHER_PREF },
		{ LIBSSH2_METHOD_CRYPT_SC, CIPHER_PREF }, { LIBSSH2_METHOD_MAC_CS, MAC_PREF },
		{ LIBSSH2_METHOD_MAC_SC, MAC_PREF }, { LIBSSH2_METHOD_COMP_CS, "none" },
		{ LIBSSH2_METHOD_COMP_SC, "none" },
	};

	for (size_t i = 0; i < sizeof tab / sizeof *tab; i++)
		if (libssh2_session_method_pref(s->sess, tab[i].m, tab[i].v) < 0)
			return -ENOTSUP;
	return libssh2_session_method_pref(s->sess, LIBSSH2_METHOD_HOSTKEY, hostkeys) < 0 ?
	       -ENOTSUP : 0;
}

/* libssh2 up, TCP, handshake (the key exchange verifies the host key's
 * signature), then the pin check. */
static int handshake(struct git_ssh *s, const struct git_ssh_url *u, const char *pins,
		     char host_key[static GIT_SSH_HOSTKEY_LEN], char *err, size_t errcap)
{
	char name[HCL_MAX_HOST + 16], pinned[MAX_TYPE + 1];
	const char *hk;
	size_t hl = 0;
	int rc, type;

	entropy_draws = entropy_failed = 0;
	if (libssh2_init(0) != 0)
		return git_seterr(err, errcap, -EIO, "git: libssh2 did not start");
	s->inited = 1;
	if (entropy_draws == 0 || entropy_failed)
		return git_seterr(err, errcap, -EIO, "git: no randomness for SSH (getrandom failed)");
	s->sess = libssh2_session_init_ex(ss_alloc, ss_free, ss_realloc, NULL);
	if (!s->sess)
		return git_seterr(err, errcap, -ENOMEM, "out of memory");
	libssh2_session_set_blocking(s->sess, 0);
	pin_name(u, name, sizeof name);
	pin_type(pins, name, pinned);
	if (set_prefs(s, pinned[0] ? pinned : HOSTKEY_PREF) < 0)
		return git_seterr(err, errcap, -ENOTSUP, "git: libssh2 lacks the SSH algorithms we "
				  "need%s%s", pinned[0] ? " or the pinned key type " : "", pinned);
	if ((rc = tcp_connect(s, u, err, errcap)) < 0)
		return rc;
	RETRY(s, rc, libssh2_session_handshake(s->sess, s->fd));
	if (rc != 0) {
		rc = ss_fail(s, rc, "SSH handshake", err, errcap);
		if (pinned[0] && !s->werr)
			git_seterr(err, errcap, rc, "git: SSH handshake with %s failed (the pinned host "
				   "key type %s may not be offered any more)", s->name, pinned);
		return rc;
	}
	hk = libssh2_session_hostkey(s->sess, &hl, &type);
	if (!hk || hl == 0)
		return git_seterr(err, errcap, -EPROTO, "git: %s sent no host key", s->name);
	if (entropy_failed)
		return git_seterr(err, errcap, -EIO, "git: no randomness for SSH (getrandom failed)");
	git_ssh_fingerprint((const uint8_t *)hk, hl, host_key);
	return git_ssh_pin(pins, name, (const uint8_t *)hk, hl, err, errcap);
}

/* libssh2 1.10 reads the private key with strlen() when it signs: it gets
 * a NUL-terminated copy (SECRET, wiped). */
static int auth(struct git_ssh *s, const struct git_ssh_url *u, const struct git_fetch_opts *o,
		const char *pub, size_t publen, char *err, size_t errcap)
{
	char m[GIT_MAX_MSG + 1], *priv = malloc(o->ssh_key_len + 1);
	int rc;

	if (!priv)
		return git_seterr(err, errcap, -ENOMEM, "out of memory");
	memcpy(priv, o->ssh_key, o->ssh_key_len);
	priv[o->ssh_key_len] = 0;
	RETRY(s, rc, libssh2_userauth_publickey_frommemory(s->sess, u->user, strlen(u->user), pub,
							    publen, priv, o->ssh_key_len, NULL));
	wipe_free(priv, o->ssh_key_len + 1);
	if (rc == 0)
		return 0;
	if (s->werr)
		return ss_fail(s, rc, "SSH authentication", err, errcap);
	if (rc == LIBSSH2_ERROR_FILE)
		return git_seterr(err, errcap, -EINVAL, "git: the deploy key could not be read "
				  "(libssh2 1.10 with mbedTLS reads ECDSA P-256/P-384 keys in PEM or "
				  "OpenSSH form and RSA keys in PEM form)");
	if (rc == LIBSSH2_ERROR_AUTHENTICATION_FAILED || rc == LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED)
		return git_seterr(err, errcap, -EACCES, "git: %s refused the deploy key for user %s",
				  s->name, u->user);
	return git_seterr(err, errcap, -EACCES, "git: SSH authentication as %s with %s failed: "
			  "%s (libssh2 %d)", u->user, s->name, ss_errtxt(s, m, sizeof m), rc);
}

static int start(struct git_ssh *s, const struct git_ssh_url *u, int v0, char *err, size_t errcap)
{
	char cmd[GIT_MAX_PATH + 32];
	int rc;

	while (!(s->ch = libssh2_channel_open_session(s->sess)) &&
	       libssh2_session_last_errno(s->sess) == LIBSSH2_ERROR_EAGAIN)
		if (wait_io(s) < 0)
			break;
	if (!s->ch)
		return ss_fail(s, -1, "opening an SSH channel", err, errcap);
	if (!v0) {      /* a refusal is fine: the advertisement says what runs */
		RETRY(s, rc, libssh2_channel_setenv(s->ch, "GIT_PROTOCOL", "version=2"));
		if (s->werr)
			return ss_fail(s, rc, "SSH env request", err, errcap);
	}
	snprintf(cmd, sizeof cmd, "git-upload-pack '%s'", u->path);
	RETRY(s, rc, libssh2_channel_exec(s->ch, cmd));
	if (rc != 0)
		return s->werr ? ss_fail(s, rc, "SSH exec", err, errcap) :
		       git_seterr(err, errcap, -EACCES, "git: %s refused to run git-upload-pack",
				  s->name);
	return 0;
}

int git_ssh_open(struct git_ssh **out, const struct git_fetch_opts *o,
		 char host_key[static GIT_SSH_HOSTKEY_LEN], char *err, size_t errcap)
{
	struct git_ssh_url *u = malloc(sizeof *u);
	struct git_ssh *s = calloc(1, sizeof *s);
	char *pub = NULL;
	size_t publen = 0;
	int rc;

	*out = NULL;
	host_key[0] = 0;
	if (!u || !s) {
		rc = git_seterr(err, errcap, -ENOMEM, "out of memory");
		goto out;
	}
	s->fd = -1;
	s->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : GIT_SSH_IO_MS;
	s->deadline = now_ms() + GIT_SSH_SESSION_MS;
	if ((rc = git_ssh_parse_url(o->url, u, err, errcap)) < 0)
		goto out;
	snprintf(s->name, sizeof s->name, strchr(u->host, ':') ? "ssh://%s@[%s]:%u%s%s" :
		 "ssh://%s@%s:%u%s%s", u->user, u->host, u->port, u->path[0] == '/' ? "" : "/",
		 u->path);
	if (!o->known_hosts || !o->known_hosts[0]) {
		rc = git_seterr(err, errcap, -EINVAL, "git: an SSH fetch needs a host-key pin file");
		goto out;
	}
	if ((rc = key_prepare(o->ssh_key, o->ssh_key_len, &pub, &publen, err, errcap)) < 0 ||
	    (rc = handshake(s, u, o->known_hosts, host_key, err, errcap)) < 0 ||
	    (rc = auth(s, u, o, pub, publen, err, errcap)) < 0 ||
	    (rc = start(s, u, o->force_v0, err, errcap)) < 0)
		goto out;
	*out = s;
	s = NULL;
out:
	free(pub);
	free(u);
	git_ssh_close(s);
	return rc;
}

const char *git_ssh_name(const struct git_ssh *s)
{
	return s->name;
}

/* ---- the stream ---------------------------------------------------------------- */

static void drain_stderr(struct git_ssh *s)
{
	uint8_t b[4096];
	ssize_t n;

	while ((n = libssh2_channel_read_stderr(s->ch, (char *)b, sizeof b)) > 0) {
		size_t k = (size_t)n < sizeof s->eraw - s->elen ? (size_t)n : sizeof s->eraw - s->elen;

		memcpy(s->eraw + s->elen, b, k);
		s->elen += k;
	}
	git_sanitize(s->eraw, s->elen, s->etxt, sizeof s->etxt);
}

const char *git_ssh_stderr(const struct git_ssh *s)
{
	return s->etxt;
}

long git_ssh_read(struct git_ssh *s, void *p, size_t cap)
{
	for (;;) {
		ssize_t n;

		drain_stderr(s);
		n = libssh2_channel_read(s->ch, p, cap);
		if (n > 0)
			return (long)n;
		if (n != 0 && n != LIBSSH2_ERROR_EAGAIN)
			return n == LIBSSH2_ERROR_SOCKET_RECV || n == LIBSSH2_ERROR_SOCKET_DISCONNECT ?
			       -ECONNRESET : -EIO;
		if (libssh2_channel_eof(s->ch)) {
			drain_stderr(s);
			return 0;
		}
		if (wait_io(s) < 0)
			return s->werr;
	}
}

int git_ssh_write(struct git_ssh *s, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0) {
		ssize_t w = libssh2_channel_write(s->ch, c, n);

		if (w == LIBSSH2_ERROR_EAGAIN) {
			if (wait_io(s) < 0)
				return s->werr;
			continue;
		}
		if (w <= 0)
			return w == LIBSSH2_ERROR_SOCKET_SEND ? -ECONNRESET : -EIO;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

void git_ssh_close(struct git_ssh *s)
{
	if (!s)
		return;
	if (s->sess) {  /* the goodbye may block: a short bound, then go */
		libssh2_session_set_timeout(s->sess, CLOSE_MS);
		libssh2_session_set_blocking(s->sess, 1);
		if (s->ch)
			libssh2_channel_free(s->ch);
		libssh2_session_disconnect(s->sess, "done");
		libssh2_session_free(s->sess);
	}
	if (s->fd >= 0)
		close(s->fd);
	if (s->inited)
		libssh2_exit();
	wipe(s, sizeof *s);
	free(s);
}

#else /* !SBS_HAVE_LIBSSH2: a build without mk/ssh2.mk has no SSH transport */

struct git_ssh {
	char name[1];
};

int git_ssh_open(struct git_ssh **out, const struct git_fetch_opts *o,
		 char host_key[static GIT_SSH_HOSTKEY_LEN], char *err, size_t errcap)
{
	(void)o;
	*out = NULL;
	host_key[0] = 0;
	return git_seterr(err, errcap, -ENOTSUP, "git: this build has no SSH transport (libssh2, "
			  "mk/ssh2.mk)");
}

const char *git_ssh_name(const struct git_ssh *s)
{
	return s->name;
}

int git_ssh_write(struct git_ssh *s, const void *p, size_t n)
{
	(void)s, (void)p, (void)n;
	return -ENOTSUP;
}

long git_ssh_read(struct git_ssh *s, void *p, size_t cap)
{
	(void)s, (void)p, (void)cap;
	return -ENOTSUP;
}

const char *git_ssh_stderr(const struct git_ssh *s)
{
	(void)s;
	return "";
}

void git_ssh_close(struct git_ssh *s)
{
	(void)s;
}
#endif
