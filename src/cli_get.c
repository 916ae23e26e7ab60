/* SPDX-License-Identifier: MIT */
/*
 * sbs client, the download and upload commands (PROTOCOL §8, §12-§14):
 * get-digest, get-publickey, get-signed-image-publickey, get-manifest,
 * get-state-image, post-state-image, get-config-python (classic), and the CSR
 * flow's get-server-csr and post-server-cert. Files are written in the current
 * directory under names the server chose, so every such name is checked first
 * (cli_safe_name: no '/', no leading '.', no control characters). The state
 * upload carries SECRET; its body is wiped after sending.
 */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cry.h"
#include "mfst.h"
#include "util.h"

/* /config-json, /config-python and /imagedigest answer 201 on success. */
static int need_201(const char *api, const struct cli_resp *r)
{
	if (r->status == 201)
		return 0;
	cli_log_body(api, r);
	return -EPROTO;
}

/* A reply that lacks a key build.py needs: show it, fail. A refusal
 * ({"error": ...} with a 4xx/5xx) is shown as the server's reason. */
static int missing(const char *api, const struct cli_resp *r, const char *key)
{
	const char *e = r->status >= 400 && r->j ? json_get_str(r->j, "error") : NULL;
	char *t;

	if (e) {
		log_err("%s: the server answered HTTP %d: %s", api, r->status, e);
		return -EBADMSG;
	}
	t = r->j ? json_print_py(r->j, 4) : NULL;
	if (t)
		log_err("%s: no \"%s\" in the server's reply (HTTP %d): %s", api, key, r->status, t);
	else
		cli_log_body(api, r);
	free(t);
	return -EBADMSG;
}

static int unsafe(const char *what, const char *name)
{
	log_err("refusing the server's %s \"%.80s\": not a plain file name", what, name);
	return -EINVAL;
}

/* GET with "" or {"BUILD_NAME": ...} (--build-name / BUILD_NAME). */
static int get_build(struct cli *c, const char *path, struct cli_resp *r)
{
	const char *bn = cli_param_str(c, "build_name");
	json *b;
	int rc;

	if (!bn)
		return cli_request(c, "GET", path, NULL, 1, r);
	b = json_new_obj();
	rc = b ? json_set_str(b, "BUILD_NAME", bn) : -ENOMEM;
	if (rc == 0)
		rc = cli_request_json(c, "GET", path, b, 1, r);
	json_free(b);
	return rc;
}

int cli_cmd_get_digest(struct cli *c)
{
	struct cli_resp r;
	const json *v;
	int rc = cli_request(c, "GET", "/imagedigest", NULL, 1, &r);

	if (rc == 0)
		rc = need_201(c->cmd, &r);
	if (rc == 0) {
		v = r.j;
		if (json_is_arr(v) && json_count(v) == 1)
			v = json_child(v);
		if (json_str(v)) {
			printf("Digest value of the built image: %s\n", json_str(v));
		} else {
			cli_log_body(c->cmd, &r);
			log_err("get-digest: expected a JSON string or a one-element array");
			rc = -EBADMSG;
		}
	}
	cli_resp_free(&r);
	return rc;
}

int cli_cmd_get_publickey(struct cli *c)
{
	struct cli_resp r;
	char file[320];
	const char *pem, *bn;
	int rc = get_build(c, "/publickey", &r);

	if (rc < 0)
		return rc;
	pem = json_get_str(r.j, "public_key_pem");
	bn = json_get_str(r.j, "build_name");
	if (!bn)
		bn = cli_param_str(c, "build_name");
	if (!pem)
		rc = missing(c->cmd, &r, "public_key_pem");
	else if (!bn)
		rc = missing(c->cmd, &r, "build_name");
	else if (snprintf(file, sizeof file, "manifest.%s-public.pem", bn) >= (int)sizeof file ||
		 (*bn && !cli_safe_name(bn)))  /* "" before any build: build.py writes manifest.-public.pem */
		rc = unsafe("build_name", bn);
	if (rc == 0)
		rc = cli_write(file, pem, strlen(pem), 0644);
	if (rc == 0)
		printf("get-publickey: public key saved to %s\n", file);
	cli_resp_free(&r);
	return rc;
}

/* The key is base64-encoded for a registry other than docker.io (Red Hat
 * simple signing: an armored GPG key); DCT keys already are base64. */
static int save_image_key(const struct cli *c, const char *key, const char *repo)
{
	const char *push = cli_param_nonempty(c, "docker_push_server");
	const char *rt = cli_param_str(c, "runtime_type");
	char file[320], *b64 = NULL;
	int rc;

	if (snprintf(file, sizeof file, "%s-public.key", repo) >= (int)sizeof file)
		return unsafe("repository_name", repo);
	for (char *p = file; *p; p++)
		if (*p == '/')
			*p = '-';
	if (!cli_safe_name(file))
		return unsafe("repository_name", repo);
	if (push && strcmp(push, "docker.io") != 0 && !(rt && strcmp(rt, "classic") == 0)) {
		b64 = cli_b64((const uint8_t *)key, strlen(key));
		if (!b64)
			return -ENOMEM;
	}
	rc = cli_write(file, b64 ? b64 : key, strlen(b64 ? b64 : key), 0644);
	if (rc == 0)
		printf("Downloaded signed image public key to file %s\n", file);
	free(b64);
	return rc;
}

int cli_cmd_get_signed_image_publickey(struct cli *c)
{
	struct cli_resp r;
	const char *key, *repo;
	int rc = cli_request(c, "GET", "/config-json", NULL, 1, &r);

	if (rc == 0)
		rc = need_201(c->cmd, &r);
	if (rc == 0) {
		key = json_get_str(r.j, "public_key");
		repo = json_get_str(r.j, "repository_name");
		if (!key)
			rc = missing(c->cmd, &r, "public_key");
		else if (!repo)
			rc = missing(c->cmd, &r, "repository_name");
		else
			rc = save_image_key(c, key, repo);
	}
	cli_resp_free(&r);
	return rc;
}

/* ---- get-manifest --verify-manifest (PROTOCOL §12) ---- */

/* build.py's steps: the manifest key (get-publickey), the two members of
 * the .sig.tbz extracted into the current directory, with --verify-test the
 * .tbz repacked with git/fake (so it must fail), then the RSA check. Logs
 * "verify=OK", or "Invalid Signature" and "verify=intentionally failed" /
 * "verify=uintentionally failed" (build.py's spelling). An intentional
 * failure is success; an unexpected result of either kind fails. */
static int verify_manifest(struct cli *c, const char *name, const uint8_t *p, size_t n)
{
	char file[320], mname[MFST_MAX_NAME + 1], err[256] = "";
	uint8_t *pub = NULL, *tbz = NULL, *sig = NULL;
	size_t publen = 0, tlen = 0, slen = 0;
	struct buf tam = { .max = MFST_MAX_SIZE };
	int rc = cli_cmd_get_publickey(c);

	if (rc == 0 && (strncmp(name, "manifest.", 9) != 0 ||
			snprintf(file, sizeof file, "%s-public.pem", name) >= (int)sizeof file))
		rc = unsafe("manifest_name", name);
	if (rc == 0)
		rc = cli_read(file, KEY_MAX_PEM, "manifest public key", &pub, &publen);
	if (rc == 0 && (rc = mfst_split(p, n, mname, sizeof mname, &tbz, &tlen, &sig, &slen, err,
					sizeof err)) < 0)
		log_err("get-manifest: %s.sig.tbz is not a signed manifest: %s", name, err);
	if (rc == 0 && strcmp(mname, name) != 0)
		rc = unsafe("manifest member", mname);
	if (rc == 0 && c->verify_test && (rc = mfst_tamper(tbz, tlen, NULL, &tam, err, sizeof err)) < 0)
		log_err("get-manifest: --verify-test could not repack the manifest: %s", err);
	if (rc == 0 && c->verify_test) {
		free(tbz);
		tbz = tam.data;
		tlen = tam.len;
		tam.data = NULL;
	}
	if (rc == 0 && snprintf(file, sizeof file, "%s.tbz", name) < (int)sizeof file &&
	    (rc = cli_write(file, tbz, tlen, 0644)) == 0 &&
	    snprintf(file, sizeof file, "%s.sig", name) < (int)sizeof file)
		rc = cli_write(file, sig, slen, 0644);
	if (rc == 0) {
		rc = mfst_verify_tbz(tbz, tlen, sig, slen, pub, publen, err, sizeof err);
		if (rc == 0) {
			printf("verify=OK\n");
			if (c->verify_test) {
				log_err("get-manifest: --verify-test: the tampered manifest verified");
				rc = -EBADMSG;
			}
		} else {
			printf("Invalid Signature (%s)\nverify=%s\n", err,
			       c->verify_test ? "intentionally failed" : "uintentionally failed");
			rc = c->verify_test && rc == -EBADMSG ? 0 : rc;
		}
	}
	buf_free(&tam);
	free(pub);
	free(tbz);
	free(sig);
	return rc;
}

static int save_manifest(struct cli *c, const char *name, const char *b64)
{
	size_t n = strlen(b64), cap = n / 4 * 3 + 3, olen = 0;
	uint8_t *bin = malloc(cap);
	char file[320];
	int rc;

	if (!bin)
		return -ENOMEM;
	rc = cry_b64_decode(b64, n, bin, cap, &olen);
	if (rc < 0)
		log_err("get-manifest: encoded_manifest is not valid base64");
	if (rc == 0 && snprintf(file, sizeof file, "./%s.sig.tbz", name) >= (int)sizeof file)
		rc = unsafe("manifest_name", name);
	if (rc == 0)
		rc = cli_write(file, bin, olen, 0644);
	if (rc == 0)
		printf("get-manifest manifest_name: %s (saved to %s.sig.tbz)\n", name, name);
	if (rc == 0 && c->verify_manifest)
		rc = verify_manifest(c, name, bin, olen);
	free(bin);
	return rc;
}

int cli_cmd_get_manifest(struct cli *c)
{
	struct cli_resp r;
	const char *name, *enc;
	int rc;

	if (c->verify_test)     /* a self-test of the verification: implies it */
		c->verify_manifest = 1;
	rc = get_build(c, "/manifest", &r);
	if (rc < 0)
		return rc;
	name = json_get_str(r.j, "manifest_name");
	enc = json_get_str(r.j, "encoded_manifest");
	if (!name)
		rc = missing(c->cmd, &r, "manifest_name");
	else if (!enc)
		rc = missing(c->cmd, &r, "encoded_manifest");
	else if (!cli_safe_name(name))
		rc = unsafe("manifest_name", name);
	else
		rc = save_manifest(c, name, enc);
	cli_resp_free(&r);
	return rc;
}

/* ---- state image ---- */

int cli_cmd_get_state_image(struct cli *c)
{
	const json *bucket = cli_param(c, "state_bucket_name");
	json *b = json_new_obj();
	struct cli_resp r = { 0 };
	const char *name = NULL;
	char *txt = NULL;
	int rc = b ? 0 : -ENOMEM;

	if (rc == 0 && bucket)
		rc = json_set(b, "state_bucket_name", json_dup(bucket));
	if (rc == 0)
		rc = cli_request_json(c, "GET", "/state-image", b, 1, &r);
	if (rc == 0) {
		name = json_get_str(r.j, "name");
		if (!name)
			rc = missing(c->cmd, &r, "name");
		else if (!json_get(r.j, "export_tag"))
			rc = missing(c->cmd, &r, "export_tag");
		else if (!bucket && !json_get(r.j, "state"))
			rc = missing(c->cmd, &r, "state");
		else if (!cli_safe_name(name))
			rc = unsafe("name", name);
	}
	if (rc == 0 && !(txt = json_print_py(r.j, 0)))
		rc = -ENOMEM;
	if (rc == 0)
		rc = cli_write(name, txt, strlen(txt), 0600);
	if (rc == 0)
		printf("state:name: %s\n", name);
	free(txt);
	json_free(b);
	cli_resp_free(&r);
	return rc;
}

/* {"secret", "state"} from a state file saved by get-state-image. */
static int state_from_file(struct cli *c, json *b, const char *file)
{
	uint8_t *p = NULL;
	size_t len = 0;
	json *img = NULL;
	const char *err = NULL;
	int rc = cli_read(file, HTTP_MAX_BODY, "state image file", &p, &len);

	if (rc == 0 && json_parse((const char *)p, len, &img, &err) < 0) {
		log_err("%s is not JSON (%s): use a file saved by get-state-image", file,
			err ? err : "too deep or too long");
		rc = -EINVAL;
	}
	if (rc == 0 && (!json_get_str(img, "name") || !json_get(img, "state"))) {
		log_err("unexpected image file %s: it needs \"name\" and \"state\"", file);
		rc = -EINVAL;
	}
	if (rc == 0) {
		printf("state:name: %s\n", json_get_str(img, "name"));
		rc = json_set(b, "state", json_dup(json_get(img, "state")));
	}
	json_free(img);
	free(p);
	return rc;
}

static int state_body(struct cli *c, json *b)
{
	const json *secret = cli_param(c, "secret");
	const char *file = cli_param_nonempty(c, "state_image");
	const json *bucket = cli_param(c, "state_bucket_name");
	const json *name = cli_param(c, "name");

	if (!json_str(secret)) {
		log_err("missing secret: SECRET must be in %s (or pass --secret)", c->env_path);
		return -EINVAL;
	}
	if (file && bucket) {
		log_err("When cloud object storage(COS) is enabled, state-image parameter is not "
			"required: use --name with STATE_BUCKET_NAME, or drop STATE_BUCKET_NAME");
		return -EINVAL;
	}
	if (!file && (!bucket || !name)) {
		log_err("post-state-image needs --state-image FILE (saved by get-state-image), or "
			"STATE_BUCKET_NAME and --name NAME (COS)");
		return -EINVAL;
	}
	/* json_set() takes ownership of the copies, also when it fails */
	if (json_set(b, "secret", json_dup(secret)) < 0)
		return -ENOMEM;
	if (file)
		return state_from_file(c, b, file);
	if (json_set(b, "state_bucket_name", json_dup(bucket)) < 0 ||
	    json_set(b, "name", json_dup(name)) < 0)
		return -ENOMEM;
	return 0;
}

int cli_cmd_post_state_image(struct cli *c)
{
	json *b = json_new_obj();
	struct cli_resp r = { 0 };
	int rc = b ? state_body(c, b) : -ENOMEM;

	if (rc == -ENOMEM)
		log_err("out of memory");
	if (rc == 0)
		rc = cli_request_json(c, "POST", "/state-image", b, 1, &r);
	if (rc == 0)
		rc = cli_print_resp(c->cmd, &r);
	json_free_secret(b);
	cli_resp_free(&r);
	return rc;
}

/* ---- classic runtime ---- */

static int need_classic(const struct cli *c)
{
	const char *rt = cli_param_str(c, "runtime_type");

	if (rt && strcmp(rt, "classic") == 0)
		return 0;
	log_err("%s is not supported for %s", c->cmd, rt ? rt : "this RUNTIME_TYPE");
	return -ENOTSUP;
}

int cli_cmd_get_config_json(struct cli *c)
{
	int rc = need_classic(c);

	if (rc == 0) {
		log_err("get-config-json is not supported by sbs: the classic registration file "
			"must be GnuPG-encrypted to IBM's key; use the VPC runtime");
		rc = -ENOTSUP;
	}
	return rc;
}

int cli_cmd_get_config_python(struct cli *c)
{
	const char *id = cli_param_nonempty(c, "repo_id");
	struct cli_resp r;
	char file[320];
	int rc = need_classic(c);

	if (rc < 0)
		return rc;
	if (!id)
		id = "repo_regfile";
	if (!cli_safe_name(id) || snprintf(file, sizeof file, "%s.py", id) >= (int)sizeof file) {
		log_err("REPO_ID must be a plain file name");
		return -EINVAL;
	}
	rc = cli_request(c, "GET", "/config-python", NULL, 1, &r);
	if (rc == 0)
		rc = need_201(c->cmd, &r);
	if (rc == 0)
		rc = cli_write(file, r.body ? (const char *)r.body : "", r.len, 0644);
	if (rc == 0)
		printf("a python config file has been written to %s.\n", file);
	cli_resp_free(&r);
	return rc;
}

/* ---- CSR flow: the server keeps its key ---- */

int cli_cmd_get_server_csr(struct cli *c)
{
	struct cli_resp r;
	char path[300];
	const char *csr;
	int rc;

	snprintf(path, sizeof path, "/csr/%s", c->hostname);
	rc = cli_request(c, "GET", path, NULL, 0, &r);
	if (rc < 0)
		return rc;
	csr = json_get_str(r.j, "csr");
	if (!csr)
		rc = missing(c->cmd, &r, "csr");
	else if (!strstr(csr, "-----BEGIN CERTIFICATE REQUEST-----"))
		rc = missing(c->cmd, &r, "csr (PEM)");
	if (rc == 0)
		rc = cli_write(c->csrpath, csr, strlen(csr), 0644);
	if (rc == 0)
		printf("server CSR saved to %s; next: sbs sign-csr --env %s\n", c->csrpath,
		       c->env_path);
	cli_resp_free(&r);
	return rc;
}

int cli_cmd_post_server_cert(struct cli *c)
{
	uint8_t *pem = NULL;
	size_t len = 0;
	json *b = NULL;
	struct cli_resp r = { 0 };
	int rc = cli_read(c->certpath, CERT_MAX_PEM * 4, "server certificate (CERTPATH)", &pem,
			  &len);

	if (rc == -ENOENT)
		log_err("sign the server CSR first: sbs sign-csr --env %s", c->env_path);
	if (rc < 0)
		return rc;
	b = json_new_obj();
	rc = b ? json_set_strn(b, "certificate", (const char *)pem, len) : -ENOMEM;
	if (rc == 0)
		rc = cli_request_json(c, "POST", "/certificate", b, 0, &r);
	if (rc == 0)
		rc = cli_print_resp(c->cmd, &r);
	json_free(b);
	free(pem);
	cli_resp_free(&r);
	return rc;
}
