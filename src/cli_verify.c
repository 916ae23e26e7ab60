/* SPDX-License-Identifier: MIT */
/*
 * sbs verify: an offline-key check of what sbs pushed next to an image, from
 * the registry alone (no sbs server, no config file). It resolves IMAGE to
 * the digest of the exact manifest bytes the registry serves (or takes
 * IMAGE@digest), then verifies the cosign signature (sha256-<hex>.sig:
 * payload fields, digest and repository binding, ECDSA signature under
 * --key) and with --att the SLSA provenance (sha256-<hex>.att: DSSE
 * signature, subject digest), printing the git source it names.
 * Registry credentials come from SBS_REG_USER / SBS_REG_PASS (never argv,
 * never printed). Exit 0 only when everything asked for verified; 1 when a
 * signature or provenance is missing or invalid; 255 on usage or I/O errors.
 */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reg.h"
#include "sigstore.h"
#include "util.h"

#define VERIFY_INVALID 1
#define VERIFY_ERROR   255
/* The system trust store (Debian's ca-certificates) when --ca is not given. */
#define VERIFY_SYSTEM_CA "/etc/ssl/certs/ca-certificates.crt"

struct vopts {
	const char *image, *key, *ca;
	int att, plain_http, help;
};

static void verify_help(void)
{
	printf("usage: sbs verify IMAGE --key COSIGN_PUB [--att] [--ca FILE] [--plain-http]\n\n"
	       "Verifies the cosign signature that sbs pushed for IMAGE ([host[:port]/]repo[:tag]\n"
	       "or ...@sha256:<hex>): the tag sha256-<hex>.sig next to the image's manifest digest\n"
	       "must hold a simple-signing payload naming that digest and IMAGE's repository, signed\n"
	       "(ECDSA P-256) by the key in COSIGN_PUB (PEM public key, e.g. the file saved by\n"
	       "get-signed-image-publickey, base64-decoded if needed).\n\n"
	       "  --key FILE      the image signing public key (required)\n"
	       "  --att           also verify the SLSA provenance (sha256-<hex>.att, DSSE envelope\n"
	       "                  signed by the same key) and print the git source it names\n"
	       "  --ca FILE       trust anchors for an https registry (default: the system's,\n"
	       "                  " VERIFY_SYSTEM_CA ")\n"
	       "  --plain-http    talk plain HTTP to the registry (loopback test registries)\n\n"
	       "Registry credentials, if needed: environment SBS_REG_USER and SBS_REG_PASS.\n"
	       "Needs no --env config. Exit status: 0 verified, 1 missing or invalid signature or\n"
	       "provenance, 255 usage or network error.\n");
}

static int verify_args(int argc, char **argv, struct vopts *o)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char **val = strcmp(a, "--key") == 0 ? &o->key :
				   strcmp(a, "--ca") == 0 ? &o->ca : NULL;

		if (val) {
			if (i + 1 >= argc) {
				log_err("option %s needs a value", a);
				return -EINVAL;
			}
			*val = argv[++i];
		} else if (strncmp(a, "--key=", 6) == 0) {
			o->key = a + 6;
		} else if (strncmp(a, "--ca=", 5) == 0) {
			o->ca = a + 5;
		} else if (strcmp(a, "--att") == 0) {
			o->att = 1;
		} else if (strcmp(a, "--plain-http") == 0) {
			o->plain_http = 1;
		} else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			o->help = 1;
		} else if (a[0] == '-' && a[1]) {
			log_err("unknown option %s; run `sbs verify --help`", a);
			return -EINVAL;
		} else if (!o->image) {
			o->image = a;
		} else {
			log_err("unexpected argument '%s'; run `sbs verify --help`", a);
			return -EINVAL;
		}
	}
	if (!o->help && (!o->image || !o->key)) {
		log_err("usage: sbs verify IMAGE --key COSIGN_PUB [--att]; run `sbs verify --help`");
		return -EINVAL;
	}
	return 0;
}

/* The digest to check: IMAGE@digest as given, else the tag's manifest bytes. */
static int resolve(struct reg_client *c, const struct reg_ref *r, char d[static REG_DIGEST_LEN + 1])
{
	char mt[REG_MAX_MEDIATYPE + 1];
	uint8_t *body = NULL;
	size_t len = 0;
	int rc;

	if (r->digest[0]) {
		memcpy(d, r->digest, REG_DIGEST_LEN + 1);
		return 0;
	}
	rc = reg_get_manifest(c, r->repo, r->tag, NULL, NULL, &body, &len, d, mt);
	free(body);
	if (rc < 0)
		log_err("cannot fetch the manifest of %s:%s: %s", r->repo, r->tag, reg_err(c));
	return rc;
}

static int check_att(struct reg_client *c, const struct reg_ref *r, const char *d,
		     const uint8_t *pub, size_t publen)
{
	struct prov_summary s;
	uint8_t *st = NULL;
	size_t n = 0;
	char err[512] = "";
	int rc = prov_verify(c, r->repo, d, pub, publen, &st, &n, err, sizeof err);

	if (rc == 0)
		rc = prov_statement_check(st, n, d, &s, err, sizeof err);
	free(st);
	if (rc < 0) {
		printf("Provenance: INVALID: %s\n", err[0] ? err : strerror(-rc));
		return rc;
	}
	printf("Provenance: OK: SLSA v1 statement for %s, signed by the same key\n", s.subject);
	printf("  source:  %s%s%s\n", s.git_url[0] ? s.git_url : "(none)", s.git_ref[0] ? " " : "",
	       s.git_ref);
	printf("  commit:  %s\n", s.git_commit[0] ? s.git_commit : "(none)");
	printf("  builder: %s%s%s\n", s.builder_id, s.finished[0] ? ", finished " : "", s.finished);
	return 0;
}

static int verify_run(const struct vopts *o)
{
	char server[HCL_MAX_HOST + 16], err[512] = "", want[HCL_MAX_HOST + REG_MAX_REPO + 16];
	char d[REG_DIGEST_LEN + 1];
	struct reg_opts ro = { .log_fd = -1 };
	struct reg_client *c = NULL;
	struct reg_ref r;
	uint8_t *pub = NULL, *ca = NULL;
	size_t publen = 0, calen = 0;
	int rc, bad = 0;

	if ((rc = reg_ref_parse(o->image, NULL, &r, err, sizeof err)) < 0) {
		log_err("bad image reference %s: %s", o->image, err);
		return rc;
	}
	if ((rc = cli_read(o->key, KEY_MAX_PEM, "public key (--key)", &pub, &publen)) < 0 ||
	    (o->ca && (rc = cli_read(o->ca, SIG_MAX_CA_FILE, "CA file (--ca)", &ca, &calen)) < 0))
		goto out;
	if (!o->ca && !o->plain_http && util_read_file(VERIFY_SYSTEM_CA, SIG_MAX_CA_FILE, &ca, &calen) < 0)
		ca = NULL;          /* reg_open then says https needs a CA bundle */
	snprintf(server, sizeof server, "%s%s", o->plain_http ? "http://" : "", r.host);
	snprintf(want, sizeof want, "%s/%s", r.host, r.repo);
	ro.server = server;
	ro.user = getenv("SBS_REG_USER");
	ro.pass = getenv("SBS_REG_PASS");
	ro.ca_pem = ca;
	ro.ca_len = calen;
	ro.timeout_ms = CLI_TIMEOUT_MS;
	ro.retries = 1;
	if ((rc = reg_open(&c, &ro)) < 0) {
		log_err("cannot open the registry %s: %s", server, strerror(-rc));
		goto out;
	}
	if ((rc = resolve(c, &r, d)) < 0)
		goto out;
	printf("Image: %s@%s\n", want, d);
	rc = sig_verify_signature(c, r.repo, want, d, pub, publen, err, sizeof err);
	if (rc == 0) {
		printf("Signature: OK: cosign signature by the key in %s\n", o->key);
	} else if (rc == -EBADMSG || rc == -ENOENT || rc == -EINVAL) {
		printf("Signature: INVALID: %s\n", err[0] ? err : strerror(-rc));
		bad = 1;
	} else {
		log_err("verify: %s", err[0] ? err : strerror(-rc));
		goto out;
	}
	if (o->att && (rc = check_att(c, &r, d, pub, publen)) < 0) {
		if (rc != -EBADMSG && rc != -ENOENT && rc != -EINVAL)
			goto out;
		bad = 1;
	}
	rc = bad ? -EBADMSG : 0;
	printf("Verdict: %s\n", bad ? "NOT VERIFIED" : "VERIFIED");
out:
	if (c)
		reg_close(c);
	free(pub);
	free(ca);
	return rc;
}

int cli_verify_main(int argc, char **argv)
{
	struct vopts o = { 0 };
	int rc = verify_args(argc, argv, &o);

	if (rc < 0)
		return VERIFY_ERROR;
	if (o.help) {
		verify_help();
		return 0;
	}
	rc = verify_run(&o);
	fflush(stdout);
	return rc == 0 ? 0 : rc == -EBADMSG ? VERIFY_INVALID : VERIFY_ERROR;
}
