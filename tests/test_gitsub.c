/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the submodule helpers (src/git_submod.c): the .gitmodules
 * parser (git's config syntax: sections, quoting, escapes, comments,
 * continuations; hostile names and paths; limits), submodule URL
 * resolution (golden answers from git 2.39's `git submodule init` with
 * remote.origin.url set, recorded in the comments; refusals of file://,
 * ext::, local paths, option-like URLs and "../" above the host) and the
 * same-origin rule that decides where credentials may go.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "git.h"
#include "tutil.h"

static int parse(const char *text, struct git_gm_entry **e, size_t *n, char *err, size_t cap)
{
	return git_gitmodules_parse((const uint8_t *)text, strlen(text), e, n, err, cap);
}

static void test_parse_ok(void)
{
	struct git_gm_entry *e = NULL;
	size_t n = 0;
	char err[512] = "";
	const char *t =
		"\xef\xbb\xbf# a comment\n"
		"[submodule \"lib/a\"]\n"
		"\tpath = lib/a\n"
		"\turl = https://example.com/a.git ; trailing comment\n"
		"[core]\n"
		"\tpath = ignored\n"
		"[Submodule \"q\\\"x\"]  # comment after a header\n"
		"\tPATH = \"with  space\" \n"
		"\turl = ../b.git\n"
		"\tbranch = dev\n"
		"\tupdate\n"
		"[submodule \"lib/a\"]\n"
		"\turl = \"https://example.com/a2.git\"\n"
		"[submodule \"cont\"]\n"
		"\tpath = c\\\n"
		"ont\n"
		"\turl = \"./x\\ty\" # tab escape\r\n"
		"[submodule \"nopath\"]\n"
		"\turl = https://example.com/n.git\n";

	CHECK(parse(t, &e, &n, err, sizeof err) == 0);
	CHECK(n == 3);
	if (n == 3) {
		CHECK(strcmp(e[0].name, "lib/a") == 0 && strcmp(e[0].path, "lib/a") == 0);
		CHECK(strcmp(e[0].url, "https://example.com/a2.git") == 0);   /* the later line wins */
		CHECK(strcmp(e[1].name, "q\"x") == 0 && strcmp(e[1].path, "with  space") == 0);
		CHECK(strcmp(e[1].url, "../b.git") == 0 && strcmp(e[1].branch, "dev") == 0);
		CHECK(strcmp(e[2].path, "cont") == 0 && strcmp(e[2].url, "./x\ty") == 0);
	}
	free(e);
	/* empty text, only comments */
	CHECK(parse("", &e, &n, err, sizeof err) == 0 && n == 0);
	free(e);
	CHECK(parse("; x\n# y\n\n", &e, &n, err, sizeof err) == 0 && n == 0);
	free(e);
	/* inner unquoted blanks become single spaces each, as git keeps them */
	CHECK(parse("[submodule \"s\"]\npath = a\tb\nurl=u:x\n", &e, &n, err, sizeof err) == 0 &&
	      n == 1 && strcmp(e[0].path, "a b") == 0 && strcmp(e[0].url, "u:x") == 0);
	free(e);
}

static void test_parse_bad(void)
{
	static const char *const bad[] = {
		"path = x\n",                                   /* a key before any section */
		"[submodule \"a\"\npath = x\n",                 /* no ']' */
		"[submodule \"a]\npath = x\n",                  /* unterminated name */
		"[]\n",
		"[sub module]\n",
		"[submodule \"a\"] junk\n",
		"[submodule \"a\"]\npath = \"x\n",              /* unterminated quote */
		"[submodule \"a\"]\npath = x\\q\n",             /* bad escape */
		"[submodule \"a\"]\n=x\n",
		"[submodule \"a\"]\n1path = x\n",
		"[submodule \"a\"]\npath x\n",
		"[submodule \"a\"]\npath = ../../etc\nurl = ./x\n",   /* traversal in path= */
		"[submodule \"a\"]\npath = a/../../b\nurl = ./x\n",
		"[submodule \"a\"]\npath = /abs\nurl = ./x\n",
		"[submodule \"a\"]\npath = -opt\nurl = ./x\n",
		"[submodule \"a\"]\npath = x/.git/hooks\nurl = ./x\n",
		"[submodule \"a\"]\npath = x/.GIT\nurl = ./x\n",
		"[submodule \"a\"]\npath = x//y\nurl = ./x\n",
		"[submodule \"a\"]\npath = x/\nurl = ./x\n",
		"[submodule \"a\"]\npath = x/./y\nurl = ./x\n",
		"[submodule \"../../x\"]\npath = x\nurl = ./x\n",   /* CVE-2018-11235 name */
		"[submodule \"a/../b\"]\npath = x\nurl = ./x\n",
		"[submodule \"\"]\npath = x\nurl = ./x\n",
		"[submodule \"a\"]\npath = x\n[submodule \"b\"]\npath = x\n",   /* one path twice */
	};
	struct git_gm_entry *e = (void *)1;
	size_t n = 7;
	char err[512];

	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		err[0] = 0;
		int rc = parse(bad[i], &e, &n, err, sizeof err);
		CHECK(rc == -EBADMSG);
		CHECK(e == NULL && n == 0 && err[0] != 0);
		if (rc != -EBADMSG)
			fprintf(stderr, "  accepted: %s", bad[i]);
	}
	/* a NUL, a control byte in a path */
	CHECK(git_gitmodules_parse((const uint8_t *)"[submodule \"a\"]\npath = a\0b\n", 25, &e, &n,
				   err, sizeof err) == -EBADMSG);
	CHECK(parse("[submodule \"a\"]\npath = a\x01" "b\nurl=./x\n", &e, &n, err, sizeof err) ==
	      -EBADMSG);
	/* the line is named */
	CHECK(parse("[submodule \"a\"]\n\npath = \"x\n", &e, &n, err, sizeof err) == -EBADMSG &&
	      strstr(err, "line 3") != NULL);
}

static void test_parse_limits(void)
{
	struct git_gm_entry *e;
	size_t n, cap = (size_t)GIT_MAX_SUBMODULES * 40 + 64, len = 0;
	char *t = malloc(cap), err[256];
	uint8_t *big;

	for (unsigned i = 0; i <= GIT_MAX_SUBMODULES; i++)
		len += (size_t)snprintf(t + len, cap - len, "[submodule \"m%u\"]\npath = p%u\n", i, i);
	CHECK(parse(t, &e, &n, err, sizeof err) == -EBADMSG && strstr(err, "too many"));
	free(t);
	big = calloc(1, GIT_MAX_GITMODULES + 1);
	CHECK(git_gitmodules_parse(big, GIT_MAX_GITMODULES + 1, &e, &n, err, sizeof err) == -EFBIG);
	free(big);
	/* a value over its limit */
	t = malloc(GIT_MAX_PATH + 64);
	len = (size_t)snprintf(t, 64, "[submodule \"a\"]\npath = ");
	memset(t + len, 'a', GIT_MAX_PATH);
	t[len + GIT_MAX_PATH] = 0;
	CHECK(parse(t, &e, &n, err, sizeof err) == -EBADMSG && strstr(err, "too long"));
	free(t);
}

struct ucase {
	const char *base, *url, *want;      /* want NULL: refused */
};

static void test_urls(void)
{
	static const struct ucase c[] = {
		/* git 2.39 `git submodule init` answers */
		{ "https://h/u/super.git", "../other.git", "https://h/u/other.git" },
		{ "https://h/u/super.git", "./sub", "https://h/u/super.git/sub" },
		{ "https://h/u/super.git", "../../x.git", "https://h/x.git" },
		{ "https://h/u/super.git/", "../o", "https://h/u/o" },
		{ "git@h:u/super.git", "../o.git", "git@h:u/o.git" },
		{ "git@h:u/super.git", "../../o.git", "git@h:o.git" },
		{ "git@h:super.git", "../o.git", "git@h:o.git" },
		{ "ssh://git@h:2222/u/s.git", "../o", "ssh://git@h:2222/u/o" },
		{ "https://h:8443/a/b/c", "../../d", "https://h:8443/a/d" },
		{ "h:/abs/x", "../y", "h:/abs/y" },
		{ "https://h/u/s.git", ".././../x", "https://h/x" },
		{ "https://h/u/s.git", "./../x", "https://h/u/x" },
		/* git gives https://x.git (the host climbed over): refused here */
		{ "https://h/u/super.git", "../../../x.git", NULL },
		{ "git@h:super.git", "../../o.git", NULL },
		{ "ssh://git@h/r", "../../x", NULL },
		/* git keeps "a/../b" for the server to resolve: refused here */
		{ "https://h/u/s.git", "../a/../b", NULL },
		{ "https://h/u/s.git", "../", NULL },
		{ "https://h/u/s.git", "./..", NULL },
		/* absolute URLs are kept as they are */
		{ "https://h/u/s.git", "https://other.example/x.git", "https://other.example/x.git" },
		{ "https://h/u/s.git", "http://h:8080/x", "http://h:8080/x" },
		{ "https://h/u/s.git", "ssh://git@o/x.git", "ssh://git@o/x.git" },
		{ "https://h/u/s.git", "git@github.com:o/x.git", "git@github.com:o/x.git" },
		{ NULL, "https://h/x", "https://h/x" },
		/* refused transports and forms */
		{ "https://h/u/s.git", "file:///etc", NULL },
		{ "https://h/u/s.git", "file://h/x", NULL },
		{ "https://h/u/s.git", "ext::sh -c touch% /tmp/pwned", NULL },
		{ "https://h/u/s.git", "ext::sh", NULL },
		{ "https://h/u/s.git", "fd::17", NULL },
		{ "https://h/u/s.git", "git://h/x", NULL },
		{ "https://h/u/s.git", "ftp://h/x", NULL },
		{ "https://h/u/s.git", "/srv/git/x", NULL },
		{ "https://h/u/s.git", "x/y", NULL },
		{ "https://h/u/s.git", "..", NULL },
		{ "https://h/u/s.git", "", NULL },
		{ "https://h/u/s.git", "-oProxyCommand=x", NULL },
		{ "https://h/u/s.git", "--upload-pack=x:y", NULL },
		{ "https://h/u/s.git", "ssh://-oProxyCommand=x/y", NULL },
		{ "https://h/u/s.git", "-h:x", NULL },
		{ "https://h/u/s.git", "h:-x", NULL },
		{ "https://h/u/s.git", "https://h/a b", NULL },
		{ "https://h/u/s.git", "https://h/a\nb", NULL },
		{ "https://h/u/s.git", "https://h/a\\b", NULL },
		{ "https://h/u/s.git", "h:x'y", NULL },
		{ "file:///srv/s.git", "../x", NULL },
		{ NULL, "../x", NULL },
		{ "/srv/s.git", "./x", NULL },
	};
	char out[HCL_MAX_URL + 1], err[512];

	for (size_t i = 0; i < sizeof c / sizeof *c; i++) {
		err[0] = 0;
		int rc = git_submodule_url(c[i].base, c[i].url, out, sizeof out, err, sizeof err);

		if (c[i].want) {
			CHECK(rc == 0 && strcmp(out, c[i].want) == 0);
			if (rc != 0 || strcmp(out, c[i].want) != 0)
				fprintf(stderr, "  %s + %s: %d %s %s\n", c[i].base, c[i].url, rc,
					rc ? err : out, c[i].want);
		} else {
			CHECK(rc == -EINVAL && strstr(err, "refused") != NULL);
			if (rc != -EINVAL)
				fprintf(stderr, "  %s + %s accepted: %s\n", c[i].base, c[i].url, out);
		}
	}
	/* no control byte of a hostile URL reaches the message */
	CHECK(git_submodule_url("https://h/x", "ext::a\x1b[2Jb", out, sizeof out, err, sizeof err) ==
	      -EINVAL && !strchr(err, 0x1b));
	/* credentials of a refused URL do not reach the message */
	CHECK(git_submodule_url("https://h/x", "https://u:pw-s3cret@h/a b", out, sizeof out, err,
				sizeof err) == -EINVAL && !strstr(err, "s3cret") && strstr(err, "https://h/a b"));
	/* a URL with its own userinfo is kept as it is (its credentials are its own) */
	CHECK(git_submodule_url("https://h/x", "https://u:p@h/a", out, sizeof out, err, sizeof err) == 0 &&
	      strcmp(out, "https://u:p@h/a") == 0);
	/* the output's capacity */
	CHECK(git_submodule_url("https://h/u/s.git", "../abcdef", out, 12, err, sizeof err) == -EINVAL);
}

static void test_origin(void)
{
	CHECK(git_same_origin("https://h/a.git", "https://h/b/c.git"));
	CHECK(git_same_origin("https://H/a.git", "https://h:443/b"));
	CHECK(git_same_origin("https://u:p@h/a", "https://h/b"));
	CHECK(!git_same_origin("https://h/a", "http://h/a"));
	CHECK(!git_same_origin("https://h/a", "https://h:8443/a"));
	CHECK(!git_same_origin("https://h/a", "https://h.evil/a"));
	CHECK(!git_same_origin("https://h/a", "https://evil/h/a"));
	CHECK(!git_same_origin("https://h/a", "git@h:a"));
	CHECK(git_same_origin("git@h:a", "ssh://git@h:2222/b"));
	CHECK(git_same_origin("git@h:a", "other@H:b"));
	CHECK(!git_same_origin("git@h:a", "git@h2:a"));
	CHECK(!git_same_origin("garbage", "garbage"));
}

int main(void)
{
	test_parse_ok();
	test_parse_bad();
	test_parse_limits();
	test_urls();
	test_origin();
	return tu_done("gitsub");
}
