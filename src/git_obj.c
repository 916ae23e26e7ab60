/* SPDX-License-Identifier: MIT */
/*
 * git_obj: the object store over one scanned pack (contract in git.h), delta
 * application, and commit and tree parsing. The store keeps no object data of
 * its own beyond a bounded cache: an object is inflated from the pack (and
 * its delta chain applied) when asked for, and its SHA-1 is computed again
 * before it is handed out. Ids are looked up in an open-addressing table
 * keyed with a per-store random seed, so a server cannot choose ids that
 * collide into long probe runs. Delta chains are bounded by max_depth, which
 * also bounds the recursion and the number of resolution passes: a REF delta
 * whose base is itself an unresolved delta waits for a later pass, and what
 * is unresolved after max_depth + 1 passes has a missing base or a cycle.
 */
#include "git.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cry.h"

#define CACHE_SLOTS   1024
#define CACHE_ONE_MAX (GIT_CACHE_BYTES / 16)

struct cslot {
	uint32_t idx;
	uint8_t used;
	uint8_t type;
	uint8_t chain;
	uint8_t *data;
	size_t len;
};

struct git_store {
	const uint8_t *pack;
	size_t len;
	struct git_limits lim;
	struct git_pent *ents;
	size_t n;
	uint32_t *tab;              /* entry index + 1; 0 = empty */
	size_t tmask;
	uint64_t seed;
	struct cslot cache[CACHE_SLOTS];
	size_t cache_bytes;
};

const struct git_limits *git_store_limits(const struct git_store *s)
{
	return &s->lim;
}

const char *git_type_name(enum git_type t)
{
	switch (t) {
	case GIT_COMMIT: return "commit";
	case GIT_TREE: return "tree";
	case GIT_BLOB: return "blob";
	case GIT_TAG: return "tag";
	case GIT_OFS_DELTA: return "ofs-delta";
	case GIT_REF_DELTA: return "ref-delta";
	}
	return "unknown";
}

void git_obj_hash(enum git_type t, const uint8_t *data, size_t len, uint8_t oid[static GIT_OID_LEN])
{
	struct cry_sha1 h;
	char hd[40];
	int k = snprintf(hd, sizeof hd, "%s %zu", git_type_name(t), len);

	cry_sha1_init(&h);
	cry_sha1_update(&h, hd, (size_t)k + 1);
	cry_sha1_update(&h, data, len);
	cry_sha1_final(&h, oid);
}

/* ---- deltas ---------------------------------------------------------------- */

/* Little-endian base-128 size at the start of a delta. */
static int delta_size(const uint8_t *d, size_t n, size_t *off, uint64_t *v)
{
	unsigned shift = 0;
	uint8_t c;

	*v = 0;
	do {
		if (*off >= n || shift > 63)
			return -EBADMSG;
		c = d[(*off)++];
		*v |= (uint64_t)(c & 0x7f) << shift;
		shift += 7;
	} while (c & 0x80);
	return 0;
}

/* A copy op: which of the 4 offset bytes and 3 size bytes follow is in op. */
static int copy_op(uint8_t op, const uint8_t *d, size_t n, size_t *off, uint64_t *cofs, uint64_t *csz)
{
	*cofs = 0;
	*csz = 0;
	for (unsigned b = 0; b < 7; b++) {
		if (!(op & (1u << b)))
			continue;
		if (*off >= n)
			return -EBADMSG;
		if (b < 4)
			*cofs |= (uint64_t)d[(*off)++] << (8 * b);
		else
			*csz |= (uint64_t)d[(*off)++] << (8 * (b - 4));
	}
	if (*csz == 0)
		*csz = 0x10000;
	return 0;
}

int git_delta_apply(const uint8_t *base, size_t blen, const uint8_t *d, size_t dlen,
		    size_t max_out, uint8_t **out, size_t *olen)
{
	uint64_t src, dst, cofs, csz;
	size_t off = 0, o = 0;
	uint8_t *b;

	*out = NULL;
	*olen = 0;
	if (delta_size(d, dlen, &off, &src) < 0 || delta_size(d, dlen, &off, &dst) < 0)
		return -EBADMSG;
	if (src != blen)
		return -EBADMSG;
	if (dst > max_out)
		return -EFBIG;
	if (!(b = malloc((size_t)dst + 1)))
		return -ENOMEM;
	while (off < dlen) {
		uint8_t op = d[off++];

		if (op & 0x80) {
			if (copy_op(op, d, dlen, &off, &cofs, &csz) < 0 || cofs > blen ||
			    csz > blen - cofs || csz > dst - o)
				goto bad;
			memcpy(b + o, base + cofs, (size_t)csz);
			o += (size_t)csz;
		} else if (op) {
			if (op > dlen - off || op > dst - o)
				goto bad;
			memcpy(b + o, d + off, op);
			off += op;
			o += op;
		} else {
			goto bad;       /* opcode 0 is reserved */
		}
	}
	if (o != dst)
		goto bad;
	b[o] = 0;
	*out = b;
	*olen = o;
	return 0;
bad:
	free(b);
	return -EBADMSG;
}

/* ---- the id table ------------------------------------------------------------ */

static uint64_t oid_hash(const struct git_store *s, const uint8_t *oid)
{
	uint64_t a, b;

	memcpy(&a, oid, 8);
	memcpy(&b, oid + 8, 8);
	a ^= s->seed;
	a *= 0x9e3779b97f4a7c15u;
	a ^= (a >> 29) ^ b;
	a *= 0xbf58476d1ce4e5b9u;
	return a ^ (a >> 32);
}

static int lookup(const struct git_store *s, const uint8_t *oid, uint32_t *idx)
{
	for (size_t h = oid_hash(s, oid) & s->tmask;; h = (h + 1) & s->tmask) {
		uint32_t v = s->tab[h];

		if (!v)
			return -ENOENT;
		if (memcmp(s->ents[v - 1].oid, oid, GIT_OID_LEN) == 0) {
			*idx = v - 1;
			return 0;
		}
	}
}

static void insert(struct git_store *s, uint32_t i)
{
	uint32_t dummy;
	size_t h;

	if (lookup(s, s->ents[i].oid, &dummy) == 0)
		return;         /* the same object twice: the first one serves */
	for (h = oid_hash(s, s->ents[i].oid) & s->tmask; s->tab[h]; h = (h + 1) & s->tmask)
		;
	s->tab[h] = i + 1;
}

/* ---- object data ---------------------------------------------------------- */

static void cache_put(struct git_store *s, uint32_t i, uint8_t type, uint8_t chain,
		      const uint8_t *p, size_t len)
{
	struct cslot *c = &s->cache[i % CACHE_SLOTS];

	if (len > CACHE_ONE_MAX)
		return;
	if (c->used) {
		s->cache_bytes -= c->len;
		free(c->data);
		c->used = 0;
	}
	if (s->cache_bytes + len > GIT_CACHE_BYTES || !(c->data = malloc(len + 1)))
		return;
	memcpy(c->data, p, len);
	c->data[len] = 0;
	c->len = len;
	c->idx = i;
	c->type = type;
	c->chain = chain;
	c->used = 1;
	s->cache_bytes += len;
}

static int cache_get(struct git_store *s, uint32_t i, uint8_t *type, uint8_t *chain,
		     uint8_t **out, size_t *len)
{
	struct cslot *c = &s->cache[i % CACHE_SLOTS];

	if (!c->used || c->idx != i)
		return -ENOENT;
	if (!(*out = malloc(c->len + 1)))
		return -ENOMEM;
	memcpy(*out, c->data, c->len + 1);
	*len = c->len;
	*type = c->type;
	*chain = c->chain;
	return 0;
}

/* The data of entry i (a delta chain applied), malloc'd; *type its object
 * type, *chain the number of deltas applied. -EAGAIN: a REF base is not
 * known yet; -ELOOP: chain longer than max_depth (depth bounds the recursion
 * before the chain's length is known). */
static int obj_data(struct git_store *s, uint32_t i, unsigned depth, uint8_t *type,
		    uint8_t *chain, uint8_t **out, size_t *len)
{
	struct git_pent *e = &s->ents[i];
	uint8_t *base = NULL, *delta = NULL;
	size_t blen = 0;
	uint32_t b;
	int rc;

	*out = NULL;
	if (e->type <= GIT_TAG) {
		*type = e->type;
		*chain = 0;
		*len = (size_t)e->size;
		return git_pack_inflate(s->pack, s->len, e, out);
	}
	if (depth >= s->lim.max_depth)
		return -ELOOP;
	if (e->has_base)
		b = e->base;
	else if (lookup(s, e->oid, &b) < 0)
		return -EAGAIN;
	if (cache_get(s, b, type, chain, &base, &blen) < 0) {
		rc = obj_data(s, b, depth + 1, type, chain, &base, &blen);
		if (rc < 0)
			return rc;
		cache_put(s, b, *type, *chain, base, blen);
	}
	if (++*chain > s->lim.max_depth) {
		free(base);
		return -ELOOP;
	}
	rc = git_pack_inflate(s->pack, s->len, e, &delta);
	if (rc == 0)
		rc = git_delta_apply(base, blen, delta, (size_t)e->size, s->lim.max_object, out, len);
	free(base);
	free(delta);
	return rc;
}

static int resolve(struct git_store *s, uint32_t i)
{
	struct git_pent *e = &s->ents[i];
	uint8_t *data = NULL, type = 0, chain = 0;
	uint32_t b = 0;
	size_t len = 0;
	int rc;

	if (e->type == GIT_REF_DELTA && lookup(s, e->oid, &b) < 0)
		return -EAGAIN;
	rc = obj_data(s, i, 0, &type, &chain, &data, &len);
	if (rc < 0)
		return rc;
	if (e->type == GIT_REF_DELTA) {
		e->base = b;
		e->has_base = 1;
	}
	git_obj_hash((enum git_type)type, data, len, e->oid);
	e->otype = type;
	e->osize = len;
	e->known = 1;
	e->chain = chain;
	cache_put(s, i, type, chain, data, len);
	free(data);
	insert(s, i);
	return 0;
}

static int resolve_all(struct git_store *s, char *err, size_t errcap)
{
	size_t left = 0;

	for (size_t i = 0; i < s->n; i++)
		left += !s->ents[i].known;
	for (unsigned pass = 0; left && pass <= s->lim.max_depth; pass++) {
		for (size_t i = 0; i < s->n; i++) {
			int rc;

			if (s->ents[i].known)
				continue;
			rc = resolve(s, (uint32_t)i);
			if (rc == -EAGAIN)
				continue;
			if (rc == -ELOOP)
				return git_seterr(err, errcap, -ELOOP, "pack: entry %zu: delta chain "
						  "longer than %u", i, s->lim.max_depth);
			if (rc < 0)
				return git_seterr(err, errcap, rc == -ENOMEM ? rc : -EBADMSG,
						  "pack: entry %zu: %s", i, rc == -ENOMEM ? "out of memory" :
						  rc == -EFBIG ? "delta result over the object limit" :
						  "bad delta");
			left--;
		}
	}
	if (left)
		return git_seterr(err, errcap, -EBADMSG, "pack: %zu deltas have no base in the pack "
				  "(missing base or a cycle)", left);
	return 0;
}

int git_store_open(struct git_store **out, const uint8_t *pack, size_t len,
		   const struct git_limits *lim, char *err, size_t errcap)
{
	struct git_store *s;
	size_t cap = 16;
	int rc;

	*out = NULL;
	if (!(s = calloc(1, sizeof *s)))
		return git_seterr(err, errcap, -ENOMEM, "out of memory");
	s->pack = pack;
	s->len = len;
	git_limits_fix(lim, &s->lim);
	rc = git_pack_scan(pack, len, &s->lim, &s->ents, &s->n, err, errcap);
	if (rc < 0)
		goto out;
	while (cap < 2 * s->n)
		cap *= 2;
	s->tmask = cap - 1;
	if (util_rng(NULL, (uint8_t *)&s->seed, sizeof s->seed) < 0)
		s->seed = (uint64_t)(uintptr_t)s;
	if (!(s->tab = calloc(cap, sizeof *s->tab))) {
		rc = git_seterr(err, errcap, -ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < s->n; i++)
		if (s->ents[i].known)
			insert(s, (uint32_t)i);
	rc = resolve_all(s, err, errcap);
out:
	if (rc < 0)
		git_store_free(s);
	else
		*out = s;
	return rc;
}

void git_store_free(struct git_store *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < CACHE_SLOTS; i++)
		free(s->cache[i].data);
	free(s->tab);
	free(s->ents);
	free(s);
}

size_t git_store_count(const struct git_store *s)
{
	return s->n;
}

int git_store_oid(const struct git_store *s, size_t i, uint8_t oid[static GIT_OID_LEN])
{
	if (i >= s->n || !s->ents[i].known)
		return -ENOENT;
	memcpy(oid, s->ents[i].oid, GIT_OID_LEN);
	return 0;
}

int git_store_get(struct git_store *s, const uint8_t oid[static GIT_OID_LEN], enum git_type *t,
		  uint8_t **data, size_t *len)
{
	uint8_t sum[GIT_OID_LEN], type = 0, chain = 0;
	uint32_t i;
	int rc;

	*data = NULL;
	*len = 0;
	if (lookup(s, oid, &i) < 0)
		return -ENOENT;
	rc = cache_get(s, i, &type, &chain, data, len);
	if (rc < 0 && (rc = obj_data(s, i, 0, &type, &chain, data, len)) < 0)
		return rc == -EAGAIN ? -EIO : rc;
	git_obj_hash((enum git_type)type, *data, *len, sum);
	if (memcmp(sum, oid, GIT_OID_LEN) != 0) {
		free(*data);
		*data = NULL;
		return -EBADMSG;
	}
	*t = (enum git_type)type;
	return 0;
}

/* ---- commits and trees ------------------------------------------------------ */

/* "Name <email> <time> <tz>": the ident (up to '>') and the time. */
static int parse_ident(const char *l, size_t n, char *who, size_t cap, uint64_t *t)
{
	const char *gt = memrchr(l, '>', n);
	size_t k, ts, te;

	if (!gt)
		return -EBADMSG;
	k = (size_t)(gt - l) + 1;
	ts = k;
	while (ts < n && l[ts] == ' ')
		ts++;
	te = ts;
	while (te < n && l[te] >= '0' && l[te] <= '9')
		te++;
	if (util_parse_u64(l + ts, te - ts, UINT64_MAX, t) < 0)
		return -EBADMSG;
	if (k >= cap)
		k = cap - 1;
	memcpy(who, l, k);
	who[k] = 0;
	for (size_t i = 0; i < k; i++)
		if ((unsigned char)who[i] < 0x20 || who[i] == 0x7f)
			who[i] = '?';
	return 0;
}

/* One header line "key value" of a commit; continuation lines are skipped. */
static int commit_line(const char *l, size_t n, struct git_commit *c, int *have_tree)
{
	if (n > 5 && memcmp(l, "tree ", 5) == 0) {
		if (*have_tree || n != 5 + GIT_HEX_LEN || git_unhex(l + 5, GIT_HEX_LEN, c->tree) < 0)
			return -EBADMSG;
		*have_tree = 1;
	} else if (n > 7 && memcmp(l, "parent ", 7) == 0) {
		uint8_t p[GIT_OID_LEN];

		if (n != 7 + GIT_HEX_LEN || git_unhex(l + 7, GIT_HEX_LEN, p) < 0)
			return -EBADMSG;
		if (c->nparents++ == 0)
			memcpy(c->parent0, p, GIT_OID_LEN);
	} else if (n > 7 && memcmp(l, "author ", 7) == 0) {
		return parse_ident(l + 7, n - 7, c->author, sizeof c->author, &c->author_time);
	} else if (n > 10 && memcmp(l, "committer ", 10) == 0) {
		return parse_ident(l + 10, n - 10, c->committer, sizeof c->committer, &c->commit_time);
	}
	return 0;
}

int git_commit_parse(const uint8_t *p, size_t n, struct git_commit *c)
{
	const char *s = (const char *)p;
	size_t off = 0;
	int have_tree = 0, rc;

	memset(c, 0, sizeof *c);
	while (off < n) {
		const char *nl = memchr(s + off, '\n', n - off);
		size_t len;

		if (!nl)
			return -EBADMSG;        /* headers end with an empty line */
		len = (size_t)(nl - (s + off));
		if (len == 0)
			break;
		if (s[off] != ' ' && (rc = commit_line(s + off, len, c, &have_tree)) < 0)
			return rc;
		off += len + 1;
	}
	if (!have_tree || !c->committer[0] || !c->author[0])
		return -EBADMSG;
	return 0;
}

int git_tree_next(const uint8_t *p, size_t n, size_t *off, struct git_tree_entry *e)
{
	size_t i = *off, ms;
	unsigned mode = 0;

	if (i >= n)
		return 0;
	for (ms = i; i < n && p[i] >= '0' && p[i] <= '7' && i - ms < 7; i++)
		mode = mode << 3 | (unsigned)(p[i] - '0');
	if (i == ms || i >= n || p[i] != ' ')
		return -EBADMSG;
	e->name = (const char *)p + ++i;
	{
		const uint8_t *z = memchr(p + i, 0, n - i);

		if (!z)
			return -EBADMSG;
		e->nlen = (size_t)(z - (p + i));
		i += e->nlen + 1;
	}
	if (n - i < GIT_OID_LEN)
		return -EBADMSG;
	e->oid = p + i;
	*off = i + GIT_OID_LEN;
	/* regular files: git itself still reads old modes like 100664 */
	if ((mode & 0170000) == 0100000)
		mode = mode & 0111 ? 0100755 : 0100644;
	if (mode != 040000 && mode != 0100644 && mode != 0100755 && mode != 0120000 &&
	    mode != 0160000)
		return -EBADMSG;
	e->mode = mode;
	return 1;
}
