/* SPDX-License-Identifier: MIT */
/*
 * dockerignore: the .dockerignore file of a build context, with the
 * semantics of Docker's CLI and BuildKit (moby/patternmatcher). No I/O: the
 * caller reads the file (untrusted bytes) and walks the context.
 *
 * File: one pattern per line; a line whose first byte is '#' is a comment;
 * blanks around a pattern are trimmed; empty lines are skipped; a leading '!'
 * makes an exception (re-includes what earlier lines excluded). Each pattern
 * is cleaned like Go's filepath.Clean ("./a//b/" -> "a/b", "a/../b" -> "b")
 * and a leading '/' dropped, so "/foo", "./foo" and "foo/" are all "foo":
 * a trailing slash does NOT restrict a pattern to directories (Docker's rule,
 * unlike .gitignore). Syntax: '*' any run of bytes but '/', '?' one byte but
 * '/', "[...]" a class of bytes ("[^...]" negated, ranges "a-z", '\' escapes;
 * a class never matches '/'), '\' escapes the next byte, "**" any number of
 * whole directories ("**" + "/", or "**" at the end: anything at all). A
 * malformed class ("[", "[]", "[z-a]", "[-a]") is refused like Go's
 * filepath.Match refuses it, and so is a lone "!".
 *
 * Matching: the last pattern that matches a path decides, and a pattern also
 * matches every path below a path it matches ("vendor" excludes
 * "vendor/a/b"). So a matched directory's children are excluded unless an
 * exception could re-include them: di_match() on a directory returns
 * DI_PRUNE when it is excluded and no exception pattern can match anything
 * below it (the walker may skip the whole subtree), and DI_EXCLUDE when it is
 * excluded but an exception might re-include something below it (the walker
 * must descend, omit the directory entry itself, and create it only as the
 * parent of a re-included child). The context root "." is never excluded.
 * Callers keep the Dockerfile and .dockerignore readable by the build
 * whatever the patterns say (Docker sends them anyway).
 *
 * Limits (src/limits.h): DI_MAX_FILE bytes, DI_MAX_RULES patterns,
 * DI_MAX_PATTERN bytes per pattern, DI_MAX_PATH bytes per path; over a limit
 * is an error, never truncation. Cost of one di_match(): O(path length x
 * pattern length) per pattern, no backtracking.
 *
 * Errors: 0 or a negative errno: -EINVAL (bad pattern or a NUL byte, with
 * "<name>:<line>: <reason>" in err; a path that leaves the context), -E2BIG
 * (a limit), -ENOMEM. Ownership: di_parse() allocates *out; di_free() it.
 */
#ifndef SBS_DOCKERIGNORE_H
#define SBS_DOCKERIGNORE_H

#include <stddef.h>
#include <stdint.h>

#include "limits.h"

struct di_rules;

enum di_result {
	DI_INCLUDE = 0,   /* send it */
	DI_EXCLUDE = 1,   /* leave it out; a directory: descend, children may be re-included */
	DI_PRUNE = 2,     /* an excluded directory nothing below which can be re-included */
};

/* Parses len bytes of a .dockerignore called name (for messages). An empty
 * file gives rules that exclude nothing. */
int di_parse(const char *name, const uint8_t *p, size_t len, struct di_rules **out,
	     char *err, size_t errlen);
void di_free(struct di_rules *r);
/* Patterns kept, and the i-th one as cleaned ("!" prefix for exceptions);
 * for tests and logs. NULL past the end. */
size_t di_count(const struct di_rules *r);
const char *di_pattern(const struct di_rules *r, size_t i, int *exception);

/* Decides path[0..len), a '/'-separated path relative to the context root
 * (leading '/' ignored, then cleaned). is_dir says whether it is a
 * directory. Returns an enum di_result, -EINVAL for a path that leaves the
 * context ("..", "../x") or holds a NUL byte, -E2BIG over DI_MAX_PATH. */
int di_match(const struct di_rules *r, const char *path, size_t len, int is_dir);

/* Go's filepath.Clean of in[0..n) into out (room for n + 2 bytes), with a
 * terminating NUL; returns the length. "" -> ".". */
size_t di_clean(const char *in, size_t n, char *out);

#endif
