/* SPDX-License-Identifier: MIT */
/*
 * Small shared helpers: secret wiping, the RNG callback, logging, whole-file
 * reads and atomic writes, and a growable byte buffer.
 *
 * Secrets: wipe() every buffer that held key material before it is freed or
 * leaves scope. Log lines never carry parameter values; callers log names only.
 * File writes: util_write_atomic() writes a temp file beside the target, fsyncs
 * it, renames it over the target and fsyncs the directory, so a reader (or the
 * next boot after a power cut) sees the old or the new content, never a mix.
 */
#ifndef SBS_UTIL_H
#define SBS_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>

void wipe(void *p, size_t n);
/* Frees p after wiping n bytes; NULL is fine. */
void wipe_free(void *p, size_t n);

/* RNG callback compatible with the crypto layer: fills buf from getrandom(2).
 * ctx is unused. Returns 0, or -EIO if the kernel RNG fails. */
int util_rng(void *ctx, uint8_t *buf, size_t len);

/* Logging to stderr with a UTC timestamp and level; never pass secrets. */
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
extern int log_quiet;

/* Reads a whole file of at most max bytes into a malloc'd buffer with a
 * trailing NUL (not counted in *len). -ENOENT, -EFBIG (over max), -errno. */
int util_read_file(const char *path, size_t max, uint8_t **out, size_t *len);
/* Writes a one-line reason into err (if err and errcap) and returns rc: the
 * error reporting of every module with (err, errcap) parameters. */
int util_err(char *err, size_t errcap, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
int util_verr(char *err, size_t errcap, int rc, const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));
/* The same for an open fd (a regular file, read from its current offset). */
int util_read_fd(int fd, size_t max, uint8_t **out, size_t *len);
/* Atomic replace (see above). mode e.g. 0600. Returns 0 or -errno. */
int util_write_atomic(const char *path, const void *p, size_t len, unsigned mode);
/* Removes temp files util_write_atomic left behind when the process died
 * mid-write (names containing ".tmp-"). Returns how many, or -errno. */
int util_sweep_tmp(const char *dir);
/* write(2) until all n bytes are out (EINTR retried); 0 or -errno (-EIO on
 * a zero-byte write). */
int util_write_all(int fd, const void *buf, size_t n);
/* Value of one hex digit (either case), or -1. */
int util_hexval(int c);
/* mkdir -p with mode; 0 or -errno. */
int util_mkdirs(const char *path, unsigned mode);

/* Growable buffer. data is NUL-terminated after len for convenience. */
struct buf {
	uint8_t *data;
	size_t len, cap;
	size_t max;     /* hard cap; 0 = none; an append past it fails with -E2BIG */
	int secret;     /* wipe on growth and free */
};
int buf_append(struct buf *b, const void *p, size_t n);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_free(struct buf *b);

/* Checked unsigned decimal parse of exactly [p, p+n): no sign, no spaces,
 * value <= max. 0 or -EINVAL / -ERANGE. */
int util_parse_u64(const char *p, size_t n, uint64_t max, uint64_t *out);

/* UTC time formatted "YYYY-MM-DD_HH-MM-SS.ffffff" (build.py's style). */
void util_ts_micro(char out[32]);

#endif
