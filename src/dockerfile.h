/* SPDX-License-Identifier: MIT */
/*
 * dockerfile: the Dockerfile front end of the builder. df_parse() turns the
 * bytes of a Dockerfile (untrusted; the caller reads the file) into a list of
 * instructions with their flags and arguments, unexpanded, exactly as the
 * Dockerfile reference and BuildKit's parser split them. df_expand() is the
 * variable expansion of Docker's shell lexer; struct df_vars holds the
 * variables of the global scope and of the current stage with Docker's ARG
 * scoping; df_eval() expands one instruction with them the way the builder
 * needs it. No I/O anywhere: pure functions over memory.
 *
 * Syntax handled by df_parse(): parser directives at the top (escape=\ or `,
 * syntax= and check= accepted and ignored with a note), comments, blank lines,
 * line continuation with the escape character (comment and blank lines inside
 * a continuation are dropped, as Docker does), a UTF-8 BOM, CRLF line ends,
 * heredocs on RUN/COPY/ADD (<<EOF, <<-EOF, quoted delimiters, several per
 * line), and the instructions FROM ARG ENV LABEL WORKDIR USER EXPOSE
 * ENTRYPOINT CMD SHELL VOLUME STOPSIGNAL HEALTHCHECK COPY ADD RUN; MAINTAINER
 * becomes LABEL maintainer=... with a note. Keywords are case-insensitive.
 * Refused, each with "<name>:<line>: <reason>": unknown or unsupported
 * instructions (ONBUILD), unknown, duplicate or unsupported flags (--link,
 * --mount, --security, RUN --network=host, ADD --checksum, COPY --parents
 * ...), a text that starts like a JSON array but is not a valid array of
 * strings, wrong argument counts, bad stage names, unterminated heredocs, NUL
 * bytes, an instruction other than ARG before the first FROM, and every limit
 * (src/limits.h: DF_MAX_FILE, DF_MAX_LINE, DF_MAX_INSTRUCTIONS, DF_MAX_ARGS,
 * DF_MAX_FLAGS, DF_MAX_STAGES, DF_MAX_HEREDOCS). Input over a limit is refused,
 * never truncated. The reason text is sanitised (printable ASCII only) and
 * quotes at most a short piece of the input; Dockerfiles hold no secrets.
 *
 * Ownership: everything a struct df_file points to lives in its arena and is
 * released by df_free(); the same holds for a struct df_inst filled by
 * df_eval() and df_inst_free(). Strings are NUL-terminated; the parser
 * refuses NUL bytes, so no string is cut short. Errors: 0 or a negative errno:
 * -EINVAL (syntax, with the message in err), -E2BIG (a limit, with a
 * message), -ENOMEM.
 */
#ifndef SBS_DOCKERFILE_H
#define SBS_DOCKERFILE_H

#include <stddef.h>
#include <stdint.h>

#include "limits.h"

struct buf;

enum df_kw {
	DF_FROM = 1, DF_ARG, DF_ENV, DF_LABEL, DF_WORKDIR, DF_USER, DF_EXPOSE,
	DF_ENTRYPOINT, DF_CMD, DF_SHELL, DF_VOLUME, DF_STOPSIGNAL,
	DF_HEALTHCHECK, DF_COPY, DF_ADD, DF_RUN,
};

/* ENV, LABEL and ARG pairs. value keeps quotes and escapes until expanded;
 * it is NULL for "ARG name" without a default. */
struct df_kv {
	char *key;
	char *value;
};

/* A here-document of RUN, COPY or ADD, in the order of its <<marker. */
struct df_heredoc {
	char *name;     /* the delimiter, quotes removed */
	char *body;     /* the lines between marker and delimiter, each ending in \n */
	size_t len;     /* strlen(body) */
	int expand;     /* delimiter was unquoted: COPY/ADD expand variables in body */
	int chomp;      /* <<-: leading tabs were stripped from body and delimiter */
	int fd;         /* RUN 3<<EOF: 3; -1 when no descriptor was given */
	int arg;        /* COPY/ADD: index in argv of the "<<EOF" word; -1 for RUN */
};

/* Health check durations in nanoseconds (0: not given, the default). */
struct df_health {
	int none;                       /* HEALTHCHECK NONE */
	uint64_t interval, timeout, start_period, start_interval;
	int64_t retries;                /* -1: not given */
};

struct df_inst {
	enum df_kw kw;
	unsigned line;                  /* first physical line, 1-based */
	/* Flags as written (quotes removed, not expanded); NULL when absent. */
	char *from;                     /* COPY --from */
	char *chown, *chmod;            /* COPY, ADD */
	char *platform;                 /* FROM --platform */
	char *network;                  /* RUN --network: "default" or "none" */
	struct df_health hc;            /* HEALTHCHECK */
	/* Arguments. Exactly one of: exec form (argv from a JSON array, exec=1),
	 * shell form (shell: RUN, CMD, ENTRYPOINT, HEALTHCHECK CMD), words
	 * (argv: FROM image, COPY/ADD sources and destination, EXPOSE, VOLUME, and
	 * the single argument of WORKDIR, USER, STOPSIGNAL), pairs (kv). */
	int exec;
	char *shell;                    /* continuations joined, trimmed */
	char **argv;
	size_t argc;
	struct df_kv *kv;
	size_t nkv;
	char *stage;                    /* FROM ... AS name, lower-cased; NULL if none */
	int maintainer;                 /* LABEL made from MAINTAINER: value not expanded */
	struct df_heredoc *hd;
	size_t nhd;
	struct df_arena *own;           /* df_eval() output: its strings; else NULL */
};

struct df_note {
	unsigned line;
	char msg[120];
};

struct df_arena;

struct df_file {
	struct df_inst *inst;
	size_t n;
	char escape;                    /* '\\' or '`' */
	char *syntax;                   /* "# syntax=" value (ignored), or NULL */
	size_t nstages;
	struct df_note notes[DF_MAX_NOTES];
	size_t nnotes;                  /* kept; notes_dropped more were not */
	size_t notes_dropped;
	struct df_arena *arena;
};

/* Parses len bytes of a Dockerfile called name (used in messages only).
 * On failure err holds "<name>:<line>: <reason>" and f is empty. */
int df_parse(const char *name, const uint8_t *p, size_t len, struct df_file *f,
	     char *err, size_t errlen);
void df_free(struct df_file *f);
const char *df_kw_name(enum df_kw kw);

/* Debugging printer, also the golden-file format of the tests: one line per
 * instruction, strings quoted with C escapes, non-ASCII bytes as \xNN. */
int df_dump(const struct df_file *f, struct buf *out);
int df_dump_inst(const struct df_inst *in, struct buf *out);

/* ---- expansion ---- */

/* Returns the value of the variable name[0..nlen), or NULL when unset. */
typedef const char *(*df_lookup_fn)(void *ctx, const char *name, size_t nlen);

enum df_xmode {
	DF_X_WORD = 0,   /* one word: quotes removed, whitespace kept (most instructions) */
	DF_X_WORDS,      /* words split at unquoted whitespace, also inside values (EXPOSE) */
	DF_X_HEREDOC,    /* heredoc body: only $ expansion and escaped $, quotes literal */
};

/* Expands in[0..len) with Docker's rules: $NAME, ${NAME}, ${NAME:-word},
 * ${NAME-word}, ${NAME:+word}, ${NAME+word}, ${NAME:?msg}, ${NAME?msg};
 * the escape character escapes the next character; single quotes stop
 * expansion; in double quotes only escape+" escape+$ escape+escape are
 * escapes. Values are not expanded again. The result is *nout strings, each
 * NUL-terminated, one after another in *out (malloc'd, free() it); in
 * DF_X_WORD and DF_X_HEREDOC mode *nout is 1. Fails with -EINVAL (a NUL
 * byte in the input, bad
 * substitution, unterminated quote or brace, ${x:?} of an unset variable;
 * err says which) or -E2BIG (over DF_MAX_EXPANSION bytes or
 * DF_MAX_EXPAND_DEPTH nesting). *outlen counts every byte of *out, the
 * terminators too, and is at most DF_MAX_EXPANSION. In DF_X_WORDS mode empty
 * words are dropped, so *nout may be 0. */
int df_expand(const char *in, size_t len, char escape, enum df_xmode mode,
	      df_lookup_fn lookup, void *ctx, char **out, size_t *outlen,
	      size_t *nout, char *err, size_t errlen);

/* ---- variables and ARG scoping ----
 * Docker's rules, which df_vars implements:
 * - ARGs declared before the first FROM are the global scope; only FROM lines
 *   (image and --platform) expand with it, plus the automatic values.
 * - Inside a stage an ARG must be declared to be used; "ARG NAME" without a
 *   default takes the build argument, else the global ARG's value, else the
 *   automatic value (TARGETARCH ...), else stays unset.
 * - A build argument from the caller overrides an ARG's default.
 * - ENV always wins over an ARG of the same name.
 * - The predefined proxy arguments (HTTP_PROXY, http_proxy, HTTPS_PROXY,
 *   https_proxy, FTP_PROXY, ftp_proxy, NO_PROXY, no_proxy, ALL_PROXY,
 *   all_proxy) are usable in every stage without an ARG when passed as build
 *   arguments, and never become part of the image.
 * Values are copied; df_vars_free() releases them. At most DF_MAX_VARS
 * variables and DF_MAX_VAR_BYTES of names and values per table; -E2BIG past
 * that. */
struct df_var {
	char *name;
	char *value;                    /* NULL: declared without a value */
};
struct df_vartab {
	struct df_var *v;
	size_t n, cap;
	size_t bytes;                   /* names and values, at most DF_MAX_VAR_BYTES */
};
struct df_vars {
	struct df_vartab build;         /* build arguments from the caller */
	struct df_vartab automatic;     /* TARGETPLATFORM, BUILDARCH ... */
	struct df_vartab global;        /* ARGs before the first FROM */
	struct df_vartab args;          /* ARGs declared in the current stage */
	struct df_vartab env;           /* ENV of the current stage (base image's first) */
	int in_stage;                   /* a FROM has been evaluated */
	char escape;                    /* the Dockerfile's escape character */
	const char *name;               /* the Dockerfile's name, for messages */
};

/* name is kept (not copied) for messages; escape is df_file.escape. */
void df_vars_init(struct df_vars *v, const char *name, char escape);
void df_vars_free(struct df_vars *v);
/* Set a name in one table (replacing an earlier value); value may be NULL. */
int df_vartab_set(struct df_vartab *t, const char *name, const char *value);
const struct df_var *df_vartab_get(const struct df_vartab *t, const char *name, size_t nlen);
/* A lookup for df_expand over v: the global scope before and on FROM lines,
 * the stage scope after. ctx is the struct df_vars. */
const char *df_vars_lookup(void *ctx, const char *name, size_t nlen);
/* The environment of a RUN step: declared ARGs with a value, the proxy build
 * arguments, then ENV (overriding), into out (which is reset first). */
int df_vars_run_env(const struct df_vars *v, struct df_vartab *out);
void df_vartab_free(struct df_vartab *t);

/* Expands one parsed instruction the way Docker does at build time into out:
 * FROM image and --platform with the global scope (and then starts a new
 * stage: stage ARGs and ENV cleared; the caller adds the base image's
 * environment with df_vartab_set(&v->env, ...)); ARG defaults, ENV and LABEL
 * keys and values, WORKDIR, USER, STOPSIGNAL, VOLUME, COPY/ADD words and
 * --from/--chown/--chmod, EXPOSE (split into words), and COPY/ADD heredoc
 * bodies with an unquoted delimiter. RUN, CMD, ENTRYPOINT, SHELL and
 * HEALTHCHECK are copied unexpanded (the shell expands them). ARG and ENV
 * then update v. All expansions of one instruction together are bounded by
 * DF_MAX_EXPANSION. On failure err holds "<name>:<line>: <reason>" and out
 * is empty. */
int df_eval(struct df_vars *v, const struct df_inst *in, struct df_inst *out,
	    char *err, size_t errlen);
void df_inst_free(struct df_inst *in);

/* ---- shared by src/dockerfile*.c, not for other modules ---- */
struct df_arena *df_arena_new(void);
void df_arena_free(struct df_arena *a);
void *df_arena_alloc(struct df_arena *a, size_t n);
char *df_arena_strndup(struct df_arena *a, const char *s, size_t n);
int df_dump_str(struct buf *out, const char *s, size_t n);

#endif
