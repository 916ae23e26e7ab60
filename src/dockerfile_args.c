/* SPDX-License-Identifier: MIT */
/*
 * The argument side of the Dockerfile parser (contract in dockerfile.h):
 * Docker's word splitting, builder flags, JSON string arrays, Go durations,
 * and the arguments of each instruction as BuildKit's parser reads them.
 */
#include "dockerfile.h"
#include "dockerfile_int.h"
#include "limits.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- words, flags, JSON ---- */

/* Docker's parseWords: the next word of t[*pos..n) split at unquoted blanks;
 * quotes and escapes stay in the word, which is a substring of t. */
int df_next_word(const char *t, size_t n, size_t *pos, char esc, size_t *ws, size_t *we)
{
	size_t i = *pos;
	char quote = 0;

	while (i < n && is_space(t[i]))
		i++;
	if (i >= n) {
		*pos = i;
		return 0;
	}
	*ws = i;
	for (; i < n; i++) {
		char c = t[i];
		if (!quote && is_space(c))
			break;
		if (!quote && (c == '\'' || c == '"'))
			quote = c;
		else if (quote && c == quote)
			quote = 0;
		else if (c == esc && quote != '\'' && i + 1 < n)
			i++;
	}
	*we = i;
	*pos = i;
	return 1;
}

/* Words split at blanks only (BuildKit's parseStringsWhitespaceDelimited). */
static int split_blanks(struct ps *s, unsigned line, const char *t, size_t n, struct vec *v)
{
	size_t i = 0, st;
	int rc;

	for (;;) {
		while (i < n && is_space(t[i]))
			i++;
		if (i >= n)
			return 0;
		for (st = i; i < n && !is_space(t[i]); i++)
			;
		if ((rc = df_vec_push(s, v, df_dup(s, t + st, i - st), line)) < 0)
			return rc;
	}
}

/* BuildKit's extractBuilderFlags: leading "--name[=value]" words (quotes
 * removed, backslash escapes the next character); "--" ends them. *rest is
 * set to the text after the flags. */
int df_parse_flags(struct ps *s, unsigned line, const char *t, size_t n,
		       struct flag *fl, size_t *nfl, size_t *rest)
{
	struct buf w = { .max = DF_MAX_LINE };
	size_t i = 0;
	int rc = 0;

	*nfl = 0;
	for (;;) {
		while (i < n && is_space(t[i]))
			i++;
		if (i + 1 >= n || t[i] != '-' || t[i + 1] != '-')
			break;
		char quote = 0;
		w.len = 0;
		for (; i < n && (quote || !is_space(t[i])); i++) {
			char c = t[i];
			if (!quote && (c == '\'' || c == '"')) {
				quote = c;
				continue;
			}
			if (quote && c == quote) {
				quote = 0;
				continue;
			}
			if (c == '\\') {
				if (i + 1 >= n)
					continue;
				c = t[++i];
			}
			if ((rc = buf_append(&w, &c, 1)) < 0)
				goto out;
		}
		if (w.len == 2 && !quote)       /* "--": end of flags */
			break;
		if (*nfl >= DF_MAX_FLAGS) {
			rc = df_fail(s, line, -E2BIG, "more than %d flags", DF_MAX_FLAGS);
			goto out;
		}
		const char *wd = (const char *)w.data + 2, *eq = memchr(wd, '=', w.len - 2);
		size_t nl = eq ? (size_t)(eq - wd) : w.len - 2;
		struct flag *f = &fl[(*nfl)++];
		char sh[48];
		if (nl == 0 || nl >= sizeof f->name) {
			rc = df_fail(s, line, -EINVAL, "unknown flag: --%s", df_shown(sh, wd, nl));
			goto out;
		}
		memcpy(f->name, wd, nl);
		f->name[nl] = 0;
		f->used = 0;
		f->value = NULL;
		if (eq && !(f->value = df_dup(s, eq + 1, w.len - 3 - nl))) {
			rc = -ENOMEM;
			goto out;
		}
	}
	*rest = i;
out:
	buf_free(&w);
	return rc;
}

/* The flag called name (now marked used), or NULL. */
static struct flag *flag_get(struct flag *fl, size_t nfl, const char *name)
{
	for (size_t i = 0; i < nfl; i++)
		if (strcmp(fl[i].name, name) == 0) {
			fl[i].used = 1;
			return &fl[i];
		}
	return NULL;
}

/* Takes the string flag called name into *dst. */
static int flag_str(struct ps *s, unsigned line, struct flag *fl, size_t nfl,
		    const char *name, char **dst)
{
	struct flag *f = flag_get(fl, nfl, name);

	if (!f)
		return 0;
	for (struct flag *g = f + 1; g < fl + nfl; g++)
		if (strcmp(g->name, name) == 0)
			return df_fail(s, line, -EINVAL, "duplicate flag specified: --%s", name);
	if (!f->value)
		return df_fail(s, line, -EINVAL, "missing a value on flag: --%s", name);
	*dst = f->value;
	return 0;
}

static int json_ws(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static size_t put_utf8(char *d, unsigned cp)
{
	if (cp < 0x80) {
		d[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		d[0] = (char)(0xc0 | cp >> 6);
		d[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		d[0] = (char)(0xe0 | cp >> 12);
		d[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		d[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	d[0] = (char)(0xf0 | cp >> 18);
	d[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	d[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	d[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Four hex digits at t[i..]; -1 if not. */
static long hex4(const char *t, size_t n, size_t i)
{
	long v = 0;

	if (i + 4 > n)
		return -1;
	for (int k = 0; k < 4; k++) {
		int h = util_hexval((unsigned char)t[i + k]);
		if (h < 0)
			return -1;
		v = v * 16 + h;
	}
	return v;
}

/* A JSON string at t[*i] == '"' into the arena. Returns NULL with *why set
 * on a syntax error. Decoding never grows the text, so the raw length of the
 * string (up to its closing quote) bounds the memory it takes. */
static char *json_string(struct ps *s, const char *t, size_t n, size_t *i, const char **why)
{
	size_t k = *i + 1, o = 0, e = k;
	char *d;

	while (e < n && t[e] != '"')            /* the raw length bounds the decoded one */
		e += t[e] == '\\' ? 2 : 1;
	if (!(d = df_arena_alloc(s->a, (e < n ? e : n) - *i + 1)))
		return *why = NULL, NULL;
	for (;; k++) {
		if (k >= n)
			return *why = "unterminated string", NULL;
		unsigned char c = (unsigned char)t[k];
		if (c == '"')
			break;
		if (c < 0x20)
			return *why = "control character in a string", NULL;
		if (c != '\\') {
			d[o++] = (char)c;
			continue;
		}
		if (++k >= n)
			return *why = "unterminated string", NULL;
		const char *m = strchr("\"\\/bfnrt", t[k]);
		if (m && t[k]) {
			d[o++] = "\"\\/\b\f\n\r\t"[m - "\"\\/bfnrt"];
			continue;
		}
		long cp = t[k] == 'u' ? hex4(t, n, k + 1) : -1;
		if (cp < 0)
			return *why = "bad escape in a string", NULL;
		k += 4;
		if (cp >= 0xd800 && cp < 0xdc00 && k + 2 < n && t[k + 1] == '\\' && t[k + 2] == 'u') {
			long lo = hex4(t, n, k + 3);
			if (lo >= 0xdc00 && lo < 0xe000) {
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				k += 6;
			}
		}
		if (cp >= 0xd800 && cp < 0xe000)
			cp = 0xfffd;            /* a lone surrogate, as Go decodes it */
		if (cp == 0)
			return *why = "\\u0000 in a string", NULL;
		o += put_utf8(d + o, (unsigned)cp);
	}
	d[o] = 0;
	*i = k + 1;
	return d;
}

/* 1: t is a JSON array of strings, now in v (the exec form). 0: t is not
 * JSON (shell form). A text that opens with '[' followed by '"' or ']' is
 * meant as JSON and must be valid (Docker would silently run it as a shell
 * command instead); "[ -f x ]" is a shell test and stays shell form. */
static int parse_json(struct ps *s, unsigned line, const char *t, size_t n, struct vec *v)
{
	const char *why = "expected a string";
	size_t i = 1;
	int rc;

	if (n == 0 || t[0] != '[')
		return 0;
	while (i < n && json_ws(t[i]))
		i++;
	if (i < n && t[i] != '"' && t[i] != ']')
		return 0;
	if (i < n && t[i] == ']') {
		i++;
		goto end;
	}
	for (;;) {
		if (i >= n || t[i] != '"')
			goto bad;
		char *str = json_string(s, t, n, &i, &why);
		if (!str) {
			if (!why)
				return -ENOMEM;
			goto bad;
		}
		if ((rc = df_vec_push(s, v, str, line)) < 0)
			return rc;
		while (i < n && json_ws(t[i]))
			i++;
		if (i < n && t[i] == ']') {
			i++;
			break;
		}
		why = "expected , or ]";
		if (i >= n || t[i] != ',')
			goto bad;
		i++;
		while (i < n && json_ws(t[i]))
			i++;
		why = "expected a string";
	}
end:
	while (i < n && json_ws(t[i]))
		i++;
	why = "text after the closing ]";
	if (i == n)
		return 1;
bad:
	return df_fail(s, line, -EINVAL, "malformed JSON array: %s", why);
}

/* ---- instructions ---- */

static const struct {
	const char *name;
	int kw;
} kw_table[] = {
	{ "FROM", DF_FROM }, { "ARG", DF_ARG }, { "ENV", DF_ENV }, { "LABEL", DF_LABEL },
	{ "WORKDIR", DF_WORKDIR }, { "USER", DF_USER }, { "EXPOSE", DF_EXPOSE },
	{ "ENTRYPOINT", DF_ENTRYPOINT }, { "CMD", DF_CMD }, { "SHELL", DF_SHELL },
	{ "VOLUME", DF_VOLUME }, { "STOPSIGNAL", DF_STOPSIGNAL },
	{ "HEALTHCHECK", DF_HEALTHCHECK }, { "COPY", DF_COPY }, { "ADD", DF_ADD },
	{ "RUN", DF_RUN }, { "MAINTAINER", KW_MAINTAINER }, { "ONBUILD", KW_ONBUILD },
};

const char *df_kw_name(enum df_kw kw)
{
	for (size_t i = 0; i < sizeof kw_table / sizeof kw_table[0]; i++)
		if (kw_table[i].kw == (int)kw)
			return kw_table[i].name;
	return "?";
}

/* Go's time.ParseDuration for values >= 0: "0", or one or more
 * <digits>[.<digits>]<unit> with unit ns us µs ms s m h. -1 if malformed or
 * over INT64_MAX nanoseconds. */
static int parse_duration(const char *p, size_t n, uint64_t *out)
{
	static const struct { const char *u; uint64_t ns; } units[] = {
		{ "ns", 1 }, { "us", 1000 }, { "\xc2\xb5s", 1000 }, { "\xce\xbcs", 1000 },
		{ "ms", 1000000 }, { "s", 1000000000 }, { "m", 60000000000ull },
		{ "h", 3600000000000ull },
	};
	uint64_t total = 0;
	size_t i = 0;

	if (n && p[0] == '+')
		i++;
	if (n - i == 1 && p[i] == '0')
		return *out = 0, 0;
	if (i >= n)
		return -1;
	while (i < n) {
		size_t is = i, fs, fe, us, best = 0, bl = 0;
		uint64_t v = 0, add;
		while (i < n && p[i] >= '0' && p[i] <= '9')
			i++;
		if (i > is && util_parse_u64(p + is, i - is, INT64_MAX, &v) < 0)
			return -1;
		fs = fe = i;
		if (i < n && p[i] == '.')
			for (fs = fe = ++i; i < n && p[i] >= '0' && p[i] <= '9'; fe = ++i)
				;
		if (i == is || (fe == fs && i == is + 1 && p[is] == '.'))
			return -1;              /* no digits at all */
		for (us = i; i < n && !(p[i] >= '0' && p[i] <= '9') && p[i] != '.'; i++)
			;
		for (size_t k = 0; k < sizeof units / sizeof units[0]; k++)
			if (strlen(units[k].u) == i - us && memcmp(p + us, units[k].u, i - us) == 0)
				best = k, bl = 1;
		if (!bl || v > INT64_MAX / units[best].ns)
			return -1;
		add = v * units[best].ns;
		uint64_t scale = units[best].ns;
		for (size_t k = fs; k < fe && scale >= 10; k++) {
			scale /= 10;
			add += (uint64_t)(p[k] - '0') * scale;
		}
		if (add > INT64_MAX - total)
			return -1;
		total += add;
	}
	*out = total;
	return 0;
}

static int flag_duration(struct ps *s, struct df_inst *in, struct flag *fl, size_t nfl,
			 const char *name, uint64_t *dst)
{
	char *v = NULL, t[48];
	int rc = flag_str(s, in->line, fl, nfl, name, &v);

	if (rc < 0 || !v)
		return rc;
	if (!*v)
		return 0;
	if (parse_duration(v, strlen(v), dst) < 0)
		return df_fail(s, in->line, -EINVAL, "--%s: bad duration \"%s\"", name,
			    df_shown(t, v, strlen(v)));
	if (*dst && *dst < 1000000)
		return df_fail(s, in->line, -EINVAL, "--%s cannot be less than 1ms", name);
	return 0;
}

/* Exec form from a JSON array, else the shell form text. */
static int exec_or_shell(struct ps *s, struct df_inst *in, const char *t, size_t n)
{
	struct vec v = { 0 };
	int rc = parse_json(s, in->line, t, n, &v);

	if (rc > 0) {
		in->exec = 1;
		return df_vec_take(s, &v, &in->argv, &in->argc);
	}
	free(v.v);
	if (rc < 0)
		return rc;
	return (in->shell = df_dup(s, t, n)) ? 0 : -ENOMEM;
}

/* A JSON array or blank-separated words, both into argv. */
static int json_or_words(struct ps *s, struct df_inst *in, const char *t, size_t n)
{
	struct vec v = { 0 };
	int rc = parse_json(s, in->line, t, n, &v);

	if (rc > 0)
		in->exec = 1;
	else if (rc == 0)
		rc = split_blanks(s, in->line, t, n, &v);
	if (rc >= 0)
		return df_vec_take(s, &v, &in->argv, &in->argc);
	free(v.v);
	return rc;
}

/* Marks "ARG name" without a value in a list of pairs. */
static char no_value[1];

static int kv_take(struct ps *s, struct df_inst *in, struct vec *v)
{
	if (!(in->kv = df_arena_alloc(s->a, (v->n / 2 + 1) * sizeof *in->kv))) {
		free(v->v);
		return -ENOMEM;
	}
	for (size_t i = 0; i + 1 < v->n; i += 2) {
		in->kv[in->nkv].key = v->v[i];
		in->kv[in->nkv++].value = v->v[i + 1] == no_value ? NULL : v->v[i + 1];
	}
	free(v->v);
	return 0;
}

/* ARG name[=default] ..., ENV and LABEL key=value ... or the legacy
 * "ENV key value" (BuildKit's parseNameOrNameVal and parseNameVal). */
static int pairs(struct ps *s, struct df_inst *in, const char *what, const char *t, size_t n)
{
	struct vec v = { 0 };
	size_t pos = 0, ws, we;
	int rc = 0, first = 1;
	char sh[48];

	while (df_next_word(t, n, &pos, s->esc, &ws, &we)) {
		const char *w = t + ws, *eq = memchr(w, '=', we - ws);
		if (!eq && in->kw != DF_ARG) {
			if (!first) {
				rc = df_fail(s, in->line, -EINVAL, "syntax error - can't find = in \"%s\"."
					  " Must be of the form: name=value", df_shown(sh, w, we - ws));
				goto out;
			}
			size_t k = 0, vs;               /* legacy: KEY value */
			while (k < n && !is_space(t[k]))
				k++;
			for (vs = k; vs < n && is_space(t[vs]); vs++)
				;
			if (vs == n) {
				rc = df_fail(s, in->line, -EINVAL, "%s must have two arguments", what);
				goto out;
			}
			df_note(s, in->line, "legacy \"%s key value\" form; use %s key=value", what, what);
			if ((rc = df_vec_push(s, &v, df_dup(s, t, k), in->line)) < 0 ||
			    (rc = df_vec_push(s, &v, df_dup(s, t + vs, n - vs), in->line)) < 0)
				goto out;
			break;
		}
		first = 0;
		size_t kn = eq ? (size_t)(eq - w) : we - ws;
		if (kn == 0) {
			rc = df_fail(s, in->line, -EINVAL, "%s names can not be blank", what);
			goto out;
		}
		if ((rc = df_vec_push(s, &v, df_dup(s, w, kn), in->line)) < 0)
			goto out;
		char *val = eq ? df_dup(s, eq + 1, (size_t)(t + we - eq - 1)) : no_value;
		if ((rc = df_vec_push(s, &v, val, in->line)) < 0)
			goto out;
	}
	if (v.n == 0) {
		rc = df_fail(s, in->line, -EINVAL, "%s requires at least one argument", what);
		goto out;
	}
	return kv_take(s, in, &v);
out:
	free(v.v);
	return rc;
}

/* FROM [--platform=p] image [AS name]; stage names are unique and match
 * [a-z][a-z0-9-_.]* after lower-casing. */
static int p_from(struct ps *s, struct df_inst *in, const char *t, size_t n)
{
	char sh[48];
	int rc = json_or_words(s, in, t, n);

	if (rc < 0)
		return rc;
	if (in->exec || (in->argc != 1 && in->argc != 3) ||
	    (in->argc == 3 && strcasecmp(in->argv[1], "as") != 0))
		return df_fail(s, in->line, -EINVAL, "FROM requires either one or three arguments");
	if (s->f->nstages >= DF_MAX_STAGES)
		return df_fail(s, in->line, -E2BIG, "more than %d stages", DF_MAX_STAGES);
	s->f->nstages++;
	if (in->argc == 1)
		return 0;
	char *nm = in->argv[2];
	size_t nl = strlen(nm);
	for (size_t i = 0; i < nl; i++)
		if (nm[i] >= 'A' && nm[i] <= 'Z')
			nm[i] = (char)(nm[i] | 0x20);
	int ok = nl <= DF_MAX_NAME && nm[0] >= 'a' && nm[0] <= 'z';
	for (size_t i = 1; ok && i < nl; i++)
		ok = (nm[i] >= 'a' && nm[i] <= 'z') || (nm[i] >= '0' && nm[i] <= '9') ||
		     nm[i] == '-' || nm[i] == '_' || nm[i] == '.';
	if (!ok)
		return df_fail(s, in->line, -EINVAL, "invalid name for build stage: \"%s\", name can't"
			    " start with a number or contain symbols", df_shown(sh, nm, nl));
	for (size_t i = 0; i < s->f->n; i++)
		if (s->f->inst[i].stage && strcmp(s->f->inst[i].stage, nm) == 0)
			return df_fail(s, in->line, -EINVAL, "duplicate stage name \"%s\" (line %u)",
				    nm, s->f->inst[i].line);
	in->stage = nm;
	in->argc = 1;
	in->argv[1] = NULL;
	return 0;
}

/* HEALTHCHECK NONE | HEALTHCHECK [options] CMD command. */
static int p_health(struct ps *s, struct df_inst *in, struct flag *fl, size_t nfl,
		    const char *t, size_t n)
{
	size_t k = 0, r;
	char *retries = NULL, sh[48];
	int rc;

	in->hc.retries = -1;
	while (k < n && !is_space(t[k]))
		k++;
	for (r = k; r < n && is_space(t[r]); r++)
		;
	if (k == 4 && strncasecmp(t, "NONE", 4) == 0) {
		if (r < n)
			return df_fail(s, in->line, -EINVAL, "HEALTHCHECK NONE takes no arguments");
		if (nfl)
			return df_fail(s, in->line, -EINVAL, "HEALTHCHECK NONE takes no options");
		in->hc.none = 1;
		return 0;
	}
	if (k != 3 || strncasecmp(t, "CMD", 3) != 0)
		return df_fail(s, in->line, -EINVAL, "unknown type \"%s\" in HEALTHCHECK (try CMD)",
			    df_shown(sh, t, k));
	if ((rc = flag_duration(s, in, fl, nfl, "interval", &in->hc.interval)) < 0 ||
	    (rc = flag_duration(s, in, fl, nfl, "timeout", &in->hc.timeout)) < 0 ||
	    (rc = flag_duration(s, in, fl, nfl, "start-period", &in->hc.start_period)) < 0 ||
	    (rc = flag_duration(s, in, fl, nfl, "start-interval", &in->hc.start_interval)) < 0 ||
	    (rc = flag_str(s, in->line, fl, nfl, "retries", &retries)) < 0)
		return rc;
	if (retries) {
		uint64_t v;
		if (util_parse_u64(retries, strlen(retries), INT32_MAX, &v) < 0)
			return df_fail(s, in->line, -EINVAL, "--retries must be a number from 0 to %d",
				    INT32_MAX);
		in->hc.retries = (int64_t)v;
	}
	if (r == n)
		return df_fail(s, in->line, -EINVAL, "missing command after HEALTHCHECK CMD");
	if ((rc = exec_or_shell(s, in, t + r, n - r)) < 0)
		return rc;
	if (in->exec && in->argc == 0)
		return df_fail(s, in->line, -EINVAL, "missing command after HEALTHCHECK CMD");
	return 0;
}

/* Flags BuildKit knows and sbs refuses, with the reason. */
static int refused_flag(struct ps *s, unsigned line, int kw, const struct flag *f)
{
	static const struct { int kw; const char *name, *why; } no[] = {
		{ DF_RUN, "mount", "cache, bind, secret and ssh mounts are not supported" },
		{ DF_RUN, "security", "sandbox settings are fixed" },
		{ DF_COPY, "link", "layers are always built on the previous one" },
		{ DF_ADD, "link", "layers are always built on the previous one" },
		{ DF_COPY, "parents", "not supported" },
		{ DF_COPY, "exclude", "not supported" },
		{ DF_ADD, "exclude", "not supported" },
		{ DF_ADD, "checksum", "remote sources are not supported" },
		{ DF_ADD, "keep-git-dir", "remote sources are not supported" },
	};
	for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
		if (no[i].kw == kw && strcmp(no[i].name, f->name) == 0)
			return df_fail(s, line, -EINVAL, "%s --%s is not supported: %s",
				    df_kw_name((enum df_kw)kw), f->name, no[i].why);
	return 0;
}

/* The flags an instruction takes; all others are refused afterwards. */
int df_take_flags(struct ps *s, struct df_inst *in, struct flag *fl, size_t nfl)
{
	int rc = 0;

	for (size_t i = 0; i < nfl; i++)
		if ((rc = refused_flag(s, in->line, in->kw, &fl[i])) < 0)
			return rc;
	switch (in->kw) {
	case DF_FROM:
		return flag_str(s, in->line, fl, nfl, "platform", &in->platform);
	case DF_COPY:
		if ((rc = flag_str(s, in->line, fl, nfl, "from", &in->from)) < 0)
			return rc;
		if (in->from && !*in->from)
			return df_fail(s, in->line, -EINVAL, "COPY --from needs a stage or image");
		/* fall through */
	case DF_ADD:
		if ((rc = flag_str(s, in->line, fl, nfl, "chown", &in->chown)) < 0)
			return rc;
		return flag_str(s, in->line, fl, nfl, "chmod", &in->chmod);
	case DF_RUN:
		if ((rc = flag_str(s, in->line, fl, nfl, "network", &in->network)) < 0 ||
		    !in->network)
			return rc;
		if (strcmp(in->network, "host") == 0)
			return df_fail(s, in->line, -EINVAL, "RUN --network=host is not supported");
		if (strcmp(in->network, "default") != 0 && strcmp(in->network, "none") != 0)
			return df_fail(s, in->line, -EINVAL, "RUN --network must be default or none");
		return 0;
	default:
		return 0;
	}
}

int df_check_unused(struct ps *s, struct df_inst *in, struct flag *fl, size_t nfl)
{
	for (size_t i = 0; i < nfl; i++)
		if (!fl[i].used)
			return df_fail(s, in->line, -EINVAL, "unknown flag: --%s", fl[i].name);
	return 0;
}

static int need_args(struct ps *s, struct df_inst *in, int kw, size_t have, size_t want)
{
	if (have >= want)
		return 0;
	return df_fail(s, in->line, -EINVAL, "%s requires at least %s", df_kw_name((enum df_kw)kw),
		    want == 1 ? "one argument" : "two arguments");
}

/* The arguments of one instruction, after its flags: t[0..n), trimmed. */
int df_p_args(struct ps *s, struct df_inst *in, int kw, const char *t, size_t n,
		  struct flag *fl, size_t nfl)
{
	int rc;

	switch (kw) {
	case DF_FROM:
		return p_from(s, in, t, n);
	case DF_ARG:
		return pairs(s, in, "ARG", t, n);
	case DF_ENV:
		return pairs(s, in, "ENV", t, n);
	case DF_LABEL:
		return pairs(s, in, "LABEL", t, n);
	case KW_MAINTAINER:
		if ((rc = need_args(s, in, kw, n, 1)) < 0)
			return rc;
		df_note(s, in->line, "MAINTAINER is deprecated; stored as LABEL maintainer");
		in->maintainer = 1;
		if (!(in->kv = df_arena_alloc(s->a, sizeof *in->kv)) ||
		    !(in->kv->key = df_dup(s, "maintainer", 10)) || !(in->kv->value = df_dup(s, t, n)))
			return -ENOMEM;
		in->nkv = 1;
		return 0;
	case DF_WORKDIR:
	case DF_USER:
	case DF_STOPSIGNAL:
		if (!n)
			return df_fail(s, in->line, -EINVAL, "%s requires exactly one argument",
				    df_kw_name(in->kw));
		if (!(in->argv = df_arena_alloc(s->a, 2 * sizeof *in->argv)) ||
		    !(in->argv[0] = df_dup(s, t, n)))
			return -ENOMEM;
		in->argc = 1;
		return 0;
	case DF_EXPOSE:
		if ((rc = json_or_words(s, in, t, n)) < 0)
			return rc;
		if (in->exec) /* Docker splits EXPOSE at blanks only */
			return df_fail(s, in->line, -EINVAL, "EXPOSE takes ports, not a JSON array");
		return need_args(s, in, kw, in->argc, 1);
	case DF_RUN:
	case DF_CMD:
	case DF_ENTRYPOINT:
		if ((rc = exec_or_shell(s, in, t, n)) < 0)
			return rc;
		if (kw == DF_RUN && in->exec && !in->argc)
			return need_args(s, in, kw, 0, 1);
		return in->exec ? 0 : need_args(s, in, kw, n, 1);
	case DF_SHELL:
		if ((rc = json_or_words(s, in, t, n)) < 0)
			return rc;
		if (!in->exec)
			return df_fail(s, in->line, -EINVAL, "SHELL requires the arguments to be in JSON form");
		return need_args(s, in, kw, in->argc, 1);
	case DF_VOLUME:
		if ((rc = json_or_words(s, in, t, n)) < 0 || (rc = need_args(s, in, kw, in->argc, 1)) < 0)
			return rc;
		for (size_t i = 0; i < in->argc; i++)
			if (!in->argv[i][0])
				return df_fail(s, in->line, -EINVAL, "VOLUME specified can not be an empty string");
		return 0;
	case DF_HEALTHCHECK:
		return p_health(s, in, fl, nfl, t, n);
	case DF_COPY:
	case DF_ADD:
		if ((rc = json_or_words(s, in, t, n)) < 0)
			return rc;
		return need_args(s, in, kw, in->argc, 2);
	}
	return -EINVAL;
}

int df_find_kw(const char *t, size_t k)
{
	for (size_t i = 0; i < sizeof kw_table / sizeof kw_table[0]; i++)
		if (strlen(kw_table[i].name) == k && strncasecmp(kw_table[i].name, t, k) == 0)
			return kw_table[i].kw;
	return 0;
}
