/* SPDX-License-Identifier: MIT */
/*
 * server: the mTLS HTTP/1.1 front of sbsd. One thread, one epoll loop, any
 * number of keep-alive connections (up to SRV_MAX_CONN), no thread per
 * connection. A TCP connection costs only its fd and a small struct until its
 * first bytes arrive; then a TLS engine (client certificate REQUIRED, checked
 * by the conf) and an HTTP parser are attached. Handshakes must finish within
 * SRV_HANDSHAKE_MS, idle keep-alive connections close after SRV_IDLE_MS.
 *
 * A request that fails to parse gets its 4xx and the connection is closed
 * after the reply; other connections never notice. Complete requests go to
 * the handler, which fills a srv_reply; the reply is queued and flushed with
 * back-pressure (no more requests are read from a connection while its
 * previous replies are unsent).
 *
 * The TLS conf can be replaced at any time (srv_set_conf): new connections use
 * the new one, live ones keep theirs until they close.
 */
#ifndef SBS_SERVER_H
#define SBS_SERVER_H

#include <stdint.h>
#include "cry.h"
#include "http.h"
#include "util.h"

struct srv_reply {
	int status;
	const char *ctype;      /* static string; default application/json */
	struct buf body;
	int close;              /* close the connection after this reply */
};

typedef void (*srv_handler_fn)(const struct http_msg *req, struct srv_reply *rep);
/* Called at least once a second and whenever a child process exits. */
typedef void (*srv_tick_fn)(void);

struct srv_cfg {
	const char *listen;     /* numeric IPv4/IPv6 address */
	uint16_t port;
	srv_handler_fn handler;
	srv_tick_fn tick;
};

/* Binds and listens; 0 or -errno (message logged). */
int srv_open(const struct srv_cfg *cfg, struct cry_tls_conf *conf);
/* Runs until srv_stop() or SIGTERM/SIGINT; returns 0. */
int srv_run(void);
void srv_stop(void);
/* Takes ownership of conf; the previous one is released when unused. */
void srv_set_conf(struct cry_tls_conf *conf);
/* Watches one more fd (readable -> fn() from the loop); fd < 0 stops
 * watching. The caller closes the fd after unwatching it. */
int srv_watch(int fd, void (*fn)(void));
/* The port actually bound (useful when cfg->port was 0). */
uint16_t srv_port(void);

#endif
