/* SPDX-License-Identifier: MIT */
/*
 * Tests of src/image*.c. Without arguments: pure checks (Go filepath.Match
 * rows from Go's own documentation and tests, the cache key against a
 * pre-image hashed by Python's hashlib, the config JSON of a metadata-only
 * Dockerfile against a golden written by hand from the OCI image spec and
 * Docker's semantics) and local FROM scratch builds in a temporary
 * directory: COPY, .dockerignore, --chmod/--chown, hardlinks, ADD of a tar,
 * multi-stage COPY --from, heredocs, the cache, reproducibility and the
 * refusals (../, symlinks out of the context, writes through a symlink,
 * file:line in errors).
 *
 * Mode `build` (driven by tests/it_image.sh):
 *   test_image build CONTEXT DOCKERFILE WORKDIR [--cache DIR] [--arg N=V]...
 *       [--os OS --arch ARCH] [--epoch N] [--server ADDR] [--push REPO:TAG]
 *       [--no-network] [--pubkey PEMFILE]
 *   test_image sign SERVER REPO TAG KEY.pem   (a cosign signature, sigstore.c)
 * prints the manifest digest, then "steps=N cached=M layers=L" on stdout;
 * the build log goes to stderr. --server is a registry ("http://h:p"): it is
 * DOCKER_BASE_SERVER and the default host of unqualified names.
 */
#include "cry.h"
#include "image.h"
#include "image_int.h"
#include "sigstore.h"
#include "limits.h"
#include "tutil.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define EPOCH 1700000000
#define EXPECT_KEY "8e9c87e0973a6161e9d792c2f0a868ed608df3e2e89ba5794aef0f93ee720442"

/* ---- build mode ---- */

static int push(const char *server, const char *workdir, const struct img_result *r,
		const char *dest)
{
	struct reg_opts ro = { .server = server, .log_fd = 2 };
	struct reg_client *c = NULL;
	char repo[300], err[512] = "";
	const char *colon = strrchr(dest, ':');
	int rc;

	if (!colon || (size_t)(colon - dest) >= sizeof repo) {
		fprintf(stderr, "--push wants REPO:TAG\n");
		return 2;
	}
	snprintf(repo, sizeof repo, "%.*s", (int)(colon - dest), dest);
	if ((rc = reg_open(&c, &ro)) < 0) {
		fprintf(stderr, "reg_open: %d\n", rc);
		return 1;
	}
	rc = img_push(r, workdir, c, repo, colon + 1, err, sizeof err);
	reg_close(c);
	if (rc < 0) {
		fprintf(stderr, "push failed (%d): %s\n", rc, err);
		return 1;
	}
	return 0;
}

static int drive(int argc, char **argv)
{
	struct img_opts o = { .dockerfile_name = "Dockerfile", .os = "linux", .arch = "amd64",
			      .epoch = EPOCH, .network = 1, .log_fd = 2 };
	struct img_result r;
	const char *args[64], *server = NULL, *dest = NULL;
	char err[1024] = "";
	uint8_t *df = NULL, *pub = NULL;
	size_t nargs = 0, dflen = 0;
	int rc;

	o.context = argv[2];
	o.workdir = argv[4];
	if (util_read_file(argv[3], DF_MAX_FILE, &df, &dflen) < 0) {
		fprintf(stderr, "cannot read %s\n", argv[3]);
		return 2;
	}
	for (int i = 5; i < argc; i += 2) {
		const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";
		if (!strcmp(k, "--no-network")) {
			o.network = 0;
			i--;
		} else if (!strcmp(k, "--cache"))
			o.cache_dir = v;
		else if (!strcmp(k, "--arg") && nargs < 63)
			args[nargs++] = v;
		else if (!strcmp(k, "--os"))
			o.os = v;
		else if (!strcmp(k, "--arch"))
			o.arch = v;
		else if (!strcmp(k, "--epoch"))
			o.epoch = strtoll(v, NULL, 10);
		else if (!strcmp(k, "--server"))
			server = v;
		else if (!strcmp(k, "--push"))
			dest = v;
		else if (!strcmp(k, "--pubkey") && util_read_file(v, 1 << 16, &pub, &o.base_pubkey_len) == 0)
			o.base_pubkey = pub;
		else {
			fprintf(stderr, "unknown option %s\n", k);
			return 2;
		}
	}
	args[nargs] = NULL;
	o.build_args = args;
	o.dockerfile = df;
	o.dockerfile_len = dflen;
	if (server) {
		o.base_server = server;
		o.default_host = server; /* a server string: image strips the scheme */
	}
	rc = img_build(&o, &r, err, sizeof err);
	free(df);
	free(pub);
	if (rc < 0) {
		fprintf(stderr, "build failed (%d): %s\n", rc, err);
		return 1;
	}
	printf("%s\nsteps=%u cached=%u layers=%zu\n", r.digest, r.steps, r.cached, r.nlayers);
	for (size_t i = 0; i < r.nbases; i++)
		printf("base %s %s\n", r.bases[i].ref, r.bases[i].digest);
	fflush(stdout);
	rc = dest && server ? push(server, o.workdir, &r, dest) : 0;
	img_result_free(&r);
	return rc;
}

/* test_image sign SERVER REPO TAG KEY.pem: a cosign signature of the image
 * REPO:TAG pushed with src/sigstore.c (for the base_pubkey checks). */
static int key_sign(void *ctx, const uint8_t hash[static 32], uint8_t *sig, size_t cap,
		    size_t *siglen)
{
	return cry_sign_sha256(ctx, hash, sig, cap, siglen, util_rng, NULL);
}

static int sign(char **argv)
{
	struct reg_opts ro = { .server = argv[2], .log_fd = 2 };
	struct reg_client *c = NULL;
	struct cry_key *k = NULL;
	const char *host = strstr(argv[2], "://") ? strstr(argv[2], "://") + 3 : argv[2];
	char d[REG_DIGEST_LEN + 1], mt[REG_MAX_MEDIATYPE + 1], ref[600], err[512] = "";
	uint8_t *pem = NULL, *body = NULL;
	size_t n = 0;
	int rc;

	snprintf(ref, sizeof ref, "%s/%s:%s", host, argv[3], argv[4]);
	if ((rc = util_read_file(argv[5], KEY_MAX_PEM, &pem, &n)) < 0 ||
	    (rc = cry_key_parse(&k, pem, n)) < 0 || (rc = reg_open(&c, &ro)) < 0) {
		fprintf(stderr, "sign: key or registry: %d\n", rc);
		goto out;
	}
	if ((rc = reg_get_manifest(c, argv[3], argv[4], NULL, NULL, &body, &n, d, mt)) == 0)
		rc = sig_push_signature(c, argv[3], ref, d, EPOCH, key_sign, k, err, sizeof err);
	if (rc < 0)
		fprintf(stderr, "sign: %s %s\n", err, reg_err(c));
out:
	free(pem);
	free(body);
	cry_key_free(k);
	if (c)
		reg_close(c);
	return rc < 0;
}

/* ---- pure checks ---- */

static void test_match(void)
{
	static const struct { const char *pat, *name; int want; } rows[] = {
		/* from Go's path/filepath match_test.go */
		{ "abc", "abc", 1 }, { "*", "abc", 1 }, { "*c", "abc", 1 }, { "a*", "a", 1 },
		{ "a*", "abc", 1 }, { "a*", "ab/c", 0 }, { "a*b*c*d*e*", "axbxcxdxe", 1 },
		{ "a*b?c*x", "abxbbxdbxebxczzx", 1 }, { "a*b?c*x", "abxbbxdbxebxczzy", 0 },
		{ "ab[c]", "abc", 1 }, { "ab[b-d]", "abc", 1 }, { "ab[e-g]", "abc", 0 },
		{ "ab[^c]", "abc", 0 }, { "ab[^b-d]", "abc", 0 }, { "ab[^e-g]", "abc", 1 },
		{ "a\\*b", "a*b", 1 }, { "a\\*b", "ab", 0 }, { "a?b", "a☺b", 0 },
		{ "a[^a]b", "a☺b", 0 }, { "[a-ζ]*", "α", 1 }, { "*[a-ζ]", "A", 0 },
		{ "a?b", "a/b", 0 }, { "a*b", "a/b", 0 },
		{ "[\\]a]", "]", 1 }, { "[\\-]", "-", 1 }, { "[x\\-]", "x", 1 },
		{ "[x\\-]", "-", 1 }, { "[x\\-]", "z", 0 }, { "[\\-x]", "x", 1 },
		{ "*x", "xxx", 1 }, { ".*", ".hidden", 1 }, { "*", ".hidden", 1 },
		{ "", "", 1 }, { "", "a", 0 }, { "a", "", 0 },
		/* malformed: Go's ErrBadPattern */
		{ "[]a]", "]", -EINVAL }, { "[-]", "-", -EINVAL }, { "[x-]", "x", -EINVAL },
		{ "[-x]", "x", -EINVAL }, { "\\", "a", -EINVAL }, { "[a-b-c]", "a", -EINVAL },
		{ "[", "a", -EINVAL }, { "[^", "a", -EINVAL }, { "[^bc", "a", -EINVAL },
		{ "a[", "a", -EINVAL }, { "a[", "ab", -EINVAL }, { "*x[", "xxx", -EINVAL },
	};

	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		int got = img_match(rows[i].pat, rows[i].name);
		CHECK_EQ(got, rows[i].want);
		if (got != rows[i].want)
			fprintf(stderr, "  match(\"%s\", \"%s\") = %d, want %d\n", rows[i].pat,
				rows[i].name, got, rows[i].want);
	}
}

/* The pre-image, hashed by Python:
 *   hashlib.sha256(b"sbs-img-cache-v1\nlinux/amd64/\n1700000000\n" +
 *       b"sha256:" + b"ab"*32 + b"\n" + b"RUN\0" + b"extra").hexdigest() */
static void test_cache_key(void)
{
	struct img_stage s;
	struct img_opts o = { .epoch = EPOCH };
	struct img_key k1, k2;
	char hex[65];
	char id[REG_DIGEST_LEN + 1];

	memset(&s, 0, sizeof s);
	strcpy(s.os, "linux");
	strcpy(s.arch, "amd64");
	strcpy(id, "sha256:");
	for (int i = 0; i < 32; i++)
		strcat(id, "ab");
	s.diff_ids = &id;
	s.nlayers = 1;
	img_cache_key(&s, &o, "RUN", (const uint8_t *)"extra", 5, &k1);
	img_cache_key(&s, &o, "RUN", (const uint8_t *)"extra", 5, &k2);
	CHECK(memcmp(k1.k, k2.k, 32) == 0);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", k1.k[i]);
	CHECK(strcmp(hex, EXPECT_KEY) == 0);
	if (strcmp(hex, EXPECT_KEY))
		fprintf(stderr, "  key %s\n", hex);
	img_cache_key(&s, &o, "RUN", (const uint8_t *)"extrb", 5, &k2);
	CHECK(memcmp(k1.k, k2.k, 32) != 0);
	o.epoch++;
	img_cache_key(&s, &o, "RUN", (const uint8_t *)"extra", 5, &k2);
	CHECK(memcmp(k1.k, k2.k, 32) != 0);
	s.nlayers = 0;
	o.epoch--;
	img_cache_key(&s, &o, "RUN", (const uint8_t *)"extra", 5, &k2);
	CHECK(memcmp(k1.k, k2.k, 32) != 0);
}

/* ---- local builds ---- */

static char root[64];

static void put(const char *rel, const char *data, unsigned mode)
{
	char p[512];
	int fd;

	snprintf(p, sizeof p, "%s/%s", root, rel);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, mode);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK(util_write_all(fd, data, strlen(data)) == 0);
	fchmod(fd, mode);
	close(fd);
}

static void mkd(const char *rel)
{
	char p[512];

	snprintf(p, sizeof p, "%s/%s", root, rel);
	CHECK(util_mkdirs(p, 0755) == 0);
}

static unsigned nwork;

/* Builds text with context <root>/ctx into a fresh work directory; returns
 * rc, the result in *r (caller frees), the error in err. */
static int build(const char *text, const char *cache, struct img_result *r, char *err,
		 size_t errcap, char *workdir_out)
{
	struct img_opts o = { .dockerfile = (const uint8_t *)text, .dockerfile_len = strlen(text),
			      .dockerfile_name = "Dockerfile", .os = "linux", .arch = "amd64",
			      .epoch = EPOCH, .log_fd = -1 };
	static const char *const args[] = { "V=from-arg", NULL };
	char ctx[512], work[512];

	snprintf(ctx, sizeof ctx, "%s/ctx", root);
	snprintf(work, sizeof work, "%s/work%u", root, nwork++);
	o.context = ctx;
	o.workdir = work;
	o.cache_dir = cache;
	o.build_args = args;
	if (workdir_out)
		strcpy(workdir_out, work);
	return img_build(&o, r, err, errcap);
}

static const char golden_df[] =
	"ARG V=1\n"
	"FROM scratch AS base\n"
	"ENV A=x B=\"y z\"\n"
	"LABEL b=2 a=1\n"
	"EXPOSE 80 53/udp 7000-7001\n"
	"USER 1000:1000\n"
	"VOLUME /data\n"
	"STOPSIGNAL SIGTERM\n"
	"HEALTHCHECK --interval=30s --retries=3 CMD [\"/bin/true\"]\n"
	"SHELL [\"/bin/ash\", \"-c\"]\n"
	"ENTRYPOINT echo hi\n"
	"CMD [\"a\"]\n";

#define H(t) "{\"created\":\"2023-11-14T22:13:20Z\",\"created_by\":\"" t "\"," \
	"\"comment\":\"buildkit.dockerfile.v0\",\"empty_layer\":true}"
static const char golden_cfg[] =
	"{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"User\":\"1000:1000\","
	"\"ExposedPorts\":{\"53/udp\":{},\"7000/tcp\":{},\"7001/tcp\":{},\"80/tcp\":{}},"
	"\"Env\":[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\","
	"\"A=x\",\"B=y z\"],\"Entrypoint\":[\"/bin/ash\",\"-c\",\"echo hi\"],\"Cmd\":[\"a\"],"
	"\"Volumes\":{\"/data\":{}},\"Labels\":{\"a\":\"1\",\"b\":\"2\"},"
	"\"StopSignal\":\"SIGTERM\",\"Healthcheck\":{\"Test\":[\"CMD\",\"/bin/true\"],"
	"\"Interval\":30000000000,\"Retries\":3},\"Shell\":[\"/bin/ash\",\"-c\"]},"
	"\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]},\"history\":["
	H("ENV A=x B=\\\"y z\\\"") "," H("LABEL b=2 a=1") "," H("EXPOSE 80 53/udp 7000-7001") ","
	H("USER 1000:1000") "," H("VOLUME /data") "," H("STOPSIGNAL SIGTERM") ","
	H("HEALTHCHECK CMD [\\\"/bin/true\\\"]") "," H("SHELL [\\\"/bin/ash\\\",\\\"-c\\\"]") ","
	H("ENTRYPOINT echo hi") "," H("CMD [\\\"a\\\"]")
	"],\"created\":\"2023-11-14T22:13:20Z\"}";

static void test_golden(void)
{
	struct img_result r;
	char err[512] = "";
	int rc = build(golden_df, NULL, &r, err, sizeof err, NULL);

	CHECK_EQ(rc, 0);
	if (rc < 0) {
		fprintf(stderr, "  golden: %s\n", err);
		return;
	}
	CHECK(r.config_len == strlen(golden_cfg) && !memcmp(r.config, golden_cfg, r.config_len));
	if (r.config_len != strlen(golden_cfg) || memcmp(r.config, golden_cfg, r.config_len))
		fprintf(stderr, "  config:\n%.*s\n  want:\n%s\n", (int)r.config_len, r.config,
			golden_cfg);
	CHECK_EQ(r.nlayers, 0);
	CHECK_EQ(r.steps, 12);
	CHECK(strstr((const char *)r.manifest, "\"layers\":[]") != NULL);
	CHECK(!strncmp((const char *)r.manifest, "{\"schemaVersion\":2,\"mediaType\":"
		       "\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":"
		       "\"application/vnd.oci.image.config.v1+json\",\"digest\":\"sha256:", 158));
	img_result_free(&r);
}


/* Unpacks every layer of r (in order) into <root>/<name>. */
static int unpack_result(const char *work, const struct img_result *r, const char *name,
			 char *out, size_t cap)
{
	int fd, rc = 0;

	snprintf(out, cap, "%s/%s", root, name);
	if (util_mkdirs(out, 0755) < 0 || (fd = open(out, O_PATH | O_DIRECTORY)) < 0)
		return -1;
	for (size_t i = 0; i < r->nlayers && rc == 0; i++) {
		struct arc_unpack_opts uo = { .flags = ARC_U_CHOWN };
		char p[600], e[300] = "";
		uint8_t *b = NULL;
		size_t n;
		snprintf(p, sizeof p, "%s/blobs/sha256/%s", work, r->layers[i].digest + 7);
		if ((rc = util_read_file(p, 1 << 26, &b, &n)) == 0)
			rc = arc_unpack_layer(b, n, fd, &uo, NULL, e, sizeof e);
		if (rc < 0)
			fprintf(stderr, "  unpack %s: %d %s\n", p, rc, e);
		free(b);
	}
	close(fd);
	return rc;
}

static int file_is(const char *dir, const char *rel, const char *want)
{
	char p[600];
	uint8_t *b = NULL;
	size_t n;
	int ok;

	snprintf(p, sizeof p, "%s/%s", dir, rel);
	ok = util_read_file(p, 1 << 20, &b, &n) == 0 && n == strlen(want) && !memcmp(b, want, n);
	if (!ok)
		fprintf(stderr, "  %s: %.*s (want %s)\n", rel, b ? (int)n : 0, b ? (char *)b : "", want);
	free(b);
	return ok;
}

static int lstat_at(const char *dir, const char *rel, struct stat *sb)
{
	char p[600];

	snprintf(p, sizeof p, "%s/%s", dir, rel);
	return lstat(p, sb);
}

static void setup_context(void)
{
	char p[600];

	put("ctx/a.txt", "alpha\n", 0644);
	mkd("ctx/bin");
	put("ctx/bin/tool", "#!/bin/sh\n", 0755);
	mkd("ctx/sub/dir");
	put("ctx/sub/dir/x", "x\n", 0640);
	put("ctx/y.log", "y\n", 0644);
	put("ctx/keep.log", "keep\n", 0644);
	put("ctx/secret", "s3cr3t\n", 0600);
	put("ctx/h1", "same\n", 0644);
	put("ctx/.dockerignore", "*.log\nsecret\n!keep.log\n", 0644);
	snprintf(p, sizeof p, "%s/ctx/h2", root);
	{
		char a[600];
		snprintf(a, sizeof a, "%s/ctx/h1", root);
		CHECK(link(a, p) == 0);
	}
	snprintf(p, sizeof p, "%s/ctx/lnk", root);
	CHECK(symlink("a.txt", p) == 0);
	snprintf(p, sizeof p, "%s/ctx/evil", root);
	CHECK(symlink("/etc/passwd", p) == 0);
	snprintf(p, sizeof p, "%s/ctx/evil2", root);
	CHECK(symlink("../../../../../../etc/passwd", p) == 0);
	mkd("outside");
	put("outside/canary", "canary\n", 0644);
	mkd("ctx/t");
	put("ctx/t/in-tar", "from tar\n", 0644);
	char cmd[1024];
	snprintf(cmd, sizeof cmd, "tar -C %s/ctx/t -cf %s/ctx/t.tar in-tar && "
		 "ln -s %s/outside %s/ctx/t/esc && tar -C %s/ctx/t -czf %s/ctx/esc.tgz esc",
		 root, root, root, root, root, root);
	CHECK(system(cmd) == 0);
	snprintf(cmd, sizeof cmd, "mkdir -p %s/m/usr/bin && ln -s usr/bin %s/m/bin && "
		 "ln -s /usr %s/m/lnk && ln -s ../../../../.. %s/m/up && "
		 "tar -C %s/m -czf %s/ctx/merged.tgz usr bin lnk up", root, root, root, root, root, root);
	CHECK(system(cmd) == 0);
}

static const char copy_df[] =
	"FROM scratch\n"
	"ARG V\n"
	"COPY a.txt /a.txt\n"
	"COPY --chmod=600 --chown=7:8 bin/ /opt/bin/\n"
	"COPY sub /sub\n"
	"COPY *.log /logs/\n"
	"COPY h1 h2 /hl/\n"
	"COPY <<EOF /etc/hello\n"
	"hi $V\n"
	"EOF\n"
	"ADD t.tar /t/\n"
	"ADD --chown=7:8 t.tar /t2/\n"
	"WORKDIR /w/x\n"
	"WORKDIR /w/x\n";

static void test_copy(void)
{
	struct img_result r, r2;
	char err[512] = "", work[512], dir[600];
	struct stat a, b;
	int rc = build(copy_df, NULL, &r, err, sizeof err, work);

	CHECK_EQ(rc, 0);
	if (rc < 0) {
		fprintf(stderr, "  copy: %s\n", err);
		return;
	}
	CHECK_EQ(r.nlayers, 9);  /* 8 COPY/ADD steps + the first WORKDIR */
	if (r.nlayers != 9)
		fprintf(stderr, "  %zu layers\n", r.nlayers);
	CHECK(unpack_result(work, &r, "u1", dir, sizeof dir) == 0);
	CHECK(file_is(dir, "a.txt", "alpha\n"));
	CHECK(file_is(dir, "opt/bin/tool", "#!/bin/sh\n"));
	CHECK(lstat_at(dir, "opt/bin/tool", &a) == 0 && (a.st_mode & 07777) == 0600);
	CHECK(geteuid() != 0 || (a.st_uid == 7 && a.st_gid == 8));
	CHECK(lstat_at(dir, "opt/bin", &a) == 0 && (geteuid() != 0 || a.st_uid == 7));
	CHECK(lstat_at(dir, "opt", &a) == 0 && (geteuid() != 0 || a.st_uid == 7));
	CHECK(file_is(dir, "sub/dir/x", "x\n"));
	CHECK(lstat_at(dir, "sub/dir/x", &a) == 0 && (a.st_mode & 07777) == 0640);
	CHECK(file_is(dir, "logs/keep.log", "keep\n"));
	CHECK(lstat_at(dir, "logs/y.log", &a) < 0);
	CHECK(lstat_at(dir, "hl/h1", &a) == 0 && lstat_at(dir, "hl/h2", &b) == 0);
	CHECK(a.st_ino == b.st_ino);
	CHECK(file_is(dir, "etc/hello", "hi from-arg\n"));
	CHECK(file_is(dir, "t/in-tar", "from tar\n"));
	CHECK(lstat_at(dir, "t/in-tar", &a) == 0 && (geteuid() != 0 || a.st_uid == 0));
	CHECK(lstat_at(dir, "t2/in-tar", &a) == 0 && (geteuid() != 0 || (a.st_uid == 7 && a.st_gid == 8)));
	CHECK(lstat_at(dir, "t2", &a) == 0 && (geteuid() != 0 || a.st_uid == 7));
	CHECK(lstat_at(dir, "w/x", &a) == 0 && S_ISDIR(a.st_mode));
	CHECK(lstat_at(dir, "a.txt", &a) == 0 && a.st_mtime <= EPOCH);
	/* the same inputs again, fresh work directory, another umask: the same digest */
	{
		mode_t old = umask(077);
		rc = build(copy_df, NULL, &r2, err, sizeof err, NULL);
		umask(old);
	}
	CHECK(rc == 0 && !strcmp(r.digest, r2.digest));
	if (rc == 0)
		img_result_free(&r2);
	img_result_free(&r);
}

static void test_cache(void)
{
	struct img_result r1, r2, r3;
	char err[512] = "", cache[512];
	int rc;

	snprintf(cache, sizeof cache, "%s/cache", root);
	CHECK(util_mkdirs(cache, 0755) == 0);
	rc = build(copy_df, cache, &r1, err, sizeof err, NULL);
	CHECK(rc == 0 && r1.cached == 0);
	rc |= build(copy_df, cache, &r2, err, sizeof err, NULL);
	if (rc == 0 && r2.cached != 8)
		fprintf(stderr, "  %u cached\n", r2.cached);
	CHECK(rc == 0 && r2.cached == 8);    /* every COPY/ADD step (WORKDIR is not cached) */
	CHECK(rc == 0 && !strcmp(r1.digest, r2.digest));
	put("ctx/sub/dir/x", "changed\n", 0640);
	rc |= build(copy_df, cache, &r3, err, sizeof err, NULL);
	CHECK(rc == 0 && r3.cached == 2 && /* the steps before the change */ strcmp(r1.digest, r3.digest));
	put("ctx/sub/dir/x", "x\n", 0640);
	if (rc) {
		fprintf(stderr, "  cache: %s\n", err);
		return;
	}
	/* a damaged cached blob is a miss, the step runs again and heals it */
	{
		struct img_result r4, r5;
		char p[600];
		snprintf(p, sizeof p, "cache/blobs/sha256/%s", r1.layers[0].digest + 7);
		put(p, "garbage", 0644);
		rc = build(copy_df, cache, &r4, err, sizeof err, NULL);
		CHECK(rc == 0 && r4.cached == 7 && !strcmp(r4.digest, r1.digest));
		rc |= build(copy_df, cache, &r5, err, sizeof err, NULL);
		CHECK(rc == 0 && r5.cached == 8 && !strcmp(r5.digest, r1.digest));
		if (rc == 0) {
			img_result_free(&r4);
			img_result_free(&r5);
		}
	}
	img_result_free(&r1);
	img_result_free(&r2);
	img_result_free(&r3);
}

static void test_stages(void)
{
	static const char df[] =
		"FROM scratch AS one\n"
		"COPY a.txt /x/a\n"
		"FROM one AS two\n"
		"COPY keep.log /x/k\n"
		"FROM scratch\n"
		"COPY --from=two /x /y\n"
		"COPY --from=0 /x/a /z\n";
	struct img_result r;
	char err[512] = "", work[512], dir[600];
	struct stat sb;
	int rc = build(df, NULL, &r, err, sizeof err, work);

	CHECK_EQ(rc, 0);
	if (rc < 0) {
		fprintf(stderr, "  stages: %s\n", err);
		return;
	}
	CHECK_EQ(r.nlayers, 2);
	CHECK(unpack_result(work, &r, "u2", dir, sizeof dir) == 0);
	CHECK(file_is(dir, "y/a", "alpha\n"));
	CHECK(file_is(dir, "y/k", "keep\n"));
	CHECK(file_is(dir, "z", "alpha\n"));
	CHECK(lstat_at(dir, "x", &sb) < 0);
	img_result_free(&r);
}

static void refused(const char *df, const char *words)
{
	struct img_result r;
	char err[512] = "";
	int rc = build(df, NULL, &r, err, sizeof err, NULL);

	CHECK(rc < 0);
	CHECK(strstr(err, words) != NULL);
	if (rc >= 0 || !strstr(err, words))
		fprintf(stderr, "  %s -> %d \"%s\" (want \"%s\")\n", df, rc, err, words);
	if (rc == 0)
		img_result_free(&r);
}

static void test_refusals(void)
{
	refused("FROM scratch\nCOPY ../outside/canary /x\n",
		"Dockerfile:2: \"../outside/canary\": forbidden path outside the build context");
	refused("FROM scratch\nCOPY evil /x\n", "Dockerfile:2: \"evil\": a symlink leads out");
	refused("FROM scratch\nCOPY evil2 /x\n", "Dockerfile:2: \"evil2\": a symlink leads out");
	refused("FROM scratch\nCOPY secret /x\n", "excluded by .dockerignore");
	refused("FROM scratch\n\nCOPY nope /x\n", "Dockerfile:3: \"nope\": not found");
	refused("FROM scratch\nCOPY *.nope /x/\n", "no source files were specified");
	refused("FROM scratch\nCOPY a.txt h1 /x\n", "must be a directory and end with a /");
	refused("FROM scratch\nFOO x\n", "Dockerfile:2: unknown instruction");
	refused("FROM scratch\nADD https://example.com/x /x\n", "from a URL");
	refused("FROM scratch\nCOPY --from=1 a /x\n", "no such earlier stage");
	refused("FROM scratch\nCOPY --chmod=9 a.txt /x\n", "octal");
	refused("FROM scratch AS me\nCOPY --from=me /a /x\n", "circular dependency");
	refused("FROM scratch\nCOPY a.txt /f\nCOPY sub /f\n", "Dockerfile:3: destination /f: Not a directory");
	refused("FROM scratch\nCOPY sub /s/a.txt/\nCOPY a.txt /s/\n", "destination /s/a.txt is a directory");
	{
		static char many[300 * 24];
		size_t k = (size_t)sprintf(many, "FROM scratch\n");
		for (int i = 0; i <= REG_MAX_LAYERS; i++)
			k += (size_t)sprintf(many + k, "COPY a.txt /f%d\n", i);
		refused(many, "Dockerfile:258: more than 256 layers");
	}
	/* a symlink in the image on the way of a write */
	refused("FROM scratch\nADD esc.tgz /\nCOPY a.txt /esc/\n", "Dockerfile:3: destination");
	refused("FROM scratch\nADD esc.tgz /\nCOPY a.txt /esc/x\n", "symlink is on the way");
	CHECK(file_is(root, "outside/canary", "canary\n"));
	{
		struct stat sb;
		CHECK(lstat_at(root, "outside/x", &sb) < 0 && lstat_at(root, "outside/a.txt", &sb) < 0);
	}
}

static const char run_df[] =
	"FROM scratch\n"
	"COPY busybox /bin/busybox\n"
	"RUN [\"/bin/busybox\", \"sh\", \"-c\", \"/bin/busybox mkdir -p /out && "
	"/bin/busybox echo hi > /out/f && /bin/busybox ln -s busybox /bin/sh && "
	"/bin/busybox --install -s /bin\"]\n"
	"ENV N=3\n"
	"RUN echo $((N+1)) > /out/g && touch /out/f\n"
	"RUN <<EOF\n"
	"echo heredoc > /out/h\n"
	"EOF\n"
	"RUN <<EOF\n"
	"#!/bin/busybox sh\n"
	"echo shebang \"$0\" > /out/s\n"
	"EOF\n"
	"RUN cat > /out/m <<EOT && rm /out/f\n"
	"mixed $N\n"
	"EOT\n"
	"RUN --network=none true\n";

static void test_run(void)
{
	struct img_result r, r2;
	char err[512] = "", work[512], dir[600], cmd[700];
	struct stat sb;
	int rc;

	if (geteuid() != 0 || access("/bin/busybox", X_OK) < 0) {
		fprintf(stderr, "  (RUN tests skipped: need root and /bin/busybox)\n");
		return;
	}
	snprintf(cmd, sizeof cmd, "cp /bin/busybox %s/ctx/busybox", root);
	CHECK(system(cmd) == 0);
	rc = build(run_df, NULL, &r, err, sizeof err, work);
	CHECK_EQ(rc, 0);
	if (rc < 0) {
		fprintf(stderr, "  run: %s\n", err);
		return;
	}
	CHECK_EQ(r.nlayers, 6);   /* COPY + 5 RUN steps that changed something */
	CHECK(unpack_result(work, &r, "u3", dir, sizeof dir) == 0);
	CHECK(file_is(dir, "out/g", "4\n"));
	CHECK(file_is(dir, "out/h", "heredoc\n"));
	CHECK(lstat_at(dir, "out/s", &sb) == 0);
	CHECK(file_is(dir, "out/m", "mixed 3\n"));
	CHECK(lstat_at(dir, "out/f", &sb) < 0);          /* deleted by a later RUN: whiteout */
	CHECK(lstat_at(dir, "bin/sh", &sb) == 0 && S_ISLNK(sb.st_mode));
	CHECK(lstat_at(dir, "proc", &sb) < 0 && lstat_at(dir, "dev", &sb) < 0);
	snprintf(cmd, sizeof cmd, "ls -a %s | grep -q sbs-", dir);
	CHECK(system(cmd) != 0);                          /* no heredoc script left */
	rc = build(run_df, NULL, &r2, err, sizeof err, NULL);
	CHECK(rc == 0 && !strcmp(r.digest, r2.digest));
	if (rc == 0)
		img_result_free(&r2);
	img_result_free(&r);
	refused("FROM scratch\nCOPY busybox /bin/busybox\n\nRUN [\"/bin/busybox\", \"sh\", \"-c\", \"exit 3\"]\n",
		"Dockerfile:4: RUN returned a non-zero code: 3");
	refused("FROM scratch\nRUN true\n", "Dockerfile:2: RUN:");
}

/* .dockerignore exceptions below an excluded directory, wildcards in the
 * middle of a path and in --from sources. */
static void test_patterns(void)
{
	static const char df[] =
		"FROM scratch AS one\n"
		"COPY a.txt /opt/a1\n"
		"COPY a.txt /opt/a2\n"
		"FROM scratch\n"
		"COPY docs /d/\n"
		"COPY s*/d?r/x /w/\n"
		"COPY --from=one /opt/a* /o/\n";
	struct img_result r;
	char err[512] = "", work[512], dir[600];
	struct stat sb;
	int rc;

	mkd("ctx/docs/sub");
	put("ctx/docs/keep.md", "keep\n", 0644);
	put("ctx/docs/other.md", "other\n", 0644);
	put("ctx/docs/sub/deep.md", "deep\n", 0644);
	put("ctx/.dockerignore", "*.log\nsecret\n!keep.log\ndocs\n!docs/keep.md\n!docs/sub/deep.md\n", 0644);
	rc = build(df, NULL, &r, err, sizeof err, work);
	put("ctx/.dockerignore", "*.log\nsecret\n!keep.log\n", 0644);
	CHECK_EQ(rc, 0);
	if (rc < 0) {
		fprintf(stderr, "  patterns: %s\n", err);
		return;
	}
	CHECK(unpack_result(work, &r, "u6", dir, sizeof dir) == 0);
	CHECK(file_is(dir, "d/keep.md", "keep\n"));
	CHECK(file_is(dir, "d/sub/deep.md", "deep\n"));
	CHECK(lstat_at(dir, "d/other.md", &sb) < 0);
	CHECK(file_is(dir, "w/x", "x\n"));
	CHECK(file_is(dir, "o/a1", "alpha\n") && file_is(dir, "o/a2", "alpha\n"));
	img_result_free(&r);
}

/* openat2 (Linux 5.6+; not under qemu-user): without it every symlink on
 * the way of a source or a destination is refused, and RUN is not tried. */
static int have_openat2(void)
{
	struct { uint64_t flags, mode, resolve; } how = { O_PATH, 0, 0 };
#ifdef SYS_openat2
	long fd = syscall(SYS_openat2, AT_FDCWD, "/", &how, sizeof how);
	if (fd >= 0) {
		close((int)fd);
		return 1;
	}
#endif
	return 0;
}

/* A top-level source symlink is followed inside the context. */
static void test_source_link(void)
{
	struct img_result r;
	char err[512] = "", work[512], dir[600];
	struct stat sb;
	int rc;

	if (!have_openat2()) {
		refused("FROM scratch\nCOPY lnk /l\n", "a symlink leads out of the build context");
		return;
	}
	rc = build("FROM scratch\nCOPY lnk /l\n", NULL, &r, err, sizeof err, work);
	CHECK_EQ(rc, 0);
	if (rc < 0)
		return;
	CHECK(unpack_result(work, &r, "u5", dir, sizeof dir) == 0);
	CHECK(file_is(dir, "l", "alpha\n"));
	CHECK(lstat_at(dir, "l", &sb) == 0 && S_ISREG(sb.st_mode));
	img_result_free(&r);
}

/* Destinations through symlinks of the image resolve inside it, as in Docker
 * (merged /usr: /bin -> usr/bin), and the layer has the real paths. */
static void test_symlink_dest(void)
{
	static const char df[] =
		"FROM scratch\n"
		"ADD merged.tgz /\n"
		"COPY a.txt /bin/\n"
		"COPY a.txt /lnk/bin/b.txt\n"
		"COPY a.txt /up/c.txt\n"
		"WORKDIR /lnk/w\n";
	struct img_result r;
	char err[512] = "", work[512], dir[600];
	struct stat sb;
	int rc = build(df, NULL, &r, err, sizeof err, work);

	CHECK_EQ(rc, 0);
	if (rc < 0) {
		fprintf(stderr, "  symlink dest: %s\n", err);
		return;
	}
	CHECK(unpack_result(work, &r, "u4", dir, sizeof dir) == 0);
	CHECK(file_is(dir, "usr/bin/a.txt", "alpha\n"));
	CHECK(file_is(dir, "usr/bin/b.txt", "alpha\n"));
	CHECK(file_is(dir, "c.txt", "alpha\n"));        /* "up" climbs to / and stops there */
	CHECK(lstat_at(dir, "usr/w", &sb) == 0 && S_ISDIR(sb.st_mode));
	CHECK(lstat_at(dir, "bin", &sb) == 0 && S_ISLNK(sb.st_mode));
	CHECK(lstat_at(dir, "lnk", &sb) == 0 && S_ISLNK(sb.st_mode));
	img_result_free(&r);
}

static void test_local(void)
{
	setup_context();
	test_copy();
	test_cache();
	test_stages();
	test_refusals();
	test_patterns();
	test_source_link();
	if (have_openat2()) {
		test_symlink_dest();
		test_run();
	} else {
		fprintf(stderr, "  (no openat2, e.g. qemu-user: destination symlinks and RUN not tried)\n");
	}
}

int main(int argc, char **argv)
{
	if (argc >= 5 && strcmp(argv[1], "build") == 0)
		return drive(argc, argv);
	if (argc == 6 && strcmp(argv[1], "sign") == 0)
		return sign(argv);
	if (argc > 1) {
		fprintf(stderr, "usage: %s [build CONTEXT DOCKERFILE WORKDIR [options]]\n", argv[0]);
		return 2;
	}
	log_quiet = 1;
	snprintf(root, sizeof root, "/tmp/test_image.XXXXXX");
	if (!mkdtemp(root)) {
		perror("mkdtemp");
		return 1;
	}
	mkd("ctx");
	test_match();
	test_cache_key();
	test_golden();
	test_local();
	{
		char cmd[300];
		snprintf(cmd, sizeof cmd, "rm -rf %s", root);
		if (system(cmd) != 0)
			fprintf(stderr, "cleanup of %s failed\n", root);
	}
	return tu_done("image");
}
