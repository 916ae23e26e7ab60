/* SPDX-License-Identifier: MIT */
/*
 * Tests of src/dockerignore.c: tables of .dockerignore text, path, is_dir and
 * the expected decision, worked out by hand from Docker's documented rules
 * (docs.docker.com "Dockerignore files" and moby/patternmatcher's behaviour:
 * last match wins, a pattern matching a parent directory matches its
 * children, "**" spans directories, a trailing '/' is cleaned away), the
 * cleaned patterns, di_clean() against Go's filepath.Clean examples, the
 * exact error messages of malformed files, and every limit at and over it.
 */
#include "dockerignore.h"
#include "limits.h"
#include "tutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define I DI_INCLUDE
#define X DI_EXCLUDE
#define P DI_PRUNE

struct row {
	const char *path;
	int is_dir;
	int want;
};

static void table(const char *text, const struct row *rows)
{
	struct di_rules *r = NULL;
	char err[256];
	int rc = di_parse(".dockerignore", (const uint8_t *)text, strlen(text), &r, err, sizeof err);

	CHECK(rc == 0);
	if (rc < 0) {
		fprintf(stderr, "parse failed: %s\n", err);
		return;
	}
	for (const struct row *w = rows; w->path; w++) {
		int got = di_match(r, w->path, strlen(w->path), w->is_dir);
		CHECK(got == w->want);
		if (got != w->want)
			fprintf(stderr, "patterns [%s] path \"%s\" dir=%d: want %d got %d\n", text,
				w->path, w->is_dir, w->want, got);
	}
	di_free(r);
}

static void matching(void)
{
	table("*.md\n!README.md\n", (const struct row[]){
		{ "notes.md", 0, X }, { "README.md", 0, I }, { "docs/notes.md", 0, I },
		{ "x.md", 1, P }, { "src", 1, I }, { NULL, 0, 0 } });
	table("/build/\n./tmp//cache/\nlogs/../out\n", (const struct row[]){
		{ "build", 1, P }, { "build/x/y.o", 0, X }, { "build", 0, X },
		{ "builder", 0, I }, { "tmp/cache/a", 0, X }, { "tmp/other", 0, I },
		{ "tmp", 1, I }, { "out/f", 0, X }, { "logs/f", 0, I },
		{ "./build/../build/a", 0, X }, { "/build", 0, X }, { "src//build", 0, I },
		{ NULL, 0, 0 } });
	table("**/*.log\n!keep/**/*.log\n**/node_modules\nsrc/**/gen\ndocs/**\n", (const struct row[]){
		{ "a.log", 0, X }, { "x/y/a.log", 0, X }, { "keep/a.log", 0, I },
		{ "keep/deep/b.log", 0, I }, { "keep", 1, I }, { "node_modules", 1, P },
		{ "web/node_modules/x/y.js", 0, X }, { "src/gen", 0, X },
		{ "src/a/b/gen/f.c", 0, X }, { "src/generator", 0, I }, { "docs", 1, I },
		{ "docs/a", 0, X }, { "keep/x", 1, I }, { "z.log", 1, P }, { "keep/d.log", 1, I },
		{ NULL, 0, 0 } });
	table("vendor\n!vendor/keep.txt\n", (const struct row[]){
		{ "vendor", 1, X }, { "vendor/keep.txt", 0, I }, { "vendor/other", 0, X },
		{ "vendor/sub", 1, P }, { "vendorx", 0, I }, { NULL, 0, 0 } });
	table("a?c\n[b-d]x\n[^a-y]z\n\\*lit\ndocs/*/draft\n", (const struct row[]){
		{ "abc", 0, X }, { "a/c", 0, I }, { "ac", 0, I }, { "cx", 0, X }, { "ex", 0, I },
		{ "zz", 0, X }, { "az", 0, I }, { "/z", 0, I }, { "*lit", 0, X }, { "xlit", 0, I },
		{ "docs/v1/draft", 0, X }, { "docs/v1/x/draft", 0, I }, { "docs/draft", 0, I },
		{ NULL, 0, 0 } });
	table("*\n!src\n!*.json\n", (const struct row[]){
		{ "Makefile", 0, X }, { "src", 1, I }, { "src/main.c", 0, I }, { "build", 1, P },
		{ "package.json", 0, I }, { "lib/x.json", 0, X }, { "lib", 1, P }, { NULL, 0, 0 } });
	/* the last match wins, in both directions */
	table("!a.txt\na.txt\nb.txt\n!b.txt\nb.txt\n", (const struct row[]){
		{ "a.txt", 0, X }, { "b.txt", 0, X }, { NULL, 0, 0 } });
	/* exception below an excluded tree that uses ** */
	table("cache\n!cache/**/*.keep\n", (const struct row[]){
		{ "cache", 1, X }, { "cache/a/b", 1, X }, { "cache/a/b/x.keep", 0, I },
		{ "cache/a/b/x.tmp", 0, X }, { NULL, 0, 0 } });
	/* comments only at column 0; blanks trimmed; BOM and CRLF */
	table("\xef\xbb\xbf# comment\r\n  # not a comment\r\n*.tmp\r\n  spaced.txt  \r\n\r\n",
	      (const struct row[]){
		{ "# not a comment", 0, X }, { "# comment", 0, I }, { "a.tmp", 0, X },
		{ "spaced.txt", 0, X }, { NULL, 0, 0 } });
	table("", (const struct row[]){
		{ "anything", 0, I }, { "dir", 1, I }, { NULL, 0, 0 } });
	/* the root, and paths that leave the context */
	table("*\n", (const struct row[]){
		{ ".", 1, I }, { "", 1, I }, { "/", 1, I }, { "..", 1, -EINVAL },
		{ "../x", 0, -EINVAL }, { "a/../../x", 0, -EINVAL }, { "a/..", 1, I },
		{ "/../x", 0, -EINVAL }, { "//a/../b", 0, X },
		{ NULL, 0, 0 } });
}

static void patterns(void)
{
	const char *text = "/build/\n./tmp//cache/\nlogs/../out\n! keep \n**/\n/\n";
	const char *want[] = { "build", "tmp/cache", "out", "keep", "**", "/" };
	struct di_rules *r;
	char err[128];
	int exc;

	CHECK(di_parse(NULL, (const uint8_t *)text, strlen(text), &r, err, sizeof err) == 0);
	CHECK(di_count(r) == 6);
	for (size_t i = 0; i < 6; i++) {
		const char *p = di_pattern(r, i, &exc);
		CHECK(p && strcmp(p, want[i]) == 0);
		CHECK(exc == (i == 3));
	}
	CHECK(di_pattern(r, 6, &exc) == NULL);
	di_free(r);
}

static void cleaning(void)
{
	static const char *const rows[][2] = {
		{ "", "." }, { ".", "." }, { "./", "." }, { "a//b/./c/", "a/b/c" },
		{ "/../a", "/a" }, { "a/../..", ".." }, { "../../x", "../../x" }, { "/", "/" },
		{ "a/b/../../c", "c" }, { "abc/./../def", "def" }, { "//a//", "/a" },
		{ "a/b/..", "a" }, { "..a/b..", "..a/b.." }, { ".../x", ".../x" },
	};
	char out[64];

	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		size_t n = di_clean(rows[i][0], strlen(rows[i][0]), out);
		CHECK(n == strlen(rows[i][1]) && strcmp(out, rows[i][1]) == 0);
		if (strcmp(out, rows[i][1]) != 0)
			fprintf(stderr, "clean \"%s\": want \"%s\" got \"%s\"\n", rows[i][0], rows[i][1], out);
	}
}

static void bad(const char *text, size_t len, int rc_want, const char *msg)
{
	struct di_rules *r = (struct di_rules *)1;
	char err[256];
	int rc = di_parse(".dockerignore", (const uint8_t *)text, len, &r, err, sizeof err);

	CHECK(rc == rc_want && r == NULL);
	CHECK(strcmp(err, msg) == 0);
	if (rc != rc_want || strcmp(err, msg) != 0)
		fprintf(stderr, "bad: want %d [%s] got %d [%s]\n", rc_want, msg, rc, err);
}

static void errors(void)
{
	bad("!\n", 2, -EINVAL, ".dockerignore:1: illegal exclusion pattern: \"!\"");
	bad("ok\n !  \n", 8, -EINVAL, ".dockerignore:2: illegal exclusion pattern: \"!\"");
	bad("# c\n[\n", 6, -EINVAL, ".dockerignore:2: bad pattern \"[\": unterminated [");
	bad("a[]b\n", 5, -EINVAL, ".dockerignore:1: bad pattern \"a[]b\": bad character in []");
	bad("[z-a]\n", 6, -EINVAL, ".dockerignore:1: bad pattern \"[z-a]\": bad range in []");
	bad("[-a]\n", 5, -EINVAL, ".dockerignore:1: bad pattern \"[-a]\": bad character in []");
	bad("a\nb\0c\n", 6, -EINVAL, ".dockerignore:2: NUL byte");
}

static char *lines(size_t count, size_t width, size_t *len)
{
	char *p = malloc(count * (width + 1) + 1);

	for (size_t i = 0; i < count; i++) {
		memset(p + i * (width + 1), 'a', width);
		p[i * (width + 1) + width] = '\n';
	}
	*len = count * (width + 1);
	return p;
}

static void limits(void)
{
	struct di_rules *r;
	char err[128], msg[128], *p, path[DI_MAX_PATH + 2];
	size_t len;

	p = lines(DI_MAX_RULES, 3, &len);
	CHECK(di_parse(NULL, (uint8_t *)p, len, &r, err, sizeof err) == 0 && di_count(r) == DI_MAX_RULES);
	di_free(r);
	free(p);
	p = lines(DI_MAX_RULES + 1, 3, &len);
	snprintf(msg, sizeof msg, ".dockerignore:%d: more than %d patterns", DI_MAX_RULES + 1,
		 DI_MAX_RULES);
	bad(p, len, -E2BIG, msg);
	free(p);
	p = lines(1, DI_MAX_PATTERN, &len);
	CHECK(di_parse(NULL, (uint8_t *)p, len, &r, err, sizeof err) == 0);
	/* the longest pattern against the longest path: a match, no blow-up */
	memset(path, 'a', DI_MAX_PATTERN);
	CHECK(di_match(r, path, DI_MAX_PATTERN, 0) == X);
	CHECK(di_match(r, path, DI_MAX_PATTERN - 1, 0) == I);
	di_free(r);
	free(p);
	p = lines(1, DI_MAX_PATTERN + 1, &len);
	snprintf(msg, sizeof msg, ".dockerignore:1: pattern longer than %d bytes", DI_MAX_PATTERN);
	bad(p, len, -E2BIG, msg);
	free(p);
	p = lines(DI_MAX_FILE / 2 + 1, 1, &len);
	snprintf(msg, sizeof msg, ".dockerignore: larger than %u bytes", DI_MAX_FILE);
	bad(p, len, -E2BIG, msg);
	free(p);
	/* paths: at the limit and over; a worst-case pattern stays linear */
	const char *w = "**/*a*a*a*a*a*a*a*a*a*a*b\n";
	CHECK(di_parse(NULL, (const uint8_t *)w, strlen(w), &r, err, sizeof err) == 0);
	memset(path, 'a', sizeof path);
	CHECK(di_match(r, path, DI_MAX_PATH, 0) == I);
	CHECK(di_match(r, path, DI_MAX_PATH + 1, 0) == -E2BIG);
	path[DI_MAX_PATH - 1] = 'b';
	CHECK(di_match(r, path, DI_MAX_PATH, 0) == X);
	CHECK(di_match(r, "a\0b", 3, 0) == -EINVAL);
	di_free(r);
}

int main(void)
{
	matching();
	patterns();
	cleaning();
	errors();
	limits();
	return tu_done("test_dockerignore");
}
