/* SPDX-License-Identifier: MIT */
/*
 * git_proto: the wire side of git's smart protocol (contract in git.h):
 * pkt-lines, the info/refs advertisement (v2 capabilities, or the v0/v1 ref
 * list with its capabilities), v2 ls-refs answers, and the fetch response
 * (shallow info, acknowledgements, sections, side-band demultiplexing). Every
 * input is untrusted: lengths are parsed from exactly four hex digits and
 * checked against GIT_MAX_PKT before a byte is stored; text fields are
 * bounded; server messages are sanitised before they reach an error string.
 */
#include "git.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int git_seterr(char *err, size_t errcap, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	rc = util_verr(err, errcap, rc, fmt, ap);
	va_end(ap);
	return rc;
}

void git_sanitize(const uint8_t *p, size_t n, char *out, size_t cap)
{
	size_t k = 0;

	if (!cap)
		return;
	while (n && (p[n - 1] == '\n' || p[n - 1] == '\r' || p[n - 1] == ' '))
		n--;
	for (size_t i = 0; i < n && k + 1 < cap && k < GIT_MAX_MSG; i++)
		out[k++] = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '?';
	out[k] = 0;
}

void git_hex(const uint8_t oid[static GIT_OID_LEN], char out[static GIT_HEX_LEN + 1])
{
	static const char d[] = "0123456789abcdef";

	for (size_t i = 0; i < GIT_OID_LEN; i++) {
		out[2 * i] = d[oid[i] >> 4];
		out[2 * i + 1] = d[oid[i] & 15];
	}
	out[GIT_HEX_LEN] = 0;
}

static int lhex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int git_unhex(const char *hex, size_t n, uint8_t oid[static GIT_OID_LEN])
{
	if (n != GIT_HEX_LEN)
		return -EINVAL;
	for (size_t i = 0; i < GIT_OID_LEN; i++) {
		int h = lhex(hex[2 * i]), l = lhex(hex[2 * i + 1]);

		if (h < 0 || l < 0)
			return -EINVAL;
		oid[i] = (uint8_t)(h << 4 | l);
	}
	return 0;
}

/* ---- pkt-line -------------------------------------------------------------- */

int git_pkt_write(struct buf *b, const void *p, size_t n)
{
	char hd[5];
	int rc;

	if (n > GIT_MAX_PKT - 4)
		return -E2BIG;
	snprintf(hd, sizeof hd, "%04zx", n + 4);
	rc = buf_append(b, hd, 4);
	return rc ? rc : buf_append(b, p, n);
}

int git_pkt_printf(struct buf *b, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int k;

	va_start(ap, fmt);
	k = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (k < 0 || (size_t)k >= sizeof line)
		return -E2BIG;
	return git_pkt_write(b, line, (size_t)k);
}

int git_pkt_special(struct buf *b, enum git_pkt_kind k)
{
	static const char *const s[] = { "", "0000", "0001", "0002" };

	return k == GIT_PKT_DATA ? -EINVAL : buf_append(b, s[k], 4);
}

void git_pktr_init(struct git_pktr *r)
{
	r->hlen = r->need = r->have = 0;
}

int git_pktr_partial(const struct git_pktr *r)
{
	return r->hlen != 0;
}

static int pkt_len(const uint8_t h[4], size_t *len)
{
	size_t v = 0;

	for (int i = 0; i < 4; i++) {
		int d = h[i] >= '0' && h[i] <= '9' ? h[i] - '0' :
			h[i] >= 'a' && h[i] <= 'f' ? h[i] - 'a' + 10 :
			h[i] >= 'A' && h[i] <= 'F' ? h[i] - 'A' + 10 : -1;

		if (d < 0)
			return -EBADMSG;
		v = v << 4 | (size_t)d;
	}
	if (v == 3 || v > GIT_MAX_PKT)
		return -EBADMSG;
	*len = v;
	return 0;
}

int git_pktr_next(struct git_pktr *r, const uint8_t *p, size_t n, size_t *used,
		  enum git_pkt_kind *kind, const uint8_t **pl, size_t *pll)
{
	size_t off = 0, len, k;

	while (off < n) {
		if (r->hlen < 4) {
			k = 4 - r->hlen < n - off ? 4 - r->hlen : n - off;
			memcpy(r->hdr + r->hlen, p + off, k);
			r->hlen += k;
			off += k;
			if (r->hlen < 4)
				break;
			if (pkt_len(r->hdr, &len) < 0) {
				*used = off;
				return -EBADMSG;
			}
			if (len < 4) {
				r->hlen = 0;
				*used = off;
				*kind = len == 0 ? GIT_PKT_FLUSH : len == 1 ? GIT_PKT_DELIM : GIT_PKT_END;
				return 1;
			}
			r->need = len - 4;
			r->have = 0;
		}
		k = r->need - r->have < n - off ? r->need - r->have : n - off;
		memcpy(r->pl + r->have, p + off, k);
		r->have += k;
		off += k;
		if (r->have == r->need) {
			r->hlen = 0;
			*used = off;
			*kind = GIT_PKT_DATA;
			*pl = r->pl;
			*pll = r->have;
			return 1;
		}
	}
	/* an empty data pkt ("0004") completes with no payload bytes */
	if (r->hlen == 4 && r->need == 0) {
		r->hlen = 0;
		*used = off;
		*kind = GIT_PKT_DATA;
		*pl = r->pl;
		*pll = 0;
		return 1;
	}
	*used = off;
	return 0;
}

/* Payload without one trailing LF. */
static size_t chomp(const uint8_t *p, size_t n)
{
	return n && p[n - 1] == '\n' ? n - 1 : n;
}

static int starts(const uint8_t *p, size_t n, const char *lit)
{
	size_t k = strlen(lit);

	return n >= k && memcmp(p, lit, k) == 0;
}

static int is_err_pkt(const uint8_t *p, size_t n, char *err, size_t errcap)
{
	char msg[GIT_MAX_MSG + 1];

	if (!starts(p, n, "ERR "))
		return 0;
	git_sanitize(p + 4, n - 4, msg, sizeof msg);
	git_seterr(err, errcap, -EREMOTEIO, "the server said: %s", msg);
	return 1;
}

/* ---- the advertisement ----------------------------------------------------- */

enum { A_START, A_SERVICE_FLUSH, A_FIRST, A_V1, A_REFS, A_V2CAPS, A_END };

/* v0 ref line "<hex> <name>[\0caps]". */
static int adv_ref(struct git_adv *a, const uint8_t *p, size_t n, const char *ref, int first,
		   char *err, size_t errcap)
{
	const uint8_t *nul = memchr(p, 0, n);
	size_t rl = (nul ? (size_t)(nul - p) : n), nl;
	uint8_t oid[GIT_OID_LEN];
	const char *name = (const char *)p + GIT_HEX_LEN + 1;

	if (rl < GIT_HEX_LEN + 2 || p[GIT_HEX_LEN] != ' ' ||
	    git_unhex((const char *)p, GIT_HEX_LEN, oid) < 0)
		return git_seterr(err, errcap, -EBADMSG, "bad ref advertisement line");
	nl = rl - GIT_HEX_LEN - 1;
	if (nl > GIT_MAX_REFNAME || memchr(name, ' ', nl))
		return git_seterr(err, errcap, -EBADMSG, "bad ref name in the advertisement");
	if (nul && !first)
		return git_seterr(err, errcap, -EBADMSG, "capabilities after the first ref");
	if (nul) {
		size_t cl = n - rl - 1;

		if (cl >= sizeof a->caps)
			return git_seterr(err, errcap, -E2BIG, "capability list too long");
		memcpy(a->caps, nul + 1, cl);
		a->caps[cl] = 0;
		if (memchr(a->caps, 0, cl) || strchr(a->caps, '\n'))
			return git_seterr(err, errcap, -EBADMSG, "bad capability list");
	}
	a->nrefs++;
	if (nl == strlen(ref) && memcmp(name, ref, nl) == 0) {
		memcpy(a->oid, oid, GIT_OID_LEN);
		a->have_oid = 1;
	}
	if (nl == 4 && memcmp(name, "HEAD", 4) == 0) {
		memcpy(a->head_oid, oid, GIT_OID_LEN);
		a->have_head = 1;
	}
	return 0;
}

static int adv_v2cap(struct git_adv *a, const uint8_t *p, size_t n, char *err, size_t errcap)
{
	size_t have = strlen(a->caps);

	if (memchr(p, 0, n) || memchr(p, '\n', n) || n + 2 > sizeof a->caps - have)
		return git_seterr(err, errcap, -EBADMSG, "bad or too long capability advertisement");
	memcpy(a->caps + have, p, n);
	a->caps[have + n] = '\n';
	a->caps[have + n + 1] = 0;
	return 0;
}

/* The first pkt after the optional service line: a version or a ref. */
static int adv_first(struct git_adv *a, int *st, const uint8_t *p, size_t n, const char *ref,
		     char *err, size_t errcap)
{
	if (n == 9 && memcmp(p, "version 2", 9) == 0) {
		a->version = 2;
		*st = A_V2CAPS;
		return 0;
	}
	if (*st == A_FIRST && n == 9 && memcmp(p, "version 1", 9) == 0) {
		*st = A_V1;     /* then a v0 ref list */
		return 0;
	}
	if (starts(p, n, "version "))
		return git_seterr(err, errcap, -EPROTONOSUPPORT, "unknown protocol version");
	*st = A_REFS;
	return adv_ref(a, p, n, ref, 1, err, errcap);
}

static int adv_pkt(struct git_adv *a, int *st, enum git_pkt_kind k, const uint8_t *p, size_t n,
		   const char *ref, char *err, size_t errcap)
{
	if (k == GIT_PKT_DATA) {
		n = chomp(p, n);
		if (is_err_pkt(p, n, err, errcap))
			return -EREMOTEIO;
	}
	if (*st == A_START && k == GIT_PKT_DATA && n == 25 &&
	    memcmp(p, "# service=git-upload-pack", 25) == 0) {
		*st = A_SERVICE_FLUSH;
		return 0;
	}
	if (*st == A_START)
		*st = A_FIRST;
	switch (*st) {
	case A_SERVICE_FLUSH:
		if (k != GIT_PKT_FLUSH)
			return git_seterr(err, errcap, -EBADMSG, "no flush after the service line");
		*st = A_FIRST;
		return 0;
	case A_FIRST:
	case A_V1:
	case A_REFS:
	case A_V2CAPS:
		if (k == GIT_PKT_FLUSH) {
			*st = A_END;    /* (right at the start: a repository without refs) */
			return 0;
		}
		if (k != GIT_PKT_DATA)
			return git_seterr(err, errcap, -EBADMSG, "bad advertisement");
		if (*st == A_REFS)
			return adv_ref(a, p, n, ref, 0, err, errcap);
		if (*st == A_V2CAPS)
			return adv_v2cap(a, p, n, err, errcap);
		return adv_first(a, st, p, n, ref, err, errcap);
	default:
		return git_seterr(err, errcap, -EBADMSG, "data after the advertisement");
	}
}

/* "symref=HEAD:<target>" among the v0 capabilities. */
static void adv_head_target(struct git_adv *a)
{
	const char *c = a->caps;

	while ((c = strstr(c, "symref=HEAD:")) != NULL) {
		if (c == a->caps || c[-1] == ' ') {
			size_t k = strcspn(c + 12, " ");

			if (k < sizeof a->head_target) {
				memcpy(a->head_target, c + 12, k);
				a->head_target[k] = 0;
			}
			return;
		}
		c += 12;
	}
}

int git_adv_parse(const uint8_t *p, size_t n, const char *ref, struct git_adv *a,
		  char *err, size_t errcap)
{
	struct git_pktr *r = malloc(sizeof *r);
	size_t off = 0, used, pll = 0;
	const uint8_t *pl = NULL;
	enum git_pkt_kind k;
	int st = A_START, rc = 0;

	memset(a, 0, sizeof *a);
	if (!r)
		return git_seterr(err, errcap, -ENOMEM, "out of memory");
	git_pktr_init(r);
	while (rc == 0 && off < n) {
		rc = git_pktr_next(r, p + off, n - off, &used, &k, &pl, &pll);
		off += used;
		if (rc < 0)
			rc = git_seterr(err, errcap, -EBADMSG, "bad pkt-line in the advertisement");
		else if (rc == 1)
			rc = adv_pkt(a, &st, k, pl, pll, ref, err, errcap);
	}
	free(r);
	if (rc < 0)
		return rc;
	if (st != A_END)
		return git_seterr(err, errcap, -EBADMSG, "the advertisement is truncated");
	if (a->version == 0) {
		adv_head_target(a);
		if (strcmp(ref, "HEAD") == 0 && a->have_head) {
			memcpy(a->oid, a->head_oid, GIT_OID_LEN);
			a->have_oid = 1;
		}
	}
	return 0;
}

int git_cap(const struct git_adv *a, const char *name, const char **val, size_t *vlen)
{
	char sep = a->version == 2 ? '\n' : ' ';
	size_t nl = strlen(name);

	for (const char *c = a->caps; *c;) {
		size_t tl = strcspn(c, a->version == 2 ? "\n" : " ");

		if (tl >= nl && memcmp(c, name, nl) == 0 && (tl == nl || c[nl] == '=')) {
			if (val) {
				*val = tl == nl ? c + nl : c + nl + 1;
				*vlen = tl == nl ? 0 : tl - nl - 1;
			}
			return 1;
		}
		c += tl;
		while (*c == sep)
			c++;
	}
	return 0;
}

/* ---- ls-refs --------------------------------------------------------------- */

/* "<hex> <name>[ attr]*": 1 if it names ref (oid and symref-target taken). */
static int lsrefs_line(const uint8_t *p, size_t n, const char *ref, uint8_t *oid, char *symref,
		       size_t symcap)
{
	const char *s = (const char *)p, *name, *sp;
	size_t nl, rl = strlen(ref);

	if (n < GIT_HEX_LEN + 2 || s[GIT_HEX_LEN] != ' ' || memchr(s, 0, n))
		return -EBADMSG;
	name = s + GIT_HEX_LEN + 1;
	sp = memchr(name, ' ', n - GIT_HEX_LEN - 1);
	nl = sp ? (size_t)(sp - name) : n - GIT_HEX_LEN - 1;
	if (nl > GIT_MAX_REFNAME)
		return -EBADMSG;
	if (nl != rl || memcmp(name, ref, rl) != 0)
		return 0;
	if (git_unhex(s, GIT_HEX_LEN, oid) < 0)
		return -EBADMSG;        /* "unborn" or garbage */
	while (sp) {
		const char *a = sp + 1, *e = memchr(a, ' ', n - (size_t)(a - s));
		size_t al = e ? (size_t)(e - a) : n - (size_t)(a - s);

		if (al > 15 && memcmp(a, "symref-target:", 14) == 0 && al - 14 < symcap) {
			memcpy(symref, a + 14, al - 14);
			symref[al - 14] = 0;
		}
		sp = e;
	}
	return 1;
}

int git_lsrefs_parse(const uint8_t *p, size_t n, const char *ref, uint8_t oid[static GIT_OID_LEN],
		     char *symref, size_t symcap, char *err, size_t errcap)
{
	struct git_pktr *r = malloc(sizeof *r);
	size_t off = 0, used, pll = 0;
	const uint8_t *pl = NULL;
	enum git_pkt_kind k;
	int rc = 0, found = 0, ended = 0;

	if (symcap)
		symref[0] = 0;
	if (!r)
		return git_seterr(err, errcap, -ENOMEM, "out of memory");
	git_pktr_init(r);
	while (rc >= 0 && off < n && !ended) {
		rc = git_pktr_next(r, p + off, n - off, &used, &k, &pl, &pll);
		off += used;
		if (rc < 0) {
			rc = git_seterr(err, errcap, -EBADMSG, "bad pkt-line in the ls-refs answer");
		} else if (rc == 1 && k == GIT_PKT_FLUSH) {
			ended = 1;
		} else if (rc == 1 && k != GIT_PKT_DATA) {
			rc = git_seterr(err, errcap, -EBADMSG, "bad ls-refs answer");
		} else if (rc == 1) {
			pll = chomp(pl, pll);
			if (is_err_pkt(pl, pll, err, errcap)) {
				rc = -EREMOTEIO;
				break;
			}
			rc = lsrefs_line(pl, pll, ref, oid, symref, symcap);
			if (rc < 0)
				rc = git_seterr(err, errcap, -EBADMSG, "bad ls-refs line");
			found |= rc == 1;
		}
	}
	free(r);
	if (rc < 0)
		return rc;
	if (!ended || off != n)
		return git_seterr(err, errcap, -EBADMSG, "the ls-refs answer is truncated or "
				  "has trailing data");
	return found;
}

/* ---- the fetch response ---------------------------------------------------- */

enum { X_START, X_SECTION, X_SHALLOW, X_ACKS, X_WANTED, X_PACK, X_RAW, X_DONE, X_FAILED };

void git_rx_init(struct git_rx *x, int v2, int sideband, uint64_t max_pack, git_sink_fn sink,
		 void *ctx, char *err, size_t errcap)
{
	x->v2 = v2;
	x->sideband = v2 ? 1 : sideband;
	x->state = v2 ? X_SECTION : X_START;
	x->pack_bytes = 0;
	x->max_pack = max_pack;
	x->sink = sink;
	x->sink_ctx = ctx;
	x->err = err;
	x->errcap = errcap;
	git_pktr_init(&x->r);
}

static int rx_fail(struct git_rx *x, int rc)
{
	x->state = X_FAILED;
	return rc;
}

static int rx_data(struct git_rx *x, const uint8_t *p, size_t n)
{
	int rc;

	if (n > x->max_pack - x->pack_bytes)
		return git_seterr(x->err, x->errcap, -EFBIG, "the pack is over the limit of %llu "
				  "bytes", (unsigned long long)x->max_pack);
	x->pack_bytes += n;
	rc = x->sink(x->sink_ctx, p, n);
	return rc < 0 ? git_seterr(x->err, x->errcap, rc, "cannot store the pack: %s",
				   strerror(-rc)) : 0;
}

static int rx_band(struct git_rx *x, const uint8_t *p, size_t n)
{
	char msg[GIT_MAX_MSG + 1];

	if (n == 0)
		return git_seterr(x->err, x->errcap, -EBADMSG, "empty side-band packet");
	switch (p[0]) {
	case 1:
		return rx_data(x, p + 1, n - 1);
	case 2:
		return 0;       /* progress text: not shown */
	case 3:
		git_sanitize(p + 1, n - 1, msg, sizeof msg);
		return git_seterr(x->err, x->errcap, -EREMOTEIO, "the server reported an error: %s",
				  msg);
	default:
		return git_seterr(x->err, x->errcap, -EBADMSG, "unknown side-band %u", p[0]);
	}
}

static int shallow_line(const uint8_t *p, size_t n)
{
	uint8_t oid[GIT_OID_LEN];

	if (starts(p, n, "shallow "))
		return git_unhex((const char *)p + 8, n - 8, oid) == 0;
	if (starts(p, n, "unshallow "))
		return git_unhex((const char *)p + 10, n - 10, oid) == 0;
	return 0;
}

static int rx_section(struct git_rx *x, enum git_pkt_kind k, const uint8_t *p, size_t n)
{
	static const struct { const char *name; int st; } tab[] = {
		{ "shallow-info", X_SHALLOW }, { "acknowledgments", X_ACKS },
		{ "wanted-refs", X_WANTED }, { "packfile", X_PACK },
	};

	if (k == GIT_PKT_DATA)
		for (size_t i = 0; i < sizeof tab / sizeof *tab; i++)
			if (n == strlen(tab[i].name) && memcmp(p, tab[i].name, n) == 0) {
				x->state = tab[i].st;
				return 0;
			}
	return git_seterr(x->err, x->errcap, -EBADMSG, k == GIT_PKT_FLUSH ?
			  "the server sent no pack" : "unexpected section in the fetch response");
}

static int rx_pkt(struct git_rx *x, enum git_pkt_kind k, const uint8_t *p, size_t n)
{
	if (x->state == X_PACK) {
		if (k == GIT_PKT_FLUSH) {
			x->state = X_DONE;
			return 0;
		}
		if (k != GIT_PKT_DATA)
			return git_seterr(x->err, x->errcap, -EBADMSG, "bad packet in the pack stream");
		return rx_band(x, p, n);
	}
	if (k == GIT_PKT_DATA) {
		n = chomp(p, n);
		if (is_err_pkt(p, n, x->err, x->errcap))
			return -EREMOTEIO;
	}
	switch (x->state) {
	case X_START:           /* v0: shallow lines, a flush, then NAK or ACK */
		if (k == GIT_PKT_FLUSH || (k == GIT_PKT_DATA && shallow_line(p, n)))
			return 0;
		if (k == GIT_PKT_DATA && ((n == 3 && memcmp(p, "NAK", 3) == 0) || starts(p, n, "ACK "))) {
			x->state = x->sideband ? X_PACK : X_RAW;
			return 0;
		}
		break;
	case X_SECTION:
		return rx_section(x, k, p, n);
	case X_SHALLOW:
	case X_ACKS:
	case X_WANTED:
		if (k == GIT_PKT_DELIM) {
			x->state = X_SECTION;
			return 0;
		}
		if (k == GIT_PKT_DATA && (x->state != X_SHALLOW || shallow_line(p, n)))
			return 0;   /* acks and wanted-refs carry nothing we use */
		break;
	default:
		break;
	}
	return git_seterr(x->err, x->errcap, -EBADMSG, x->state == X_DONE ?
			  "data after the end of the pack" : "unexpected packet in the fetch response");
}

int git_rx_feed(struct git_rx *x, const uint8_t *p, size_t n)
{
	size_t off = 0, used, pll = 0;
	const uint8_t *pl = NULL;
	enum git_pkt_kind k;
	int rc;

	if (x->state == X_FAILED)
		return -EIO;
	while (off < n) {
		if (x->state == X_RAW)
			return (rc = rx_data(x, p + off, n - off)) < 0 ? rx_fail(x, rc) : 0;
		rc = git_pktr_next(&x->r, p + off, n - off, &used, &k, &pl, &pll);
		off += used;
		if (rc < 0)
			return rx_fail(x, git_seterr(x->err, x->errcap, -EBADMSG,
						     "bad pkt-line length in the fetch response"));
		if (rc == 1 && (rc = rx_pkt(x, k, pl, pll)) < 0)
			return rx_fail(x, rc);
	}
	return 0;
}

int git_rx_end(struct git_rx *x)
{
	if (x->state == X_FAILED)
		return -EIO;
	if (git_pktr_partial(&x->r))
		return git_seterr(x->err, x->errcap, -EPIPE, "the fetch response ends inside a "
				  "pkt-line (truncated)");
	if (x->state != X_DONE && x->state != X_RAW)
		return git_seterr(x->err, x->errcap, -EPIPE, "the fetch response ended before the "
				  "pack was complete");
	return 0;
}

int git_rx_done(const struct git_rx *x)
{
	return x->state == X_DONE;
}
