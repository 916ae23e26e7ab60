/* SPDX-License-Identifier: MIT */
/*
 * loadgen: a small HTTPS load generator with client certificates (wrk and ab
 * cannot present one), used by `make bench` to drive sbsd and nginx alike.
 *
 *   loadgen HOST PORT CERTKEY.pem MODE SECONDS PROCS PATH
 *     MODE keepalive: each process keeps one connection and sends requests
 *                     back to back; handshake: a new connection and a full
 *                     TLS handshake per request.
 * Prints "requests N rps R p50_ms A p99_ms B". The same client measures both
 * servers in the same run, so only the ratio matters.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cry.h"
#include "http.h"
#include "util.h"

#define MAX_SAMPLES 2000000

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int io_send(void *ctx, const uint8_t *p, size_t n)
{
	ssize_t r = send(*(int *)ctx, p, n, MSG_NOSIGNAL);
	return r < 0 ? -EIO : (int)r;
}

static int io_recv(void *ctx, uint8_t *p, size_t n)
{
	ssize_t r = recv(*(int *)ctx, p, n, 0);
	return r < 0 ? -EIO : (int)r;
}

static int dial(const char *host, int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	inet_pton(AF_INET, host, &sa.sin_addr);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return fd;
}

/* one request/response on an open session; 0 ok */
static int roundtrip(struct cry_tls *t, struct http_parser *hp, const char *req, size_t rlen)
{
	uint8_t in[16384];
	if (cry_tls_write(t, (const uint8_t *)req, rlen) != (int)rlen)
		return -1;
	for (;;) {
		int n = cry_tls_read(t, in, sizeof in);
		if (n <= 0)
			return -1;
		size_t used;
		int rc = http_feed(hp, in, (size_t)n, &used);
		if (rc == HTTP_DONE) {
			int st = hp->msg.status;
			http_reset(hp);
			return st == 200 ? 0 : -1;
		}
		if (rc < 0)
			return -1;
	}
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void worker(const char *host, int port, struct cry_tls_conf *conf, int keepalive,
		   double secs, const char *path, int out)
{
	char req[512];
	int rlen = snprintf(req, sizeof req,
			    "GET %s HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
			    "Content-Length: 2\r\n%s\r\n\"\"", path, keepalive ? "" : "Connection: close\r\n");
	double *lat = malloc(sizeof(double) * MAX_SAMPLES), end = now() + secs;
	size_t nlat = 0;
	struct http_parser hp;
	struct cry_tls *t = NULL;
	int fd = -1;

	http_init(&hp, HTTP_RESPONSE, 1 << 20);
	while (now() < end && nlat < MAX_SAMPLES) {
		double t0 = now();
		if (!t) {
			fd = dial(host, port);
			if (fd < 0 || cry_tls_new(&t, conf, "localhost", io_send, io_recv, &fd) < 0 ||
			    cry_tls_handshake(t) != 0) {
				fprintf(stderr, "loadgen: connect/handshake failed\n");
				_exit(1);
			}
		}
		if (roundtrip(t, &hp, req, (size_t)rlen) < 0) {
			fprintf(stderr, "loadgen: request failed\n");
			_exit(1);
		}
		lat[nlat++] = now() - t0;
		if (!keepalive) {
			cry_tls_free(t);
			close(fd);
			t = NULL;
		}
	}
	if (write(out, lat, nlat * sizeof(double)) < 0)
		_exit(1);
	_exit(0);
}

int main(int argc, char **argv)
{
	uint8_t *ck;
	size_t cklen, n = 0, cap = 1 << 20;
	struct cry_tls_conf *conf;
	FILE *files[64];

	if (argc != 8) {
		fprintf(stderr, "usage: loadgen HOST PORT CERTKEY MODE SECONDS PROCS PATH\n");
		return 2;
	}
	if (util_read_file(argv[3], 1 << 20, &ck, &cklen) < 0 ||
	    cry_tls_client_conf(&conf, NULL, 0, ck, cklen, util_rng, NULL) < 0) {
		fprintf(stderr, "loadgen: cannot load %s\n", argv[3]);
		return 1;
	}
	int keepalive = strcmp(argv[4], "keepalive") == 0, procs = atoi(argv[6]);
	double secs = atof(argv[5]);
	if (procs < 1 || procs > 64)
		return 2;
	for (int i = 0; i < procs; i++) {
		files[i] = tmpfile();
		if (!files[i])
			return 1;
		if (fork() == 0)
			worker(argv[1], atoi(argv[2]), conf, keepalive, secs, argv[7], fileno(files[i]));
	}
	int ws, bad = 0;
	while (wait(&ws) > 0)
		bad |= !WIFEXITED(ws) || WEXITSTATUS(ws);
	double *all = malloc(sizeof(double) * cap);
	for (int i = 0; i < procs; i++) {
		rewind(files[i]);
		for (;;) {
			if (n == cap)
				all = realloc(all, sizeof(double) * (cap *= 2));
			size_t r = fread(all + n, sizeof(double), cap - n, files[i]);
			if (r == 0)
				break;
			n += r;
		}
	}
	if (bad || n == 0)
		return 1;
	qsort(all, n, sizeof(double), cmp_d);
	printf("requests %zu rps %.0f p50_ms %.3f p99_ms %.3f\n", n, (double)n / secs,
	       all[n / 2] * 1e3, all[n * 99 / 100] * 1e3);
	return 0;
}
