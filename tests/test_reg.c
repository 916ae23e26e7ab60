/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of src/reg.h: references, digests, the parsers of what a
 * registry sends (manifests, indexes in the shapes Docker Hub and buildx
 * produce, WWW-Authenticate challenges, token responses).
 *
 * Integration modes (driven by tests/it_reg.sh against a real registry;
 * credentials from REG_USER/REG_PASS, CA from REG_CA_FILE, small backoff
 * from REG_BACKOFF_MS, retries from REG_RETRIES_N):
 *   test_reg pull SERVER REPO REF OS ARCH OUTDIR
 *       writes OUTDIR/manifest.json and OUTDIR/blobs/<hex> for the config
 *       and every layer; prints the manifest digest.
 *   test_reg push SERVER REPO TAG OCI_LAYOUT_DIR
 *       pushes the image index.json's first manifest points at; prints
 *       the manifest digest.
 *   test_reg putmanifest SERVER REPO REF MEDIATYPE FILE      prints the digest
 *   test_reg getblob SERVER REPO DIGEST OUTFILE              (file removed on failure)
 *   test_reg getmanifest SERVER REPO REF [OS ARCH]           prints digest and media type
 *   test_reg pushblob SERVER REPO FILE                       prints the digest
 *   test_reg exists SERVER REPO DIGEST                        prints 1 or 0
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reg.h"
#include "tutil.h"

int reg_test_main(int argc, char **argv);

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define D3 "sha256:3333333333333333333333333333333333333333333333333333333333333333"

static int man(const char *s, struct reg_manifest *m, char *err)
{
	return reg_manifest_parse((const uint8_t *)s, strlen(s), m, err, 256);
}

static void test_digest(void)
{
	CHECK(reg_digest_valid(D1));
	CHECK(!reg_digest_valid("sha256:111"));
	CHECK(!reg_digest_valid("sha512:1111111111111111111111111111111111111111111111111111111111111111"));
	CHECK(!reg_digest_valid("sha256:AAAA111111111111111111111111111111111111111111111111111111111111"));
	CHECK(!reg_digest_valid("sha256:111111111111111111111111111111111111111111111111111111111111111g"));
	CHECK(!reg_digest_valid(D1 "1"));
	CHECK(!reg_digest_valid(""));
	CHECK(!reg_digest_valid(NULL));
}

static void test_manifest(void)
{
	struct reg_manifest m;
	char err[256];
	const char *oci =
		"{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
		"\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"" D1 "\",\"size\":1469},"
		"\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"" D2 "\",\"size\":2796860},"
		"{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"" D3 "\",\"size\":0}],"
		"\"annotations\":{\"a\":\"b\"}}";
	const char *docker =
		"{\"schemaVersion\":2,\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\","
		"\"config\":{\"mediaType\":\"application/vnd.docker.container.image.v1+json\",\"size\":7023,\"digest\":\"" D1 "\"},"
		"\"layers\":[{\"mediaType\":\"application/vnd.docker.image.rootfs.diff.tar.gzip\",\"size\":32654,\"digest\":\"" D2 "\"}]}";

	CHECK_EQ(man(oci, &m, err), 0);
	CHECK(strcmp(m.media_type, REG_MT_OCI_MANIFEST) == 0);
	CHECK(strcmp(m.config.digest, D1) == 0 && m.config.size == 1469);
	CHECK_EQ(m.nlayers, 2);
	CHECK(m.nlayers == 2 && m.layers[0].size == 2796860 && strcmp(m.layers[1].digest, D3) == 0);
	reg_manifest_free(&m);
	CHECK_EQ(man(docker, &m, err), 0);
	CHECK(strcmp(m.media_type, REG_MT_DOCKER_MANIFEST) == 0 && m.nlayers == 1);
	CHECK(strcmp(m.config.media_type, REG_MT_DOCKER_CONFIG) == 0);
	reg_manifest_free(&m);
	/* mediaType may be absent (OCI); layers may be empty */
	CHECK_EQ(man("{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"digest\":\"" D1 "\",\"size\":1},\"layers\":[]}",
		     &m, err), 0);
	CHECK(strcmp(m.media_type, REG_MT_OCI_MANIFEST) == 0 && m.nlayers == 0);
	reg_manifest_free(&m);

	CHECK_EQ(man("{\"schemaVersion\":1,\"config\":{\"mediaType\":\"x\",\"digest\":\"" D1 "\",\"size\":1},\"layers\":[]}", &m, err), -EBADMSG);
	CHECK(strstr(err, "schemaVersion") != NULL);
	CHECK_EQ(man("{\"schemaVersion\":2,\"layers\":[]}", &m, err), -EBADMSG);
	CHECK(strstr(err, "config") != NULL);
	CHECK_EQ(man("{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"digest\":\"sha256:abc\",\"size\":1},\"layers\":[]}", &m, err), -EBADMSG);
	CHECK(strstr(err, "digest") != NULL);
	CHECK_EQ(man("{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"digest\":\"" D1 "\",\"size\":-1},\"layers\":[]}", &m, err), -EBADMSG);
	CHECK_EQ(man("{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"digest\":\"" D1 "\",\"size\":1.5},\"layers\":[]}", &m, err), -EBADMSG);
	CHECK_EQ(man("{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"digest\":\"" D1 "\",\"size\":1e300},\"layers\":[]}", &m, err), -EBADMSG);
	CHECK_EQ(man("{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"digest\":\"" D1 "\",\"size\":\"1\"},\"layers\":[]}", &m, err), -EBADMSG);
	CHECK_EQ(man("{\"schemaVersion\":2,\"config\":{\"digest\":\"" D1 "\",\"size\":1},\"layers\":[]}", &m, err), -EBADMSG);
	CHECK_EQ(man("{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"digest\":\"" D1 "\",\"size\":1}}", &m, err), -EBADMSG);
	CHECK_EQ(man("{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"digest\":\"" D1 "\",\"size\":1},\"layers\":{}}", &m, err), -EBADMSG);
	/* an index is not a manifest */
	CHECK_EQ(man("{\"schemaVersion\":2,\"mediaType\":\"" REG_MT_OCI_INDEX "\",\"config\":{\"mediaType\":\"x\",\"digest\":\"" D1 "\",\"size\":1},\"layers\":[]}", &m, err), -EBADMSG);
	/* foreign and zstd layers are refused */
	CHECK_EQ(man("{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"digest\":\"" D1 "\",\"size\":1},\"layers\":["
		     "{\"mediaType\":\"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip\",\"digest\":\"" D2 "\",\"size\":1}]}", &m, err), -EBADMSG);
	CHECK(strstr(err, "foreign") != NULL);
	CHECK_EQ(man("{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"digest\":\"" D1 "\",\"size\":1},\"layers\":["
		     "{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+zstd\",\"digest\":\"" D2 "\",\"size\":1}]}", &m, err), -EBADMSG);
	/* an over-long media type is a limit, not a truncation */
	{
		char mt[300], doc[1024];

		memset(mt, 'a', sizeof mt - 1);
		mt[sizeof mt - 1] = 0;
		snprintf(doc, sizeof doc, "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"%s\",\"digest\":\"" D1 "\",\"size\":1},\"layers\":[]}", mt);
		CHECK_EQ(man(doc, &m, err), -E2BIG);
	}
	/* REG_MAX_LAYERS layers pass, one more is -E2BIG */
	for (int extra = 0; extra < 2; extra++) {
		size_t n = REG_MAX_LAYERS + (size_t)extra, cap = 200 + n * 200;
		char *doc = malloc(cap);
		size_t o;

		o = (size_t)snprintf(doc, cap, "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"digest\":\"" D1 "\",\"size\":1},\"layers\":[");
		for (size_t i = 0; i < n; i++)
			o += (size_t)snprintf(doc + o, cap - o, "%s{\"mediaType\":\"" REG_MT_OCI_LAYER_GZ "\",\"digest\":\"" D2 "\",\"size\":%zu}",
					      i ? "," : "", i);
		snprintf(doc + o, cap - o, "]}");
		CHECK_EQ(man(doc, &m, err), extra ? -E2BIG : 0);
		CHECK(extra || m.nlayers == REG_MAX_LAYERS);
		reg_manifest_free(&m);
		free(doc);
	}
	CHECK_EQ(man("[]", &m, err), -EBADMSG);
	CHECK_EQ(man("{\"schemaVersion\":2", &m, err), -EBADMSG);
	CHECK_EQ(reg_manifest_parse((const uint8_t *)"{}", REG_MAX_MANIFEST + 1, &m, err, sizeof err), -E2BIG);
}

/* Docker Hub's busybox manifest list (shape), with variants. */
static const char *dlist =
	"{\"manifests\":["
	"{\"digest\":\"" D1 "\",\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\",\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\"},\"size\":527},"
	"{\"digest\":\"sha256:aaaa111111111111111111111111111111111111111111111111111111111111\",\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\",\"platform\":{\"architecture\":\"arm\",\"os\":\"linux\",\"variant\":\"v5\"},\"size\":527},"
	"{\"digest\":\"sha256:bbbb111111111111111111111111111111111111111111111111111111111111\",\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\",\"platform\":{\"architecture\":\"arm\",\"os\":\"linux\",\"variant\":\"v7\"},\"size\":527},"
	"{\"digest\":\"" D2 "\",\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\",\"platform\":{\"architecture\":\"arm64\",\"os\":\"linux\",\"variant\":\"v8\"},\"size\":527},"
	"{\"digest\":\"" D3 "\",\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\",\"platform\":{\"architecture\":\"s390x\",\"os\":\"linux\"},\"size\":528}"
	"],\"mediaType\":\"application/vnd.docker.distribution.manifest.list.v2+json\",\"schemaVersion\":2}";

/* buildx's OCI index: the attestation manifest comes first with unknown/unknown. */
static const char *oindex =
	"{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":["
	"{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" D1 "\",\"size\":566,"
	"\"annotations\":{\"vnd.docker.reference.digest\":\"" D2 "\",\"vnd.docker.reference.type\":\"attestation-manifest\"},"
	"\"platform\":{\"architecture\":\"unknown\",\"os\":\"unknown\"}},"
	"{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" D2 "\",\"size\":1000,"
	"\"platform\":{\"architecture\":\"s390x\",\"os\":\"linux\"}}]}";

static int pick(const char *doc, const char *os, const char *arch, const char *variant,
		struct reg_desc *d, char *err, size_t cap)
{
	return reg_index_pick((const uint8_t *)doc, strlen(doc), os, arch, variant, d, err, cap);
}

static void test_index(void)
{
	struct reg_desc d;
	char err[512];

	CHECK_EQ(reg_is_index((const uint8_t *)dlist, strlen(dlist)), 1);
	CHECK_EQ(reg_is_index((const uint8_t *)oindex, strlen(oindex)), 1);
	CHECK_EQ(reg_is_index((const uint8_t *)"{\"manifests\":[]}", 16), 1);
	CHECK_EQ(reg_is_index((const uint8_t *)"{\"layers\":[]}", 13), 0);
	CHECK_EQ(reg_is_index((const uint8_t *)"{\"mediaType\":\"" REG_MT_OCI_MANIFEST "\",\"manifests\":[]}",
			      strlen("{\"mediaType\":\"" REG_MT_OCI_MANIFEST "\",\"manifests\":[]}")), 0);
	CHECK_EQ(reg_is_index((const uint8_t *)"nope", 4), -EBADMSG);

	CHECK_EQ(pick(dlist, "linux", "amd64", NULL, &d, err, sizeof err), 0);
	CHECK(strcmp(d.digest, D1) == 0 && d.size == 527 && strcmp(d.media_type, REG_MT_DOCKER_MANIFEST) == 0);
	CHECK_EQ(pick(dlist, "linux", "s390x", NULL, &d, err, sizeof err), 0);
	CHECK(strcmp(d.digest, D3) == 0 && strcmp(d.arch, "s390x") == 0);
	CHECK_EQ(pick(dlist, "linux", "arm64", NULL, &d, err, sizeof err), 0);
	CHECK(strcmp(d.digest, D2) == 0 && strcmp(d.variant, "v8") == 0);
	CHECK_EQ(pick(dlist, "linux", "arm64", "v8", &d, err, sizeof err), 0);
	CHECK(strcmp(d.digest, D2) == 0);
	CHECK_EQ(pick(dlist, "linux", "arm", "v7", &d, err, sizeof err), 0);
	CHECK(strncmp(d.digest, "sha256:bbbb", 11) == 0);
	CHECK_EQ(pick(dlist, "linux", "arm", "v6", &d, err, sizeof err), -ENOENT);
	CHECK_EQ(pick(dlist, "linux", "riscv64", NULL, &d, err, sizeof err), -ENOENT);
	CHECK(strstr(err, "linux/riscv64") && strstr(err, "linux/amd64") && strstr(err, "linux/arm/v7") &&
	      strstr(err, "linux/s390x"));
	CHECK(d.digest[0] == 0);
	CHECK_EQ(pick(dlist, "windows", "amd64", NULL, &d, err, 40), -ENOENT);   /* truncated list, no overflow */
	CHECK(strlen(err) < 40);

	CHECK_EQ(pick(oindex, "linux", "s390x", NULL, &d, err, sizeof err), 0);
	CHECK(strcmp(d.digest, D2) == 0 && d.size == 1000);
	CHECK_EQ(pick(oindex, "unknown", "unknown", NULL, &d, err, sizeof err), -ENOENT);
	CHECK_EQ(pick(oindex, "linux", "amd64", NULL, &d, err, sizeof err), -ENOENT);
	CHECK(strstr(err, "linux/s390x") && !strstr(err, "unknown"));
	/* malformed entries and limits */
	CHECK_EQ(pick("{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"x\",\"digest\":\"sha256:12\",\"size\":1}]}",
		      "linux", "amd64", NULL, &d, err, sizeof err), -EBADMSG);
	CHECK_EQ(pick("{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"x\",\"digest\":\"" D1 "\",\"size\":1,\"platform\":\"linux\"}]}",
		      "linux", "amd64", NULL, &d, err, sizeof err), -EBADMSG);
	CHECK_EQ(pick("{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"x\",\"digest\":\"" D1 "\",\"size\":1,\"platform\":{\"os\":\"linuxlinuxlinuxlinuxlinuxlinuxlinuxlinux\"}}]}",
		      "linux", "amd64", NULL, &d, err, sizeof err), -E2BIG);
	CHECK_EQ(pick("{\"schemaVersion\":3,\"manifests\":[]}", "linux", "amd64", NULL, &d, err, sizeof err), -EBADMSG);
	CHECK_EQ(pick("{\"schemaVersion\":2,\"manifests\":[]}", "linux", "amd64", NULL, &d, err, sizeof err), -ENOENT);
	CHECK(strstr(err, "no image manifest") != NULL);
	{
		size_t n = REG_MAX_INDEX + 1, cap = 64 + n * 4;
		char *doc = malloc(cap);
		size_t o = (size_t)snprintf(doc, cap, "{\"schemaVersion\":2,\"manifests\":[");

		for (size_t i = 0; i < n; i++)
			o += (size_t)snprintf(doc + o, cap - o, "%s{}", i ? "," : "");
		snprintf(doc + o, cap - o, "]}");
		CHECK_EQ(pick(doc, "linux", "amd64", NULL, &d, err, sizeof err), -E2BIG);
		free(doc);
	}
}

static void test_challenge(void)
{
	struct reg_challenge c;

	CHECK_EQ(reg_challenge_parse("Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
				     "scope=\"repository:library/busybox:pull\"", &c), 0);
	CHECK(strcmp(c.scheme, "Bearer") == 0 && strcmp(c.realm, "https://auth.docker.io/token") == 0);
	CHECK(strcmp(c.service, "registry.docker.io") == 0 && strcmp(c.scope, "repository:library/busybox:pull") == 0);
	CHECK_EQ(reg_challenge_parse("Basic realm=\"Registry Realm\"", &c), 0);
	CHECK(strcmp(c.scheme, "Basic") == 0 && strcmp(c.realm, "Registry Realm") == 0 && c.service[0] == 0);
	CHECK_EQ(reg_challenge_parse("bearer  realm=http://127.0.0.1:5/t , error=\"insufficient_scope\", "
				     "scope=\"repository:a/b:pull,push\"", &c), 0);
	CHECK(strcmp(c.scheme, "Bearer") == 0 && strcmp(c.realm, "http://127.0.0.1:5/t") == 0);
	CHECK(strcmp(c.scope, "repository:a/b:pull,push") == 0);
	CHECK_EQ(reg_challenge_parse("Bearer realm=\"a\\\"b\"", &c), 0);
	CHECK(strcmp(c.realm, "a\"b") == 0);
	/* a second challenge after ours */
	CHECK_EQ(reg_challenge_parse("Basic realm=\"r\", Bearer realm=\"x\"", &c), 0);
	CHECK(strcmp(c.scheme, "Basic") == 0 && strcmp(c.realm, "r") == 0);
	CHECK_EQ(reg_challenge_parse("Negotiate abc", &c), -ENOTSUP);
	CHECK_EQ(reg_challenge_parse("", &c), -ENOTSUP);
	CHECK_EQ(reg_challenge_parse("Bearer realm=\"unterminated", &c), -EBADMSG);
	CHECK_EQ(reg_challenge_parse("Bearer realm=", &c), -EBADMSG);
	CHECK_EQ(reg_challenge_parse("Bearer realm=\"a\"x", &c), -EBADMSG);
	{
		char v[4000];

		snprintf(v, sizeof v, "Bearer service=\"%0600d\"", 0);
		CHECK_EQ(reg_challenge_parse(v, &c), -E2BIG);
	}
}

static int tok(const char *s, char *t, size_t cap, unsigned *e)
{
	return reg_token_parse((const uint8_t *)s, strlen(s), t, cap, e);
}

static void test_token(void)
{
	char t[128];
	unsigned e;

	CHECK_EQ(tok("{\"token\":\"abc.def\",\"expires_in\":300,\"issued_at\":\"2026-01-01T00:00:00Z\"}", t, sizeof t, &e), 0);
	CHECK(strcmp(t, "abc.def") == 0 && e == 300);
	CHECK_EQ(tok("{\"access_token\":\"xyz\"}", t, sizeof t, &e), 0);
	CHECK(strcmp(t, "xyz") == 0 && e == 60);
	CHECK_EQ(tok("{\"token\":\"t1\",\"access_token\":\"t2\",\"expires_in\":0}", t, sizeof t, &e), 0);
	CHECK(strcmp(t, "t1") == 0 && e == 60);
	CHECK_EQ(tok("{\"token\":\"t\",\"expires_in\":999999999}", t, sizeof t, &e), 0);
	CHECK_EQ(e, REG_TOKEN_MAX_TTL);
	CHECK_EQ(tok("{\"token\":\"\"}", t, sizeof t, &e), -EBADMSG);
	CHECK_EQ(tok("{\"token\":\"a b\"}", t, sizeof t, &e), -EBADMSG);
	CHECK_EQ(tok("{\"token\":\"a\\r\\nX-Evil: 1\"}", t, sizeof t, &e), -EBADMSG);
	CHECK_EQ(tok("{\"token\":\"a\",\"expires_in\":-5}", t, sizeof t, &e), -EBADMSG);
	CHECK_EQ(tok("{\"token\":\"a\",\"expires_in\":\"60\"}", t, sizeof t, &e), -EBADMSG);
	CHECK_EQ(tok("{\"token\":5}", t, sizeof t, &e), -EBADMSG);
	CHECK_EQ(tok("[\"token\"]", t, sizeof t, &e), -EBADMSG);
	CHECK_EQ(tok("{\"token\":\"abcdefgh\"}", t, 8, &e), -E2BIG);
	CHECK(t[0] == 0);
	CHECK_EQ(reg_token_parse((const uint8_t *)"{}", REG_MAX_TOKEN + 1, t, sizeof t, &e), -E2BIG);
}

int main(int argc, char **argv)
{
	if (argc > 1)
		return reg_test_main(argc, argv);
	test_digest();
	test_manifest();
	test_index();
	test_challenge();
	test_token();
	return tu_done("reg");
}

int reg_test_main(int argc, char **argv)
{
	(void)argv;
	fprintf(stderr, "unknown mode (%d args)\n", argc);
	return 2;
}
