/* SPDX-License-Identifier: MIT */
/*
 * sbs client transport: one HTTPS request per connection, as build.py makes it
 * with python-requests (PROTOCOL §7). TCP to HOSTNAME:CICD_PORT (every address
 * getaddrinfo returns, in order), mutual TLS with the client certificate + key
 * file, the server checked against CAPATH and HOSTNAME unless verification is
 * off, a JSON body with Content-Type: application/json on every method, and the
 * response read with the http parser (at most HTTP_MAX_RESP_BODY bytes) and
 * parsed as JSON whatever its Content-Type. The socket is non-blocking; every
 * wait is a poll() bounded by CLI_TIMEOUT_MS (or SBS_TIMEOUT). The client key is read, handed
 * to the TLS configuration and wiped.
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cry.h"
#include "http.h"
#include "util.h"

struct conn {
	int fd;
	struct cry_tls_conf *conf;
	struct cry_tls *tls;
};

static int io_send(void *ctx, const uint8_t *p, size_t n)
{
	struct conn *k = ctx;

	for (;;) {
		ssize_t w = send(k->fd, p, n, MSG_NOSIGNAL);

		if (w >= 0)
			return (int)w;
		if (errno == EINTR)
			continue;
		return errno == EAGAIN || errno == EWOULDBLOCK ? CRY_WANT_WRITE : -errno;
	}
}

static int io_recv(void *ctx, uint8_t *p, size_t n)
{
	struct conn *k = ctx;

	for (;;) {
		ssize_t r = recv(k->fd, p, n, 0);

		if (r >= 0)
			return (int)r;
		if (errno == EINTR)
			continue;
		return errno == EAGAIN || errno == EWOULDBLOCK ? CRY_WANT_READ : -errno;
	}
}

static int timeout_ms = CLI_TIMEOUT_MS;

int cli_timeout_init(void)
{
	const char *v = getenv("SBS_TIMEOUT");
	uint64_t sec;

	if (!v)
		return 0;
	if (util_parse_u64(v, strlen(v), CLI_MAX_TIMEOUT_S, &sec) < 0 || sec == 0) {
		log_err("SBS_TIMEOUT must be a whole number of seconds from 1 to %d",
			CLI_MAX_TIMEOUT_S);
		return -EINVAL;
	}
	timeout_ms = (int)sec * 1000;
	return 0;
}

/* Waits until the socket is ready for what a CRY_WANT_* code asks. */
static int wait_io(int fd, int want)
{
	struct pollfd p = { .fd = fd, .events = want == CRY_WANT_WRITE ? POLLOUT : POLLIN };
	int r;

	do
		r = poll(&p, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	return r == 0 ? -ETIMEDOUT : 0;
}

static int connect_one(const struct addrinfo *ai)
{
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			ai->ai_protocol);
	int err = 0, rc;
	socklen_t l = sizeof err;

	if (fd < 0)
		return -errno;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		return fd;
	rc = errno == EINPROGRESS ? wait_io(fd, CRY_WANT_WRITE) : -errno;
	if (rc == 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l) < 0)
		rc = -errno;
	if (rc == 0 && err)
		rc = -err;
	if (rc < 0) {
		close(fd);
		return rc;
	}
	return fd;
}

static int tcp_connect(const struct cli *c)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM };
	struct addrinfo *res = NULL;
	int rc = getaddrinfo(c->hostname, c->port, &hints, &res);

	if (rc != 0) {
		log_err("cannot resolve HOSTNAME %s: %s; check HOSTNAME in %s (or /etc/hosts)",
			c->hostname, gai_strerror(rc), c->env_path);
		return -EHOSTUNREACH;
	}
	rc = -EHOSTUNREACH;
	for (const struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		rc = connect_one(ai);
		if (rc >= 0)
			break;
	}
	freeaddrinfo(res);
	if (rc < 0)
		log_err("NewConnectionError: cannot connect to %s:%s: %s; is the server running "
			"and are HOSTNAME and CICD_PORT in %s right?", c->hostname, c->port,
			strerror(-rc), c->env_path);
	return rc;
}

static int tls_setup(const struct cli *c, struct conn *k, int verify)
{
	uint8_t *ca = NULL, *ck = NULL;
	size_t ca_len = 0, ck_len = 0;
	int rc;

	rc = cli_read(c->crt_key, CERT_MAX_PEM + KEY_MAX_PEM, "client certificate + key file",
		      &ck, &ck_len);
	if (rc == -ENOENT)
		log_err("create it with sbs create-client-cert --env %s (or set CLIENT_CRT_KEY)",
			c->env_path);
	if (rc == 0 && verify)
		rc = cli_read(c->capath, CERT_MAX_PEM * 4, "CA certificate (CAPATH)", &ca, &ca_len);
	if (rc < 0)
		goto out;
	rc = cry_tls_client_conf(&k->conf, ca, ca_len, ck, ck_len, util_rng, NULL);
	if (rc < 0) {
		log_err("cannot set up TLS with %s%s%s: %s", c->crt_key, verify ? " and " : "",
			verify ? c->capath : "", cry_tls_strerror(rc));
		goto out;
	}
	rc = cry_tls_new(&k->tls, k->conf, c->hostname, io_send, io_recv, k);
	if (rc < 0)
		log_err("cannot start TLS: %s", cry_tls_strerror(rc));
out:
	wipe_free(ck, ck_len);
	free(ca);
	return rc;
}

static void tls_error(const struct cli *c, const char *api, int rc)
{
	int dropped = rc == -EIO || rc == CRY_CLOSED || rc == -EPERM;

	if (rc == -ETIMEDOUT)
		log_err("%s: timed out after %d s waiting for %s:%s", api, timeout_ms / 1000,
			c->hostname, c->port);
	else
		log_err("build: %s SSLError [upload a signed server certificate to HPSB if you "
			"haven't]: %s%s", api, cry_tls_strerror(rc), dropped ?
			" (the server ended the handshake: does it trust our client certificate? "
			"It must be deployed with CLIENT_CA from sbs instance-env)" : "");
}

static int tls_handshake(struct conn *k)
{
	int rc;

	while ((rc = cry_tls_handshake(k->tls)) == CRY_WANT_READ || rc == CRY_WANT_WRITE)
		if ((rc = wait_io(k->fd, rc)) < 0)
			break;
	return rc;
}

static int tls_write_all(struct conn *k, const uint8_t *p, size_t n)
{
	while (n > 0) {
		int w = cry_tls_write(k->tls, p, n);

		if (w == CRY_WANT_READ || w == CRY_WANT_WRITE) {
			if ((w = wait_io(k->fd, w)) < 0)
				return w;
			continue;
		}
		if (w <= 0)
			return w < 0 ? w : -EIO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Reads until the parser has one whole response (or the peer closes). */
static int read_response(struct conn *k, struct http_parser *hp)
{
	uint8_t buf[16384];

	for (;;) {
		int r = cry_tls_read(k->tls, buf, sizeof buf);
		size_t off = 0, used;

		if (r == CRY_WANT_READ || r == CRY_WANT_WRITE) {
			if ((r = wait_io(k->fd, r)) < 0)
				return r;
			continue;
		}
		if (r == 0 || r == CRY_CLOSED)
			return http_feed_eof(hp) == HTTP_DONE ? 0 : -ECONNRESET;
		if (r < 0)
			return r;
		while (off < (size_t)r) {
			int st = http_feed(hp, buf + off, (size_t)r - off, &used);

			if (st < 0)
				return -EPROTO;
			if (st == HTTP_DONE)
				return 0;
			if (used == 0)
				return -EPROTO;
			off += used;
		}
	}
}

static int build_head(const struct cli *c, struct buf *b, const char *method,
		      const char *path, size_t body_len)
{
	int rc;

	rc = buf_printf(b, "%s %s HTTP/1.1\r\nHost: %s", method, path, c->hostname);
	if (rc == 0 && strcmp(c->port, "443") != 0)
		rc = buf_printf(b, ":%s", c->port);
	if (rc == 0)
		rc = buf_printf(b, "\r\nUser-Agent: sbs/%s\r\nAccept-Encoding: identity\r\n"
				"Accept: */*\r\nConnection: keep-alive\r\n"
				"Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
				cli_version(), body_len);
	return rc;
}

static int exchange(struct cli *c, struct conn *k, const char *method, const char *path,
		    const char *body, struct http_parser *hp)
{
	struct buf req = { .secret = 1 };
	size_t blen = strlen(body);
	int rc;

	rc = build_head(c, &req, method, path, blen);
	if (rc == 0)
		rc = buf_append(&req, body, blen);
	if (rc < 0) {
		log_err("out of memory");
		goto out;
	}
	rc = tls_handshake(k);
	if (rc < 0) {
		tls_error(c, c->cmd, rc);
		goto out;
	}
	rc = tls_write_all(k, req.data, req.len);
	if (rc == 0)
		rc = read_response(k, hp);
	if (rc == -EPROTO)
		log_err("%s: malformed HTTP response from %s:%s: %s", c->cmd, c->hostname, c->port,
			hp->err_reason ? hp->err_reason : "unexpected data");
	else if (rc < 0 && rc != -ETIMEDOUT)
		log_err("%s: connection to %s:%s failed: %s", c->cmd, c->hostname, c->port,
			rc == -ECONNRESET ? "closed before a whole response" : cry_tls_strerror(rc));
	else if (rc < 0)
		tls_error(c, c->cmd, rc);
	else
		cry_tls_close_notify(k->tls);
out:
	buf_free(&req);
	return rc;
}

int cli_request(struct cli *c, const char *method, const char *path, const char *body,
		int verify, struct cli_resp *r)
{
	struct conn k = { .fd = -1 };
	struct http_parser hp;
	const char *err = NULL;
	int rc;

	memset(r, 0, sizeof *r);
	http_init(&hp, HTTP_RESPONSE, HTTP_MAX_RESP_BODY);
	if (c->verbose)
		log_info("%s: %s https://%s:%s%s%s", c->cmd, method, c->hostname, c->port, path,
			 verify ? "" : " (server not verified)");
	rc = tcp_connect(c);
	if (rc < 0)
		goto out;
	k.fd = rc;
	rc = tls_setup(c, &k, verify);
	if (rc == 0)
		rc = exchange(c, &k, method, path, body ? body : "\"\"", &hp);
	if (rc < 0)
		goto out;
	r->status = hp.msg.status;
	r->body = hp.msg.body;
	r->len = hp.msg.body_len;
	hp.msg.body = NULL;
	hp.msg.body_len = 0;
	if (r->len && json_parse((const char *)r->body, r->len, &r->j, &err) < 0)
		r->j = NULL;
	if (c->verbose)
		log_info("%s: HTTP %d, %zu bytes%s", c->cmd, r->status, r->len,
			 r->j ? "" : " (not JSON)");
out:
	http_free(&hp);
	cry_tls_free(k.tls);
	cry_tls_conf_put(k.conf);
	if (k.fd >= 0)
		close(k.fd);
	return rc;
}

int cli_request_json(struct cli *c, const char *method, const char *path, const json *body,
		     int verify, struct cli_resp *r)
{
	char *txt = json_print_py(body, 0);
	int rc;

	if (!txt) {
		log_err("out of memory");
		return -ENOMEM;
	}
	if (c->verbose > 1) {
		json *m = cli_mask(body);
		char *mt = m ? json_print_py(m, 4) : NULL;

		log_info("%s: request=%s", c->cmd, mt ? mt : "(out of memory)");
		free(mt);
		json_free_secret(m);
	}
	rc = cli_request(c, method, path, txt, verify, r);
	wipe_free(txt, strlen(txt));
	return rc;
}

void cli_resp_free(struct cli_resp *r)
{
	json_free_secret(r->j);
	wipe_free(r->body, r->len);
	memset(r, 0, sizeof *r);
}

void cli_log_body(const char *api, const struct cli_resp *r)
{
	char t[513];
	size_t n = r->len < sizeof t - 1 ? r->len : sizeof t - 1;

	/* the server's text, without control characters or trailing space */
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = r->body[i];

		t[i] = ch == '\n' || ch == '\t' || (ch >= 0x20 && ch != 0x7f) ? (char)ch : '?';
	}
	while (n > 0 && (t[n - 1] == '\n' || t[n - 1] == ' ' || t[n - 1] == '\t'))
		n--;
	t[n] = 0;
	log_err("%s: the server answered HTTP %d%s %s", api, r->status,
		r->j || !n ? ":" : " with a non-JSON body:", n ? t : "(empty)");
}

int cli_print_resp(const char *api, const struct cli_resp *r)
{
	char *txt;

	if (!r->j) {
		cli_log_body(api, r);
		return -EBADMSG;
	}
	txt = json_print_py(r->j, 4);
	if (!txt) {
		log_err("out of memory");
		return -ENOMEM;
	}
	printf("%s\n", txt);
	free(txt);
	if (r->status >= 400) {
		const char *e = json_get_str(r->j, "error");

		log_err("%s: the server answered HTTP %d%s%s", api, r->status, e ? ": " : "",
			e ? e : "");
		return -EPROTO;
	}
	return 0;
}
