/* SPDX-License-Identifier: MIT */
/*
 * keeperd: the keeper process's life and its request dispatch (keeperd.h).
 * Everything secret happens here: key generation and use (kstore), the
 * deploy-time TLS key's decoding, the appliance secret, and the sealing and
 * opening of state images, whose plaintext (params and keys) is built and
 * parsed in this process only. Every buffer that held a secret is wiped
 * before it is released; answers carry only public data, signatures, sealed
 * images, and (STATE_OPEN) the params the API process itself gave sbsd.
 */
#include "keeperd.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "json.h"
#include "kstore.h"
#include "limits.h"
#include "state.h"
#include "util.h"

static const struct keeper_cfg *C;

static void answer(int fd, const struct kproto_hdr *h, int status, const void *p, size_t len)
{
	if (kproto_send(fd, h->op, 0, status, p, status < 0 ? 0 : len) < 0) {
		log_err("keeper: cannot answer the API process: exiting");
		_exit(1);
	}
}

/* ---- state images ---- */

/* The layout-1 plaintext of docs/state-image.md, printed (SECRET). */
static char *plaintext(const struct kproto_req *r, int *rc)
{
	json *plain = NULL, *keys = NULL, *prm = NULL;
	char *text = NULL;

	*rc = json_parse((const char *)r->data, r->data_len, &prm, NULL);
	if (*rc < 0 || !json_is_obj(prm)) {
		*rc = -EINVAL;
		goto out;
	}
	if ((*rc = kstore_export(&keys)) < 0)
		goto out;
	json_del(keys, "tls");        /* the TLS identity belongs to this instance */
	*rc = -ENOMEM;
	if (!(plain = json_new_obj()) || json_set_num(plain, "v", 1) < 0)
		goto out;
	if (json_set(plain, "params", prm) < 0)
		goto out;
	prm = NULL;
	if (json_set(plain, "keys", keys) < 0)
		goto out;
	keys = NULL;
	if (json_set_str(plain, "created", r->ts) < 0 || !(text = json_print(plain)))
		goto out;
	*rc = 0;
out:
	json_free_secret(prm);
	json_free_secret(keys);
	json_free_secret(plain);
	return text;
}

static void state_seal_req(int fd, const struct kproto_hdr *h, const struct kproto_req *r)
{
	uint8_t app[32];
	char *text, *b64 = NULL;
	size_t blen = 0;
	int rc;

	text = plaintext(r, &rc);
	if (rc == 0 && (!C->appliance_secret || C->appliance_secret(app) < 0))
		rc = -ENOKEY;
	if (rc == 0)
		rc = state_seal((const uint8_t *)text, strlen(text), r->secret, r->secret_len, app,
				C->rng, C->rctx, &b64, &blen);
	wipe(app, sizeof app);
	if (text)
		wipe_free(text, strlen(text));
	answer(fd, h, rc, b64, blen);
	free(b64);
}

/* The keys of an opened image into the store; its params printed for the
 * API. -EILSEQ: not a layout-1 plaintext; -EKEYREJECTED: keys refused. */
static char *restore(const uint8_t *plain, size_t len, int *rc)
{
	json *j = NULL;
	const json *v, *prm, *keys;
	char *text = NULL;

	*rc = json_parse((const char *)plain, len, &j, NULL);
	if (*rc < 0) {
		*rc = -EILSEQ;
		return NULL;
	}
	v = json_get(j, "v");
	prm = json_get(j, "params");
	keys = json_get(j, "keys");
	*rc = -EILSEQ;
	if (!json_is_num(v) || json_num(v) != 1 || !json_is_obj(prm) || !json_is_obj(keys))
		goto out;
	/* print first: an out-of-memory failure must not leave the keys half done */
	*rc = -ENOMEM;
	if (!(text = json_print(prm)))
		goto out;
	*rc = kstore_import(keys);
	if (*rc == -EINVAL)
		*rc = -EKEYREJECTED;
	if (*rc < 0) {
		wipe_free(text, strlen(text));
		text = NULL;
	}
out:
	json_free_secret(j);
	return text;
}

static void state_open_req(int fd, const struct kproto_hdr *h, const struct kproto_req *r)
{
	uint8_t app[32], *plain = NULL;
	size_t plen = 0;
	char *text = NULL;
	int rc = 0;

	if (!C->appliance_secret || C->appliance_secret(app) < 0)
		rc = -ENOKEY;
	if (rc == 0)
		rc = state_open((const char *)r->data, r->data_len, r->secret, r->secret_len, app,
				&plain, &plen);
	wipe(app, sizeof app);
	if (rc == 0)
		text = restore(plain, plen, &rc);
	wipe_free(plain, plen);
	answer(fd, h, rc, text, text ? strlen(text) : 0);
	if (text)
		wipe_free(text, strlen(text));
}

/* ---- dispatch ---- */

void keeperd_handle(int fd, const struct kproto_hdr *h, const uint8_t *p, size_t len)
{
	struct kproto_req r;
	union { char pem[CERT_MAX_PEM]; uint8_t der[CERT_MAX_PEM]; } out;
	size_t n = 0;
	int rc = kproto_req_parse(h, p, len, &r);

	if (rc < 0) {
		answer(fd, h, rc, NULL, 0);
		return;
	}
	switch (r.op) {
	case KOP_HAS:
		rc = kstore_has(r.key);
		break;
	case KOP_PUBKEY_PEM:
		rc = kstore_pubkey_pem(r.key, out.pem, sizeof out.pem, &n);
		break;
	case KOP_PUBKEY_DER:
		rc = kstore_pubkey_der(r.key, out.der, sizeof out.der, &n);
		break;
	case KOP_SIGN:
		rc = kstore_sign(r.key, r.hash, out.der, sizeof out.der, &n);
		break;
	case KOP_TLS_CSR:
		rc = kstore_tls_csr(r.host, out.pem, sizeof out.pem);
		n = rc == 0 ? strlen(out.pem) : 0;
		break;
	case KOP_TLS_SELF:
		rc = kstore_tls_selfsigned(r.host, r.serial, (time_t)r.not_before,
					   (time_t)r.not_after, out.pem, sizeof out.pem);
		n = rc == 0 ? strlen(out.pem) : 0;
		break;
	case KOP_SET_TLS:
		rc = kstore_set_tls_key(r.data, r.data_len);
		break;
	case KOP_STATE_SEAL:
		state_seal_req(fd, h, &r);
		return;
	case KOP_STATE_OPEN:
		state_open_req(fd, h, &r);
		return;
	default:
		rc = -EINVAL;
	}
	answer(fd, h, rc, &out, n);
	wipe(&out, sizeof out);
}

/* ---- the process ---- */

/* Every descriptor but stderr (the log) and the channel; stdin and stdout
 * become /dev/null (they could be anything the caller of sbsd gave it). */
static void close_others(int fd)
{
	long max = sysconf(_SC_OPEN_MAX);
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (null >= 0 && null != fd) {
		dup2(null, 0);
		dup2(null, 1);
		if (null > 2)
			close(null);
	}

	for (long i = 3; i < (max > 0 && max < 65536 ? max : 65536); i++)
		if (i != fd)
			close((int)i);
}

/* Empty capability sets, nothing that could bring one back. */
static int drop_caps(void)
{
	struct { uint32_t version; int pid; } h = { 0x20080522, 0 };   /* _LINUX_CAPABILITY_VERSION_3 */
	struct { uint32_t effective, permitted, inheritable; } d[2];

	for (unsigned long cap = 0; cap < 64; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL && errno != EPERM)
			return -errno;
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return -errno;
	memset(d, 0, sizeof d);
	if (syscall(SYS_capset, &h, d) < 0)
		return -errno;
	return 0;
}

/* seccomp: the calls a keeper never makes (kernel ABI from linux/filter.h,
 * linux/seccomp.h and linux/audit.h, which musl does not carry). */
struct kd_insn { uint16_t code; uint8_t jt, jf; uint32_t k; };
struct kd_prog { unsigned short len; const struct kd_insn *filter; };
#if defined(__x86_64__)
#define KD_ARCH 0xc000003eu          /* AUDIT_ARCH_X86_64 */
#elif defined(__s390x__)
#define KD_ARCH 0x80000016u          /* AUDIT_ARCH_S390X */
#endif

static const long kd_denied[] = {
	SYS_socket, SYS_socketpair, SYS_connect, SYS_bind, SYS_listen, SYS_accept4,
#ifdef SYS_accept
	SYS_accept,
#endif
#ifdef SYS_fork
	SYS_fork, SYS_vfork,
#endif
	SYS_clone, SYS_clone3, SYS_execve, SYS_execveat, SYS_ptrace,
	SYS_process_vm_readv, SYS_process_vm_writev, SYS_setns, SYS_unshare,
};
#define KD_N (sizeof kd_denied / sizeof kd_denied[0])

static int install_filter(void)
{
	struct kd_insn f[2 * KD_N + 5];
	struct kd_prog prog;
	size_t n = 0;

#define I(c, t, e, v) (f[n++] = (struct kd_insn){ (uint16_t)(c), (uint8_t)(t), (uint8_t)(e), (uint32_t)(v) })
	I(0x20, 0, 0, 4);                       /* ld arch */
	I(0x15, 1, 0, KD_ARCH);
	I(0x06, 0, 0, 0x80000000u);             /* another ABI: kill */
	I(0x20, 0, 0, 0);                       /* ld nr */
	for (size_t i = 0; i < KD_N; i++) {
		I(0x15, 0, 1, kd_denied[i]);
		I(0x06, 0, 0, 0x00050000u | EPERM);
	}
	I(0x06, 0, 0, 0x7fff0000u);             /* allow */
#undef I
	prog.len = (unsigned short)n;
	prog.filter = f;
	if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) < 0 && errno == EINVAL)
		return 0;                       /* a kernel without seccomp (the appliance's) */
	return prctl(PR_SET_SECCOMP, 2 /* SECCOMP_MODE_FILTER */, &prog, 0, 0) < 0 ? -errno : 0;
}

static int narrow(void)
{
	int rc;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	if ((rc = drop_caps()) < 0)
		return rc;
	return install_filter();
}

/* SERVER_KEY (base64 of PEM) into the store. */
static int deploy_tls_key(const char *b64)
{
	size_t n = strlen(b64), len = 0;
	uint8_t *pem = malloc(n / 4 * 3 + 4);
	int rc;

	if (!pem)
		return -ENOMEM;
	rc = cry_b64_decode(b64, n, pem, n / 4 * 3 + 3, &len);
	if (rc == 0)
		rc = kstore_set_tls_key(pem, len);
	wipe_free(pem, n / 4 * 3 + 4);
	return rc < 0 ? -ENOKEY : 0;
}

/* /proc/<pid>/environ stays readable to root without CAP_SYS_PTRACE even
 * when the process is not dumpable: a secret variable's bytes in the initial
 * environment are wiped; keep = 1 moves the value to the heap first (setenv),
 * where getenv still finds it (HAL se reads SBS_APPLIANCE_SECRET). */
static void hide_env(const char *name, int keep)
{
	char *v = getenv(name), *copy = NULL;
	size_t n;

	if (!v)
		return;
	n = strlen(v);
	if (keep && !(copy = strdup(v)))
		_exit(1);
	wipe(v, n);
	if (keep) {
		if (setenv(name, copy, 1) < 0)
			_exit(1);
		wipe_free(copy, n + 1);
	} else {
		unsetenv(name);
	}
}

_Noreturn void keeperd_main(int fd, pid_t parent, const struct keeper_cfg *cfg)
{
	struct kproto_hdr h, ready = { .op = 0 };
	uint8_t *p;
	int rc;

	C = cfg;
	prctl(PR_SET_NAME, "sbsd-keeper", 0, 0, 0);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid() != parent)
		_exit(1);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, SIG_IGN);        /* a ^C stops the API; the keeper follows it */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	close_others(fd);
	rc = kstore_open(cfg->dir, cfg->rng, cfg->rctx);
	if (rc == 0 && cfg->tls_key_b64)
		rc = deploy_tls_key(cfg->tls_key_b64);
	hide_env("SERVER_KEY", 0);
	hide_env("SBS_APPLIANCE_SECRET", 1);
	if (rc == 0 && cfg->drop_privileges && (rc = narrow()) < 0)
		log_err("keeper: cannot drop privileges (%s)", strerror(-rc));
	if (kproto_send(fd, ready.op, 0, rc, NULL, 0) < 0 || rc < 0)
		_exit(1);
	for (;;) {
		rc = kproto_recv(fd, &h, &p, -1);
		if (rc == -EPIPE)
			break;
		if (rc < 0) {
			log_err("keeper: the API process broke the channel protocol (%s): exiting",
				strerror(-rc));
			break;
		}
		keeperd_handle(fd, &h, p, h.len);
		if (p)
			wipe_free(p, (size_t)h.len + 1);
	}
	kstore_close();
	/* _exit: no atexit handler runs (LeakSanitizer's cannot under the filter) */
	_exit(0);
}
