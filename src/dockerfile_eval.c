/* SPDX-License-Identifier: MIT */
/*
 * Dockerfile variable expansion, ARG scoping and evaluation, and the dump
 * printer (contract in dockerfile.h). df_expand() follows Docker's shell
 * lexer for words: quotes, the escape character and $ substitutions, with
 * the output and the nesting bounded. df_vars keeps the scopes; df_eval()
 * applies both to one instruction at build time.
 */
#include "dockerfile.h"
#include "limits.h"
#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- expansion ---- */

/* Docker's word accumulator: in words mode plain characters split at
 * blanks, quoted and escaped ones never do; empty words are dropped. */
struct words {
	struct buf b;
	size_t n;                       /* words finished */
	size_t start;                   /* offset of the current word */
	int split;
};

struct lx {
	const char *p;
	size_t n, i;
	char esc;
	int quotes;                     /* quotes are special (not in heredocs) */
	df_lookup_fn lookup;
	void *ctx;
	int depth;
	char *err;
	size_t errlen;
};

static int is_blank(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static int lx_fail(struct lx *x, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int lx_fail(struct lx *x, int rc, const char *fmt, ...)
{
	va_list ap;

	if (x->errlen) {
		va_start(ap, fmt);
		vsnprintf(x->err, x->errlen, fmt, ap);
		va_end(ap);
		for (char *c = x->err; *c; c++)
			if (*c < 0x20 || *c > 0x7e)
				*c = '?';
	}
	return rc;
}

static int w_end(struct words *w)
{
	int rc = 0;

	if (w->b.len > w->start) {
		rc = buf_append(&w->b, "", 1);
		w->n++;
		w->start = w->b.len;
	}
	return rc;
}

/* Characters that keep their meaning: blanks split words in words mode. */
static int w_chars(struct words *w, const char *p, size_t n)
{
	int rc = 0;

	if (!w->split)
		return buf_append(&w->b, p, n);
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = is_blank(p[i]) ? w_end(w) : buf_append(&w->b, p + i, 1);
	return rc;
}

/* Quoted or escaped characters: never split. */
static int w_raw(struct words *w, const char *p, size_t n)
{
	return buf_append(&w->b, p, n);
}

static int lex_until(struct lx *x, char stop, struct words *w);

/* A name after $: letters, digits and _, or a run of digits, or one of
 * Docker's special parameters. */
static size_t lx_name(struct lx *x)
{
	size_t s = x->i;

	if (x->i < x->n && x->p[x->i] >= '0' && x->p[x->i] <= '9') {
		while (x->i < x->n && x->p[x->i] >= '0' && x->p[x->i] <= '9')
			x->i++;
		return x->i - s;
	}
	if (x->i < x->n && strchr("@*#?-$!", x->p[x->i]))
		return ++x->i - s;
	while (x->i < x->n) {
		char c = x->p[x->i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_'))
			break;
		x->i++;
	}
	return x->i - s;
}

/* The word of ${name<op>word}, up to the closing brace, into w (no split). */
static int lx_word(struct lx *x, struct words *w)
{
	int rc;

	if (++x->depth > DF_MAX_EXPAND_DEPTH)
		return lx_fail(x, -E2BIG, "substitutions nested deeper than %d", DF_MAX_EXPAND_DEPTH);
	rc = lex_until(x, '}', w);
	x->depth--;
	return rc;
}

/* ${name...} after "${"; the value goes to w. */
static int lx_braces(struct lx *x, struct words *w)
{
	struct words word = { .b = { .max = DF_MAX_EXPANSION } };
	size_t ns, nl;
	const char *val;
	char op, mod = 0;
	int rc;

	if (x->i >= x->n)
		return lx_fail(x, -EINVAL, "syntax error: missing '}'");
	if (strchr("{}:", x->p[x->i]))
		return lx_fail(x, -EINVAL, "syntax error: bad substitution");
	ns = x->i;
	nl = lx_name(x);
	if (x->i >= x->n)
		return lx_fail(x, -EINVAL, "syntax error: missing '}'");
	op = x->p[x->i++];
	if (op == '}') {
		val = x->lookup(x->ctx, x->p + ns, nl);
		return val ? w_chars(w, val, strlen(val)) : 0;
	}
	if (op == ':') {
		if (x->i >= x->n)
			return lx_fail(x, -EINVAL, "syntax error: missing '}'");
		mod = x->p[x->i++];
		if (mod != '-' && mod != '+' && mod != '?')
			return lx_fail(x, -EINVAL, "unsupported modifier (%c) in substitution", mod);
	} else if (op != '-' && op != '+' && op != '?') {
		return lx_fail(x, -EINVAL, "unsupported substitution ${%.*s%c...}",
			       (int)(nl > 32 ? 32 : nl), x->p + ns, op);
	}
	if ((rc = lx_word(x, &word)) < 0)
		goto out;
	val = x->lookup(x->ctx, x->p + ns, nl);
	const char *ws = word.b.len ? (const char *)word.b.data : "";
	int empty = !val || !*val;      /* ':' treats set-but-empty as unset */
	switch (mod ? mod : op) {
	case '-':
		if (mod ? empty : !val)
			val = ws;
		break;
	case '+':
		val = (mod ? !empty : val != NULL) ? ws : NULL;
		break;
	case '?':
		if (mod ? empty : !val) {
			rc = lx_fail(x, -EINVAL, "%.*s: %.80s", (int)(nl > 64 ? 64 : nl), x->p + ns,
				     *ws ? ws : !val ? "is not allowed to be unset"
						 : "is not allowed to be empty");
			goto out;
		}
		break;
	}
	rc = val ? w_chars(w, val, strlen(val)) : 0;
out:
	buf_free(&word.b);
	return rc;
}

/* $name, ${...} or a lone $. */
static int lx_dollar(struct lx *x, struct words *w)
{
	size_t ns, nl;
	const char *val;

	x->i++;
	if (x->i < x->n && x->p[x->i] == '{') {
		x->i++;
		return lx_braces(x, w);
	}
	ns = x->i;
	if (!(nl = lx_name(x)))
		return w_raw(w, "$", 1);
	val = x->lookup(x->ctx, x->p + ns, nl);
	return val ? w_chars(w, val, strlen(val)) : 0;
}

/* "..." after the opening quote: $ expands, escape+" escape+$ escape+escape
 * are escapes, other escapes stay as written. Nothing inside splits. */
static int lx_dquote(struct lx *x, struct words *w)
{
	struct words in = { .b = { .max = DF_MAX_EXPANSION } };
	int rc = 0;

	for (;;) {
		if (x->i >= x->n) {
			rc = lx_fail(x, -EINVAL, "unexpected end of statement while looking for "
				     "matching double-quote");
			break;
		}
		char c = x->p[x->i];
		if (c == '"') {
			x->i++;
			rc = w_raw(w, in.b.len ? (const char *)in.b.data : "", in.b.len);
			break;
		}
		if (c == '$') {
			if ((rc = lx_dollar(x, &in)) < 0)
				break;
			continue;
		}
		x->i++;
		if (c == x->esc) {
			if (x->i >= x->n)
				continue;
			if (x->p[x->i] == '"' || x->p[x->i] == '$' || x->p[x->i] == x->esc)
				c = x->p[x->i++];
		}
		if ((rc = w_raw(&in, &c, 1)) < 0)
			break;
	}
	buf_free(&in.b);
	return rc;
}

/* Docker's processStopOn: up to stop (0: the end). */
static int lex_until(struct lx *x, char stop, struct words *w)
{
	int rc = 0;

	while (x->i < x->n && rc == 0) {
		char c = x->p[x->i];
		if (stop && c == stop) {
			x->i++;
			return 0;
		}
		if (c == '$') {
			rc = lx_dollar(x, w);
		} else if (x->quotes && c == '\'') {
			const char *q = memchr(x->p + x->i + 1, '\'', x->n - x->i - 1);
			if (!q)
				return lx_fail(x, -EINVAL, "unexpected end of statement while looking "
					       "for matching single-quote");
			rc = w_raw(w, x->p + x->i + 1, (size_t)(q - x->p) - x->i - 1);
			x->i = (size_t)(q - x->p) + 1;
		} else if (x->quotes && c == '"') {
			x->i++;
			rc = lx_dquote(x, w);
		} else if (c == x->esc) {
			x->i++;
			if (x->i >= x->n)
				break;
			char nc = x->p[x->i];
			/* heredoc bodies: only $ escape ` lose the escape, as in sh */
			if (!x->quotes && nc != '$' && nc != x->esc && nc != '`')
				rc = w_raw(w, &c, 1);
			if (rc == 0)
				rc = w_raw(w, &nc, 1);
			x->i++;
		} else {
			rc = w_chars(w, &c, 1);
			x->i++;
		}
	}
	if (rc < 0)
		return rc == -E2BIG ? lx_fail(x, rc, "expansion longer than %u bytes",
					      DF_MAX_EXPANSION) : rc;
	if (stop)
		return lx_fail(x, -EINVAL, "syntax error: missing '}'");
	return 0;
}

int df_expand(const char *in, size_t len, char escape, enum df_xmode mode,
	      df_lookup_fn lookup, void *ctx, char **out, size_t *outlen,
	      size_t *nout, char *err, size_t errlen)
{
	struct lx x = { .p = in, .n = len, .esc = escape, .quotes = mode != DF_X_HEREDOC,
			.lookup = lookup, .ctx = ctx, .err = err, .errlen = errlen };
	struct words w = { .b = { .max = DF_MAX_EXPANSION }, .split = mode == DF_X_WORDS };
	int rc;

	*out = NULL;
	*outlen = *nout = 0;
	if (errlen)
		err[0] = 0;
	if (memchr(in, 0, len))
		return lx_fail(&x, -EINVAL, "NUL byte in the text to expand");
	rc = lex_until(&x, 0, &w);
	if (rc == 0) {
		if (w.split)
			rc = w_end(&w);
		else if ((rc = buf_append(&w.b, "", 1)) == 0)
			w.n = 1;
	}
	if (rc < 0) {
		buf_free(&w.b);
		if (rc == -E2BIG && errlen && !err[0])
			lx_fail(&x, rc, "expansion longer than %u bytes", DF_MAX_EXPANSION);
		return rc;
	}
	if (!w.b.data && !(w.b.data = calloc(1, 1))) /* no words at all */
		return -ENOMEM;
	*out = (char *)w.b.data;
	*outlen = w.b.len;
	*nout = w.n;
	return 0;
}

/* ---- variables ---- */

void df_vars_init(struct df_vars *v, const char *name, char escape)
{
	memset(v, 0, sizeof *v);
	v->escape = escape;
	v->name = name ? name : "Dockerfile";
}

void df_vartab_free(struct df_vartab *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->v[i].name);
		free(t->v[i].value);
	}
	free(t->v);
	memset(t, 0, sizeof *t);
}

void df_vars_free(struct df_vars *v)
{
	df_vartab_free(&v->build);
	df_vartab_free(&v->automatic);
	df_vartab_free(&v->global);
	df_vartab_free(&v->args);
	df_vartab_free(&v->env);
}

/* The index of name in t, or t->n. */
static size_t find(const struct df_vartab *t, const char *name, size_t nlen)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (strncmp(t->v[i].name, name, nlen) == 0 && t->v[i].name[nlen] == 0)
			break;
	return i;
}

const struct df_var *df_vartab_get(const struct df_vartab *t, const char *name, size_t nlen)
{
	size_t i = find(t, name, nlen);

	return i < t->n ? &t->v[i] : NULL;
}

int df_vartab_set(struct df_vartab *t, const char *name, const char *value)
{
	size_t i = find(t, name, strlen(name)), vl = value ? strlen(value) : 0;
	size_t old = i < t->n ? (t->v[i].value ? strlen(t->v[i].value) : 0) : 0;
	size_t add = vl + (i < t->n ? 0 : strlen(name) + 1);
	struct df_var *e;
	char *nv = NULL;

	if (t->bytes - old + add > DF_MAX_VAR_BYTES || (i == t->n && t->n >= DF_MAX_VARS))
		return -E2BIG;
	if (value && !(nv = strdup(value)))
		return -ENOMEM;
	if (i == t->n) {
		if (t->n == t->cap) {
			size_t cap = t->cap ? t->cap * 2 : 16;
			struct df_var *n2 = realloc(t->v, cap * sizeof *n2);
			if (!n2)
				goto nomem;
			t->v = n2;
			t->cap = cap;
		}
		if (!(t->v[i].name = strdup(name)))
			goto nomem;
		t->v[i].value = NULL;
		t->n++;
	}
	e = &t->v[i];
	free(e->value);
	e->value = nv;
	t->bytes = t->bytes - old + add;
	return 0;
nomem:
	free(nv);
	return -ENOMEM;
}

static int is_proxy(const char *name, size_t nlen)
{
	static const char *const px[] = { "HTTP_PROXY", "HTTPS_PROXY", "FTP_PROXY", "NO_PROXY",
					   "ALL_PROXY" };
	for (size_t i = 0; i < sizeof px / sizeof px[0]; i++) {
		if (strlen(px[i]) != nlen)
			continue;
		if (strncmp(px[i], name, nlen) == 0)
			return 1;
		size_t k = 0;                   /* the all-lower-case spelling */
		while (k < nlen && (px[i][k] == '_' ? name[k] == '_' : name[k] == (px[i][k] | 0x20)))
			k++;
		if (k == nlen)
			return 1;
	}
	return 0;
}

const char *df_vars_lookup(void *ctx, const char *name, size_t nlen)
{
	const struct df_vars *v = ctx;
	const struct df_var *e;

	if (!v->in_stage) {
		if ((e = df_vartab_get(&v->global, name, nlen)))
			return e->value;
		e = df_vartab_get(&v->automatic, name, nlen);
		return e ? e->value : NULL;
	}
	if ((e = df_vartab_get(&v->env, name, nlen)) || (e = df_vartab_get(&v->args, name, nlen)))
		return e->value;
	if (is_proxy(name, nlen) && (e = df_vartab_get(&v->build, name, nlen)))
		return e->value;
	return NULL;
}

int df_vars_run_env(const struct df_vars *v, struct df_vartab *out)
{
	int rc = 0;

	df_vartab_free(out);
	for (size_t i = 0; i < v->args.n && rc == 0; i++)
		if (v->args.v[i].value)
			rc = df_vartab_set(out, v->args.v[i].name, v->args.v[i].value);
	for (size_t i = 0; i < v->build.n && rc == 0; i++) {
		const struct df_var *b = &v->build.v[i];
		if (b->value && is_proxy(b->name, strlen(b->name)) &&
		    !df_vartab_get(out, b->name, strlen(b->name)))
			rc = df_vartab_set(out, b->name, b->value);
	}
	for (size_t i = 0; i < v->env.n && rc == 0; i++)
		rc = df_vartab_set(out, v->env.v[i].name, v->env.v[i].value);
	if (rc < 0)
		df_vartab_free(out);
	return rc;
}

/* ---- evaluation of one instruction ---- */

struct ev {
	struct df_vars *v;
	struct df_arena *a;
	size_t total;                   /* bytes expanded for this instruction */
	unsigned line;
	char *err;
	size_t errlen;
};

static int ev_fail(struct ev *e, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int ev_fail(struct ev *e, int rc, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (!e->errlen)
		return rc;
	k = snprintf(e->err, e->errlen, "%.64s:%u: ", e->v->name, e->line);
	if (k >= 0 && (size_t)k < e->errlen) {
		va_start(ap, fmt);
		vsnprintf(e->err + k, e->errlen - (size_t)k, fmt, ap);
		va_end(ap);
	}
	for (char *c = e->err; *c; c++)
		if (*c < 0x20 || *c > 0x7e)
			*c = '?';
	return rc;
}

/* An arena copy; NULL stays NULL. -ENOMEM is reported through *rc. */
static char *cp(struct ev *e, const char *s, int *rc)
{
	char *d;

	if (!s)
		return NULL;
	if (!(d = df_arena_strndup(e->a, s, strlen(s))))
		*rc = -ENOMEM;
	return d;
}

/* Expands s (NULL stays NULL) into the arena: *nw words one after another. */
static int xpand(struct ev *e, const char *s, enum df_xmode mode, char **out, size_t *olen,
		 size_t *nw)
{
	char msg[160], *o;
	size_t ol, n;
	int rc;

	*out = NULL;
	if (!s)
		return 0;
	rc = df_expand(s, strlen(s), e->v->escape, mode, df_vars_lookup, e->v, &o, &ol, &n,
		       msg, sizeof msg);
	if (rc < 0)
		return rc == -ENOMEM ? rc : ev_fail(e, rc, "%s", msg);
	if ((e->total += ol) > DF_MAX_EXPANSION) {
		free(o);
		return ev_fail(e, -E2BIG, "expansions longer than %u bytes", DF_MAX_EXPANSION);
	}
	*out = df_arena_strndup(e->a, o, ol);   /* ol counts the terminators */
	free(o);
	if (olen)
		*olen = ol ? ol - 1 : 0;
	if (nw)
		*nw = n;
	return *out ? 0 : -ENOMEM;
}

static int xword(struct ev *e, const char *s, char **out)
{
	return xpand(e, s, DF_X_WORD, out, NULL, NULL);
}

/* The argv of in, each word expanded (EXPOSE: split into more words);
 * COPY/ADD heredoc markers stay as written. */
static int ev_argv(struct ev *e, const struct df_inst *in, struct df_inst *out)
{
	size_t cap = in->argc + 1, n = 0;
	char **v;
	int rc = 0;

	if (!in->argv)
		return 0;
	if (!(v = df_arena_alloc(e->a, cap * sizeof *v)))
		return -ENOMEM;
	for (size_t i = 0; i < in->argc; i++) {
		int marker = 0;
		for (size_t h = 0; h < in->nhd; h++)
			marker |= in->hd[h].arg == (int)i;
		if (marker || in->kw == DF_RUN || in->kw == DF_CMD || in->kw == DF_ENTRYPOINT ||
		    in->kw == DF_SHELL || in->kw == DF_HEALTHCHECK) {
			v[n++] = cp(e, in->argv[i], &rc);
			continue;
		}
		char *o;
		size_t ol, nw;
		if ((rc = xpand(e, in->argv[i], in->kw == DF_EXPOSE ? DF_X_WORDS : DF_X_WORD, &o,
				&ol, &nw)) < 0)
			return rc;
		if (in->kw == DF_VOLUME && !*o)
			return ev_fail(e, -EINVAL, "VOLUME specified can not be an empty string");
		if (n + nw >= cap) {            /* EXPOSE words grew the list */
			size_t nc = 2 * cap > n + nw + 1 ? 2 * cap : n + nw + 1;
			char **nv;
			if (n + nw > DF_MAX_ARGS)
				return ev_fail(e, -E2BIG, "more than %d arguments", DF_MAX_ARGS);
			nc = nc > DF_MAX_ARGS + 1 ? DF_MAX_ARGS + 1 : nc;
			if (!(nv = df_arena_alloc(e->a, nc * sizeof *nv)))
				return -ENOMEM;
			memcpy(nv, v, n * sizeof *v);
			v = nv;
			cap = nc;
		}
		for (size_t k = 0; k < nw; k++, o += strlen(o) + 1)
			v[n++] = o;
	}
	out->argv = v;
	out->argc = n;
	return rc;
}

/* ARG: each default expanded, then the value Docker gives the name. */
static int ev_arg(struct ev *e, const struct df_inst *in, struct df_inst *out)
{
	struct df_vars *v = e->v;
	int rc = 0;

	for (size_t i = 0; i < in->nkv && rc == 0; i++) {
		const char *k = in->kv[i].key;
		const struct df_var *b = df_vartab_get(&v->build, k, strlen(k)), *g;
		char *val = NULL;
		if ((rc = xword(e, in->kv[i].value, &val)) < 0)
			break;
		if (b)
			val = cp(e, b->value, &rc);
		else if (!in->kv[i].value && v->in_stage &&
			 (g = df_vartab_get(&v->global, k, strlen(k))))
			val = cp(e, g->value, &rc);
		else if (!in->kv[i].value && (g = df_vartab_get(&v->automatic, k, strlen(k))))
			val = cp(e, g->value, &rc);
		out->kv[i].key = cp(e, k, &rc);
		out->kv[i].value = val;
		if (rc == 0)
			rc = df_vartab_set(v->in_stage ? &v->args : &v->global, k, val);
	}
	return rc == -E2BIG ? ev_fail(e, rc, "more than %d variables", DF_MAX_VARS) : rc;
}

/* ENV and LABEL: keys and values expanded; ENV pairs all see the variables
 * as they were before the instruction, then set them. */
static int ev_pairs(struct ev *e, const struct df_inst *in, struct df_inst *out)
{
	int rc = 0;

	for (size_t i = 0; i < in->nkv && rc == 0; i++) {
		if (in->maintainer) {
			out->kv[i].key = cp(e, in->kv[i].key, &rc);
			out->kv[i].value = cp(e, in->kv[i].value, &rc);
			continue;
		}
		if ((rc = xword(e, in->kv[i].key, &out->kv[i].key)) < 0 ||
		    (rc = xword(e, in->kv[i].value, &out->kv[i].value)) < 0)
			return rc;
		if (!*out->kv[i].key)
			return ev_fail(e, -EINVAL, "%s names can not be blank", df_kw_name(in->kw));
	}
	for (size_t i = 0; in->kw == DF_ENV && i < in->nkv && rc == 0; i++)
		rc = df_vartab_set(&e->v->env, out->kv[i].key, out->kv[i].value);
	return rc == -E2BIG ? ev_fail(e, rc, "more than %d variables", DF_MAX_VARS) : rc;
}

static int ev_heredocs(struct ev *e, const struct df_inst *in, struct df_inst *out)
{
	int rc = 0;

	if (!in->nhd)
		return 0;
	if (!(out->hd = df_arena_alloc(e->a, in->nhd * sizeof *out->hd)))
		return -ENOMEM;
	out->nhd = in->nhd;
	for (size_t i = 0; i < in->nhd && rc == 0; i++) {
		out->hd[i] = in->hd[i];
		out->hd[i].name = cp(e, in->hd[i].name, &rc);
		if (in->hd[i].expand && in->kw != DF_RUN)
			rc = xpand(e, in->hd[i].body, DF_X_HEREDOC, &out->hd[i].body, &out->hd[i].len,
				   NULL);
		else
			out->hd[i].body = cp(e, in->hd[i].body, &rc);
	}
	return rc;
}

static int ev_from(struct ev *e, const struct df_inst *in, struct df_inst *out)
{
	int rc;

	e->v->in_stage = 0;             /* FROM sees the global scope only */
	if ((rc = ev_argv(e, in, out)) < 0 || (rc = xword(e, in->platform, &out->platform)) < 0)
		return rc;
	df_vartab_free(&e->v->args);
	df_vartab_free(&e->v->env);
	e->v->in_stage = 1;
	return 0;
}

int df_eval(struct df_vars *v, const struct df_inst *in, struct df_inst *out,
	    char *err, size_t errlen)
{
	struct ev e = { .v = v, .line = in->line, .err = err, .errlen = errlen };
	int rc = 0;

	memset(out, 0, sizeof *out);
	if (errlen)
		err[0] = 0;
	if (!(e.a = out->own = df_arena_new()))
		return -ENOMEM;
	out->kw = in->kw;
	out->line = in->line;
	out->hc = in->hc;
	out->exec = in->exec;
	out->maintainer = in->maintainer;
	out->stage = cp(&e, in->stage, &rc);
	out->network = cp(&e, in->network, &rc);
	out->shell = cp(&e, in->shell, &rc);
	if (in->nkv && !(out->kv = df_arena_alloc(e.a, in->nkv * sizeof *out->kv)))
		rc = -ENOMEM;
	out->nkv = in->nkv;
	if (rc < 0)
		goto out;
	if (in->kw == DF_FROM)
		rc = ev_from(&e, in, out);
	else if (in->kw == DF_ARG)
		rc = ev_arg(&e, in, out);
	else if (in->kw == DF_ENV || in->kw == DF_LABEL)
		rc = ev_pairs(&e, in, out);
	else if ((rc = ev_argv(&e, in, out)) == 0 && (rc = ev_heredocs(&e, in, out)) == 0 &&
		 (rc = xword(&e, in->from, &out->from)) == 0 &&
		 (rc = xword(&e, in->chown, &out->chown)) == 0)
		rc = xword(&e, in->chmod, &out->chmod);
out:
	if (rc < 0)
		df_inst_free(out);
	return rc;
}

void df_inst_free(struct df_inst *in)
{
	if (!in)
		return;
	df_arena_free(in->own);
	memset(in, 0, sizeof *in);
}

/* ---- dump ---- */

int df_dump_str(struct buf *out, const char *s, size_t n)
{
	int rc = buf_append(out, "\"", 1);

	for (size_t i = 0; i < n && rc == 0; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			rc = buf_printf(out, "\\%c", c);
		else if (c == '\n')
			rc = buf_append(out, "\\n", 2);
		else if (c == '\t')
			rc = buf_append(out, "\\t", 2);
		else if (c < 0x20 || c > 0x7e)
			rc = buf_printf(out, "\\x%02x", c);
		else
			rc = buf_append(out, &c, 1);
	}
	return rc ? rc : buf_append(out, "\"", 1);
}

static int dump_opt(struct buf *out, const char *flag, const char *v)
{
	int rc;

	if (!v)
		return 0;
	if ((rc = buf_printf(out, " --%s=", flag)) < 0)
		return rc;
	return df_dump_str(out, v, strlen(v));
}

static int dump_health(struct buf *out, const struct df_health *h)
{
	int rc = 0;

	if (h->none)
		return buf_append(out, " NONE", 5);
	if (h->interval)
		rc = buf_printf(out, " interval=%llu", (unsigned long long)h->interval);
	if (rc == 0 && h->timeout)
		rc = buf_printf(out, " timeout=%llu", (unsigned long long)h->timeout);
	if (rc == 0 && h->start_period)
		rc = buf_printf(out, " start-period=%llu", (unsigned long long)h->start_period);
	if (rc == 0 && h->start_interval)
		rc = buf_printf(out, " start-interval=%llu", (unsigned long long)h->start_interval);
	if (rc == 0 && h->retries >= 0)
		rc = buf_printf(out, " retries=%lld", (long long)h->retries);
	return rc ? rc : buf_append(out, " CMD", 4);
}

int df_dump_inst(const struct df_inst *in, struct buf *out)
{
	int rc = buf_printf(out, "%u %s", in->line, df_kw_name(in->kw));

	if (rc == 0)
		rc = dump_opt(out, "platform", in->platform);
	if (rc == 0)
		rc = dump_opt(out, "network", in->network);
	if (rc == 0)
		rc = dump_opt(out, "from", in->from);
	if (rc == 0)
		rc = dump_opt(out, "chown", in->chown);
	if (rc == 0)
		rc = dump_opt(out, "chmod", in->chmod);
	if (rc == 0 && in->kw == DF_HEALTHCHECK)
		rc = dump_health(out, &in->hc);
	if (rc == 0 && in->shell && (rc = buf_append(out, " shell ", 7)) == 0)
		rc = df_dump_str(out, in->shell, strlen(in->shell));
	if (rc == 0 && in->argv) {
		rc = buf_append(out, in->exec ? " exec [" : " words [", in->exec ? 7 : 8);
		for (size_t i = 0; i < in->argc && rc == 0; i++)
			if ((rc = i ? buf_append(out, ", ", 2) : 0) == 0)
				rc = df_dump_str(out, in->argv[i], strlen(in->argv[i]));
		if (rc == 0)
			rc = buf_append(out, "]", 1);
	}
	for (size_t i = 0; i < in->nkv && rc == 0; i++) {
		if ((rc = buf_append(out, " ", 1)) == 0)
			rc = df_dump_str(out, in->kv[i].key, strlen(in->kv[i].key));
		if (rc == 0 && in->kv[i].value && (rc = buf_append(out, "=", 1)) == 0)
			rc = df_dump_str(out, in->kv[i].value, strlen(in->kv[i].value));
	}
	if (rc == 0 && in->maintainer)
		rc = buf_append(out, " (MAINTAINER)", 13);
	if (rc == 0 && in->stage && (rc = buf_append(out, " AS ", 4)) == 0)
		rc = df_dump_str(out, in->stage, strlen(in->stage));
	if (rc == 0)
		rc = buf_append(out, "\n", 1);
	for (size_t i = 0; i < in->nhd && rc == 0; i++) {
		const struct df_heredoc *h = &in->hd[i];
		if ((rc = buf_append(out, "  heredoc ", 10)) == 0)
			rc = df_dump_str(out, h->name, strlen(h->name));
		if (rc == 0)
			rc = buf_printf(out, " fd=%d arg=%d expand=%d chomp=%d ", h->fd, h->arg,
					h->expand, h->chomp);
		if (rc == 0)
			rc = df_dump_str(out, h->body, h->len);
		if (rc == 0)
			rc = buf_append(out, "\n", 1);
	}
	return rc;
}

int df_dump(const struct df_file *f, struct buf *out)
{
	int rc = buf_printf(out, "escape %c\n", f->escape);

	if (rc == 0 && f->syntax && (rc = buf_append(out, "syntax ", 7)) == 0 &&
	    (rc = df_dump_str(out, f->syntax, strlen(f->syntax))) == 0)
		rc = buf_append(out, "\n", 1);
	for (size_t i = 0; i < f->n && rc == 0; i++)
		rc = df_dump_inst(&f->inst[i], out);
	for (size_t i = 0; i < f->nnotes && rc == 0; i++)
		rc = buf_printf(out, "note %u: %s\n", f->notes[i].line, f->notes[i].msg);
	if (rc == 0 && f->notes_dropped)
		rc = buf_printf(out, "notes dropped: %zu\n", f->notes_dropped);
	return rc;
}
