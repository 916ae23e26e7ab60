/* SPDX-License-Identifier: MIT */
/*
 * image_int: what src/image*.c share; not for other modules. image.c drives
 * the build (stages, metadata instructions, RUN), image_copy.c does COPY and
 * ADD, image_oci.c the config/manifest JSON and base pulls, image_cache.c the
 * layer cache and the writing of new layers.
 */
#ifndef SBS_IMAGE_INT_H
#define SBS_IMAGE_INT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "arc.h"
#include "dockerfile.h"
#include "dockerignore.h"
#include "image.h"
#include "json.h"
#include "reg.h"

#define IMG_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define IMG_PATH_MAX 4096

/* The image config of a stage (the OCI "config" member). JSON members are
 * owned; NULL = absent. */
struct img_cfg {
	struct df_vartab env;          /* Env, in order of first definition */
	char *user, *workdir, *stopsignal;
	json *entrypoint, *cmd, *shell; /* arrays */
	json *healthcheck;             /* object */
	json *ports, *volumes, *labels; /* objects; printed with sorted keys */
};

struct img_stage {
	char name[DF_MAX_NAME + 1];    /* "" when unnamed */
	char root[IMG_PATH_MAX];       /* <workdir>/stage<N>/rootfs */
	int rootfd;                    /* O_PATH of root; -1 once closed */
	char os[32], arch[32], variant[32];
	struct img_cfg cfg;
	int cmd_set;                   /* CMD given in this stage (ENTRYPOINT keeps it) */
	json *history;                 /* array */
	struct reg_desc *layers;
	char (*diff_ids)[REG_DIGEST_LEN + 1];
	size_t nlayers, cap;
	size_t lazy;                   /* the last `lazy` layers (cache hits) are not yet
					* in the rootfs: img_stage_sync() before any use */
};

/* An image pulled for FROM or COPY --from. */
struct img_pulled {
	char ref[512];
	char digest[REG_DIGEST_LEN + 1];
	struct img_stage st;           /* its rootfs, config, layers, history */
};

#define IMG_MAX_CLIENTS 8

struct img_ctx {
	const struct img_opts *o;
	struct df_file df;
	struct df_vars vars;
	struct di_rules *ignore;
	int ctxfd;                     /* O_PATH of the context */
	char ctxreal[IMG_PATH_MAX];    /* realpath of the context */
	struct img_stage *stages;      /* DF_MAX_STAGES */
	size_t nstages;
	struct img_pulled *pulled;     /* COPY --from images, IMG_MAX_STAGES */
	size_t npulled;
	struct { char host[300]; struct reg_client *c; } cl[IMG_MAX_CLIENTS];
	size_t ncl;
	struct img_result *r;
	char *err;
	size_t errcap;
	unsigned line;                 /* of the instruction being run */
	unsigned seq;                  /* temp names */
};

/* ---- image.c ---- */
int img_fail(struct img_ctx *x, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void img_log(struct img_ctx *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void img_rfc3339(int64_t t, char out[32]);
int img_add_history(struct img_stage *s, int64_t epoch, const char *created_by, int empty);
int img_stage_add_layer(struct img_stage *s, const struct reg_desc *d, const char *diff_id);
/* Unpacks the stage's cached layers that were left out of its rootfs (a run
 * of cache hits needs no rootfs: only what reads or writes it calls this:
 * COPY/ADD, WORKDIR, a RUN that runs, COPY --from that stage). */
int img_stage_sync(struct img_ctx *x, struct img_stage *s);
int img_resolve_owner(struct img_ctx *x, struct img_stage *s, const char *spec,
		      unsigned *uid, unsigned *gid);
void img_stage_free(struct img_stage *s);
/* <workdir>/<kind><n>/rootfs made and opened into s. */
int img_make_root(struct img_ctx *x, struct img_stage *s, const char *kind, size_t n);
/* A fresh stage from base: "scratch", the name of one of the first nprev
 * stages, or an image. */
int img_fill_stage(struct img_ctx *x, struct img_stage *s, const char *base, size_t nprev);
/* Makes the missing directories of rel (0755, owned uid:gid), outermost
 * first, never through a symlink; rec(ctx, path) for each one made. */
int img_mkdirs(struct img_ctx *x, struct img_stage *s, const char *rel, unsigned uid,
	       unsigned gid, int (*rec)(void *ctx, const char *path), void *ctx);
/* p made absolute against the stage's WORKDIR and cleaned. */
int img_workdir_abs(const struct img_cfg *c, const char *p, char *out, size_t cap);
/* df_dump_inst without the line number (cache keys). */
int img_inst_key(const struct df_inst *ev, struct buf *b);

/* ---- image_run.c ---- */
int img_run(struct img_ctx *x, struct img_stage *s, const struct df_inst *ev, const char *text);

/* ---- image_oci.c ---- */
void img_cfg_free(struct img_cfg *c);
int img_cfg_copy(struct img_cfg *dst, const struct img_cfg *src);
/* Base config blob -> cfg, history, diff_ids count checked against nlayers. */
int img_cfg_parse(struct img_ctx *x, const uint8_t *p, size_t n, struct img_stage *s,
		  char (**diff_ids)[REG_DIGEST_LEN + 1], size_t *ndiff);
/* The whole config of a stage (compact, fixed key order), malloc'd. */
int img_config_json(const struct img_stage *s, int64_t epoch, uint8_t **out, size_t *len);
int img_manifest_json(const struct reg_desc *config, const struct reg_desc *layers, size_t n,
		      uint8_t **out, size_t *len);
/* Pulls ref (resolved for os/arch) into s (rootfs at dir/rootfs, already
 * made) and records it in r->bases. */
int img_pull(struct img_ctx *x, const char *ref, const char *os, const char *arch,
	     struct img_stage *s, char *resolved, size_t rcap, char digest[REG_DIGEST_LEN + 1]);
/* Unpacks blob <workdir>/blobs/sha256/<hex of digest> into rootfd. */
int img_unpack_blob(struct img_ctx *x, const char *digest, int rootfd, unsigned flags);
void img_close_clients(struct img_ctx *x);
/* "<workdir>/blobs/sha256/<hex>" */
int img_blob_path(const char *dir, const char *digest, char *out, size_t cap);
/* Writes bytes as a blob of dir; digest out. */
int img_put_blob(const char *dir, const uint8_t *p, size_t n, char digest[REG_DIGEST_LEN + 1]);

/* ---- image_cache.c ---- */
struct img_key { uint8_t k[32]; };
/* Key of a step: parent chain, instruction text, extra bytes (env, content hash). */
void img_cache_key(const struct img_stage *s, const struct img_opts *o, const char *what,
		   const uint8_t *extra, size_t elen, struct img_key *key);
/* 1 = hit (layer applied to s and its rootfs, history added), 0 = miss, <0 error. */
int img_cache_apply(struct img_ctx *x, struct img_stage *s, const struct img_key *key,
		    const char *created_by);
/* Writes a layer of changes (n may be 0: an empty layer) into s, with history,
 * and stores it under key when the cache is on. */
int img_commit(struct img_ctx *x, struct img_stage *s, const struct arc_change *ch, size_t n,
	       const char *created_by, const struct img_key *key);

/* ---- image_src.c ---- */
struct img_src {
	char rel[IMG_PATH_MAX];        /* below the source root, as resolved for ignore */
	char base[256];                /* name at the destination */
	int fd;                        /* O_RDONLY */
	struct stat st;
	int heredoc;                   /* index + 1 of a heredoc source */
};

struct img_plan {
	int rootfd;                    /* source root: context, stage or image rootfs */
	int context;
	struct img_src *v;
	size_t n, cap;
};

/* Go's filepath.Match of one path component; 1 match, 0 not, -EINVAL bad pattern. */
int img_match(const char *pat, const char *name);
/* "a/b" of a and b ("" a: b); -ENAMETOOLONG. */
int img_join(char *out, size_t cap, const char *a, const char *b);
/* The names of a directory (not . and ..), sorted bytewise; malloc'd. */
int img_list_dir(int dfd, char ***out, size_t *n);
/* Opens rel below rootfd O_RDONLY: beneath (escapes refused) or in root. */
int img_open_below(int rootfd, const char *rel, int beneath);
int img_plan_sources(struct img_ctx *x, const struct df_inst *ev, struct img_plan *p);
void img_plan_free(struct img_plan *p);
/* rel's existing directory prefix resolved inside the stage's rootfs as in a
 * chroot; rel rewritten to the real path. */
int img_resolve_in_root(struct img_ctx *x, struct img_stage *s, char *rel, size_t cap);
/* --from: the root of an earlier stage (name or index) or of an image. */
int img_source_root(struct img_ctx *x, struct img_stage *s, const char *from, struct img_plan *p);

/* ---- image_copy.c ---- */
int img_copy(struct img_ctx *x, struct img_stage *s, const struct df_inst *ev,
	     const char *created_by);

#endif
