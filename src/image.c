/* SPDX-License-Identifier: MIT */
/*
 * image: the driver of a Dockerfile build (contract in image.h). It parses
 * the Dockerfile, reads the context's .dockerignore, then runs every
 * instruction in order: FROM starts a stage (scratch, an earlier stage's
 * layers unpacked again, or a pulled base), metadata instructions change the
 * stage's config and add an empty-layer history entry, RUN goes to the
 * sandbox between two snapshots, COPY/ADD to image_copy.c. The last stage is
 * the image: its config and manifest are written as blobs. Every stage is
 * built (the classic builder's order); errors name "<Dockerfile>:<line>".
 */
#include "image_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "cry.h"
#include "sandbox.h"
#include "util.h"

int img_fail(struct img_ctx *x, int rc, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (x->errcap) {
		if (x->line)
			snprintf(x->err, x->errcap, "%s:%u: %s", x->o->dockerfile_name, x->line, msg);
		else
			snprintf(x->err, x->errcap, "%s", msg);
	}
	return rc < 0 ? rc : -EINVAL;
}

void img_log(struct img_ctx *x, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	int n;

	if (x->o->log_fd < 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (n > 0)
		util_write_all(x->o->log_fd, msg, (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1);
}

void img_rfc3339(int64_t t, char out[32])
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (!gmtime_r(&tt, &tm) || !strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, 32, "1970-01-01T00:00:00Z");
}

int img_add_history(struct img_stage *s, int64_t epoch, const char *created_by, int empty)
{
	json *h = json_new_obj();
	char t[32];

	img_rfc3339(epoch, t);
	if (!h || json_set_str(h, "created", t) < 0 || json_set_str(h, "created_by", created_by) < 0 ||
	    json_set_str(h, "comment", "buildkit.dockerfile.v0") < 0 ||
	    (empty && json_set_bool(h, "empty_layer", 1) < 0) ||
	    (!s->history && !(s->history = json_new_arr()))) {
		json_free(h);
		return -ENOMEM;
	}
	return json_arr_add(s->history, h);
}

int img_stage_sync(struct img_ctx *x, struct img_stage *s)
{
	int rc;

	while (s->lazy > 0) {
		if ((rc = img_unpack_blob(x, s->layers[s->nlayers - s->lazy].digest, s->rootfd, 0)) < 0)
			return rc;
		s->lazy--;
	}
	return 0;
}

int img_stage_add_layer(struct img_stage *s, const struct reg_desc *d, const char *diff_id)
{
	if (s->nlayers >= REG_MAX_LAYERS)
		return -E2BIG;
	if (s->nlayers == s->cap) {
		size_t nc = s->cap ? s->cap * 2 : 8;
		struct reg_desc *l = realloc(s->layers, nc * sizeof *l);
		char (*ids)[REG_DIGEST_LEN + 1];
		if (!l)
			return -ENOMEM;
		s->layers = l;
		if (!(ids = realloc(s->diff_ids, nc * sizeof *ids)))
			return -ENOMEM;
		s->diff_ids = ids;
		s->cap = nc;
	}
	s->layers[s->nlayers] = *d;
	snprintf(s->diff_ids[s->nlayers++], REG_DIGEST_LEN + 1, "%s", diff_id);
	return 0;
}

void img_stage_free(struct img_stage *s)
{
	if (s->rootfd >= 0)
		close(s->rootfd);
	s->rootfd = -1;
	img_cfg_free(&s->cfg);
	json_free(s->history);
	free(s->layers);
	free(s->diff_ids);
	s->history = NULL;
	s->layers = NULL;
	s->diff_ids = NULL;
	s->nlayers = s->cap = 0;
}

/* COPY --chown and WORKDIR owners: Docker's rule that a user without a group
 * gets the uid as gid; names come from the stage's /etc/passwd and /etc/group. */
int img_resolve_owner(struct img_ctx *x, struct img_stage *s, const char *spec, unsigned *uid,
		      unsigned *gid)
{
	char e[256] = "", user[512];
	unsigned g;
	int rc;

	*uid = *gid = 0;
	if (!spec || !*spec)
		return 0;
	if (strlen(spec) >= sizeof user)
		return img_fail(x, -EINVAL, "user %.40s...: too long", spec);
	snprintf(user, sizeof user, "%s", spec);
	if ((rc = sbx_resolve_user(s->root, user, uid, &g, e, sizeof e)) < 0)
		return img_fail(x, rc, "%s", e[0] ? e : "cannot resolve the user");
	*gid = strchr(user, ':') ? g : *uid;
	return 0;
}

/* ---- the text of an instruction (history, progress, never expanded) ---- */

static int inst_text(const struct df_inst *in, struct buf *b)
{
	const char *flags[][2] = { { "platform", in->platform }, { "network", in->network },
				   { "from", in->from }, { "chown", in->chown },
				   { "chmod", in->chmod } };
	int rc = buf_printf(b, "%s", df_kw_name(in->kw));

	for (size_t i = 0; i < 5 && rc == 0; i++)
		if (flags[i][1])
			rc = buf_printf(b, " --%s=%s", flags[i][0], flags[i][1]);
	if (rc == 0 && in->kw == DF_HEALTHCHECK)
		rc = buf_printf(b, in->hc.none ? " NONE" : " CMD");
	if (rc == 0 && in->shell)
		rc = buf_printf(b, " %s", in->shell);
	if (rc == 0 && in->argv && in->exec) {
		json *a = json_new_arr();
		char *s = NULL;
		for (size_t i = 0; a && i < in->argc; i++)
			json_arr_add_str(a, in->argv[i]);
		if (!a || !(s = json_print(a)))
			rc = -ENOMEM;
		else
			rc = buf_printf(b, " %s", s);
		free(s);
		json_free(a);
	} else {
		for (size_t i = 0; in->argv && i < in->argc && rc == 0; i++)
			rc = buf_printf(b, " %s", in->argv[i]);
	}
	for (size_t i = 0; i < in->nkv && rc == 0; i++)
		rc = in->kv[i].value ? buf_printf(b, " %s=%s", in->kv[i].key, in->kv[i].value)
				     : buf_printf(b, " %s", in->kv[i].key);
	if (rc == 0 && in->stage)
		rc = buf_printf(b, " AS %s", in->stage);
	return rc;
}

/* The evaluated instruction without its line number (cache keys). */
int img_inst_key(const struct df_inst *ev, struct buf *b)
{
	int rc = df_dump_inst(ev, b);
	const char *sp;

	if (rc < 0)
		return rc;
	if ((sp = memchr(b->data, ' ', b->len))) {
		size_t off = (size_t)(sp + 1 - (const char *)b->data);
		memmove(b->data, b->data + off, b->len - off + 1);
		b->len -= off;
	}
	return 0;
}

/* ---- stages ---- */

static int parse_platform(struct img_ctx *x, const char *p, struct img_stage *s)
{
	size_t a = strcspn(p, "/"), b;

	if (!p[a] || a == 0 || a >= sizeof s->os)
		return img_fail(x, -EINVAL, "bad --platform \"%.40s\" (want os/arch)", p);
	b = strcspn(p + a + 1, "/");
	if (b == 0 || b >= sizeof s->arch)
		return img_fail(x, -EINVAL, "bad --platform \"%.40s\" (want os/arch)", p);
	snprintf(s->os, sizeof s->os, "%.*s", (int)a, p);
	snprintf(s->arch, sizeof s->arch, "%.*s", (int)b, p + a + 1);
	if (p[a + 1 + b])
		snprintf(s->variant, sizeof s->variant, "%.31s", p + a + 2 + b);
	return 0;
}

static int find_stage(struct img_ctx *x, const char *name, size_t nprev)
{
	for (size_t i = 0; i < nprev && i < x->nstages; i++)
		if (x->stages[i].name[0] && !strcasecmp(x->stages[i].name, name))
			return (int)i;
	return -1;
}

/* A stage that starts from an earlier one: its config and history, and its
 * layers unpacked again into the new rootfs (the blobs are in workdir). */
static int from_stage(struct img_ctx *x, struct img_stage *s, const struct img_stage *p)
{
	int rc;

	snprintf(s->os, sizeof s->os, "%s", p->os);
	snprintf(s->arch, sizeof s->arch, "%s", p->arch);
	snprintf(s->variant, sizeof s->variant, "%s", p->variant);
	if ((rc = img_cfg_copy(&s->cfg, &p->cfg)) < 0)
		return rc;
	if (p->history && !(s->history = json_dup(p->history)))
		return -ENOMEM;
	for (size_t i = 0; i < p->nlayers; i++)
		if ((rc = img_unpack_blob(x, p->layers[i].digest, s->rootfd, 0)) < 0 ||
		    (rc = img_stage_add_layer(s, &p->layers[i], p->diff_ids[i])) < 0)
			return rc;
	return 0;
}

static int record_base(struct img_ctx *x, const char *ref, const char *digest)
{
	struct img_result *r = x->r;

	for (size_t i = 0; i < r->nbases; i++)
		if (!strcmp(r->bases[i].ref, ref) && !strcmp(r->bases[i].digest, digest))
			return 0;
	if (r->nbases == IMG_MAX_STAGES)
		return img_fail(x, -E2BIG, "more than %d base images", IMG_MAX_STAGES);
	snprintf(r->bases[r->nbases].ref, sizeof r->bases[0].ref, "%s", ref);
	snprintf(r->bases[r->nbases++].digest, sizeof r->bases[0].digest, "%s", digest);
	return 0;
}

/* <workdir>/<kind><n>/rootfs, made and opened. */
int img_make_root(struct img_ctx *x, struct img_stage *s, const char *kind, size_t n)
{
	int len = snprintf(s->root, sizeof s->root, "%s/%s%zu/rootfs", x->o->workdir, kind, n);
	int rc;

	if (len < 0 || (size_t)len >= sizeof s->root)
		return img_fail(x, -ENAMETOOLONG, "work directory path too long");
	if ((rc = util_mkdirs(s->root, 0755)) < 0)
		return img_fail(x, rc, "%s: %s", s->root, strerror(-rc));
	if ((s->rootfd = open(s->root, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		return img_fail(x, -errno, "%s: %s", s->root, strerror(errno));
	return 0;
}

/* Fills a fresh stage s from base (scratch, stage name, or image ref). */
int img_fill_stage(struct img_ctx *x, struct img_stage *s, const char *base, size_t nprev)
{
	char ref[512], digest[REG_DIGEST_LEN + 1];
	int i, rc;

	if (!strcasecmp(base, "scratch"))
		return 0;
	if ((i = find_stage(x, base, nprev)) >= 0)
		return from_stage(x, s, &x->stages[i]);
	if ((rc = img_pull(x, base, s->os, s->arch, s, ref, sizeof ref, digest)) < 0)
		return rc;
	return record_base(x, ref, digest);
}

static int start_stage(struct img_ctx *x, const struct df_inst *ev)
{
	struct img_stage *s = &x->stages[x->nstages];
	int rc;

	memset(s, 0, sizeof *s);
	s->rootfd = -1;
	x->nstages++;
	snprintf(s->name, sizeof s->name, "%s", ev->stage ? ev->stage : "");
	snprintf(s->os, sizeof s->os, "%s", x->o->os);
	snprintf(s->arch, sizeof s->arch, "%s", x->o->arch);
	if (ev->platform && *ev->platform && (rc = parse_platform(x, ev->platform, s)) < 0)
		return rc;
	if ((rc = img_make_root(x, s, "stage", x->nstages - 1)) < 0)
		return rc;
	if ((rc = img_fill_stage(x, s, ev->argv[0], x->nstages - 1)) < 0)
		return rc;
	for (size_t i = 0; i < s->cfg.env.n; i++)
		if ((rc = df_vartab_set(&x->vars.env, s->cfg.env.v[i].name, s->cfg.env.v[i].value)) < 0)
			return rc;
	if (!df_vartab_get(&x->vars.env, "PATH", 4))
		rc = df_vartab_set(&x->vars.env, "PATH", IMG_DEFAULT_PATH);
	return rc;
}

/* The stage's Env becomes what ENV made of it. */
static int end_stage(struct img_ctx *x)
{
	struct img_stage *s;
	int rc = 0;

	if (!x->nstages)
		return 0;
	s = &x->stages[x->nstages - 1];
	df_vartab_free(&s->cfg.env);
	for (size_t i = 0; i < x->vars.env.n && rc == 0; i++)
		rc = df_vartab_set(&s->cfg.env, x->vars.env.v[i].name, x->vars.env.v[i].value);
	return rc;
}

/* ---- metadata instructions ---- */

static int set_str(char **dst, const char *v)
{
	char *d = strdup(v);

	if (!d)
		return -ENOMEM;
	free(*dst);
	*dst = d;
	return 0;
}

static json *strarr(const char *const *v, size_t n, const char *last)
{
	json *a = json_new_arr();

	for (size_t i = 0; a && i < n; i++)
		if (json_arr_add_str(a, v[i]) < 0)
			goto fail;
	if (a && last && json_arr_add_str(a, last) < 0)
		goto fail;
	return a;
fail:
	json_free(a);
	return NULL;
}

/* exec form: the argv; shell form: SHELL (default /bin/sh -c) + [text]. */
static json *cmd_json(const struct img_stage *s, const struct df_inst *ev)
{
	static const char *const sh[] = { "/bin/sh", "-c" };
	json *a;

	if (ev->exec)
		return strarr((const char *const *)ev->argv, ev->argc, NULL);
	if (!s->cfg.shell)
		return strarr(sh, 2, ev->shell);
	if (!(a = json_dup(s->cfg.shell)) || json_arr_add_str(a, ev->shell) < 0) {
		json_free(a);
		return NULL;
	}
	return a;
}

static int set_json(json **dst, json *v)
{
	if (!v)
		return -ENOMEM;
	json_free(*dst);
	*dst = v;
	return 0;
}

static int obj_key(json **obj, const char *key, const char *strval)
{
	if (!*obj && !(*obj = json_new_obj()))
		return -ENOMEM;
	return strval ? json_set_str(*obj, key, strval) : json_set(*obj, key, json_new_obj());
}

/* EXPOSE word: port[-port][/proto], proto tcp|udp|sctp, ranges expanded. */
static int expose(struct img_ctx *x, struct img_cfg *c, const char *w)
{
	char proto[8] = "tcp", key[32];
	uint64_t lo, hi;
	size_t n = strcspn(w, "/"), d = strcspn(w, "-");
	int rc;

	if (w[n]) {
		if (strlen(w + n + 1) >= sizeof proto)
			return img_fail(x, -EINVAL, "invalid proto in EXPOSE %.40s", w);
		for (size_t i = 0; w[n + 1 + i]; i++)
			proto[i] = (char)(w[n + 1 + i] | 0x20), proto[i + 1] = 0;
		if (strcmp(proto, "tcp") && strcmp(proto, "udp") && strcmp(proto, "sctp"))
			return img_fail(x, -EINVAL, "invalid proto in EXPOSE %.40s", w);
	}
	if (d > n)
		d = n;
	if (util_parse_u64(w, d, 65535, &lo) < 0 ||
	    (d < n ? util_parse_u64(w + d + 1, n - d - 1, 65535, &hi) : (hi = lo, 0)) < 0 || hi < lo)
		return img_fail(x, -EINVAL, "invalid port in EXPOSE %.40s", w);
	if (hi - lo >= IMG_MAX_PORTS || (c->ports && json_count(c->ports) + (hi - lo) >= IMG_MAX_PORTS))
		return img_fail(x, -E2BIG, "EXPOSE: more than %d ports", IMG_MAX_PORTS);
	for (uint64_t p = lo; p <= hi; p++) {
		snprintf(key, sizeof key, "%llu/%s", (unsigned long long)p, proto);
		if ((rc = obj_key(&c->ports, key, NULL)) < 0)
			return rc;
	}
	return 0;
}

static int healthcheck(struct img_cfg *c, const struct img_stage *s, const struct df_inst *ev)
{
	static const char *const none[] = { "NONE" };
	const struct df_health *h = &ev->hc;
	json *o = json_new_obj(), *t;
	int rc = -ENOMEM;

	if (!o)
		return -ENOMEM;
	if (h->none) {
		t = strarr(none, 1, NULL);
	} else if (ev->exec) {
		t = json_new_arr();
		if (t && json_arr_add_str(t, "CMD") == 0)
			for (size_t i = 0; i < ev->argc; i++)
				json_arr_add_str(t, ev->argv[i]);
	} else {
		const char *cs[] = { "CMD-SHELL" };
		t = strarr(cs, 1, ev->shell);
	}
	(void)s;
	if (!t || json_set(o, "Test", t) < 0)
		goto out;
	if ((h->interval && json_set_num(o, "Interval", (double)h->interval) < 0) ||
	    (h->timeout && json_set_num(o, "Timeout", (double)h->timeout) < 0) ||
	    (h->start_period && json_set_num(o, "StartPeriod", (double)h->start_period) < 0) ||
	    (h->start_interval && json_set_num(o, "StartInterval", (double)h->start_interval) < 0) ||
	    (h->retries > 0 && json_set_num(o, "Retries", (double)h->retries) < 0))
		goto out;
	return set_json(&c->healthcheck, o);
out:
	json_free(o);
	return rc;
}

int img_workdir_abs(const struct img_cfg *c, const char *p, char *out, size_t cap)
{
	char tmp[IMG_PATH_MAX * 2 + 2];
	size_t n;

	if (p[0] == '/')
		n = (size_t)snprintf(tmp, sizeof tmp, "%s", p);
	else
		n = (size_t)snprintf(tmp, sizeof tmp, "%s/%s", c->workdir && *c->workdir ? c->workdir : "/", p);
	if (n >= sizeof tmp || n + 2 > cap)
		return -ENAMETOOLONG;
	di_clean(tmp, n, out);
	return 0;
}

int img_mkdirs(struct img_ctx *x, struct img_stage *s, const char *rel, unsigned uid,
	       unsigned gid, int (*rec)(void *ctx, const char *path), void *ctx)
{
	char part[IMG_PATH_MAX];
	const char *base;
	int fd, rc = 0;

	/* each missing component, outermost first */
	for (const char *p = rel; *p && rc == 0; ) {
		size_t l = strcspn(p, "/");
		snprintf(part, sizeof part, "%.*s", (int)(p - rel + (ptrdiff_t)l), rel);
		p += l + (p[l] == '/');
		if ((fd = arc_open_dir(s->rootfd, part, 0)) >= 0) {
			close(fd);
			continue;
		}
		if (fd != -ENOENT)
			return img_fail(x, fd, "/%s: %s", part, fd == -ELOOP ?
					"a symlink is on the way (refused: sbs never writes "
					"through a symlink)" : strerror(-fd));
		if ((fd = arc_open_parent(s->rootfd, part, 0, &base)) < 0)
			return img_fail(x, fd, "/%s: %s", part, strerror(-fd));
		if (mkdirat(fd, base, 0755) < 0 || fchmodat(fd, base, 0755, 0) < 0 ||
		    ((uid || gid) && fchownat(fd, base, uid, gid, AT_SYMLINK_NOFOLLOW) < 0))
			rc = img_fail(x, -errno, "/%s: %s", part, strerror(errno));
		close(fd);
		if (rc == 0)
			rc = rec(ctx, part);
	}
	return rc;
}

struct wd_made {
	struct arc_change ch[ARC_MAX_DEPTH];
	char *names[ARC_MAX_DEPTH];
	size_t n;
};

static int wd_record(void *ctx, const char *path)
{
	struct wd_made *m = ctx;

	if (m->n == ARC_MAX_DEPTH || !(m->names[m->n] = strdup(path)))
		return -ENOMEM;
	m->ch[m->n].path = m->names[m->n];
	m->ch[m->n++].kind = ARC_ADD;
	return 0;
}

/* WORKDIR: the directory is made (owned by USER, as BuildKit does); a layer
 * only when something was created. */
static int workdir(struct img_ctx *x, struct img_stage *s, const struct df_inst *ev,
		   const char *text)
{
	char abs[IMG_PATH_MAX], rel[IMG_PATH_MAX];
	struct wd_made *m = calloc(1, sizeof *m);
	unsigned uid = 0, gid = 0;
	int rc;

	if (!m)
		return -ENOMEM;
	if (img_workdir_abs(&s->cfg, ev->argv[0], abs, sizeof abs) < 0 ||
	    arc_path_norm(abs, rel, sizeof rel, ARC_MAX_DEPTH) < 0) {
		rc = img_fail(x, -EINVAL, "WORKDIR %.60s: bad path", ev->argv[0]);
		goto out;
	}
	if ((rc = set_str(&s->cfg.workdir, abs)) < 0 ||
	    (rc = img_resolve_in_root(x, s, rel, sizeof rel)) < 0)
		goto out;
	if (s->cfg.user && *s->cfg.user && (rc = img_resolve_owner(x, s, s->cfg.user, &uid, &gid)) < 0)
		goto out;
	if ((rc = img_mkdirs(x, s, rel, uid, gid, wd_record, m)) == 0)
		rc = img_commit(x, s, m->ch, m->n, text, NULL);
out:
	for (size_t k = 0; k < m->n; k++)
		free(m->names[k]);
	free(m);
	return rc;
}

static int metadata(struct img_ctx *x, struct img_stage *s, const struct df_inst *ev,
		    const char *text)
{
	struct img_cfg *c = &s->cfg;
	int rc = 0;

	switch (ev->kw) {
	case DF_ENV: case DF_ARG:
		break; /* df_eval updated the variables */
	case DF_LABEL:
		for (size_t i = 0; i < ev->nkv && rc == 0; i++)
			rc = obj_key(&c->labels, ev->kv[i].key, ev->kv[i].value ? ev->kv[i].value : "");
		break;
	case DF_USER:
		rc = set_str(&c->user, ev->argv[0]);
		break;
	case DF_EXPOSE:
		for (size_t i = 0; i < ev->argc && rc == 0; i++)
			rc = expose(x, c, ev->argv[i]);
		break;
	case DF_ENTRYPOINT:
		if ((rc = set_json(&c->entrypoint, cmd_json(s, ev))) == 0 && !s->cmd_set) {
			json_free(c->cmd);
			c->cmd = NULL;
		}
		break;
	case DF_CMD:
		rc = set_json(&c->cmd, cmd_json(s, ev));
		s->cmd_set = 1;
		break;
	case DF_SHELL:
		rc = set_json(&c->shell, strarr((const char *const *)ev->argv, ev->argc, NULL));
		break;
	case DF_VOLUME:
		for (size_t i = 0; i < ev->argc && rc == 0; i++)
			rc = obj_key(&c->volumes, ev->argv[i], NULL);
		break;
	case DF_STOPSIGNAL:
		rc = set_str(&c->stopsignal, ev->argv[0]);
		break;
	case DF_HEALTHCHECK:
		rc = healthcheck(c, s, ev);
		break;
	default:
		return img_fail(x, -EINVAL, "unexpected instruction %s", df_kw_name(ev->kw));
	}
	if (rc < 0)
		return rc == -ENOMEM ? img_fail(x, rc, "out of memory") : rc;
	return img_add_history(s, x->o->epoch, text, 1);
}

/* ---- the build ---- */

static const char *goarch(const char *m)
{
	if (!strcmp(m, "x86_64"))
		return "amd64";
	if (!strcmp(m, "aarch64"))
		return "arm64";
	return m;
}

static int setup_vars(struct img_ctx *x)
{
	const struct img_opts *o = x->o;
	struct df_vartab *a = &x->vars.automatic;
	struct utsname u;
	char tp[80], bp[80], name[256];
	const char *bar;
	int rc = 0;

	df_vars_init(&x->vars, o->dockerfile_name, x->df.escape);
	for (size_t i = 0; o->build_args && o->build_args[i] && rc == 0; i++) {
		const char *eq = strchr(o->build_args[i], '=');
		size_t n = eq ? (size_t)(eq - o->build_args[i]) : strlen(o->build_args[i]);
		if (n == 0 || n >= sizeof name)
			return img_fail(x, -EINVAL, "bad build argument #%zu", i + 1);
		snprintf(name, sizeof name, "%.*s", (int)n, o->build_args[i]);
		rc = df_vartab_set(&x->vars.build, name, eq ? eq + 1 : NULL);
	}
	bar = uname(&u) == 0 ? goarch(u.machine) : o->arch;
	snprintf(tp, sizeof tp, "%s/%s", o->os, o->arch);
	snprintf(bp, sizeof bp, "linux/%s", bar);
	if (rc == 0)
		rc = df_vartab_set(a, "TARGETPLATFORM", tp);
	if (rc == 0)
		rc = df_vartab_set(a, "TARGETOS", o->os);
	if (rc == 0)
		rc = df_vartab_set(a, "TARGETARCH", o->arch);
	if (rc == 0)
		rc = df_vartab_set(a, "TARGETVARIANT", "");
	if (rc == 0)
		rc = df_vartab_set(a, "BUILDPLATFORM", bp);
	if (rc == 0)
		rc = df_vartab_set(a, "BUILDOS", "linux");
	if (rc == 0)
		rc = df_vartab_set(a, "BUILDARCH", bar);
	if (rc == 0)
		rc = df_vartab_set(a, "BUILDVARIANT", "");
	return rc;
}

static int read_ignore(struct img_ctx *x)
{
	uint8_t *p = NULL;
	size_t n = 0;
	char e[256] = "";
	int fd = openat(x->ctxfd, ".dockerignore", O_RDONLY | O_NOFOLLOW | O_CLOEXEC), rc;
	ssize_t k;

	if (fd < 0)
		return errno == ENOENT ? 0 : img_fail(x, -errno, ".dockerignore: %s", strerror(errno));
	if (!(p = malloc(DI_MAX_FILE + 1))) {
		close(fd);
		return -ENOMEM;
	}
	while ((k = read(fd, p + n, DI_MAX_FILE + 1 - n)) > 0 && n + (size_t)k <= DI_MAX_FILE)
		n += (size_t)k;
	close(fd);
	if (k != 0) {
		free(p);
		return img_fail(x, k < 0 ? -EIO : -E2BIG, ".dockerignore: %s",
				k < 0 ? "read error" : "too large");
	}
	rc = di_parse(".dockerignore", p, n, &x->ignore, e, sizeof e);
	free(p);
	return rc < 0 ? img_fail(x, rc, "%s", e) : 0;
}

static int dispatch(struct img_ctx *x, const struct df_inst *in, const struct df_inst *ev,
		    const char *text)
{
	struct img_stage *s = x->nstages ? &x->stages[x->nstages - 1] : NULL;

	if (ev->kw == DF_FROM) {
		int rc = end_stage(x);
		return rc < 0 ? rc : start_stage(x, ev);
	}
	if (!s)
		return 0; /* ARG before the first FROM: global scope only */
	(void)in;
	switch (ev->kw) {
	case DF_RUN:
		return img_run(x, s, ev, text);
	case DF_COPY: case DF_ADD: {
		int rc = img_stage_sync(x, s);
		return rc < 0 ? rc : img_copy(x, s, ev, text);
	}
	case DF_WORKDIR: {
		int rc = img_stage_sync(x, s);
		return rc < 0 ? rc : workdir(x, s, ev, text);
	}
	default:
		return metadata(x, s, ev, text);
	}
}

static int steps(struct img_ctx *x)
{
	char e[512] = "";
	int rc = 0;

	for (size_t i = 0; i < x->df.n && rc == 0; i++) {
		const struct df_inst *in = &x->df.inst[i];
		struct df_inst ev;
		struct buf text = { 0 };
		memset(&ev, 0, sizeof ev);
		x->line = in->line;
		if ((rc = inst_text(in, &text)) < 0)
			break;
		img_log(x, "Step %zu/%zu : %s\n", i + 1, x->df.n, (const char *)text.data);
		if ((rc = df_eval(&x->vars, in, &ev, e, sizeof e)) < 0) {
			x->line = 0;
			img_fail(x, rc, "%s", e);
			x->line = in->line;
		} else {
			rc = dispatch(x, in, &ev, (const char *)text.data);
		}
		if (rc < 0 && x->errcap && !x->err[0])
			img_fail(x, rc, "%s", strerror(-rc));
		x->r->steps++;
		df_inst_free(&ev);
		buf_free(&text);
	}
	if (rc == 0) {
		x->line = 0;
		rc = end_stage(x);
	}
	return rc;
}

/* Config and manifest of the last stage, as blobs; the result filled. */
static int finish(struct img_ctx *x)
{
	struct img_stage *s = &x->stages[x->nstages - 1];
	struct img_result *r = x->r;
	struct reg_desc cd = { .media_type = REG_MT_OCI_CONFIG };
	uint8_t h[32];
	char d[REG_DIGEST_LEN + 1];
	int rc;

	if ((rc = img_config_json(s, x->o->epoch, &r->config, &r->config_len)) < 0)
		return rc == -E2BIG ? img_fail(x, rc, "the image config would be over %u bytes "
					       "(IMG_MAX_CONFIG_JSON)", IMG_MAX_CONFIG_JSON)
				    : img_fail(x, rc, "image config: %s", strerror(-rc));
	if ((rc = img_put_blob(x->o->workdir, r->config, r->config_len, r->config_digest)) < 0)
		return img_fail(x, rc, "config blob: %s", strerror(-rc));
	snprintf(cd.digest, sizeof cd.digest, "%s", r->config_digest);
	cd.size = r->config_len;
	if ((rc = img_manifest_json(&cd, s->layers, s->nlayers, &r->manifest, &r->manifest_len)) < 0)
		return img_fail(x, rc, "manifest: %s", strerror(-rc));
	if ((rc = img_put_blob(x->o->workdir, r->manifest, r->manifest_len, d)) < 0)
		return img_fail(x, rc, "manifest blob: %s", strerror(-rc));
	cry_sha256(r->manifest, r->manifest_len, h);
	memcpy(r->digest, "sha256:", 7);
	cry_hex(h, 32, r->digest + 7);
	if (s->nlayers && !(r->layers = malloc(s->nlayers * sizeof *r->layers)))
		return -ENOMEM;
	if (s->nlayers)
		memcpy(r->layers, s->layers, s->nlayers * sizeof *r->layers);
	r->nlayers = s->nlayers;
	img_log(x, "Successfully built %s\n", r->digest);
	return 0;
}

static int setup(struct img_ctx *x)
{
	const struct img_opts *o = x->o;
	char path[IMG_PATH_MAX], e[512] = "";
	uint8_t h[32];
	int rc;

	cry_sha256(o->dockerfile, o->dockerfile_len, h);
	memcpy(x->r->dockerfile_digest, "sha256:", 7);
	cry_hex(h, 32, x->r->dockerfile_digest + 7);
	if (snprintf(path, sizeof path, "%s/blobs/sha256", o->workdir) >= (int)sizeof path)
		return img_fail(x, -ENAMETOOLONG, "work directory path too long");
	if ((rc = util_mkdirs(path, 0755)) < 0)
		return img_fail(x, rc, "%s: %s", path, strerror(-rc));
	if ((x->ctxfd = open(o->context, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    !realpath(o->context, x->ctxreal))
		return img_fail(x, -errno, "context %s: %s", o->context, strerror(errno));
	if ((rc = df_parse(o->dockerfile_name, o->dockerfile, o->dockerfile_len, &x->df, e,
			   sizeof e)) < 0)
		return img_fail(x, rc, "%s", e);
	for (size_t i = 0; i < x->df.nnotes; i++)
		img_log(x, "%s:%u: note: %s\n", o->dockerfile_name, x->df.notes[i].line,
			x->df.notes[i].msg);
	if ((rc = read_ignore(x)) < 0 || (rc = setup_vars(x)) < 0)
		return rc;
	x->stages = calloc(IMG_MAX_STAGES, sizeof *x->stages);
	x->pulled = calloc(IMG_MAX_STAGES, sizeof *x->pulled);
	return x->stages && x->pulled ? 0 : -ENOMEM;
}

/* Build argument values (and what ARG/ENV copied of them) may be secrets. */
static void wipe_tab(struct df_vartab *t)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->v[i].value)
			wipe(t->v[i].value, strlen(t->v[i].value));
}

static void wipe_vars(struct df_vars *v)
{
	wipe_tab(&v->build);
	wipe_tab(&v->global);
	wipe_tab(&v->args);
	wipe_tab(&v->env);
}

int img_build(const struct img_opts *o, struct img_result *r, char *err, size_t errcap)
{
	struct img_ctx x;
	mode_t old_umask;
	int rc;

	memset(r, 0, sizeof *r);
	memset(&x, 0, sizeof x);
	x.o = o;
	x.r = r;
	x.err = err;
	x.errcap = errcap;
	x.ctxfd = -1;
	if (errcap)
		err[0] = 0;
	if (!o->dockerfile_name || !o->context || !o->workdir || !o->os || !o->arch)
		return img_fail(&x, -EINVAL, "missing build options");
	/* directories made on the way (parents of COPY destinations, of layer
	 * entries) must not depend on the caller's umask: it is in the layers */
	old_umask = umask(022);
	if ((rc = setup(&x)) == 0 && (rc = steps(&x)) == 0)
		rc = finish(&x);
	umask(old_umask);
	if (rc == -ENOMEM && errcap && !err[0])
		img_fail(&x, rc, "out of memory");
	for (size_t i = 0; x.stages && i < x.nstages; i++)
		img_stage_free(&x.stages[i]);
	for (size_t i = 0; x.pulled && i < x.npulled; i++)
		img_stage_free(&x.pulled[i].st);
	free(x.stages);
	free(x.pulled);
	img_close_clients(&x);
	di_free(x.ignore);
	wipe_vars(&x.vars);
	df_vars_free(&x.vars);
	df_free(&x.df);
	if (x.ctxfd >= 0)
		close(x.ctxfd);
	if (rc < 0)
		img_result_free(r);
	return rc;
}

void img_result_free(struct img_result *r)
{
	free(r->manifest);
	free(r->config);
	free(r->layers);
	r->manifest = r->config = NULL;
	r->layers = NULL;
	r->nlayers = 0;
}

static int push_file(struct reg_client *c, const char *workdir, const char *repo,
		     const char *digest, char *err, size_t errcap)
{
	char path[IMG_PATH_MAX];
	struct stat sb;
	int fd, rc, skipped = 0;

	if ((rc = img_blob_path(workdir, digest, path, sizeof path)) < 0)
		return rc;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0 || fstat(fd, &sb) < 0) {
		rc = -errno;
		snprintf(err, errcap, "push: blob %.19s: %s", digest, strerror(errno));
		if (fd >= 0)
			close(fd);
		return rc;
	}
	rc = reg_push_blob(c, repo, fd, (uint64_t)sb.st_size, digest, &skipped);
	close(fd);
	if (rc < 0)
		snprintf(err, errcap, "push: %s", reg_err(c));
	return rc;
}

int img_push(const struct img_result *r, const char *workdir, struct reg_client *c,
	     const char *repo, const char *tag, char *err, size_t errcap)
{
	char d[REG_DIGEST_LEN + 1] = "";
	int rc;

	for (size_t i = 0; i < r->nlayers; i++)
		if ((rc = push_file(c, workdir, repo, r->layers[i].digest, err, errcap)) < 0)
			return rc;
	if ((rc = push_file(c, workdir, repo, r->config_digest, err, errcap)) < 0)
		return rc;
	rc = reg_put_manifest(c, repo, tag, REG_MT_OCI_MANIFEST, r->manifest, r->manifest_len, d);
	if (rc < 0) {
		snprintf(err, errcap, "push: %s", reg_err(c));
		return rc;
	}
	if (strcmp(d, r->digest)) {
		snprintf(err, errcap, "push: the registry stored digest %.71s, not %s", d, r->digest);
		return -EBADMSG;
	}
	return 0;
}
