/* SPDX-License-Identifier: MIT */
/*
 * Tests of src/sigstore.c and src/prov.c without a network: the payload's
 * exact bytes (golden, written by hand from SIGSTORE.md), the payload check
 * refusing extra and missing fields, a wrong type, digest or repository;
 * sig_tag; the attachment manifest builder (new, append, already present,
 * full) and its strict parser; DSSE PAE against the known answer of the
 * DSSE specification; an envelope signed with a fresh P-256 key opened
 * again, and refused after tampering, with another key or another type;
 * the provenance statement (byte-stable, credentials dropped, checked back).
 *
 * Mode for tests/it_sign.sh (a real registry):
 *   [SIG_TS=unix-seconds] test_sigstore sign SERVER REPO TAG KEY.pem [GIT_URL COMMIT]
 * resolves TAG to its manifest digest, pushes the cosign signature (payload
 * timestamp SIG_TS, default 1700000000) and the provenance attestation,
 * both signed by KEY.pem (ECDSA P-256), and prints the digest. Registry
 * credentials and CA from SBS_REG_USER, SBS_REG_PASS, SBS_REG_CA.
 */
#include "sigstore.h"
#include "cry.h"
#include "limits.h"
#include "tutil.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define D1 "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define D2 "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static int key_sign(void *ctx, const uint8_t hash[static 32], uint8_t *sig, size_t cap,
		    size_t *siglen)
{
	return cry_sign_sha256(ctx, hash, sig, cap, siglen, util_rng, NULL);
}

static int check(const char *s, const char *dig, const char *repo)
{
	char err[256] = "";
	int rc = sig_payload_check((const uint8_t *)s, strlen(s), dig, repo, err, sizeof err);

	if (rc < 0 && getenv("V"))
		fprintf(stderr, "  refused: %s\n", err);
	return rc;
}

static void test_payload(void)
{
	static const char golden[] =
		"{\"critical\":{\"identity\":{\"docker-reference\":\"127.0.0.1:5000/ns/app:v1\"},"
		"\"image\":{\"docker-manifest-digest\":\"" D1 "\"},"
		"\"type\":\"cosign container image signature\"},"
		"\"optional\":{\"creator\":\"sbs " SBS_VERSION "\",\"timestamp\":1700000000}}";
	struct buf b = { 0 };
	char tag[128];

	CHECK(sig_payload("127.0.0.1:5000/ns/app:v1", D1, 1700000000, &b) == 0);
	CHECK(b.len == strlen(golden) && memcmp(b.data, golden, b.len) == 0);
	CHECK(check((const char *)b.data, D1, "127.0.0.1:5000/ns/app") == 0);
	CHECK(check((const char *)b.data, D1, NULL) == 0);
	CHECK(check((const char *)b.data, D2, "127.0.0.1:5000/ns/app") == -EBADMSG);
	CHECK(check((const char *)b.data, D1, "127.0.0.1:5000/ns/other") == -EBADMSG);
	CHECK(check((const char *)b.data, D1, "127.0.0.1:5000/ns") == -EBADMSG);
	CHECK(check((const char *)b.data, D1, "127.0.0.1:5000/ns/ap") == -EBADMSG);
	CHECK(check((const char *)b.data, D1, "127.0.0.1:5001/ns/app") == -EBADMSG);
	buf_free(&b);
	CHECK(sig_payload("r/x", "sha256:abc", 1, &b) == -EINVAL);
	CHECK(sig_payload("", D1, 1, &b) == -EINVAL);
	buf_free(&b);

	/* cosign's own form: optional null; a digest reference */
	CHECK(check("{\"critical\":{\"identity\":{\"docker-reference\":\"h:1/r@" D1 "\"},\"image\":"
		    "{\"docker-manifest-digest\":\"" D1 "\"},\"type\":\"cosign container image "
		    "signature\"},\"optional\":null}", D1, "h:1/r") == 0);
	/* optional with annotations of its own (cosign -a) */
	CHECK(check("{\"critical\":{\"identity\":{\"docker-reference\":\"h/r\"},\"image\":"
		    "{\"docker-manifest-digest\":\"" D1 "\"},\"type\":\"cosign container image "
		    "signature\"},\"optional\":{\"a\":\"b\"}}", D1, "h/r") == 0);
#define P(crit, opt) "{\"critical\":" crit ",\"optional\":" opt "}"
#define C(id, img, type) "{\"identity\":" id ",\"image\":" img ",\"type\":" type "}"
#define ID "{\"docker-reference\":\"h/r:t\"}"
#define IMG "{\"docker-manifest-digest\":\"" D1 "\"}"
#define TY "\"cosign container image signature\""
	CHECK(check(P(C(ID, IMG, TY), "null"), D1, "h/r") == 0);
	/* Docker Hub's two names are one registry, nothing else is */
	CHECK(check(P(C("{\"docker-reference\":\"index.docker.io/library/busybox:1\"}", IMG, TY), "null"),
		    D1, "docker.io/library/busybox") == 0);
	CHECK(check(P(C("{\"docker-reference\":\"docker.io/library/busybox\"}", IMG, TY), "null"),
		    D1, "index.docker.io/library/busybox") == 0);
	CHECK(check(P(C("{\"docker-reference\":\"index.docker.io/library/busybox\"}", IMG, TY), "null"),
		    D1, "docker.io/library/busybo") < 0);
	CHECK(check(P(C("{\"docker-reference\":\"evil.docker.io/library/busybox\"}", IMG, TY), "null"),
		    D1, "docker.io/library/busybox") < 0);
	CHECK(check(P(C(ID, IMG, "\"cosign container image signature \""), "null"), D1, NULL) < 0);
	CHECK(check(P(C(ID, IMG, "1"), "null"), D1, NULL) < 0);
	CHECK(check(P(C(ID, "{\"docker-manifest-digest\":\"" D1 "\",\"x\":1}", TY), "null"), D1, NULL) < 0);
	CHECK(check(P(C("{\"docker-reference\":\"h/r\",\"x\":\"y\"}", IMG, TY), "null"), D1, NULL) < 0);
	CHECK(check(P(C("{}", IMG, TY), "null"), D1, NULL) < 0);
	CHECK(check(P(C("{\"docker-reference\":5}", IMG, TY), "null"), D1, NULL) < 0);
	CHECK(check(P(C(ID, "{\"docker-manifest-digest\":\"sha256:AAAA\"}", TY), "null"), NULL, NULL) < 0);
	CHECK(check(P("{\"identity\":" ID ",\"image\":" IMG "}", "null"), D1, NULL) < 0);
	CHECK(check(P("{\"identity\":" ID ",\"image\":" IMG ",\"type\":" TY ",\"extra\":1}", "null"),
		    D1, NULL) < 0);
	CHECK(check("{\"critical\":" C(ID, IMG, TY) "}", D1, NULL) < 0);
	CHECK(check("{\"critical\":" C(ID, IMG, TY) ",\"optional\":null,\"x\":1}", D1, NULL) < 0);
	CHECK(check(P(C(ID, IMG, TY), "{\"timestamp\":\"1\"}"), D1, NULL) < 0);
	CHECK(check(P(C(ID, IMG, TY), "{\"timestamp\":1.5}"), D1, NULL) < 0);
	CHECK(check(P(C(ID, IMG, TY), "{\"creator\":7}"), D1, NULL) < 0);
	CHECK(check(P(C(ID, IMG, TY), "[]"), D1, NULL) < 0);
	CHECK(check("[]", D1, NULL) < 0);
	CHECK(check("{\"critical\":", D1, NULL) < 0);
	CHECK(check(P(C(ID, IMG, TY), "null") " ", D1, NULL) == 0);
	CHECK(check("{\"critical\":" C(ID, IMG, TY) ",\"critical\":" C(ID, IMG, TY) ",\"optional\":null}",
		    D1, NULL) < 0);

	CHECK(sig_tag(D1, ".sig", tag, sizeof tag) == 0);
	CHECK(strcmp(tag, "sha256-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.sig") == 0);
	CHECK(sig_tag(D1, ".att", tag, 10) == -ENOSPC);
	CHECK(sig_tag("sha256:zz", ".sig", tag, sizeof tag) == -EINVAL);
}

static void test_att(void)
{
	struct sig_new_layer l = { SIG_MT_SIMPLESIGNING, D1, 300, "MEUCIQ==", NULL };
	struct buf cfg = { 0 }, man = { 0 }, cfg2 = { 0 }, man2 = { 0 };
	struct sig_layer *ls = calloc(SIG_MAX_LAYERS, sizeof *ls);
	size_t n = 0;
	char err[256];

	CHECK(sig_att_build(NULL, 0, &l, &cfg, &man, err, sizeof err) == 0);
	CHECK(strstr((char *)cfg.data, "\"diff_ids\":[\"" D1 "\"]") != NULL);
	CHECK(strncmp((char *)cfg.data, "{\"architecture\":\"\",\"created\":\"0001-01-01T00:00:00Z\","
		      "\"history\":[{\"created\":\"0001-01-01T00:00:00Z\"}],\"os\":\"\",\"rootfs\":"
		      "{\"type\":\"layers\",", 120) == 0);
	CHECK(sig_att_parse(man.data, man.len, ls, &n, err, sizeof err) == 0);
	CHECK(n == 1 && strcmp(ls[0].digest, D1) == 0 && ls[0].size == 300 &&
	      strcmp(ls[0].sig, "MEUCIQ==") == 0 && strcmp(ls[0].media_type, SIG_MT_SIMPLESIGNING) == 0);
	CHECK(strncmp((char *)man.data, "{\"schemaVersion\":2,\"mediaType\":\"" REG_MT_OCI_MANIFEST
		      "\",\"config\":{\"mediaType\":\"" REG_MT_OCI_CONFIG "\",\"size\":", 120) == 0);
	/* the same layer again: nothing to push */
	CHECK(sig_att_build(man.data, man.len, &l, &cfg2, &man2, err, sizeof err) == 1);
	/* another one: appended after the first, which is kept as it was */
	l.digest = D2;
	l.predicate = "https://slsa.dev/provenance/v1";
	CHECK(sig_att_build(man.data, man.len, &l, &cfg2, &man2, err, sizeof err) == 0);
	CHECK(sig_att_parse(man2.data, man2.len, ls, &n, err, sizeof err) == 0);
	CHECK(n == 2 && strcmp(ls[0].digest, D1) == 0 && strcmp(ls[1].digest, D2) == 0);
	CHECK(strstr((char *)cfg2.data, "\"diff_ids\":[\"" D1 "\",\"" D2 "\"]") != NULL);
	CHECK(strstr((char *)man2.data, "\"predicateType\":\"https://slsa.dev/provenance/v1\"") != NULL);
	buf_free(&cfg);
	buf_free(&man);

	/* refused manifests */
#define M(layers) "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"size\":1,\"digest\":\"" D1 \
		  "\"},\"layers\":" layers "}"
#define L(extra) "{\"mediaType\":\"m\",\"size\":3,\"digest\":\"" D1 "\"" extra "}"
	const char *bad[] = {
		M("{}"), M("[" L(",\"evil\":1") "]"), M("[" L(",\"annotations\":{\"a\":1}") "]"),
		M("[" L(",\"annotations\":[]") "]"), M("[{\"mediaType\":\"m\",\"size\":-1,\"digest\":\"" D1 "\"}]"),
		M("[{\"mediaType\":\"m\",\"size\":1,\"digest\":\"sha256:ab\"}]"),
		M("[{\"size\":1,\"digest\":\"" D1 "\"}]"), M("[" L("") "],\"x\":1"),
		"{\"schemaVersion\":1,\"config\":{},\"layers\":[]}", "[]", "{",
		"{\"schemaVersion\":2,\"mediaType\":\"" REG_MT_OCI_INDEX "\",\"layers\":[]}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK(sig_att_parse((const uint8_t *)bad[i], strlen(bad[i]), ls, &n, err, sizeof err) ==
		      -EBADMSG);
	const char *good = M("[" L(",\"annotations\":{\"dev.cosignproject.cosign/signature\":\"\","
				   "\"dev.sigstore.cosign/bundle\":\"{}\"}") "]");
	CHECK(sig_att_parse((const uint8_t *)good, strlen(good), ls, &n, err, sizeof err) == 0 && n == 1);

	/* a full manifest: SIG_MAX_LAYERS layers parse; one more is refused */
	struct buf big = { 0 };
	buf_printf(&big, "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"size\":1,\"digest\":\""
		   D1 "\"},\"layers\":[");
	for (int i = 0; i < SIG_MAX_LAYERS; i++)
		buf_printf(&big, "%s{\"mediaType\":\"m\",\"size\":3,\"digest\":\"sha256:%064x\"}",
			   i ? "," : "", i);
	buf_printf(&big, "]}");
	CHECK(sig_att_parse(big.data, big.len, ls, &n, err, sizeof err) == 0 && n == SIG_MAX_LAYERS);
	l.digest = D1;
	CHECK(sig_att_build(big.data, big.len, &l, &cfg, &man, err, sizeof err) == -E2BIG);
	big.len -= 2;
	buf_printf(&big, ",{\"mediaType\":\"m\",\"size\":3,\"digest\":\"" D1 "\"}]}");
	CHECK(sig_att_parse(big.data, big.len, ls, &n, err, sizeof err) == -EBADMSG);
	buf_free(&big);
	buf_free(&cfg);
	buf_free(&man);
	buf_free(&cfg2);
	buf_free(&man2);
	free(ls);
}

static void test_pae(void)
{
	/* the example of the DSSE protocol specification (secure-systems-lab/dsse, protocol.md) */
	static const char want[] = "DSSEv1 29 http://example.com/HelloWorld 11 hello world";
	struct buf b = { 0 };

	CHECK(prov_pae("http://example.com/HelloWorld", (const uint8_t *)"hello world", 11, &b) == 0);
	CHECK(b.len == strlen(want) && memcmp(b.data, want, b.len) == 0);
	buf_free(&b);
	CHECK(prov_pae("t", (const uint8_t *)"", 0, &b) == 0);
	CHECK(b.len == 13 && memcmp(b.data, "DSSEv1 1 t 0 ", 13) == 0);
	buf_free(&b);
}

static const char *const arg_names[] = { "VERSION", "EMPTY" };
static const char *const arg_values[] = { "1.2", "" };
static const struct prov_material bases[] = {
	{ "pkg:docker/library/busybox@1.36", "sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc" },
};

static void info_init(struct prov_info *i)
{
	memset(i, 0, sizeof *i);
	i->image_name = "127.0.0.1:5000/ns/app";
	i->image_digest = D1;
	i->git_url = "https://user:tok3n@git.example/org/app.git";
	i->git_commit = "0123456789abcdef0123456789abcdef01234567";
	i->git_branch = "main";
	i->dockerfile_path = "Dockerfile";
	i->dockerfile_digest = D2;
	i->context_path = ".";
	i->arg_names = arg_names;
	i->arg_values = arg_values;
	i->nargs = 2;
	i->bases = bases;
	i->nbases = 1;
	i->builder_id = "https://sbs.local/sbsd@v0.1";
	i->builder_version = "0.1.0";
	i->invocation_id = "build-1";
	i->started = 1700000000;
	i->finished = 1700000061;
	i->ssh_host_key = "SHA256:abc";
}

static void test_statement(void)
{
	struct prov_info i;
	struct prov_summary s;
	struct buf a = { 0 }, b = { 0 };
	char err[256];

	info_init(&i);
	CHECK(prov_statement(&i, &a) == 0);
	CHECK(prov_statement(&i, &b) == 0);
	CHECK(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
	CHECK(strncmp((char *)a.data, "{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":[{\"name\":"
		      "\"127.0.0.1:5000/ns/app\",\"digest\":{\"sha256\":\"aaaa", 100) == 0);
	CHECK(strstr((char *)a.data, "tok3n") == NULL && strstr((char *)a.data, "user") == NULL);
	CHECK(strstr((char *)a.data, "\"uri\":\"git+https://git.example/org/app.git@refs/heads/main\","
		     "\"digest\":{\"gitCommit\":\"0123456789abcdef0123456789abcdef01234567\"}") != NULL);
	CHECK(strstr((char *)a.data, "\"startedOn\":\"2023-11-14T22:13:20Z\",\"finishedOn\":"
		     "\"2023-11-14T22:14:21Z\"") != NULL);
	CHECK(strstr((char *)a.data, "\"buildArgs\":{\"VERSION\":\"1.2\",\"EMPTY\":\"\"}") != NULL);
	CHECK(prov_statement_check(a.data, a.len, D1, &s, err, sizeof err) == 0);
	CHECK(strcmp(s.subject, "127.0.0.1:5000/ns/app") == 0);
	CHECK(strcmp(s.git_url, "https://git.example/org/app.git") == 0);
	CHECK(strcmp(s.git_commit, i.git_commit) == 0);
	CHECK(strcmp(s.git_ref, "refs/heads/main") == 0);
	CHECK(strcmp(s.builder_id, i.builder_id) == 0);
	CHECK(prov_statement_check(a.data, a.len, D2, &s, err, sizeof err) == -EBADMSG);
	buf_free(&b);
	/* ssh URLs keep their user; bad inputs are refused */
	i.git_url = "ssh://git@git.example:2222/org/app.git";
	CHECK(prov_statement(&i, &b) == 0 && strstr((char *)b.data, "ssh://git@git.example:2222/") != NULL);
	buf_free(&b);
	i.git_commit = "0123";
	CHECK(prov_statement(&i, &b) == -EINVAL);
	info_init(&i);
	i.image_digest = "sha1:0123456789abcdef0123456789abcdef01234567";
	CHECK(prov_statement(&i, &b) == -EINVAL);
	info_init(&i);
	i.dockerfile_digest = "md5:00";
	CHECK(prov_statement(&i, &b) == -EINVAL);
	buf_free(&b);
	/* submodules: after the superproject, URL without credentials, commit, path */
	struct prov_submodule sm[2] = {
		{ "https://git.example/org/lib.git", "lib", "89abcdef0123456789abcdef0123456789abcdef" },
		{ "https://u:s3cr3t@other.example/x.git", "lib/deps/x",
		  "fedcba9876543210fedcba9876543210fedcba98" },
	};
	info_init(&i);
	i.subs = sm;
	i.nsubs = 2;
	CHECK(prov_statement(&i, &b) == 0);
	CHECK(b.data && strstr((char *)b.data, "{\"uri\":\"git+https://git.example/org/lib.git\",\"digest\":"
		     "{\"gitCommit\":\"89abcdef0123456789abcdef0123456789abcdef\"},\"name\":\"lib\"}") != NULL);
	CHECK(b.data && strstr((char *)b.data, "\"git+https://other.example/x.git\"") != NULL &&
	      strstr((char *)b.data, "s3cr3t") == NULL);
	CHECK(b.data && strstr((char *)b.data, "gitCommit\":\"0123456789abcdef0123456789abcdef01234567") <
	      strstr((char *)b.data, "git+https://git.example/org/lib.git"));
	CHECK(prov_statement_check(b.data, b.len, D1, &s, err, sizeof err) == 0 &&
	      strcmp(s.git_commit, i.git_commit) == 0);
	buf_free(&b);
	sm[1].commit = "xyz";
	CHECK(prov_statement(&i, &b) == -EINVAL);
	buf_free(&b);
	/* statements of the wrong shape */
	const char *bad[] = {
		"{}", "[]",
		"{\"_type\":\"https://in-toto.io/Statement/v0.1\",\"subject\":[{\"name\":\"x\",\"digest\":{\"sha256\":\"aa\"}}],\"predicateType\":\"https://slsa.dev/provenance/v1\",\"predicate\":{}}",
		"{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":[],\"predicateType\":\"https://slsa.dev/provenance/v1\",\"predicate\":{\"buildDefinition\":{\"buildType\":\"b\"},\"runDetails\":{\"builder\":{\"id\":\"i\"}}}}",
	};
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++)
		CHECK(prov_statement_check((const uint8_t *)bad[k], strlen(bad[k]), NULL, &s, err,
					   sizeof err) == -EBADMSG);
	buf_free(&a);
}

/* Swaps one base64 character for another (calling it twice restores it). */
static void flip_b64(char *p)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *q = strchr(a, *p);

	if (q && *p)
		*p = a[(size_t)(q - a) ^ 1];
}

static void test_envelope(void)
{
	struct cry_key *k = NULL, *k2 = NULL;
	char pub[512], pub2[512];
	struct prov_info i;
	struct buf st = { 0 }, env = { 0 };
	uint8_t *out = NULL;
	size_t n = 0, pl = 0, pl2 = 0;
	char err[256], *p;

	CHECK(cry_key_gen(&k, CRY_KEY_EC_P256, util_rng, NULL) == 0);
	CHECK(cry_key_gen(&k2, CRY_KEY_EC_P256, util_rng, NULL) == 0);
	CHECK(cry_key_pub_pem(k, pub, sizeof pub, &pl) == 0);
	CHECK(cry_key_pub_pem(k2, pub2, sizeof pub2, &pl2) == 0);
	info_init(&i);
	CHECK(prov_statement(&i, &st) == 0);
	CHECK(prov_envelope(st.data, st.len, key_sign, k, &env) == 0);
	CHECK(strncmp((char *)env.data, "{\"payloadType\":\"application/vnd.in-toto+json\",\"payload\":\"", 55) == 0);
	CHECK(strstr((char *)env.data, "\"signatures\":[{\"keyid\":\"\",\"sig\":\"") != NULL);
	CHECK(prov_envelope_open(env.data, env.len, (uint8_t *)pub, pl, &out, &n, err, sizeof err) == 0);
	CHECK(n == st.len && out && memcmp(out, st.data, n) == 0);
	free(out);
	/* another key */
	CHECK(prov_envelope_open(env.data, env.len, (uint8_t *)pub2, pl2, &out, &n, err, sizeof err) == -EBADMSG);
	CHECK(out == NULL && n == 0);
	/* a tampered payload, then a tampered signature */
	p = strstr((char *)env.data, "\"payload\":\"") + 20;
	flip_b64(p);
	CHECK(prov_envelope_open(env.data, env.len, (uint8_t *)pub, pl, &out, &n, err, sizeof err) == -EBADMSG);
	flip_b64(p);
	p = strstr((char *)env.data, "\"sig\":\"") + 15;
	flip_b64(p);
	CHECK(prov_envelope_open(env.data, env.len, (uint8_t *)pub, pl, &out, &n, err, sizeof err) == -EBADMSG);
	flip_b64(p);
	CHECK(prov_envelope_open(env.data, env.len, (uint8_t *)pub, pl, &out, &n, err, sizeof err) == 0);
	free(out);
	/* a different payloadType (the PAE binds it) and shapes */
	p = strstr((char *)env.data, "in-toto+json");
	memcpy(p, "in-totX", 7);
	CHECK(prov_envelope_open(env.data, env.len, (uint8_t *)pub, pl, &out, &n, err, sizeof err) == -EBADMSG);
	const char *bad[] = {
		"{\"payloadType\":\"application/vnd.in-toto+json\",\"payload\":\"e30=\",\"signatures\":[]}",
		"{\"payloadType\":\"application/vnd.in-toto+json\",\"payload\":\"e30=\",\"signatures\":[{\"sig\":\"!!\"}]}",
		"{\"payloadType\":\"application/vnd.in-toto+json\",\"payload\":\"e30\",\"signatures\":[{\"sig\":\"MEUC\"}]}",
		"{\"payloadType\":\"application/vnd.in-toto+json\",\"payload\":\"e30=\",\"signatures\":[{\"sig\":\"MEUC\",\"x\":\"\"}]}",
		"{\"payloadType\":\"application/vnd.in-toto+json\",\"payload\":\"e30=\",\"signatures\":[{\"sig\":\"MEUC\"}],\"x\":1}",
		"{\"payloadType\":\"application/vnd.in-toto+json\",\"payload\":\"e30=\"}",
		"{\"payloadType\":\"application/vnd.in-toto+json\",\"payload\":\"e30=\",\"signatures\":[{\"keyid\":1,\"sig\":\"MEUC\"}]}",
	};
	for (size_t j = 0; j < sizeof bad / sizeof bad[0]; j++)
		CHECK(prov_envelope_open((const uint8_t *)bad[j], strlen(bad[j]), (uint8_t *)pub, pl, &out,
					 &n, err, sizeof err) == -EBADMSG);
	buf_free(&st);
	buf_free(&env);
	cry_key_free(k);
	cry_key_free(k2);
}

/* ---- mode for it_sign.sh ---- */

static int mode_sign(int argc, char **argv)
{
	const char *server = argv[2], *repo = argv[3], *tag = argv[4], *host;
	char d[REG_DIGEST_LEN + 1], mt[REG_MAX_MEDIATYPE + 1], ref[600], name[600], err[512] = "";
	struct reg_opts o = { .server = server, .log_fd = -1 };
	struct reg_client *c = NULL;
	struct cry_key *k = NULL;
	struct buf st = { 0 }, env = { 0 };
	struct prov_info i;
	uint8_t *body = NULL, *pem = NULL, *ca = NULL;
	size_t len = 0;
	const char *tse = getenv("SIG_TS");
	uint64_t ts = 1700000000;
	int rc;

	if (tse && util_parse_u64(tse, strlen(tse), INT32_MAX, &ts) < 0)
		return fprintf(stderr, "sign: bad SIG_TS\n"), 1;
	host = strstr(server, "://") ? strstr(server, "://") + 3 : server;
	snprintf(ref, sizeof ref, "%s/%s:%s", host, repo, tag);
	snprintf(name, sizeof name, "%s/%s", host, repo);
	o.user = getenv("SBS_REG_USER");
	o.pass = getenv("SBS_REG_PASS");
	if (getenv("SBS_REG_CA") && util_read_file(getenv("SBS_REG_CA"), SIG_MAX_CA_FILE, &ca, &o.ca_len) == 0)
		o.ca_pem = ca;
	if ((rc = util_read_file(argv[5], KEY_MAX_PEM, &pem, &len)) < 0 ||
	    (rc = cry_key_parse(&k, pem, len)) < 0 || (rc = reg_open(&c, &o)) < 0) {
		fprintf(stderr, "sign: key or registry: %s\n", strerror(-rc));
		goto out;
	}
	if ((rc = reg_get_manifest(c, repo, tag, NULL, NULL, &body, &len, d, mt)) < 0) {
		fprintf(stderr, "sign: %s\n", reg_err(c));
		goto out;
	}
	rc = sig_push_signature(c, repo, ref, d, (int64_t)ts, key_sign, k, err, sizeof err);
	if (rc == 0) {
		info_init(&i);
		i.image_name = name;
		i.image_digest = d;
		if (argc > 7) {
			i.git_url = argv[6];
			i.git_commit = argv[7];
		}
		if ((rc = prov_statement(&i, &st)) == 0 &&
		    (rc = prov_envelope(st.data, st.len, key_sign, k, &env)) == 0)
			rc = prov_push(c, repo, d, env.data, env.len, err, sizeof err);
	}
	if (rc < 0)
		fprintf(stderr, "sign: %s (%s)\n", err, strerror(-rc));
	else
		printf("%s\n", d);
out:
	free(body);
	free(pem);
	free(ca);
	buf_free(&st);
	buf_free(&env);
	cry_key_free(k);
	if (c)
		reg_close(c);
	return rc < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc >= 6 && strcmp(argv[1], "sign") == 0)
		return mode_sign(argc, argv);
	if (argc > 1) {
		fprintf(stderr, "usage: test_sigstore [sign SERVER REPO TAG KEY.pem [GIT_URL COMMIT]]\n");
		return 2;
	}
	test_payload();
	test_att();
	test_pae();
	test_statement();
	test_envelope();
	return tu_done("test_sigstore");
}
