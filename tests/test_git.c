/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the git modules (src/git_*.c) and, with arguments, the driver
 * tests/it_git.sh uses:
 *   test_git fetch URL BRANCH DIR CAFILE|- [--v0] [--max-pack N] [--depth N]
 *            [--timeout-ms N] [--ssh-key FILE] [--known-hosts FILE]
 * prints the commit id on the first line of stdout (then "protocol N",
 * "time T", "tree T", for SSH "hostkey TYPE SHA256:..." and one "submodule
 * PATH OID" per gitlink) and exits 0,
 * or prints the error and exits 1. Without arguments: the unit tests, with
 * packs built here by hand (zlib "stored" blocks, so no zlib in the test) and
 * known ids from `git hash-object` (the origin of each vector is noted).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cry.h"
#include "git.h"
#include "tutil.h"
#include "util.h"

/* ---- the fetch driver ------------------------------------------------------- */

struct drive_args {
	struct git_fetch_opts o;
	uint8_t *ca, *key;
	size_t ca_len, key_len;
	int recurse;
};

static int drive_opts(struct drive_args *a, int argc, char **argv)
{
	for (int i = 6; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		uint64_t n = 0;
		int num = v && util_parse_u64(v, strlen(v), UINT64_MAX, &n) == 0;

		if (strcmp(argv[i], "--v0") == 0) {
			a->o.force_v0 = 1;
			continue;
		}
		if (strcmp(argv[i], "--recurse") == 0) {
			a->recurse = 1;
			continue;
		}
		if (v && strcmp(argv[i], "--commit") == 0)
			a->o.commit = v;
		else
		if (num && strcmp(argv[i], "--max-pack") == 0)
			a->o.lim.max_pack = n;
		else if (num && strcmp(argv[i], "--depth") == 0)
			a->o.depth = (unsigned)n;
		else if (num && n < 3600000 && strcmp(argv[i], "--timeout-ms") == 0)
			a->o.timeout_ms = (int)n;
		else if (v && strcmp(argv[i], "--known-hosts") == 0)
			a->o.known_hosts = v;
		else if (v && strcmp(argv[i], "--ssh-key") == 0) {
			if (util_read_file(v, 1u << 20, &a->key, &a->key_len) < 0) {
				fprintf(stderr, "cannot read %s\n", v);
				return 2;
			}
		} else {
			fprintf(stderr, "unknown option %s\n", argv[i]);
			return 2;
		}
		i++;
	}
	a->o.ssh_key = a->key;
	a->o.ssh_key_len = a->key_len;
	return 0;
}

static void sub_log(void *ctx, const struct git_submodule *s)
{
	(void)ctx;
	fprintf(stderr, "%s submodule %s from %s at %s\n", s->fetched ? "fetched" : "fetching",
		s->path, s->url, s->oid);
}

static int drive(int argc, char **argv)
{
	struct drive_args a = { .o = { .url = argv[2], .branch = argv[3] } };
	struct git_result r;
	char err[1024] = "";
	int dfd, rc;

	if ((rc = drive_opts(&a, argc, argv)) != 0)
		goto out;
	rc = 2;
	if (strcmp(argv[5], "-") != 0 && util_read_file(argv[5], 1u << 22, &a.ca, &a.ca_len) < 0) {
		fprintf(stderr, "cannot read %s\n", argv[5]);
		goto out;
	}
	a.o.ca_pem = a.ca;
	a.o.ca_len = a.ca_len;
	dfd = open(argv[4], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		fprintf(stderr, "cannot open %s\n", argv[4]);
		goto out;
	}
	rc = git_fetch_checkout(&a.o, dfd, &r, err, sizeof err);
	if (rc == 0 && a.recurse && (rc = git_submodules_checkout(&a.o, dfd, &r, sub_log, NULL, err,
								 sizeof err)) < 0)
		git_result_free(&r);
	close(dfd);
	if (rc < 0) {
		fprintf(stderr, "fetch failed (%d): %s\n", rc, err);
		if (r.host_key[0])
			fprintf(stderr, "hostkey %s\n", r.host_key);
		rc = 1;
		goto out;
	}
	printf("%s\nprotocol %d\ntime %llu\ntree %s\n", r.commit, r.protocol,
	       (unsigned long long)r.commit_time, r.tree);
	if (r.host_key[0])
		printf("hostkey %s\n", r.host_key);
	if (r.searched)
		printf("searched\n");
	printf("pack %llu\n", (unsigned long long)r.pack_bytes);
	for (size_t i = 0; i < r.nsubs; i++)
		if (r.subs[i].fetched)
			printf("submodule %s %s %s depth %u v%d%s\n", r.subs[i].path, r.subs[i].oid,
			       r.subs[i].url, r.subs[i].depth, r.subs[i].protocol,
			       r.subs[i].searched ? " searched" : "");
		else
			printf("submodule %s %s\n", r.subs[i].path, r.subs[i].oid);
	git_result_free(&r);
out:
	free(a.ca);
	wipe_free(a.key, a.key_len);
	return rc;
}

/* ---- helpers ------------------------------------------------------------------ */

static int hex_is(const uint8_t *oid, const char *hex)
{
	char h[GIT_HEX_LEN + 1];

	git_hex(oid, h);
	return strcmp(h, hex) == 0;
}

/* A zlib stream of stored blocks (RFC 1950/1951) holding p[0..n). */
static void zstored(struct buf *b, const uint8_t *p, size_t n)
{
	uint32_t a = 1, c = 0;
	uint8_t hd[2] = { 0x78, 0x01 };
	size_t off = 0;

	buf_append(b, hd, 2);
	do {
		size_t k = n - off > 65535 ? 65535 : n - off;
		uint8_t blk[5] = { (uint8_t)(off + k == n), (uint8_t)k, (uint8_t)(k >> 8),
				   (uint8_t)~k, (uint8_t)(~k >> 8) };

		buf_append(b, blk, 5);
		buf_append(b, p + off, k);
		off += k;
	} while (off < n);
	for (size_t i = 0; i < n; i++) {
		a = (a + p[i]) % 65521;
		c = (c + a) % 65521;
	}
	uint8_t ad[4] = { (uint8_t)(c >> 8), (uint8_t)c, (uint8_t)(a >> 8), (uint8_t)a };
	buf_append(b, ad, 4);
}

static void entry_hdr(struct buf *b, unsigned type, size_t size)
{
	uint8_t c = (uint8_t)(type << 4 | (size & 15));

	size >>= 4;
	while (size) {
		buf_append(b, (uint8_t[]){ c | 0x80 }, 1);
		c = size & 0x7f;
		size >>= 7;
	}
	buf_append(b, &c, 1);
}

static void pack_begin(struct buf *b, uint32_t n)
{
	uint8_t h[12] = { 'P', 'A', 'C', 'K', 0, 0, 0, 2, (uint8_t)(n >> 24), (uint8_t)(n >> 16),
			  (uint8_t)(n >> 8), (uint8_t)n };

	b->len = 0;
	buf_append(b, h, 12);
}

static void pack_obj(struct buf *b, unsigned type, const void *p, size_t n)
{
	entry_hdr(b, type, n);
	zstored(b, p, n);
}

static void pack_ofs(struct buf *b, size_t here, size_t base, const void *d, size_t n)
{
	uint64_t dist = here - base;
	uint8_t tmp[10];
	int k = 9;

	entry_hdr(b, GIT_OFS_DELTA, n);
	tmp[k] = dist & 0x7f;
	while (dist >>= 7)
		tmp[--k] = 0x80 | (--dist & 0x7f);
	buf_append(b, tmp + k, (size_t)(10 - k));
	zstored(b, d, n);
}

static void pack_ref(struct buf *b, const uint8_t *base, const void *d, size_t n)
{
	entry_hdr(b, GIT_REF_DELTA, n);
	buf_append(b, base, GIT_OID_LEN);
	zstored(b, d, n);
}

static void pack_end(struct buf *b)
{
	uint8_t sum[20];

	cry_sha1(b->data, b->len, sum);
	buf_append(b, sum, 20);
}

/* ---- tests -------------------------------------------------------------------- */

static void test_sha1(void)
{
	uint8_t d[20];
	struct cry_sha1 c;
	static uint8_t mil[1000000];

	/* FIPS 180-2 appendix A and B */
	cry_sha1("abc", 3, d);
	CHECK(hex_is(d, "a9993e364706816aba3e25717850c26c9cd0d89d"));
	cry_sha1("", 0, d);
	CHECK(hex_is(d, "da39a3ee5e6b4b0d3255bfef95601890afd80709"));
	cry_sha1_init(&c);
	cry_sha1_update(&c, "abcdbcdecdefdefgefghfghighij", 28);
	cry_sha1_update(&c, "hijkijkljklmklmnlmnomnopnopq", 28);
	cry_sha1_final(&c, d);
	CHECK(hex_is(d, "84983e441c3bd26ebaae4aa1f95129e5e54670f1"));
	memset(mil, 'a', sizeof mil);
	cry_sha1(mil, sizeof mil, d);
	CHECK(hex_is(d, "34aa973cd4c4daa4f61eeb2bdbad27316534016f"));
	/* `printf 'hello\n' | git hash-object --stdin`, the empty blob and tree */
	git_obj_hash(GIT_BLOB, (const uint8_t *)"hello\n", 6, d);
	CHECK(hex_is(d, "ce013625030ba8dba906f756967f9e9ca394464a"));
	git_obj_hash(GIT_BLOB, (const uint8_t *)"", 0, d);
	CHECK(hex_is(d, "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"));
	git_obj_hash(GIT_TREE, (const uint8_t *)"", 0, d);
	CHECK(hex_is(d, "4b825dc642cb6eb9a060e54bf8d69288fbee4904"));
}

static void test_pkt(void)
{
	struct buf b = { 0 };
	struct git_pktr *r = malloc(sizeof *r);
	enum git_pkt_kind k;
	const uint8_t *pl;
	size_t used, pll, off = 0;
	int kinds[8], nk = 0, rc;

	CHECK(git_pkt_printf(&b, "hello\n") == 0);
	CHECK(git_pkt_special(&b, GIT_PKT_DELIM) == 0);
	CHECK(git_pkt_write(&b, "", 0) == 0);
	CHECK(git_pkt_special(&b, GIT_PKT_FLUSH) == 0);
	CHECK(b.len == 22 && memcmp(b.data, "000ahello\n000100040000", 22) == 0);
	/* byte by byte gives the same pkts */
	git_pktr_init(r);
	while (off < b.len && nk < 8) {
		rc = git_pktr_next(r, b.data + off, 1, &used, &k, &pl, &pll);
		off += used;
		CHECK(rc >= 0);
		if (rc == 1) {
			kinds[nk++] = (int)k;
			if (nk == 1)
				CHECK(pll == 6 && memcmp(pl, "hello\n", 6) == 0);
			if (nk == 3)
				CHECK(pll == 0);
		}
	}
	CHECK(nk == 4 && kinds[0] == GIT_PKT_DATA && kinds[1] == GIT_PKT_DELIM &&
	      kinds[2] == GIT_PKT_DATA && kinds[3] == GIT_PKT_FLUSH);
	/* bad lengths: not hex, 3, over GIT_MAX_PKT; a partial pkt shows */
	const char *bad[] = { "00x1", "0003", "fff1", "FFFF" };
	for (size_t i = 0; i < 4; i++) {
		git_pktr_init(r);
		CHECK(git_pktr_next(r, (const uint8_t *)bad[i], 4, &used, &k, &pl, &pll) == -EBADMSG);
	}
	git_pktr_init(r);
	CHECK(git_pktr_next(r, (const uint8_t *)"0009don", 7, &used, &k, &pl, &pll) == 0);
	CHECK(git_pktr_partial(r));
	/* a pkt of exactly GIT_MAX_PKT, and one byte too long for the writer */
	b.len = 0;
	uint8_t *big = calloc(1, GIT_MAX_PKT);
	CHECK(git_pkt_write(&b, big, GIT_MAX_PKT - 4) == 0);
	CHECK(git_pkt_write(&b, big, GIT_MAX_PKT - 3) == -E2BIG);
	git_pktr_init(r);
	CHECK(git_pktr_next(r, b.data, b.len, &used, &k, &pl, &pll) == 1 && pll == GIT_MAX_PKT - 4);
	free(big);
	free(r);
	buf_free(&b);
}

static int apply(const char *base, const uint8_t *d, size_t n, char *out, size_t cap)
{
	uint8_t *o = NULL;
	size_t ol = 0;
	int rc = git_delta_apply((const uint8_t *)base, strlen(base), d, n, 1 << 20, &o, &ol);

	if (rc == 0) {
		snprintf(out, cap, "%.*s", (int)ol, o);
		free(o);
	}
	return rc;
}

static void test_delta(void)
{
	char out[64];
	/* base "hello world" (11): copy 0+6 "hello ", insert "there", copy 6+5 "world" */
	const uint8_t good[] = { 11, 16, 0x90, 6, 5, 't', 'h', 'e', 'r', 'e', 0x91, 6, 5 };
	CHECK(apply("hello world", good, sizeof good, out, sizeof out) == 0);
	CHECK(strcmp(out, "hello thereworld") == 0);
	/* copy out of bounds (offset 8 + size 5 > 11) */
	const uint8_t oob[] = { 11, 5, 0x91, 8, 5 };
	CHECK(apply("hello world", oob, sizeof oob, out, sizeof out) == -EBADMSG);
	/* base size mismatch */
	const uint8_t srcsz[] = { 12, 5, 0x90, 5 };
	CHECK(apply("hello world", srcsz, sizeof srcsz, out, sizeof out) == -EBADMSG);
	/* result shorter / longer than declared */
	const uint8_t shortr[] = { 11, 6, 0x90, 5 };
	CHECK(apply("hello world", shortr, sizeof shortr, out, sizeof out) == -EBADMSG);
	const uint8_t longr[] = { 11, 4, 0x90, 5 };
	CHECK(apply("hello world", longr, sizeof longr, out, sizeof out) == -EBADMSG);
	/* opcode 0, insert past the delta's end, truncated copy operands */
	const uint8_t op0[] = { 11, 1, 0 };
	CHECK(apply("hello world", op0, sizeof op0, out, sizeof out) == -EBADMSG);
	const uint8_t ins[] = { 11, 3, 3, 'a' };
	CHECK(apply("hello world", ins, sizeof ins, out, sizeof out) == -EBADMSG);
	const uint8_t trunc[] = { 11, 5, 0x91, 0 };
	CHECK(apply("hello world", trunc, sizeof trunc, out, sizeof out) == -EBADMSG);
	/* a size varint that never ends; a result over the cap */
	const uint8_t endless[] = { 0x8b, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80 };
	CHECK(apply("hello world", endless, sizeof endless, out, sizeof out) == -EBADMSG);
	const uint8_t huge[] = { 11, 0x80, 0x80, 0x80, 0x01, 0x90, 5 };
	CHECK(apply("hello world", huge, sizeof huge, out, sizeof out) == -EFBIG);
	/* copy size 0 means 0x10000: out of bounds of an 11-byte base */
	const uint8_t c0[] = { 11, 0x80, 0x80, 0x04, 0x80 };
	CHECK(apply("hello world", c0, sizeof c0, out, sizeof out) == -EBADMSG);
}

static void test_commit_tree(void)
{
	const char *cm =
		"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n"
		"parent ce013625030ba8dba906f756967f9e9ca394464a\n"
		"parent e69de29bb2d1d6434b8b29ae775ad8c2e48c5391\n"
		"author A U Thor <a@example.com> 1700000000 +0100\n"
		"committer C O Mitter <c@example.com> 1700000123 -0500\n"
		"gpgsig -----BEGIN PGP SIGNATURE-----\n"
		" tree 0000000000000000000000000000000000000000\n"
		" -----END PGP SIGNATURE-----\n"
		"\n"
		"message\n";
	struct git_commit c;

	CHECK(git_commit_parse((const uint8_t *)cm, strlen(cm), &c) == 0);
	CHECK(hex_is(c.tree, "4b825dc642cb6eb9a060e54bf8d69288fbee4904"));
	CHECK(c.nparents == 2 && hex_is(c.parent0, "ce013625030ba8dba906f756967f9e9ca394464a"));
	CHECK(c.author_time == 1700000000 && c.commit_time == 1700000123);
	CHECK(strcmp(c.author, "A U Thor <a@example.com>") == 0);
	CHECK(strcmp(c.committer, "C O Mitter <c@example.com>") == 0);
	const char *bad[] = {
		"tree 4b825dc642cb6eb9a060e54bf8d69288fbee490\nauthor a <b> 1 +0000\ncommitter a <b> 1 +0000\n\n",
		"author a <b> 1 +0000\ncommitter a <b> 1 +0000\n\n",
		"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor a <b> x +0000\ncommitter a <b> 1 +0000\n\n",
		"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor a <b> 1 +0000\ncommitter a <b> 1 +0000",
		"tree 4B825DC642CB6EB9A060E54BF8D69288FBEE4904\nauthor a <b> 1 +0000\ncommitter a <b> 1 +0000\n\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		CHECK(git_commit_parse((const uint8_t *)bad[i], strlen(bad[i]), &c) == -EBADMSG);

	uint8_t tree[128];
	size_t n = 0, off = 0;
	struct git_tree_entry e;
	memcpy(tree, "100664 a\0", 9);
	memset(tree + 9, 0x11, 20);
	memcpy(tree + 29, "40000 d\0", 8);
	memset(tree + 37, 0x22, 20);
	n = 57;
	CHECK(git_tree_next(tree, n, &off, &e) == 1 && e.mode == 0100644 && e.nlen == 1 &&
	      e.name[0] == 'a' && e.oid[0] == 0x11);
	CHECK(git_tree_next(tree, n, &off, &e) == 1 && e.mode == 040000 && e.oid[19] == 0x22);
	CHECK(git_tree_next(tree, n, &off, &e) == 0);
	off = 0;
	CHECK(git_tree_next(tree, n - 1, &off, &e) == 1);
	CHECK(git_tree_next(tree, n - 1, &off, &e) == -EBADMSG);   /* truncated id */
	memcpy(tree, "100640 a\0", 9);                                 /* normalised */
	off = 0;
	CHECK(git_tree_next(tree, n, &off, &e) == 1 && e.mode == 0100644);
	memcpy(tree, "120001 a\0", 9);
	off = 0;
	CHECK(git_tree_next(tree, n, &off, &e) == -EBADMSG);
	memcpy(tree, "100644 a", 8);
	memset(tree + 8, 'x', 21);                                     /* no NUL */
	off = 0;
	CHECK(git_tree_next(tree, 29, &off, &e) == -EBADMSG);
}

static void test_adv(void)
{
	char err[256];
	struct git_adv a;
	struct buf b = { 0 };
	const char *h = "ce013625030ba8dba906f756967f9e9ca394464a";

	git_pkt_printf(&b, "# service=git-upload-pack\n");
	git_pkt_special(&b, GIT_PKT_FLUSH);
	git_pkt_printf(&b, "%s HEAD%c%s\n", h, 0, "multi_ack side-band-64k ofs-delta shallow "
		       "symref=HEAD:refs/heads/main agent=git/2.39");
	git_pkt_printf(&b, "%s refs/heads/main\n", h);
	git_pkt_printf(&b, "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391 refs/heads/dev\n");
	git_pkt_special(&b, GIT_PKT_FLUSH);
	CHECK(git_adv_parse(b.data, b.len, "refs/heads/dev", &a, err, sizeof err) == 0);
	CHECK(a.version == 0 && a.have_oid && hex_is(a.oid, "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"));
	CHECK(strcmp(a.head_target, "refs/heads/main") == 0 && a.nrefs == 3);
	CHECK(git_cap(&a, "side-band-64k", NULL, NULL) && !git_cap(&a, "side-band", NULL, NULL));
	CHECK(git_adv_parse(b.data, b.len, "HEAD", &a, err, sizeof err) == 0 && hex_is(a.oid, h));
	CHECK(git_adv_parse(b.data, b.len - 4, "HEAD", &a, err, sizeof err) == -EBADMSG);
	CHECK(git_adv_parse(b.data, b.len - 9, "HEAD", &a, err, sizeof err) == -EBADMSG);

	b.len = 0;
	git_pkt_printf(&b, "version 2\n");
	git_pkt_printf(&b, "agent=git/2.39.5\n");
	git_pkt_printf(&b, "ls-refs=unborn\n");
	git_pkt_printf(&b, "fetch=shallow wait-for-done\n");
	git_pkt_printf(&b, "object-format=sha1\n");
	git_pkt_special(&b, GIT_PKT_FLUSH);
	const char *v;
	size_t vl;
	CHECK(git_adv_parse(b.data, b.len, "refs/heads/main", &a, err, sizeof err) == 0);
	CHECK(a.version == 2 && git_cap(&a, "fetch", &v, &vl) && vl == 21 &&
	      memcmp(v, "shallow wait-for-done", 21) == 0);
	CHECK(git_cap(&a, "ls-refs", NULL, NULL) && !git_cap(&a, "ls", NULL, NULL));

	b.len = 0;
	git_pkt_printf(&b, "ERR access denied\x1b[31m\n");
	CHECK(git_adv_parse(b.data, b.len, "HEAD", &a, err, sizeof err) == -EREMOTEIO);
	CHECK(strstr(err, "access denied?[31m") != NULL);
	b.len = 0;
	git_pkt_printf(&b, "version 3\n");
	CHECK(git_adv_parse(b.data, b.len, "HEAD", &a, err, sizeof err) == -EPROTONOSUPPORT);

	uint8_t oid[20];
	char sym[64];
	b.len = 0;
	git_pkt_printf(&b, "%s HEAD symref-target:refs/heads/main\n", h);
	git_pkt_printf(&b, "%s refs/heads/main\n", h);
	git_pkt_special(&b, GIT_PKT_FLUSH);
	CHECK(git_lsrefs_parse(b.data, b.len, "HEAD", oid, sym, sizeof sym, err, sizeof err) == 1);
	CHECK(hex_is(oid, h) && strcmp(sym, "refs/heads/main") == 0);
	CHECK(git_lsrefs_parse(b.data, b.len, "refs/heads/x", oid, sym, sizeof sym, err, sizeof err) == 0);
	CHECK(git_lsrefs_parse(b.data, b.len - 4, "HEAD", oid, sym, sizeof sym, err, sizeof err) < 0);
	buf_free(&b);
}

static int sink_count(void *ctx, const uint8_t *p, size_t n)
{
	struct buf *b = ctx;

	return buf_append(b, p, n);
}

static int rx_run(int v2, const struct buf *in, size_t step, uint64_t max, struct buf *out,
		  char *err, size_t errcap)
{
	struct git_rx *x = malloc(sizeof *x);
	int rc = 0;

	out->len = 0;
	git_rx_init(x, v2, 1, max, sink_count, out, err, errcap);
	for (size_t off = 0; off < in->len && rc == 0; off += step)
		rc = git_rx_feed(x, in->data + off, in->len - off < step ? in->len - off : step);
	if (rc == 0)
		rc = git_rx_end(x);
	free(x);
	return rc;
}

static void test_rx(void)
{
	struct buf b = { 0 }, out = { 0 };
	char err[256];

	git_pkt_printf(&b, "shallow-info\n");
	git_pkt_printf(&b, "shallow ce013625030ba8dba906f756967f9e9ca394464a\n");
	git_pkt_special(&b, GIT_PKT_DELIM);
	git_pkt_printf(&b, "packfile\n");
	git_pkt_printf(&b, "\2progress\n");
	git_pkt_printf(&b, "\1PACK");
	git_pkt_printf(&b, "\1data");
	git_pkt_special(&b, GIT_PKT_FLUSH);
	CHECK(rx_run(1, &b, 1, 100, &out, err, sizeof err) == 0);
	CHECK(out.len == 8 && memcmp(out.data, "PACKdata", 8) == 0);
	CHECK(rx_run(1, &b, 1000, 100, &out, err, sizeof err) == 0 && out.len == 8);
	CHECK(rx_run(1, &b, 1000, 7, &out, err, sizeof err) == -EFBIG);      /* over max_pack */
	b.len -= 4;
	CHECK(rx_run(1, &b, 3, 100, &out, err, sizeof err) == -EPIPE);       /* no flush */
	b.len -= 3;
	CHECK(rx_run(1, &b, 3, 100, &out, err, sizeof err) == -EPIPE && strstr(err, "truncated"));
	b.len -= 6;
	git_pkt_printf(&b, "\3repository corrupt\n");
	CHECK(rx_run(1, &b, 5, 100, &out, err, sizeof err) == -EREMOTEIO);
	CHECK(strstr(err, "the server reported an error: repository corrupt") != NULL);

	b.len = 0;                                                             /* v0 */
	git_pkt_printf(&b, "shallow ce013625030ba8dba906f756967f9e9ca394464a\n");
	git_pkt_special(&b, GIT_PKT_FLUSH);
	git_pkt_printf(&b, "NAK\n");
	git_pkt_printf(&b, "\1PACK");
	git_pkt_special(&b, GIT_PKT_FLUSH);
	CHECK(rx_run(0, &b, 2, 100, &out, err, sizeof err) == 0 && out.len == 4);
	b.len = 0;
	git_pkt_printf(&b, "ERR upload-pack: not our ref\n");
	CHECK(rx_run(0, &b, 2, 100, &out, err, sizeof err) == -EREMOTEIO && strstr(err, "not our ref"));
	buf_free(&b);
	buf_free(&out);
}

/* A pack: blob, tree, commit, OFS delta of the blob, REF delta of the delta. */
static void test_pack(void)
{
	struct buf p = { 0 }, t = { 0 }, c = { 0 };
	struct git_store *s = NULL;
	char err[256];
	uint8_t blob[20], d1[20], d2[20], tree[20], commit[20], *data;
	size_t len, blob_off, d1_off;
	enum git_type ty;
	const char *text = "hello world\n";
	const uint8_t delta1[] = { 12, 13, 0x90, 6, 7, 't', 'h', 'e', 'r', 'e', '!', '\n' };
	const uint8_t delta2[] = { 13, 3, 0x90, 3 };

	git_obj_hash(GIT_BLOB, (const uint8_t *)text, 12, blob);
	git_obj_hash(GIT_BLOB, (const uint8_t *)"hello there!\n", 13, d1);
	git_obj_hash(GIT_BLOB, (const uint8_t *)"hel", 3, d2);
	buf_printf(&t, "100644 a.txt%c", 0);
	buf_append(&t, blob, 20);
	git_obj_hash(GIT_TREE, t.data, t.len, tree);
	char th[41];
	git_hex(tree, th);
	buf_printf(&c, "tree %s\nauthor a <a@b> 1 +0000\ncommitter c <c@d> 1234 +0000\n\nm\n", th);
	git_obj_hash(GIT_COMMIT, c.data, c.len, commit);

	pack_begin(&p, 5);
	pack_ref(&p, d1, delta2, sizeof delta2);        /* its base comes later */
	blob_off = p.len;
	pack_obj(&p, GIT_BLOB, text, 12);
	pack_obj(&p, GIT_TREE, t.data, t.len);
	pack_obj(&p, GIT_COMMIT, c.data, c.len);
	d1_off = p.len;
	pack_ofs(&p, d1_off, blob_off, delta1, sizeof delta1);
	pack_end(&p);
	CHECK(git_store_open(&s, p.data, p.len, NULL, err, sizeof err) == 0);
	if (s) {
		CHECK(git_store_count(s) == 5);
		CHECK(git_store_get(s, d2, &ty, &data, &len) == 0 && ty == GIT_BLOB && len == 3 &&
		      memcmp(data, "hel", 3) == 0);
		free(data);
		CHECK(git_store_get(s, d1, &ty, &data, &len) == 0 && len == 13);
		free(data);
		CHECK(git_store_get(s, commit, &ty, &data, &len) == 0 && ty == GIT_COMMIT);
		free(data);
		uint8_t none[20] = { 1 };
		CHECK(git_store_get(s, none, &ty, &data, &len) == -ENOENT);
		git_store_free(s);
	}
	/* the chain length limit */
	struct git_limits lim = { .max_depth = 1 };
	CHECK(git_store_open(&s, p.data, p.len, &lim, err, sizeof err) == -ELOOP);
	/* a flipped byte: checksum; a fixed-up checksum: corrupt zlib or bad delta */
	p.data[blob_off + 10] ^= 1;
	CHECK(git_store_open(&s, p.data, p.len, NULL, err, sizeof err) == -EBADMSG);
	CHECK(strstr(err, "checksum") != NULL);
	p.len -= 20;
	pack_end(&p);
	CHECK(git_store_open(&s, p.data, p.len, NULL, err, sizeof err) == -EBADMSG);
	CHECK(strstr(err, "zlib") != NULL);
	/* a delta whose base size is not its base's */
	const uint8_t badd[] = { 11, 3, 0x90, 3 };
	pack_begin(&p, 2);
	pack_obj(&p, GIT_BLOB, text, 12);
	pack_ofs(&p, p.len, 12, badd, sizeof badd);
	pack_end(&p);
	CHECK(git_store_open(&s, p.data, p.len, NULL, err, sizeof err) == -EBADMSG);
	CHECK(strstr(err, "bad delta") != NULL);
	/* REF deltas that only name each other */
	pack_begin(&p, 2);
	pack_ref(&p, d2, delta2, sizeof delta2);
	pack_ref(&p, d1, delta2, sizeof delta2);
	pack_end(&p);
	CHECK(git_store_open(&s, p.data, p.len, NULL, err, sizeof err) == -EBADMSG);
	CHECK(strstr(err, "no base") != NULL);
	/* more objects than the header says / fewer; bad version; too many */
	pack_begin(&p, 1);
	pack_obj(&p, GIT_BLOB, text, 12);
	pack_obj(&p, GIT_BLOB, text, 12);
	pack_end(&p);
	CHECK(git_store_open(&s, p.data, p.len, NULL, err, sizeof err) == -EBADMSG);
	pack_begin(&p, 3);
	pack_obj(&p, GIT_BLOB, text, 12);
	pack_obj(&p, GIT_BLOB, text, 12);
	pack_end(&p);
	CHECK(git_store_open(&s, p.data, p.len, NULL, err, sizeof err) == -EBADMSG);
	p.data[7] = 4;
	CHECK(git_store_open(&s, p.data, p.len, NULL, err, sizeof err) == -EBADMSG);
	struct git_limits one = { .max_objects = 1 };
	pack_begin(&p, 2);
	pack_obj(&p, GIT_BLOB, text, 12);
	pack_obj(&p, GIT_BLOB, text, 12);
	pack_end(&p);
	CHECK(git_store_open(&s, p.data, p.len, &one, err, sizeof err) == -EFBIG);
	/* an entry whose header claims more than it inflates to, and less */
	pack_begin(&p, 1);
	entry_hdr(&p, GIT_BLOB, 13);
	zstored(&p, (const uint8_t *)text, 12);
	pack_end(&p);
	CHECK(git_store_open(&s, p.data, p.len, NULL, err, sizeof err) == -EBADMSG);
	pack_begin(&p, 1);
	entry_hdr(&p, GIT_BLOB, 11);
	zstored(&p, (const uint8_t *)text, 12);
	pack_end(&p);
	CHECK(git_store_open(&s, p.data, p.len, NULL, err, sizeof err) == -EBADMSG);
	buf_free(&p);
	buf_free(&t);
	buf_free(&c);
}

/* Tree entry helper: "mode name\0oid". */
static void tent(struct buf *t, const char *mode, const char *name, size_t nlen, const uint8_t *oid)
{
	buf_printf(t, "%s ", mode);
	buf_append(t, name, nlen);
	buf_append(t, "", 1);
	buf_append(t, oid, 20);
}

static int checkout_tree(const struct buf *tree, const struct buf *sub, const char *blob,
			 const char *dir, struct git_result *r, char *err)
{
	struct buf p = { 0 }, c = { 0 };
	struct git_store *s = NULL;
	uint8_t toid[20], commit[20];
	char th[41];
	int rc, dfd;

	git_obj_hash(GIT_TREE, tree->data, tree->len, toid);
	git_hex(toid, th);
	buf_printf(&c, "tree %s\nauthor a <a@b> 5 +0000\ncommitter c <c@d> 1234 +0000\n\nm\n", th);
	git_obj_hash(GIT_COMMIT, c.data, c.len, commit);
	pack_begin(&p, sub ? 4 : 3);
	pack_obj(&p, GIT_COMMIT, c.data, c.len);
	pack_obj(&p, GIT_TREE, tree->data, tree->len);
	pack_obj(&p, GIT_BLOB, blob, strlen(blob));
	if (sub)
		pack_obj(&p, GIT_TREE, sub->data, sub->len);
	pack_end(&p);
	rc = git_store_open(&s, p.data, p.len, NULL, err, 256);
	if (rc == 0) {
		mkdir(dir, 0700);
		dfd = open(dir, O_RDONLY | O_DIRECTORY);
		memset(r, 0, sizeof *r);
		rc = git_checkout(s, commit, dfd, r, err, 256);
		close(dfd);
	}
	git_store_free(s);
	buf_free(&p);
	buf_free(&c);
	return rc;
}

static void test_checkout(void)
{
	char tmpl[] = "/tmp/test_git.XXXXXX", dir[64], path[128], lnk[64], err[256];
	const char *blob = "#!/bin/sh\n";
	struct buf t = { 0 }, sub = { 0 };
	struct git_result r;
	struct stat st;
	uint8_t boid[20], soid[20], gl[20];
	ssize_t k;

	CHECK(mkdtemp(tmpl) != NULL);
	git_obj_hash(GIT_BLOB, (const uint8_t *)blob, strlen(blob), boid);
	memset(gl, 0xab, 20);
	tent(&sub, "100755", "run", 3, boid);
	tent(&sub, "120000", "up", 2, boid);                /* target "#!/bin/sh\n" */
	git_obj_hash(GIT_TREE, sub.data, sub.len, soid);
	tent(&t, "100644", "f", 1, boid);
	tent(&t, "40000", "d", 1, soid);
	tent(&t, "160000", "mod", 3, gl);
	snprintf(dir, sizeof dir, "%s/ok", tmpl);
	CHECK(checkout_tree(&t, &sub, blob, dir, &r, err) == 0);
	CHECK(r.commit_time == 1234 && r.author_time == 5 && r.nsubs == 1 &&
	      strcmp(r.subs[0].path, "mod") == 0);
	snprintf(path, sizeof path, "%s/f", dir);
	CHECK(lstat(path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0777) == 0644 &&
	      st.st_size == 10);
	snprintf(path, sizeof path, "%s/d/run", dir);
	CHECK(lstat(path, &st) == 0 && (st.st_mode & 0777) == 0755);
	snprintf(path, sizeof path, "%s/d/up", dir);
	CHECK(lstat(path, &st) == 0 && S_ISLNK(st.st_mode));
	k = readlink(path, lnk, sizeof lnk);
	CHECK(k == 10 && memcmp(lnk, blob, 10) == 0);
	snprintf(path, sizeof path, "%s/mod", dir);
	CHECK(lstat(path, &st) == 0 && S_ISDIR(st.st_mode));
	git_result_free(&r);

	/* the root's .gitmodules is kept from the tree (a symlink is noted, not
	 * read; one in a subdirectory is not the superproject's) */
	t.len = 0;
	tent(&t, "100644", ".gitmodules", 11, boid);
	snprintf(dir, sizeof dir, "%s/gm", tmpl);
	CHECK(checkout_tree(&t, NULL, blob, dir, &r, err) == 0);
	CHECK(r.gitmodules && r.gitmodules_len == strlen(blob) && !memcmp(r.gitmodules, blob, 10) &&
	      r.gitmodules_err == 0 && r.entries == 1 && r.checkout_bytes == 10);
	git_result_free(&r);
	CHECK(r.gitmodules == NULL);
	t.len = 0;
	tent(&t, "120000", ".gitmodules", 11, boid);
	snprintf(dir, sizeof dir, "%s/gml", tmpl);
	CHECK(checkout_tree(&t, NULL, blob, dir, &r, err) == 0);
	CHECK(r.gitmodules == NULL && r.gitmodules_err == -ELOOP);
	git_result_free(&r);
	sub.len = 0;
	tent(&sub, "100644", ".gitmodules", 11, boid);
	t.len = 0;
	tent(&t, "40000", "d", 1, (git_obj_hash(GIT_TREE, sub.data, sub.len, soid), soid));
	snprintf(dir, sizeof dir, "%s/gmd", tmpl);
	CHECK(checkout_tree(&t, &sub, blob, dir, &r, err) == 0);
	CHECK(r.gitmodules == NULL && r.gitmodules_err == 0);
	git_result_free(&r);
	sub.len = 0;
	tent(&sub, "100755", "run", 3, boid);
	tent(&sub, "120000", "up", 2, boid);
	git_obj_hash(GIT_TREE, sub.data, sub.len, soid);

	/* refused names, each in a fresh workspace */
	const char *names[] = { ".", "..", ".git", ".GiT", "a/b", "" };
	for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
		t.len = 0;
		tent(&t, "100644", names[i], strlen(names[i]), boid);
		snprintf(dir, sizeof dir, "%s/n%zu", tmpl, i);
		CHECK(checkout_tree(&t, NULL, blob, dir, &r, err) == -EPERM);
		git_result_free(&r);
	}
	t.len = 0;
	tent(&t, "100644", "a\0b", 3, boid);    /* a NUL ends the name: the id is garbage */
	snprintf(dir, sizeof dir, "%s/nul", tmpl);
	CHECK(checkout_tree(&t, NULL, blob, dir, &r, err) < 0);
	git_result_free(&r);
	/* a symlink, then a directory of the same name (write-through attempt) */
	t.len = 0;
	tent(&t, "120000", "l", 1, boid);
	tent(&t, "40000", "l", 1, soid);
	snprintf(dir, sizeof dir, "%s/sym", tmpl);
	CHECK(checkout_tree(&t, &sub, blob, dir, &r, err) < 0 && strstr(err, "exists"));
	git_result_free(&r);
	t.len = 0;
	tent(&t, "100644", "x", 1, boid);
	tent(&t, "100755", "x", 1, boid);
	snprintf(dir, sizeof dir, "%s/dup", tmpl);
	CHECK(checkout_tree(&t, NULL, blob, dir, &r, err) < 0);
	git_result_free(&r);
	/* a missing blob */
	t.len = 0;
	tent(&t, "100644", "x", 1, gl);
	snprintf(dir, sizeof dir, "%s/miss", tmpl);
	CHECK(checkout_tree(&t, NULL, blob, dir, &r, err) == -EBADMSG && strstr(err, "not in the pack"));
	git_result_free(&r);
	buf_free(&t);
	buf_free(&sub);
	snprintf(path, sizeof path, "rm -rf %s", tmpl);
	CHECK(system(path) == 0);
}

/* ---- SSH: URLs, fingerprints, the pin file (git_ssh.c) ----------------------- */

static int url_is(const char *url, const char *user, const char *host, unsigned port,
		  const char *path)
{
	struct git_ssh_url u;
	char err[256];

	return git_ssh_parse_url(url, &u, err, sizeof err) == 0 && strcmp(u.user, user) == 0 &&
	       strcmp(u.host, host) == 0 && u.port == port && strcmp(u.path, path) == 0;
}

static int url_bad(const char *url)
{
	struct git_ssh_url u;
	char err[256] = "";

	return git_ssh_parse_url(url, &u, err, sizeof err) == -EINVAL && err[0] != 0;
}

static void test_ssh_url(void)
{
	CHECK(git_ssh_is_url("ssh://h/x") && git_ssh_is_url("git@github.com:o/r.git") &&
	      git_ssh_is_url("h:x"));
	CHECK(!git_ssh_is_url("https://h/x") && !git_ssh_is_url("http://h:80/x") &&
	      !git_ssh_is_url("./a:b") && !git_ssh_is_url("/srv/x:y") && !git_ssh_is_url(":x"));
	CHECK(url_is("git@github.com:owner/repo.git", "git", "github.com", 22, "owner/repo.git"));
	CHECK(url_is("ssh://git@github.com/owner/repo.git", "git", "github.com", 22,
		     "/owner/repo.git"));
	CHECK(url_is("ssh://deploy@10.0.0.1:2222/srv/r", "deploy", "10.0.0.1", 2222, "/srv/r"));
	CHECK(url_is("ssh://[::1]:2200/r", "git", "::1", 2200, "/r"));
	CHECK(url_is("ssh://h/~u/r", "git", "h", 22, "~u/r"));       /* as git reads it */
	CHECK(url_is("example.org:r", "git", "example.org", 22, "r"));
	CHECK(url_bad("ssh://h/it's") && url_bad("h:a\"b") && url_bad("h:a`id`") &&
	      url_bad("h:$HOME") && url_bad("h:a\\b") && url_bad("h:a!b") && url_bad("h:a\nb"));
	CHECK(url_bad("ssh://h/-oProxyCommand=x") == 0);    /* '/-...' is a path, not an option */
	CHECK(url_bad("h:-x") && url_bad("h:") && url_bad("ssh://h") && url_bad("ssh://h:0/x") &&
	      url_bad("ssh://h:65536/x") && url_bad("ssh://h:22x/x") && url_bad("ssh://-h/x") &&
	      url_bad("ssh://u;x@h/x") && url_bad("ssh://h_1/x") && url_bad("u@h:22:x") == 0);
	CHECK(url_bad("ssh://[::1/x") && url_bad("ssh://[zz]/x") && url_bad("ssh://@h/x"));
}

/* An ECDSA P-256 public key and its fingerprint, both from OpenSSH 9.2:
 * `ssh-keygen -t ecdsa -b 256` and `ssh-keygen -l -E sha256 -f key.pub`. */
#define VK_B64 "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBCBGgLwB50jj4O6t2374rfWm" \
	       "h7snP4O7CF3VQ+BpKtsyUbrIKuCgHjd4vCdWqjqky9BeaYkzDt7aGKpF69T3U54="
#define VK_FP "ecdsa-sha2-nistp256 SHA256:BgJdz1TB09lIIL0bZrIRfZr0FMbkAHYBnN2CMETSNM8"

static void test_ssh_pin(void)
{
	uint8_t blob[256], other[256];
	size_t bl = 0;
	char fp[GIT_SSH_HOSTKEY_LEN], dir[] = "/tmp/test_git_pin.XXXXXX", file[64], err[512];
	uint8_t *txt = NULL;
	size_t tl = 0;

	CHECK(cry_b64_decode(VK_B64, strlen(VK_B64), blob, sizeof blob, &bl) == 0);
	CHECK(git_ssh_fingerprint(blob, bl, fp) == 0 && strcmp(fp, VK_FP) == 0);
	CHECK(git_ssh_fingerprint(blob, 3, fp) == -EBADMSG);
	memcpy(other, blob, bl);
	other[bl - 1] ^= 1;
	CHECK(mkdtemp(dir) != NULL);
	snprintf(file, sizeof file, "%s/pins", dir);
	/* first use pins, a second use agrees, another host is independent */
	CHECK(git_ssh_pin(file, "h:22", blob, bl, err, sizeof err) == 0);
	CHECK(util_read_file(file, 4096, &txt, &tl) == 0);
	CHECK(txt && strcmp((char *)txt, "h:22 ecdsa-sha2-nistp256 " VK_B64 "\n") == 0);
	free(txt);
	CHECK(git_ssh_pin(file, "h:22", blob, bl, err, sizeof err) == 0);
	CHECK(git_ssh_pin(file, "h:2222", other, bl, err, sizeof err) == 0);
	/* a different key for a pinned host: refused, both fingerprints named */
	CHECK(git_ssh_pin(file, "h:22", other, bl, err, sizeof err) == -EKEYREJECTED);
	CHECK(strstr(err, "h:22") && strstr(err, "pinned " VK_FP ", offered ecdsa-sha2-nistp256"));
	CHECK(git_ssh_pin(file, "h:2222", blob, bl, err, sizeof err) == -EKEYREJECTED);
	CHECK(git_ssh_pin(file, "h:2", blob, bl, err, sizeof err) == 0);  /* not a prefix match */
	/* a malformed line for the host is an error, for others it is left alone */
	CHECK(util_write_atomic(file, "# c\nx:1 junk\ny:1 a b c\n", 23, 0600) == 0);
	CHECK(git_ssh_pin(file, "y:1", blob, bl, err, sizeof err) == -EBADMSG);
	CHECK(git_ssh_pin(file, "x:1", blob, bl, err, sizeof err) == -EBADMSG);
	CHECK(git_ssh_pin(file, "z:1", blob, bl, err, sizeof err) == 0);
	CHECK(util_read_file(file, 4096, &txt, &tl) == 0);
	CHECK(txt && strncmp((char *)txt, "# c\nx:1 junk\ny:1 a b c\nz:1 ", 27) == 0);
	free(txt);
	CHECK(git_ssh_pin(file, "h:22", blob, 2, err, sizeof err) == -EBADMSG);
	unlink(file);
	rmdir(dir);
}

int main(int argc, char **argv)
{
	if (argc >= 6 && strcmp(argv[1], "fetch") == 0)
		return drive(argc, argv);
	if (argc > 1) {
		fprintf(stderr, "usage: %s [fetch URL BRANCH DIR CAFILE|- [--v0] [--max-pack N] "
			"[--depth N] [--timeout-ms N] [--ssh-key FILE] [--known-hosts FILE] "
			"[--commit HEX] [--recurse]]\n",
			argv[0]);
		return 2;
	}
	test_sha1();
	test_pkt();
	test_delta();
	test_commit_tree();
	test_adv();
	test_rx();
	test_pack();
	test_checkout();
	test_ssh_url();
	test_ssh_pin();
	return tu_done("git");
}
