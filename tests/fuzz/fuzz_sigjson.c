/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the parsers of signature objects a registry sends (src/sigstore.c,
 * src/prov.c). The first byte picks one: 0 sig_payload_check, 1
 * prov_envelope_open (under a P-256 public key whose private half was thrown
 * away: an envelope that opens is a forgery, so success aborts), 2
 * sig_att_parse, 3 prov_statement_check, 4 sig_att_build appending to the
 * input as an existing attachment manifest (its output must parse again).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sigstore.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char pub[] =
	"-----BEGIN PUBLIC KEY-----\n"
	"MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEaK1cIIMymXGNpEILef0gSnUg9Lqw\n"
	"FsjhkXisTImO2f6EuhxtWJMw2ilBcAXSr51+oxu7tZL/3I9PJ2ZUqDQz8w==\n"
	"-----END PUBLIC KEY-----\n";

#define FD "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

static void build(const uint8_t *p, size_t n)
{
	static struct sig_layer ls[SIG_MAX_LAYERS];
	struct sig_new_layer l = { SIG_MT_SIMPLESIGNING, FD, 10, "MEUC", NULL };
	struct buf cfg = { 0 }, man = { 0 };
	char err[256];
	size_t k = 0;
	int rc = sig_att_build(p, n, &l, &cfg, &man, err, sizeof err);

	if (rc == 0 && sig_att_parse(man.data, man.len, ls, &k, err, sizeof err) != 0)
		abort();
	buf_free(&cfg);
	buf_free(&man);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sig_layer ls[SIG_MAX_LAYERS];
	struct prov_summary s;
	uint8_t *st = NULL;
	size_t n = 0;
	char err[256];

	if (size < 1)
		return 0;
	switch (data[0] % 5) {
	case 0:
		sig_payload_check(data + 1, size - 1, FD, "127.0.0.1:5000/ns/app", err, sizeof err);
		break;
	case 1:
		if (prov_envelope_open(data + 1, size - 1, (const uint8_t *)pub, sizeof pub - 1, &st, &n,
				       err, sizeof err) == 0)
			abort();
		free(st);
		break;
	case 2:
		sig_att_parse(data + 1, size - 1, ls, &n, err, sizeof err);
		break;
	case 3:
		prov_statement_check(data + 1, size - 1, FD, &s, err, sizeof err);
		break;
	default:
		build(data + 1, size - 1);
	}
	return 0;
}
