/* SPDX-License-Identifier: MIT */
/*
 * sbs client configuration: reads sbs-config.json (--env), fills in the keys
 * build.py adds on every run (RUNTIME_TYPE "vpc", a v4 UUID, a SECRET of 128
 * random bytes in base64) and rewrites the file as Python's json.dump(indent=4)
 * would, keeping a timestamped copy of the old one; builds build.py's
 * lower-cased parameter view (config, then COS fallbacks, then command-line
 * flags) and derives the paths of the local certificate files (PROTOCOL §3, §4).
 * Also small file and encoding helpers shared by the cli_* files.
 */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cry.h"
#include "util.h"

/* ---- small helpers ---- */

#ifndef SBS_VERSION
#define SBS_VERSION ""
#endif

const char *cli_version(void)
{
	/* the build passes -DSBS_VERSION="x.y.z"; it may expand empty */
	return SBS_VERSION[0] ? SBS_VERSION : "0.1.0";
}

int cli_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

int cli_expand(const char *path, char *out, size_t cap)
{
	const char *home = getenv("HOME");
	int n;

	if (path[0] == '~' && (path[1] == '/' || path[1] == 0) && home && *home)
		n = snprintf(out, cap, "%s%s", home, path + 1);
	else
		n = snprintf(out, cap, "%s", path);
	if (n < 0 || (size_t)n >= cap) {
		log_err("path too long: %.64s...", path);
		return -ENAMETOOLONG;
	}
	return 0;
}

int cli_read(const char *path, size_t max, const char *what, uint8_t **out, size_t *len)
{
	int rc = util_read_file(path, max, out, len);

	if (rc == -ENOENT)
		log_err("%s not found: %s", what, path);
	else if (rc == -EFBIG)
		log_err("%s is too large (over %zu bytes): %s", what, max, path);
	else if (rc == -EINVAL)
		log_err("%s is not a regular file: %s", what, path);
	else if (rc < 0)
		log_err("cannot read %s %s: %s", what, path, strerror(-rc));
	return rc;
}

int cli_write(const char *path, const void *p, size_t len, unsigned mode)
{
	int rc = util_write_atomic(path, p, len, mode);

	if (rc < 0)
		log_err("cannot write %s: %s", path, strerror(-rc));
	return rc;
}

int cli_safe_name(const char *name)
{
	if (!name || !*name || name[0] == '.' || strlen(name) > 255)
		return 0;
	for (const char *p = name; *p; p++)
		if (*p == '/' || (unsigned char)*p < 0x20 || *p == 0x7f)
			return 0;
	return 1;
}

char *cli_b64(const uint8_t *p, size_t len)
{
	size_t cap = cry_b64_encoded_len(len), olen;
	char *out = malloc(cap);

	if (!out)
		return NULL;
	if (cry_b64_encode(p, len, out, cap, &olen) < 0) {
		free(out);
		return NULL;
	}
	return out;
}

int cli_new_secret(char out[176])
{
	uint8_t raw[128];
	size_t olen;
	int rc = util_rng(NULL, raw, sizeof raw);

	if (rc == 0)
		rc = cry_b64_encode(raw, sizeof raw, out, 176, &olen);
	wipe(raw, sizeof raw);
	if (rc < 0)
		log_err("cannot generate a secret: %s", strerror(-rc));
	return rc;
}

static int uuid4(char out[37])
{
	uint8_t b[16];
	int rc = util_rng(NULL, b, sizeof b);

	if (rc < 0)
		return rc;
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);   /* version 4 */
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);   /* RFC 4122 variant */
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11],
		 b[12], b[13], b[14], b[15]);
	return 0;
}

static int secret_name(const char *k)
{
	static const char *const parts[] = { "secret", "password", "key", "token", "crn" };

	for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
		if (strcasestr(k, parts[i]))
			return 1;
	return strcasecmp(k, "state") == 0;
}

json *cli_mask(const json *j)
{
	json *m;

	if (!json_is_obj(j))
		return json_dup(j);
	m = json_new_obj();
	for (json *e = json_child(j); m && e; e = json_next(e)) {
		json *v = secret_name(json_key(e)) ? json_new_str("********") : json_dup(e);

		if (json_set(m, json_key(e), v) < 0) {   /* frees v on failure */
			json_free_secret(m);
			m = NULL;
		}
	}
	return m;
}

/* ---- params ---- */

const json *cli_param(const struct cli *c, const char *name)
{
	return c->params ? json_get(c->params, name) : NULL;
}

const char *cli_param_str(const struct cli *c, const char *name)
{
	return json_str(cli_param(c, name));
}

const char *cli_param_nonempty(const struct cli *c, const char *name)
{
	const char *s = cli_param_str(c, name);

	return s && *s ? s : NULL;
}

static void lower(char *dst, const char *src, size_t cap)
{
	size_t i;

	for (i = 0; src[i] && i + 1 < cap; i++)
		dst[i] = (char)tolower((unsigned char)src[i]);
	dst[i] = 0;
}

/* json_set() takes ownership of the copy, also when it fails. */
static int param_add(json *obj, const char *name, const json *v)
{
	return json_set(obj, name, json_dup(v)) < 0 ? -ENOMEM : 0;
}

/* build.py: every config key lower-cased (a later duplicate wins), the COS_*
 * fallbacks for MANIFEST_* and STATE_*, then every non-empty flag value. */
static int params_build(struct cli *c)
{
	static const char *const cos[] = { "cos_api_key_id", "cos_resource_crn", "cos_endpoint",
					   "cos_auth_endpoint", "cos_hmac_access_key_id",
					   "cos_hmac_secret_access_key", "cos_region" };
	char name[128];

	c->params = json_new_obj();
	if (!c->params)
		return -ENOMEM;
	for (json *e = json_child(c->conf); e; e = json_next(e)) {
		lower(name, json_key(e), sizeof name);
		if (param_add(c->params, name, e) < 0)
			return -ENOMEM;
	}
	for (json *e = json_child(c->over); e; e = json_next(e))
		if (param_add(c->params, json_key(e), e) < 0)
			return -ENOMEM;
	for (size_t i = 0; i < sizeof cos / sizeof cos[0]; i++) {
		const json *v = json_get(c->params, cos[i]);
		const char *pre[] = { "manifest_", "state_" };

		for (size_t k = 0; v && k < 2; k++) {
			snprintf(name, sizeof name, "%s%s", pre[k], cos[i]);
			if (!json_get(c->params, name) && param_add(c->params, name, v) < 0)
				return -ENOMEM;
		}
	}
	return 0;
}

/* ---- reading and rewriting the file ---- */

static int conf_read(struct cli *c, json **out)
{
	uint8_t *p = NULL;
	size_t len = 0;
	const char *err = NULL;
	int rc;

	*out = NULL;
	rc = util_read_file(c->env_path, CLI_MAX_CONFIG, &p, &len);
	if (rc == -ENOENT) {
		log_err("parameter file %s is not found: pass --env with the path of your "
			"sbs-config.json", c->env_path);
		return rc;
	}
	if (rc < 0) {
		log_err("cannot read parameter file %s: %s", c->env_path,
			rc == -EFBIG ? "file too large" : strerror(-rc));
		return rc;
	}
	rc = json_parse((const char *)p, len, out, &err);
	wipe_free(p, len);
	if (rc < 0) {
		log_err("failed parsing json parameter file %s: %s; fix the JSON syntax",
			c->env_path, rc == -E2BIG ? "nested too deeply" : (err ? err : "invalid"));
		return rc;
	}
	if (!json_is_obj(*out)) {
		log_err("parameter file %s must hold a JSON object ({...})", c->env_path);
		json_free_secret(*out);
		*out = NULL;
		return -EINVAL;
	}
	return 0;
}

/* Backup then replace: the old file gets a second name "<file>.<ts>" (a hard
 * link, or a copy where links are not supported) and the new content replaces
 * the file atomically, so the config is never missing or half written. */
static int conf_write(struct cli *c, const json *conf)
{
	char ts[32], backup[PATH_MAX_SBS + 40];
	uint8_t *old = NULL;
	size_t old_len = 0;
	char *txt = NULL;
	int rc = 0;

	util_ts_micro(ts);
	if ((size_t)snprintf(backup, sizeof backup, "%s.%s", c->env_path, ts) >= sizeof backup)
		return -ENAMETOOLONG;
	txt = json_print_py(conf, 4);
	if (!txt)
		return -ENOMEM;
	if (link(c->env_path, backup) < 0) {
		rc = util_read_file(c->env_path, CLI_MAX_CONFIG, &old, &old_len);
		if (rc == 0)
			rc = util_write_atomic(backup, old, old_len, 0600);
		if (rc < 0) {
			log_err("cannot back up parameter file %s to %s: %s", c->env_path, backup,
				strerror(-rc));
			goto out;
		}
	}
	log_info("parameter file %s backed up to %s", c->env_path, backup);
	rc = util_write_atomic(c->env_path, txt, strlen(txt), 0600);
	if (rc < 0)
		log_err("cannot rewrite parameter file %s: %s (the old content is in %s)",
			c->env_path, strerror(-rc), backup);
out:
	wipe_free(old, old_len);
	wipe_free(txt, strlen(txt));
	return rc;
}

/* build.py checks these exact (upper-case) names in the file. */
static int conf_autofill(struct cli *c)
{
	char uuid[37], secret[176];
	int changed = 0, rc = 0;

	if (!json_get(c->conf, "RUNTIME_TYPE")) {
		rc = json_set_str(c->conf, "RUNTIME_TYPE", "vpc");
		changed = 1;
	}
	if (rc == 0 && !json_get(c->conf, "UUID")) {
		rc = uuid4(uuid);
		if (rc == 0)
			rc = json_set_str(c->conf, "UUID", uuid);
		changed = 1;
	}
	if (rc == 0 && !json_get(c->conf, "SECRET")) {
		if (c->verbose > 1)
			log_info("generating a new secret");
		rc = cli_new_secret(secret);
		if (rc == 0)
			rc = json_set_str(c->conf, "SECRET", secret);
		wipe(secret, sizeof secret);
		changed = 1;
	}
	if (rc == 0 && changed)
		rc = conf_write(c, c->conf);
	return rc;
}

int cli_conf_set(struct cli *c, const char *key, const char *val)
{
	int rc = json_set_str(c->conf, key, val);

	if (rc < 0)
		return rc;
	return conf_write(c, c->conf);
}

/* ---- connection and paths ---- */

static int check_hostname(struct cli *c)
{
	const json *h = NULL;
	const char *s;

	/* case-insensitive, a later duplicate wins, like the lower-cased dict */
	for (json *e = json_child(c->conf); e; e = json_next(e))
		if (strcasecmp(json_key(e), "hostname") == 0)
			h = e;
	s = json_str(h);
	if (!s || !*s) {
		log_err("HOSTNAME is not configured. Add \"HOSTNAME\": \"<DNS name of the server>\" "
			"to %s: it is needed to generate certificates and to reach the server",
			c->env_path);
		return -EINVAL;
	}
	if (strlen(s) >= sizeof c->hostname || strspn(s, "abcdefghijklmnopqrstuvwxyz"
		"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") != strlen(s)) {
		log_err("HOSTNAME in %s must be a DNS name (letters, digits, '.', '-')", c->env_path);
		return -EINVAL;
	}
	snprintf(c->hostname, sizeof c->hostname, "%s", s);
	return 0;
}

static int set_port(struct cli *c)
{
	const json *p = cli_param(c, "cicd_port");
	uint64_t v;

	if (!p) {
		snprintf(c->port, sizeof c->port, "443");
		return 0;
	}
	if (json_is_num(p) && json_num(p) >= 1 && json_num(p) <= 65535 &&
	    json_num(p) == (double)(unsigned)json_num(p)) {
		snprintf(c->port, sizeof c->port, "%u", (unsigned)json_num(p));
		return 0;
	}
	if (json_str(p) && util_parse_u64(json_str(p), strlen(json_str(p)), 65535, &v) == 0 &&
	    v > 0) {
		snprintf(c->port, sizeof c->port, "%u", (unsigned)v);
		return 0;
	}
	log_err("CICD_PORT in %s must be a port number such as \"443\"", c->env_path);
	return -EINVAL;
}

static int path_fmt(char *out, size_t cap, const char *a, const char *b)
{
	if ((size_t)snprintf(out, cap, "%s%s", a, b) >= cap) {
		log_err("path too long: %.64s...", a);
		return -ENAMETOOLONG;
	}
	return 0;
}

/* A path from params (expanded) or dir + default name. */
static int path_param(struct cli *c, const char *name, char *out, const char *def)
{
	const char *v = cli_param_nonempty(c, name);

	if (v)
		return cli_expand(v, out, PATH_MAX_SBS);
	return path_fmt(out, PATH_MAX_SBS, c->certdir, def);
}

static int paths_build(struct cli *c)
{
	const char *cn = cli_param_nonempty(c, "container_name");
	const char *uuid = cli_param_nonempty(c, "uuid");
	const char *ck = cli_param_nonempty(c, "client_crt_key");
	const char *cp = cli_param_nonempty(c, "certpath");
	char tmp[PATH_MAX_SBS], *slash;
	int rc;

	if (!uuid || strchr(uuid, '/')) {
		log_err("UUID in %s must be a string; delete it to have a new one generated",
			c->env_path);
		return -EINVAL;
	}
	if (ck) {
		rc = cli_expand(ck, c->crt_key, sizeof c->crt_key);
	} else {
		if (!cn)
			cn = "container";
		if (strchr(cn, '/')) {
			log_err("CONTAINER_NAME must not contain '/'");
			return -EINVAL;
		}
		rc = snprintf(c->crt_key, sizeof c->crt_key, ".%s-%s", cn, uuid) <
		     (int)sizeof c->crt_key ? 0 : -ENAMETOOLONG;
	}
	if (rc == 0 && cp) {
		/* own keys: the directory part of CERTPATH holds the server files */
		c->own_keys = 1;
		rc = cli_expand(cp, tmp, sizeof tmp);
		slash = strrchr(tmp, '/');
		if (slash)
			*slash = 0;
		if (rc == 0)
			rc = path_fmt(c->certdir, sizeof c->certdir, slash ? tmp : ".", "");
	} else if (rc == 0) {
		rc = path_fmt(c->certdir, sizeof c->certdir, c->crt_key, ".d");
	}
	if (rc == 0)
		rc = path_param(c, "capath", c->capath, "/client-ca.pem");
	if (rc == 0)
		rc = path_param(c, "cakeypath", c->cakeypath, "/client-ca-key.pem");
	if (rc == 0)
		rc = path_param(c, "csrpath", c->csrpath, "/server-csr.pem");
	if (rc == 0)
		rc = path_param(c, "certpath", c->certpath, "/server-cert.pem");
	return rc;
}

int cli_conf_load(struct cli *c)
{
	int rc;

	rc = conf_read(c, &c->conf);
	if (rc == 0)
		rc = check_hostname(c);
	if (rc == 0)
		rc = conf_autofill(c);
	if (rc == 0)
		rc = params_build(c);
	if (rc == -ENOMEM)
		log_err("out of memory");
	if (rc == 0)
		rc = set_port(c);
	if (rc == 0)
		rc = paths_build(c);
	/* like build.py, the default certificate directory exists after any run */
	if (rc == 0 && !c->own_keys && !cli_exists(c->certdir)) {
		rc = util_mkdirs(c->certdir, 0700);
		if (rc < 0)
			log_err("failed to create a working directory at %s: %s", c->certdir,
				strerror(-rc));
	}
	return rc;
}

void cli_free(struct cli *c)
{
	json_free_secret(c->over);
	json_free_secret(c->conf);
	json_free_secret(c->params);
	c->over = c->conf = c->params = NULL;
}
