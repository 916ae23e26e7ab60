/* SPDX-License-Identifier: MIT */
/* Shared helpers: wiping, RNG, logging, whole-file I/O with atomic replace. */
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

int log_quiet;

void wipe(void *p, size_t n)
{
	if (p && n)
		explicit_bzero(p, n);
}

void wipe_free(void *p, size_t n)
{
	if (!p)
		return;
	wipe(p, n);
	free(p);
}

int util_rng(void *ctx, uint8_t *buf, size_t len)
{
	(void)ctx;
	while (len > 0) {
		ssize_t r = getrandom(buf, len > 256 ? 256 : len, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -EIO;
		}
		buf += r;
		len -= (size_t)r;
	}
	return 0;
}

__attribute__((format(printf, 2, 0)))
static void vlog(const char *lvl, const char *fmt, va_list ap)
{
	struct timeval tv;
	struct tm tm;
	char line[1024];
	int n;

	if (log_quiet)
		return;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	n = snprintf(line, sizeof line, "%04d-%02d-%02d %02d:%02d:%02d,%03d  %-7s ",
		     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
		     tm.tm_sec, (int)(tv.tv_usec / 1000), lvl);
	if (n < 0 || (size_t)n >= sizeof line)
		return;
	vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
	fprintf(stderr, "%s\n", line);
}

#define LOGFN(name, lvl) \
	void name(const char *fmt, ...) \
	{ \
		va_list ap; \
		va_start(ap, fmt); \
		vlog(lvl, fmt, ap); \
		va_end(ap); \
	}
LOGFN(log_info, "INFO")
LOGFN(log_warn, "WARNING")
LOGFN(log_err, "ERROR")

int util_verr(char *err, size_t errcap, int rc, const char *fmt, va_list ap)
{
	if (err && errcap)
		vsnprintf(err, errcap, fmt, ap);
	return rc;
}

int util_err(char *err, size_t errcap, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	rc = util_verr(err, errcap, rc, fmt, ap);
	va_end(ap);
	return rc;
}

int util_read_fd(int fd, size_t max, uint8_t **out, size_t *len)
{
	struct stat st;
	uint8_t *p = NULL;
	size_t got = 0;
	int rc = 0;

	*out = NULL;
	*len = 0;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if ((uint64_t)st.st_size > max)
		return -EFBIG;
	p = malloc((size_t)st.st_size + 1);
	if (!p)
		return -ENOMEM;
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, p + got, (size_t)st.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = -errno;
			free(p);
			return rc;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	p[got] = 0;
	*out = p;
	*len = got;
	return 0;
}

int util_read_file(const char *path, size_t max, uint8_t **out, size_t *len)
{
	int fd, rc;

	*out = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	rc = util_read_fd(fd, max, out, len);
	close(fd);
	return rc;
}

int util_write_all(int fd, const void *buf, size_t n)
{
	const uint8_t *p = buf;

	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int util_write_atomic(const char *path, const void *data, size_t len, unsigned mode)
{
	char tmp[PATH_MAX], dir[PATH_MAX];
	char *slash;
	int fd, dfd, rc;
	uint8_t rnd[6];

	if (util_rng(NULL, rnd, sizeof rnd) < 0)
		return -EIO;
	if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp-%02x%02x%02x%02x%02x%02x", path, rnd[0],
			     rnd[1], rnd[2], rnd[3], rnd[4], rnd[5]) >= sizeof tmp)
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	rc = util_write_all(fd, data, len);
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -errno;
	if (rc < 0) {
		unlink(tmp);
		return rc;
	}
	snprintf(dir, sizeof dir, "%s", path);
	slash = strrchr(dir, '/');
	if (slash == dir)
		dir[1] = 0;
	else if (slash)
		*slash = 0;
	else
		snprintf(dir, sizeof dir, ".");
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	rc = fsync(dfd) < 0 ? -errno : 0;
	close(dfd);
	return rc;
}

int util_mkdirs(const char *path, unsigned mode)
{
	char p[PATH_MAX];
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof p)
		return -ENAMETOOLONG;
	memcpy(p, path, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (p[i] != '/' && p[i] != 0)
			continue;
		char c = p[i];
		p[i] = 0;
		if (mkdir(p, mode) < 0 && errno != EEXIST)
			return -errno;
		p[i] = c;
	}
	return 0;
}

static int buf_grow(struct buf *b, size_t need)
{
	size_t cap;
	uint8_t *n;

	if (b->max && need > b->max)
		return -E2BIG;
	if (need + 1 <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 256;
	while (cap < need + 1)
		cap *= 2;
	if (b->max && cap > b->max + 1)
		cap = b->max + 1;
	n = malloc(cap);
	if (!n)
		return -ENOMEM;
	if (b->data) {
		memcpy(n, b->data, b->len);
		if (b->secret)
			wipe(b->data, b->cap);
		free(b->data);
	}
	b->data = n;
	b->cap = cap;
	return 0;
}

int buf_append(struct buf *b, const void *p, size_t n)
{
	if (n > SIZE_MAX - b->len - 1)
		return -E2BIG;
	int rc = buf_grow(b, b->len + n);
	if (rc < 0)
		return rc;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = 0;
	return 0;
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n, rc;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	rc = buf_grow(b, b->len + (size_t)n);
	if (rc < 0)
		return rc;
	va_start(ap, fmt);
	vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

void buf_free(struct buf *b)
{
	if (b->secret)
		wipe(b->data, b->cap);
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

int util_parse_u64(const char *p, size_t n, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0 || n > 20)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -EINVAL;
		unsigned d = (unsigned)(p[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	if (v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

void util_ts_micro(char out[32])
{
	struct timeval tv;
	struct tm tm;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	size_t n = strftime(out, 32, "%Y-%m-%d_%H-%M-%S", &tm);
	snprintf(out + n, 32 - n, ".%06u", (unsigned)tv.tv_usec % 1000000u);
}

int util_sweep_tmp(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -errno;
	while ((e = readdir(d)) != NULL) {
		if (strstr(e->d_name, ".tmp-") && unlinkat(dirfd(d), e->d_name, 0) == 0)
			n++;
	}
	closedir(d);
	return n;
}

int util_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}
