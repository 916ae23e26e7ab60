/* SPDX-License-Identifier: MIT */
/*
 * .dockerignore rules (contract in dockerignore.h). Each pattern is compiled
 * into a token list (literal byte, '?', class, '*', "**" forms) that one
 * small NFA runs over a path without backtracking, stepping only the live
 * states (patterns without wildcards are compared directly): one pass over
 * the path answers "does the pattern match the path or one of its parent
 * directories", and the set of live states after "dir/" answers "could the
 * pattern match anything below dir".
 */
#include "dockerignore.h"
#include "limits.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum tok_kind {
	T_LIT,          /* one byte */
	T_ANY,          /* ?: one byte but '/' */
	T_CLASS,        /* [...]: one byte of the class, never '/' */
	T_STAR,         /* *: bytes but '/' */
	T_DSTAR_DIRS,   /* ** not at the end: (.*\/)?, empty or anything ending in '/' */
	T_DSTAR_END,    /* ** at the end: anything */
};

struct tok {
	uint8_t kind;
	uint8_t c;              /* T_LIT */
	uint16_t cls;           /* T_CLASS: index in rule.cls */
};

struct rule {
	char *pat;              /* cleaned pattern, without '!' */
	struct tok *t;
	size_t nt;
	uint8_t (*cls)[32];     /* byte bitmaps */
	size_t ncls;
	int exception;
	int literal;            /* no * ? [ \: a plain path */
};

struct di_rules {
	struct rule *r;
	size_t n;
	int exceptions;
};

static int di_fail(const char *name, unsigned line, char *err, size_t errlen, int rc,
		   const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static int di_fail(const char *name, unsigned line, char *err, size_t errlen, int rc,
		   const char *fmt, ...)
{
	va_list ap;
	int k;

	if (!errlen)
		return rc;
	if (line)
		k = snprintf(err, errlen, "%.64s:%u: ", name, line);
	else
		k = snprintf(err, errlen, "%.64s: ", name);
	if (k >= 0 && (size_t)k < errlen) {
		va_start(ap, fmt);
		vsnprintf(err + k, errlen - (size_t)k, fmt, ap);
		va_end(ap);
	}
	for (char *c = err; *c; c++)
		if (*c < 0x20 || *c > 0x7e)
			*c = '?';
	return rc;
}

size_t di_clean(const char *in, size_t n, char *out)
{
	int rooted = n && in[0] == '/';
	size_t r = (size_t)rooted, w = (size_t)rooted, dotdot = (size_t)rooted;

	if (rooted)
		out[0] = '/';
	while (r < n) {
		if (in[r] == '/') {
			r++;
		} else if (in[r] == '.' && (r + 1 == n || in[r + 1] == '/')) {
			r++;
		} else if (in[r] == '.' && in[r + 1] == '.' && (r + 2 == n || in[r + 2] == '/')) {
			r += 2;
			if (w > dotdot) {
				for (w--; w > dotdot && out[w] != '/'; w--)
					;
			} else if (!rooted) {
				if (w > 0)
					out[w++] = '/';
				out[w++] = '.';
				out[w++] = '.';
				dotdot = w;
			}
		} else {
			if ((rooted && w != 1) || (!rooted && w != 0))
				out[w++] = '/';
			for (; r < n && in[r] != '/'; r++)
				out[w++] = in[r];
		}
	}
	if (w == 0)
		out[w++] = '.';
	out[w] = 0;
	return w;
}

/* A class byte at p[*i] (escaped with '\'); -1 if '-' or ']' unescaped or
 * the pattern ends, as Go's filepath.Match refuses them. */
static int class_byte(const char *p, size_t n, size_t *i)
{
	if (*i >= n || p[*i] == '-' || p[*i] == ']')
		return -1;
	if (p[*i] == '\\' && ++*i >= n)
		return -1;
	return (unsigned char)p[(*i)++];
}

/* "[...]" at p[*i] into bits; NULL or the reason it is malformed. */
static const char *parse_class(const char *p, size_t n, size_t *i, uint8_t bits[32])
{
	int neg = 0, ranges = 0;

	memset(bits, 0, 32);
	if (++*i < n && p[*i] == '^')
		neg = 1, ++*i;
	for (;;) {
		if (*i >= n)
			return "unterminated [";
		if (p[*i] == ']' && ranges) {
			++*i;
			break;
		}
		int lo = class_byte(p, n, i), hi = lo;
		if (lo < 0)
			return "bad character in []";
		if (*i < n && p[*i] == '-') {
			++*i;
			if ((hi = class_byte(p, n, i)) < 0 || hi < lo)
				return "bad range in []";
		}
		for (int c = lo; c <= hi; c++)
			bits[c >> 3] |= (uint8_t)(1u << (c & 7));
		ranges++;
	}
	if (neg)
		for (int k = 0; k < 32; k++)
			bits[k] = (uint8_t)~bits[k];
	bits['/' >> 3] &= (uint8_t)~(1u << ('/' & 7));
	return NULL;
}

/* Compiles r->pat. NULL or the reason it is malformed. */
static const char *compile(struct rule *r)
{
	const char *p = r->pat, *why;
	size_t n = strlen(p), i = 0;

	r->t = calloc(n + 1, sizeof *r->t);
	r->cls = calloc(n / 2 + 1, sizeof *r->cls);
	if (!r->t || !r->cls)
		return "out of memory";
	while (i < n) {
		struct tok *t = &r->t[r->nt++];
		char c = p[i];
		if (c == '*' && i + 1 < n && p[i + 1] == '*') {
			i += 2;
			if (i < n && p[i] == '/')
				i++;
			t->kind = i >= n ? T_DSTAR_END : T_DSTAR_DIRS;
		} else if (c == '*') {
			t->kind = T_STAR, i++;
		} else if (c == '?') {
			t->kind = T_ANY, i++;
		} else if (c == '[') {
			t->kind = T_CLASS;
			t->cls = (uint16_t)r->ncls;
			if ((why = parse_class(p, n, &i, r->cls[r->ncls++])))
				return why;
		} else {
			if (c == '\\' && i + 1 < n)
				c = p[++i];
			t->kind = T_LIT;
			t->c = (uint8_t)c;
			i++;
		}
	}
	return NULL;
}

/* A set of NFA states: per state the flags, and the list of states set. */
#define S_ACT 1                 /* may take the next token */
#define S_MID 2                 /* inside "**" dirs, not right after a '/' */

struct nfa {
	uint8_t f[DI_MAX_PATTERN + 2];
	uint16_t list[DI_MAX_PATTERN + 2];
	size_t n;
};

/* Sets flag on state i and, for S_ACT, on the states reachable from it
 * without input (past '*' and "**" forms, which may match nothing). */
static void add(const struct rule *r, struct nfa *s, size_t i, uint8_t flag)
{
	for (;;) {
		if (!s->f[i])
			s->list[s->n++] = (uint16_t)i;
		if (s->f[i] & flag)
			return;
		s->f[i] |= flag;
		if (flag != S_ACT || i >= r->nt || r->t[i].kind < T_STAR)
			return;
		i++;
	}
}

/* One byte of input: the states of cur lead to those of nx. */
static void step(const struct rule *r, const struct nfa *cur, struct nfa *nx, unsigned char c)
{
	for (size_t k = 0; k < cur->n; k++) {
		size_t i = cur->list[k];
		int act = cur->f[i] & S_ACT;
		if (i >= r->nt)
			continue;               /* the accepting state consumes nothing */
		const struct tok *t = &r->t[i];
		switch (t->kind) {
		case T_LIT:
			if (act && c == t->c)
				add(r, nx, i + 1, S_ACT);
			break;
		case T_ANY:
			if (act && c != '/')
				add(r, nx, i + 1, S_ACT);
			break;
		case T_CLASS:
			if (act && (r->cls[t->cls][c >> 3] >> (c & 7) & 1))
				add(r, nx, i + 1, S_ACT);
			break;
		case T_STAR:
			if (act && c != '/')
				add(r, nx, i, S_ACT);
			break;
		case T_DSTAR_END:
			if (act)
				add(r, nx, i, S_ACT);
			break;
		case T_DSTAR_DIRS:              /* may leave only right after a '/' */
			add(r, nx, i, c == '/' ? S_ACT : S_MID);
			break;
		}
	}
}

/* Runs the NFA over s[0..n). want_parent: 1 if the pattern matches s or a
 * parent of s (accepting just before a '/' or at the end); else 1 if any
 * state is alive after all of s. Work: O(n x live states). */
static int run(const struct rule *r, const char *s, size_t n, int want_parent)
{
	struct nfa a, b, *cur = &a, *nx = &b;
	size_t m = r->nt + 1;

	if (r->literal) {                       /* no wildcard: compare */
		size_t pl = strlen(r->pat);
		if (!want_parent)
			return pl >= n && memcmp(r->pat, s, n) == 0;
		return pl <= n && memcmp(r->pat, s, pl) == 0 && (pl == n || s[pl] == '/');
	}
	memset(a.f, 0, m);
	memset(b.f, 0, m);
	a.n = b.n = 0;
	add(r, cur, 0, S_ACT);
	for (size_t k = 0; k < n; k++) {
		unsigned char c = (unsigned char)s[k];
		if (want_parent && c == '/' && (cur->f[r->nt] & S_ACT))
			return 1;
		step(r, cur, nx, c);
		for (size_t j = 0; j < cur->n; j++)
			cur->f[cur->list[j]] = 0;
		cur->n = 0;
		struct nfa *x = cur;
		cur = nx, nx = x;
		if (!cur->n)
			return 0;
	}
	return want_parent ? (cur->f[r->nt] & S_ACT) != 0 : 1;
}

static void rule_free(struct rule *r)
{
	free(r->pat);
	free(r->t);
	free(r->cls);
}

void di_free(struct di_rules *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++)
		rule_free(&r->r[i]);
	free(r->r);
	free(r);
}

static void trim(const char **l, size_t *n)
{
	while (*n && strchr(" \t\v\f\r", **l))
		(*l)++, (*n)--;
	while (*n && strchr(" \t\v\f\r", (*l)[*n - 1]))
		(*n)--;
}

/* One pattern line (not a comment, not blank) into a new rule. */
static int add_rule(struct di_rules *rs, const char *name, unsigned line, const char *l,
		    size_t n, char *err, size_t errlen)
{
	struct rule *r;
	const char *why;
	int exc = l[0] == '!';

	if (exc) {
		l++, n--;
		trim(&l, &n);
		if (!n)
			return di_fail(name, line, err, errlen, -EINVAL, "illegal exclusion pattern: \"!\"");
	}
	if (rs->n >= DI_MAX_RULES)
		return di_fail(name, line, err, errlen, -E2BIG, "more than %d patterns", DI_MAX_RULES);
	if (n > DI_MAX_PATTERN)
		return di_fail(name, line, err, errlen, -E2BIG, "pattern longer than %d bytes",
			       DI_MAX_PATTERN);
	if (!(rs->n % 64)) {
		struct rule *nr = realloc(rs->r, (rs->n + 64) * sizeof *nr);
		if (!nr)
			return -ENOMEM;
		rs->r = nr;
	}
	r = &rs->r[rs->n];
	memset(r, 0, sizeof *r);
	r->exception = exc;
	if (!(r->pat = malloc(n + 2)))
		return -ENOMEM;
	size_t k = di_clean(l, n, r->pat);
	if (k > 1 && r->pat[0] == '/')
		memmove(r->pat, r->pat + 1, k);  /* the NUL too */
	rs->n++;
	if ((why = compile(r))) {
		char shown[48];
		size_t sn = strlen(r->pat) > 40 ? 40 : strlen(r->pat);
		memcpy(shown, r->pat, sn);
		shown[sn] = 0;
		return di_fail(name, line, err, errlen, -EINVAL, "bad pattern \"%s\": %s", shown, why);
	}
	r->literal = !strpbrk(r->pat, "*?[\\");
	rs->exceptions |= exc;
	return 0;
}

int di_parse(const char *name, const uint8_t *p, size_t len, struct di_rules **out,
	     char *err, size_t errlen)
{
	struct di_rules *rs;
	const char *s = (const char *)p;
	size_t pos = 0;
	unsigned line = 0;
	int rc = 0;

	*out = NULL;
	if (errlen)
		err[0] = 0;
	name = name ? name : ".dockerignore";
	if (len > DI_MAX_FILE)
		return di_fail(name, 0, err, errlen, -E2BIG, "larger than %u bytes", DI_MAX_FILE);
	if (!(rs = calloc(1, sizeof *rs)))
		return -ENOMEM;
	if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
		pos = 3;
	while (pos < len && rc == 0) {
		const char *l = s + pos, *nl = memchr(l, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - l) : len - pos;
		pos += n + (nl != NULL);
		line++;
		if (memchr(l, 0, n)) {
			rc = di_fail(name, line, err, errlen, -EINVAL, "NUL byte");
			break;
		}
		if (n && l[0] == '#')
			continue;
		trim(&l, &n);
		if (n)
			rc = add_rule(rs, name, line, l, n, err, errlen);
	}
	if (rc < 0) {
		di_free(rs);
		return rc;
	}
	*out = rs;
	return 0;
}

size_t di_count(const struct di_rules *r)
{
	return r ? r->n : 0;
}

const char *di_pattern(const struct di_rules *r, size_t i, int *exception)
{
	if (!r || i >= r->n)
		return NULL;
	if (exception)
		*exception = r->r[i].exception;
	return r->r[i].pat;
}

/* Could an exception match something below dir (the cleaned path)? */
static int reincludable(const struct di_rules *rs, const char *dir, size_t n)
{
	char sl[DI_MAX_PATH + 2];

	memcpy(sl, dir, n);
	sl[n] = '/';
	for (size_t i = 0; i < rs->n; i++)
		if (rs->r[i].exception && run(&rs->r[i], sl, n + 1, 0))
			return 1;
	return 0;
}

int di_match(const struct di_rules *rs, const char *path, size_t len, int is_dir)
{
	char c[DI_MAX_PATH + 2];
	const char *p;
	size_t n;
	int matched = 0;

	if (len > DI_MAX_PATH)
		return -E2BIG;
	if (memchr(path, 0, len))
		return -EINVAL;
	while (len && *path == '/')                     /* relative to the context */
		path++, len--;
	n = di_clean(path, len, c);
	p = c;
	if (n == 1 && p[0] == '.')
		return DI_INCLUDE;                      /* the context root */
	if (n >= 2 && p[0] == '.' && p[1] == '.' && (n == 2 || p[2] == '/'))
		return -EINVAL;
	for (size_t i = 0; rs && i < rs->n; i++) {
		const struct rule *r = &rs->r[i];
		if (r->exception != matched)            /* cannot change the outcome */
			continue;
		if (run(r, p, n, 1))
			matched = !r->exception;
	}
	if (!matched)
		return DI_INCLUDE;
	if (is_dir && !(rs->exceptions && reincludable(rs, p, n)))
		return DI_PRUNE;
	return DI_EXCLUDE;
}
