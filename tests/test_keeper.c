/* SPDX-License-Identifier: MIT */
/*
 * Tests of the keeper as a process (src/keeper.c stub, src/keeperd.c, the
 * kproto channel): keeper_open forks a real keeper over a socketpair; keys
 * are generated there and stable across restarts; signatures verify with
 * cry_verify_sha256 against the public halves; the CSR and the self-signed
 * certificate carry the TLS key; state images sealed by one keeper open in
 * another with the same appliance secret (and not with a wrong SECRET, a
 * modified image, another appliance secret); raw malformed requests get
 * -EINVAL and the keeper keeps serving; a framing violation ends it; a dead
 * keeper ends its client with status 70, a closed channel ends the keeper.
 * The key store itself is tested in-process by test_kstore.c.
 */
#include "keeper.h"
#include "keeperd.h"
#include "kproto.h"
#include "limits.h"
#include "state.h"
#include "tutil.h"
#include "util.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char root[] = "/tmp/sbs-test-keeper-XXXXXX";
static uint8_t app_secret[32] = { 0x5b, 0x53 };

static int app_a(uint8_t out[static 32])
{
	memcpy(out, app_secret, 32);
	return 0;
}

static int app_b(uint8_t out[static 32])
{
	memcpy(out, app_secret, 32);
	out[31] ^= 1;
	return 0;
}

static int spawn(const char *dir, int (*app)(uint8_t out[static 32]))
{
	struct keeper_cfg c = { .dir = dir, .rng = util_rng, .appliance_secret = app,
				.drop_privileges = 1 };
	return keeper_spawn(&c);
}

static void pubs(char pem[KEEPER_NKEYS][1024])
{
	for (int k = 0; k < KEEPER_NKEYS; k++) {
		size_t n = 0;
		CHECK(keeper_pubkey_pem((enum keeper_key)k, pem[k], 1024, &n) == 0);
		CHECK(n == strlen(pem[k]) && strstr(pem[k], "BEGIN PUBLIC KEY") && !strstr(pem[k], "PRIVATE"));
	}
}

static void test_basics(const char *dir, char p[KEEPER_NKEYS][1024])
{
	char again[KEEPER_NKEYS][1024], pem[CERT_MAX_PEM], pub[1024], san[300];
	uint8_t hash[32], sig[600];
	struct cry_cert_info info;
	size_t n = 0;

	CHECK(keeper_has(KEEPER_IMAGE) == 0 && keeper_pid() == 0);
	CHECK(spawn(dir, app_a) == 0);
	CHECK(keeper_pid() > 0 && keeper_pid() != getpid());
	CHECK(spawn(dir, app_a) == -EBUSY);
	CHECK(keeper_has(KEEPER_IMAGE) == 0 && keeper_has(KEEPER_NKEYS) == 0);
	pubs(p);
	CHECK(keeper_has(KEEPER_IMAGE) == 1);
	cry_sha256("digest", 6, hash);
	for (int k = 0; k < KEEPER_NKEYS; k++) {
		CHECK(keeper_sign((enum keeper_key)k, hash, sig, sizeof sig, &n) == 0);
		CHECK(cry_verify_sha256((const uint8_t *)p[k], strlen(p[k]), hash, sig, n) == 0);
		sig[n / 2] ^= 1;
		CHECK(cry_verify_sha256((const uint8_t *)p[k], strlen(p[k]), hash, sig, n) != 0);
	}
	CHECK(keeper_sign(KEEPER_MANIFEST, hash, sig, 100, &n) == -ENOSPC);
	CHECK(keeper_sign(KEEPER_NKEYS, hash, sig, sizeof sig, &n) == -EINVAL);
	CHECK(keeper_tls_csr("build.example.com", pem, sizeof pem) == 0);
	CHECK(cry_csr_info((const uint8_t *)pem, strlen(pem), pub, sizeof pub, san, sizeof san) == 0);
	CHECK(strcmp(pub, p[KEEPER_TLS]) == 0 && strcmp(san, "build.example.com") == 0);
	CHECK(keeper_tls_csr("x,CN=evil", pem, sizeof pem) == -EINVAL);
	CHECK(keeper_tls_csr("build.example.com", pem, 64) == -ENOSPC);
	CHECK(keeper_tls_selfsigned("h.example", 9, time(NULL) - 5, time(NULL) + 60, pem,
				    sizeof pem) == 0);
	CHECK(cry_cert_info((const uint8_t *)pem, strlen(pem), &info) == 0);
	CHECK(strcmp(info.pub_pem, p[KEEPER_TLS]) == 0 && strcmp(info.san_dns, "h.example") == 0);
	CHECK(keeper_set_tls_key((const uint8_t *)"junk", 4) == -EINVAL);
	keeper_close();
	CHECK(keeper_pid() == 0 && keeper_sign(KEEPER_IMAGE, hash, sig, sizeof sig, &n) == -EBADF);
	CHECK(spawn(dir, app_a) == 0);
	pubs(again);
	for (int k = 0; k < KEEPER_NKEYS; k++)
		CHECK(strcmp(p[k], again[k]) == 0);
	keeper_close();
}

static void test_state(const char *d1, const char *d2, char p1[KEEPER_NKEYS][1024])
{
	static const char params[] = "{\"SECRET\":\"s3cr3t\",\"DOCKER_REPO\":\"r\"}";
	char p2[KEEPER_NKEYS][1024], *b64 = NULL, *prm = NULL, *bad;
	uint8_t *plain = NULL;
	size_t bl = 0, pl = 0, n;

	CHECK(spawn(d1, app_a) == 0);
	CHECK(keeper_state_seal("s3cr3t", 6, "2026-01-01_00-00-00.000000", params, strlen(params),
				&b64, &bl) == 0);
	CHECK(b64 && bl == strlen(b64) && !strstr(b64, "PRIVATE"));
	CHECK(keeper_state_seal("s3cr3t", 6, "ts", "[1]", 3, &bad, &n) == -EINVAL);
	CHECK(keeper_state_seal("", 0, "ts", params, strlen(params), &bad, &n) == -EINVAL);
	keeper_close();
	/* an independent opening with state_open: the documented layout */
	CHECK(state_open(b64, bl, (const uint8_t *)"s3cr3t", 6, app_secret, &plain, &pl) == 0);
	CHECK(strstr((char *)plain, "\"v\":1,\"params\":{\"SECRET\":\"s3cr3t\""));
	CHECK(strstr((char *)plain, "BEGIN RSA PRIVATE KEY") && strstr((char *)plain, "\"image\":"));
	CHECK(!strstr((char *)plain, "\"tls\":"));      /* the TLS identity stays */
	wipe_free(plain, pl);

	CHECK(spawn(d2, app_b) == 0);                   /* another appliance secret */
	CHECK(keeper_state_open(b64, bl, "s3cr3t", 6, &prm, &n) == -EBADMSG);
	keeper_close();
	CHECK(spawn(d2, app_a) == 0);
	pubs(p2);
	CHECK(strcmp(p1[KEEPER_IMAGE], p2[KEEPER_IMAGE]) != 0);
	CHECK(keeper_state_open(b64, bl, "wrong", 5, &prm, &n) == -EBADMSG);
	bad = strdup(b64);
	bad[bl / 2] = bad[bl / 2] == 'A' ? 'B' : 'A';
	CHECK(keeper_state_open(bad, bl, "s3cr3t", 6, &prm, &n) == -EBADMSG);
	CHECK(keeper_state_open(bad, 3, "s3cr3t", 6, &prm, &n) == -EINVAL);
	free(bad);
	pubs(p2);
	CHECK(strcmp(p1[KEEPER_IMAGE], p2[KEEPER_IMAGE]) != 0);   /* nothing changed */
	CHECK(keeper_state_open(b64, bl, "s3cr3t", 6, &prm, &n) == 0);
	CHECK(prm && strcmp(prm, params) == 0 && n == strlen(params));
	wipe_free(prm, n);
	pubs(p2);
	CHECK(strcmp(p1[KEEPER_IMAGE], p2[KEEPER_IMAGE]) == 0);
	CHECK(strcmp(p1[KEEPER_MANIFEST], p2[KEEPER_MANIFEST]) == 0);
	CHECK(strcmp(p1[KEEPER_TLS], p2[KEEPER_TLS]) != 0);
	keeper_close();
	CHECK(spawn(d2, NULL) == 0);                    /* no appliance secret */
	CHECK(keeper_state_open(b64, bl, "s3cr3t", 6, &prm, &n) == -ENOKEY);
	keeper_close();
	free(b64);
}

/* A raw channel to a keeper of our own (as a compromised API would have). */
static void test_raw(const char *dir)
{
	struct keeper_cfg c = { .dir = dir, .rng = util_rng };
	struct kproto_hdr h;
	uint8_t *a = NULL, junk[40] = { 0 };
	int sv[2], ws;
	pid_t pid;

	CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
	pid = fork();
	if (pid == 0) {
		close(sv[0]);
		keeperd_main(sv[1], getppid(), &c);
	}
	close(sv[1]);
	CHECK(kproto_recv(sv[0], &h, &a, 5000) == 0 && h.op == 0 && h.status == 0);
	/* well framed but bad: each answered -EINVAL, the keeper goes on */
	CHECK(kproto_send(sv[0], KOP_SIGN, KEEPER_IMAGE, 0, junk, 31) == 0);
	CHECK(kproto_recv(sv[0], &h, &a, 5000) == 0 && h.status == -EINVAL && h.len == 0);
	CHECK(kproto_send(sv[0], KOP_SIGN, 7, 0, junk, 32) == 0);
	CHECK(kproto_recv(sv[0], &h, &a, 5000) == 0 && h.status == -EINVAL);
	CHECK(kproto_send(sv[0], 99, 0, 0, NULL, 0) == 0);
	CHECK(kproto_recv(sv[0], &h, &a, 5000) == 0 && h.op == 99 && h.status == -EINVAL);
	CHECK(kproto_send(sv[0], KOP_HAS, KEEPER_IMAGE, 0, NULL, 0) == 0);
	CHECK(kproto_recv(sv[0], &h, &a, 5000) == 0 && h.status == 1);
	/* a header of the wrong size breaks the framing: the keeper exits */
	CHECK(send(sv[0], junk, 15, 0) == 15);
	CHECK(kproto_recv(sv[0], &h, &a, 5000) == -EPIPE);
	CHECK(waitpid(pid, &ws, 0) == pid && WIFEXITED(ws));
	close(sv[0]);
}

/* The keeper dies: the client notices and exits 70; the client closes: the
 * keeper exits. */
static void test_deaths(const char *dir)
{
	int ws;
	pid_t pid = fork();

	if (pid == 0) {
		if (spawn(dir, app_a) < 0)
			_exit(1);
		kill(keeper_pid(), SIGKILL);
		usleep(200000);
		keeper_check();
		_exit(0);                /* not reached when the check works */
	}
	CHECK(waitpid(pid, &ws, 0) == pid && WIFEXITED(ws) && WEXITSTATUS(ws) == 70);
	pid = fork();
	if (pid == 0) {
		uint8_t h[32] = { 0 }, sig[100];
		size_t n;
		if (spawn(dir, app_a) < 0)
			_exit(1);
		kill(keeper_pid(), SIGKILL);
		(void)keeper_sign(KEEPER_IMAGE, h, sig, sizeof sig, &n);
		_exit(0);
	}
	CHECK(waitpid(pid, &ws, 0) == pid && WIFEXITED(ws) && WEXITSTATUS(ws) == 70);
	CHECK(spawn(dir, app_a) == 0);
	pid = keeper_pid();
	keeper_forget();                 /* closes our end without waiting */
	CHECK(waitpid(pid, &ws, 0) == pid && WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
}

int main(void)
{
	char d1[300], d2[300], p1[KEEPER_NKEYS][1024], cmd[400];

	log_quiet = 1;
	if (!mkdtemp(root)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(d1, sizeof d1, "%s/one/keys", root);
	snprintf(d2, sizeof d2, "%s/two/keys", root);
	test_basics(d1, p1);
	test_state(d1, d2, p1);
	test_raw(d1);
	test_deaths(d1);
	CHECK(keeper_open(NULL, util_rng, NULL) == -EINVAL);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
	CHECK(system(cmd) == 0);
	return tu_done("test_keeper");
}
