/* SPDX-License-Identifier: MIT */
/*
 * Tests of src/params.c in a temporary directory: one validation message per
 * bad case (wrong types, missing required keys, unknown RUNTIME_TYPE, too many
 * keys, bad names, oversize values), messages that never carry a value, the
 * init (replace) / update (merge) / NEW_SECRET (rotate) semantics, build.py's
 * `init --new-secret` quirk, persistence across close/open, params.json mode
 * 0600 and atomic writes (no temp file left, a failed write changes nothing),
 * and that nothing logged while doing all this contains a secret value.
 */
#include "params.h"
#include "limits.h"
#include "tutil.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char root[] = "/tmp/sbs-test-params-XXXXXX";
static char dir[300], file[320];

/* The values every test body uses; none may ever appear in a message or log. */
#define PW  "pw-Zq81-secret-value"
#define SEC "U2VjcmV0LXN0YXRlLXNlY3JldA=="
#define INIT_BODY "{\"RUNTIME_TYPE\": \"vpc\", \"DOCKER_REPO\": \"acme/app\", " \
	"\"DOCKER_USER\": \"acme-user\", \"DOCKER_PASSWORD\": \"" PW "\", " \
	"\"GITHUB_URL\": \"git@github.com:acme/app.git\", \"SECRET\": \"" SEC "\", " \
	"\"BUILD_IMAGE_TAG\": \"\", \"GITHUB_KEY\": \"-----BEGIN OPENSSH PRIVATE KEY-----\", " \
	"\"BASE_REPO_PUBLIC_KEY\": \"\", \"ARG\": {\"V\": \"1\"}, \"ENV_WHITELIST\": [\"A\", \"B\"]"

static json *parse(const char *txt)
{
	json *j = NULL;
	const char *err = NULL;

	CHECK(json_parse(txt, strlen(txt), &j, &err) == 0);
	return j;
}

/* Fails if any string value (or object member value) in j occurs in msg. */
static int leaks(const json *j, const char *msg)
{
	const char *s = json_str(j);

	if (s && strlen(s) >= 3 && strstr(msg, s))
		return 1;
	for (const json *c = json_child(j); c; c = json_next(c))
		if (leaks(c, msg))
			return 1;
	return 0;
}

/* The body must be refused with exactly msg_want; the message leaks nothing. */
static void bad(const char *body, int is_init, int rc_want, const char *msg_want)
{
	char buf[256];
	const char *msg = NULL;
	json *j = parse(body);
	int rc = params_check(j, is_init, buf, sizeof buf, &msg);

	CHECK(rc == rc_want);
	CHECK(msg && strcmp(msg, msg_want) == 0);
	if (!msg || strcmp(msg, msg_want) != 0)
		fprintf(stderr, "  wanted \"%s\", got \"%s\"\n", msg_want, msg ? msg : "(null)");
	CHECK(msg && !leaks(j, msg) && !strstr(msg, PW) && !strstr(msg, SEC));
	CHECK(params_apply(j, is_init) == rc_want);
	json_free_secret(j);
}

static void good(const char *body, int is_init)
{
	char buf[256];
	const char *msg = "unset";
	json *j = parse(body);

	CHECK(params_check(j, is_init, buf, sizeof buf, &msg) == 0);
	CHECK(params_apply(j, is_init) == 0);
	json_free_secret(j);
}

static void test_messages(void)
{
	char body[1024];
	static const char *const req[] = {
		"RUNTIME_TYPE", "DOCKER_REPO", "DOCKER_USER", "DOCKER_PASSWORD", "GITHUB_URL", "SECRET",
	};

	bad("[]", 1, -EINVAL, "the parameters must be a JSON object");
	bad("\"x\"", 0, -EINVAL, "the parameters must be a JSON object");
	bad("{\"ARG\": \"" PW "\"}", 0, -EINVAL, "ARG must be an object of strings");
	bad("{\"ARG\": {\"A\": 1}}", 0, -EINVAL, "ARG must be an object of strings");
	bad("{\"ARG\": [\"" PW "\"]}", 0, -EINVAL, "ARG must be an object of strings");
	bad("{\"ISV_SECRET\": {\"k\": [\"" PW "\"]}}", 0, -EINVAL,
	    "ISV_SECRET must be an object of strings");
	bad("{\"ENV_WHITELIST\": \"A,B\"}", 0, -EINVAL, "ENV_WHITELIST must be an array of strings");
	bad("{\"ENV_WHITELIST\": [\"A\", 2]}", 0, -EINVAL,
	    "ENV_WHITELIST must be an array of strings");
	bad("{\"DOCKER_PASSWORD\": 12345}", 0, -EINVAL, "DOCKER_PASSWORD must be a string");
	bad("{\"EXIT_NONZERO\": true}", 0, -EINVAL, "EXIT_NONZERO must be a string");
	bad("{\"DOCKER_USER\": null}", 0, -EINVAL, "DOCKER_USER must be a string");
	bad("{\"MY_OWN_KEY\": {\"a\": \"b\"}}", 0, -EINVAL, "MY_OWN_KEY must be a string");
	bad("{\"RUNTIME_TYPE\": \"lpar\"}", 0, -EINVAL, "unknown RUNTIME_TYPE (vpc, classic, on-prem)");
	bad("{\"A B\": \"" PW "\"}", 0, -EINVAL,
	    "parameter names must be 1 to 64 characters of A-Z, a-z, 0-9 and _");
	bad("{\"\": \"x\"}", 0, -EINVAL,
	    "parameter names must be 1 to 64 characters of A-Z, a-z, 0-9 and _");
	bad("{\"" PW "\": \"x\"}", 0, -EINVAL,
	    "parameter names must be 1 to 64 characters of A-Z, a-z, 0-9 and _");
	bad("{\"SECRET\": \"\"}", 0, -EINVAL, "SECRET must not be empty");
	bad("{\"NEW_SECRET\": \"\"}", 0, -EINVAL, "NEW_SECRET must not be empty");
	for (size_t i = 0; i < sizeof req / sizeof req[0]; i++) {
		char want[96];
		json *j = parse(INIT_BODY "}");
		char *txt;
		json_del(j, req[i]);
		txt = json_print(j);
		snprintf(want, sizeof want, "missing required parameter %s", req[i]);
		bad(txt, 1, -EINVAL, want);
		wipe_free(txt, strlen(txt));
		json_free_secret(j);
	}
	/* classic and on-prem are accepted; update needs no required keys */
	snprintf(body, sizeof body, "{\"RUNTIME_TYPE\": \"on-prem\"}");
	json *j = parse(body);
	const char *msg;
	CHECK(params_check(j, 0, NULL, 0, &msg) == 0);
	json_free(j);
	/* no message buffer: a key-naming message falls back to a static one */
	j = parse("{\"ARG\": 1}");
	CHECK(params_check(j, 0, NULL, 0, &msg) == -EINVAL && strcmp(msg, "invalid parameters") == 0);
	char tiny[4];
	CHECK(params_check(j, 0, tiny, sizeof tiny, &msg) == -EINVAL &&
	      strcmp(msg, "invalid parameters") == 0);
	json_free(j);
}

static void test_limits(void)
{
	struct buf b = { 0 };
	char *big;
	size_t n;

	buf_append(&b, "{", 1);
	for (int i = 0; i < PARAM_MAX_KEYS + 1; i++)
		buf_printf(&b, "%s\"K%d\": \"v\"", i ? ", " : "", i);
	buf_append(&b, "}", 1);
	bad((char *)b.data, 0, -E2BIG, "too many parameters");
	buf_free(&b);

	n = PARAM_MAX_VALUE + 1;
	big = malloc(n + 64);
	CHECK(big != NULL);
	if (!big)
		return;
	memcpy(big, "{\"BUILD_DIR\": \"", 15);
	memset(big + 15, 'a', n);
	memcpy(big + 15 + n, "\"}", 3);
	bad(big, 0, -EINVAL, "BUILD_DIR is too long");
	free(big);

	/* five values just under the per-value limit exceed the total */
	b = (struct buf){ 0 };
	buf_append(&b, "{", 1);
	for (int i = 0; i < 5; i++) {
		buf_printf(&b, "%s\"V%d\": \"", i ? ", " : "", i);
		for (size_t k = 0; k < PARAM_MAX_VALUE / 64; k++)
			buf_append(&b, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
				   64);
		buf_append(&b, "\"", 1);
	}
	buf_append(&b, "}", 1);
	bad((char *)b.data, 0, -E2BIG, "parameters are too large");
	buf_free(&b);
}

static int temp_files(void)
{
	DIR *d = opendir(dir);
	int n = 0;

	for (struct dirent *e; d && (e = readdir(d));)
		n += strstr(e->d_name, ".tmp") != NULL;
	if (d)
		closedir(d);
	return n;
}

static char *file_text(void)
{
	uint8_t *d = NULL;
	size_t n = 0;

	return util_read_file(file, STORE_MAX_FILE, &d, &n) == 0 ? (char *)d : NULL;
}

static void test_semantics(void)
{
	struct stat st;
	const json *set;

	CHECK(params_initialised() == 0);
	CHECK(json_is_obj(params_get()) && json_count(params_get()) == 0);
	CHECK(stat(file, &st) < 0);
	/* init, with build.py's `init --new-secret` quirk */
	good(INIT_BODY ", \"NEW_SECRET\": \"1\", \"X_EXTRA\": \"kept\"}", 1);
	CHECK(params_initialised() == 1);
	CHECK(params_str("SECRET") && strcmp(params_str("SECRET"), SEC) == 0);
	CHECK(params_str("NEW_SECRET") == NULL);
	CHECK(params_str("X_EXTRA") && strcmp(params_str("X_EXTRA"), "kept") == 0);
	CHECK(params_str("ARG") == NULL);
	set = params_get();
	CHECK(json_is_obj(json_get(set, "ARG")) && json_is_arr(json_get(set, "ENV_WHITELIST")));
	CHECK(stat(file, &st) == 0 && (st.st_mode & 07777) == 0600);
	CHECK(temp_files() == 0);

	/* update merges */
	good("{\"GITHUB_BRANCH\": \"dev\", \"DOCKER_REPO\": \"acme/other\", \"RUNTIME_TYPE\": \"vpc\"}", 0);
	CHECK(strcmp(params_str("GITHUB_BRANCH"), "dev") == 0);
	CHECK(strcmp(params_str("DOCKER_REPO"), "acme/other") == 0);
	CHECK(strcmp(params_str("DOCKER_PASSWORD"), PW) == 0);
	CHECK(strcmp(params_str("X_EXTRA"), "kept") == 0);
	/* RUNTIME_TYPE cannot change on update */
	char *before = file_text();
	bad("{\"RUNTIME_TYPE\": \"classic\"}", 0, -EINVAL, "RUNTIME_TYPE cannot change on update");
	char *after = file_text();
	CHECK(before && after && strcmp(before, after) == 0);   /* refused: nothing written */
	wipe_free(before, before ? strlen(before) : 0);
	wipe_free(after, after ? strlen(after) : 0);

	/* rotation: NEW_SECRET becomes SECRET, whatever the member order */
	good("{\"NEW_SECRET\": \"rotated-1\", \"SECRET\": \"" SEC "\"}", 0);
	CHECK(strcmp(params_str("SECRET"), "rotated-1") == 0 && !params_str("NEW_SECRET"));
	good("{\"SECRET\": \"rotated-1\", \"NEW_SECRET\": \"1\"}", 0);   /* update: "1" is a secret */
	CHECK(strcmp(params_str("SECRET"), "1") == 0);

	/* a second init replaces the whole set; a real NEW_SECRET on init rotates */
	good(INIT_BODY ", \"NEW_SECRET\": \"fresh\"}", 1);
	CHECK(params_str("GITHUB_BRANCH") == NULL && params_str("X_EXTRA") == NULL);
	CHECK(strcmp(params_str("SECRET"), "fresh") == 0);
	CHECK(strcmp(params_str("DOCKER_REPO"), "acme/app") == 0);
	CHECK(temp_files() == 0);
}

static void test_persistence(void)
{
	char *a = json_print(params_get()), *b;
	json *all;

	params_close();
	CHECK(params_get() == NULL && params_initialised() == 0);
	CHECK(params_apply(NULL, 0) == -EBADF);
	CHECK(params_open(dir) == 0);
	CHECK(params_open(dir) == -EBUSY);
	b = json_print(params_get());
	CHECK(a && b && strcmp(a, b) == 0);
	CHECK(params_initialised() == 1);
	wipe_free(b, b ? strlen(b) : 0);

	/* state-image import: replace; a stray NEW_SECRET is dropped */
	all = parse("{\"RUNTIME_TYPE\": \"classic\", \"REPO_ID\": \"r1\", \"SECRET\": \"s2\", "
		    "\"NEW_SECRET\": \"zzz\", \"ARG\": {}}");
	CHECK(params_replace(all) == 0);
	json_free_secret(all);
	CHECK(strcmp(params_str("SECRET"), "s2") == 0 && !params_str("NEW_SECRET"));
	CHECK(params_str("DOCKER_REPO") == NULL && params_initialised() == 0);
	all = parse("{\"ARG\": 5}");
	CHECK(params_replace(all) == -EINVAL);
	json_free(all);
	params_close();
	CHECK(params_open(dir) == 0);
	CHECK(strcmp(params_str("REPO_ID"), "r1") == 0);
	all = parse(a);
	CHECK(params_replace(all) == 0);
	json_free_secret(all);
	wipe_free(a, a ? strlen(a) : 0);
}

/* A write that cannot complete changes neither memory nor disk. */
static void test_failed_write(void)
{
	char *a = json_print(params_get()), *b;
	json *j = parse("{\"GITHUB_BRANCH\": \"never\"}");
	char moved[400];

	snprintf(moved, sizeof moved, "%s.moved", file);
	CHECK(rename(file, moved) == 0);
	CHECK(mkdir(file, 0700) == 0);       /* rename over a directory fails */
	CHECK(params_apply(j, 0) < 0);
	CHECK(params_str("GITHUB_BRANCH") == NULL);
	b = json_print(params_get());
	CHECK(a && b && strcmp(a, b) == 0);
	CHECK(temp_files() == 0);
	CHECK(rmdir(file) == 0 && rename(moved, file) == 0);
	json_free(j);
	wipe_free(a, a ? strlen(a) : 0);
	wipe_free(b, b ? strlen(b) : 0);

	/* a corrupt params.json is an error at open, and is kept */
	params_close();
	CHECK(util_write_atomic(file, "{\"a\":", 5, 0600) == 0);
	CHECK(params_open(dir) == -EINVAL);
	CHECK(util_write_atomic(file, "[]", 2, 0600) == 0);
	CHECK(params_open(dir) == -EINVAL);
	a = file_text();
	CHECK(a && strcmp(a, "[]") == 0);
	free(a);
	CHECK(params_open(NULL) == -EINVAL);
}

static void test_is_secret(void)
{
	static const char *const yes[] = {
		"SECRET", "NEW_SECRET", "DOCKER_PASSWORD", "DOCKER_BASE_PASSWORD", "DOCKER_RO_PASSWORD",
		"GITHUB_KEY", "MANIFEST_COS_API_KEY_ID", "STATE_COS_API_KEY_ID", "ISV_SECRET",
		"SECRETS", "docker_password", "MY_TOKEN",
	};
	static const char *const no[] = {
		"DOCKER_USER", "DOCKER_REPO", "GITHUB_URL", "RUNTIME_TYPE", "BASE_REPO_PUBLIC_KEY",
		"ARG", "ENV_WHITELIST", "IMAGE_TAG_PREFIX", "MANIFEST_BUCKET_NAME",
	};

	for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
		CHECK(params_is_secret(yes[i]) == 1);
	for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
		CHECK(params_is_secret(no[i]) == 0);
	CHECK(params_is_secret(NULL) == 0);
}

/* Everything logged during the run, checked for secret values. */
static void test_log_clean(const char *logpath)
{
	uint8_t *d = NULL;
	size_t n = 0;

	CHECK(util_read_file(logpath, 1 << 20, &d, &n) == 0);
	if (tu_failures && d)
		fprintf(stderr, "---- stderr during the run:\n%s----\n", (char *)d);
	CHECK(d && !strstr((char *)d, PW) && !strstr((char *)d, SEC) &&
	      !strstr((char *)d, "rotated-1") && !strstr((char *)d, "fresh"));
	CHECK(d && strstr((char *)d, "params:") != NULL);    /* something was logged */
	free(d);
}

static int rm_cb(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(p);
}

int main(void)
{
	char logpath[400];
	int saved, fd;

	if (!mkdtemp(root)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(dir, sizeof dir, "%s/data", root);
	snprintf(file, sizeof file, "%s/params.json", dir);
	snprintf(logpath, sizeof logpath, "%s/log", root);
	fflush(stderr);
	saved = dup(2);
	fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	dup2(fd, 2);
	close(fd);

	CHECK(params_open(dir) == 0);
	test_messages();
	test_limits();
	test_semantics();
	test_persistence();
	test_failed_write();
	test_is_secret();
	params_close();

	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	test_log_clean(logpath);
	nftw(root, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	return tu_done("test_params");
}
