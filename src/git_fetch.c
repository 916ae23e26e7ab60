/* SPDX-License-Identifier: MIT */
/*
 * git_fetch: one whole fetch and checkout over smart HTTP or SSH (contract
 * in git.h). Discovery is GET <url>/info/refs?service=git-upload-pack asking
 * for protocol v2 (Git-Protocol: version=2), or over SSH the advertisement
 * git-upload-pack sends first (v2 asked for with GIT_PROTOCOL, git_ssh.c); a
 * v2 server is then asked ls-refs for the one ref and fetch for its commit;
 * a v0/v1 server's ref list names the commit and the v0 request (want,
 * deepen, flush, done) fetches it. Over HTTP each request is one POST; over
 * SSH the same pkt-lines go down one stream and each answer is read up to
 * its closing flush (bounded by GIT_MAX_ADV, the pack by max_pack). The
 * response streams through the side-band demultiplexer into an unlinked temp
 * file, bounded by max_pack, which is then mapped read-only and indexed.
 * Credentials from the URL's userinfo are moved into the HTTP session (an
 * Authorization header) and wiped; messages show the URL without them.
 */
#include "git.h"

#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hcl.h"

#define AGENT "git/sbs-" SBS_VERSION
#define SVC_SUFFIX "/info/refs?service=git-upload-pack"
#define SSH_RBUF 16384          /* one read from the SSH channel */

struct fetch {
	const struct git_fetch_opts *o;
	struct git_limits lim;
	struct hcl_sess sess;
	char user[HCL_MAX_CRED + 1];    /* SECRET */
	char pass[HCL_MAX_CRED + 1];    /* SECRET */
	char base[HCL_MAX_URL + 1];     /* without userinfo or trailing '/' */
	char ref[GIT_MAX_REFNAME + 1];
	struct git_adv adv;
	uint8_t want[GIT_OID_LEN];     /* asked for */
	uint8_t target[GIT_OID_LEN];   /* checked out: want, or o->commit */
	unsigned depth;                /* deepen */
	int fd;
	char *err;
	size_t errcap;
	struct git_ssh *ssh;        /* the SSH transport, or NULL for HTTP */
	uint8_t *rb;                /* SSH: bytes read, rb[roff..rlen) not consumed yet */
	size_t roff, rlen;
};

/* git check-ref-format's rules, for the one component we put after refs/heads/. */
static int branch_ok(const char *b)
{
	size_t n = strlen(b);

	if (n == 0 || n > GIT_MAX_REFNAME - 16 || b[0] == '/' || b[0] == '-' || b[0] == '.' ||
	    b[n - 1] == '/' || b[n - 1] == '.' || strstr(b, "..") || strstr(b, "//") ||
	    strstr(b, "/.") || strstr(b, "@{") || (n >= 5 && strcmp(b + n - 5, ".lock") == 0))
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)b[i] <= 0x20 || b[i] == 0x7f || strchr("~^:?*[\\", b[i]))
			return 0;
	return 1;
}

static int ws_empty(int dirfd)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d;
	struct dirent *e;
	int n = 0;

	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return -ENOTDIR;
	}
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n ? -ENOTEMPTY : 0;
}

static int setup(struct fetch *f)
{
	const struct git_fetch_opts *o = f->o;
	struct hcl_url u;
	size_t n;
	int rc = hcl_url_parse(o->url, &u);

	if (rc < 0)
		return git_seterr(f->err, f->errcap, -EINVAL, "git: bad repository URL (http:// or "
				  "https:// expected)");
	if (strchr(u.path, '?')) {
		hcl_url_wipe(&u);
		return git_seterr(f->err, f->errcap, -EINVAL, "git: a query in the repository URL");
	}
	if (o->user) {
		if (strlen(o->user) > HCL_MAX_CRED || (o->password && strlen(o->password) > HCL_MAX_CRED))
			rc = -E2BIG;
		else {
			snprintf(f->user, sizeof f->user, "%s", o->user);
			snprintf(f->pass, sizeof f->pass, "%s", o->password ? o->password : "");
		}
	} else if (u.has_userinfo) {
		memcpy(f->user, u.user, sizeof f->user);
		memcpy(f->pass, u.pass, sizeof f->pass);
	}
	u.has_userinfo = 0;
	hcl_url_format(&u, f->base, sizeof f->base);
	hcl_url_wipe(&u);
	if (rc < 0)
		return git_seterr(f->err, f->errcap, rc, "git: credentials too long");
	n = strlen(f->base);
	while (n > 0 && f->base[n - 1] == '/')
		f->base[--n] = 0;
	if (n + sizeof SVC_SUFFIX > sizeof f->base)
		return git_seterr(f->err, f->errcap, -E2BIG, "git: repository URL too long");
	hcl_sess_init(&f->sess);
	f->sess.ca_pem = o->ca_pem;
	f->sess.ca_len = o->ca_len;
	f->sess.io_timeout_ms = o->timeout_ms;
	f->sess.user_agent = AGENT;
	if (f->user[0] || f->pass[0]) {
		f->sess.user = f->user;
		f->sess.pass = f->pass;
	}
	return 0;
}

static int http_fail(struct fetch *f, const char *what, int rc, const struct hcl_resp *r)
{
	if (rc < 0)
		return git_seterr(f->err, f->errcap, rc, "git: %s %s: %s", what, f->base,
				  f->sess.err[0] ? f->sess.err : strerror(-rc));
	if (r->status == 401 || r->status == 403)
		return git_seterr(f->err, f->errcap, -EACCES, "git: %s %s: HTTP %d (authentication "
				  "required or refused)", what, f->base, r->status);
	if (r->status == 404)
		return git_seterr(f->err, f->errcap, -ENOENT, "git: %s %s: HTTP 404 (no such "
				  "repository)", what, f->base);
	return git_seterr(f->err, f->errcap, -EPROTO, "git: %s %s: HTTP %d", what, f->base,
			  r->status);
}

/* ---- SSH: the same exchange over one stream ---------------------------------- */

/* rc 0 means the stream ended. The server's stderr (git-shell's complaint,
 * "does not appear to be a git repository") is the best hint there is. */
static int ssh_err(struct fetch *f, int rc, const char *what)
{
	const char *se = git_ssh_stderr(f->ssh);

	return git_seterr(f->err, f->errcap, rc ? rc : -EPIPE, "git: %s %s: %s%s%s", what, f->base,
			  rc == 0 ? "the server closed the stream" : rc == -ETIMEDOUT ? "timed out" :
			  strerror(-rc), se[0] ? "; the server said: " : "", se);
}

/* 1 with unread bytes in f->rb, 0 at the end of the stream, or -errno. */
static int ssh_fill(struct fetch *f)
{
	long n;

	if (f->roff < f->rlen)
		return 1;
	n = git_ssh_read(f->ssh, f->rb, SSH_RBUF);
	if (n <= 0)
		return (int)n;
	f->roff = 0;
	f->rlen = (size_t)n;
	return 1;
}

/* One answer: pkt-lines up to and including a flush, appended to out
 * (whose max bounds it). */
static int ssh_answer(struct fetch *f, struct buf *out, const char *what)
{
	struct git_pktr *r = malloc(sizeof *r);
	const uint8_t *pl = NULL;
	size_t pll = 0, used;
	enum git_pkt_kind k;
	int rc;

	if (!r)
		return git_seterr(f->err, f->errcap, -ENOMEM, "out of memory");
	git_pktr_init(r);
	for (;;) {
		if ((rc = ssh_fill(f)) <= 0) {
			rc = ssh_err(f, rc, what);
			break;
		}
		rc = git_pktr_next(r, f->rb + f->roff, f->rlen - f->roff, &used, &k, &pl, &pll);
		if (rc < 0) {
			rc = git_seterr(f->err, f->errcap, -EBADMSG, "git: %s %s: bad pkt-line", what,
					f->base);
			break;
		}
		if (buf_append(out, f->rb + f->roff, used) < 0) {
			rc = git_seterr(f->err, f->errcap, -E2BIG, "git: %s %s: over the limit of %zu "
					"bytes", what, f->base, out->max);
			break;
		}
		f->roff += used;
		if (rc == 1 && k == GIT_PKT_FLUSH) {
			rc = 0;
			break;
		}
	}
	free(r);
	return rc;
}

/* After the host key check and the exec: the advertisement (an ERR line
 * before the stream ends is reported as the server's words). */
static int ssh_discover(struct fetch *f, struct git_result *res)
{
	struct buf b = { .max = GIT_MAX_ADV };
	char e2[GIT_MAX_MSG + 64];
	int rc = git_ssh_open(&f->ssh, f->o, res->host_key, f->err, f->errcap);

	if (rc < 0)
		return rc;
	snprintf(f->base, sizeof f->base, "%s", git_ssh_name(f->ssh));
	if (!(f->rb = malloc(SSH_RBUF)))
		return git_seterr(f->err, f->errcap, -ENOMEM, "out of memory");
	rc = ssh_answer(f, &b, "advertisement from");
	if (rc == 0)
		rc = git_adv_parse(b.data, b.len, f->ref, &f->adv, f->err, f->errcap);
	else if (b.len > 0 && git_adv_parse(b.data, b.len, f->ref, &f->adv, e2, sizeof e2) ==
		 -EREMOTEIO)
		rc = git_seterr(f->err, f->errcap, -EREMOTEIO, "git: %s: %s", f->base, e2);
	buf_free(&b);
	return rc;
}

/* A request down the stream and its answer (up to its flush) into ans. */
static int ssh_rpc(struct fetch *f, const struct buf *req, struct buf *ans)
{
	int rc = git_ssh_write(f->ssh, req->data, req->len);

	if (rc < 0)
		return ssh_err(f, rc, "request to");
	return ssh_answer(f, ans, "answer from");
}

/* The fetch request, then the response into the demultiplexer until it is
 * complete (v2, and v0 with side-band: the flush after the pack) or the
 * stream ends (v0 raw pack). Every byte counts against the bound. */
static int ssh_pack(struct fetch *f, const struct buf *req, struct git_rx *x)
{
	uint64_t total = 0, max = f->lim.max_pack + f->lim.max_pack / 8192 + (1u << 20);
	int rc = git_ssh_write(f->ssh, req->data, req->len);

	if (rc < 0)
		return ssh_err(f, rc, "fetch request to");
	while (!git_rx_done(x)) {
		size_t n;

		if ((rc = ssh_fill(f)) < 0)
			return ssh_err(f, rc, "fetch from");
		if (rc == 0)
			break;          /* git_rx_end judges whether that was the end */
		n = f->rlen - f->roff;
		if (n > max - total)
			return git_seterr(f->err, f->errcap, -EFBIG, "git: the fetch response from %s "
					  "is over %llu bytes", f->base, (unsigned long long)max);
		total += n;
		rc = git_rx_feed(x, f->rb + f->roff, n);
		f->roff = f->rlen;
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* ---- HTTP --------------------------------------------------------------------- */

static int discover(struct fetch *f)
{
	struct hcl_hdr h[] = { { "Git-Protocol", "version=2" }, { "Accept", "*/*" },
			       { "Pragma", "no-cache" } };
	char url[HCL_MAX_URL + 64];
	struct hcl_req rq = { .sess = &f->sess, .method = "GET", .url = url,
			      .hdrs = f->o->force_v0 ? h + 1 : h, .nhdrs = f->o->force_v0 ? 2 : 3,
			      .max_body = GIT_MAX_ADV };
	struct hcl_resp r;
	size_t ul, sl = strlen(SVC_SUFFIX);
	int rc;

	snprintf(url, sizeof url, "%s%s", f->base, SVC_SUFFIX);
	rc = hcl_request(&rq, &r);
	if (rc < 0 || r.status != 200) {
		rc = http_fail(f, "discovery at", rc, &r);
		goto out;
	}
	if (strncmp(r.content_type, "application/x-git-upload-pack-advertisement", 43) != 0) {
		rc = git_seterr(f->err, f->errcap, -EPROTONOSUPPORT, "git: %s is not a smart-HTTP git "
				"server (dumb HTTP is not supported)", f->base);
		goto out;
	}
	/* after a redirect, later requests go where the redirect pointed */
	ul = strlen(r.url);
	if (r.redirects && ul > sl && strcmp(r.url + ul - sl, SVC_SUFFIX) == 0)
		snprintf(f->base, sizeof f->base, "%.*s", (int)(ul - sl), r.url);
	rc = git_adv_parse(r.body, r.body_len, f->ref, &f->adv, f->err, f->errcap);
out:
	hcl_resp_free(&r);
	return rc;
}

/* POST <base>/git-upload-pack; the answer to a sink or into r. */
static int rpc(struct fetch *f, const struct buf *body, hcl_sink_fn sink, void *ctx,
	       uint64_t max, struct hcl_resp *r)
{
	struct hcl_hdr h[] = { { "Content-Type", "application/x-git-upload-pack-request" },
			       { "Accept", "application/x-git-upload-pack-result" },
			       { "Git-Protocol", "version=2" } };
	char url[HCL_MAX_URL + 64];
	struct hcl_req rq = { .sess = &f->sess, .method = "POST", .url = url, .hdrs = h,
			      .nhdrs = f->adv.version == 2 ? 3 : 2, .body = body->data,
			      .body_len = body->len, .max_body = max, .sink = sink,
			      .sink_ctx = ctx };
	int rc;

	snprintf(url, sizeof url, "%s/git-upload-pack", f->base);
	rc = hcl_request(&rq, r);
	if (rc < 0 || r->status != 200)
		return http_fail(f, "upload-pack at", rc, r);
	if (strncmp(r->content_type, "application/x-git-upload-pack-result", 36) != 0)
		return git_seterr(f->err, f->errcap, -EPROTO, "git: upload-pack at %s answered with "
				  "Content-Type \"%.60s\"", f->base, r->content_type);
	return 0;
}

/* The v2 command head: command, agent and object-format as advertised. */
static int v2_head(struct fetch *f, struct buf *b, const char *cmd)
{
	const char *v;
	size_t vl;
	int rc = git_pkt_printf(b, "command=%s\n", cmd);

	if (rc == 0 && git_cap(&f->adv, "agent", NULL, NULL))
		rc = git_pkt_printf(b, "agent=%s\n", AGENT);
	if (rc == 0 && git_cap(&f->adv, "object-format", &v, &vl)) {
		if (vl != 4 || memcmp(v, "sha1", 4) != 0)
			return git_seterr(f->err, f->errcap, -EPROTONOSUPPORT, "git: the repository "
					  "uses an object format other than SHA-1");
		rc = git_pkt_printf(b, "object-format=sha1\n");
	}
	return rc == 0 ? git_pkt_special(b, GIT_PKT_DELIM) : rc;
}

static int ls_refs(struct fetch *f)
{
	struct buf b = { .max = 65536 }, ans = { .max = GIT_MAX_ADV };
	struct hcl_resp r = { 0 };
	char sym[GIT_MAX_REFNAME + 1];
	int rc;

	if (!git_cap(&f->adv, "ls-refs", NULL, NULL))
		return git_seterr(f->err, f->errcap, -EPROTO, "git: the v2 server has no ls-refs");
	rc = v2_head(f, &b, "ls-refs");
	if (rc == 0)
		rc = git_pkt_printf(&b, "symrefs\n");
	if (rc == 0)
		rc = git_pkt_printf(&b, "ref-prefix %s\n", f->ref);
	if (rc == 0)
		rc = git_pkt_special(&b, GIT_PKT_FLUSH);
	if (rc == 0 && f->ssh)
		rc = ssh_rpc(f, &b, &ans);
	else if (rc == 0)
		rc = rpc(f, &b, NULL, NULL, GIT_MAX_ADV, &r);
	if (rc == 0)
		rc = git_lsrefs_parse(f->ssh ? ans.data : r.body, f->ssh ? ans.len : r.body_len,
				      f->ref, f->want, sym, sizeof sym, f->err, f->errcap);
	if (rc == 0)
		rc = git_seterr(f->err, f->errcap, -ENOENT, "git: %s has no %s", f->base, f->ref);
	buf_free(&b);
	buf_free(&ans);
	hcl_resp_free(&r);
	return rc < 0 ? rc : 0;
}

static int fetch_request(struct fetch *f, struct buf *b, unsigned depth)
{
	char hex[GIT_HEX_LEN + 1], caps[256] = "";
	const char *v;
	size_t vl;
	int rc = 0, shallow;

	git_hex(f->want, hex);
	if (f->adv.version == 2) {
		shallow = git_cap(&f->adv, "fetch", &v, &vl) && vl >= 7 &&
			  (memmem(v, vl, "shallow", 7) != NULL);
		rc = v2_head(f, b, "fetch");
		if (rc == 0)
			rc = git_pkt_printf(b, "ofs-delta\n");
		if (rc == 0)
			rc = git_pkt_printf(b, "no-progress\n");
		if (rc == 0)
			rc = git_pkt_printf(b, "want %s\n", hex);
		if (rc == 0 && shallow)
			rc = git_pkt_printf(b, "deepen %u\n", depth);
		if (rc == 0)
			rc = git_pkt_printf(b, "done\n");
		return rc ? rc : git_pkt_special(b, GIT_PKT_FLUSH);
	}
	shallow = git_cap(&f->adv, "shallow", NULL, NULL);
	static const char *const want_caps[] = { "side-band-64k", "ofs-delta", "no-progress" };
	for (size_t i = 0; i < sizeof want_caps / sizeof *want_caps; i++)
		if (git_cap(&f->adv, want_caps[i], NULL, NULL))
			snprintf(caps + strlen(caps), sizeof caps - strlen(caps), " %s", want_caps[i]);
	if (!git_cap(&f->adv, "side-band-64k", NULL, NULL) && git_cap(&f->adv, "side-band", NULL, NULL))
		snprintf(caps + strlen(caps), sizeof caps - strlen(caps), " side-band");
	if (git_cap(&f->adv, "agent", NULL, NULL))
		snprintf(caps + strlen(caps), sizeof caps - strlen(caps), " agent=%s", AGENT);
	rc = git_pkt_printf(b, "want %s%s\n", hex, caps);
	if (rc == 0 && shallow)
		rc = git_pkt_printf(b, "deepen %u\n", depth);
	if (rc == 0)
		rc = git_pkt_special(b, GIT_PKT_FLUSH);
	return rc ? rc : git_pkt_printf(b, "done\n");
}

static int pack_write(void *ctx, const uint8_t *p, size_t n)
{
	struct fetch *f = ctx;

	while (n > 0) {
		ssize_t w = write(f->fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int rx_sink(void *ctx, const uint8_t *p, size_t n)
{
	return git_rx_feed(ctx, p, n);
}

static int tmp_open(const char *dir)
{
	char path[PATH_MAX_SBS];
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL))
		return fd >= 0 ? fd : -errno;
	if (snprintf(path, sizeof path, "%s/sbs-pack-XXXXXX", dir) >= (int)sizeof path)
		return -ENAMETOOLONG;
	if ((fd = mkostemp(path, O_CLOEXEC)) < 0)
		return -errno;
	unlink(path);
	return fd;
}

static int fetch_pack(struct fetch *f, uint64_t *pack_len)
{
	const char *dir = f->o->tmp_dir ? f->o->tmp_dir : getenv("TMPDIR");
	struct buf b = { .max = 65536 };
	struct git_rx *x = malloc(sizeof *x);
	struct hcl_resp r = { 0 };
	unsigned depth = f->depth;
	char rxerr[GIT_MAX_MSG + 64];
	int rc;

	if (!x)
		return git_seterr(f->err, f->errcap, -ENOMEM, "out of memory");
	f->fd = tmp_open(dir && dir[0] ? dir : "/tmp");
	if (f->fd < 0) {
		rc = git_seterr(f->err, f->errcap, f->fd, "git: cannot create the pack's temp file: %s",
				strerror(-f->fd));
		goto out;
	}
	rc = fetch_request(f, &b, depth);
	if (rc < 0) {
		rc = git_seterr(f->err, f->errcap, rc, "git: cannot build the fetch request");
		goto out;
	}
	rxerr[0] = 0;
	git_rx_init(x, f->adv.version == 2,
		    git_cap(&f->adv, "side-band-64k", NULL, NULL) || git_cap(&f->adv, "side-band", NULL, NULL),
		    f->lim.max_pack, pack_write, f, rxerr, sizeof rxerr);
	/* pkt framing adds 5 bytes per up to 65515 pack bytes */
	if (f->ssh)
		rc = ssh_pack(f, &b, x);
	else
		rc = rpc(f, &b, rx_sink, x, f->lim.max_pack + f->lim.max_pack / 8192 + (1u << 20),
			 &r);
	if (rc == 0)
		rc = git_rx_end(x);
	if (rc < 0 && rxerr[0])
		rc = git_seterr(f->err, f->errcap, rc, "git: fetch from %s: %s", f->base, rxerr);
	*pack_len = x->pack_bytes;
out:
	buf_free(&b);
	hcl_resp_free(&r);
	free(x);
	return rc;
}

static int index_and_checkout(struct fetch *f, uint64_t len, int dirfd, struct git_result *res)
{
	struct git_store *s = NULL;
	char hex[GIT_HEX_LEN + 1];
	void *map;
	int rc;

	if (len == 0)
		return git_seterr(f->err, f->errcap, -EBADMSG, "git: the server sent an empty pack");
	map = mmap(NULL, (size_t)len, PROT_READ, MAP_PRIVATE, f->fd, 0);
	if (map == MAP_FAILED)
		return git_seterr(f->err, f->errcap, -errno, "git: cannot map the pack: %s",
				  strerror(errno));
	rc = git_store_open(&s, map, (size_t)len, &f->lim, f->err, f->errcap);
	if (rc == 0) {
		res->nobjects = git_store_count(s);
		rc = git_checkout(s, f->target, dirfd, res, f->err, f->errcap);
	}
	if (rc == -EBADMSG && strstr(f->err, "is not in the pack")) {
		git_hex(f->target, hex);
		if (strstr(f->err, hex))
			git_seterr(f->err, f->errcap, -EBADMSG, "git: the pack has no object %s (the "
				   "commit %s points to), or its content does not hash to that id",
				   hex, f->ref);
	}
	git_store_free(s);
	munmap(map, (size_t)len);
	return rc;
}

/* After discovery: the ref's tip, fetched and checked out. */
static int fetch_tip(struct fetch *f, int dirfd, struct git_result *res)
{
	uint64_t len = 0;
	int rc = 0;

	if (f->adv.version == 2)
		rc = ls_refs(f);
	else if (!f->adv.have_oid)
		rc = git_seterr(f->err, f->errcap, -ENOENT, "git: %s has no %s", f->base, f->ref);
	else
		memcpy(f->want, f->adv.oid, GIT_OID_LEN);
	if (rc < 0)
		return rc;
	memcpy(f->target, f->want, GIT_OID_LEN);
	rc = fetch_pack(f, &len);
	res->pack_bytes = len;
	return rc < 0 ? rc : index_and_checkout(f, len, dirfd, res);
}

/* opts.commit, if given, into f->target. */
static int commit_opt(struct fetch *f)
{
	const char *c = f->o->commit;

	if (c && (strlen(c) != GIT_HEX_LEN || git_unhex(c, GIT_HEX_LEN, f->target) < 0))
		return git_seterr(f->err, f->errcap, -EINVAL, "git: bad commit id");
	return 0;
}

/* The transport again after a refusal: HTTP is stateless (the
 * advertisement holds), an SSH stream ends after an ERR. */
static int reopen(struct fetch *f, struct git_result *res)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	if (!f->ssh)
		return 0;
	git_ssh_close(f->ssh);
	f->ssh = NULL;
	free(f->rb);
	f->rb = NULL;
	f->roff = f->rlen = 0;
	memset(&f->adv, 0, sizeof f->adv);
	return ssh_discover(f, res);
}

/* o->commit: asked for by id; if refused, searched for in the last
 * GIT_SUBMODULE_DEEPEN commits of f->ref. */
static int fetch_commit(struct fetch *f, int dirfd, struct git_result *res)
{
	char hex[GIT_HEX_LEN + 1], first[GIT_MAX_MSG + 128];
	uint64_t len = 0, len2 = 0;
	int rc;

	memcpy(f->want, f->target, GIT_OID_LEN);
	rc = fetch_pack(f, &len);
	res->pack_bytes = len;
	if (rc == 0)
		return index_and_checkout(f, len, dirfd, res);
	if (rc != -EREMOTEIO)
		return rc;
	snprintf(first, sizeof first, "%s", strstr(f->err, "said: ") ? strstr(f->err, "said: ") + 6 :
		 f->err);
	if ((rc = reopen(f, res)) < 0)
		return rc;
	if (f->adv.version == 2)
		rc = ls_refs(f);
	else if (!f->adv.have_oid)
		rc = git_seterr(f->err, f->errcap, -ENOENT, "git: %s has no %s", f->base, f->ref);
	else
		memcpy(f->want, f->adv.oid, GIT_OID_LEN);
	f->depth = GIT_SUBMODULE_DEEPEN;
	if (rc == 0)
		rc = fetch_pack(f, &len2);
	res->pack_bytes += len2;
	if (rc == 0)
		rc = index_and_checkout(f, len2, dirfd, res);
	res->searched = rc == 0;
	git_hex(f->target, hex);
	if (rc == -EBADMSG && strstr(f->err, hex))
		rc = git_seterr(f->err, f->errcap, -ENOENT, "git: %s does not give the commit %s (the "
				"server said: %s) and it is not in the last %u commits of %s", f->base, hex, first,
				GIT_SUBMODULE_DEEPEN, f->ref);
	return rc;
}

int git_fetch_checkout(const struct git_fetch_opts *o, int dirfd, struct git_result *res,
		       char *err, size_t errcap)
{
	struct fetch *f = calloc(1, sizeof *f);
	int rc;

	memset(res, 0, sizeof *res);
	if (!f)
		return git_seterr(err, errcap, -ENOMEM, "out of memory");
	f->o = o;
	f->fd = -1;
	f->err = err;
	f->errcap = errcap;
	git_limits_fix(&o->lim, &f->lim);
	hcl_sess_init(&f->sess);
	if (o->depth > GIT_MAX_DEPTH) {
		rc = git_seterr(err, errcap, -EINVAL, "git: depth over %u", GIT_MAX_DEPTH);
		goto out;
	}
	if (o->branch && o->branch[0] && !branch_ok(o->branch)) {
		rc = git_seterr(err, errcap, -EINVAL, "git: bad branch name");
		goto out;
	}
	snprintf(f->ref, sizeof f->ref, "%s%s", o->branch && o->branch[0] ? "refs/heads/" : "HEAD",
		 o->branch && o->branch[0] ? o->branch : "");
	f->depth = o->depth ? o->depth : 1;
	if ((rc = commit_opt(f)) < 0)
		goto out;
	if ((rc = ws_empty(dirfd)) < 0) {
		rc = git_seterr(err, errcap, rc, "git: the workspace is not an empty directory");
		goto out;
	}
	if (git_ssh_is_url(o->url))
		rc = ssh_discover(f, res);
	else if ((rc = setup(f)) == 0)
		rc = discover(f);
	if (rc < 0)
		goto out;
	res->protocol = f->adv.version;
	rc = o->commit ? fetch_commit(f, dirfd, res) : fetch_tip(f, dirfd, res);
out:
	hcl_sess_close(&f->sess);
	git_ssh_close(f->ssh);
	free(f->rb);
	if (f->fd >= 0)
		close(f->fd);
	wipe(f, sizeof *f);
	free(f);
	if (rc < 0)
		git_result_free(res);
	return rc;
}

void git_result_free(struct git_result *r)
{
	free(r->gitmodules);
	r->gitmodules = NULL;
	r->gitmodules_len = 0;
	free(r->subs);
	r->subs = NULL;
	r->nsubs = 0;
}
