/* SPDX-License-Identifier: MIT */
/*
 * git_submod: GITHUB_RECURSE_SUBMODULES (contract in git.h). After the
 * superproject's checkout, every gitlink it recorded is matched by path to
 * an entry of the .gitmodules blob of the same commit (read from the tree
 * by git_checkout, never from the workspace), its URL is resolved as git
 * resolves it (relative "./" and "../" against the superproject's URL) and
 * exactly the gitlink's commit is fetched and checked out into the gitlink's
 * empty directory, which is opened component by component with O_NOFOLLOW
 * below the workspace fd. Then the same for the submodule's own gitlinks,
 * up to GIT_MAX_SUBMODULE_DEPTH. The .gitmodules parser is a bounded subset
 * of git's config format: untrusted bytes, fuzzed by
 * tests/fuzz/fuzz_gitmodules.c. Credentials: the superproject's user and
 * password go only to a submodule with the same scheme, host and port, the
 * SSH deploy key only to the same SSH host (as hcl sends Basic auth only to
 * the origin of the first request); URLs are recorded and reported without
 * them.
 */
#include "git.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "hcl.h"

/* ---- the .gitmodules parser ------------------------------------------------ */

struct gmp {
	const uint8_t *p;
	size_t n, i;
	unsigned line;
	char *err;
	size_t errcap;
	struct git_gm_entry *e;     /* entries so far */
	size_t ne;
	long cur;                   /* the current [submodule] entry, or -1 */
	int in_other;               /* inside another section: keys are skipped */
};

static int gm_fail(struct gmp *g, const char *what)
{
	return git_seterr(g->err, g->errcap, -EBADMSG, ".gitmodules line %u: %s", g->line, what);
}

static int peek(const struct gmp *g)
{
	return g->i < g->n ? g->p[g->i] : -1;
}

static void skip_blank(struct gmp *g)
{
	while (peek(g) == ' ' || peek(g) == '\t' || peek(g) == '\r')
		g->i++;
}

/* After a header or a value: only blanks, then a comment or the line's end. */
static int line_end(struct gmp *g)
{
	skip_blank(g);
	if (peek(g) == '#' || peek(g) == ';')
		while (peek(g) != -1 && peek(g) != '\n')
			g->i++;
	if (peek(g) == -1)
		return 0;
	if (peek(g) != '\n')
		return gm_fail(g, "unexpected text after the section header");
	g->i++;
	g->line++;
	return 0;
}

/* The entry for section name, made if new (a repeated section adds to it). */
static int entry_for(struct gmp *g, const char *name)
{
	struct git_gm_entry *n;

	for (size_t k = 0; k < g->ne; k++)
		if (strcmp(g->e[k].name, name) == 0) {
			g->cur = (long)k;
			return 0;
		}
	if (g->ne >= GIT_MAX_SUBMODULES)
		return gm_fail(g, "too many submodules");
	if (!(n = realloc(g->e, (g->ne + 1) * sizeof *n)))
		return git_seterr(g->err, g->errcap, -ENOMEM, "out of memory");
	g->e = n;
	memset(&n[g->ne], 0, sizeof *n);
	snprintf(n[g->ne].name, sizeof n[g->ne].name, "%s", name);
	g->cur = (long)g->ne++;
	return 0;
}

/* "[name]", "[name.sub]" or "[name \"sub\"]"; only submodule "x" is kept. */
static int header(struct gmp *g)
{
	char sec[64], sub[GIT_MAX_SUBMODULE_NAME + 1];
	size_t sl = 0, bl = 0;
	int c, quoted = 0;

	g->i++;
	while ((c = peek(g)) != -1 && (c == '-' || c == '.' || (c >= '0' && c <= '9') ||
				       ((c | 0x20) >= 'a' && (c | 0x20) <= 'z'))) {
		if (sl + 1 >= sizeof sec)
			return gm_fail(g, "section name too long");
		sec[sl++] = (char)(c | (c >= 'A' && c <= 'Z' ? 0x20 : 0));
		g->i++;
	}
	sec[sl] = 0;
	if (sl == 0)
		return gm_fail(g, "bad section header");
	if (peek(g) == ' ' || peek(g) == '\t') {
		skip_blank(g);
		if (peek(g) != '"')
			return gm_fail(g, "bad section header");
		g->i++;
		quoted = 1;
		while ((c = peek(g)) != '"') {
			if (c == -1 || c == '\n' || c == 0)
				return gm_fail(g, "unterminated subsection name");
			if (c == '\\' && ++g->i < g->n && (c = peek(g)) == '\n')
				return gm_fail(g, "unterminated subsection name");
			if (bl >= GIT_MAX_SUBMODULE_NAME)
				return gm_fail(g, "submodule name too long");
			sub[bl++] = (char)c;
			g->i++;
		}
		g->i++;
		sub[bl] = 0;
	}
	if (peek(g) != ']')
		return gm_fail(g, "bad section header");
	g->i++;
	g->cur = -1;
	g->in_other = 1;
	if (quoted && strcmp(sec, "submodule") == 0) {
		int rc = entry_for(g, sub);
		if (rc < 0)
			return rc;
		g->in_other = 0;
	}
	return line_end(g);
}

/* A value: up to the line's end or a comment outside quotes; escapes \\ \"
 * \n \t \b; a backslash at the line's end continues it; unquoted blanks at
 * either end are dropped. */
static int value(struct gmp *g, char *out, size_t cap)
{
	size_t o = 0, keep = 0;
	int c, q = 0;

	skip_blank(g);
	while ((c = peek(g)) != -1 && !(c == '\n' && !q) && !((c == '#' || c == ';') && !q)) {
		g->i++;
		if (c == 0)
			return gm_fail(g, "a NUL byte");
		if (c == '\n')
			return gm_fail(g, "unterminated quote");
		if (c == '"') {
			q = !q;
			continue;
		}
		if (c == '\\') {
			static const char esc[] = "\\\\\"\"n\nt\tb\b";
			const char *m;

			c = peek(g);
			g->i++;
			if (c == '\n') {
				g->line++;
				continue;
			}
			if (c <= 0 || !(m = strchr(esc, c)) || (m - esc) % 2)
				return gm_fail(g, "bad escape in a value");
			c = m[1];
			keep = o + 1;
		} else if (q || (c != ' ' && c != '\t' && c != '\r'))
			keep = o + 1;
		else if (o == 0)
			continue;
		else
			c = ' ';        /* git keeps inner blanks as spaces */
		if (o + 1 >= cap)
			return gm_fail(g, "value too long");
		out[o++] = (char)c;
	}
	if (q)
		return gm_fail(g, "unterminated quote");
	out[keep] = 0;
	while (peek(g) != -1 && peek(g) != '\n')
		g->i++;
	return 0;
}

static int keep_key(struct gmp *g, const char *key, const char *val)
{
	struct git_gm_entry *e = &g->e[g->cur];
	char *dst = NULL;
	size_t cap = 0;

	if (strcmp(key, "path") == 0)
		dst = e->path, cap = sizeof e->path;
	else if (strcmp(key, "url") == 0)
		dst = e->url, cap = sizeof e->url;
	else if (strcmp(key, "branch") == 0)
		dst = e->branch, cap = sizeof e->branch;
	if (!dst)
		return 0;
	if (strlen(val) >= cap)
		return gm_fail(g, "value too long");
	memcpy(dst, val, strlen(val) + 1);     /* a later line wins, as in git */
	return 0;
}

/* "key = value" or a bare "key" (true); path, url and branch are kept. */
static int keyval(struct gmp *g)
{
	char key[64], *val = malloc(GIT_MAX_PATH + HCL_MAX_URL);
	size_t kl = 0;
	int c, rc = 0;

	if (!val)
		return git_seterr(g->err, g->errcap, -ENOMEM, "out of memory");
	val[0] = 0;
	while ((c = peek(g)) != -1 && (c == '-' || (c >= '0' && c <= '9') ||
				       ((c | 0x20) >= 'a' && (c | 0x20) <= 'z'))) {
		if (kl + 1 >= sizeof key) {
			rc = gm_fail(g, "key too long");
			goto out;
		}
		key[kl++] = (char)(c | (c >= 'A' && c <= 'Z' ? 0x20 : 0));
		g->i++;
	}
	key[kl] = 0;
	if (kl == 0 || !((key[0] | 0x20) >= 'a' && (key[0] | 0x20) <= 'z')) {
		rc = gm_fail(g, "not a key, a section header or a comment");
		goto out;
	}
	if (g->cur < 0 && !g->in_other) {
		rc = gm_fail(g, "a key before any section");
		goto out;
	}
	skip_blank(g);
	if (peek(g) == '=') {
		g->i++;
		rc = value(g, val, GIT_MAX_PATH + HCL_MAX_URL);
	} else if (peek(g) != -1 && peek(g) != '\n' && peek(g) != '#' && peek(g) != ';')
		rc = gm_fail(g, "'=' expected after the key");
	if (rc == 0 && g->cur >= 0)
		rc = keep_key(g, key, val);
out:
	free(val);
	return rc;
}

/* git's rules for a submodule's name (no ".." component: CVE-2018-11235)
 * and ours for its path: relative, no "." ".." ".git" or empty component,
 * not starting with '-', no control byte. */
static int name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || strcmp(s, "..") == 0 || strncmp(s, "../", 3) == 0 ||
	    (n >= 3 && strcmp(s + n - 3, "/..") == 0) || strstr(s, "/../"))
		return 0;
	for (const char *c = s; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f || *c == '\\')
			return 0;
	return 1;
}

static int path_ok(const char *s)
{
	const char *c = s;

	if (!*s || *s == '-' || *s == '/')
		return 0;
	while (*c) {
		size_t l = strcspn(c, "/");

		if (l == 0 || (l == 1 && c[0] == '.') || (l == 2 && c[0] == '.' && c[1] == '.') ||
		    (l == 4 && strncasecmp(c, ".git", 4) == 0))
			return 0;
		for (size_t k = 0; k < l; k++)
			if ((unsigned char)c[k] < 0x20 || c[k] == 0x7f)
				return 0;
		c += l;
		if (*c == '/' && !*++c)
			return 0;
	}
	return 1;
}

/* Entries without a path are dropped (git cannot match them); names and
 * paths are checked; two entries with one path are refused. */
static int gm_check(struct gmp *g)
{
	char shown[GIT_MAX_MSG + 1];
	size_t k = 0;

	for (size_t i = 0; i < g->ne; i++) {
		struct git_gm_entry *e = &g->e[i];

		git_sanitize((const uint8_t *)e->name, strlen(e->name), shown, sizeof shown);
		if (!name_ok(e->name))
			return git_seterr(g->err, g->errcap, -EBADMSG, ".gitmodules: the submodule "
					  "name \"%s\" is refused (empty, \"..\" or a control byte)",
					  shown);
		if (!e->path[0])
			continue;
		if (!path_ok(e->path))
			return git_seterr(g->err, g->errcap, -EBADMSG, ".gitmodules: submodule \"%s\": "
					  "path refused (absolute, '-' first, \".\", \"..\", \".git\" or "
					  "an empty component)", shown);
		for (size_t j = 0; j < k; j++)
			if (strcmp(g->e[j].path, e->path) == 0)
				return git_seterr(g->err, g->errcap, -EBADMSG, ".gitmodules: two "
						  "submodules with the path of \"%s\"", shown);
		if (k != i)
			g->e[k] = *e;
		k++;
	}
	g->ne = k;
	return 0;
}

int git_gitmodules_parse(const uint8_t *p, size_t n, struct git_gm_entry **out, size_t *count,
			 char *err, size_t errcap)
{
	struct gmp g = { .p = p, .n = n, .line = 1, .err = err, .errcap = errcap, .cur = -1 };
	int rc = 0;

	*out = NULL;
	*count = 0;
	if (n > GIT_MAX_GITMODULES)
		return git_seterr(err, errcap, -EFBIG, ".gitmodules is over %u bytes",
				  GIT_MAX_GITMODULES);
	if (n >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
		g.i = 3;            /* a UTF-8 BOM, which git skips too */
	while (rc == 0 && g.i < g.n) {
		int c;

		skip_blank(&g);
		c = peek(&g);
		if (c == '\n') {
			g.i++;
			g.line++;
		} else if (c == '#' || c == ';') {
			while (peek(&g) != -1 && peek(&g) != '\n')
				g.i++;
		} else if (c == '[')
			rc = header(&g);
		else if (c != -1)
			rc = keyval(&g);
	}
	if (rc == 0)
		rc = gm_check(&g);
	if (rc < 0) {
		free(g.e);
		return rc;
	}
	*out = g.e;
	*count = g.ne;
	return 0;
}

/* ---- URLs -------------------------------------------------------------------- */

/* A URL for messages: printable, userinfo of scheme://user:pw@host removed. */
static void url_shown(const char *url, char *out, size_t cap)
{
	const char *s = strstr(url, "://"), *at = s ? strchr(s + 3, '@') : NULL;
	const char *sl = s ? strchr(s + 3, '/') : NULL;
	char tmp[HCL_MAX_URL + 1];

	if (at && (!sl || at < sl))
		snprintf(tmp, sizeof tmp, "%.*s%s", (int)(s + 3 - url), url, at + 1);
	else
		snprintf(tmp, sizeof tmp, "%s", url);
	git_sanitize((const uint8_t *)tmp, strlen(tmp), out, cap);
	wipe(tmp, sizeof tmp);
}

static int url_fail(char *err, size_t errcap, const char *url, const char *why)
{
	char shown[GIT_MAX_MSG + 1];

	url_shown(url, shown, sizeof shown);
	return git_seterr(err, errcap, -EINVAL, "submodule URL \"%s\" refused: %s", shown, why);
}

/* An absolute URL we fetch from: http(s)://, ssh:// or scp-like. */
static int absolute_ok(const char *u, char *err, size_t errcap)
{
	struct git_ssh_url su;
	struct hcl_url hu;
	int rc;

	if (u[0] == '-')
		return url_fail(err, errcap, u, "it starts with '-' (an option)");
	if (strstr(u, "::"))
		return url_fail(err, errcap, u, "a transport helper (\"<name>::\")");
	for (const char *c = u; *c; c++)
		if ((unsigned char)*c <= 0x20 || *c == 0x7f || *c == '\\')
			return url_fail(err, errcap, u, "whitespace, a backslash or a control byte");
	if (strncmp(u, "https://", 8) == 0 || strncmp(u, "http://", 7) == 0) {
		rc = hcl_url_parse(u, &hu);
		hcl_url_wipe(&hu);
		return rc < 0 ? url_fail(err, errcap, u, "not a valid http(s) URL") : 0;
	}
	if (strstr(u, "://") && strncmp(u, "ssh://", 6) != 0)
		return url_fail(err, errcap, u, "only https://, http://, ssh:// and host:path are "
				"fetched (no file://, git:// or local paths)");
	if (!git_ssh_is_url(u))
		return url_fail(err, errcap, u, "a local path (only https://, http://, ssh:// and "
				"host:path are fetched)");
	if (git_ssh_parse_url(u, &su, NULL, 0) < 0)
		return url_fail(err, errcap, u, "not a valid SSH URL (user, host, port or path)");
	return 0;
}

/* Where base's path starts: after "scheme://authority" or the scp-like
 * "host:". */
static size_t path_start(const char *base)
{
	const char *s = strstr(base, "://");

	if (s) {
		const char *sl = strchr(s + 3, '/');
		return sl ? (size_t)(sl - base) : strlen(base);
	}
	return (size_t)(strchr(base, ':') - base) + 1;
}

int git_submodule_url(const char *base, const char *url, char *out, size_t cap, char *err,
		      size_t errcap)
{
	char b[HCL_MAX_URL + 1];
	size_t ps, bl;
	const char *r = url;
	int slash;

	if (strncmp(url, "./", 2) != 0 && strncmp(url, "../", 3) != 0) {
		if (absolute_ok(url, err, errcap) < 0)
			return -EINVAL;
		if (strlen(url) >= cap)
			return url_fail(err, errcap, url, "too long");
		memcpy(out, url, strlen(url) + 1);
		return 0;
	}
	if (!base || strlen(base) >= sizeof b || absolute_ok(base, NULL, 0) < 0)
		return url_fail(err, errcap, url, "relative, and the superproject's URL is not one "
				"it can be resolved against");
	memcpy(b, base, strlen(base) + 1);
	ps = path_start(b);
	bl = strlen(b);
	while (bl > ps && b[bl - 1] == '/')
		b[--bl] = 0;
	/* between what is left and the rest: '/', except after a bare "host:" */
	slash = strstr(b, "://") || b[ps] == '/';
	for (;;) {
		if (strncmp(r, "./", 2) == 0)
			r += 2;
		else if (strncmp(r, "../", 3) == 0) {
			if (bl <= ps + (b[ps] == '/'))
				return url_fail(err, errcap, url, "its \"../\" climb above the host");
			while (bl > ps && b[bl - 1] != '/')
				bl--;
			while (bl > ps && b[bl - 1] == '/')
				bl--;
			b[bl] = 0;
			r += 3;
		} else
			break;
	}
	if (!*r || strcmp(r, "..") == 0 || strcmp(r, ".") == 0 || strstr(r, "/../") ||
	    strncmp(r, "../", 3) == 0 || (strlen(r) >= 3 && strcmp(r + strlen(r) - 3, "/..") == 0))
		return url_fail(err, errcap, url, "empty, or \"..\" inside the path");
	if (snprintf(out, cap, "%s%s%s", b, slash || bl > ps ? "/" : "", r) >= (int)cap)
		return url_fail(err, errcap, url, "too long once resolved");
	return absolute_ok(out, err, errcap);
}

int git_same_origin(const char *a, const char *b)
{
	struct hcl_url *ua, *ub;
	struct git_ssh_url sa, sb;
	int same = 0;

	if (git_ssh_is_url(a) || git_ssh_is_url(b))
		return git_ssh_is_url(a) && git_ssh_is_url(b) &&
		       git_ssh_parse_url(a, &sa, NULL, 0) == 0 &&
		       git_ssh_parse_url(b, &sb, NULL, 0) == 0 && strcasecmp(sa.host, sb.host) == 0;
	ua = malloc(sizeof *ua);
	ub = malloc(sizeof *ub);
	if (ua && ub && hcl_url_parse(a, ua) == 0 && hcl_url_parse(b, ub) == 0)
		same = ua->tls == ub->tls && strcasecmp(ua->host, ub->host) == 0 &&
		       strcmp(ua->port, ub->port) == 0;
	if (ua) {
		hcl_url_wipe(ua);
		free(ua);
	}
	if (ub) {
		hcl_url_wipe(ub);
		free(ub);
	}
	return same;
}

/* ---- fetching them ------------------------------------------------------------ */

struct sm {
	const struct git_fetch_opts *super;
	struct git_result *res;     /* the superproject's: every submodule is listed here */
	git_sub_log_fn log;
	void *ctx;
	char base[HCL_MAX_URL + 1]; /* the superproject's URL without credentials */
	char user[HCL_MAX_CRED + 1];        /* SECRET: the superproject's credentials */
	char pass[HCL_MAX_CRED + 1];        /* SECRET */
	int have_cred;
	uint64_t pack_left;         /* what all the fetches together may still use */
	uint64_t bytes_left;
	size_t entries_left;
	char *err;
	size_t errcap;
};

/* The URL without credentials (http(s)); SSH URLs cannot carry a password. */
static int strip_cred(const char *url, char *out, size_t cap, char *user, char *pass, int *have)
{
	struct hcl_url *u;
	int rc;

	if (git_ssh_is_url(url))
		return snprintf(out, cap, "%s", url) >= (int)cap ? -E2BIG : 0;
	if (!(u = malloc(sizeof *u)))
		return -ENOMEM;
	rc = hcl_url_parse(url, u);
	if (rc == 0 && user && u->has_userinfo) {
		memcpy(user, u->user, HCL_MAX_CRED + 1);
		memcpy(pass, u->pass, HCL_MAX_CRED + 1);
		*have = 1;
	}
	u->has_userinfo = 0;
	if (rc == 0 && hcl_url_format(u, out, cap) < 0)
		rc = -E2BIG;
	hcl_url_wipe(u);
	free(u);
	return rc;
}

/* dir (a path below wsfd) opened one component at a time, never through a
 * symlink. */
static int open_below(int wsfd, const char *path)
{
	char comp[256];
	int fd = dup(wsfd), e = errno;

	while (fd >= 0 && *path) {
		size_t l = strcspn(path, "/");
		int nfd;

		if (l == 0 || l >= sizeof comp) {
			close(fd);
			return -EINVAL;
		}
		memcpy(comp, path, l);
		comp[l] = 0;
		nfd = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		e = errno;
		close(fd);
		fd = nfd;
		path += l + (path[l] == '/');
	}
	return fd < 0 ? -e : fd;
}

/* The slot of res->subs for this submodule: a gitlink of the superproject
 * is there already (git_checkout listed it), a nested one is appended. */
static long slot(struct sm *m, const char *path, const char *oid, unsigned depth)
{
	struct git_result *r = m->res;
	struct git_submodule *n;

	if (depth == 1)
		for (size_t i = 0; i < r->nsubs; i++)
			if (r->subs[i].depth <= 1 && strcmp(r->subs[i].path, path) == 0)
				return (long)i;
	if (r->nsubs >= GIT_MAX_SUBMODULES)
		return git_seterr(m->err, m->errcap, -E2BIG, "git: more than %u submodules in all",
				  GIT_MAX_SUBMODULES);
	if (!(n = realloc(r->subs, (r->nsubs + 1) * sizeof *n)))
		return git_seterr(m->err, m->errcap, -ENOMEM, "out of memory");
	r->subs = n;
	memset(&n[r->nsubs], 0, sizeof *n);
	snprintf(n[r->nsubs].path, sizeof n->path, "%s", path);
	snprintf(n[r->nsubs].oid, sizeof n->oid, "%s", oid);
	return (long)r->nsubs++;
}

/* The options for one submodule: the superproject's, with credentials
 * only for the same origin and the pack budget left. */
static void sub_opts(const struct sm *m, const char *url, const struct git_gm_entry *e,
		     const char *oid, struct git_fetch_opts *o)
{
	char tmp[HCL_MAX_URL + 1], u[HCL_MAX_CRED + 1], p[HCL_MAX_CRED + 1];
	int own = 0;

	/* a URL with its own userinfo (from .gitmodules) keeps it */
	if (!git_ssh_is_url(url))
		strip_cred(url, tmp, sizeof tmp, u, p, &own);
	wipe(u, sizeof u);
	wipe(p, sizeof p);

	*o = *m->super;
	o->url = url;
	o->commit = oid;
	o->branch = e->branch[0] && strcmp(e->branch, ".") ? e->branch : NULL;
	o->depth = 0;
	o->user = o->password = NULL;
	if (!own && m->have_cred && git_same_origin(url, m->base)) {
		o->user = m->user;
		o->password = m->pass;
	}
	if (!(git_ssh_is_url(url) && git_ssh_is_url(m->base) && git_same_origin(url, m->base))) {
		o->ssh_key = NULL;
		o->ssh_key_len = 0;
	}
	o->lim.max_pack = m->pack_left;
	o->lim.max_entries = m->entries_left;
	o->lim.max_checkout = m->bytes_left;
}

static const struct git_gm_entry *gm_find(const struct git_gm_entry *e, size_t n, const char *path)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(e[i].path, path) == 0)
			return &e[i];
	return NULL;
}

static int level(struct sm *m, int wsfd, const char *base, const struct git_result *r,
		 const char *prefix, unsigned depth);

/* One gitlink gl of the project at prefix (whose URL is base). */
static int one(struct sm *m, int wsfd, const char *base, const struct git_gm_entry *e,
	       const struct git_submodule *gl, const char *prefix, unsigned depth)
{
	char full[GIT_MAX_PATH], url[HCL_MAX_URL + 1], shown[HCL_MAX_URL + 1];
	char e2[1024];
	struct git_fetch_opts o;
	struct git_result r2;
	struct git_submodule *s;
	long i;
	int fd, rc;

	if (snprintf(full, sizeof full, "%s%s%s", prefix, *prefix ? "/" : "", gl->path) >=
	    (int)sizeof full)
		return git_seterr(m->err, m->errcap, -ENAMETOOLONG, "git: submodule path too long");
	if (git_submodule_url(base, e->url, url, sizeof url, e2, sizeof e2) < 0 ||
	    strip_cred(url, shown, sizeof shown, NULL, NULL, NULL) < 0)
		return git_seterr(m->err, m->errcap, -EINVAL, "git: submodule %s: %s", full, e2);
	if ((i = slot(m, full, gl->oid, depth)) < 0)
		return (int)i;
	s = &m->res->subs[i];
	snprintf(s->name, sizeof s->name, "%s", e->name);
	snprintf(s->url, sizeof s->url, "%s", shown);
	s->depth = depth;
	if (m->log)
		m->log(m->ctx, s);
	if (!m->pack_left || !m->entries_left || !m->bytes_left)
		return git_seterr(m->err, m->errcap, -EFBIG, "git: submodule %s: the limits of the "
				  "whole checkout (pack bytes, entries or bytes written) are used up",
				  full);
	sub_opts(m, url, e, gl->oid, &o);
	if ((fd = open_below(wsfd, full)) < 0)
		return git_seterr(m->err, m->errcap, fd, "git: submodule %s: its directory cannot be "
				  "opened: %s", full, strerror(-fd));
	rc = git_fetch_checkout(&o, fd, &r2, e2, sizeof e2);
	close(fd);
	wipe(url, sizeof url);
	if (rc < 0)
		return git_seterr(m->err, m->errcap, rc, "git: submodule %s (%s) at %s: %s", full, shown,
				  gl->oid, strncmp(e2, "git: ", 5) ? e2 : e2 + 5);
	m->pack_left -= r2.pack_bytes < m->pack_left ? r2.pack_bytes : m->pack_left;
	m->entries_left -= r2.entries < m->entries_left ? r2.entries : m->entries_left;
	m->bytes_left -= r2.checkout_bytes < m->bytes_left ? r2.checkout_bytes : m->bytes_left;
	s = &m->res->subs[i];
	s->fetched = 1;
	s->protocol = r2.protocol;
	s->pack_bytes = r2.pack_bytes;
	s->searched = r2.searched;
	if (m->log)
		m->log(m->ctx, s);
	if (r2.nsubs && depth >= GIT_MAX_SUBMODULE_DEPTH)
		rc = git_seterr(m->err, m->errcap, -ELOOP, "git: submodule %s has submodules nested "
				"deeper than %u", full, GIT_MAX_SUBMODULE_DEPTH);
	else if (r2.nsubs)
		rc = level(m, wsfd, shown, &r2, full, depth + 1);
	git_result_free(&r2);
	return rc;
}

/* Every gitlink of r (checked out at prefix, URL base). */
static int level(struct sm *m, int wsfd, const char *base, const struct git_result *r,
		 const char *prefix, unsigned depth)
{
	struct git_gm_entry *ents = NULL;
	struct git_submodule *gl;
	const struct git_gm_entry *e;
	size_t ne = 0, n = r->nsubs;
	char where[GIT_MAX_PATH + 32], e2[512];
	int rc = 0;

	if (n == 0)
		return 0;
	snprintf(where, sizeof where, "%s%s", *prefix ? "the submodule " : "the repository",
		 prefix);
	if (r->gitmodules_err)
		return git_seterr(m->err, m->errcap, -EBADMSG, "git: .gitmodules of %s is %s", where,
				  r->gitmodules_err == -ELOOP ? "a symlink (refused)" :
				  r->gitmodules_err == -EFBIG ? "too large" : "unreadable");
	if (!r->gitmodules)
		return git_seterr(m->err, m->errcap, -ENOENT, "git: %s has gitlinks but no "
				  ".gitmodules", where);
	if ((rc = git_gitmodules_parse(r->gitmodules, r->gitmodules_len, &ents, &ne, e2,
				       sizeof e2)) < 0)
		return git_seterr(m->err, m->errcap, rc, "git: %s: %s", where, e2);
	/* a copy: the nested levels append to m->res->subs, which may be r->subs */
	if (!(gl = malloc(n * sizeof *gl))) {
		free(ents);
		return git_seterr(m->err, m->errcap, -ENOMEM, "out of memory");
	}
	memcpy(gl, r->subs, n * sizeof *gl);
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (!(e = gm_find(ents, ne, gl[i].path)))
			rc = git_seterr(m->err, m->errcap, -ENOENT, "git: the gitlink %s%s%s has no "
					"entry in the .gitmodules of %s", prefix, *prefix ? "/" : "",
					gl[i].path, where);
		else if (!e->url[0])
			rc = git_seterr(m->err, m->errcap, -ENOENT, "git: the submodule %s%s%s has no "
					"url in .gitmodules", prefix, *prefix ? "/" : "", gl[i].path);
		else
			rc = one(m, wsfd, base, e, &gl[i], prefix, depth);
	}
	free(gl);
	free(ents);
	return rc;
}

int git_submodules_checkout(const struct git_fetch_opts *super, int wsfd, struct git_result *res,
			    git_sub_log_fn log, void *ctx, char *err, size_t errcap)
{
	struct sm *m;
	struct git_limits lim;
	uint64_t used = res->pack_bytes;
	int rc;

	if (res->nsubs == 0)
		return 0;
	if (!(m = calloc(1, sizeof *m)))
		return git_seterr(err, errcap, -ENOMEM, "out of memory");
	m->super = super;
	m->res = res;
	m->log = log;
	m->ctx = ctx;
	m->err = err;
	m->errcap = errcap;
	git_limits_fix(&super->lim, &lim);
	m->pack_left = used < lim.max_pack ? lim.max_pack - used : 0;
	m->entries_left = res->entries < lim.max_entries ? lim.max_entries - res->entries : 0;
	m->bytes_left = res->checkout_bytes < lim.max_checkout ? lim.max_checkout -
			res->checkout_bytes : 0;
	rc = strip_cred(super->url, m->base, sizeof m->base, m->user, m->pass, &m->have_cred);
	if (rc == 0 && super->user) {
		snprintf(m->user, sizeof m->user, "%s", super->user);
		snprintf(m->pass, sizeof m->pass, "%s", super->password ? super->password : "");
		m->have_cred = 1;
	}
	if (rc < 0)
		rc = git_seterr(err, errcap, rc, "git: the repository URL cannot be read");
	else
		rc = level(m, wsfd, m->base, res, "", 1);
	wipe(m, sizeof *m);
	free(m);
	return rc;
}
