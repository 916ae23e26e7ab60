/* SPDX-License-Identifier: MIT */
/*
 * builder: the per-build process and its pipeline (builder.h). The child
 * holds no key (they live in the keeper process) and lets go of the API's
 * channel to the keeper first; signatures come from the API process over
 * the builder channel, within the build's budget.
 */
#include "builder.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "arc.h"
#include "cos.h"
#include "cry.h"
#include "git.h"
#include "hcl.h"
#include "image.h"
#include "keeper.h"
#include "limits.h"
#include "mfst.h"
#include "params.h"
#include "reg.h"
#include "sigstore.h"
#include "util.h"

enum {
	RC_PARAMS = 1, RC_WORKSPACE, RC_GIT, RC_DOCKERFILE, RC_BUILD, RC_PUSH, RC_SIGN,
	RC_MANIFEST, RC_CHANNEL, RC_COS
};

/* Everything one build needs, in the child. */
struct bld {
	const json *p;
	const struct builder_cfg *cfg;
	FILE *log;
	int ch;                                 /* channel to the API */
	int datafd;
	char ws[PATH_MAX_SBS];                  /* <data>/build */
	uint8_t *ca;                            /* trust anchors */
	size_t ca_len;
	struct git_result git;
	char url[HCL_MAX_URL + 1];              /* GITHUB_URL without credentials */
	char tag[REG_MAX_TAG + 1];
	char build_name[PATH_MAX_SBS];
	char server[HCL_MAX_HOST + 16];         /* DOCKER_PUSH_SERVER as given (reg.h form) */
	char host[HCL_MAX_HOST + 16];           /* the same without a scheme, for references */
	char ref[HCL_MAX_HOST + REG_MAX_REPO + REG_MAX_TAG + 8];   /* server/repo:tag */
	char digest_ref[HCL_MAX_HOST + REG_MAX_REPO + REG_DIGEST_LEN + 8];
	struct img_result img;
	uint8_t *att;                           /* the DSSE envelope */
	size_t att_len;
	int64_t started;
};

static void blog(FILE *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void blog(FILE *f, const char *fmt, ...)
{
	char ts[32];
	va_list ap;
	struct timespec now;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof ts, "%Y-%m-%d %H:%M:%S", &tm);
	fprintf(f, "%s,%03ld  root       INFO    ", ts, now.tv_nsec / 1000000);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
	fflush(f);
}

/* snprintf for paths and names: -ENAMETOOLONG instead of a cut. */
static int pathf(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int pathf(char *out, size_t cap, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out, cap, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

static const char *pstr(const struct bld *b, const char *k)
{
	const char *v = json_get_str(b->p, k);
	return v ? v : "";
}

static int ptrue(const struct bld *b, const char *k)
{
	const json *v = json_get(b->p, k);
	const char *s = json_str(v);
	if (json_is_bool(v))
		return json_bool(v);
	return s && (strcasecmp(s, "true") == 0 || strcmp(s, "1") == 0 || strcasecmp(s, "yes") == 0);
}

/* ---- the channel ---- */

static void chan_send(struct bld *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void chan_send(struct bld *b, const char *fmt, ...)
{
	char m[BUILD_MSG_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(m, sizeof m, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof m || send(b->ch, m, (size_t)n, MSG_NOSIGNAL) < 0)
		_exit(RC_CHANNEL);
}

static void progress(struct bld *b, const char *status)
{
	blog(b->log, "status: %s", status);
	chan_send(b, "status %s", status);
}

/* Asks the API to sign hash with key ("image" or "manifest"). */
static int chan_sign(struct bld *b, const char *key, const uint8_t hash[static 32], uint8_t *sig,
		     size_t cap, size_t *siglen)
{
	char hex[65], m[BUILD_MSG_MAX + 1];
	struct pollfd pfd = { .fd = b->ch, .events = POLLIN };
	ssize_t n;

	cry_hex(hash, 32, hex);
	chan_send(b, "sign %s %s", key, hex);
	if (poll(&pfd, 1, BUILD_SIGN_WAIT_MS) != 1)
		return -ETIMEDOUT;
	n = recv(b->ch, m, sizeof m - 1, 0);
	if (n <= 0)
		return -EPIPE;
	m[n] = 0;
	if (strncmp(m, "sig ", 4) != 0) {
		blog(b->log, "signing refused: %.200s", strncmp(m, "err ", 4) == 0 ? m + 4 : "?");
		return -EACCES;
	}
	size_t hl = strlen(m + 4);
	if (hl % 2 || hl / 2 > cap)
		return -EPROTO;
	for (size_t i = 0; i < hl / 2; i++) {
		int hi = util_hexval(m[4 + 2 * i]), lo = util_hexval(m[5 + 2 * i]);
		if (hi < 0 || lo < 0)
			return -EPROTO;
		sig[i] = (uint8_t)(hi << 4 | lo);
	}
	*siglen = hl / 2;
	return 0;
}

static int sign_image(void *ctx, const uint8_t hash[static 32], uint8_t *sig, size_t cap, size_t *len)
{
	return chan_sign(ctx, "image", hash, sig, cap, len);
}

static int sign_manifest(void *ctx, const uint8_t hash[static 32], uint8_t *sig, size_t cap,
			 size_t *len)
{
	return chan_sign(ctx, "manifest", hash, sig, cap, len);
}

/* ---- steps ---- */

static int step_workspace(struct bld *b)
{
	char p[PATH_MAX_SBS];
	int rc;

	blog(b->log, "cleaning up the local github repo and the github access credential");
	rc = arc_remove_tree(b->datafd, "build");
	if (rc == 0 && mkdirat(b->datafd, "build", 0700) < 0)
		rc = -errno;
	pathf(b->ws, sizeof b->ws, "%s/build", b->cfg->data_dir);
	pathf(p, sizeof p, "%s/src", b->ws);
	if (rc == 0 && mkdir(p, 0700) < 0)
		rc = -errno;
	pathf(p, sizeof p, "%s/img", b->ws);
	if (rc == 0 && mkdir(p, 0700) < 0)
		rc = -errno;
	pathf(p, sizeof p, "%s/cache", b->cfg->data_dir);
	if (rc == 0 && mkdir(p, 0700) < 0 && errno != EEXIST)
		rc = -errno;
	pathf(p, sizeof p, "%s/manifests", b->cfg->data_dir);
	if (rc == 0 && mkdir(p, 0700) < 0 && errno != EEXIST)
		rc = -errno;
	if (rc < 0) {
		blog(b->log, "cannot prepare the workspace: %s", strerror(-rc));
		return RC_WORKSPACE;
	}
	if (b->cfg->ca_path && *b->cfg->ca_path &&
	    (rc = util_read_file(b->cfg->ca_path, BUILD_MAX_CA, &b->ca, &b->ca_len)) < 0)
		blog(b->log, "no CA bundle at %s (%s): https will fail", b->cfg->ca_path,
		     strerror(-rc));
	progress(b, "cleaned up");
	return 0;
}

/* An ssh URL for the log: "scheme://user:password@" loses the password. */
static void url_for_log(const char *url, char *out, size_t cap)
{
	const char *s = strstr(url, "://"), *at = s ? strchr(s + 3, '@') : NULL;
	const char *colon = s ? strchr(s + 3, ':') : NULL;

	if (at && colon && colon < at)
		snprintf(out, cap, "%.*s%.*s%s", (int)(s + 3 - url), url, (int)(colon - s - 3),
			 s + 3, at);
	else
		snprintf(out, cap, "%s", url);
}

static void sub_log(void *ctx, const struct git_submodule *s)
{
	struct bld *b = ctx;

	if (s->fetched)
		blog(b->log, "submodule %s: commit=%s url=%s protocol=v%d pack=%llu bytes%s", s->path,
		     s->oid, s->url, s->protocol, (unsigned long long)s->pack_bytes, s->searched ?
		     " (refused by id: found in the branch's history)" : "");
	else
		blog(b->log, "fetching submodule %s (%s) from %s at %s", s->path, s->name, s->url,
		     s->oid);
}

/* GITHUB_RECURSE_SUBMODULES "True" (or true, 1, yes): every gitlink checked
 * out at its commit; otherwise their directories stay empty. */
static int step_submodules(struct bld *b, const struct git_fetch_opts *o, int fd)
{
	char err[1024];
	int rc;

	if (b->git.nsubs == 0)
		return 0;
	if (!ptrue(b, "GITHUB_RECURSE_SUBMODULES")) {
		blog(b->log, "%zu submodule(s) left empty (GITHUB_RECURSE_SUBMODULES is not True)",
		     b->git.nsubs);
		return 0;
	}
	rc = git_submodules_checkout(o, fd, &b->git, sub_log, b, err, sizeof err);
	if (rc < 0) {
		blog(b->log, "git submodules failed: %s", err);
		return RC_GIT;
	}
	blog(b->log, "submodules checked out: %zu", b->git.nsubs);
	return 0;
}

static int step_git(struct bld *b)
{
	struct git_fetch_opts o = { 0 };
	struct hcl_url u;
	char err[512], tmp[PATH_MAX_SBS], known[PATH_MAX_SBS];
	const char *key = pstr(b, "GITHUB_KEY");
	int fd, rc;

	/* The URL as it may appear in logs: without userinfo. */
	if (hcl_url_parse(pstr(b, "GITHUB_URL"), &u) == 0)
		hcl_url_format(&u, b->url, sizeof b->url);
	else
		url_for_log(pstr(b, "GITHUB_URL"), b->url, sizeof b->url);
	hcl_url_wipe(&u);
	pathf(tmp, sizeof tmp, "%s/src", b->ws);
	pathf(known, sizeof known, "%s/known_hosts", b->cfg->data_dir);
	o.url = pstr(b, "GITHUB_URL");
	o.branch = pstr(b, "GITHUB_BRANCH");
	o.ca_pem = b->ca;
	o.ca_len = b->ca_len;
	o.tmp_dir = b->ws;
	o.ssh_key = (const uint8_t *)key;
	o.ssh_key_len = strlen(key);
	o.known_hosts = known;
	blog(b->log, "github_dir=%s", tmp);
	blog(b->log, "cloning a github repo: %s branch %s", b->url, *o.branch ? o.branch : "(HEAD)");
	fd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return RC_WORKSPACE;
	rc = git_fetch_checkout(&o, fd, &b->git, err, sizeof err);
	if (rc < 0) {
		close(fd);
		blog(b->log, "git fetch failed: %s", err);
		return RC_GIT;
	}
	if (b->git.host_key[0])
		blog(b->log, "github_host_key=%s", b->git.host_key);
	blog(b->log, "commit=%s protocol=v%d objects=%zu pack=%llu bytes", b->git.commit,
	     b->git.protocol, b->git.nobjects, (unsigned long long)b->git.pack_bytes);
	rc = step_submodules(b, &o, fd);
	close(fd);
	if (rc)
		return rc;
	progress(b, "github cloned");
	return 0;
}

static void names(struct bld *b)
{
	const char *prefix = pstr(b, "IMAGE_TAG_PREFIX"), *srv = pstr(b, "DOCKER_PUSH_SERVER");
	const char *repo = pstr(b, "DOCKER_REPO");
	char ts[32], dotted[REG_MAX_REPO + 1];

	if (*prefix)
		pathf(b->tag, sizeof b->tag, "%.*s-%.7s", REG_MAX_TAG - 8, prefix, b->git.commit);
	else
		pathf(b->tag, sizeof b->tag, "%.7s", b->git.commit);
	pathf(b->server, sizeof b->server, "%s", *srv ? srv : "docker.io");
	pathf(b->host, sizeof b->host, "%s", strstr(b->server, "://") ? strstr(b->server, "://") + 3
									: b->server);
	b->host[strcspn(b->host, "/")] = 0;
	pathf(dotted, sizeof dotted, "%s", repo);
	for (char *c = dotted; *c; c++)
		if (*c == '/')
			*c = '.';
	util_ts_micro(ts);
	/* build_name names files: keep it to safe characters. */
	pathf(b->build_name, sizeof b->build_name, "%s.%s.%s.%s", b->host, dotted, b->tag, ts);
	for (char *c = b->build_name; *c; c++)
		if (*c == '/' || *c == ':')
			*c = '.';
	pathf(b->ref, sizeof b->ref, "%s/%s:%s", b->host, repo, b->tag);
	chan_send(b, "set image_tag %s", b->tag);
}

/* Reads a file below the checkout by a repository-relative path, never
 * through a symlink and never outside it. */
static int read_in_checkout(struct bld *b, const char *rel, uint8_t **out, size_t *len)
{
	char norm[PATH_MAX_SBS], src[PATH_MAX_SBS];
	const char *base;
	int root, dir, fd, rc;

	rc = arc_path_norm(rel, norm, sizeof norm, ARC_MAX_DEPTH);
	if (rc < 0 || !*norm)
		return rc < 0 ? rc : -EISDIR;
	pathf(src, sizeof src, "%s/src", b->ws);
	root = open(src, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return -errno;
	dir = arc_open_parent(root, norm, 0, &base);
	close(root);
	if (dir < 0)
		return dir;
	fd = openat(dir, base, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	close(dir);
	if (fd < 0)
		return -errno;
	rc = util_read_fd(fd, DF_MAX_FILE, out, len);
	close(fd);
	return rc;
}

static char **build_args(const struct bld *b)
{
	const json *a = json_get(b->p, "ARG");
	size_t n = json_count(a), i = 0;
	char **v = calloc(n + 1, sizeof *v);

	if (!v || !json_is_obj(a))
		return v;
	for (const json *m = json_child(a); m && i < n; m = json_next(m)) {
		const char *val = json_str(m);
		size_t l = strlen(json_key(m)) + (val ? strlen(val) : 0) + 2;
		if (!val || !(v[i] = malloc(l)))
			continue;
		snprintf(v[i++], l, "%s=%s", json_key(m), val);
		blog(b->log, "build arg %s", json_key(m));
	}
	return v;
}

static void free_args(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		wipe_free(v[i], strlen(v[i]));
	free(v);
}

static const char *build_arch(void)
{
	struct utsname u;
	if (uname(&u) < 0)
		return "amd64";
	if (strcmp(u.machine, "x86_64") == 0)
		return "amd64";
	if (strcmp(u.machine, "aarch64") == 0)
		return "arm64";
	return strcmp(u.machine, "s390x") == 0 ? "s390x" : "amd64";
}

static int step_build(struct bld *b)
{
	struct img_opts o = { 0 };
	char err[1024], ctx[PATH_MAX_SBS], norm[PATH_MAX_SBS], src[PATH_MAX_SBS], work[PATH_MAX_SBS];
	char cache[PATH_MAX_SBS];
	const char *dfp = *pstr(b, "DOCKERFILE_PATH") ? pstr(b, "DOCKERFILE_PATH") : "Dockerfile";
	uint8_t *df = NULL;
	size_t dflen = 0;
	char **args = NULL;
	int rc, d, root;

	rc = read_in_checkout(b, dfp, &df, &dflen);
	if (rc < 0) {
		blog(b->log, "cannot read the Dockerfile %s in the repository: %s", dfp,
		     rc == -ELOOP ? "it is (or is below) a symlink" : strerror(-rc));
		return RC_DOCKERFILE;
	}
	rc = arc_path_norm(pstr(b, "DOCKER_BUILD_PATH"), norm, sizeof norm, ARC_MAX_DEPTH);
	pathf(src, sizeof src, "%s/src", b->ws);
	root = open(src, O_PATH | O_DIRECTORY | O_CLOEXEC);
	d = rc < 0 || root < 0 ? -EPERM : arc_open_dir(root, norm, 0);
	if (root >= 0)
		close(root);
	if (d < 0) {
		blog(b->log, "DOCKER_BUILD_PATH is not a directory inside the repository");
		free(df);
		return RC_DOCKERFILE;
	}
	close(d);
	pathf(ctx, sizeof ctx, "%s%s%s", src, *norm ? "/" : "", norm);
	pathf(work, sizeof work, "%s/img", b->ws);
	pathf(cache, sizeof cache, "%s/cache", b->cfg->data_dir);
	args = build_args(b);
	o.dockerfile = df;
	o.dockerfile_len = dflen;
	o.dockerfile_name = dfp;
	o.context = ctx;
	o.build_args = (const char *const *)args;
	o.workdir = work;
	o.cache_dir = cache;
	o.base_server = pstr(b, "DOCKER_BASE_SERVER");
	o.default_host = *o.base_server ? o.base_server : NULL;
	o.base_user = json_get_str(b->p, "DOCKER_BASE_USER");
	o.base_pass = json_get_str(b->p, "DOCKER_BASE_PASSWORD");
	o.ca_pem = b->ca;
	o.ca_len = b->ca_len;
	if (ptrue(b, "DOCKER_CONTENT_TRUST_BASE")) {
		o.base_pubkey = (const uint8_t *)pstr(b, "BASE_REPO_PUBLIC_KEY");
		o.base_pubkey_len = strlen(pstr(b, "BASE_REPO_PUBLIC_KEY"));
		if (!o.base_pubkey_len) {
			blog(b->log, "DOCKER_CONTENT_TRUST_BASE is on but BASE_REPO_PUBLIC_KEY is empty");
			free_args(args);
			free(df);
			return RC_BUILD;
		}
	}
	o.os = "linux";
	o.arch = build_arch();
	o.epoch = (int64_t)b->git.commit_time;
	o.network = strcasecmp(pstr(b, "BUILD_NETWORK"), "off") != 0 &&
		    strcasecmp(pstr(b, "BUILD_NETWORK"), "none") != 0;
	o.log_fd = fileno(b->log);
	blog(b->log, "docker build: %s, context %s, platform linux/%s, SOURCE_DATE_EPOCH=%lld%s",
	     dfp, *norm ? norm : ".", o.arch, (long long)o.epoch, o.network ? "" : ", no network");
	fflush(b->log);
	rc = img_build(&o, &b->img, err, sizeof err);
	fflush(b->log);
	free_args(args);
	free(df);
	if (rc < 0) {
		blog(b->log, "docker build failed: %s", err);
		return RC_BUILD;
	}
	blog(b->log, "image built: %s (%u steps, %u from the cache)", b->img.digest, b->img.steps,
	     b->img.cached);
	progress(b, "image built");
	return 0;
}

static int open_push(struct bld *b, struct reg_client **c)
{
	struct reg_opts ro = { 0 };

	ro.server = b->server;
	ro.user = json_get_str(b->p, "DOCKER_USER");
	ro.pass = json_get_str(b->p, "DOCKER_PASSWORD");
	if (ro.user && !*ro.user)
		ro.user = ro.pass = NULL;
	ro.ca_pem = b->ca;
	ro.ca_len = b->ca_len;
	ro.log_fd = fileno(b->log);
	return reg_open(c, &ro);
}

static int step_push(struct bld *b, struct reg_client *c)
{
	char err[512];
	int rc;

	blog(b->log, "docker push %s", b->ref);
	char work[PATH_MAX_SBS];

	pathf(work, sizeof work, "%s/img", b->ws);
	rc = img_push(&b->img, work, c, pstr(b, "DOCKER_REPO"), b->tag, err, sizeof err);
	if (rc < 0) {
		blog(b->log, "docker push failed: %s", err);
		return RC_PUSH;
	}
	pathf(b->digest_ref, sizeof b->digest_ref, "%s/%s@%s", b->host, pstr(b, "DOCKER_REPO"),
		 b->img.digest);
	blog(b->log, "run: %s: digest: %s size: %zu", b->tag, b->img.digest, b->img.manifest_len);
	chan_send(b, "set image_digest %s", b->digest_ref);
	progress(b, "image pushed");
	return 0;
}

/* The checked-out submodules for the provenance (malloc'd; strings borrowed). */
static struct prov_submodule *prov_subs(const struct bld *b, size_t *n)
{
	struct prov_submodule *s = calloc(b->git.nsubs, sizeof *s);

	*n = 0;
	for (size_t i = 0; s && i < b->git.nsubs; i++)
		if (b->git.subs[i].fetched) {
			s[*n].url = b->git.subs[i].url;
			s[*n].path = b->git.subs[i].path;
			s[(*n)++].commit = b->git.subs[i].oid;
		}
	return s;
}

static int step_sign(struct bld *b, struct reg_client *c)
{
	char err[512], base_uri[16][600], repo[HCL_MAX_HOST + REG_MAX_REPO + 2];
	struct prov_material mat[16];
	struct prov_info pi = { 0 };
	struct prov_submodule *subs = NULL;
	struct buf stmt = { 0 }, env = { 0 };
	const char *names_[64], *vals[64];
	const json *a = json_get(b->p, "ARG");
	size_t na = 0, nb = b->img.nbases < 16 ? b->img.nbases : 16;
	int rc;

	rc = sig_push_signature(c, pstr(b, "DOCKER_REPO"), b->ref, b->img.digest, time(NULL),
				sign_image, b, err, sizeof err);
	if (rc < 0) {
		blog(b->log, "image signature failed: %s", err);
		return RC_SIGN;
	}
	blog(b->log, "image signed: cosign signature pushed as %s.sig tag",
	     b->img.digest);
	for (const json *m = json_child(a); m && na < 64; m = json_next(m)) {
		if (!json_str(m) || params_is_secret(json_key(m)))
			continue;
		names_[na] = json_key(m);
		vals[na++] = json_str(m);
	}
	for (size_t i = 0; i < nb; i++) {
		pathf(base_uri[i], sizeof base_uri[i], "%s", b->img.bases[i].ref);
		mat[i].uri = base_uri[i];
		mat[i].digest = b->img.bases[i].digest;
	}
	pathf(repo, sizeof repo, "%s/%s", b->host, pstr(b, "DOCKER_REPO"));
	pi.image_name = repo;
	pi.image_digest = b->img.digest;
	pi.git_url = b->url;
	pi.git_commit = b->git.commit;
	pi.git_branch = pstr(b, "GITHUB_BRANCH");
	pi.dockerfile_path = *pstr(b, "DOCKERFILE_PATH") ? pstr(b, "DOCKERFILE_PATH") : "Dockerfile";
	pi.dockerfile_digest = b->img.dockerfile_digest;
	pi.context_path = pstr(b, "DOCKER_BUILD_PATH");
	pi.arg_names = names_;
	pi.arg_values = vals;
	pi.nargs = na;
	pi.bases = mat;
	pi.nbases = nb;
	pi.builder_id = "https://github.com/sbs-appliance/sbs/sbsd@v" SBS_VERSION;
	pi.builder_version = SBS_VERSION;
	pi.invocation_id = b->build_name;
	pi.started = b->started;
	pi.finished = time(NULL);
	pi.ssh_host_key = b->git.host_key[0] ? b->git.host_key : NULL;
	if (b->git.nsubs && !(subs = prov_subs(b, &pi.nsubs))) {
		blog(b->log, "provenance failed: out of memory");
		return RC_SIGN;
	}
	pi.subs = subs;
	rc = prov_statement(&pi, &stmt);
	free(subs);
	if (rc == 0)
		rc = prov_envelope(stmt.data, stmt.len, sign_image, b, &env);
	if (rc == 0)
		rc = prov_push(c, pstr(b, "DOCKER_REPO"), b->img.digest, env.data, env.len, err,
			       sizeof err);
	else
		snprintf(err, sizeof err, "cannot make the provenance statement: %s", strerror(-rc));
	buf_free(&stmt);
	if (rc < 0) {
		buf_free(&env);
		blog(b->log, "provenance failed: %s", err);
		return RC_SIGN;
	}
	b->att = env.data;
	b->att_len = env.len;
	blog(b->log, "provenance pushed as the .att tag (SLSA v1, DSSE)");
	return 0;
}

/* Every gitlink: path, commit, and for those checked out the URL (without
 * credentials) they came from. */
static json *subs_json(const struct bld *b)
{
	json *a = json_new_arr();

	for (size_t i = 0; a && i < b->git.nsubs; i++) {
		const struct git_submodule *s = &b->git.subs[i];
		json *o = json_new_obj();

		json_set_str(o, "path", s->path);
		json_set_str(o, "commit", s->oid);
		json_set_str(o, "url", s->fetched ? s->url : "");
		json_set_bool(o, "checked_out", s->fetched);
		json_arr_add(a, o);
	}
	return a;
}

static char *build_json(struct bld *b)
{
	json *j = json_new_obj(), *bases = json_new_arr();
	char *s;

	if (!j || !bases) {
		json_free(j);
		json_free(bases);
		return NULL;
	}
	json_set_str(j, "status", "success");
	json_set_str(j, "build_name", b->build_name);
	json_set_str(j, "image_tag", b->tag);
	json_set_str(j, "image_digest", b->digest_ref);
	json_set_str(j, "git_url", b->url);
	json_set_str(j, "git_branch", pstr(b, "GITHUB_BRANCH"));
	json_set_str(j, "git_commit", b->git.commit);
	json_set_str(j, "git_host_key", b->git.host_key);
	json_set_str(j, "dockerfile_digest", b->img.dockerfile_digest);
	for (size_t i = 0; i < b->img.nbases; i++) {
		json *o = json_new_obj();
		json_set_str(o, "ref", b->img.bases[i].ref);
		json_set_str(o, "digest", b->img.bases[i].digest);
		json_arr_add(bases, o);
	}
	json_set(j, "base_images", bases);
	json_set(j, "git_submodules", subs_json(b));
	json_set_str(j, "builder", "sbsd " SBS_VERSION);
	s = json_print_py(j, 4);
	json_free(j);
	return s;
}

static int step_manifest(struct bld *b)
{
	struct mfst_in in = { 0 };
	char name[PATH_MAX_SBS], path[PATH_MAX_SBS], tmp[PATH_MAX_SBS + 32], src[PATH_MAX_SBS];
	char err[512];
	uint8_t *logt = NULL;
	size_t logl = 0;
	char *bj = build_json(b);
	int fd = -1, gfd = -1, rc = -ENOMEM;

	pathf(name, sizeof name, "manifest.%s", b->build_name);
	pathf(path, sizeof path, "%s/manifests/%s.sig.tbz", b->cfg->data_dir, name);
	pathf(tmp, sizeof tmp, "%s.tmp-%d", path, (int)getpid());
	pathf(src, sizeof src, "%s/src", b->ws);
	blog(b->log, "create_and_push: SoftCrypto");
	if (*pstr(b, "MANIFEST_BUCKET_NAME")) {
		blog(b->log, "MANIFEST_BUCKET_NAME=%s", pstr(b, "MANIFEST_BUCKET_NAME"));
	} else {
		blog(b->log, "undefined MANIFEST_BUCKET_NAME");
		blog(b->log, "skipping transferring a manifest to COS");
	}
	fflush(b->log);
	if (!bj)
		goto out;
	rc = util_read_file(b->cfg->log_path, MFST_MAX_LOG, &logt, &logl);
	if (rc < 0)
		goto out;
	gfd = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (gfd < 0 || fd < 0) {
		rc = -errno;
		goto out;
	}
	in.name = name;
	in.build_json = (const uint8_t *)bj;
	in.build_json_len = strlen(bj);
	in.build_log = logt;
	in.build_log_len = logl;
	in.provenance = b->att;
	in.provenance_len = b->att_len;
	in.gitfd = gfd;
	in.mtime = (int64_t)b->git.commit_time;
	rc = mfst_create(&in, sign_manifest, b, fd, err, sizeof err);
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -errno;
	if (rc < 0)
		blog(b->log, "manifest failed: %s", rc == -EIO ? err : strerror(-rc));
out:
	if (fd >= 0)
		close(fd);
	if (gfd >= 0)
		close(gfd);
	if (rc < 0)
		unlink(tmp);
	free(bj);
	free(logt);
	if (rc < 0)
		return RC_MANIFEST;
	blog(b->log, "manifest %s.sig.tbz signed (RSA-2048, PKCS#1 v1.5 over SHA-256 of the .tbz)",
	     name);
	chan_send(b, "set build_name %s", b->build_name);
	return 0;
}

/* After a manifest is signed and stored: upload it to MANIFEST_BUCKET_NAME
 * under the file name the client saves it as. A failure fails the build
 * with a status naming the bucket and the HTTP error (never a credential);
 * the manifest stays on the appliance for GET /manifest. */
static int step_cos(struct bld *b)
{
	char name[PATH_MAX_SBS], path[PATH_MAX_SBS], err[512];
	struct s3_cfg c;
	struct stat st;
	int fd, rc;

	if (!*pstr(b, "MANIFEST_BUCKET_NAME"))
		return 0;
	cos_cfg(b->p, "MANIFEST_", NULL, &c);
	c.ca_pem = b->ca;
	c.ca_len = b->ca_len;
	c.log_fd = fileno(b->log);
	pathf(name, sizeof name, "manifest.%s.sig.tbz", b->build_name);
	pathf(path, sizeof path, "%s/manifests/%s", b->cfg->data_dir, name);
	blog(b->log, "transferring a manifest to COS: bucket=%s object=%s", c.bucket, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		rc = util_err(err, sizeof err, -errno, "cannot open the manifest");
	} else {
		fflush(b->log);
		rc = s3_put(&c, name, fd, NULL, (uint64_t)st.st_size, err, sizeof err);
	}
	if (fd >= 0)
		close(fd);
	if (rc < 0) {
		blog(b->log, "manifest transfer to COS failed: %s", err);
		chan_send(b, "set cos_error %s", err);
		return RC_COS;
	}
	blog(b->log, "transferred a manifest to COS: s3://%s/%s (%lld bytes)", c.bucket, name,
	     (long long)st.st_size);
	return 0;
}

static int run(struct bld *b)
{
	struct reg_client *c = NULL;
	int rc;

	b->started = time(NULL);
	blog(b->log, "starting a build");
	if (!*pstr(b, "GITHUB_URL") || !*pstr(b, "DOCKER_REPO")) {
		blog(b->log, "missing GITHUB_URL or DOCKER_REPO: run init or update");
		return RC_PARAMS;
	}
	if ((rc = step_workspace(b)) || (rc = step_git(b)))
		return rc;
	names(b);
	if ((rc = step_build(b)))
		return rc;
	if (open_push(b, &c) < 0) {
		blog(b->log, "cannot set up the registry client for %s", b->server);
		return RC_PUSH;
	}
	rc = step_push(b, c);
	if (rc == 0)
		rc = step_sign(b, c);
	reg_close(c);
	if (rc == 0)
		rc = step_manifest(b);
	if (rc == 0)
		rc = step_cos(b);
	if (rc)
		return rc;
	blog(b->log, "cleaning up the build environment");
	progress(b, "success");
	return 0;
}

const char *builder_failed_cmd(int rc)
{
	switch (rc) {
	case RC_PARAMS:
		return "build (parameters incomplete: run init or update)";
	case RC_WORKSPACE:
		return "build (workspace)";
	case RC_GIT:
		return "git fetch";
	case RC_DOCKERFILE:
		return "docker build (Dockerfile or build path)";
	case RC_BUILD:
		return "docker build";
	case RC_PUSH:
		return "docker push";
	case RC_SIGN:
		return "sign";
	case RC_MANIFEST:
		return "manifest";
	case RC_COS:
		return "manifest upload to COS";
	default:
		return "build";
	}
}

static void child(const json *params, const struct builder_cfg *cfg, int ch)
{
	struct bld b = { .p = params, .cfg = cfg, .ch = ch, .datafd = -1 };
	sigset_t none;
	int rc;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	setpgid(0, 0);
	keeper_forget();
	/* Let go of every client connection, the listener and the loop's
	 * descriptors: a build must not keep a connection alive. */
	long max = sysconf(_SC_OPEN_MAX);
	for (long fd = 3; fd < (max > 0 && max < 65536 ? max : 65536); fd++)
		if (fd != ch)
			close((int)fd);
	b.log = fopen(cfg->log_path, "we");
	b.datafd = open(cfg->data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (!b.log || b.datafd < 0)
		_exit(RC_WORKSPACE);
	rc = run(&b);
	blog(b.log, "completed a build, return code = %d", rc);
	fclose(b.log);
	_exit(rc);
}

int builder_start(const json *params, const struct builder_cfg *cfg, struct builder_run *out)
{
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		int e = errno;
		close(sv[0]);
		close(sv[1]);
		return -e;
	}
	if (pid == 0)
		child(params, cfg, sv[1]);
	setpgid(pid, pid);
	close(sv[1]);
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	out->pid = pid;
	out->fd = sv[0];
	out->signed_image = out->signed_manifest = 0;
	return 0;
}
