/* SPDX-License-Identifier: MIT */
/*
 * git_pack: the packfile walker (contract in git.h) and the only file that
 * includes zlib.h. A pack is "PACK", a version (2 or 3), an object count,
 * that many entries and the SHA-1 of everything before it. An entry is a
 * varint type+size header, for an OFS delta a varint distance back to its
 * base, for a REF delta the base's id, then a zlib stream that inflates to
 * exactly the header's size. Every read goes through a bounds-checked cursor
 * over [0, len - 20); every size is checked against the limits before memory
 * is allocated; zlib never writes past the buffer it is given.
 */
#include "git.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "cry.h"

#define PACK_HDR   12
#define INFL_CHUNK 65536

void git_limits_fix(const struct git_limits *in, struct git_limits *out)
{
	struct git_limits z = { 0 };

	if (!in)
		in = &z;
	out->max_pack = in->max_pack && in->max_pack < GIT_MAX_PACK ? in->max_pack : GIT_MAX_PACK;
	out->max_object = in->max_object && in->max_object < GIT_MAX_OBJECT ?
		in->max_object : GIT_MAX_OBJECT;
	out->max_objects = in->max_objects && in->max_objects < GIT_MAX_OBJECTS ?
		in->max_objects : GIT_MAX_OBJECTS;
	out->max_depth = in->max_depth && in->max_depth < GIT_MAX_DELTA_DEPTH ?
		in->max_depth : GIT_MAX_DELTA_DEPTH;
	out->max_entries = in->max_entries && in->max_entries < GIT_MAX_ENTRIES ?
		in->max_entries : GIT_MAX_ENTRIES;
	out->max_checkout = in->max_checkout && in->max_checkout < GIT_MAX_CHECKOUT ?
		in->max_checkout : GIT_MAX_CHECKOUT;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Entry header at *off (< end): type and size; *off moves past it. */
static int entry_head(const uint8_t *p, size_t end, size_t *off, unsigned *type, uint64_t *size)
{
	size_t i = *off;
	unsigned shift = 4;
	uint8_t c;

	if (i >= end)
		return -EBADMSG;
	c = p[i++];
	*type = (c >> 4) & 7;
	*size = c & 15;
	while (c & 0x80) {
		if (i >= end || shift > 57)
			return -EBADMSG;
		c = p[i++];
		*size |= (uint64_t)(c & 0x7f) << shift;
		shift += 7;
	}
	*off = i;
	return 0;
}

/* OFS delta distance: 7 bits a byte, big-endian, each continuation adds 1. */
static int ofs_distance(const uint8_t *p, size_t end, size_t *off, uint64_t *dist)
{
	size_t i = *off;
	uint64_t d;
	uint8_t c;

	if (i >= end)
		return -EBADMSG;
	c = p[i++];
	d = c & 0x7f;
	while (c & 0x80) {
		if (i >= end || d > (UINT64_MAX >> 7) - 1)
			return -EBADMSG;
		c = p[i++];
		d = ((d + 1) << 7) | (c & 0x7f);
	}
	*off = i;
	*dist = d;
	return 0;
}

/* Inflates the zlib stream at p[off..end) that must give exactly size bytes.
 * out: where they go (size bytes), or NULL to hash them into h (when h is
 * not NULL) through a scratch buffer. *used: compressed bytes consumed. */
static int inflate_exact(z_stream *z, const uint8_t *p, size_t off, size_t end, uint64_t size,
			 uint8_t *out, struct cry_sha1 *h, size_t *used)
{
	uint8_t scratch[INFL_CHUNK];
	uint64_t total = 0;
	int zr;

	if (inflateReset(z) != Z_OK)
		return -EIO;
	z->next_in = (Bytef *)(uintptr_t)(p + off);
	z->avail_in = end - off > UINT32_MAX ? UINT32_MAX : (uInt)(end - off);
	do {
		uint8_t *dst = out ? out + total : scratch;
		uint64_t room = out ? size - total : INFL_CHUNK;

		/* one spare byte in the room shows a stream longer than size */
		if (!out && room > size - total + 1)
			room = size - total + 1;
		if (out && room == 0) {
			dst = scratch;
			room = 1;
		}
		z->next_out = dst;
		z->avail_out = room > UINT32_MAX ? UINT32_MAX : (uInt)room;
		zr = inflate(z, Z_NO_FLUSH);
		if (zr != Z_OK && zr != Z_STREAM_END)
			return zr == Z_MEM_ERROR ? -ENOMEM : -EBADMSG;
		size_t got = (size_t)(z->next_out - dst);
		if (got > size - total || (out && dst == scratch && got))
			return -EFBIG;
		if (h && got)
			cry_sha1_update(h, dst, got);
		total += got;
		if (zr == Z_OK && got == 0 && z->avail_in == 0)
			return -EBADMSG;     /* input ran out inside the stream */
	} while (zr != Z_STREAM_END);
	if (total != size)
		return -EBADMSG;
	*used = (size_t)(z->next_in - (p + off));
	return 0;
}

static int zinit(z_stream *z)
{
	memset(z, 0, sizeof *z);
	return inflateInit(z) == Z_OK ? 0 : -ENOMEM;
}

int git_pack_inflate(const uint8_t *p, size_t len, const struct git_pent *e, uint8_t **out)
{
	z_stream z;
	uint8_t *b;
	size_t used;
	int rc;

	*out = NULL;
	if (len < PACK_HDR + GIT_OID_LEN || e->data_off > len - GIT_OID_LEN || e->size > GIT_MAX_OBJECT)
		return -EBADMSG;
	if (!(b = malloc((size_t)e->size + 1)))
		return -ENOMEM;
	if ((rc = zinit(&z)) < 0) {
		free(b);
		return rc;
	}
	rc = inflate_exact(&z, p, (size_t)e->data_off, len - GIT_OID_LEN, e->size, b, NULL, &used);
	inflateEnd(&z);
	if (rc < 0) {
		free(b);
		return rc;
	}
	b[e->size] = 0;
	*out = b;
	return 0;
}

/* The entry that starts exactly at off, among ents[0..n) (sorted by off). */
static int find_off(const struct git_pent *ents, size_t n, uint64_t off, uint32_t *idx)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ents[mid].off == off) {
			*idx = (uint32_t)mid;
			return 0;
		}
		if (ents[mid].off < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -ENOENT;
}

static void hash_head(struct cry_sha1 *h, unsigned type, uint64_t size)
{
	char hd[40];
	int k = snprintf(hd, sizeof hd, "%s %llu", git_type_name((enum git_type)type),
			 (unsigned long long)size);

	cry_sha1_init(h);
	cry_sha1_update(h, hd, (size_t)k + 1);       /* with the NUL */
}

/* One entry at *off: header, base reference, data (inflated and, for whole
 * objects, hashed). */
static int scan_entry(z_stream *z, const uint8_t *p, size_t end, size_t *off, size_t i,
		      struct git_pent *ents, const struct git_limits *lim, char *err, size_t errcap)
{
	struct git_pent *e = &ents[i];
	struct cry_sha1 h;
	unsigned type;
	uint64_t dist;
	size_t used;
	int rc;

	e->off = *off;
	if (entry_head(p, end, off, &type, &e->size) < 0)
		return git_seterr(err, errcap, -EBADMSG, "pack: entry %zu: bad header", i);
	if (type == 0 || type == 5)
		return git_seterr(err, errcap, -EBADMSG, "pack: entry %zu: unknown type %u", i, type);
	if (e->size > lim->max_object)
		return git_seterr(err, errcap, -EFBIG, "pack: entry %zu: %llu bytes, over the limit "
				  "of %zu", i, (unsigned long long)e->size, lim->max_object);
	e->type = (uint8_t)type;
	if (type == GIT_OFS_DELTA) {
		if (ofs_distance(p, end, off, &dist) < 0 || dist == 0 || dist > e->off ||
		    find_off(ents, i, e->off - dist, &e->base) < 0)
			return git_seterr(err, errcap, -EBADMSG, "pack: entry %zu: delta base offset "
					  "is not an earlier entry", i);
		e->has_base = 1;
	} else if (type == GIT_REF_DELTA) {
		if (end - *off < GIT_OID_LEN)
			return git_seterr(err, errcap, -EBADMSG, "pack: entry %zu: truncated", i);
		memcpy(e->oid, p + *off, GIT_OID_LEN);
		*off += GIT_OID_LEN;
	}
	e->data_off = *off;
	if (type <= GIT_TAG)
		hash_head(&h, type, e->size);
	rc = inflate_exact(z, p, *off, end, e->size, NULL, type <= GIT_TAG ? &h : NULL, &used);
	if (rc < 0) {
		if (type <= GIT_TAG)
			cry_sha1_final(&h, e->oid);
		return git_seterr(err, errcap, rc == -ENOMEM ? -ENOMEM : -EBADMSG,
				  "pack: entry %zu: %s", i, rc == -EFBIG ? "inflates past its size" :
				  rc == -ENOMEM ? "out of memory" : "corrupt or truncated zlib data");
	}
	*off += used;
	if (type <= GIT_TAG) {
		cry_sha1_final(&h, e->oid);
		e->otype = (uint8_t)type;
		e->osize = e->size;
		e->known = 1;
	}
	return 0;
}

static int check_header(const uint8_t *p, size_t len, const struct git_limits *lim, uint32_t *count,
			char *err, size_t errcap)
{
	uint8_t sum[GIT_OID_LEN];
	uint32_t ver;

	if (len < PACK_HDR + GIT_OID_LEN || memcmp(p, "PACK", 4) != 0)
		return git_seterr(err, errcap, -EBADMSG, "pack: no PACK header (%zu bytes)", len);
	if (len > lim->max_pack)
		return git_seterr(err, errcap, -EFBIG, "pack: %zu bytes, over the limit", len);
	ver = be32(p + 4);
	*count = be32(p + 8);
	if (ver != 2 && ver != 3)
		return git_seterr(err, errcap, -EBADMSG, "pack: version %u not supported", ver);
	if (*count > lim->max_objects)
		return git_seterr(err, errcap, -EFBIG, "pack: %u objects, over the limit of %zu",
				  *count, lim->max_objects);
	/* an entry is at least a header byte and an 8-byte zlib stream */
	if (*count > (len - PACK_HDR - GIT_OID_LEN) / 9)
		return git_seterr(err, errcap, -EBADMSG, "pack: %u objects cannot fit in %zu bytes",
				  *count, len);
	cry_sha1(p, len - GIT_OID_LEN, sum);
	if (memcmp(sum, p + len - GIT_OID_LEN, GIT_OID_LEN) != 0)
		return git_seterr(err, errcap, -EBADMSG, "pack: checksum mismatch (corrupt pack)");
	return 0;
}

int git_pack_scan(const uint8_t *p, size_t len, const struct git_limits *lim_in,
		  struct git_pent **ents_out, size_t *n_out, char *err, size_t errcap)
{
	struct git_limits lim;
	struct git_pent *ents = NULL;
	uint32_t count = 0;
	size_t off = PACK_HDR, end;
	z_stream z;
	int rc;

	*ents_out = NULL;
	*n_out = 0;
	git_limits_fix(lim_in, &lim);
	if ((rc = check_header(p, len, &lim, &count, err, errcap)) < 0)
		return rc;
	end = len - GIT_OID_LEN;
	if (!(ents = calloc(count ? count : 1, sizeof *ents)))
		return git_seterr(err, errcap, -ENOMEM, "pack: out of memory");
	if ((rc = zinit(&z)) < 0) {
		free(ents);
		return git_seterr(err, errcap, rc, "pack: out of memory");
	}
	for (size_t i = 0; i < count && rc == 0; i++)
		rc = scan_entry(&z, p, end, &off, i, ents, &lim, err, errcap);
	inflateEnd(&z);
	if (rc == 0 && off != end)
		rc = git_seterr(err, errcap, -EBADMSG, "pack: %zu stray bytes after the last entry",
				end - off);
	if (rc < 0) {
		free(ents);
		return rc;
	}
	*ents_out = ents;
	*n_out = count;
	return 0;
}
