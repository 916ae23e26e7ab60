/* SPDX-License-Identifier: MIT */
/*
 * The epoll loop of sbsd's API: accept, lazy TLS attach, handshake, HTTP
 * parse, dispatch, reply with back-pressure, timeouts. See server.h.
 */
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "limits.h"

enum conn_state { C_NEW, C_HANDSHAKE, C_OPEN };

struct conn {
	int fd;
	enum conn_state state;
	struct cry_tls *tls;
	struct http_parser *hp;
	struct buf out;
	size_t out_off;
	int closing;
	uint32_t events;
	int64_t deadline;          /* ms, monotonic */
	struct conn *prev, *next;  /* list of live connections */
	char peer[48];
};

static struct {
	int lfd, efd, sfd;
	int spare;                 /* reserved fd: lets us shed a connection at EMFILE */
	uint16_t port;
	srv_handler_fn handler;
	srv_tick_fn tick;
	struct cry_tls_conf *conf;
	struct conn *head;
	unsigned nconn;
	int stop;
	int wfd;                   /* srv_watch(): one extra fd, e.g. the builder's channel */
	void (*wfn)(void);
} S = { .lfd = -1, .efd = -1, .sfd = -1, .spare = -1, .wfd = -1 };

int srv_watch(int fd, void (*fn)(void))
{
	struct epoll_event e = { .events = EPOLLIN, .data.ptr = &S.wfd };

	if (S.wfd >= 0)
		epoll_ctl(S.efd, EPOLL_CTL_DEL, S.wfd, NULL);
	S.wfd = -1;
	S.wfn = NULL;
	if (fd < 0 || S.efd < 0)
		return 0;
	if (epoll_ctl(S.efd, EPOLL_CTL_ADD, fd, &e) < 0)
		return -errno;
	S.wfd = fd;
	S.wfn = fn;
	return 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int io_send(void *ctx, const uint8_t *p, size_t n)
{
	struct conn *c = ctx;
	ssize_t r = send(c->fd, p, n, MSG_NOSIGNAL);
	if (r >= 0)
		return (int)r;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return CRY_WANT_WRITE;
	return -EIO;
}

static int io_recv(void *ctx, uint8_t *p, size_t n)
{
	struct conn *c = ctx;
	ssize_t r = recv(c->fd, p, n, 0);
	if (r >= 0)
		return (int)r;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return CRY_WANT_READ;
	return -EIO;
}

static void set_events(struct conn *c, uint32_t ev)
{
	struct epoll_event e = { .events = ev, .data.ptr = c };
	if (c->events == ev)
		return;
	c->events = ev;
	epoll_ctl(S.efd, EPOLL_CTL_MOD, c->fd, &e);
}

static void conn_close(struct conn *c)
{
	epoll_ctl(S.efd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	if (c->tls)
		cry_tls_free(c->tls);
	if (c->hp) {
		http_free(c->hp);
		free(c->hp);
	}
	buf_free(&c->out);
	if (c->prev)
		c->prev->next = c->next;
	else
		S.head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	S.nconn--;
	free(c);
}

static void conn_accept(void)
{
	for (;;) {
		struct sockaddr_storage sa;
		socklen_t sl = sizeof sa;
		int fd = accept4(S.lfd, (struct sockaddr *)&sa, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if ((errno == EMFILE || errno == ENFILE) && S.spare >= 0) {
				/* Out of descriptors: accept and drop one so the listener
				 * does not stay readable and spin the loop. */
				close(S.spare);
				fd = accept4(S.lfd, NULL, NULL, SOCK_CLOEXEC);
				if (fd >= 0)
					close(fd);
				S.spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
				if (fd < 0)
					return;    /* EMFILE is reported even when the queue is empty */
				log_warn("accept: out of file descriptors, dropped a connection");
				continue;
			}
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				log_warn("accept: %s", strerror(errno));
			return;
		}
		if (S.nconn >= SRV_MAX_CONN) {
			close(fd);
			continue;
		}
		struct conn *c = calloc(1, sizeof *c);
		if (!c) {
			close(fd);
			continue;
		}
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		c->fd = fd;
		c->deadline = now_ms() + SRV_HANDSHAKE_MS;
		c->out.max = SRV_MAX_OUT;
		if (sa.ss_family == AF_INET)
			inet_ntop(AF_INET, &((struct sockaddr_in *)&sa)->sin_addr, c->peer, sizeof c->peer);
		else if (sa.ss_family == AF_INET6)
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&sa)->sin6_addr, c->peer, sizeof c->peer);
		struct epoll_event e = { .events = EPOLLIN, .data.ptr = c };
		c->events = EPOLLIN;
		if (epoll_ctl(S.efd, EPOLL_CTL_ADD, fd, &e) < 0) {
			close(fd);
			free(c);
			continue;
		}
		c->next = S.head;
		if (S.head)
			S.head->prev = c;
		S.head = c;
		S.nconn++;
	}
}

/* Queues a reply on the connection. */
static void queue_reply(struct conn *c, struct srv_reply *r, int keep_alive)
{
	char head[512];
	const char *ct = r->ctype ? r->ctype : "application/json";
	int ka = keep_alive && !r->close;
	size_t n = http_format_head(head, sizeof head, r->status, ct, r->body.len, ka);

	if (n == 0 || buf_append(&c->out, head, n) < 0 ||
	    buf_append(&c->out, r->body.data, r->body.len) < 0) {
		c->closing = 1;
		return;
	}
	if (!ka)
		c->closing = 1;
}

static void reply_error(struct conn *c, int status, const char *reason)
{
	struct srv_reply r = { .status = status, .close = 1 };
	buf_printf(&r.body, "{\"error\": \"%s\"}", reason ? reason : http_status_text(status));
	queue_reply(c, &r, 0);
	buf_free(&r.body);
}

/* 1 = all sent, 0 = would block, -1 = dead */
static int flush(struct conn *c)
{
	while (c->out_off < c->out.len) {
		size_t n = c->out.len - c->out_off;
		int w = cry_tls_write(c->tls, c->out.data + c->out_off, n > 16384 ? 16384 : n);
		if (w == CRY_WANT_WRITE || w == CRY_WANT_READ)
			return 0;
		if (w <= 0)
			return -1;
		c->out_off += (size_t)w;
	}
	c->out.len = c->out_off = 0;
	if (c->out.cap > 65536) {
		buf_free(&c->out);
		c->out.max = SRV_MAX_OUT;
	}
	return 1;
}

static void dispatch(struct conn *c)
{
	struct srv_reply r = { .status = 200 };
	S.handler(&c->hp->msg, &r);
	queue_reply(c, &r, c->hp->msg.keep_alive);
	buf_free(&r.body);
	http_reset(c->hp);
}

/* Feeds decrypted bytes to the parser; returns -1 if the connection is done. */
static int feed(struct conn *c, const uint8_t *p, size_t n)
{
	while (n > 0 && !c->closing) {
		size_t used = 0;
		int rc = http_feed(c->hp, p, n, &used);
		p += used;
		n -= used;
		if (rc == HTTP_DONE)
			dispatch(c);
		else if (rc < 0)
			reply_error(c, c->hp->err_status, c->hp->err_reason);
		else if (used == 0)
			break;
	}
	return 0;
}

static int handshake(struct conn *c)
{
	int rc;

	if (!c->tls) {
		if (cry_tls_new(&c->tls, S.conf, NULL, io_send, io_recv, c) < 0)
			return -1;
		c->state = C_HANDSHAKE;
	}
	rc = cry_tls_handshake(c->tls);
	if (rc == CRY_WANT_READ) {
		set_events(c, EPOLLIN);
		return 0;
	}
	if (rc == CRY_WANT_WRITE) {
		set_events(c, EPOLLOUT);
		return 0;
	}
	if (rc < 0) {
		log_info("tls handshake from %s refused: %s", c->peer, cry_tls_strerror(rc));
		return -1;
	}
	c->hp = malloc(sizeof *c->hp);
	if (!c->hp)
		return -1;
	http_init(c->hp, HTTP_REQUEST, HTTP_MAX_BODY);
	c->state = C_OPEN;
	return 1;
}

static void conn_io(struct conn *c)
{
	uint8_t in[16384];

	c->deadline = now_ms() + (c->state == C_OPEN ? SRV_IDLE_MS : SRV_HANDSHAKE_MS);
	if (c->state != C_OPEN) {
		int rc = handshake(c);
		if (rc < 0)
			goto dead;
		if (rc == 0)
			return;
		c->deadline = now_ms() + SRV_IDLE_MS;
	}
	for (;;) {
		int f = flush(c);
		if (f < 0)
			goto dead;
		if (f == 0) {
			set_events(c, EPOLLOUT);
			return;
		}
		if (c->closing) {
			cry_tls_close_notify(c->tls);
			goto dead;
		}
		int n = cry_tls_read(c->tls, in, sizeof in);
		if (n == CRY_WANT_READ || n == CRY_WANT_WRITE) {
			set_events(c, n == CRY_WANT_READ ? EPOLLIN : EPOLLOUT);
			return;
		}
		if (n <= 0)
			goto dead;
		feed(c, in, (size_t)n);
	}
dead:
	conn_close(c);
}

static void expire(void)
{
	int64_t t = now_ms();
	struct conn *c = S.head, *next;

	for (; c; c = next) {
		next = c->next;
		if (c->deadline <= t)
			conn_close(c);
	}
}

static int handle_signals(void)
{
	struct signalfd_siginfo si;
	int stop = 0;

	while (read(S.sfd, &si, sizeof si) == (ssize_t)sizeof si) {
		if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
			stop = 1;
	}
	return stop;
}

int srv_open(const struct srv_cfg *cfg, struct cry_tls_conf *conf)
{
	struct sockaddr_storage sa;
	socklen_t sl;
	int one = 1;
	sigset_t set;

	memset(&sa, 0, sizeof sa);
	if (inet_pton(AF_INET, cfg->listen, &((struct sockaddr_in *)&sa)->sin_addr) == 1) {
		((struct sockaddr_in *)&sa)->sin_family = AF_INET;
		((struct sockaddr_in *)&sa)->sin_port = htons(cfg->port);
		sl = sizeof(struct sockaddr_in);
	} else if (inet_pton(AF_INET6, cfg->listen, &((struct sockaddr_in6 *)&sa)->sin6_addr) == 1) {
		((struct sockaddr_in6 *)&sa)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)&sa)->sin6_port = htons(cfg->port);
		sl = sizeof(struct sockaddr_in6);
	} else {
		log_err("listen address '%s' is not a numeric IP address", cfg->listen);
		return -EINVAL;
	}
	S.lfd = socket(sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (S.lfd < 0)
		return -errno;
	setsockopt(S.lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(S.lfd, (struct sockaddr *)&sa, sl) < 0 || listen(S.lfd, 1024) < 0) {
		int e = errno;
		log_err("cannot listen on %s:%u: %s", cfg->listen, cfg->port, strerror(e));
		close(S.lfd);
		return -e;
	}
	sl = sizeof sa;
	getsockname(S.lfd, (struct sockaddr *)&sa, &sl);
	S.port = ntohs(sa.ss_family == AF_INET ? ((struct sockaddr_in *)&sa)->sin_port
					       : ((struct sockaddr_in6 *)&sa)->sin6_port);
	S.efd = epoll_create1(EPOLL_CLOEXEC);
	S.spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	S.sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (S.efd < 0 || S.sfd < 0)
		return -errno;
	struct epoll_event e = { .events = EPOLLIN, .data.ptr = &S.lfd };
	epoll_ctl(S.efd, EPOLL_CTL_ADD, S.lfd, &e);
	e.data.ptr = &S.sfd;
	epoll_ctl(S.efd, EPOLL_CTL_ADD, S.sfd, &e);
	S.handler = cfg->handler;
	S.tick = cfg->tick;
	S.conf = conf;
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

int srv_run(void)
{
	struct epoll_event ev[64];
	int64_t last_tick = now_ms();

	while (!S.stop) {
		int n = epoll_wait(S.efd, ev, 64, 1000);
		if (n < 0 && errno != EINTR)
			return -errno;
		for (int i = 0; i < n; i++) {
			if (ev[i].data.ptr == &S.lfd) {
				conn_accept();
			} else if (ev[i].data.ptr == &S.wfd) {
				if (S.wfn)
					S.wfn();
			} else if (ev[i].data.ptr == &S.sfd) {
				if (handle_signals())
					S.stop = 1;
				if (S.tick)
					S.tick();
			} else {
				conn_io(ev[i].data.ptr);
			}
		}
		if (now_ms() - last_tick >= 1000) {
			last_tick = now_ms();
			expire();
			if (S.tick)
				S.tick();
		}
	}
	while (S.head)
		conn_close(S.head);
	return 0;
}

void srv_stop(void)
{
	S.stop = 1;
}

void srv_set_conf(struct cry_tls_conf *conf)
{
	if (S.conf)
		cry_tls_conf_put(S.conf);
	S.conf = conf;
}

uint16_t srv_port(void)
{
	return S.port;
}
