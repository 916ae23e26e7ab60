/* SPDX-License-Identifier: MIT */
/*
 * arc_int: what src/arc_write.c and src/arc_gz.c share; not for other
 * modules. arc_gz.c is the compressed, hashed output of the writer: tar
 * bytes in, gzip (parallel, deterministic blocks) or bzip2 out to an fd,
 * SHA-256 of both sides on the way. The gzip bytes depend only on the input,
 * the level and ARC_GZ_BLOCK, never on the thread count or timing
 * (docs/layers.md). arc_gz.c is the only file of the writer that includes
 * zlib's and bzip2's headers.
 */
#ifndef SBS_ARC_INT_H
#define SBS_ARC_INT_H

#include <stddef.h>

#include "arc.h"

enum { ARC_COMP_GZIP = 1, ARC_COMP_BZIP2 };

struct arc_sink;

/* threads: gzip compressors (0 = from the CPU count, capped by
 * ARC_GZ_MAX_THREADS; 1 = compress in the caller's thread). If threads cannot
 * be started, fewer are used (at worst none): the bytes are the same. Returns
 * 0 or -ENOMEM / -errno of the first write; *s is set even on failure and
 * must be freed. */
int arc_sink_open(struct arc_sink **s, int fd, int comp, int level, int threads);
/* Appends tar bytes; 0 or -errno (a write failed, -EIO compressor error). */
int arc_sink_put(struct arc_sink *s, const void *p, size_t n);
/* Ends the stream (trailer written) and fills blob, diff_id, blob_size,
 * tar_size of out (entries untouched). */
int arc_sink_finish(struct arc_sink *s, struct arc_digests *out);
/* Stops and joins the threads, frees everything; NULL is fine. */
void arc_sink_free(struct arc_sink *s);

#endif
