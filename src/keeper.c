/* SPDX-License-Identifier: MIT */
/*
 * keeper: the API process's stub for the keeper process (contract in
 * keeper.h, wire format in kproto.h). Each call sends one request and waits
 * for its answer (KEEPER_WAIT_MS at most); the channel is blocking and used by
 * one event loop, so requests never interleave. A dead or misbehaving keeper
 * is fatal to the caller: without it the API process cannot sign, and a
 * keeper restarted behind its back would be a different trust decision,
 * which belongs to PID 1 (docs/processes.md).
 */
#include "keeper.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "keeperd.h"
#include "kproto.h"
#include "limits.h"
#include "util.h"

#define KEEPER_GONE_EXIT 70    /* EX_SOFTWARE */

static struct {
	int fd;
	pid_t pid;
} K = { -1, 0 };

pid_t keeper_pid(void)
{
	return K.pid;
}

_Noreturn static void gone(int rc)
{
	log_err("the keeper process is gone (%s): sbsd cannot sign or serve TLS without it; "
		"exiting", rc == -EPIPE ? "it closed its channel" : strerror(-rc));
	_exit(KEEPER_GONE_EXIT);
}

int keeper_spawn(const struct keeper_cfg *cfg)
{
	struct kproto_hdr h;
	uint8_t *p = NULL;
	pid_t self = getpid();
	int sv[2], rc;

	if (!cfg || !cfg->dir || !cfg->dir[0] || !cfg->rng)
		return -EINVAL;
	if (K.fd >= 0)
		return -EBUSY;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	K.pid = fork();
	if (K.pid < 0) {
		rc = -errno;
		close(sv[0]);
		close(sv[1]);
		K.pid = 0;
		return rc;
	}
	if (K.pid == 0) {
		close(sv[0]);
		keeperd_main(sv[1], self, cfg);
	}
	close(sv[1]);
	K.fd = sv[0];
	rc = kproto_recv(K.fd, &h, &p, KEEPER_WAIT_MS);
	free(p);
	if (rc == 0 && (h.op != 0 || h.len != 0))
		rc = -EPROTO;
	if (rc == 0)
		rc = h.status > 0 ? -EPROTO : h.status;
	if (rc < 0)
		keeper_close();
	return rc;
}

int keeper_open(const char *dir, cry_rng_fn rng, void *rctx)
{
	struct keeper_cfg c = { .dir = dir, .rng = rng, .rctx = rctx };

	return keeper_spawn(&c);
}

void keeper_close(void)
{
	int ws;

	if (K.fd >= 0)
		close(K.fd);
	K.fd = -1;
	if (K.pid > 0)
		while (waitpid(K.pid, &ws, 0) < 0 && errno == EINTR)
			;
	K.pid = 0;
}

void keeper_forget(void)
{
	if (K.fd >= 0)
		close(K.fd);
	K.fd = -1;
	K.pid = 0;
}

int keeper_check(void)
{
	struct pollfd pfd = { .fd = K.fd, .events = POLLIN };

	if (K.fd < 0)
		return -EBADF;
	/* the keeper never speaks unasked: readable means closed */
	if (poll(&pfd, 1, 0) > 0)
		gone(-EPIPE);
	return 0;
}

/* One request, one answer. *ans (NUL-terminated) is malloc'd, or NULL. */
static int call(enum kproto_op op, uint32_t arg, const void *p, size_t len, uint8_t **ans,
		size_t *alen)
{
	struct kproto_hdr h;
	uint8_t *a = NULL;
	int rc;

	if (ans)
		*ans = NULL;
	if (alen)
		*alen = 0;
	if (K.fd < 0)
		return -EBADF;
	rc = kproto_send(K.fd, (uint16_t)op, arg, 0, p, len);
	if (rc == 0)
		rc = kproto_recv(K.fd, &h, &a, KEEPER_WAIT_MS);
	if (rc == 0 && (h.op != op || (h.status < 0 && h.len)))
		rc = -EPROTO;
	if (rc < 0)
		gone(rc);
	if (ans) {
		*ans = a;
		*alen = h.len;
	} else if (a) {
		wipe_free(a, (size_t)h.len + 1);
	}
	return h.status;
}

/* A call whose answer goes into the caller's buffer. */
static int call_into(enum kproto_op op, uint32_t arg, const void *p, size_t len, void *out,
		     size_t cap, size_t *olen, int nul)
{
	uint8_t *a;
	size_t n;
	int rc = call(op, arg, p, len, &a, &n);

	if (rc >= 0 && n + (nul ? 1 : 0) > cap)
		rc = -ENOSPC;
	if (rc >= 0) {
		memcpy(out, a, n);
		if (nul)
			((char *)out)[n] = 0;
		if (olen)
			*olen = n;
	}
	if (a)
		wipe_free(a, n + 1);
	return rc < 0 ? rc : 0;
}

int keeper_pubkey_pem(enum keeper_key k, char *out, size_t cap, size_t *len)
{
	if (!out || !len)
		return -EINVAL;
	return call_into(KOP_PUBKEY_PEM, (uint32_t)k, NULL, 0, out, cap, len, 1);
}

int keeper_pubkey_der(enum keeper_key k, uint8_t *out, size_t cap, size_t *len)
{
	if (!out || !len)
		return -EINVAL;
	return call_into(KOP_PUBKEY_DER, (uint32_t)k, NULL, 0, out, cap, len, 0);
}

int keeper_has(enum keeper_key k)
{
	if (K.fd < 0 || (int)k < 0 || k >= KEEPER_NKEYS)
		return 0;
	return call(KOP_HAS, (uint32_t)k, NULL, 0, NULL, NULL) == 1;
}

int keeper_sign(enum keeper_key k, const uint8_t hash[static 32],
		uint8_t *sig, size_t cap, size_t *siglen)
{
	if (!sig || !siglen)
		return -EINVAL;
	if ((int)k < 0 || k >= KEEPER_NKEYS)
		return K.fd < 0 ? -EBADF : -EINVAL;
	return call_into(KOP_SIGN, (uint32_t)k, hash, 32, sig, cap, siglen, 0);
}

static int host_len(const char *host, size_t *n)
{
	if (!host)
		return -EINVAL;
	*n = strnlen(host, KEEPER_MAX_HOST + 1);
	return *n == 0 || *n > KEEPER_MAX_HOST ? -EINVAL : 0;
}

int keeper_tls_csr(const char *host, char *out, size_t cap)
{
	size_t n;

	if (!out || host_len(host, &n) < 0)
		return -EINVAL;
	return call_into(KOP_TLS_CSR, 0, host, n, out, cap, NULL, 1);
}

int keeper_tls_selfsigned(const char *host, uint64_t serial, time_t not_before,
			  time_t not_after, char *out, size_t cap)
{
	uint8_t req[24 + KEEPER_MAX_HOST];
	size_t n;

	if (!out || host_len(host, &n) < 0)
		return -EINVAL;
	kproto_u64(req, serial);
	kproto_u64(req + 8, (uint64_t)(int64_t)not_before);
	kproto_u64(req + 16, (uint64_t)(int64_t)not_after);
	memcpy(req + 24, host, n);
	return call_into(KOP_TLS_SELF, 0, req, 24 + n, out, cap, NULL, 1);
}

int keeper_set_tls_key(const uint8_t *pem, size_t len)
{
	if (K.fd < 0)
		return -EBADF;
	if (!pem || len == 0)
		return -EINVAL;
	if (len > KEY_MAX_PEM)
		return -E2BIG;
	return call(KOP_SET_TLS, 0, pem, len, NULL, NULL);
}

/* u32 n | s (n bytes) into b. */
static int put_field(struct buf *b, const void *s, size_t n)
{
	uint8_t l[4];

	kproto_u32(l, (uint32_t)n);
	return buf_append(b, l, 4) < 0 || buf_append(b, s, n) < 0 ? -ENOMEM : 0;
}

static int secret_ok(const char *secret, size_t slen)
{
	if (!secret || slen == 0)
		return -EINVAL;
	return slen > PARAM_MAX_VALUE ? -E2BIG : 0;
}

int keeper_state_seal(const char *secret, size_t slen, const char *created,
		      const char *params_json, size_t plen, char **b64, size_t *b64_len)
{
	struct buf b = { .max = KEEPER_MAX_MSG, .secret = 1 };
	size_t tl = created ? strlen(created) : 0;
	uint8_t *a;
	size_t n;
	int rc;

	if (!b64 || !b64_len || !params_json || tl == 0 || tl > KEEPER_MAX_TS)
		return -EINVAL;
	*b64 = NULL;
	*b64_len = 0;
	if ((rc = secret_ok(secret, slen)) < 0)
		return rc;
	if (plen > STATE_MAX_PLAIN)
		return -E2BIG;
	rc = put_field(&b, secret, slen);
	if (rc == 0)
		rc = put_field(&b, created, tl);
	if (rc == 0 && buf_append(&b, params_json, plen) < 0)
		rc = -ENOMEM;
	if (rc == 0)
		rc = call(KOP_STATE_SEAL, 0, b.data, b.len, &a, &n);
	buf_free(&b);
	if (rc < 0)
		return rc;
	*b64 = (char *)a;
	*b64_len = n;
	return a ? 0 : -EPROTO;
}

int keeper_state_open(const char *state, size_t len, const char *secret, size_t slen,
		      char **params, size_t *params_len)
{
	struct buf b = { .max = KEEPER_MAX_MSG, .secret = 1 };
	uint8_t *a;
	size_t n;
	int rc;

	if (!params || !params_len || (!state && len))
		return -EINVAL;
	*params = NULL;
	*params_len = 0;
	if ((rc = secret_ok(secret, slen)) < 0)
		return rc;
	if (len > STATE_MAX_B64)
		return -E2BIG;
	rc = put_field(&b, secret, slen);
	if (rc == 0 && len && buf_append(&b, state, len) < 0)
		rc = -ENOMEM;
	if (rc == 0)
		rc = call(KOP_STATE_OPEN, 0, b.data, b.len, &a, &n);
	buf_free(&b);
	if (rc < 0)
		return rc;
	*params = (char *)a;
	*params_len = n;
	return a ? 0 : -EPROTO;
}
