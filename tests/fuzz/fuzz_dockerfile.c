/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the Dockerfile parser, expansion and evaluation
 * (src/dockerfile*.c) and the .dockerignore matcher (src/dockerignore.c) on
 * the same bytes. Checked cheaply, abort() on any breach:
 * - a refusal carries "Dockerfile:..." and leaves the file empty;
 * - an accepted file: instructions in strictly increasing line order within
 *   the input, ARG only before the first FROM, each instruction's argument
 *   form consistent with its keyword, heredocs only where allowed, and a
 *   second parse dumps byte-identically; the dump is printable ASCII;
 * - every instruction evaluates or fails with a message, and the result
 *   dumps; df_expand() of the raw input in every mode keeps its bounds;
 * - .dockerignore: di_match() answers are the same for a path, "./path" and
 *   "path/", and a directory reported DI_PRUNE has no child that would be
 *   included (the walker's skip is sound).
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dockerfile.h"
#include "dockerignore.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(e) do { if (!(e)) abort(); } while (0)

static const char *fixed_lookup(void *ctx, const char *name, size_t nlen)
{
	(void)ctx;
	if (nlen == 1 && name[0] == 'A')
		return "alpha beta";
	if (nlen == 1 && name[0] == 'E')
		return "";
	if (nlen == 1 && name[0] == 'Q')
		return "'\"$A\\";
	return NULL;
}

static void printable(const struct buf *b)
{
	for (size_t i = 0; i < b->len; i++)
		CHECK(b->data[i] == '\n' || (b->data[i] >= 0x20 && b->data[i] <= 0x7e));
}

static int has_flag_of(const struct df_inst *in)
{
	return in->from || in->chown || in->chmod || in->platform || in->network;
}

static void check_inst(const struct df_inst *in, unsigned maxline)
{
	CHECK(in->kw >= DF_FROM && in->kw <= DF_RUN && in->line >= 1 && in->line <= maxline);
	CHECK(!in->argv || !in->argv[in->argc]);
	CHECK(!in->exec || in->argv);
	switch (in->kw) {
	case DF_RUN:
	case DF_CMD:
	case DF_ENTRYPOINT:
		CHECK(!!in->exec != !!in->shell);
		break;
	case DF_HEALTHCHECK:
		CHECK(in->hc.none ? !in->shell && !in->argv : !!in->exec != !!in->shell);
		break;
	case DF_ARG:
	case DF_ENV:
	case DF_LABEL:
		CHECK(in->nkv >= 1 && !in->argv && !in->shell);
		for (size_t i = 0; i < in->nkv; i++)
			CHECK(in->kv[i].key && in->kv[i].key[0] && (in->kv[i].value || in->kw == DF_ARG));
		break;
	case DF_COPY:
	case DF_ADD:
		CHECK(in->argc >= 2);
		break;
	case DF_FROM:
		CHECK(in->argc == 1 && !in->exec);
		break;
	case DF_SHELL:
		CHECK(in->exec && in->argc >= 1);
		break;
	default:
		CHECK(in->argc >= 1 && !in->shell);
	}
	CHECK(in->nhd == 0 || in->kw == DF_RUN || in->kw == DF_COPY || in->kw == DF_ADD);
	for (size_t i = 0; i < in->nhd; i++) {
		CHECK(in->hd[i].name && in->hd[i].name[0] && in->hd[i].body);
		CHECK(strlen(in->hd[i].body) == in->hd[i].len);
		CHECK(in->kw == DF_RUN ? in->hd[i].arg == -1 : in->hd[i].arg >= 0 &&
		      (size_t)in->hd[i].arg + 1 < in->argc);
	}
	CHECK(!has_flag_of(in) || in->kw == DF_FROM || in->kw == DF_RUN || in->kw == DF_COPY ||
	      in->kw == DF_ADD);
}

static void eval_all(const struct df_file *f)
{
	struct df_vars v;
	struct df_vartab env = { 0 };
	struct buf out = { 0 };
	char err[256];

	df_vars_init(&v, "Dockerfile", f->escape);
	CHECK(df_vartab_set(&v.build, "A", "build arg") == 0);
	CHECK(df_vartab_set(&v.build, "http_proxy", "http://p:1") == 0);
	CHECK(df_vartab_set(&v.automatic, "TARGETARCH", "s390x") == 0);
	for (size_t i = 0; i < f->n; i++) {
		struct df_inst o;
		int rc = df_eval(&v, &f->inst[i], &o, err, sizeof err);
		if (rc < 0) {
			CHECK(rc == -EINVAL || rc == -E2BIG || rc == -ENOMEM);
			CHECK(rc == -ENOMEM || strncmp(err, "Dockerfile:", 11) == 0);
			CHECK(!o.own && !o.argv);
			continue;
		}
		CHECK(o.kw == f->inst[i].kw && o.line == f->inst[i].line && o.argc <= DF_MAX_ARGS);
		CHECK(df_dump_inst(&o, &out) == 0);
		if (o.kw == DF_FROM)
			CHECK(df_vartab_set(&v.env, "PATH", "/bin") == 0);
		CHECK(df_vars_run_env(&v, &env) == 0);
		df_inst_free(&o);
	}
	printable(&out);
	buf_free(&out);
	df_vartab_free(&env);
	df_vars_free(&v);
}

static void parse_checks(const uint8_t *data, size_t size)
{
	struct df_file f, g;
	struct buf d1 = { 0 }, d2 = { 0 };
	char err[256];
	unsigned maxline = 1;
	int rc = df_parse("Dockerfile", data, size, &f, err, sizeof err);

	for (size_t i = 0; i < size; i++)
		maxline += data[i] == '\n';
	if (rc < 0) {
		CHECK(rc == -EINVAL || rc == -E2BIG || rc == -ENOMEM);
		CHECK(rc == -ENOMEM || strncmp(err, "Dockerfile:", 11) == 0);
		CHECK(f.n == 0 && !f.inst && !f.arena);
		return;
	}
	CHECK(f.n >= 1 && f.nstages >= 1 && (f.escape == '\\' || f.escape == '`'));
	int from_seen = 0;
	for (size_t i = 0; i < f.n; i++) {
		check_inst(&f.inst[i], maxline);
		CHECK(i == 0 || f.inst[i].line > f.inst[i - 1].line);
		CHECK(from_seen || f.inst[i].kw == DF_ARG || f.inst[i].kw == DF_FROM);
		from_seen |= f.inst[i].kw == DF_FROM;
	}
	CHECK(df_dump(&f, &d1) == 0);
	printable(&d1);
	CHECK(df_parse("Dockerfile", data, size, &g, err, sizeof err) == 0);
	CHECK(df_dump(&g, &d2) == 0 && d1.len == d2.len && memcmp(d1.data, d2.data, d1.len) == 0);
	eval_all(&f);
	df_free(&g);
	df_free(&f);
	buf_free(&d1);
	buf_free(&d2);
}

static void expand_checks(const uint8_t *data, size_t size)
{
	static const enum df_xmode modes[] = { DF_X_WORD, DF_X_WORDS, DF_X_HEREDOC };
	char *out, err[160];
	size_t olen, n;

	if (size > 4096)
		return;
	for (int m = 0; m < 3; m++)
		for (int e = 0; e < 2; e++) {
			int rc = df_expand((const char *)data, size, e ? '`' : '\\', modes[m],
					   fixed_lookup, NULL, &out, &olen, &n, err, sizeof err);
			if (rc < 0) {
				CHECK(!out && err[0] && (rc == -EINVAL || rc == -E2BIG || rc == -ENOMEM));
				continue;
			}
			size_t nuls = 0;
			for (size_t i = 0; i < olen; i++)
				nuls += out[i] == 0;
			CHECK(olen <= DF_MAX_EXPANSION && nuls == n && (olen == 0 || out[olen - 1] == 0));
			CHECK(modes[m] == DF_X_WORDS || n == 1);
			for (size_t i = 0; modes[m] == DF_X_WORDS && i < olen; i++)
				CHECK(out[i] || i == 0 || out[i - 1]);  /* no empty words */
			free(out);
		}
}

/* Probe paths: the input's short lines (as paths) plus fixed ones. */
static void ignore_checks(const uint8_t *data, size_t size)
{
	static const char *const fixed[] = { "a", "a/b", "src", "src/main.c", "x.log", "vendor/k" };
	const char *probe[24];
	size_t plen[24], np = 0, pos = 0;
	struct di_rules *r;
	char err[256], tmp[DI_MAX_PATH + 8];

	if (di_parse(".dockerignore", data, size, &r, err, sizeof err) < 0) {
		CHECK(err[0] || r == NULL);
		return;
	}
	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
		probe[np] = fixed[i], plen[np++] = strlen(fixed[i]);
	while (pos < size && np < 24) {
		const uint8_t *nl = memchr(data + pos, '\n', size - pos);
		size_t n = nl ? (size_t)(nl - data - pos) : size - pos;
		if (n && n < 200 && !memchr(data + pos, 0, n))
			probe[np] = (const char *)data + pos, plen[np++] = n;
		pos += n + 1;
	}
	for (size_t i = 0; i < np; i++) {
		int d = di_match(r, probe[i], plen[i], 1), fl = di_match(r, probe[i], plen[i], 0);
		CHECK((d == -EINVAL || (d >= 0 && d <= DI_PRUNE)) &&
		      (fl == -EINVAL || (fl >= 0 && fl <= DI_EXCLUDE)));
		CHECK((d == DI_INCLUDE) == (fl == DI_INCLUDE));
		memcpy(tmp, "./", 2);
		memcpy(tmp + 2, probe[i], plen[i]);
		CHECK(di_match(r, tmp, plen[i] + 2, 1) == d || plen[i] + 2 > DI_MAX_PATH);
		memcpy(tmp, probe[i], plen[i]);
		tmp[plen[i]] = '/';
		CHECK(di_match(r, tmp, plen[i] + 1, 1) == d || plen[i] + 1 > DI_MAX_PATH);
		if (d != DI_PRUNE)
			continue;
		for (size_t k = 0; k < np; k++) {           /* no child comes back */
			if (plen[i] + 1 + plen[k] > DI_MAX_PATH || memmem(probe[k], plen[k], "..", 2))
				continue;
			memcpy(tmp + plen[i] + 1, probe[k], plen[k]);
			int c = di_match(r, tmp, plen[i] + 1 + plen[k], 0);
			CHECK(c != DI_INCLUDE || di_match(r, probe[i], plen[i], 1) < 0);
		}
	}
	di_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	parse_checks(data, size);
	expand_checks(data, size);
	ignore_checks(data, size);
	return 0;
}
