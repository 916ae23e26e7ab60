/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the SSH parsers of our own (src/git_sshkey.c). The first byte
 * picks one: 'u' an SSH URL (the rest as a string), 'k' a deploy key (PEM or
 * OpenSSH container: its public half), 'b' a key blob (its fingerprint).
 * Invariants: a parsed URL has a user, a host, a port in 1..65535 and a path
 * with none of the characters that could leave the remote command's quotes;
 * a key's public half is "ecdsa-sha2-nistp256|384 <base64>" whose blob has
 * a fingerprint of that type. (libssh2's own parsing of the SSH protocol is
 * not fuzzed here: see docs/git.md.)
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cry.h"
#include "git.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void url(const uint8_t *p, size_t n)
{
	struct git_ssh_url *u = malloc(sizeof *u);
	char *s = malloc(n + 1), err[256];

	if (!u || !s)
		abort();
	memcpy(s, p, n);
	s[n] = 0;
	if (git_ssh_parse_url(s, u, err, sizeof err) == 0) {
		if (!git_ssh_is_url(s) || !u->user[0] || !u->host[0] || u->port == 0 ||
		    u->port > 65535 || !u->path[0] || u->path[0] == '-' ||
		    strpbrk(u->path, "'\"\\`$!\n\r"))
			abort();
	} else if (!err[0]) {
		abort();
	}
	free(s);
	free(u);
}

static void key(const uint8_t *p, size_t n)
{
	char *pub = NULL, err[512], fp[GIT_SSH_HOSTKEY_LEN];
	size_t pl = 0, bl = 0;
	uint8_t blob[512];
	const char *sp;

	if (git_ssh_key_prepare(p, n, &pub, &pl, err, sizeof err) == 0) {
		if (!pub || strlen(pub) != pl || strncmp(pub, "ecdsa-sha2-nistp", 16) != 0 ||
		    !(sp = strchr(pub, ' ')) ||
		    cry_b64_decode(sp + 1, pl - (size_t)(sp + 1 - pub), blob, sizeof blob, &bl) < 0 ||
		    git_ssh_fingerprint(blob, bl, fp) < 0 ||
		    strncmp(fp, pub, (size_t)(sp - pub)) != 0)
			abort();
	} else if (!err[0] || pub) {
		abort();
	}
	free(pub);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char fp[GIT_SSH_HOSTKEY_LEN];

	if (size < 1 || size > 20000)
		return 0;
	switch (data[0]) {
	case 'u':
		url(data + 1, size - 1);
		break;
	case 'k':
		key(data + 1, size - 1);
		break;
	case 'b':
		if (git_ssh_fingerprint(data + 1, size - 1, fp) == 0 &&
		    strncmp(fp + strcspn(fp, " "), " SHA256:", 8) != 0)
			abort();
		break;
	default:
		break;
	}
	return 0;
}
