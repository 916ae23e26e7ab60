/* SPDX-License-Identifier: MIT */
/*
 * Tests of hal/hal_hpvs.c: selection, the appliance secret from the env
 * (missing, malformed, wiped from the environment, never in a log line),
 * and the data volume checks (relative, missing, a file, a plain directory,
 * a read-only mount, a bind mount that is accepted). The mount cases run in
 * a child in its own mount namespace (unshare(CLONE_NEWNS), mounts private),
 * so nothing is mounted where other processes could see it; where the
 * kernel refuses a mount namespace the child says so and those checks are
 * reported as skipped, not passed. Then the endpoint's answer when a
 * protected guest has no /dev/uv in its container (hal.h: -ENODEV). Run as
 * root (make check is).
 */
#include "api_attest.h"
#include "hal.h"
#include "json.h"
#include "keeper.h"
#include "tutil.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define HEX_A "00112233445566778899aabbccddeeff0123456789abcdefFEDCBA9876543210"
#define HEX_B "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"
#define SKIP_RC 77

static const struct hal *H;
static char root[] = "/tmp/sbs-test-hpvs-XXXXXX";

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(p);
}

static int open_at(const char *dir)
{
	struct hal_cfg c = { .data_dir = dir };

	return H->open(&c);
}

static void unhex(const char *h, uint8_t out[32])
{
	CHECK(tu_unhex(h, out, 32) == 32);
}

/* open() with the secret hex in the env; stderr goes to a file that must
 * not contain the hex (nor its first 16 digits). Returns open()'s rc. */
static int open_logged(const char *hex, const char *dir)
{
	char log[300], got[4096] = { 0 };
	int fd, saved, rc;
	ssize_t n;

	snprintf(log, sizeof log, "%s/stderr.log", root);
	fd = open(log, O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0);
	if (fd < 0)
		return -EIO;
	setenv("SBS_APPLIANCE_SECRET", hex, 1);
	fflush(stderr);
	saved = dup(2);
	dup2(fd, 2);
	log_quiet = 0;
	rc = open_at(dir);
	log_quiet = 1;
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	n = pread(fd, got, sizeof got - 1, 0);
	close(fd);
	CHECK(n > 0);                          /* the refusal is explained */
	CHECK(strstr(got, "0011223344556677") == NULL);
	CHECK(strstr(got, "ffeeddccbbaa9988") == NULL);
	CHECK(getenv("SBS_APPLIANCE_SECRET") == NULL);   /* taken out of the env */
	return rc;
}

static void test_select(void)
{
	CHECK(H && strcmp(H->name, "hpvs") == 0);
	CHECK(H && H->default_data_dir && strcmp(H->default_data_dir, "/data") == 0);
	CHECK(hal_select("sim") && hal_select("sim")->default_data_dir == NULL);
	CHECK(hal_select("se") && hal_select("hpvs") != hal_select("se"));
}

static void test_secret_errors(const char *dir)
{
	uint8_t s[32];

	unsetenv("SBS_APPLIANCE_SECRET");
	CHECK(open_at(dir) == -ENOKEY);
	CHECK(H->appliance_secret(s) == -ENOKEY);
	CHECK(open_logged("abc", dir) == -EINVAL);
	CHECK(open_logged(HEX_A "0", dir) == -EINVAL);                 /* 65 digits */
	CHECK(open_logged("0011223344556677" "8899aabbccddeeff0123456789abcdef"
			  "fedcba987654321", dir) == -EINVAL);             /* 63 digits */
	CHECK(open_logged("0011223344556677" "8899aabbccddeeff0123456789abcdef"
			  "fedcba987654321g", dir) == -EINVAL);            /* not hex */
	CHECK(H->appliance_secret(s) == -ENOKEY);
	CHECK(strcmp(H->data_dir(), "") == 0);
}

/* Volume errors outside any mount; the secret is valid. */
static void test_volume_errors(void)
{
	char plain[300], file[300], missing[300];
	int fd;

	snprintf(plain, sizeof plain, "%s/plain", root);
	snprintf(file, sizeof file, "%s/file", root);
	snprintf(missing, sizeof missing, "%s/missing", root);
	CHECK(mkdir(plain, 0755) == 0);
	fd = open(file, O_WRONLY | O_CREAT, 0600);
	CHECK(fd >= 0);
	if (fd >= 0)
		close(fd);
	CHECK(open_logged(HEX_A, "relative/data") == -EINVAL);
	CHECK(open_logged(HEX_A, missing) == -ENOENT);
	CHECK(open_logged(HEX_A, file) == -ENOTDIR);
	CHECK(open_logged(HEX_A, plain) == -ENOMEDIUM);   /* a directory, not a mount */
	CHECK(strcmp(H->data_dir(), "") == 0);
	snprintf(plain, sizeof plain, "%s/plain/sbs", root);
	CHECK(access(plain, F_OK) < 0);                    /* nothing written */
}

/* In a private mount namespace: a read-only tmpfs is refused, a bind mount
 * is accepted. Exit status: the number of failures, or SKIP_RC. */
static int mount_child(void)
{
	char ro[300], src[300], vol[300], want[320];
	uint8_t s[32], a[32], b[32];
	struct stat st;

	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return SKIP_RC;
	snprintf(ro, sizeof ro, "%s/ro", root);
	snprintf(src, sizeof src, "%s/src", root);
	snprintf(vol, sizeof vol, "%s/vol", root);
	CHECK(mkdir(ro, 0755) == 0 && mkdir(src, 0755) == 0 && mkdir(vol, 0755) == 0);
	if (mount("sbs-test", ro, "tmpfs", MS_RDONLY, "size=64k") < 0 ||
	    mount(src, vol, NULL, MS_BIND, NULL) < 0)
		return SKIP_RC;
	CHECK(open_logged(HEX_A, ro) == -EROFS);
	CHECK(open_logged(HEX_B, vol) == 0);
	snprintf(want, sizeof want, "%s/sbs", vol);
	CHECK(strcmp(H->data_dir(), want) == 0);
	CHECK(stat(want, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0700);
	snprintf(want, sizeof want, "%s/sbs", src);          /* it went onto the volume */
	CHECK(stat(want, &st) == 0 && S_ISDIR(st.st_mode));
	unhex(HEX_B, b);
	CHECK(H->appliance_secret(s) == 0 && memcmp(s, b, 32) == 0);
	CHECK(open_at(vol) == 0);                            /* a second open keeps it */
	CHECK(H->appliance_secret(s) == 0 && memcmp(s, b, 32) == 0);
	CHECK(open_logged(HEX_A, vol) == 0);                 /* a new env value wins */
	unhex(HEX_A, a);
	CHECK(H->appliance_secret(s) == 0 && memcmp(s, a, 32) == 0);
	CHECK(H->protected_guest() == 0 || access("/sys/firmware/uv/prot_virt_guest", R_OK) == 0);
	umount(vol);
	umount(ro);
	return tu_failures;
}

static void test_mounts(void)
{
	int st = 0;
	pid_t pid = fork();

	CHECK(pid >= 0);
	if (pid == 0)
		_exit(mount_child() & 0x7f);
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return;
	if (WIFEXITED(st) && WEXITSTATUS(st) == SKIP_RC) {
		printf("test_hal_hpvs: SKIPPED the mount checks (no mount namespace here)\n");
		return;
	}
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void test_attest(void)
{
	char c = 0;
	int fd = open("/sys/firmware/uv/prot_virt_guest", O_RDONLY), prot;

	if (fd >= 0) {
		if (read(fd, &c, 1) != 1)
			c = 0;
		close(fd);
	}
	prot = c == '1';
	CHECK(H->protected_guest() == prot);
	if (!prot) {
		uint8_t u[32] = { 1 };
		struct buf b = { 0 };

		CHECK(H->attest(u, sizeof u, &b) == -ENOTSUP);
		CHECK(b.len == 0);
		buf_free(&b);
	}
}

/* GET /attestation when the guest is protected but attest says -ENODEV. */
static int t_prot(void)
{
	return 1;
}

static int t_nodev(const uint8_t *user, size_t ulen, struct buf *out)
{
	(void)user;
	(void)ulen;
	(void)out;
	return -ENODEV;
}

static void test_endpoint_nodev(void)
{
	static const struct hal th = { .name = "t", .protected_guest = t_prot, .attest = t_nodev };
	char keys[300];
	struct srv_reply r;
	json *j = NULL;
	const char *e;

	snprintf(keys, sizeof keys, "%s/keys", root);
	CHECK(keeper_open(keys, util_rng, NULL) == 0);
	memset(&r, 0, sizeof r);
	api_attest("/attestation?nonce=c0ffee", &th, &r);
	CHECK(r.status == 503);
	CHECK(json_parse((const char *)r.body.data, r.body.len, &j, NULL) == 0);
	CHECK(json_bool(json_get(j, "protected")) == 1);
	CHECK((e = json_get_str(j, "error")) && strcmp(e, API_ATTEST_NO_DEVICE) == 0);
	CHECK(json_get(j, "evidence") == NULL);
	json_free(j);
	buf_free(&r.body);
	keeper_close();
}

int main(void)
{
	log_quiet = 1;
	H = hal_select("hpvs");
	test_select();
	if (!H || !mkdtemp(root))
		return tu_done("test_hal_hpvs");
	test_secret_errors(root);
	test_volume_errors();
	test_mounts();
	test_attest();
	test_endpoint_nodev();
	nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return tu_done("test_hal_hpvs");
}
