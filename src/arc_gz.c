/* SPDX-License-Identifier: MIT */
/*
 * arc (compressed output): the sink of the tar writer. Tar bytes come in,
 * SHA-256 of them (diff_id) is taken, and they go out gzip'd or bzip2'd to an
 * fd while SHA-256 of the output (the layer digest) is taken.
 *
 * gzip is parallel and deterministic, the way pigz cuts its input: blocks of
 * ARC_GZ_BLOCK bytes, each deflated by its own z_stream primed with the
 * 32 KiB of input before it, non-final blocks ended with Z_SYNC_FLUSH (so
 * each ends on a byte boundary and the pieces concatenate into one raw
 * deflate stream), the last with Z_FINISH; CRC-32 per block, joined with
 * crc32_combine. A block that looks like random bytes (most probes with a
 * near-uniform histogram), or whose deflate output would not be smaller, is
 * written as stored blocks instead. Every decision depends only on the
 * block's bytes and the 32 KiB before it, so the output is the same with 1
 * thread (compressed in the caller) or 8. Blocks in flight are bounded
 * (ARC_GZ_SLOTS per thread); the caller's thread fills, hashes and writes
 * them in order. Contract in arc_int.h; format in docs/layers.md.
 */
#include "arc_int.h"

#include <bzlib.h>
#include <zlib.h>

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cry.h"
#include "limits.h"

#define GZ_DICT   32768u                      /* deflate's window */
#define GZ_STORED 65535u                      /* bytes of one stored block at most */
/* A block as stored blocks: 5 header bytes per 64 KiB piece (one for 0 bytes). */
#define GZ_OUT_CAP (ARC_GZ_BLOCK + 5 * (ARC_GZ_BLOCK / GZ_STORED + 1))

/* A slot is FREE (or being filled by the caller), FULL (submitted), BUSY
 * (a compressor has it), DONE (compressed, waiting to be written). */
enum { SL_FREE, SL_FULL, SL_BUSY, SL_DONE };

struct gz_slot {
	uint8_t *in, *out;        /* ARC_GZ_BLOCK, GZ_OUT_CAP */
	uint8_t dict[GZ_DICT];
	size_t len, dlen, olen;
	uint32_t crc;
	int last, state, rc;
};

struct arc_sink {
	int fd, comp, level;
	struct cry_sha256 th, bh;
	uint64_t tar_size, blob_size;
	/* gzip */
	struct gz_slot *slot;
	unsigned nslots, nthreads;
	uint64_t fill, submitted, take, emitted; /* block sequence numbers */
	uint32_t crc;
	uint8_t tail[GZ_DICT];    /* the last GZ_DICT bytes submitted */
	size_t taillen;
	z_stream z;               /* the caller's, when nthreads == 0 */
	int zok;
	pthread_mutex_t mu;
	pthread_cond_t work, done, freed;
	pthread_t tid[ARC_GZ_MAX_THREADS], wtid;
	int locks, stop, writer, wrc;
	/* bzip2 */
	bz_stream bz;
	int bzok;
	uint8_t *in, *out;
	size_t inlen;
};

static int emit(struct arc_sink *s, const uint8_t *p, size_t n)
{
	cry_sha256_update(&s->bh, p, n);
	s->blob_size += n;
	while (n > 0) {
		ssize_t w = write(s->fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* ---- one gzip block ---- */

/* Most ARC_GZ_PROBE pieces have a histogram near the uniform one: for n
 * random bytes the sum of squared counts is about n*n/256 + n. */
static int looks_random(const uint8_t *p, size_t len)
{
	const uint64_t n = ARC_GZ_PROBE;
	unsigned hits = 0;

	if (len < ARC_GZ_BLOCK)
		return 0;
	for (size_t off = 0; off + n <= len; off += len / 16) {
		uint32_t h[256] = { 0 };
		uint64_t sq = 0;
		for (size_t i = 0; i < n; i++)
			h[p[off + i]]++;
		for (int c = 0; c < 256; c++)
			sq += (uint64_t)h[c] * h[c];
		hits += sq * 256 * 10 <= n * n * 11;
	}
	return hits >= ARC_GZ_RAND_MIN;
}

static size_t put_stored(uint8_t *o, const uint8_t *in, size_t len, int last)
{
	size_t k = 0, off = 0;

	do {
		size_t m = len - off > GZ_STORED ? GZ_STORED : len - off;
		o[k++] = (uint8_t)(last && off + m == len);   /* BFINAL, BTYPE 00, pad */
		o[k++] = (uint8_t)m;
		o[k++] = (uint8_t)(m >> 8);
		o[k++] = (uint8_t)~m;
		o[k++] = (uint8_t)(~m >> 8);
		memcpy(o + k, in + off, m);
		k += m;
		off += m;
	} while (off < len);
	return k;
}

/* Deflates the block into at most the stored size; 0 if it fit. */
static int deflate_block(z_stream *z, struct gz_slot *b, size_t cap)
{
	int zr;

	if (deflateReset(z) != Z_OK ||
	    (b->dlen && deflateSetDictionary(z, b->dict, (uInt)b->dlen) != Z_OK))
		return -1;
	z->next_in = b->in;
	z->avail_in = (uInt)b->len;
	z->next_out = b->out;
	z->avail_out = (uInt)cap;
	zr = deflate(z, b->last ? Z_FINISH : Z_SYNC_FLUSH);
	if (b->last ? zr != Z_STREAM_END : zr != Z_OK || z->avail_in || !z->avail_out)
		return -1;
	b->olen = cap - z->avail_out;
	return 0;
}

static void gz_block(z_stream *z, int zok, struct gz_slot *b)
{
	size_t cap = b->len + 5 * (b->len / GZ_STORED + 1);

	b->crc = (uint32_t)crc32(0, b->in, (uInt)b->len);
	b->rc = 0;
	if (zok && !looks_random(b->in, b->len) && deflate_block(z, b, cap) == 0)
		return;
	b->olen = put_stored(b->out, b->in, b->len, b->last);
}

/* ---- the pool ---- */

static void *writer(void *arg);

static void *worker(void *arg)
{
	struct arc_sink *s = arg;
	z_stream z;
	int zok;

	memset(&z, 0, sizeof z);
	zok = deflateInit2(&z, s->level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) == Z_OK;
	pthread_mutex_lock(&s->mu);
	for (;;) {
		struct gz_slot *b;
		while (!s->stop && s->take == s->submitted)
			pthread_cond_wait(&s->work, &s->mu);
		if (s->stop)
			break;
		b = &s->slot[s->take++ % s->nslots];
		b->state = SL_BUSY;
		pthread_mutex_unlock(&s->mu);
		gz_block(&z, zok, b);
		if (!zok)
			b->rc = -ENOMEM;
		pthread_mutex_lock(&s->mu);
		b->state = SL_DONE;
		pthread_cond_broadcast(&s->done);
	}
	pthread_mutex_unlock(&s->mu);
	if (zok)
		deflateEnd(&z);
	return NULL;
}

static unsigned cpu_count(void)
{
	cpu_set_t set;
	long n;

	if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
		return (unsigned)CPU_COUNT(&set);
	n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)n : 1;
}

/* Starts up to want threads with every signal blocked (signals stay with the
 * caller's thread); fewer if pthread_create fails. */
static void start_threads(struct arc_sink *s, unsigned want)
{
	sigset_t all, old;

	if (pthread_mutex_init(&s->mu, NULL) != 0)
		return;
	if (pthread_cond_init(&s->work, NULL) != 0) {
		pthread_mutex_destroy(&s->mu);
		return;
	}
	if (pthread_cond_init(&s->done, NULL) != 0) {
		pthread_cond_destroy(&s->work);
		pthread_mutex_destroy(&s->mu);
		return;
	}
	if (pthread_cond_init(&s->freed, NULL) != 0) {
		pthread_cond_destroy(&s->done);
		pthread_cond_destroy(&s->work);
		pthread_mutex_destroy(&s->mu);
		return;
	}
	s->locks = 1;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	while (s->nthreads < want && pthread_create(&s->tid[s->nthreads], NULL, worker, s) == 0)
		s->nthreads++;
	if (s->nthreads && pthread_create(&s->wtid, NULL, writer, s) == 0)
		s->writer = 1;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static int gz_open(struct arc_sink *s, int threads)
{
	/* gzip header: no name, mtime 0, XFL 0, OS 255 (what Go's compress/gzip writes). */
	static const uint8_t head[10] = { 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff };
	unsigned want = threads > 0 ? (unsigned)threads : cpu_count();

	if (want > ARC_GZ_MAX_THREADS)
		want = ARC_GZ_MAX_THREADS;
	s->crc = (uint32_t)crc32(0, NULL, 0);
	s->nslots = want * ARC_GZ_SLOTS;
	if (!(s->slot = calloc(s->nslots, sizeof *s->slot)))
		return -ENOMEM;
	for (unsigned i = 0; i < s->nslots; i++)
		if (!(s->slot[i].in = malloc(ARC_GZ_BLOCK)) || !(s->slot[i].out = malloc(GZ_OUT_CAP)))
			return -ENOMEM;
	if (deflateInit2(&s->z, s->level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	s->zok = 1;
	if (want > 1)
		start_threads(s, want);
	return emit(s, head, sizeof head);
}

/* Writes the oldest block (compressed: state SL_DONE) and joins its CRC. */
static int write_block(struct arc_sink *s, struct gz_slot *b)
{
	int rc;

	if (b->rc < 0)
		return b->rc;
	if ((rc = emit(s, b->out, b->olen)) < 0)
		return rc;
	s->crc = (uint32_t)crc32_combine(s->crc, b->crc, (z_off_t)b->len);
	return 0;
}

/* The writer thread: blocks in order as they are compressed, SHA-256 of the
 * output, write(2). After an error it only frees slots (wrc says why). */
static void *writer(void *arg)
{
	struct arc_sink *s = arg;

	pthread_mutex_lock(&s->mu);
	for (;;) {
		struct gz_slot *b = &s->slot[s->emitted % s->nslots];
		int rc = 0;
		while (!s->stop && b->state != SL_DONE)
			pthread_cond_wait(&s->done, &s->mu);
		if (s->stop)
			break;
		pthread_mutex_unlock(&s->mu);
		if (!s->wrc)
			rc = write_block(s, b);
		pthread_mutex_lock(&s->mu);
		if (rc < 0)
			s->wrc = rc;
		b->state = SL_FREE;
		s->emitted++;
		pthread_cond_broadcast(&s->freed);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

/* Waits until fewer than nslots - room blocks are unwritten; written here
 * when there is no writer thread. */
static int drain(struct arc_sink *s, uint64_t room)
{
	int rc = 0;

	if (!s->writer) {
		while (s->emitted + room < s->fill && rc == 0) {
			struct gz_slot *b = &s->slot[s->emitted % s->nslots];
			if (s->nthreads) {
				pthread_mutex_lock(&s->mu);
				while (b->state != SL_DONE)
					pthread_cond_wait(&s->done, &s->mu);
				pthread_mutex_unlock(&s->mu);
			}
			rc = write_block(s, b);
			b->state = SL_FREE;
			s->emitted++;
		}
		return rc;
	}
	pthread_mutex_lock(&s->mu);
	while (s->emitted + room < s->fill)
		pthread_cond_wait(&s->freed, &s->mu);
	rc = s->wrc;
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* Hands the filling block to the compressors (or compresses it here) and
 * makes the next slot the filling one, writing older blocks to free it. */
static int submit(struct arc_sink *s, int last)
{
	struct gz_slot *b = &s->slot[s->fill % s->nslots];
	size_t keep;
	int rc;

	memcpy(b->dict, s->tail, s->taillen);
	b->dlen = s->taillen;
	b->last = last;
	if (b->len >= GZ_DICT) {
		memcpy(s->tail, b->in + b->len - GZ_DICT, GZ_DICT);
		s->taillen = GZ_DICT;
	} else {
		keep = s->taillen + b->len > GZ_DICT ? GZ_DICT - b->len : s->taillen;
		memmove(s->tail, s->tail + s->taillen - keep, keep);
		memcpy(s->tail + keep, b->in, b->len);
		s->taillen = keep + b->len;
	}
	s->fill++;
	if (s->nthreads) {
		pthread_mutex_lock(&s->mu);
		b->state = SL_FULL;
		s->submitted = s->fill;
		pthread_cond_signal(&s->work);
		pthread_mutex_unlock(&s->mu);
	} else {
		gz_block(&s->z, s->zok, b);
		b->state = SL_DONE;
	}
	if (last)
		return 0;
	if ((rc = drain(s, s->nslots - 1)) < 0)
		return rc;
	b = &s->slot[s->fill % s->nslots];
	b->len = 0;
	return 0;
}

static int gz_put(struct arc_sink *s, const uint8_t *p, size_t n)
{
	int rc;

	while (n > 0) {
		struct gz_slot *b = &s->slot[s->fill % s->nslots];
		size_t k = ARC_GZ_BLOCK - b->len;
		if (k == 0) {           /* full, and more comes: not the last block */
			if ((rc = submit(s, 0)) < 0)
				return rc;
			continue;
		}
		if (k > n)
			k = n;
		memcpy(b->in + b->len, p, k);
		b->len += k;
		p += k;
		n -= k;
	}
	return 0;
}

static int gz_finish(struct arc_sink *s)
{
	uint8_t t[8];
	int rc;

	if ((rc = submit(s, 1)) < 0 || (rc = drain(s, 0)) < 0)
		return rc;
	for (int i = 0; i < 4; i++) {
		t[i] = (uint8_t)(s->crc >> (8 * i));
		t[4 + i] = (uint8_t)(s->tar_size >> (8 * i));   /* ISIZE: size mod 2^32 */
	}
	return emit(s, t, sizeof t);
}

static void gz_free(struct arc_sink *s)
{
	if (s->locks) {
		pthread_mutex_lock(&s->mu);
		s->stop = 1;
		pthread_cond_broadcast(&s->work);
		pthread_cond_broadcast(&s->done);
		pthread_mutex_unlock(&s->mu);
		for (unsigned i = 0; i < s->nthreads; i++)
			pthread_join(s->tid[i], NULL);
		if (s->writer)
			pthread_join(s->wtid, NULL);
		pthread_cond_destroy(&s->freed);
		pthread_cond_destroy(&s->done);
		pthread_cond_destroy(&s->work);
		pthread_mutex_destroy(&s->mu);
	}
	if (s->zok)
		deflateEnd(&s->z);
	for (unsigned i = 0; s->slot && i < s->nslots; i++) {
		free(s->slot[i].in);
		free(s->slot[i].out);
	}
	free(s->slot);
}

/* ---- bzip2 (manifests: one thread) ---- */

static int bz_squeeze(struct arc_sink *s, int finish)
{
	int zr, rc;

	s->bz.next_in = (char *)s->in;
	s->bz.avail_in = (unsigned)s->inlen;
	do {
		s->bz.next_out = (char *)s->out;
		s->bz.avail_out = ARC_IO_BLOCK;
		zr = BZ2_bzCompress(&s->bz, finish ? BZ_FINISH : BZ_RUN);
		if (zr < 0)
			return -EIO;
		if ((rc = emit(s, s->out, ARC_IO_BLOCK - s->bz.avail_out)) < 0)
			return rc;
	} while (finish ? zr != BZ_STREAM_END : s->bz.avail_in > 0);
	s->inlen = 0;
	return 0;
}

static int bz_put(struct arc_sink *s, const uint8_t *b, size_t n)
{
	int rc;

	while (n > 0) {
		size_t k = ARC_IO_BLOCK - s->inlen;
		if (k > n)
			k = n;
		memcpy(s->in + s->inlen, b, k);
		s->inlen += k;
		b += k;
		n -= k;
		if (s->inlen == ARC_IO_BLOCK && (rc = bz_squeeze(s, 0)) < 0)
			return rc;
	}
	return 0;
}

/* ---- public ---- */

int arc_sink_open(struct arc_sink **sp, int fd, int comp, int level, int threads)
{
	struct arc_sink *s = calloc(1, sizeof *s);

	if (!(*sp = s))
		return -ENOMEM;
	s->fd = fd;
	s->comp = comp;
	s->level = level;
	cry_sha256_init(&s->th);
	cry_sha256_init(&s->bh);
	if (comp == ARC_COMP_GZIP)
		return gz_open(s, threads);
	if (!(s->in = malloc(ARC_IO_BLOCK)) || !(s->out = malloc(ARC_IO_BLOCK)))
		return -ENOMEM;
	if (BZ2_bzCompressInit(&s->bz, 9, 0, 0) != BZ_OK)
		return -ENOMEM;
	s->bzok = 1;
	return 0;
}

int arc_sink_put(struct arc_sink *s, const void *p, size_t n)
{
	cry_sha256_update(&s->th, p, n);
	s->tar_size += n;
	return s->comp == ARC_COMP_GZIP ? gz_put(s, p, n) : bz_put(s, p, n);
}

int arc_sink_finish(struct arc_sink *s, struct arc_digests *out)
{
	int rc = s->comp == ARC_COMP_GZIP ? gz_finish(s) : bz_squeeze(s, 1);

	if (rc < 0)
		return rc;
	cry_sha256_final(&s->th, out->diff_id);
	cry_sha256_final(&s->bh, out->blob);
	out->blob_size = s->blob_size;
	out->tar_size = s->tar_size;
	return 0;
}

void arc_sink_free(struct arc_sink *s)
{
	if (!s)
		return;
	if (s->comp == ARC_COMP_GZIP)
		gz_free(s);
	if (s->bzok)
		BZ2_bzCompressEnd(&s->bz);
	free(s->in);
	free(s->out);
	free(s);
}
