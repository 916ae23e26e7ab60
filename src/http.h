/* SPDX-License-Identifier: MIT */
/*
 * http: an incremental HTTP/1.1 message parser (requests for sbsd, responses
 * for the sbs client) and response/request head formatting. No I/O.
 *
 * Feed it bytes as they arrive; it never reads past the end of a message, so
 * pipelined data stays with the caller. Limits (src/limits.h) are enforced as
 * bytes arrive: head over HTTP_MAX_HEAD -> 431, body over max_body -> 413, bad
 * Content-Length (sign, non-digit, overflow, duplicates that differ) -> 400,
 * bad chunk framing -> 400, both Content-Length and chunked -> 400, unknown
 * method -> 501, HTTP version other than 1.0/1.1 -> 505, target too long -> 414.
 * On error the parser stops; err_status and err_reason (static text, safe to
 * send back) say why, and the connection must be closed after the reply.
 *
 * Ownership: the decoded body lives in the parser (malloc'd, capped by
 * max_body) until http_reset() or http_free(), which wipe it (bodies carry
 * secrets). A caller may take msg.body (free() it) and set it to NULL.
 *
 * Error codes: -EBADMSG (400, 411), -E2BIG (413, 414, 431), -ENOSYS (501,
 * 505), -ENOMEM (500). A response parser returns the same (err_status then
 * says what was wrong with the server's response). A 1xx response is a whole
 * message: reset and feed on for the final one.
 */
#ifndef SBS_HTTP_H
#define SBS_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include "limits.h"

enum http_method { HTTP_GET = 1, HTTP_POST, HTTP_PUT, HTTP_PATCH, HTTP_DELETE, HTTP_HEAD, HTTP_OPTIONS };
enum http_kind { HTTP_REQUEST = 0, HTTP_RESPONSE = 1 };
enum http_rc { HTTP_MORE = 0, HTTP_DONE = 1 };

struct http_msg {
	/* request */
	enum http_method method;
	char target[HTTP_MAX_TARGET + 1];
	/* response */
	int status;
	/* both */
	int minor;                     /* HTTP/1.<minor> */
	int keep_alive;                /* after this message */
	int chunked;
	int has_length;
	uint64_t content_length;
	char content_type[128];
	uint8_t *body;                 /* decoded body, NUL-terminated; NULL if empty */
	size_t body_len;
};

struct http_parser {
	enum http_kind kind;
	size_t max_body;
	int head_request;              /* response to a HEAD: no body */
	struct http_msg msg;
	int err_status;                /* set when http_feed fails */
	const char *err_reason;
	/* private state */
	int state;
	size_t head_len, nheaders;
	char line[HTTP_MAX_HEAD + 1];
	size_t line_len;
	uint64_t chunk_left;
	size_t body_cap;
	unsigned flags;                /* Connection / Transfer-Encoding seen */
	int err_rc;                    /* what http_feed returns once failed */
	uint8_t *spare;                /* a wiped small body buffer kept for reuse */
	size_t spare_cap;
};

void http_init(struct http_parser *p, enum http_kind kind, size_t max_body);
/* Consumes bytes from in[0..len); *used tells how many. Returns HTTP_DONE when
 * a whole message is in p->msg, HTTP_MORE when it needs more input, or a
 * negative errno with err_status/err_reason set. A response without length
 * and not chunked reads to EOF: call http_feed_eof() when the peer closes. */
int http_feed(struct http_parser *p, const uint8_t *in, size_t len, size_t *used);
/* HTTP_DONE if EOF completes the message (or it was complete); -ENODATA if
 * no byte of a message had arrived (an idle close); -EPIPE if cut short. */
int http_feed_eof(struct http_parser *p);
/* Ready for the next message on the same connection (frees the body). Keeps
 * kind and max_body; clears head_request. */
void http_reset(struct http_parser *p);
void http_free(struct http_parser *p);

const char *http_method_name(enum http_method m);
const char *http_status_text(int status);
/* "HTTP/1.1 <status> <text>\r\nContent-Type: ..\r\nContent-Length: ..\r\n
 * Connection: keep-alive|close\r\n\r\n". Returns bytes written (< cap) or 0. */
size_t http_format_head(char *out, size_t cap, int status, const char *content_type,
			size_t body_len, int keep_alive);

#endif
