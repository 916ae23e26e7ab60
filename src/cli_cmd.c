/* SPDX-License-Identifier: MIT */
/*
 * sbs client, the /image and /log commands (PROTOCOL §8-§10): status, init,
 * update [--new-secret], build, clean and log [--follow]. init/update send
 * build.py's parameter body (§9): GITHUB_KEY and BASE_REPO_PUBLIC_KEY read from
 * the files named in the config, the required keys (IMAGE_TAG sent as
 * BUILD_IMAGE_TAG, REPO_ID only for classic) and the optional keys present in
 * the config, with their JSON types. The body holds secrets (SECRET, passwords,
 * GITHUB_KEY): it is wiped after sending and only shown masked (-vv).
 */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"

static const char *const required_keys[] = {
	"RUNTIME_TYPE", "DOCKER_REPO", "DOCKER_USER", "DOCKER_PASSWORD", "GITHUB_URL", "SECRET",
	"IMAGE_TAG",
};

static const char *const optional_keys[] = {
	"MANIFEST_BUCKET_NAME", "MANIFEST_COS_API_KEY_ID", "MANIFEST_COS_RESOURCE_CRN",
	"MANIFEST_COS_AUTH_ENDPOINT", "MANIFEST_COS_ENDPOINT",
	"STATE_BUCKET_NAME", "STATE_COS_API_KEY_ID", "STATE_COS_RESOURCE_CRN",
	"STATE_COS_AUTH_ENDPOINT", "STATE_COS_ENDPOINT",
	/* sbs extension (docs/object-storage.md): HMAC keys and SigV4 region */
	"MANIFEST_COS_HMAC_ACCESS_KEY_ID", "MANIFEST_COS_HMAC_SECRET_ACCESS_KEY",
	"MANIFEST_COS_REGION", "STATE_COS_HMAC_ACCESS_KEY_ID",
	"STATE_COS_HMAC_SECRET_ACCESS_KEY", "STATE_COS_REGION",
	"SECRETS", "NEW_SECRET", "BUILD_SCRIPT", "BUILD_DIR", "ARG", "GITHUB_BRANCH",
	"IMAGE_TAG_PREFIX", "GITHUB_RECURSE_SUBMODULES", "DOCKER_BASE_USER",
	"DOCKER_BASE_PASSWORD", "DOCKER_RO_USER", "DOCKER_RO_PASSWORD", "DOCKER_BASE_SERVER",
	"DOCKER_PUSH_SERVER", "DOCKER_CONTENT_TRUST_BASE", "DOCKER_CONTENT_TRUST_BASE_SERVER",
	"DOCKER_CONTENT_TRUST_PUSH_SERVER", "ICR_BASE_REPO", "ICR_BASE_REPO_PUBLIC_KEY",
	"DOCKERFILE_PATH", "DOCKER_BUILD_PATH", "ISV_SECRET", "ENV_WHITELIST", "EXIT_NONZERO",
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* A simple request: no body, print the reply. */
static int simple(struct cli *c, const char *method, const char *path, int verify)
{
	struct cli_resp r;
	int rc = cli_request(c, method, path, NULL, verify, &r);

	if (rc == 0)
		rc = cli_print_resp(c->cmd, &r);
	cli_resp_free(&r);
	return rc;
}

int cli_cmd_status(struct cli *c)
{
	return simple(c, "GET", "/image", !c->noverify);
}

int cli_cmd_build(struct cli *c)
{
	return simple(c, "PUT", "/image", 1);
}

int cli_cmd_clean(struct cli *c)
{
	return simple(c, "DELETE", "/image", 1);
}

/* ---- init / update ---- */

/* json_set() takes ownership of the copy, also when it fails. */
static int set_dup(json *body, const char *key, const json *v)
{
	return json_set(body, key, json_dup(v)) < 0 ? -ENOMEM : 0;
}

/* Adds the config value of NAME under `as`; 1 if absent. */
static int add_param(const struct cli *c, json *body, const char *name, const char *as)
{
	char low[64];
	size_t i;
	const json *v;

	for (i = 0; name[i] && i + 1 < sizeof low; i++)
		low[i] = (char)tolower((unsigned char)name[i]);
	low[i] = 0;
	v = cli_param(c, low);
	return v ? set_dup(body, as, v) : 1;
}

/* GITHUB_KEY / BASE_REPO_PUBLIC_KEY: a file's text (CRLF read as LF, like
 * Python's text mode), or "" when the config names no file. */
static int add_file(const struct cli *c, json *body, const char *key, const char *param)
{
	const char *name = cli_param_nonempty(c, param);
	char path[PATH_MAX_SBS];
	uint8_t *p = NULL;
	size_t len = 0, o = 0;
	int rc;

	if (!name)
		return json_set_str(body, key, "");
	rc = cli_expand(name, path, sizeof path);
	if (rc == 0)
		rc = cli_read(path, PARAM_MAX_VALUE, param, &p, &len);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < len; i++)
		if (!(p[i] == '\r' && i + 1 < len && p[i + 1] == '\n'))
			p[o++] = p[i];
	rc = json_set_strn(body, key, (const char *)p, o);
	wipe_free(p, len);
	return rc;
}

static int check_runtime(const struct cli *c, json *body, const char **rt_out)
{
	const char *rt = cli_param_str(c, "runtime_type");
	int has_repo = cli_param(c, "repo_id") != NULL;

	*rt_out = rt;
	if (!rt || (strcmp(rt, "vpc") && strcmp(rt, "classic") && strcmp(rt, "on-prem"))) {
		log_err("RUNTIME_TYPE in %s must be \"vpc\", \"classic\" or \"on-prem\"",
			c->env_path);
		return -EINVAL;
	}
	if (strcmp(rt, "classic") == 0) {
		if (!has_repo) {
			log_err("undefined parameter REPO_ID: the classic runtime needs it in %s",
				c->env_path);
			return -EINVAL;
		}
		return add_param(c, body, "REPO_ID", "REPO_ID");
	}
	if (has_repo) {
		log_err("REPO_ID is not supported parameter in %s: remove it from %s", rt,
			c->env_path);
		return -EINVAL;
	}
	return 0;
}

/* sbsRuntime_Type in the certificate directory: update refuses a change. */
static int runtime_file(const struct cli *c, const char *rt, int update)
{
	char path[PATH_MAX_SBS];
	uint8_t *old = NULL;
	size_t len = 0;
	int rc;

	if ((size_t)snprintf(path, sizeof path, "%s/sbsRuntime_Type", c->certdir) >= sizeof path)
		return -ENAMETOOLONG;
	if (update && util_read_file(path, 64, &old, &len) == 0) {
		int same = len == strlen(rt) && memcmp(old, rt, len) == 0;

		if (!same)
			log_err("Update is not supported for RUNTIME_TYPE: the server was set up as "
				"\"%.*s\" (%s), the config says \"%s\"; restore RUNTIME_TYPE in %s, or "
				"deploy a new server and use init", (int)len, (const char *)old, path,
				rt, c->env_path);
		free(old);
		return same ? 0 : -EINVAL;
	}
	rc = util_mkdirs(c->certdir, 0700);
	if (rc == 0)
		rc = util_write_atomic(path, rt, strlen(rt), 0644);
	if (rc < 0)
		log_err("cannot write %s: %s", path, strerror(-rc));
	return rc;
}

static int init_body(struct cli *c, json *body, int update, const char *new_secret)
{
	const char *rt = NULL;
	int rc;

	rc = add_file(c, body, "GITHUB_KEY", "github_key_file");
	if (rc == 0)
		rc = add_file(c, body, "BASE_REPO_PUBLIC_KEY", "icr_base_repo_public_key");
	for (size_t i = 0; rc == 0 && i < NELEM(required_keys); i++) {
		const char *k = required_keys[i];

		rc = add_param(c, body, k, strcmp(k, "IMAGE_TAG") ? k : "BUILD_IMAGE_TAG");
		if (rc == 1) {
			log_err("undefined parameter %s: add \"%s\" to %s", k, k, c->env_path);
			rc = -EINVAL;
		}
	}
	if (rc == 0)
		rc = check_runtime(c, body, &rt);
	for (size_t i = 0; rc >= 0 && i < NELEM(optional_keys); i++)
		rc = add_param(c, body, optional_keys[i], optional_keys[i]);
	if (rc >= 0 && new_secret)
		rc = json_set_str(body, "NEW_SECRET", new_secret);
	if (rc >= 0)
		rc = runtime_file(c, rt, update);
	if (rc == -ENOMEM)
		log_err("out of memory");
	return rc < 0 ? rc : 0;
}

static int init_or_update(struct cli *c, int update)
{
	json *body = json_new_obj();
	struct cli_resp r = { 0 };
	char secret[176] = "";
	const char *st;
	int rc = body ? 0 : -ENOMEM;

	if (rc == 0 && update && c->new_secret) {
		if (c->verbose > 1)
			log_info("renewing a secret");
		rc = cli_new_secret(secret);
	}
	if (rc == 0)
		rc = init_body(c, body, update, *secret ? secret : NULL);
	if (rc == 0)
		rc = cli_request_json(c, update ? "PATCH" : "POST", "/image", body, 1, &r);
	if (rc == 0)
		rc = cli_print_resp(c->cmd, &r);
	st = json_get_str(r.j, "status");
	if (rc == 0 && *secret) {
		if (st && strcmp(st, "OK") == 0) {
			rc = cli_conf_set(c, "SECRET", secret);
			if (rc == 0)
				log_info("SECRET rotated and stored in %s; state images exported "
					 "before now need the old SECRET", c->env_path);
		} else {
			log_err("the server did not accept the new secret; SECRET is unchanged");
			rc = -EPROTO;
		}
	}
	wipe(secret, sizeof secret);
	json_free_secret(body);
	cli_resp_free(&r);
	return rc;
}

int cli_cmd_init(struct cli *c)
{
	return init_or_update(c, 0);
}

int cli_cmd_update(struct cli *c)
{
	return init_or_update(c, 1);
}

/* ---- log ---- */

static int get_log(struct cli *c, const char *path, char **text, size_t *len)
{
	struct cli_resp r;
	const json *l;
	int rc = cli_request(c, "GET", path, NULL, 1, &r);

	*text = NULL;
	if (rc < 0)
		return rc;
	l = json_get(r.j, "log");
	if (!json_str(l)) {
		char *t = r.j ? json_print_py(r.j, 4) : NULL;

		log_err("failed to obtain log response=%s", t ? t : "(not JSON)");
		free(t);
		cli_resp_free(&r);
		return -EBADMSG;
	}
	*len = strlen(json_str(l));
	*text = strdup(json_str(l));
	cli_resp_free(&r);
	return *text ? 0 : -ENOMEM;
}

static int get_status(struct cli *c, char **st)
{
	struct cli_resp r;
	int rc = cli_request(c, "GET", "/image", NULL, 1, &r);
	const char *s = rc == 0 ? json_get_str(r.j, "status") : NULL;

	*st = NULL;
	if (rc == 0 && !s) {
		log_err("status: the server's reply has no \"status\"");
		rc = -EBADMSG;
	}
	if (rc == 0 && !(*st = strdup(s)))
		rc = -ENOMEM;
	cli_resp_free(&r);
	return rc;
}

static int build_over(const char *s)
{
	return strcmp(s, "success") == 0 || strncmp(s, "exiting due to", 14) == 0 ||
	       strcmp(s, "restarted cicd") == 0;
}

static void put_text(const char *p, size_t n, int final)
{
	fwrite(p, 1, n, stdout);
	if (final && n && p[n - 1] != '\n')
		fputc('\n', stdout);
	fflush(stdout);
}

/* Polls status, then the log: once the status says the build is over, the log
 * fetched after it is complete. Prints only what was not shown yet; a log that
 * no longer starts with what was shown (a new build) is shown from the top. */
static int follow(struct cli *c, const char *path)
{
	struct timespec ts = { CLI_FOLLOW_MS / 1000, (CLI_FOLLOW_MS % 1000) * 1000000L };
	char *shown = NULL, *text = NULL, *st = NULL;
	size_t nshown = 0, len = 0;
	int rc = 0, over = 0;

	while (!over) {
		rc = get_status(c, &st);
		if (rc == 0)
			rc = get_log(c, path, &text, &len);
		if (rc < 0)
			break;
		over = build_over(st);
		if (len < nshown || (nshown && memcmp(text, shown, nshown) != 0))
			nshown = 0;
		size_t end = len;
		while (!over && end > nshown && text[end - 1] != '\n')
			end--;
		put_text(text + nshown, end - nshown, over);
		free(shown);
		shown = text;
		nshown = end;
		text = NULL;
		if (over) {
			if (strcmp(st, "success") != 0) {
				log_err("build status: %s", st);
				rc = -EIO;
			}
		} else {
			nanosleep(&ts, NULL);
		}
		free(st);
		st = NULL;
	}
	free(st);
	free(text);
	free(shown);
	return rc;
}

int cli_cmd_log(struct cli *c)
{
	const char *name = cli_param_nonempty(c, "log");
	char path[128];
	char *text = NULL;
	size_t len = 0;
	int rc;

	if (!name) {
		log_err("log needs the log name: sbs log --log build --env %s", c->env_path);
		return -EINVAL;
	}
	if (strlen(name) > 64 || strspn(name, "abcdefghijklmnopqrstuvwxyz"
		"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") != strlen(name) || name[0] == '.') {
		log_err("--log NAME must be a plain name such as build");
		return -EINVAL;
	}
	snprintf(path, sizeof path, "/log/%s", name);
	if (c->follow)
		return follow(c, path);
	rc = get_log(c, path, &text, &len);
	if (rc == 0)
		put_text(text, len, 1);
	free(text);
	return rc;
}
