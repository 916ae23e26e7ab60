/* SPDX-License-Identifier: MIT */
/*
 * The Dockerfile parser (contract in dockerfile.h): physical lines are cut
 * from the input in place, parser directives are read at the top, comment
 * and blank lines dropped, continuations joined into one bounded logical line,
 * which is split into keyword, --flags and arguments the way BuildKit's
 * parser splits each instruction; here-documents are read after the line that
 * names them. All strings go to one arena per file. The arguments of each
 * instruction are read by dockerfile_args.c; expansion, evaluation and the
 * dump printer are in dockerfile_eval.c.
 */
#include "dockerfile.h"
#include "dockerfile_int.h"
#include "limits.h"
#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- arena: blocks of DF_BLK bytes, large strings get their own block ---- */

#define DF_BLK 16384

struct df_blk {
	struct df_blk *next;
	size_t used, cap;
	max_align_t data[];
};

struct df_arena {
	struct df_blk *head;
};

struct df_arena *df_arena_new(void)
{
	return calloc(1, sizeof(struct df_arena));
}

void df_arena_free(struct df_arena *a)
{
	if (!a)
		return;
	for (struct df_blk *b = a->head, *nx; b; b = nx) {
		nx = b->next;
		free(b);
	}
	free(a);
}

/* Zeroed memory, aligned for any type; NULL on overflow or no memory. */
void *df_arena_alloc(struct df_arena *a, size_t n)
{
	const size_t al = _Alignof(max_align_t);
	struct df_blk *b = a->head;
	void *p;

	if (n > SIZE_MAX / 2)
		return NULL;
	n = (n + al - 1) & ~(al - 1);
	if (!b || b->cap - b->used < n) {
		size_t cap = n > DF_BLK ? n : DF_BLK;
		struct df_blk *nb = malloc(sizeof *nb + cap);
		if (!nb)
			return NULL;
		nb->used = 0;
		nb->cap = cap;
		if (b && n > DF_BLK / 4) {      /* keep the current block's free room */
			nb->next = b->next;
			b->next = nb;
		} else {
			nb->next = b;
			a->head = nb;
		}
		b = nb;
	}
	p = (unsigned char *)b->data + b->used;
	b->used += n;
	memset(p, 0, n);
	return p;
}

char *df_arena_strndup(struct df_arena *a, const char *s, size_t n)
{
	char *d = n < SIZE_MAX ? df_arena_alloc(a, n + 1) : NULL;

	if (d && n)
		memcpy(d, s, n);
	return d;
}

/* ---- parser state and messages ---- */

static int is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Writes "<name>:<line>: <message>" (line 0: no line), printable ASCII only. */
int df_fail(struct ps *s, unsigned line, int rc, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (!s->errlen)
		return rc;
	if (line)
		k = snprintf(s->err, s->errlen, "%.64s:%u: ", s->name, line);
	else
		k = snprintf(s->err, s->errlen, "%.64s: ", s->name);
	if (k >= 0 && (size_t)k < s->errlen) {
		va_start(ap, fmt);
		vsnprintf(s->err + k, s->errlen - (size_t)k, fmt, ap);
		va_end(ap);
	}
	for (char *c = s->err; *c; c++)
		if (*c < 0x20 || *c > 0x7e)
			*c = '?';
	return rc;
}

/* A short printable rendering of untrusted text for a message. */
const char *df_shown(char out[48], const char *p, size_t n)
{
	size_t k = n > 40 ? 40 : n;

	for (size_t i = 0; i < k; i++)
		out[i] = (p[i] >= 0x20 && p[i] <= 0x7e) ? p[i] : '?';
	if (k < n)
		memcpy(out + k, "...", 3), k += 3;
	out[k] = 0;
	return out;
}

void df_note(struct ps *s, unsigned line, const char *fmt, ...)
{
	struct df_file *f = s->f;
	va_list ap;

	if (f->nnotes >= DF_MAX_NOTES) {
		f->notes_dropped++;
		return;
	}
	f->notes[f->nnotes].line = line;
	va_start(ap, fmt);
	vsnprintf(f->notes[f->nnotes].msg, sizeof f->notes[0].msg, fmt, ap);
	va_end(ap);
	f->nnotes++;
}

char *df_dup(struct ps *s, const char *p, size_t n)
{
	return df_arena_strndup(s->a, p, n);
}

int df_vec_push(struct ps *s, struct vec *v, char *str, unsigned line)
{
	if (!str)
		return -ENOMEM;
	if (v->n == v->cap) {
		if (v->n >= DF_MAX_ARGS)
			return df_fail(s, line, -E2BIG, "more than %d arguments", DF_MAX_ARGS);
		size_t cap = v->cap ? v->cap * 2 : 8;
		char **nv = realloc(v->v, cap * sizeof *nv);
		if (!nv)
			return -ENOMEM;
		v->v = nv;
		v->cap = cap;
	}
	v->v[v->n++] = str;
	return 0;
}

/* Moves the list into the arena as argv (NULL-terminated). */
int df_vec_take(struct ps *s, struct vec *v, char ***argv, size_t *argc)
{
	char **a = df_arena_alloc(s->a, (v->n + 1) * sizeof *a);

	if (!a)
		return -ENOMEM;
	if (v->n)
		memcpy(a, v->v, v->n * sizeof *a);
	*argv = a;
	*argc = v->n;
	free(v->v);
	memset(v, 0, sizeof *v);
	return 0;
}

/* ---- physical lines ---- */

/* The next physical line, without \n and one \r before it: 1, 0 at the end,
 * or -E2BIG for a line over DF_MAX_LINE. */
static int next_line(struct ps *s, const char **l, size_t *n)
{
	const char *b, *nl;
	size_t rest, k;

	if (s->pos >= s->len)
		return 0;
	b = s->p + s->pos;
	rest = s->len - s->pos;
	nl = memchr(b, '\n', rest);
	k = nl ? (size_t)(nl - b) : rest;
	s->pos += nl ? k + 1 : k;
	s->lineno++;
	if (k > DF_MAX_LINE)
		return df_fail(s, s->lineno, -E2BIG, "line longer than %u bytes", DF_MAX_LINE);
	if (k && b[k - 1] == '\r')
		k--;
	*l = b;
	*n = k;
	return 1;
}

static void ltrim(const char **l, size_t *n)
{
	while (*n && is_space(**l))
		(*l)++, (*n)--;
}

static void rtrim(const char *l, size_t *n)
{
	while (*n && is_space(l[*n - 1]))
		(*n)--;
}

/* A comment line: '#' after optional leading whitespace. */
static int is_comment(const char *l, size_t n)
{
	ltrim(&l, &n);
	return n && l[0] == '#';
}

/* Parser directives: "# name = value" lines at the very top. The first line
 * that is not a known directive ends them (an unknown one is a comment). */
static int directives(struct ps *s)
{
	int seen_escape = 0, seen_syntax = 0, seen_check = 0;

	for (;;) {
		size_t save = s->pos, n, i = 1, ks, kn, vs, vn;
		unsigned sline = s->lineno;
		const char *l;
		int rc = next_line(s, &l, &n);

		if (rc <= 0)
			return rc;
		while (i < n && is_space(l[i]))
			i++;
		ks = i;
		if (i < n && is_alpha(l[i]))
			for (i++; i < n && (is_alpha(l[i]) || (l[i] >= '0' && l[i] <= '9')); i++)
				;
		kn = i - ks;
		while (i < n && is_space(l[i]))
			i++;
		if (n == 0 || l[0] != '#' || kn == 0 || i >= n || l[i] != '=') {
			s->pos = save;
			s->lineno = sline;
			return 0;
		}
		for (i++; i < n && is_space(l[i]); i++)
			;
		vs = i;
		vn = n - vs;
		rtrim(l + vs, &vn);
		int *seen = NULL;
		if (kn == 6 && strncasecmp(l + ks, "escape", 6) == 0)
			seen = &seen_escape;
		else if (kn == 6 && strncasecmp(l + ks, "syntax", 6) == 0)
			seen = &seen_syntax;
		else if (kn == 5 && strncasecmp(l + ks, "check", 5) == 0)
			seen = &seen_check;
		if (!seen || vn == 0) {         /* unknown: a comment, and the end */
			s->pos = save;
			s->lineno = sline;
			return 0;
		}
		if (*seen)
			return df_fail(s, s->lineno, -EINVAL, "only one %.6s parser directive can be used",
				    l + ks);
		*seen = 1;
		if (seen == &seen_escape) {
			if (vn != 1 || (l[vs] != '\\' && l[vs] != '`')) {
				char t[48];
				return df_fail(s, s->lineno, -EINVAL,
					    "invalid escape token '%s' does not match ` or \\",
					    df_shown(t, l + vs, vn));
			}
			s->esc = l[vs];
			s->f->escape = l[vs];
		} else if (seen == &seen_syntax) {
			char t[48];
			if (!(s->f->syntax = df_dup(s, l + vs, vn)))
				return -ENOMEM;
			df_note(s, s->lineno, "syntax directive \"%s\" ignored: sbs has one built-in frontend",
			     df_shown(t, l + vs, vn));
		} else {
			df_note(s, s->lineno, "check directive ignored");
		}
	}
}

/* If the line ends in the escape character and optional blanks, cuts them
 * off and returns 1 (the next line continues it). */
static int cut_continuation(struct ps *s, const char *l, size_t *n)
{
	size_t k = *n;

	while (k && (l[k - 1] == ' ' || l[k - 1] == '\t'))
		k--;
	if (k && l[k - 1] == s->esc) {
		*n = k - 1;
		return 1;
	}
	return 0;
}

/* Reads the logical line that starts with l into s->line: continuation lines
 * are appended as they are; comment and blank lines inside are dropped. */
static int logical_line(struct ps *s, const char *l, size_t n)
{
	int cont = cut_continuation(s, l, &n), rc, warned = 0;
	unsigned start = s->lineno;

	s->line.len = 0;
	if ((rc = buf_append(&s->line, l, n)) < 0)
		goto big;
	while (cont) {
		if ((rc = next_line(s, &l, &n)) <= 0)
			return rc;
		if (is_comment(l, n))
			continue;
		const char *t = l;
		size_t tn = n;
		ltrim(&t, &tn);
		if (!tn) {
			if (!warned++)
				df_note(s, s->lineno, "empty continuation line");
			continue;
		}
		cont = cut_continuation(s, l, &n);
		if ((rc = buf_append(&s->line, l, n)) < 0)
			goto big;
	}
	return 0;
big:
	if (rc == -E2BIG)
		return df_fail(s, start, rc, "instruction longer than %u bytes", DF_MAX_LINE);
	return rc;
}

/* ---- heredocs ---- */

/* If the word w[0..n) is a heredoc marker [fd]<<[-]delimiter, fills h and
 * returns 1. The delimiter ends at an unquoted blank or shell operator; any
 * quoting in it (quotes, the escape character) turns expansion off. */
static int heredoc_marker(struct ps *s, unsigned line, const char *w, size_t n,
			  struct df_heredoc *h)
{
	char name[DF_MAX_NAME + 1], quote = 0;
	size_t i = 0, o = 0;
	int quoted = 0;
	uint64_t fd = 0;

	while (i < n && w[i] >= '0' && w[i] <= '9')
		i++;
	if (i && util_parse_u64(w, i, 9999, &fd) < 0)
		return 0;
	if (i + 2 > n || w[i] != '<' || w[i + 1] != '<' || (i + 2 < n && w[i + 2] == '<'))
		return 0;
	h->fd = i ? (int)fd : -1;
	i += 2;
	h->chomp = i < n && w[i] == '-';
	i += (size_t)h->chomp;
	for (; i < n; i++) {
		char c = w[i];
		if (quote && c == quote) {
			quote = 0;
			continue;
		}
		if (!quote && (c == '\'' || c == '"')) {
			quote = c;
			quoted = 1;
			continue;
		}
		if (!quote && c == s->esc && i + 1 < n) {
			quoted = 1;
			c = w[++i];
		} else if (!quote && (is_space(c) || strchr("<>|&;()", c))) {
			break;
		}
		if (o >= DF_MAX_NAME)
			return df_fail(s, line, -E2BIG, "heredoc delimiter longer than %d bytes",
				    DF_MAX_NAME);
		name[o++] = c;
	}
	if (quote || o == 0)
		return 0;
	h->expand = !quoted;
	h->arg = -1;
	if (!(h->name = df_dup(s, name, o)))
		return -ENOMEM;
	return 1;
}

/* Reads the body of h: the lines up to the one that equals its delimiter. */
static int heredoc_body(struct ps *s, unsigned line, struct df_heredoc *h)
{
	struct buf b = { .max = DF_MAX_FILE };
	size_t dn = strlen(h->name), n;
	const char *l;
	int rc;

	for (;;) {
		if ((rc = next_line(s, &l, &n)) < 0)
			goto out;
		if (rc == 0) {
			char t[48];
			rc = df_fail(s, line, -EINVAL, "unterminated heredoc <<%s",
				  df_shown(t, h->name, dn));
			goto out;
		}
		if (h->chomp)
			while (n && *l == '\t')
				l++, n--;
		if (n == dn && memcmp(l, h->name, n) == 0)
			break;
		if ((rc = buf_append(&b, l, n)) < 0 || (rc = buf_append(&b, "\n", 1)) < 0)
			goto out;
	}
	h->len = b.len;
	h->body = df_dup(s, b.len ? (const char *)b.data : "", b.len);
	rc = h->body ? 0 : -ENOMEM;
out:
	buf_free(&b);
	return rc;
}

/* Finds the heredoc markers among the words of a RUN (words == NULL: split
 * text) or COPY/ADD (the source words) and reads their bodies. */
static int heredocs(struct ps *s, struct df_inst *in, const char *t, size_t n)
{
	struct df_heredoc hd[DF_MAX_HEREDOCS];
	size_t nh = 0, pos = 0, ws, we, nw = 0;
	int rc;

	for (;;) {
		const char *w;
		size_t wn;
		if (in->kw == DF_RUN) {
			if (!df_next_word(t, n, &pos, s->esc, &ws, &we))
				break;
			w = t + ws;
			wn = we - ws;
		} else {
			if (nw + 1 >= in->argc)  /* the last word is the destination */
				break;
			w = in->argv[nw];
			wn = strlen(w);
		}
		struct df_heredoc h = { 0 };
		if ((rc = heredoc_marker(s, in->line, w, wn, &h)) < 0)
			return rc;
		if (rc) {
			if (nh == DF_MAX_HEREDOCS)
				return df_fail(s, in->line, -E2BIG, "more than %d heredocs",
					    DF_MAX_HEREDOCS);
			if (in->kw != DF_RUN)
				h.arg = (int)nw;
			hd[nh++] = h;
		}
		nw++;
	}
	if (!nh)
		return 0;
	for (size_t i = 0; i < nh; i++)
		if ((rc = heredoc_body(s, in->line, &hd[i])) < 0)
			return rc;
	if (!(in->hd = df_arena_alloc(s->a, nh * sizeof *in->hd)))
		return -ENOMEM;
	memcpy(in->hd, hd, nh * sizeof *hd);
	in->nhd = nh;
	return 0;
}

/* Parses the logical line in s->line, which started at physical line start. */
static int instruction(struct ps *s, unsigned start)
{
	const char *t = (const char *)s->line.data;
	size_t n = s->line.len, k = 0, rest = 0, nfl = 0;
	struct flag fl[DF_MAX_FLAGS];
	struct df_inst *in;
	char sh[48];
	int kw, rc;

	ltrim(&t, &n);
	rtrim(t, &n);
	if (!n)
		return 0;
	while (k < n && !is_space(t[k]))
		k++;
	if (!(kw = df_find_kw(t, k)))
		return df_fail(s, start, -EINVAL, "unknown instruction %s", df_shown(sh, t, k));
	if (kw == KW_ONBUILD)
		return df_fail(s, start, -EINVAL, "ONBUILD is not supported: triggers run in another "
			    "build's context");
	if (kw == DF_FROM)
		s->seen_from = 1;
	else if (!s->seen_from && kw != DF_ARG)
		return df_fail(s, start, -EINVAL, "%s before the first FROM (only ARG may come "
			    "before it)", kw == KW_MAINTAINER ? "MAINTAINER" : df_kw_name(kw));
	if (s->f->n >= DF_MAX_INSTRUCTIONS)
		return df_fail(s, start, -E2BIG, "more than %d instructions", DF_MAX_INSTRUCTIONS);
	if (s->f->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 32;
		struct df_inst *ni = realloc(s->f->inst, cap * sizeof *ni);
		if (!ni)
			return -ENOMEM;
		s->f->inst = ni;
		s->cap = cap;
	}
	in = &s->f->inst[s->f->n];
	memset(in, 0, sizeof *in);
	in->kw = kw == KW_MAINTAINER ? DF_LABEL : (enum df_kw)kw;
	in->line = start;
	t += k;
	n -= k;
	ltrim(&t, &n);
	if ((rc = df_parse_flags(s, start, t, n, fl, &nfl, &rest)) < 0)
		return rc;
	t += rest;
	n -= rest;
	ltrim(&t, &n);
	if ((rc = df_take_flags(s, in, fl, nfl)) < 0 || (rc = df_p_args(s, in, kw, t, n, fl, nfl)) < 0 ||
	    (rc = df_check_unused(s, in, fl, nfl)) < 0)
		return rc;
	if ((kw == DF_RUN || kw == DF_COPY || kw == DF_ADD) && !in->exec &&
	    (rc = heredocs(s, in, t, n)) < 0)
		return rc;
	s->f->n++;
	return 0;
}

int df_parse(const char *name, const uint8_t *p, size_t len, struct df_file *f,
	     char *err, size_t errlen)
{
	struct ps s = { .name = name ? name : "Dockerfile", .p = (const char *)p, .len = len,
			.esc = '\\', .f = f, .err = err, .errlen = errlen,
			.line = { .max = DF_MAX_LINE } };
	const uint8_t *nul;
	const char *l;
	size_t n;
	int rc;

	memset(f, 0, sizeof *f);
	f->escape = '\\';
	if (errlen)
		err[0] = 0;
	if (len > DF_MAX_FILE)
		return df_fail(&s, 0, -E2BIG, "Dockerfile larger than %u bytes", DF_MAX_FILE);
	if ((nul = memchr(p, 0, len))) {
		unsigned line = 1;
		for (const uint8_t *c = p; c < nul; c++)
			line += *c == '\n';
		return df_fail(&s, line, -EINVAL, "NUL byte in the Dockerfile");
	}
	if (!(s.a = f->arena = df_arena_new()))
		return -ENOMEM;
	if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
		s.pos = 3;
	if ((rc = directives(&s)) < 0)
		goto out;
	while ((rc = next_line(&s, &l, &n)) > 0) {
		unsigned start = s.lineno;
		if (is_comment(l, n))
			continue;
		ltrim(&l, &n);
		if (!n)
			continue;
		if ((rc = logical_line(&s, l, n)) < 0 || (rc = instruction(&s, start)) < 0)
			goto out;
	}
	if (rc < 0)
		goto out;
	if (f->n == 0)
		rc = df_fail(&s, 0, -EINVAL, "the Dockerfile has no instructions");
	else if (!s.seen_from)
		rc = df_fail(&s, 0, -EINVAL, "no FROM instruction: nothing to build");
out:
	buf_free(&s.line);
	if (rc < 0)
		df_free(f);
	return rc < 0 ? rc : 0;
}

void df_free(struct df_file *f)
{
	if (!f)
		return;
	free(f->inst);
	df_arena_free(f->arena);
	memset(f, 0, sizeof *f);
	f->escape = '\\';
}
