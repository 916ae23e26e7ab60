/* SPDX-License-Identifier: MIT */
/*
 * Private to src/dockerfile.c and src/dockerfile_args.c: the parser state
 * and the helpers both halves share. Not for other modules.
 */
#ifndef SBS_DOCKERFILE_INT_H
#define SBS_DOCKERFILE_INT_H

#include <stddef.h>

#include "dockerfile.h"
#include "util.h"

struct ps {
	const char *name;
	const char *p;
	size_t len, pos;
	unsigned lineno;                /* physical lines read so far */
	char esc;
	struct df_file *f;
	struct df_arena *a;
	struct buf line;                /* the logical line being parsed */
	size_t cap;                     /* f->inst capacity */
	int seen_from;
	char *err;
	size_t errlen;
};

/* A growable list of arena strings, capped at DF_MAX_ARGS. */
struct vec {
	char **v;
	size_t n, cap;
};

struct flag {
	char name[24];
	char *value;                    /* NULL: given without =value */
	unsigned used;
};

/* Keywords that are not instructions of struct df_inst. */
enum { KW_MAINTAINER = 100, KW_ONBUILD };

static inline int is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r';
}

int df_fail(struct ps *s, unsigned line, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
const char *df_shown(char out[48], const char *p, size_t n);
void df_note(struct ps *s, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
char *df_dup(struct ps *s, const char *p, size_t n);
int df_vec_push(struct ps *s, struct vec *v, char *str, unsigned line);
int df_vec_take(struct ps *s, struct vec *v, char ***argv, size_t *argc);

int df_next_word(const char *t, size_t n, size_t *pos, char esc, size_t *ws, size_t *we);
int df_parse_flags(struct ps *s, unsigned line, const char *t, size_t n,
		   struct flag *fl, size_t *nfl, size_t *rest);
int df_take_flags(struct ps *s, struct df_inst *in, struct flag *fl, size_t nfl);
int df_check_unused(struct ps *s, struct df_inst *in, struct flag *fl, size_t nfl);
int df_p_args(struct ps *s, struct df_inst *in, int kw, const char *t, size_t n,
	      struct flag *fl, size_t nfl);
int df_find_kw(const char *t, size_t k);

#endif
