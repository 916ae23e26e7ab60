/* SPDX-License-Identifier: MIT */
/*
 * Tests of src/mfst.c: a manifest created with a fresh RSA-2048 key over a
 * small git tree verifies; two creates give equal bytes; a flipped byte of
 * the inner .tbz or of the hex .sig, another key, --verify-test's repack
 * (git/fake) and malformed archives are refused with the documented codes.
 * The independent judge (openssl over the extracted members) is in
 * tests/it_sign.sh, which uses the mode below.
 *
 *   test_mfst create OUT.sig.tbz KEY.pem GITDIR NAME
 * writes a manifest signed by KEY.pem (RSA, PKCS#1 v1.5) for openssl.
 */
#include "mfst.h"
#include "arc.h"
#include "cry.h"
#include "limits.h"
#include "tutil.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static int rsa_sign(void *ctx, const uint8_t hash[static 32], uint8_t *sig, size_t cap,
		    size_t *siglen)
{
	return cry_sign_sha256(ctx, hash, sig, cap, siglen, util_rng, NULL);
}

static const char build_json[] = "{\"status\": \"success\", \"build_name\": \"b1\"}";
static const char build_log[] = "step 1\nstep 2\n";

/* Creates a manifest into memory; *len bytes malloc'd in *out. */
static int make(struct cry_key *k, int gitfd, const char *name, uint8_t **out, size_t *len)
{
	struct mfst_in in = {
		.name = name, .build_json = (const uint8_t *)build_json,
		.build_json_len = sizeof build_json - 1, .build_log = (const uint8_t *)build_log,
		.build_log_len = sizeof build_log - 1, .provenance = (const uint8_t *)"{}",
		.provenance_len = 2, .gitfd = gitfd, .mtime = 1700000000,
	};
	char err[256] = "";
	struct stat st;
	int fd = memfd_create("t", 0), rc;

	rc = mfst_create(&in, rsa_sign, k, fd, err, sizeof err);
	if (rc < 0)
		fprintf(stderr, "mfst_create: %s\n", err);
	if (rc == 0 && fstat(fd, &st) == 0 && (*out = malloc((size_t)st.st_size + 1)) &&
	    pread(fd, *out, (size_t)st.st_size, 0) == st.st_size)
		*len = (size_t)st.st_size;
	else if (rc == 0)
		rc = -EIO;
	close(fd);
	return rc;
}

static int mkgit(char *dir)
{
	char p[600];
	FILE *f;

	if (!mkdtemp(dir))
		return -1;
	snprintf(p, sizeof p, "%s/src", dir);
	mkdir(p, 0755);
	snprintf(p, sizeof p, "%s/Dockerfile", dir);
	if ((f = fopen(p, "w")) == NULL)
		return -1;
	fputs("FROM busybox\nRUN echo hi\n", f);
	fclose(f);
	snprintf(p, sizeof p, "%s/src/main.c", dir);
	if ((f = fopen(p, "w")) == NULL)
		return -1;
	fputs("int main(void) { return 0; }\n", f);
	fclose(f);
	return open(dir, O_DIRECTORY | O_RDONLY);
}

/* Re-packs an outer archive from (possibly changed) members. */
static int repack(const char *name, const uint8_t *tbz, size_t tlen, const uint8_t *sig,
		  size_t slen, uint8_t **out, size_t *len)
{
	char tn[300], sn[300];
	struct arc_mem_file f[2] = { { tn, tbz, tlen, 0 }, { sn, sig, slen, 0 } };
	struct stat st;
	int fd = memfd_create("r", 0), rc;

	snprintf(tn, sizeof tn, "%s.tbz", name);
	snprintf(sn, sizeof sn, "%s.sig", name);
	rc = arc_tbz_create(f, 2, -1, NULL, 0, fd, NULL, NULL, 0);
	if (rc == 0 && fstat(fd, &st) == 0 && (*out = malloc((size_t)st.st_size)) &&
	    pread(fd, *out, (size_t)st.st_size, 0) == st.st_size)
		*len = (size_t)st.st_size;
	close(fd);
	return rc;
}

static void test_roundtrip(void)
{
	char dir[] = "/tmp/sbs-test-mfst-XXXXXX", pub[1024], pub2[1024], err[256], name[300];
	struct cry_key *k = NULL, *k2 = NULL;
	uint8_t *a = NULL, *b = NULL, *tbz = NULL, *sig = NULL, *x = NULL, *r = NULL;
	size_t alen = 0, blen = 0, tlen = 0, slen = 0, xl = 0, rl = 0, pl = 0, pl2 = 0;
	struct buf tam = { 0 };
	int gitfd = mkgit(dir);

	CHECK(gitfd >= 0);
	CHECK(cry_key_gen(&k, CRY_KEY_RSA, util_rng, NULL) == 0);
	CHECK(cry_key_gen(&k2, CRY_KEY_RSA, util_rng, NULL) == 0);
	CHECK(cry_key_pub_pem(k, pub, sizeof pub, &pl) == 0);
	CHECK(cry_key_pub_pem(k2, pub2, sizeof pub2, &pl2) == 0);
	CHECK(make(k, gitfd, "manifest.b1", &a, &alen) == 0);
	CHECK(make(k, gitfd, "manifest.b1", &b, &blen) == 0);
	CHECK(alen > 0 && alen == blen && memcmp(a, b, alen) == 0);   /* byte-stable */
	free(b);
	b = NULL;
	CHECK(mfst_verify(a, alen, (uint8_t *)pub, pl, err, sizeof err) == 0);
	CHECK(mfst_verify(a, alen, (uint8_t *)pub2, pl2, err, sizeof err) == -EBADMSG);
	CHECK(mfst_verify(a, alen, (const uint8_t *)"junk", 4, err, sizeof err) == -EINVAL);

	CHECK(mfst_split(a, alen, name, sizeof name, &tbz, &tlen, &sig, &slen, err, sizeof err) == 0);
	CHECK(strcmp(name, "manifest.b1") == 0);
	CHECK(slen == 512);                             /* RSA-2048, lower-case hex, no newline */
	for (size_t i = 0; i < slen; i++)
		CHECK((sig[i] >= '0' && sig[i] <= '9') || (sig[i] >= 'a' && sig[i] <= 'f'));
	/* the inner archive holds data/ and git/ */
	CHECK(arc_tbz_get(tbz, tlen, "data/build.json", 4096, &x, &xl, err, sizeof err) == 0);
	CHECK(xl == sizeof build_json - 1 && memcmp(x, build_json, xl) == 0);
	free(x);
	CHECK(arc_tbz_get(tbz, tlen, "data/build.log", 4096, &x, &xl, err, sizeof err) == 0);
	free(x);
	CHECK(arc_tbz_get(tbz, tlen, "data/provenance.json", 4096, &x, &xl, err, sizeof err) == 0);
	free(x);
	CHECK(arc_tbz_get(tbz, tlen, "git/src/main.c", 4096, &x, &xl, err, sizeof err) == 0);
	free(x);
	CHECK(mfst_verify_tbz(tbz, tlen, sig, slen, (uint8_t *)pub, pl, err, sizeof err) == 0);

	/* one byte of the inner archive, one hex digit of the signature */
	tbz[tlen / 2] ^= 1;
	CHECK(mfst_verify_tbz(tbz, tlen, sig, slen, (uint8_t *)pub, pl, err, sizeof err) == -EBADMSG);
	CHECK(repack(name, tbz, tlen, sig, slen, &r, &rl) == 0);
	CHECK(mfst_verify(r, rl, (uint8_t *)pub, pl, err, sizeof err) == -EBADMSG);
	free(r);
	tbz[tlen / 2] ^= 1;
	sig[7] = sig[7] == '0' ? '1' : '0';
	CHECK(repack(name, tbz, tlen, sig, slen, &r, &rl) == 0);
	CHECK(mfst_verify(r, rl, (uint8_t *)pub, pl, err, sizeof err) == -EBADMSG);
	free(r);
	sig[7] = 'g';
	CHECK(mfst_verify_tbz(tbz, tlen, sig, slen, (uint8_t *)pub, pl, err, sizeof err) == -EINVAL);
	CHECK(mfst_verify_tbz(tbz, tlen, sig, 511, (uint8_t *)pub, pl, err, sizeof err) == -EINVAL);

	/* the untouched members, upper-case hex and a newline, are accepted (bytes.fromhex) */
	free(sig);
	free(tbz);
	CHECK(mfst_split(a, alen, name, sizeof name, &tbz, &tlen, &sig, &slen, err, sizeof err) == 0);
	{
		uint8_t up[SIG_MAX * 2 + 1];

		for (size_t i = 0; i < slen; i++)
			up[i] = (uint8_t)(sig[i] >= 'a' ? sig[i] - 32 : sig[i]);
		up[slen] = '\n';
		CHECK(mfst_verify_tbz(tbz, tlen, up, slen + 1, (uint8_t *)pub, pl, err, sizeof err) == 0);
	}
	/* --verify-test: git/fake added, only git/ repacked: must fail */
	CHECK(mfst_tamper(tbz, tlen, NULL, &tam, err, sizeof err) == 0);
	CHECK(arc_tbz_get(tam.data, tam.len, "git/fake", 64, &x, &xl, err, sizeof err) == 0);
	free(x);
	CHECK(arc_tbz_get(tam.data, tam.len, "data/build.json", 4096, &x, &xl, err, sizeof err) == -ENOENT);
	CHECK(mfst_verify_tbz(tam.data, tam.len, sig, slen, (uint8_t *)pub, pl, err, sizeof err) == -EBADMSG);

	/* malformed outer archives: one member, three members, a subdirectory, garbage */
	CHECK(repack("other", tbz, tlen, sig, slen, &r, &rl) == 0);
	CHECK(mfst_split(r, rl, name, sizeof name, &x, &xl, &b, &blen, err, sizeof err) == 0);
	CHECK(strcmp(name, "other") == 0);
	free(x);
	free(b);
	free(r);
	{
		struct arc_mem_file f3[3] = { { "m.tbz", tbz, tlen, 0 }, { "m.sig", sig, slen, 0 },
					      { "m.txt", sig, 1, 0 } };
		struct arc_mem_file f1[1] = { { "m.tbz", tbz, tlen, 0 } };
		struct arc_mem_file fd2[2] = { { "d/m.tbz", tbz, tlen, 0 }, { "d/m.sig", sig, slen, 0 } };
		struct arc_mem_file fx[2] = { { "m.tbz", tbz, tlen, 0 }, { "n.sig", sig, slen, 0 } };
		const struct { struct arc_mem_file *f; size_t n; } cases[] = {
			{ f3, 3 }, { f1, 1 }, { fd2, 2 }, { fx, 2 },
		};
		for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
			int fd = memfd_create("m", 0);
			struct stat st;
			uint8_t *p = NULL;

			char e2[256] = "";
			/* a tree for the subdirectory case (arc_write: parents of members need one) */
			int r2 = arc_tbz_create(cases[i].f, cases[i].n, i == 2 ? gitfd : -1, "g", 0, fd,
						NULL, e2, sizeof e2);

			if (r2 < 0)
				fprintf(stderr, "case %zu: %s\n", i, e2);
			CHECK(r2 == 0);
			CHECK(fstat(fd, &st) == 0 && (p = malloc((size_t)st.st_size)) != NULL);
			CHECK(p && pread(fd, p, (size_t)st.st_size, 0) == st.st_size);
			CHECK(p && mfst_verify(p, (size_t)st.st_size, (uint8_t *)pub, pl, err, sizeof err) == -EINVAL);
			free(p);
			close(fd);
		}
	}
	CHECK(mfst_verify((const uint8_t *)"BZh9garbage", 11, (uint8_t *)pub, pl, err, sizeof err) == -EINVAL);
	/* no checkout: data/ and an empty git/ */
	b = NULL;
	CHECK(make(k, -1, "manifest.b2", &b, &blen) == 0);
	CHECK(b && mfst_verify(b, blen, (uint8_t *)pub, pl, err, sizeof err) == 0);
	free(b);
	/* bad names are refused before anything is written */
	{
		struct mfst_in in = { .name = "../x", .gitfd = -1 };
		CHECK(mfst_create(&in, rsa_sign, k, 1, err, sizeof err) == -EINVAL);
		in.name = ".hidden";
		CHECK(mfst_create(&in, rsa_sign, k, 1, err, sizeof err) == -EINVAL);
	}
	buf_free(&tam);
	free(a);
	free(tbz);
	free(sig);
	cry_key_free(k);
	cry_key_free(k2);
	close(gitfd);
	arc_remove_tree(AT_FDCWD, dir);
}

static int mode_create(char **argv)
{
	struct cry_key *k = NULL;
	uint8_t *pem = NULL, *out = NULL;
	size_t len = 0, olen = 0;
	int gitfd = open(argv[4], O_DIRECTORY | O_RDONLY), rc;

	rc = util_read_file(argv[3], KEY_MAX_PEM, &pem, &len);
	if (rc == 0)
		rc = cry_key_parse(&k, pem, len);
	if (rc == 0 && gitfd < 0)
		rc = -errno;
	if (rc == 0)
		rc = make(k, gitfd, argv[5], &out, &olen);
	if (rc == 0)
		rc = util_write_atomic(argv[2], out, olen, 0644);
	if (rc < 0)
		fprintf(stderr, "create: %s\n", strerror(-rc));
	free(out);
	wipe_free(pem, len);
	cry_key_free(k);
	if (gitfd >= 0)
		close(gitfd);
	return rc < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc == 6 && strcmp(argv[1], "create") == 0)
		return mode_create(argv);
	if (argc > 1) {
		fprintf(stderr, "usage: test_mfst [create OUT.sig.tbz KEY.pem GITDIR NAME]\n");
		return 2;
	}
	test_roundtrip();
	return tu_done("test_mfst");
}
