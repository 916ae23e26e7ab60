/* SPDX-License-Identifier: MIT */
/*
 * hcl: a small blocking HTTP/1.1 client over TCP or TLS (crypto/cry.h), for
 * git's smart HTTP and later the registry and S3 clients. One request at a
 * time per session; the session keeps one connection alive between requests
 * to the same origin and reconnects (once, transparently) when a reused
 * connection turns out to be closed before any response byte arrived.
 *
 * URLs: http:// or https://, a host name or [IPv6] literal, an optional port,
 * a path (with query). hcl_request() refuses a URL with userinfo: callers
 * take credentials out with hcl_url_parse() and set them on the session, so
 * no URL hcl holds or reports ever carries a secret (hcl_url_format() prints
 * one without userinfo).
 *
 * TLS: https needs trust anchors (sess->ca_pem: PEM bytes, e.g. the caller's
 * read of /etc/ssl/certs/ca-certificates.crt); there is no unverified mode.
 * The host name is sent as SNI and checked against the certificate.
 *
 * Credentials (SECRET, borrowed): sess->user/pass become an "Authorization:
 * Basic" header, sent only to the scheme, host and port of the session's
 * first request (never after a redirect to another origin). The header is
 * built in a wiped buffer; no credential reaches a log or sess->err.
 *
 * Redirects: 301/302/303/307/308 with a Location (absolute URL or "/path")
 * are followed up to HCL_MAX_REDIRECTS times, to the same scheme only (an
 * https -> http downgrade is refused); 303, and 301/302 after a POST, become
 * a GET without body.
 *
 * Bodies: at most req->max_body bytes (0 = HTTP_MAX_RESP_BODY), checked as
 * they arrive (a Content-Length over it fails at once). With req->sink set
 * a 2xx body is handed over in pieces as it arrives (nothing is kept), and
 * any other status's body is kept in resp->body (at most HCL_MAX_ERR_BODY);
 * without a sink the body is returned in resp->body. Response heads are
 * parsed by src/http.c. With req->keep_head the final response head is kept
 * in resp->head and hcl_resp_header() reads one header of it (Location of a
 * 202, WWW-Authenticate, Docker-Content-Digest, Range for the registry).
 *
 * Time: every wait is a poll() of at most sess->io_timeout_ms (0 =
 * HCL_IO_TIMEOUT_MS) and a whole request (redirects included) ends after
 * HCL_REQUEST_MS.
 *
 * Errors: -EINVAL bad URL or argument, -EHOSTUNREACH name or connect failure,
 * -ETIMEDOUT, TLS failures as cry_tls_* codes (see cry_tls_strerror),
 * -EPROTO malformed response, -E2BIG body over the cap, -ELOOP too many
 * redirects, -EPERM redirect to another scheme, -ENOMEM, or what the sink
 * returned. sess->err then holds a one-line reason without secrets.
 */
#ifndef SBS_HCL_H
#define SBS_HCL_H

#include <stddef.h>
#include <stdint.h>

#include "limits.h"

struct cry_tls_conf;
struct cry_tls;

struct hcl_url {
	int tls;                           /* https */
	char host[HCL_MAX_HOST + 3];       /* as written, [brackets] kept for IPv6 */
	char port[6];                      /* "443" / "80" when absent */
	int port_given;
	char path[HCL_MAX_URL + 1];        /* path and query, at least "/" */
	int has_userinfo;
	char user[HCL_MAX_CRED + 1];       /* SECRET, percent-decoded */
	char pass[HCL_MAX_CRED + 1];       /* SECRET, percent-decoded */
};
/* 0 or -EINVAL (or -E2BIG for an over-long part). Wipe with hcl_url_wipe(). */
int hcl_url_parse(const char *url, struct hcl_url *u);
void hcl_url_wipe(struct hcl_url *u);
/* "scheme://host[:port]path", never with userinfo. Bytes written or -ENOSPC. */
int hcl_url_format(const struct hcl_url *u, char *out, size_t cap);

struct hcl_sess {
	/* set by the caller after hcl_sess_init(), before the first request */
	const uint8_t *ca_pem;
	size_t ca_len;
	const char *user;                  /* SECRET, borrowed; NULL = no auth */
	const char *pass;                  /* SECRET, borrowed */
	int io_timeout_ms;
	const char *user_agent;            /* NULL = "sbs/<version>" */
	char err[256];                     /* the last failure's reason */
	/* private */
	int fd;
	int tls;
	char host[HCL_MAX_HOST + 3];
	char port[6];
	char auth_origin[HCL_MAX_HOST + 16];
	struct cry_tls_conf *conf;
	struct cry_tls *t;
	uint64_t deadline_ms;
	size_t roff, rlen;
	uint8_t rbuf[16384];
};
void hcl_sess_init(struct hcl_sess *s);
void hcl_sess_close(struct hcl_sess *s);

struct hcl_hdr {
	const char *name;
	const char *value;
};

typedef int (*hcl_sink_fn)(void *ctx, const uint8_t *p, size_t n);

struct hcl_req {
	struct hcl_sess *sess;
	const char *method;                /* "GET", "POST", "PUT", "HEAD", ... */
	const char *url;
	const struct hcl_hdr *hdrs;        /* extra headers; no CR, LF or NUL */
	size_t nhdrs;
	const uint8_t *body;
	size_t body_len;
	uint64_t max_body;
	hcl_sink_fn sink;                  /* NULL = collect into resp->body */
	void *sink_ctx;
	int no_redirect;
	int keep_head;                     /* keep the final response head in resp->head */
};

struct hcl_resp {
	int status;
	char content_type[128];
	uint8_t *body;                     /* malloc'd, NUL after body_len */
	size_t body_len;
	uint64_t streamed;                 /* bytes handed to the sink */
	char url[HCL_MAX_URL + 1];         /* the final URL (after redirects) */
	int redirects;
	char *head;                        /* with req->keep_head: malloc'd, NUL-terminated */
	size_t head_len;
};

int hcl_request(const struct hcl_req *r, struct hcl_resp *resp);
void hcl_resp_free(struct hcl_resp *r);
/* The value of the first response header called name (case-insensitive) of a
 * response kept with req->keep_head, trimmed, into out (cap bytes with the
 * NUL): its length, -ENOENT if absent (or no head kept), -E2BIG if longer. */
int hcl_resp_header(const struct hcl_resp *r, const char *name, char *out, size_t cap);

#endif
