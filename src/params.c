/* SPDX-License-Identifier: MIT */
/*
 * params: the build parameters (contract in params.h). One JSON object in
 * memory, mirrored in <dir>/params.json (0600, util_write_atomic: the file
 * holds the old or the new set, never a mix). Every change builds a complete
 * new set, persists it, and only then replaces the old one, so a failed write
 * leaves memory and disk as they were.
 *
 * Validation messages are static or name a key, never a value; a key is only
 * ever named after it passed the name check (1..PARAM_MAX_NAME characters of
 * [A-Za-z0-9_]), so a hostile name cannot inject text into a reply or a log.
 * Keys beyond the documented list are stored (build.py sends whatever is in
 * the config), but every value must be a string, except ARG and ISV_SECRET
 * (objects of strings) and ENV_WHITELIST (array of strings). Secrets in the
 * set are wiped when a set is freed (json_free_secret) and when the printed
 * file image is released.
 */
#include "params.h"
#include "limits.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Longest accepted parameter name: the documented ones are at most 32. */
#define PARAM_MAX_NAME 64

enum mode { M_INIT, M_UPDATE, M_REPLACE };

static const char *const required[] = {
	"RUNTIME_TYPE", "DOCKER_REPO", "DOCKER_USER", "DOCKER_PASSWORD", "GITHUB_URL", "SECRET",
};
static const char *const runtime_types[] = { "vpc", "classic", "on-prem" };

static struct {
	json *set;
	char path[PATH_MAX_SBS];
} P;

static int name_ok(const char *k)
{
	size_t n = 0;

	if (!k)
		return 0;
	for (; k[n]; n++) {
		char c = k[n];
		if (n >= PARAM_MAX_NAME)
			return 0;
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || c == '_'))
			return 0;
	}
	return n > 0;
}

/* Message helper: "<key><rest>" into msgbuf, or a static fallback. */
static int fail(char *buf, size_t cap, const char **msg, const char *key, const char *rest)
{
	if (buf && cap && key && (size_t)snprintf(buf, cap, "%s%s", key, rest) < cap)
		*msg = buf;
	else
		*msg = "invalid parameters";
	return -EINVAL;
}

/* A container (ARG, ISV_SECRET: object; ENV_WHITELIST: array) whose every
 * member is a string; adds the string bytes to *size. */
static int strings_only(const json *v, int want_obj, size_t *size)
{
	if (want_obj ? !json_is_obj(v) : !json_is_arr(v))
		return 0;
	for (const json *m = json_child(v); m; m = json_next(m)) {
		const char *s = json_str(m);
		if (!s)
			return 0;
		*size += strlen(s) + (want_obj ? strlen(json_key(m)) : 0);
	}
	return 1;
}

/* Type and size of one member; *size gets its string bytes. */
static int check_value(const json *m, size_t *size, char *buf, size_t cap, const char **msg)
{
	const char *k = json_key(m), *s;
	size_t n = 0;

	if (strcmp(k, "ARG") == 0 || strcmp(k, "ISV_SECRET") == 0) {
		if (!strings_only(m, 1, &n))
			return fail(buf, cap, msg, k, " must be an object of strings");
	} else if (strcmp(k, "ENV_WHITELIST") == 0) {
		if (!strings_only(m, 0, &n))
			return fail(buf, cap, msg, k, " must be an array of strings");
	} else {
		s = json_str(m);
		if (!s)
			return fail(buf, cap, msg, k, " must be a string");
		n = strlen(s);
	}
	if (n > PARAM_MAX_VALUE)
		return fail(buf, cap, msg, k, " is too long");
	*size = n;
	return 0;
}

/* Names, duplicates, types, sizes: everything that needs no other state. */
static int check_members(const json *body, char *buf, size_t cap, const char **msg)
{
	size_t total = 0, n = 0;
	int rc;

	for (const json *m = json_child(body); m; m = json_next(m)) {
		const char *k = json_key(m);
		if (!name_ok(k)) {
			*msg = "parameter names must be 1 to 64 characters of A-Z, a-z, 0-9 and _";
			return -EINVAL;
		}
		for (const json *p = json_child(body); p != m; p = json_next(p))
			if (strcmp(json_key(p), k) == 0)
				return fail(buf, cap, msg, k, " is given more than once");
		rc = check_value(m, &n, buf, cap, msg);
		if (rc < 0)
			return rc;
		total += n + strlen(k);
		if (total > PARAM_MAX_TOTAL) {
			*msg = "parameters are too large";
			return -E2BIG;
		}
	}
	return 0;
}

static int runtime_ok(const char *rt)
{
	for (size_t i = 0; i < sizeof runtime_types / sizeof runtime_types[0]; i++)
		if (strcmp(rt, runtime_types[i]) == 0)
			return 1;
	return 0;
}

/* Rules that depend on the mode: RUNTIME_TYPE, required keys, NEW_SECRET. */
static int check_rules(const json *body, enum mode md, char *buf, size_t cap, const char **msg)
{
	const char *rt = json_get_str(body, "RUNTIME_TYPE");
	const char *old = P.set ? json_get_str(P.set, "RUNTIME_TYPE") : NULL;
	const char *ns = json_get_str(body, "NEW_SECRET"), *sec;

	if (rt && !runtime_ok(rt)) {
		*msg = "unknown RUNTIME_TYPE (vpc, classic, on-prem)";
		return -EINVAL;
	}
	if (md == M_UPDATE && rt && old && strcmp(rt, old) != 0) {
		*msg = "RUNTIME_TYPE cannot change on update";
		return -EINVAL;
	}
	if (md == M_INIT) {
		for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
			if (!json_get(body, required[i]))
				return fail(buf, cap, msg, "missing required parameter ",
					    required[i]);
	}
	sec = json_get_str(body, "SECRET");
	if (md != M_REPLACE && sec && !sec[0]) {
		*msg = "SECRET must not be empty";
		return -EINVAL;
	}
	if (md == M_UPDATE && ns && !ns[0]) {
		*msg = "NEW_SECRET must not be empty";
		return -EINVAL;
	}
	return 0;
}

static int check(const json *body, enum mode md, char *buf, size_t cap, const char **msg)
{
	const char *dummy;
	int rc;

	if (!msg)
		msg = &dummy;
	*msg = NULL;
	if (!json_is_obj(body)) {
		*msg = "the parameters must be a JSON object";
		return -EINVAL;
	}
	if (json_count(body) > PARAM_MAX_KEYS) {
		*msg = "too many parameters";
		return -E2BIG;
	}
	rc = check_members(body, buf, cap, msg);
	if (rc == 0)
		rc = check_rules(body, md, buf, cap, msg);
	return rc;
}

int params_check(const json *body, int is_init, char *msgbuf, size_t cap, const char **msg)
{
	return check(body, is_init ? M_INIT : M_UPDATE, msgbuf, cap, msg);
}

/* Writes set to params.json; the printed text holds secrets and is wiped. */
static int persist(const json *set)
{
	char *txt;
	size_t n;
	int rc;

	if (!P.path[0])
		return -EBADF;
	txt = json_print(set);
	if (!txt)
		return -ENOMEM;
	n = strlen(txt);
	rc = util_write_atomic(P.path, txt, n, 0600);
	wipe_free(txt, n);
	return rc;
}

/* Persists next and makes it current, or frees it and changes nothing. */
static int install(json *next)
{
	int rc = persist(next);

	if (rc < 0) {
		log_err("params: cannot write params.json (%s)", strerror(-rc));
		json_free_secret(next);
		return rc;
	}
	json_free_secret(P.set);
	P.set = next;
	return 0;
}

/* Copies body into set (existing keys replaced). NEW_SECRET is never stored
 * under its own name: on update it becomes SECRET; on init too, except the
 * "1" that build.py's `init --new-secret` sends (the flag's count); a state
 * image import (M_REPLACE) drops it. */
static int merge(json *set, const json *body, enum mode md)
{
	const char *ns = json_get_str(body, "NEW_SECRET");
	json *v;
	int rc;

	for (const json *m = json_child(body); m; m = json_next(m)) {
		if (strcmp(json_key(m), "NEW_SECRET") == 0)
			continue;
		v = json_dup(m);
		if (!v)
			return -ENOMEM;
		rc = json_set(set, json_key(m), v);
		if (rc < 0)
			return rc;
	}
	if (!ns || md == M_REPLACE || (md == M_INIT && strcmp(ns, "1") == 0))
		return 0;
	return json_set_str(set, "SECRET", ns);
}

/* Validates body, builds the next set from base (NULL = empty) and installs it. */
static int change(const json *body, enum mode md, const json *base)
{
	json *next;
	int rc;

	if (!P.set)
		return -EBADF;
	rc = check(body, md, NULL, 0, NULL);
	if (rc < 0)
		return rc;
	next = base ? json_dup(base) : json_new_obj();
	if (!next)
		return -ENOMEM;
	rc = merge(next, body, md);
	if (rc < 0) {
		json_free_secret(next);
		return rc;
	}
	return install(next);
}

int params_apply(const json *body, int is_init)
{
	int rc = change(body, is_init ? M_INIT : M_UPDATE, is_init ? NULL : P.set);

	if (rc == 0)
		log_info("params: %s applied (%zu parameters)", is_init ? "init" : "update",
			 json_count(P.set));
	return rc;
}

int params_replace(const json *all)
{
	return change(all, M_REPLACE, NULL);
}

int params_open(const char *dir)
{
	uint8_t *txt = NULL;
	size_t len = 0;
	const char *err = NULL;
	json *set = NULL;
	int rc;

	if (!dir || !dir[0])
		return -EINVAL;
	if (P.set)
		return -EBUSY;
	rc = snprintf(P.path, sizeof P.path, "%s/params.json", dir);
	if (rc < 0 || (size_t)rc >= sizeof P.path) {
		P.path[0] = 0;
		return -ENAMETOOLONG;
	}
	rc = util_mkdirs(dir, 0700);
	if (rc == 0)
		rc = util_read_file(P.path, STORE_MAX_FILE, &txt, &len);
	if (rc == -ENOENT) {
		set = json_new_obj();
		rc = set ? 0 : -ENOMEM;
	} else if (rc == 0) {
		rc = json_parse((const char *)txt, len, &set, &err);
		if (rc == 0 && !json_is_obj(set))
			rc = -EINVAL;
		if (rc < 0)
			log_err("params: params.json is not a JSON object; refusing to start over");
	}
	wipe_free(txt, len);
	if (rc < 0) {
		json_free_secret(set);
		P.path[0] = 0;
		return rc;
	}
	P.set = set;
	return 0;
}

void params_close(void)
{
	json_free_secret(P.set);
	P.set = NULL;
	P.path[0] = 0;
}

const json *params_get(void)
{
	return P.set;
}

const char *params_str(const char *key)
{
	return P.set && key ? json_get_str(P.set, key) : NULL;
}

/* The listed secret names, matched without regard to case, plus TOKEN and
 * PRIVATE: an unknown key that looks secret is treated as one. */
int params_is_secret(const char *key)
{
	static const char *const parts[] = { "SECRET", "PASSWORD", "API_KEY", "TOKEN", "PRIVATE" };

	if (!key)
		return 0;
	if (strcasecmp(key, "GITHUB_KEY") == 0)
		return 1;
	for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
		if (strcasestr(key, parts[i]))
			return 1;
	return 0;
}

int params_initialised(void)
{
	if (!P.set)
		return 0;
	for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
		if (!json_get_str(P.set, required[i]))
			return 0;
	return 1;
}
