/* SPDX-License-Identifier: MIT */
/*
 * pack: times our layer packer (arc_write_layer: tar, gzip, both SHA-256)
 * over a directory tree, for `make bench` to set next to
 * `tar -cf - | pigz | sha256sum` over the same tree.
 *
 *   pack TREE OUT [THREADS [LEVEL]]
 *     THREADS: gzip worker threads (0 or absent: from the CPU count);
 *     LEVEL: gzip level 1..9 (absent: ARC_GZIP_LEVEL, the one layers use).
 * Prints "tar_bytes N blob_bytes M seconds S tar_mbps R diff_id sha256:..
 * digest sha256:..". MB/s counts uncompressed tar bytes per second, as the
 * pipeline's figure counts the bytes tar wrote.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "arc.h"
#include "util.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void hex(const uint8_t d[32], char out[65])
{
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

int main(int argc, char **argv)
{
	struct arc_change ch = { .path = "", .kind = ARC_ADD_TREE };
	struct arc_write_opts o = { .epoch = 1700000000 };
	struct arc_digests dg;
	char err[512] = "", h1[65], h2[65];
	double t0, dt;
	int root, out, rc;

	if (argc < 3 || argc > 5) {
		fprintf(stderr, "usage: %s TREE OUT [THREADS [LEVEL]]\n", argv[0]);
		return 2;
	}
	if (argc >= 4)
		o.threads = atoi(argv[3]);
	if (argc == 5)
		o.level = atoi(argv[4]);
	if ((root = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    (out = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) {
		perror("open");
		return 1;
	}
	t0 = now();
	rc = arc_write_layer(root, &ch, 1, &o, out, &dg, err, sizeof err);
	dt = now() - t0;
	if (rc < 0) {
		fprintf(stderr, "pack failed (%d): %s\n", rc, err);
		return 1;
	}
	hex(dg.diff_id, h1);
	hex(dg.blob, h2);
	printf("tar_bytes %llu blob_bytes %llu seconds %.3f tar_mbps %.1f diff_id sha256:%s digest sha256:%s\n",
	       (unsigned long long)dg.tar_size, (unsigned long long)dg.blob_size, dt,
	       (double)dg.tar_size / 1e6 / dt, h1, h2);
	close(out);
	close(root);
	return 0;
}
