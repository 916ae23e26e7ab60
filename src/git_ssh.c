/* SPDX-License-Identifier: MIT */
/*
 * git_ssh: the SSH transport of git (contract in git.h): one exec channel
 * running git-upload-pack, over libssh2 1.10 with its mbedTLS backend
 * (mk/ssh2.mk). This is the only file that includes libssh2.h.
 *
 * libssh2 runs in non-blocking mode; every wait is a poll(2) bounded by the
 * per-wait timeout and the session deadline (GIT_SSH_SESSION_MS), so a
 * silent, slow or endless server ends in -ETIMEDOUT or at a byte limit of
 * the caller. The algorithms offered are narrowed to what libssh2 1.10 with
 * mbedTLS does well and OpenSSH and GitHub speak: ECDH on P-256/P-384 (then
 * finite-field DH with SHA-2), ECDSA host keys, AES-CTR and HMAC-SHA2. When
 * the pin file holds a key for the host, only that key's type is offered,
 * so a server with several host keys keeps presenting the pinned one.
 *
 * Secrets: the deploy key. libssh2 parses it from a NUL-terminated copy of
 * ours (wiped); the session's allocator wipes every block libssh2 frees
 * (malloc_usable_size bytes). Its form and public half are checked first by
 * git_sshkey.c. Errors name the host, user and key type only.
 *
 * Randomness: libssh2's mbedTLS glue seeds its own CTR-DRBG from an entropy
 * context; our mbedTLS has no platform entropy, so mk/ssh2.mk renames the
 * glue's mbedtls_entropy_func to sbs_ssh2_entropy below (getrandom(2)). A
 * session is refused unless the seeding at libssh2_init drew from it and no
 * draw ever failed (libssh2 would otherwise go on with an unseeded DRBG).
 *
 * A build without mk/ssh2.mk (no libssh2.h among the deps) has stubs here:
 * git_ssh_open fails with -ENOTSUP saying so (git_sshkey.c is unaffected).
 */
#include "git.h"

#include <errno.h>
#include <malloc.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#if __has_include(<libssh2.h>)
#define SBS_HAVE_LIBSSH2 1
#include <libssh2.h>
#else
#define SBS_HAVE_LIBSSH2 0
#endif

#define KEX_PREF "ecdh-sha2-nistp256,ecdh-sha2-nistp384,diffie-hellman-group14-sha256," \
		 "diffie-hellman-group16-sha512,diffie-hellman-group18-sha512," \
		 "diffie-hellman-group-exchange-sha256"
#define HOSTKEY_PREF "ecdsa-sha2-nistp256,ecdsa-sha2-nistp384"
#define CIPHER_PREF "aes256-ctr,aes192-ctr,aes128-ctr"
#define MAC_PREF "hmac-sha2-256,hmac-sha2-512"
#define MAX_TYPE GIT_SSH_MAX_TYPE
#define CLOSE_MS 2000           /* the polite goodbye, bounded */

#if SBS_HAVE_LIBSSH2

struct git_ssh {
	int fd;
	int inited;                 /* libssh2_init done (libssh2_exit owed) */
	int up;                     /* handshake done: a disconnect message may be sent */
	LIBSSH2_SESSION *sess;
	LIBSSH2_CHANNEL *ch;
	int timeout_ms;
	int werr;                   /* the last failed wait's -errno */
	int64_t deadline;           /* CLOCK_MONOTONIC ms */
	size_t elen;
	uint8_t eraw[GIT_MAX_MSG];  /* the start of the server's stderr */
	char etxt[GIT_MAX_MSG + 1];
	char name[GIT_MAX_PATH + HCL_MAX_HOST + GIT_SSH_MAX_USER + 32];
};

/* ---- randomness for libssh2's DRBG (see the top) ----------------------------- */

int sbs_ssh2_entropy(void *data, unsigned char *out, size_t len);
static int entropy_draws, entropy_failed;

int sbs_ssh2_entropy(void *data, unsigned char *out, size_t len)
{
	(void)data;
	entropy_draws++;
	if (util_rng(NULL, out, len) < 0) {
		entropy_failed = 1;
		return -0x003C;         /* MBEDTLS_ERR_ENTROPY_SOURCE_FAILED */
	}
	return 0;
}

/* ---- libssh2's allocator: every freed block is wiped --------------------------
 * Plain malloc blocks (libssh2's mbedTLS glue frees some of them with
 * mbedtls_free, which is free(3) in our build), zeroed when allocated: the
 * glue copies a PEM key into a block one byte longer and hands that byte,
 * never written, to mbedtls_pk_parse_key, which needs it to be NUL. */

static void *ss_alloc(size_t n, void **abstract)
{
	(void)abstract;
	return calloc(1, n ? n : 1);
}

static void ss_free(void *p, void **abstract)
{
	(void)abstract;
	if (p)
		wipe(p, malloc_usable_size(p));
	free(p);
}

static void *ss_realloc(void *p, size_t n, void **abstract)
{
	size_t old;
	void *q;

	if (!p)
		return ss_alloc(n, abstract);
	old = malloc_usable_size(p);
	if (!(q = malloc(n ? n : 1)))
		return NULL;
	memcpy(q, p, old < n ? old : n);
	ss_free(p, abstract);
	return q;
}

/* ---- waiting ------------------------------------------------------------------ */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for the socket in the direction(s) libssh2 is blocked on. */
static int wait_io(struct git_ssh *s)
{
	int dir = libssh2_session_block_directions(s->sess), r;
	int64_t left = s->deadline - now_ms();
	struct pollfd p = { .fd = s->fd, .events = 0 };

	if (dir & LIBSSH2_SESSION_BLOCK_INBOUND || dir == 0)
		p.events |= POLLIN;
	if (dir & LIBSSH2_SESSION_BLOCK_OUTBOUND)
		p.events |= POLLOUT;
	do {
		r = left <= 0 ? 0 : poll(&p, 1, left < s->timeout_ms ? (int)left : s->timeout_ms);
	} while (r < 0 && errno == EINTR);
	s->werr = r < 0 ? -errno : r == 0 ? -ETIMEDOUT : 0;
	return s->werr;
}

/* Repeats a libssh2 call while it would block; a failed wait ends the loop
 * with s->werr set (and rc = LIBSSH2_ERROR_TIMEOUT). */
#define RETRY(s, rc, call) \
	do { (s)->werr = 0; \
	     while (((rc) = (call)) == LIBSSH2_ERROR_EAGAIN) \
		     if (wait_io(s) < 0) { (rc) = LIBSSH2_ERROR_TIMEOUT; break; } \
	} while (0)

/* libssh2's last error text (static strings in libssh2), sanitised. */
static const char *ss_errtxt(struct git_ssh *s, char *out, size_t cap)
{
	char *m = NULL;
	int ml = 0;

	libssh2_session_last_error(s->sess, &m, &ml, 0);
	git_sanitize((const uint8_t *)(m ? m : ""), m && ml > 0 ? (size_t)ml : 0, out, cap);
	return out;
}

static int ss_fail(struct git_ssh *s, int rc, const char *what, char *err, size_t errcap)
{
	char m[GIT_MAX_MSG + 1];

	if (s->werr)
		return git_seterr(err, errcap, s->werr, "git: %s with %s: %s", what, s->name,
				  s->werr == -ETIMEDOUT ? "timed out" : strerror(-s->werr));
	return git_seterr(err, errcap, -EPROTO, "git: %s with %s failed: %s (libssh2 %d)", what,
			  s->name, ss_errtxt(s, m, sizeof m), rc);
}

/* ---- the connection ----------------------------------------------------------- */

static int connect_one(struct git_ssh *s, const struct addrinfo *a)
{
	int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
	struct pollfd p = { .events = POLLOUT };
	int r, e = 0;
	socklen_t el = sizeof e;
	int64_t left;

	if (fd < 0)
		return -errno;
	if (connect(fd, a->ai_addr, a->ai_addrlen) < 0) {
		if (errno != EINPROGRESS) {
			e = errno;
			close(fd);
			return -e;
		}
		p.fd = fd;
		left = s->deadline - now_ms();
		do {
			r = left <= 0 ? 0 : poll(&p, 1, left < s->timeout_ms ? (int)left : s->timeout_ms);
		} while (r < 0 && errno == EINTR);
		if (r <= 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) < 0 || e) {
			e = r == 0 ? ETIMEDOUT : r < 0 ? errno : e ? e : EIO;
			close(fd);
			return -e;
		}
	}
	s->fd = fd;
	return 0;
}

static int tcp_connect(struct git_ssh *s, const struct git_ssh_url *u, char *err, size_t errcap)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICSERV }, *res = NULL;
	char port[8];
	int rc = -EHOSTUNREACH;

	snprintf(port, sizeof port, "%u", u->port);
	if (getaddrinfo(u->host, port, &hints, &res) != 0 || !res)
		return git_seterr(err, errcap, -EHOSTUNREACH, "git: cannot resolve %s", u->host);
	for (const struct addrinfo *a = res; a && s->fd < 0; a = a->ai_next)
		rc = connect_one(s, a);
	freeaddrinfo(res);
	if (s->fd < 0)
		return git_seterr(err, errcap, rc, "git: cannot connect to %s:%u: %s", u->host,
				  u->port, rc == -ETIMEDOUT ? "timed out" : strerror(-rc));
	return 0;
}

static int set_prefs(struct git_ssh *s, const char *hostkeys)
{
	static const struct { int m; const char *v; } tab[] = {
		{ LIBSSH2_METHOD_KEX, KEX_PREF }, { LIBSSH2_METHOD_CRYPT_CS, CIPHER_PREF },
		{ LIBSSH2_METHOD_CRYPT_SC, CIPHER_PREF }, { LIBSSH2_METHOD_MAC_CS, MAC_PREF },
		{ LIBSSH2_METHOD_MAC_SC, MAC_PREF }, { LIBSSH2_METHOD_COMP_CS, "none" },
		{ LIBSSH2_METHOD_COMP_SC, "none" },
	};

	for (size_t i = 0; i < sizeof tab / sizeof *tab; i++)
		if (libssh2_session_method_pref(s->sess, tab[i].m, tab[i].v) < 0)
			return -ENOTSUP;
	return libssh2_session_method_pref(s->sess, LIBSSH2_METHOD_HOSTKEY, hostkeys) < 0 ?
	       -ENOTSUP : 0;
}

/* libssh2 up, TCP, handshake (the key exchange verifies the host key's
 * signature), then the pin check. */
static int handshake(struct git_ssh *s, const struct git_ssh_url *u, const char *pins,
		     char host_key[static GIT_SSH_HOSTKEY_LEN], char *err, size_t errcap)
{
	char name[HCL_MAX_HOST + 16], pinned[MAX_TYPE + 1], m[GIT_MAX_MSG + 1];
	const char *hk;
	size_t hl = 0;
	int rc, type;

	entropy_draws = entropy_failed = 0;
	if (libssh2_init(0) != 0)
		return git_seterr(err, errcap, -EIO, "git: libssh2 did not start");
	s->inited = 1;
	if (entropy_draws == 0 || entropy_failed)
		return git_seterr(err, errcap, -EIO, "git: no randomness for SSH (getrandom failed)");
	s->sess = libssh2_session_init_ex(ss_alloc, ss_free, ss_realloc, NULL);
	if (!s->sess)
		return git_seterr(err, errcap, -ENOMEM, "out of memory");
	libssh2_session_set_blocking(s->sess, 0);
	git_ssh_pin_name(u, name, sizeof name);
	git_ssh_pin_type(pins, name, pinned);
	if (set_prefs(s, pinned[0] ? pinned : HOSTKEY_PREF) < 0)
		return git_seterr(err, errcap, -ENOTSUP, "git: libssh2 lacks the SSH algorithms we "
				  "need%s%s", pinned[0] ? " or the pinned key type " : "", pinned);
	if ((rc = tcp_connect(s, u, err, errcap)) < 0)
		return rc;
	RETRY(s, rc, libssh2_session_handshake(s->sess, s->fd));
	if (rc == LIBSSH2_ERROR_KEX_FAILURE && pinned[0] && !s->werr)
		return git_seterr(err, errcap, -EPROTO, "git: SSH handshake with %s failed: %s "
				  "(libssh2 %d; only the pinned host key type %s was offered)", s->name,
				  ss_errtxt(s, m, sizeof m), rc, pinned);
	if (rc != 0)
		return ss_fail(s, rc, "SSH handshake", err, errcap);
	s->up = 1;
	hk = libssh2_session_hostkey(s->sess, &hl, &type);
	if (!hk || hl == 0)
		return git_seterr(err, errcap, -EPROTO, "git: %s sent no host key", s->name);
	if (entropy_failed)
		return git_seterr(err, errcap, -EIO, "git: no randomness for SSH (getrandom failed)");
	git_ssh_fingerprint((const uint8_t *)hk, hl, host_key);
	return git_ssh_pin(pins, name, (const uint8_t *)hk, hl, err, errcap);
}

/* libssh2 1.10 reads the private key with strlen() when it signs: it gets
 * a NUL-terminated copy (SECRET, wiped). */
static int auth(struct git_ssh *s, const struct git_ssh_url *u, const struct git_fetch_opts *o,
		const char *pub, size_t publen, char *err, size_t errcap)
{
	char m[GIT_MAX_MSG + 1], *priv = malloc(o->ssh_key_len + 1);
	int rc;

	if (!priv)
		return git_seterr(err, errcap, -ENOMEM, "out of memory");
	memcpy(priv, o->ssh_key, o->ssh_key_len);
	priv[o->ssh_key_len] = 0;
	RETRY(s, rc, libssh2_userauth_publickey_frommemory(s->sess, u->user, strlen(u->user), pub,
							    publen, priv, o->ssh_key_len, NULL));
	wipe_free(priv, o->ssh_key_len + 1);
	if (rc == 0)
		return 0;
	if (s->werr)
		return ss_fail(s, rc, "SSH authentication", err, errcap);
	if (rc == LIBSSH2_ERROR_FILE)
		return git_seterr(err, errcap, -EINVAL, "git: the deploy key could not be read "
				  "(libssh2 1.10 with mbedTLS reads ECDSA P-256/P-384 keys in PEM or "
				  "OpenSSH form and RSA keys in PEM form)");
	if (rc == LIBSSH2_ERROR_AUTHENTICATION_FAILED || rc == LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED)
		return git_seterr(err, errcap, -EACCES, "git: %s refused the deploy key for user %s",
				  s->name, u->user);
	return git_seterr(err, errcap, -EACCES, "git: SSH authentication as %s with %s failed: "
			  "%s (libssh2 %d)", u->user, s->name, ss_errtxt(s, m, sizeof m), rc);
}

static int start(struct git_ssh *s, const struct git_ssh_url *u, int v0, char *err, size_t errcap)
{
	char cmd[GIT_MAX_PATH + 32];
	int rc;

	while (!(s->ch = libssh2_channel_open_session(s->sess)) &&
	       libssh2_session_last_errno(s->sess) == LIBSSH2_ERROR_EAGAIN)
		if (wait_io(s) < 0)
			break;
	if (!s->ch)
		return ss_fail(s, -1, "opening an SSH channel", err, errcap);
	if (!v0) {      /* a refusal is fine: the advertisement says what runs */
		RETRY(s, rc, libssh2_channel_setenv(s->ch, "GIT_PROTOCOL", "version=2"));
		if (s->werr)
			return ss_fail(s, rc, "SSH env request", err, errcap);
	}
	snprintf(cmd, sizeof cmd, "git-upload-pack '%s'", u->path);
	RETRY(s, rc, libssh2_channel_exec(s->ch, cmd));
	if (rc != 0)
		return s->werr ? ss_fail(s, rc, "SSH exec", err, errcap) :
		       git_seterr(err, errcap, -EACCES, "git: %s refused to run git-upload-pack",
				  s->name);
	return 0;
}

int git_ssh_open(struct git_ssh **out, const struct git_fetch_opts *o,
		 char host_key[static GIT_SSH_HOSTKEY_LEN], char *err, size_t errcap)
{
	struct git_ssh_url *u = malloc(sizeof *u);
	struct git_ssh *s = calloc(1, sizeof *s);
	char *pub = NULL;
	size_t publen = 0;
	int rc;

	*out = NULL;
	host_key[0] = 0;
	if (!u || !s) {
		rc = git_seterr(err, errcap, -ENOMEM, "out of memory");
		goto out;
	}
	s->fd = -1;
	s->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : GIT_SSH_IO_MS;
	s->deadline = now_ms() + GIT_SSH_SESSION_MS;
	if ((rc = git_ssh_parse_url(o->url, u, err, errcap)) < 0)
		goto out;
	snprintf(s->name, sizeof s->name, strchr(u->host, ':') ? "ssh://%s@[%s]:%u%s%s" :
		 "ssh://%s@%s:%u%s%s", u->user, u->host, u->port, u->path[0] == '/' ? "" : "/",
		 u->path);
	if (!o->known_hosts || !o->known_hosts[0]) {
		rc = git_seterr(err, errcap, -EINVAL, "git: an SSH fetch needs a host-key pin file");
		goto out;
	}
	if ((rc = git_ssh_key_prepare(o->ssh_key, o->ssh_key_len, &pub, &publen, err, errcap)) < 0 ||
	    (rc = handshake(s, u, o->known_hosts, host_key, err, errcap)) < 0 ||
	    (rc = auth(s, u, o, pub, publen, err, errcap)) < 0 ||
	    (rc = start(s, u, o->force_v0, err, errcap)) < 0)
		goto out;
	*out = s;
	s = NULL;
out:
	free(pub);
	free(u);
	git_ssh_close(s);
	return rc;
}

const char *git_ssh_name(const struct git_ssh *s)
{
	return s->name;
}

/* ---- the stream ---------------------------------------------------------------- */

static void drain_stderr(struct git_ssh *s)
{
	uint8_t b[4096];
	ssize_t n;

	while ((n = libssh2_channel_read_stderr(s->ch, (char *)b, sizeof b)) > 0) {
		size_t k = (size_t)n < sizeof s->eraw - s->elen ? (size_t)n : sizeof s->eraw - s->elen;

		memcpy(s->eraw + s->elen, b, k);
		s->elen += k;
	}
	git_sanitize(s->eraw, s->elen, s->etxt, sizeof s->etxt);
}

const char *git_ssh_stderr(const struct git_ssh *s)
{
	return s->etxt;
}

long git_ssh_read(struct git_ssh *s, void *p, size_t cap)
{
	for (;;) {
		ssize_t n;

		drain_stderr(s);
		n = libssh2_channel_read(s->ch, p, cap);
		if (n > 0)
			return (long)n;
		if (n != 0 && n != LIBSSH2_ERROR_EAGAIN)
			return n == LIBSSH2_ERROR_SOCKET_RECV || n == LIBSSH2_ERROR_SOCKET_DISCONNECT ?
			       -ECONNRESET : -EIO;
		if (libssh2_channel_eof(s->ch)) {
			drain_stderr(s);
			return 0;
		}
		if (wait_io(s) < 0)
			return s->werr;
	}
}

int git_ssh_write(struct git_ssh *s, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0) {
		ssize_t w = libssh2_channel_write(s->ch, c, n);

		if (w == LIBSSH2_ERROR_EAGAIN) {
			if (wait_io(s) < 0)
				return s->werr;
			continue;
		}
		if (w <= 0)
			return w == LIBSSH2_ERROR_SOCKET_SEND ? -ECONNRESET : -EIO;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

void git_ssh_close(struct git_ssh *s)
{
	if (!s)
		return;
	if (s->sess) {  /* the goodbye may block: a short bound, then go */
		libssh2_session_set_timeout(s->sess, CLOSE_MS);
		libssh2_session_set_blocking(s->sess, 1);
		if (s->ch)
			libssh2_channel_free(s->ch);
		/* (libssh2 1.10 crashes sending it after a failed key exchange) */
		if (s->up)
			libssh2_session_disconnect(s->sess, "done");
		libssh2_session_free(s->sess);
	}
	if (s->fd >= 0)
		close(s->fd);
	if (s->inited)
		libssh2_exit();
	wipe(s, sizeof *s);
	free(s);
}

#else /* !SBS_HAVE_LIBSSH2: a build without mk/ssh2.mk has no SSH transport */

struct git_ssh {
	char name[1];
};

int git_ssh_open(struct git_ssh **out, const struct git_fetch_opts *o,
		 char host_key[static GIT_SSH_HOSTKEY_LEN], char *err, size_t errcap)
{
	(void)o;
	*out = NULL;
	host_key[0] = 0;
	return git_seterr(err, errcap, -ENOTSUP, "git: this build has no SSH transport (libssh2, "
			  "mk/ssh2.mk)");
}

const char *git_ssh_name(const struct git_ssh *s)
{
	return s->name;
}

int git_ssh_write(struct git_ssh *s, const void *p, size_t n)
{
	(void)s, (void)p, (void)n;
	return -ENOTSUP;
}

long git_ssh_read(struct git_ssh *s, void *p, size_t cap)
{
	(void)s, (void)p, (void)cap;
	return -ENOTSUP;
}

const char *git_ssh_stderr(const struct git_ssh *s)
{
	(void)s;
	return "";
}

void git_ssh_close(struct git_ssh *s)
{
	(void)s;
}
#endif
