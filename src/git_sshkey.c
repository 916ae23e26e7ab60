/* SPDX-License-Identifier: MIT */
/*
 * git_sshkey: the parts of the SSH transport that need no libssh2 (contract
 * in git.h): SSH URLs (ssh:// and scp-like), host key fingerprints and the
 * pin file (trust on first use, refusal of a changed key), and the deploy
 * key's form (its public half, which libssh2 1.10's mbedTLS glue cannot
 * derive itself). The deploy key text and its decodings are SECRET: every
 * copy here is wiped; messages name key types only.
 */
#include "git.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cry.h"

#define MAX_TYPE GIT_SSH_MAX_TYPE
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

void git_ssh_pin_name(const struct git_ssh_url *u, char *out, size_t cap)
{
	snprintf(out, cap, strchr(u->host, ':') ? "[%s]:%u" : "%s:%u", u->host, u->port);
}

void git_ssh_pin_type(const char *file, const char *name, char t[static MAX_TYPE + 1])
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

/* git_ssh_key_prepare without the cleanup of *pub on failure. */
static int key_form(const uint8_t *k, size_t n, char **pub, size_t *publen, char *err,
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

int git_ssh_key_prepare(const uint8_t *k, size_t n, char **pub, size_t *publen, char *err,
			size_t errcap)
{
	int rc = key_form(k, n, pub, publen, err, errcap);

	if (rc < 0) {
		free(*pub);
		*pub = NULL;
		*publen = 0;
	}
	return rc;
}
