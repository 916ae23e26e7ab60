/* SPDX-License-Identifier: MIT */
/*
 * mfst: the signed build manifest of PROTOCOL.md §12. The inner
 * <name>.tbz (data/build.json, data/build.log, data/provenance.json, git/)
 * and the outer <name>.sig.tbz are both written by arc_tbz_create, so equal
 * inputs give equal bytes. The inner archive goes through a memfd (it can
 * hold a whole checkout, bounded by MFST_MAX_SIZE); the signature is the
 * caller's RSA callback over SHA-256(SHA-256(tbz)), written as lower-case
 * hex. Verification reads an untrusted .sig.tbz: exactly two members, sizes
 * bounded, hex checked, then cry_verify_sha256. No secret passes here.
 */
#include "mfst.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arc.h"
#include "cry.h"
#include "limits.h"
#include "util.h"

/* A plain file name: no '/', no control character, not "", "." or "..". */
static int name_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > MFST_MAX_NAME || s[0] == '.')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] == '/' || (unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

/* Reads the whole memfd back (its size is known from the writer). */
static int read_back(int fd, uint64_t size, uint8_t **out)
{
	uint8_t *p;
	size_t got = 0;

	if (size > MFST_MAX_SIZE)
		return -EFBIG;
	if (!(p = malloc(size ? (size_t)size : 1)))
		return -ENOMEM;
	while (got < size) {
		ssize_t k = pread(fd, p + got, (size_t)size - got, (off_t)got);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			free(p);
			return k < 0 ? -errno : -EIO;
		}
		got += (size_t)k;
	}
	*out = p;
	return 0;
}

/* The inner archive into a memfd, read back into *tbz. */
static int inner_tbz(const struct mfst_in *in, uint8_t **tbz, struct arc_digests *d,
		     char *err, size_t errcap)
{
	struct arc_mem_file f[3] = {
		{ "data/build.json", in->build_json, in->build_json_len, 0 },
		{ "data/build.log", in->build_log, in->build_log_len, 0 },
		{ "data/provenance.json", in->provenance, in->provenance_len, 0 },
	};
	char empty[PATH_MAX_SBS];
	int fd = memfd_create("sbs-manifest", MFD_CLOEXEC), gitfd = in->gitfd, rc;

	if (fd < 0)
		return util_err(err, errcap, -errno, "memfd_create: %s", strerror(errno));
	/* No checkout: an empty git/ (arc_tbz_create needs a tree to make the
	 * data/ parent directory; see the report on arc_write.c). */
	empty[0] = 0;
	if (gitfd < 0) {
		const char *t = getenv("TMPDIR");

		snprintf(empty, sizeof empty, "%s/sbs-mfst.XXXXXX", t && *t ? t : "/tmp");
		if (!mkdtemp(empty) || (gitfd = open(empty, O_DIRECTORY | O_RDONLY | O_CLOEXEC)) < 0) {
			rc = util_err(err, errcap, -errno, "temporary directory: %s", strerror(errno));
			goto out;
		}
	}
	rc = arc_tbz_create(f, in->provenance ? 3 : 2, gitfd, "git", in->mtime, fd, d, err, errcap);
	if (rc == 0 && d->blob_size > MFST_MAX_SIZE)
		rc = util_err(err, errcap, -EFBIG, "manifest over %u bytes", MFST_MAX_SIZE);
	if (rc == 0 && (rc = read_back(fd, d->blob_size, tbz)) < 0)
		util_err(err, errcap, rc, "reading the manifest back: %s", strerror(-rc));
out:
	if (empty[0]) {
		if (gitfd >= 0)
			close(gitfd);
		rmdir(empty);
	}
	close(fd);
	return rc;
}

int mfst_create(const struct mfst_in *in, sig_sign_fn sign, void *sctx, int outfd,
		char *err, size_t errcap)
{
	char tname[MFST_MAX_NAME + 8], sname[MFST_MAX_NAME + 8], hex[2 * SIG_MAX + 1];
	uint8_t *tbz = NULL, h[32], sig[SIG_MAX];
	struct arc_digests d, od;
	size_t siglen = 0;
	int rc;

	if (!in || !sign || !name_ok(in->name) || (!in->build_json && in->build_json_len) ||
	    (!in->build_log && in->build_log_len))
		return util_err(err, errcap, -EINVAL, "manifest: bad name or input");
	if (in->build_log_len > MFST_MAX_LOG || in->build_json_len > MFST_MAX_LOG ||
	    in->provenance_len > SIG_MAX_ENVELOPE)
		return util_err(err, errcap, -EFBIG, "manifest: build log or data over its limit");
	snprintf(tname, sizeof tname, "%s.tbz", in->name);
	snprintf(sname, sizeof sname, "%s.sig", in->name);
	if ((rc = inner_tbz(in, &tbz, &d, err, errcap)) < 0)
		return rc;
	cry_sha256(d.blob, sizeof d.blob, h);     /* §12: PKCS#1 holds SHA-256(SHA-256(tbz)) */
	rc = sign(sctx, h, sig, sizeof sig, &siglen);
	if (rc < 0 || siglen == 0 || siglen > SIG_MAX) {
		rc = util_err(err, errcap, rc < 0 ? rc : -EIO, "signing the manifest failed");
		goto out;
	}
	cry_hex(sig, siglen, hex);
	{
		struct arc_mem_file f[2] = {
			{ tname, tbz, (size_t)d.blob_size, 0 },
			{ sname, (const uint8_t *)hex, 2 * siglen, 0 },
		};
		rc = arc_tbz_create(f, 2, -1, NULL, in->mtime, outfd, &od, err, errcap);
	}
out:
	free(tbz);
	return rc;
}

/* ---- verification ---- */

struct split {
	char tbz[ARC_MAX_PATH + 1], sig[ARC_MAX_PATH + 1];
	int bad;
	char why[128];
};

static int on_entry(void *ctx, const struct arc_entry_info *e)
{
	struct split *s = ctx;
	size_t n = strlen(e->path);
	char *slot;

	if (e->type == ARC_T_DIR && n == 0)
		return 0;
	if (e->type != ARC_T_FILE || strchr(e->path, '/') || n < 5) {
		snprintf(s->why, sizeof s->why, "unexpected member \"%.64s\"", e->path);
		return s->bad = -EINVAL;
	}
	slot = strcmp(e->path + n - 4, ".tbz") == 0 ? s->tbz :
	       strcmp(e->path + n - 4, ".sig") == 0 ? s->sig : NULL;
	if (!slot || *slot) {
		snprintf(s->why, sizeof s->why, "unexpected or repeated member \"%.64s\"", e->path);
		return s->bad = -EINVAL;
	}
	memcpy(slot, e->path, n + 1);
	return 0;
}

int mfst_split(const uint8_t *sigtbz, size_t n, char *name, size_t namecap, uint8_t **tbz,
	       size_t *tlen, uint8_t **sig, size_t *slen, char *err, size_t errcap)
{
	struct split *s = calloc(1, sizeof *s);
	size_t k;
	int rc;

	*tbz = *sig = NULL;
	*tlen = *slen = 0;
	if (!s)
		return -ENOMEM;
	if (n > MFST_MAX_SIZE) {
		rc = util_err(err, errcap, -EINVAL, "manifest over %u bytes", MFST_MAX_SIZE);
		goto out;
	}
	rc = arc_tbz_list(sigtbz, n, NULL, on_entry, s, err, errcap);
	if (s->bad) {
		rc = util_err(err, errcap, -EINVAL, "%s", s->why);
		goto out;
	}
	if (rc < 0) {
		rc = -EINVAL;       /* err: the archive's own reason */
		goto out;
	}
	k = strlen(s->tbz);
	if (!*s->tbz || !*s->sig || strlen(s->sig) != k || strncmp(s->tbz, s->sig, k - 4) != 0 ||
	    k - 4 > MFST_MAX_NAME || k - 4 >= namecap) {
		rc = util_err(err, errcap, -EINVAL, "expected <name>.tbz and <name>.sig");
		goto out;
	}
	memcpy(name, s->tbz, k - 4);
	name[k - 4] = 0;
	if ((rc = arc_tbz_get(sigtbz, n, s->tbz, MFST_MAX_SIZE, tbz, tlen, err, errcap)) < 0 ||
	    (rc = arc_tbz_get(sigtbz, n, s->sig, 2 * SIG_MAX + 2, sig, slen, err, errcap)) < 0) {
		free(*tbz);
		*tbz = NULL;
		*tlen = 0;
		rc = -EINVAL;
	}
out:
	free(s);
	return rc;
}

int mfst_verify_tbz(const uint8_t *tbz, size_t tlen, const uint8_t *sig, size_t slen,
		    const uint8_t *pub, size_t publen, char *err, size_t errcap)
{
	uint8_t raw[SIG_MAX], h[32];
	size_t n = slen;
	int rc;

	if (n && sig[n - 1] == '\n')
		n--;
	if (n == 0 || n % 2 || n / 2 > SIG_MAX)
		return util_err(err, errcap, -EINVAL, "the .sig is not hex of at most %u bytes", SIG_MAX);
	for (size_t i = 0; i < n; i += 2) {
		int hi = util_hexval(sig[i]), lo = util_hexval(sig[i + 1]);

		if (hi < 0 || lo < 0)
			return util_err(err, errcap, -EINVAL, "the .sig is not hex");
		raw[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	cry_sha256(tbz, tlen, h);
	cry_sha256(h, sizeof h, h);
	rc = cry_verify_sha256(pub, publen, h, raw, n / 2);
	if (rc == -EINVAL)
		return util_err(err, errcap, rc, "the public key is not a PEM public key");
	if (rc < 0)
		return util_err(err, errcap, -EBADMSG, "the signature does not match the manifest");
	return 0;
}

int mfst_verify(const uint8_t *sigtbz, size_t n, const uint8_t *pub, size_t publen,
		char *err, size_t errcap)
{
	char name[MFST_MAX_NAME + 1];
	uint8_t *tbz = NULL, *sig = NULL;
	size_t tlen = 0, slen = 0;
	int rc = mfst_split(sigtbz, n, name, sizeof name, &tbz, &tlen, &sig, &slen, err, errcap);

	if (rc == 0)
		rc = mfst_verify_tbz(tbz, tlen, sig, slen, pub, publen, err, errcap);
	free(tbz);
	free(sig);
	return rc;
}

/* ---- --verify-test ---- */

int mfst_tamper(const uint8_t *tbz, size_t n, const char *tmpdir, struct buf *out,
		char *err, size_t errcap)
{
	char dir[PATH_MAX_SBS];
	struct arc_digests d;
	uint8_t *p = NULL;
	int root = -1, git = -1, fd = -1, mfd = -1, rc;

	if (snprintf(dir, sizeof dir, "%s/sbs-verify-test.XXXXXX", tmpdir ? tmpdir : "/tmp") >=
	    (int)sizeof dir || !mkdtemp(dir))
		return util_err(err, errcap, -errno ? -errno : -ENAMETOOLONG, "cannot make a temporary directory");
	root = open(dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	rc = root < 0 ? -errno : arc_tbz_extract(tbz, n, root, NULL, NULL, err, errcap);
	if (rc == 0 && (git = arc_open_dir(root, "git", 1)) < 0)
		rc = git;
	if (rc == 0 && (fd = openat(root, "git/fake", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
				    0644)) < 0)
		rc = -errno;
	if (rc == 0 && (rc = util_write_all(fd, "fake\n", 5)) == 0) {
		close(git);         /* O_PATH from arc_open_dir: reopen readable */
		git = openat(root, "git", O_DIRECTORY | O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		rc = git < 0 ? -errno : 0;
	}
	if (rc == 0 && (mfd = memfd_create("sbs-tamper", MFD_CLOEXEC)) < 0)
		rc = -errno;
	if (rc == 0)
		rc = arc_tbz_create(NULL, 0, git, "git", 0, mfd, &d, err, errcap);
	if (rc == 0 && (rc = read_back(mfd, d.blob_size, &p)) == 0)
		rc = buf_append(out, p, (size_t)d.blob_size);
	if (rc < 0 && err && errcap && !err[0])
		util_err(err, errcap, rc, "verify-test: %s", strerror(-rc));
	free(p);
	if (fd >= 0)
		close(fd);
	if (mfd >= 0)
		close(mfd);
	if (git >= 0)
		close(git);
	if (root >= 0)
		close(root);
	arc_remove_tree(AT_FDCWD, dir);
	return rc;
}
