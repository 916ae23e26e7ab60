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
 *       and every layer; prints the manifest digest (stdout; "manifest
 *       <digest> <media type>" on stderr). REG_TEST_PAUSE_MS pauses before
 *       each layer (token expiry tests).
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
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hcl.h"
#include "json.h"
#include "reg.h"
#include "tutil.h"
#include "util.h"

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

static int ref(const char *s, const char *dflt, const char *want)
{
	struct reg_ref r;
	char out[600], err[128];

	if (reg_ref_parse(s, dflt, &r, err, sizeof err) < 0)
		return want == NULL;
	return want && reg_ref_format(&r, out, sizeof out) == 0 && strcmp(out, want) == 0;
}

static void test_ref(void)
{
	struct reg_ref r;
	char err[128], small[8];

	CHECK(ref("busybox", NULL, "docker.io/library/busybox:latest"));
	CHECK(ref("busybox:1.36.1", NULL, "docker.io/library/busybox:1.36.1"));
	CHECK(ref("docker.io/busybox", NULL, "docker.io/library/busybox:latest"));
	CHECK(ref("index.docker.io/x/y", NULL, "index.docker.io/x/y:latest"));
	CHECK(ref("localhost/a", NULL, "localhost/a:latest"));
	CHECK(ref("localhost:5000/a/b:T_1.x-y", NULL, "localhost:5000/a/b:T_1.x-y"));
	CHECK(ref("127.0.0.1:5000/x@" D1, NULL, "127.0.0.1:5000/x@" D1));
	CHECK(ref("quay.io/a/b:t@" D2, NULL, "quay.io/a/b:t@" D2));
	CHECK(ref("a.b-c/d__e/f-g.h", NULL, "a.b-c/d__e/f-g.h:latest"));
	CHECK(ref("x/y", "127.0.0.1:5000", "127.0.0.1:5000/x/y:latest"));
	CHECK(ref("y", "127.0.0.1:5000", "127.0.0.1:5000/y:latest"));
	CHECK(ref("[::1]:5000/y", NULL, "[::1]:5000/y:latest"));
	CHECK(ref("Upper/x", NULL, NULL));
	CHECK(ref("a//b", NULL, NULL));
	CHECK(ref("a/b:", NULL, NULL));
	CHECK(ref("a/-b", NULL, NULL));
	CHECK(ref("a/b-", NULL, NULL));
	CHECK(ref("a/b___c", NULL, NULL));
	CHECK(ref("a:b:c", NULL, NULL));
	CHECK(ref("a:.b", NULL, NULL));
	CHECK(ref("a@sha256:12", NULL, NULL));
	CHECK(ref("", NULL, NULL));
	CHECK(ref("h:1/", NULL, NULL));
	CHECK(ref("h;x.y/a", NULL, NULL));
	CHECK_EQ(reg_ref_parse("a b", NULL, &r, err, sizeof err), -EINVAL);
	CHECK(strstr(err, "bad image reference") != NULL);
	{
		char t[REG_MAX_TAG + 10], s2[REG_MAX_TAG + 20];

		memset(t, 'a', sizeof t);
		t[REG_MAX_TAG] = 0;
		snprintf(s2, sizeof s2, "x:%s", t);
		CHECK(reg_ref_parse(s2, NULL, &r, err, sizeof err) == 0 && strlen(r.tag) == REG_MAX_TAG);
		t[REG_MAX_TAG] = 'a';
		t[REG_MAX_TAG + 1] = 0;
		snprintf(s2, sizeof s2, "x:%s", t);
		CHECK_EQ(reg_ref_parse(s2, NULL, &r, err, sizeof err), -EINVAL);
	}
	CHECK_EQ(reg_ref_parse("busybox", NULL, &r, err, sizeof err), 0);
	CHECK_EQ(reg_ref_format(&r, small, sizeof small), -ENOSPC);
	CHECK(reg_repo_valid("library/busybox") && !reg_repo_valid("library/") && !reg_repo_valid(""));
	CHECK(reg_tag_valid("v1.0") && !reg_tag_valid(".v1") && !reg_tag_valid("") && !reg_tag_valid("a/b"));
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

/* hcl_resp_header (added to src/hcl.c for this client) on a kept head. */
static void test_resp_header(void)
{
	char head[] = "HTTP/1.1 202 Accepted\r\nlocation:  /v2/a/blobs/uploads/u?_state=x \r\n"
		      "Location-Extra: no\r\nRange: 0-99\r\nRange: 0-1\r\n"
		      "WWW-Authenticate: Bearer realm=\"r\"\r\n\r\n";
	struct hcl_resp r = { .head = head, .head_len = sizeof head - 1 };
	char v[64], tiny[4];

	CHECK_EQ(hcl_resp_header(&r, "Location", v, sizeof v), 30);
	CHECK(strcmp(v, "/v2/a/blobs/uploads/u?_state=x") == 0);
	CHECK(hcl_resp_header(&r, "range", v, sizeof v) == 4 && strcmp(v, "0-99") == 0);
	CHECK(hcl_resp_header(&r, "www-authenticate", v, sizeof v) > 0 && strcmp(v, "Bearer realm=\"r\"") == 0);
	CHECK_EQ(hcl_resp_header(&r, "Docker-Content-Digest", v, sizeof v), -ENOENT);
	CHECK_EQ(hcl_resp_header(&r, "HTTP/1.1 202 Accepted", v, sizeof v), -ENOENT);
	CHECK_EQ(hcl_resp_header(&r, "Range", tiny, sizeof tiny), -E2BIG);
	r.head = NULL;
	CHECK_EQ(hcl_resp_header(&r, "Range", v, sizeof v), -ENOENT);
}

int main(int argc, char **argv)
{
	if (argc > 1)
		return reg_test_main(argc, argv);
	test_digest();
	test_ref();
	test_manifest();
	test_index();
	test_challenge();
	test_token();
	test_resp_header();
	return tu_done("reg");
}

/* ---- integration modes ---- */

static struct reg_client *client(const char *server, uint8_t **ca)
{
	struct reg_opts o = { .server = server, .user = getenv("REG_USER"),
			      .pass = getenv("REG_PASS"), .log_fd = 2 };
	struct reg_client *c = NULL;
	const char *v;
	size_t n = 0;
	uint64_t u;

	*ca = NULL;
	if ((v = getenv("REG_CA_FILE")) && util_read_file(v, 1u << 20, ca, &n) == 0) {
		o.ca_pem = *ca;
		o.ca_len = n;
	}
	if ((v = getenv("REG_BACKOFF_MS")) && util_parse_u64(v, strlen(v), 60000, &u) == 0)
		o.backoff_ms = (unsigned)u;
	if ((v = getenv("REG_RETRIES_N")) && util_parse_u64(v, strlen(v), 100, &u) == 0)
		o.retries = (unsigned)u;
	if ((v = getenv("REG_TIMEOUT_MS")) && util_parse_u64(v, strlen(v), 600000, &u) == 0)
		o.timeout_ms = (int)u;
	if (reg_open(&c, &o) < 0) {
		fprintf(stderr, "reg_open failed\n");
		exit(2);
	}
	return c;
}

/* An integration mode's failure: the line it_reg.sh greps, then out at
 * once (_exit: what the mode held is not a leak worth reporting). */
static int fail(struct reg_client *c, const char *what, int rc)
{
	fprintf(stderr, "%s: rc %d: %s\n", what, rc, reg_err(c));
	fflush(NULL);
	_exit(1);
}

static void pause_env(void)
{
	const char *v = getenv("REG_TEST_PAUSE_MS");
	uint64_t ms;

	if (v && util_parse_u64(v, strlen(v), 60000, &ms) == 0 && ms) {
		struct timespec t = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };

		nanosleep(&t, NULL);
	}
}

/* One blob into dir/blobs/<hex>; removed again when it fails. */
static int pull_blob(struct reg_client *c, const char *repo, const char *dir, const char *digest)
{
	char path[4096];
	int fd, rc;

	snprintf(path, sizeof path, "%s/blobs/%s", dir, digest + 7);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0)
		return -errno;
	rc = reg_get_blob(c, repo, digest, 0, fd);
	close(fd);
	if (rc < 0)
		unlink(path);
	return rc;
}

static int mode_pull(int argc, char **argv)
{
	struct reg_client *c;
	struct reg_manifest m = { 0 };
	uint8_t *ca, *body = NULL, *cfg = NULL;
	size_t len = 0, clen = 0;
	char digest[REG_DIGEST_LEN + 1], mt[REG_MAX_MEDIATYPE + 1], path[4096], err[256];
	int rc;

	if (argc != 8)
		return 2;
	c = client(argv[2], &ca);
	if ((rc = reg_get_manifest(c, argv[3], argv[4], argv[5], argv[6], &body, &len, digest, mt)) < 0)
		return fail(c, "pull", rc);
	snprintf(path, sizeof path, "%s/blobs", argv[7]);
	util_mkdirs(path, 0755);
	snprintf(path, sizeof path, "%s/manifest.json", argv[7]);
	util_write_atomic(path, body, len, 0644);
	if ((rc = reg_manifest_parse(body, len, &m, err, sizeof err)) < 0) {
		fprintf(stderr, "pull: manifest: %s\n", err);
		return 1;
	}
	if ((rc = reg_get_blob_mem(c, argv[3], m.config.digest, REG_MAX_CONFIG, &cfg, &clen)) < 0)
		return fail(c, "pull config", rc);
	snprintf(path, sizeof path, "%s/blobs/%s", argv[7], m.config.digest + 7);
	util_write_atomic(path, cfg, clen, 0644);
	for (size_t i = 0; i < m.nlayers; i++) {
		pause_env();
		if ((rc = pull_blob(c, argv[3], argv[7], m.layers[i].digest)) < 0)
			return fail(c, "pull layer", rc);
	}
	printf("%s\n", digest);
	fprintf(stderr, "manifest %s %s\n", digest, mt);
	reg_manifest_free(&m);
	free(cfg);
	free(body);
	free(ca);
	reg_close(c);
	return 0;
}

static int push_file(struct reg_client *c, const char *repo, const char *path, const char *digest)
{
	struct stat st;
	int fd = open(path, O_RDONLY), rc, skipped = 0;

	if (fd < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "cannot open %s\n", path);
		return -ENOENT;
	}
	rc = reg_push_blob(c, repo, fd, (uint64_t)st.st_size, digest, &skipped);
	close(fd);
	if (rc == 0)
		fprintf(stderr, "blob %s %s\n", digest, skipped ? "already there" : "pushed");
	return rc;
}

/* The manifest digest index.json's first entry names. */
static int layout_manifest(const char *dir, char digest[static REG_DIGEST_LEN + 1])
{
	char path[4096];
	uint8_t *p = NULL;
	size_t n = 0;
	json *j = NULL;
	const char *d;
	int rc;

	snprintf(path, sizeof path, "%s/index.json", dir);
	if ((rc = util_read_file(path, 1u << 20, &p, &n)) < 0)
		return rc;
	rc = json_parse((const char *)p, n, &j, NULL);
	d = rc == 0 ? json_get_str(json_child(json_get(j, "manifests")), "digest") : NULL;
	rc = d && reg_digest_valid(d) ? 0 : -EBADMSG;
	if (rc == 0)
		memcpy(digest, d, REG_DIGEST_LEN + 1);
	json_free(j);
	free(p);
	return rc;
}

static int mode_push(int argc, char **argv)
{
	struct reg_client *c;
	struct reg_manifest m = { 0 };
	uint8_t *ca, *body = NULL;
	size_t len = 0;
	char md[REG_DIGEST_LEN + 1], out[REG_DIGEST_LEN + 1], path[4096], err[256];
	int rc;

	if (argc != 6)
		return 2;
	if (layout_manifest(argv[5], md) < 0) {
		fprintf(stderr, "push: no manifest in %s/index.json\n", argv[5]);
		return 1;
	}
	snprintf(path, sizeof path, "%s/blobs/sha256/%s", argv[5], md + 7);
	if (util_read_file(path, REG_MAX_MANIFEST, &body, &len) < 0 ||
	    reg_manifest_parse(body, len, &m, err, sizeof err) < 0) {
		fprintf(stderr, "push: bad manifest %s\n", path);
		return 1;
	}
	c = client(argv[2], &ca);
	snprintf(path, sizeof path, "%s/blobs/sha256/%s", argv[5], m.config.digest + 7);
	if ((rc = push_file(c, argv[3], path, m.config.digest)) < 0)
		return fail(c, "push config", rc);
	for (size_t i = 0; i < m.nlayers; i++) {
		snprintf(path, sizeof path, "%s/blobs/sha256/%s", argv[5], m.layers[i].digest + 7);
		if ((rc = push_file(c, argv[3], path, m.layers[i].digest)) < 0)
			return fail(c, "push layer", rc);
	}
	if ((rc = reg_put_manifest(c, argv[3], argv[4], m.media_type, body, len, out)) < 0)
		return fail(c, "push manifest", rc);
	printf("%s\n", out);
	reg_manifest_free(&m);
	free(body);
	free(ca);
	reg_close(c);
	return 0;
}

static int mode_misc(int argc, char **argv)
{
	struct reg_client *c;
	uint8_t *ca, *p = NULL;
	size_t n = 0;
	char d[REG_DIGEST_LEN + 1], mt[REG_MAX_MEDIATYPE + 1];
	const char *m = argv[1];
	int rc = -EINVAL;

	c = client(argv[2], &ca);
	if (strcmp(m, "getmanifest") == 0 && (argc == 5 || argc == 7)) {
		rc = reg_get_manifest(c, argv[3], argv[4], argc == 7 ? argv[5] : NULL,
				      argc == 7 ? argv[6] : NULL, &p, &n, d, mt);
		if (rc == 0)
			printf("%s %s %zu\n", d, mt, n);
	} else if (strcmp(m, "putmanifest") == 0 && argc == 7) {
		if (util_read_file(argv[6], REG_MAX_MANIFEST + 1, &p, &n) == 0)
			rc = reg_put_manifest(c, argv[3], argv[4], argv[5], p, n, d);
		if (rc == 0)
			printf("%s\n", d);
	} else if (strcmp(m, "getblob") == 0 && argc == 6) {
		int fd = open(argv[5], O_WRONLY | O_CREAT | O_TRUNC, 0644);

		rc = fd < 0 ? -errno : reg_get_blob(c, argv[3], argv[4], 0, fd);
		if (fd >= 0)
			close(fd);
		if (rc < 0)
			unlink(argv[5]);
	} else if (strcmp(m, "pushblob") == 0 && argc == 5) {
		if (util_read_file(argv[4], 1u << 30, &p, &n) == 0)
			rc = reg_push_blob_mem(c, argv[3], p, n, d);
		if (rc == 0)
			printf("%s\n", d);
	} else if (strcmp(m, "pushfile") == 0 && argc == 6) {
		rc = push_file(c, argv[3], argv[4], argv[5]);
	} else if (strcmp(m, "exists") == 0 && argc == 5) {
		rc = reg_blob_exists(c, argv[3], argv[4]);
		if (rc >= 0)
			printf("%d\n", rc);
	} else {
		fprintf(stderr, "usage: see tests/test_reg.c\n");
		return 2;
	}
	if (rc < 0)
		fail(c, m, rc);
	free(p);
	free(ca);
	reg_close(c);
	return 0;
}

int reg_test_main(int argc, char **argv)
{
	if (strcmp(argv[1], "pull") == 0)
		return mode_pull(argc, argv);
	if (strcmp(argv[1], "push") == 0)
		return mode_push(argc, argv);
	if (argc < 3)
		return 2;
	return mode_misc(argc, argv);
}
