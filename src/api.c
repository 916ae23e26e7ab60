/* SPDX-License-Identifier: MIT */
/*
 * api: request routing and the HPSB endpoint handlers (api.h). Keys, the
 * appliance secret and state-image plaintext stay in the keeper process:
 * this module asks it (keeper.h) for public keys, signatures, CSRs and
 * sealed or opened state images, and exits through keeper.h if it is gone.
 */
#include "api.h"
#include "api_attest.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "arc.h"
#include "builder.h"
#include "cos.h"
#include "cry.h"
#include "json.h"
#include "keeper.h"
#include "limits.h"
#include "params.h"
#include "tlsid.h"
#include "util.h"

static struct {
	const struct hal *hal;
	char data_dir[PATH_MAX_SBS];
	char ca_path[PATH_MAX_SBS];
	char status_path[PATH_MAX_SBS];
	char log_path[PATH_MAX_SBS];
	json *st;                    /* status.json: status, build_name, image_tag, image_digest */
	struct builder_run run;      /* pid 0 when idle */
} A;

/* ---- replies ---- */

static void reply_json(struct srv_reply *r, int status, json *j)
{
	char *s = json_print(j);
	r->status = status;
	r->ctype = "application/json";
	if (!s || buf_append(&r->body, s, strlen(s)) < 0)
		r->status = 500;
	free(s);
	json_free(j);
}

/* {"status": text} or {"error": text} */
static void reply_kv(struct srv_reply *r, int status, const char *key, const char *text)
{
	json *j = json_new_obj();
	if (j)
		json_set_str(j, key, text);
	reply_json(r, status, j);
}

static void reply_err(struct srv_reply *r, int status, const char *text)
{
	reply_kv(r, status, "error", text);
}

static void reply_text(struct srv_reply *r, int status, const char *text)
{
	r->status = status;
	r->ctype = "text/plain; charset=utf-8";
	buf_printf(&r->body, "%s\n", text);
}

/* ---- status.json ---- */

static const char *st_get(const char *key)
{
	const char *v = json_get_str(A.st, key);
	return v ? v : "";
}

static void st_save(void)
{
	char *s = json_print(A.st);
	if (!s || util_write_atomic(A.status_path, s, strlen(s), 0600) < 0)
		log_err("cannot persist status.json");
	free(s);
}

static void st_set(const char *key, const char *val)
{
	json_set_str(A.st, key, val);
	st_save();
}

static json *status_object(void)
{
	json *j = json_new_obj();
	char mpk[PATH_MAX_SBS] = "";
	const char *bn = st_get("build_name");

	if (!j)
		return NULL;
	json_set_str(j, "status", st_get("status"));
	if (!params_initialised())
		return j;
	if (*bn)
		snprintf(mpk, sizeof mpk, "manifest.%s-public.pem", bn);
	json_set_str(j, "build_image_tag", params_str("BUILD_IMAGE_TAG") ? params_str("BUILD_IMAGE_TAG") : "");
	json_set_str(j, "build_name", bn);
	json_set_str(j, "image_tag", st_get("image_tag"));
	json_set_str(j, "manifest_key_gen", keeper_has(KEEPER_MANIFEST) ? "soft_crypto" : "");
	json_set_str(j, "manifest_public_key", mpk);
	json_set_bool(j, "root_ssh_enabled", 0);
	return j;
}

/* ---- handlers ---- */

static void h_status(const json *body, const char *arg, struct srv_reply *r)
{
	reply_json(r, 200, status_object());
}

/* update must prove it knows the current SECRET (build.py always sends it),
 * so a client certificate alone cannot rotate the state-image secret. */
static int secret_matches(const char *given)
{
	const char *stored = params_str("SECRET");
	size_t n;

	if (!given || !stored || (n = strlen(stored)) != strlen(given))
		return 0;
	return cry_ct_eq(given, stored, n);
}

static void h_init_update(const json *body, int is_init, struct srv_reply *r)
{
	char msgbuf[256];
	const char *msg = NULL;

	if (!json_is_obj(body)) {
		reply_err(r, 400, "the body must be a JSON object of build parameters");
		return;
	}
	if (!is_init && !params_initialised()) {
		reply_err(r, 409, "not initialised: run init first");
		return;
	}
	if (!is_init && !secret_matches(json_get_str(body, "SECRET"))) {
		reply_err(r, 403, "SECRET does not match the stored one: update (and --new-secret) "
				  "needs the current SECRET; run init to start over");
		return;
	}
	if (params_check(body, is_init, msgbuf, sizeof msgbuf, &msg) < 0) {
		reply_err(r, 400, msg ? msg : "invalid parameters");
		return;
	}
	if (params_apply(body, is_init) < 0) {
		reply_err(r, 500, "cannot store the parameters");
		return;
	}
	log_info("%s: parameters stored", is_init ? "init" : "update");
	reply_kv(r, 200, "status", "OK");
}

static void h_init(const json *b, const char *a, struct srv_reply *r) { h_init_update(b, 1, r); }
static void h_update(const json *b, const char *a, struct srv_reply *r) { h_init_update(b, 0, r); }

static void builder_io(void);

static void h_build(const json *body, const char *arg, struct srv_reply *r)
{
	int rc;

	if (!params_initialised()) {
		reply_err(r, 409, "not initialised: run init first");
		return;
	}
	if (A.run.pid) {
		reply_err(r, 409, "a build is already running: wait for it to finish (status) or stop it (clean)");
		return;
	}
	struct builder_cfg bc = { .data_dir = A.data_dir, .log_path = A.log_path,
				  .ca_path = A.ca_path };
	rc = builder_start(params_get(), &bc, &A.run);
	if (rc < 0) {
		reply_err(r, 500, "cannot start the builder");
		return;
	}
	json_del(A.st, "image_digest");
	st_set("cos_error", "");
	st_set("status", "");
	srv_watch(A.run.fd, builder_io);
	log_info("build started (builder pid %d)", (int)A.run.pid);
	reply_kv(r, 200, "status", "OK: async build started");
}

static void reap(int block);

static void h_clean(const json *body, const char *arg, struct srv_reply *r)
{
	if (A.run.pid) {
		kill(-A.run.pid, SIGKILL);
		kill(A.run.pid, SIGKILL);
		reap(1);
	}
	int dfd = open(A.data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		if (arc_remove_tree(dfd, "build") < 0 || arc_remove_tree(dfd, "cache") < 0)
			log_warn("clean: cannot remove the workspace or the layer cache");
		close(dfd);
	}
	st_set("status", "restarted cicd");
	log_info("clean: builder stopped, workspace and layer cache removed, status reset");
	reply_kv(r, 200, "status", "OK");
}

static void h_log(const json *body, const char *name, struct srv_reply *r)
{
	uint8_t *text = NULL;
	size_t len = 0;
	json *j;

	if (strcmp(name, "build") != 0) {
		reply_err(r, 404, "no such log: the only log is 'build'");
		return;
	}
	int rc = util_read_file(A.log_path, LOG_MAX_BUILD, &text, &len);
	if (rc < 0 && rc != -ENOENT) {
		reply_err(r, 500, "cannot read the build log");
		return;
	}
	j = json_new_obj();
	json_set_strn(j, "log", text ? (const char *)text : "", len);
	free(text);
	reply_json(r, 200, j);
}

/* BUILD_NAME from the body, else the last successful build's. Names come
 * from our own builder, but the body's is untrusted: no '/', no leading '.'. */
static const char *wanted_build(const json *body)
{
	const char *bn = json_is_obj(body) ? json_get_str(body, "BUILD_NAME") : NULL;

	if (!bn || !*bn)
		bn = st_get("build_name");
	if (!*bn || bn[0] == '.' || strchr(bn, '/') || strlen(bn) > MFST_MAX_NAME)
		return NULL;
	return bn;
}

static void h_manifest(const json *body, const char *arg, struct srv_reply *r)
{
	const char *bn = wanted_build(body);
	char path[2 * PATH_MAX_SBS + 32], name[PATH_MAX_SBS];
	uint8_t *p = NULL;
	size_t len = 0, cap, olen;
	char *b64;
	json *j;
	int rc;

	if (!bn) {
		reply_err(r, 404, "no manifest: no build has completed successfully yet");
		return;
	}
	snprintf(name, sizeof name, "manifest.%s", bn);
	snprintf(path, sizeof path, "%s/manifests/%s.sig.tbz", A.data_dir, name);
	rc = util_read_file(path, API_MAX_MANIFEST, &p, &len);
	if (rc < 0) {
		reply_err(r, rc == -ENOENT ? 404 : 500, rc == -ENOENT ? "no manifest for that build name"
				: rc == -EFBIG ? "the manifest is too large to serve" : "cannot read the manifest");
		return;
	}
	cap = cry_b64_encoded_len(len);
	b64 = malloc(cap);
	if (!b64 || cry_b64_encode(p, len, b64, cap, &olen) < 0) {
		free(b64);
		free(p);
		reply_err(r, 500, "cannot encode the manifest");
		return;
	}
	free(p);
	j = json_new_obj();
	json_set_str(j, "manifest_name", name);
	json_set_str(j, "encoded_manifest", b64);
	free(b64);
	reply_json(r, 200, j);
}

static void h_publickey(const json *body, const char *arg, struct srv_reply *r)
{
	char pem[KEY_MAX_PEM];
	size_t len;
	json *j;

	if (keeper_pubkey_pem(KEEPER_MANIFEST, pem, sizeof pem, &len) < 0) {
		reply_err(r, 500, "cannot create the manifest signing key");
		return;
	}
	j = json_new_obj();
	json_set_strn(j, "public_key_pem", pem, len);
	json_set_str(j, "build_name", wanted_build(body) ? wanted_build(body) : "");
	reply_json(r, 200, j);
}

static void repository_name(char *out, size_t cap)
{
	const char *srv = params_str("DOCKER_PUSH_SERVER");
	const char *repo = params_str("DOCKER_REPO");

	if (srv && strstr(srv, "://"))          /* "http://host:port": a registry's scheme */
		srv = strstr(srv, "://") + 3;
	snprintf(out, cap, "%s/%s", srv && *srv ? srv : "docker.io", repo ? repo : "");
}

static json *config_json(void)
{
	char pem[KEY_MAX_PEM], repo[600];
	size_t len;
	json *j, *wl;
	const json *pwl;

	if (keeper_pubkey_pem(KEEPER_IMAGE, pem, sizeof pem, &len) < 0)
		return NULL;
	repository_name(repo, sizeof repo);
	j = json_new_obj();
	json_set_str(j, "repository_name", repo);
	json_set_strn(j, "public_key", pem, len);
	json_set_str(j, "public_key_type", "cosign-ecdsa-p256");
	if (params_str("DOCKER_RO_USER"))
		json_set_str(j, "docker_username", params_str("DOCKER_RO_USER"));
	pwl = json_get(params_get(), "ENV_WHITELIST");
	wl = pwl ? json_dup(pwl) : json_new_arr();
	json_set(j, "envs_whitelist", wl);
	return j;
}

static void h_config_json(const json *body, const char *arg, struct srv_reply *r)
{
	json *j;

	if (!params_initialised()) {
		reply_text(r, 409, "not initialised: run init first");
		return;
	}
	j = config_json();
	if (!j) {
		reply_text(r, 500, "cannot create the image signing key");
		return;
	}
	reply_json(r, 201, j);
}

static void h_config_python(const json *body, const char *arg, struct srv_reply *r)
{
	json *j;
	char *s;

	if (!params_initialised()) {
		reply_text(r, 409, "not initialised: run init first");
		return;
	}
	j = config_json();
	s = j ? json_print(j) : NULL;
	json_free(j);
	if (!s || strstr(s, "'''")) {
		free(s);
		reply_text(r, 500, "cannot build the registration definition");
		return;
	}
	r->status = 201;
	r->ctype = "text/x-python; charset=utf-8";
	buf_printf(&r->body, "# registration definition made by sbsd\nimport json\n"
		   "config = json.loads(r'''%s''')\n", s);
	free(s);
}

static void h_imagedigest(const json *body, const char *arg, struct srv_reply *r)
{
	const char *d = st_get("image_digest");
	json *j;

	if (!*d) {
		reply_text(r, 404, "no image digest: no build has pushed an image yet");
		return;
	}
	j = json_new_arr();
	json_arr_add_str(j, d);
	reply_json(r, 201, j);
}

/* ---- state image ---- */

/* The bucket a state-image request names, or NULL. */
static const char *bucket_requested(const json *body)
{
	const char *b = json_is_obj(body) ? json_get_str(body, "state_bucket_name") : NULL;
	return b && *b ? b : NULL;
}

/* The STATE_COS_* configuration for bucket, with the trust anchors read into
 * *ca (the caller frees it). 0, or -EINVAL with err saying what is missing. */
static int state_cos(const char *bucket, struct s3_cfg *c, uint8_t **ca, char *err, size_t cap)
{
	size_t len = 0;

	*ca = NULL;
	cos_cfg(params_get(), "STATE_", bucket, c);
	if (*A.ca_path && util_read_file(A.ca_path, BUILD_MAX_CA, ca, &len) == 0) {
		c->ca_pem = *ca;
		c->ca_len = len;
	}
	return s3_check(c, err, cap);
}

/* An S3 failure as an HTTP status for our reply: the store's refusal of our
 * credentials or a missing bucket is the caller's to fix (400/404), the
 * rest a bad gateway. */
static int cos_status(int rc)
{
	return rc == -EINVAL ? 400 : rc == -EACCES ? 403 : rc == -ENOENT ? 404 : 502;
}

/* GET /state-image with a bucket: the document the client would have saved
 * ({name, export_tag, state}, Python json.dumps form) becomes the object
 * <name>; the reply is its metadata without the state. */
static void state_to_bucket(const char *bucket, json *doc, const char *name, struct srv_reply *r)
{
	char err[512];
	struct s3_cfg c;
	uint8_t *ca = NULL;
	char *text = NULL;
	int rc;

	if ((rc = state_cos(bucket, &c, &ca, err, sizeof err)) == 0) {
		text = json_print_py(doc, 0);
		rc = text ? s3_put(&c, name, -1, (const uint8_t *)text, strlen(text), err, sizeof err)
			  : util_err(err, sizeof err, -ENOMEM, "out of memory");
	}
	free(text);
	free(ca);
	if (rc < 0) {
		log_info("state image upload failed: %s", err);
		reply_err(r, cos_status(rc), err);
		json_free(doc);
		return;
	}
	log_info("state image exported to s3://%s/%s", bucket, name);
	json_del(doc, "state");
	json_set_str(doc, "state_bucket_name", bucket);
	reply_json(r, 200, doc);
}

/* The keeper builds, seals and returns the image: the keys and the
 * appliance secret never enter this process. */
static char *seal_state(const char *secret, const char *ts, const char **msg)
{
	char *prm, *b64 = NULL;
	size_t blen;
	int rc;

	*msg = "cannot export the parameters";
	prm = json_print(params_get());
	if (!prm)
		return NULL;
	rc = keeper_state_seal(secret, strlen(secret), ts, prm, strlen(prm), &b64, &blen);
	wipe_free(prm, strlen(prm));
	if (rc == -ENOKEY)
		*msg = "cannot read the appliance secret";
	else if (rc < 0)
		*msg = "cannot seal the state image";
	return rc < 0 ? NULL : b64;
}

static void h_state_get(const json *body, const char *arg, struct srv_reply *r)
{
	const char *secret = params_str("SECRET"), *msg;
	char ts[32], name[PATH_MAX_SBS];
	char *b64;
	json *j;

	if (!params_initialised() || !secret || !*secret) {
		reply_err(r, 409, "not initialised: run init first (the state image is sealed with SECRET)");
		return;
	}
	util_ts_micro(ts);
	b64 = seal_state(secret, ts, &msg);
	if (!b64) {
		reply_err(r, 500, msg);
		return;
	}
	if (*st_get("build_name"))
		snprintf(name, sizeof name, "%s", st_get("build_name"));
	else
		snprintf(name, sizeof name, "sbs-state.%s", ts);
	j = json_new_obj();
	json_set_str(j, "name", name);
	json_set_str(j, "export_tag", ts);
	json_set_str(j, "state", b64);
	free(b64);
	if (bucket_requested(body)) {
		state_to_bucket(bucket_requested(body), j, name, r);
		return;
	}
	log_info("state image exported (%s)", name);
	reply_json(r, 200, j);
}

static const char *state_error(int rc)
{
	switch (rc) {
	case -EBADMSG:
		return "state image does not open: wrong SECRET, made by another appliance, or modified";
	case -EPROTO:
		return "state image version is not supported by this sbsd";
	default:
		return "state image is malformed or truncated";
	}
}

/* The keeper opened the image and took its keys; the params come back. */
static int restore(const char *prm_text, size_t len, const char **msg)
{
	json *prm = NULL;
	int rc;

	*msg = "state image content is not valid";
	rc = json_parse(prm_text, len, &prm, NULL);
	if (rc == 0 && !json_is_obj(prm))
		rc = -EINVAL;
	if (rc == 0) {
		*msg = "state image parameters cannot be restored";
		rc = params_replace(prm);
	}
	json_free_secret(prm);
	return rc;
}

/* POST /state-image with a bucket: object <name> is fetched and its
 * "state" taken, as if the client had sent the file it names. */
static int state_from_bucket(const json *body, json **obj, const char **state, struct srv_reply *r)
{
	const char *bucket = bucket_requested(body), *name = json_get_str(body, "name");
	char err[512];
	struct s3_cfg c;
	uint8_t *ca = NULL, *p = NULL;
	size_t n = 0;
	int rc;

	if (!cos_name_ok(name)) {
		reply_err(r, 400, "name: the state image name (as get-state-image returned it) is "
			  "required with state_bucket_name");
		return -EINVAL;
	}
	if ((rc = state_cos(bucket, &c, &ca, err, sizeof err)) == 0)
		rc = s3_get(&c, name, STATE_MAX_B64 + 4096, &p, &n, err, sizeof err);
	free(ca);
	if (rc < 0) {
		log_info("state image download failed: %s", err);
		reply_err(r, cos_status(rc), err);
		return rc;
	}
	rc = json_parse((const char *)p, n, obj, NULL);
	free(p);
	*state = rc == 0 ? json_get_str(*obj, "state") : NULL;
	if (!*state) {
		json_free(*obj);
		*obj = NULL;
		snprintf(err, sizeof err, "s3://%s/%s is not a state image (no \"state\")", bucket, name);
		reply_err(r, 400, err);
		return -EINVAL;
	}
	log_info("state image fetched from s3://%s/%s", bucket, name);
	return 0;
}

static void h_state_post(const json *body, const char *arg, struct srv_reply *r)
{
	const char *secret, *state, *msg;
	char *plain = NULL;
	size_t plen = 0;
	json *obj = NULL;
	int rc;

	secret = json_get_str(body, "secret");
	state = json_get_str(body, "state");
	if (bucket_requested(body) && secret && *secret) {
		if (state_from_bucket(body, &obj, &state, r) < 0)
			return;
	} else if (!secret || !*secret || !state) {
		reply_err(r, 400, "the body must be {\"secret\": SECRET, \"state\": <state from "
			  "get-state-image>} or {\"secret\": SECRET, \"state_bucket_name\": B, "
			  "\"name\": N}");
		return;
	}
	rc = keeper_state_open(state, strlen(state), secret, strlen(secret), &plain, &plen);
	json_free(obj);         /* state pointed into it (a bucket's object) */
	if (rc == -ENOKEY) {
		reply_err(r, 500, "cannot read the appliance secret");
		return;
	}
	if (rc == -EILSEQ) {
		reply_err(r, 400, "state image content is not valid");
		return;
	}
	if (rc == -EKEYREJECTED || rc == -EIO || rc == -ENOSPC) {
		reply_err(r, rc == -EKEYREJECTED ? 400 : 500, "state image keys cannot be restored");
		return;
	}
	if (rc < 0) {
		reply_err(r, 400, state_error(rc));
		return;
	}
	rc = restore(plain, plen, &msg);
	wipe_free(plain, plen);
	if (rc < 0) {
		reply_err(r, rc == -EINVAL ? 400 : 500, msg);
		return;
	}
	log_info("state image restored");
	reply_kv(r, 200, "status", "OK");
}

/* ---- CSR bootstrap ---- */

static void h_csr(const json *body, const char *host, struct srv_reply *r)
{
	char pem[CERT_MAX_PEM];
	json *j;

	if (keeper_tls_csr(host, pem, sizeof pem) < 0) {
		reply_err(r, 400, "host must be a DNS name (letters, digits, '.', '-')");
		return;
	}
	j = json_new_obj();
	json_set_str(j, "csr", pem);
	reply_json(r, 200, j);
}

static void h_certificate(const json *body, const char *arg, struct srv_reply *r)
{
	const char *pem = json_get_str(body, "certificate"), *msg = NULL;

	if (!pem) {
		reply_err(r, 400, "the body must be {\"certificate\": \"<PEM>\"}");
		return;
	}
	if (tlsid_install((const uint8_t *)pem, strlen(pem), &msg) < 0) {
		reply_err(r, 400, msg ? msg : "certificate refused");
		return;
	}
	st_set("status", "restarted nginx");
	reply_kv(r, 200, "status", "OK");
}

/* ---- routing ---- */

typedef void (*handler_fn)(const json *body, const char *arg, struct srv_reply *r);
struct route {
	enum http_method method;
	const char *path;      /* exact, or a prefix when it ends in '/' */
	handler_fn fn;
	int text_errors;       /* 201 endpoint: errors in plain text */
};

static const struct route routes[] = {
	{ HTTP_GET, "/image", h_status, 0 },
	{ HTTP_POST, "/image", h_init, 0 },
	{ HTTP_PATCH, "/image", h_update, 0 },
	{ HTTP_PUT, "/image", h_build, 0 },
	{ HTTP_DELETE, "/image", h_clean, 0 },
	{ HTTP_GET, "/log/", h_log, 0 },
	{ HTTP_GET, "/manifest", h_manifest, 0 },
	{ HTTP_GET, "/publickey", h_publickey, 0 },
	{ HTTP_GET, "/config-json", h_config_json, 1 },
	{ HTTP_GET, "/config-python", h_config_python, 1 },
	{ HTTP_GET, "/imagedigest", h_imagedigest, 1 },
	{ HTTP_GET, "/state-image", h_state_get, 0 },
	{ HTTP_POST, "/state-image", h_state_post, 0 },
	{ HTTP_GET, "/csr/", h_csr, 0 },
	{ HTTP_POST, "/certificate", h_certificate, 0 },
};

/* Finds the route; *arg is the rest of the path after a prefix route. */
static const struct route *route_find(enum http_method m, const char *path, const char **arg,
				      int *path_known)
{
	*path_known = 0;
	for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
		const struct route *rt = &routes[i];
		size_t n = strlen(rt->path);
		int prefix = rt->path[n - 1] == '/';
		if (prefix ? strncmp(path, rt->path, n) != 0 || !path[n] || strchr(path + n, '/')
			   : strcmp(path, rt->path) != 0)
			continue;
		*path_known = 1;
		if (rt->method != m)
			continue;
		*arg = prefix ? path + n : "";
		return rt;
	}
	return NULL;
}

void api_handle(const struct http_msg *req, struct srv_reply *r)
{
	char path[HTTP_MAX_TARGET + 1];
	const struct route *rt;
	const char *arg = "", *err = NULL;
	json *body = NULL;
	int known;

	snprintf(path, sizeof path, "%s", req->target);
	path[strcspn(path, "?#")] = 0;
	if (req->method == HTTP_GET && strcmp(path, "/attestation") == 0) {
		api_attest(req->target, A.hal, r);   /* reads its own query string */
		return;
	}
	rt = route_find(req->method, path, &arg, &known);
	if (!rt) {
		if (known)
			reply_err(r, 405, "method not allowed on this path");
		else
			reply_err(r, 404, "no such endpoint");
		return;
	}
	if (req->body_len > 0 &&
	    json_parse((const char *)req->body, req->body_len, &body, &err) < 0) {
		const char *m = err ? err : "invalid JSON";
		char text[128];
		snprintf(text, sizeof text, "request body is not valid JSON: %s", m);
		if (rt->text_errors)
			reply_text(r, 400, text);
		else
			reply_err(r, 400, text);
		return;
	}
	rt->fn(body, arg, r);
	json_free_secret(body);
}

/* ---- builder supervision ---- */

/* A sign request: only the image and manifest keys, only 64 hex digits, and
 * only within the build's budget (builder.h). */
static void chan_reply(const char *m)
{
	send(A.run.fd, m, strlen(m), MSG_NOSIGNAL | MSG_DONTWAIT);
}

static void builder_sign(const char *req)
{
	uint8_t hash[32], sig[600];
	char out[BUILD_MSG_MAX];
	enum keeper_key k;
	unsigned *used, max;
	size_t sl = 0, n;

	if (strncmp(req, "image ", 6) == 0) {
		k = KEEPER_IMAGE, used = &A.run.signed_image, max = BUILD_SIGN_IMAGE;
		req += 6;
	} else if (strncmp(req, "manifest ", 9) == 0) {
		k = KEEPER_MANIFEST, used = &A.run.signed_manifest, max = BUILD_SIGN_MANIFEST;
		req += 9;
	} else {
		chan_reply("err unknown key");
		return;
	}
	for (n = 0; n < 32; n++) {
		int hi = util_hexval(req[2 * n]), lo = hi < 0 ? -1 : util_hexval(req[2 * n + 1]);
		if (lo < 0)
			break;
		hash[n] = (uint8_t)(hi << 4 | lo);
	}
	if (n != 32 || req[64]) {
		chan_reply("err bad digest");
		return;
	}
	if (*used >= max) {
		log_warn("builder asked for more signatures than a build needs: refused");
		chan_reply("err the signing budget of this build is used up");
		return;
	}
	if (keeper_sign(k, hash, sig, sizeof sig, &sl) < 0 || 4 + 2 * sl >= sizeof out) {
		chan_reply("err signing failed");
		return;
	}
	(*used)++;
	memcpy(out, "sig ", 4);
	cry_hex(sig, sl, out + 4);
	chan_reply(out);
}

static int settable(const char *k)
{
	return strcmp(k, "build_name") == 0 || strcmp(k, "image_tag") == 0 ||
	       strcmp(k, "image_digest") == 0 || strcmp(k, "cos_error") == 0;
}

/* Messages from the builder (builder.h), each one packet. */
static void builder_io(void)
{
	char m[BUILD_MSG_MAX + 1];
	ssize_t n;

	while (A.run.pid && (n = recv(A.run.fd, m, sizeof m - 1, MSG_DONTWAIT)) > 0) {
		m[n] = 0;
		if (strlen(m) != (size_t)n)
			continue;
		for (char *c = m; *c; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				*c = '?';
		if (strncmp(m, "status ", 7) == 0) {
			st_set("status", m + 7);
		} else if (strncmp(m, "set ", 4) == 0) {
			char *v = strchr(m + 4, ' ');
			if (v) {
				*v++ = 0;
				if (settable(m + 4))
					st_set(m + 4, v);
			}
		} else if (strncmp(m, "sign ", 5) == 0) {
			builder_sign(m + 5);
		}
	}
}

static void reap(int block)
{
	int ws;
	pid_t p;

	if (!A.run.pid)
		return;
	builder_io();
	p = waitpid(A.run.pid, &ws, block ? 0 : WNOHANG);
	if (p != A.run.pid)
		return;
	builder_io();
	srv_watch(-1, NULL);
	close(A.run.fd);
	A.run.pid = 0;
	if (WIFEXITED(ws) && WEXITSTATUS(ws) != 0) {
		char s[256 + BUILD_MSG_MAX];
		const char *why = st_get("cos_error");
		/* the builder's own reason for a COS failure: bucket and HTTP error */
		snprintf(s, sizeof s, "exiting due to a non-zero return value: %d, cmd: %s%s%s",
			 WEXITSTATUS(ws), builder_failed_cmd(WEXITSTATUS(ws)), *why ? ": " : "", why);
		st_set("status", s);
		log_info("build failed: %s", s);
	} else if (WIFSIGNALED(ws)) {
		log_info("builder stopped by signal %d", WTERMSIG(ws));
	}
}

void api_tick(void)
{
	keeper_check();       /* a dead keeper ends this process (keeper.h) */
	reap(0);
	/* reap stray children (none expected) */
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

int api_open(const char *data_dir, const struct hal *hal, const char *ca_bundle)
{
	uint8_t *text = NULL;
	size_t len;
	int rc;

	A.hal = hal;
	if (util_sweep_tmp(data_dir) > 0)
		log_info("removed temp files of an interrupted write");
	snprintf(A.data_dir, sizeof A.data_dir, "%s", data_dir);
	snprintf(A.ca_path, sizeof A.ca_path, "%s", ca_bundle ? ca_bundle : "");
	snprintf(A.status_path, sizeof A.status_path, "%s/status.json", data_dir);
	snprintf(A.log_path, sizeof A.log_path, "%s/build.log", data_dir);
	rc = util_read_file(A.status_path, STORE_MAX_FILE, &text, &len);
	if (rc == 0)
		rc = json_parse((const char *)text, len, &A.st, NULL);
	free(text);
	if (rc < 0 || !json_is_obj(A.st)) {
		if (rc != -ENOENT)
			log_warn("status.json unreadable; starting with an empty status");
		json_free(A.st);
		A.st = json_new_obj();
		if (!A.st)
			return -ENOMEM;
		json_set_str(A.st, "status", "");
	}
	/* A build cannot survive a restart: say so instead of claiming progress. */
	const char *s = st_get("status");
	if (*s && strcmp(s, "success") != 0 && strncmp(s, "exiting due to", 14) != 0 &&
	    strcmp(s, "restarted cicd") != 0 && strcmp(s, "restarted nginx") != 0)
		st_set("status", "exiting due to a non-zero return value: 1, cmd: build (interrupted by a restart)");
	return 0;
}
