/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: arc_unpack_layer (src/arc.c) from memory into a fresh root
 * (mkdtemp under /tmp) with small limits, every flag combination the builder
 * uses. Whatever the input, nothing may appear beside the root: the temp dir
 * holds the root and a canary file, and after each input it must hold exactly
 * those two, the canary unchanged. A refusal must come with a reason. The
 * root is then removed with arc_remove_tree (bounded, never follows a
 * symlink).
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int entries_beside(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		abort();
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char top[] = "/tmp/fuzz_arc.XXXXXX", path[64], err[512];
	struct arc_limits lim = {
		.max_entries = 64, .max_total = 1u << 20, .max_file = 256u << 10,
		.max_path = 512, .max_link = 256, .max_depth = 16,
	};
	struct arc_unpack_opts o = { .lim = &lim, .flags = size % 2 ? ARC_U_NO_WHITEOUT : 0 };
	struct stat sb;
	int tfd, rfd, rc;

	if (!mkdtemp(top))
		abort();
	snprintf(path, sizeof path, "%s/root", top);
	if (mkdir(path, 0755) < 0)
		abort();
	snprintf(path, sizeof path, "%s/canary", top);
	if ((tfd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644)) < 0 || write(tfd, "c", 1) != 1)
		abort();
	close(tfd);
	tfd = open(top, O_PATH | O_DIRECTORY);
	snprintf(path, sizeof path, "%s/root", top);
	rfd = open(path, O_PATH | O_DIRECTORY);
	if (tfd < 0 || rfd < 0)
		abort();
	err[0] = 0;
	rc = arc_unpack_layer(data, size, rfd, &o, NULL, err, sizeof err);
	if (rc < 0 && !err[0])
		abort();
	if (entries_beside(top) != 2 || fstatat(tfd, "canary", &sb, AT_SYMLINK_NOFOLLOW) < 0 ||
	    !S_ISREG(sb.st_mode) || sb.st_size != 1)
		abort();
	close(rfd);
	if (arc_remove_tree(tfd, "root") < 0 || unlinkat(tfd, "canary", 0) < 0)
		abort();
	close(tfd);
	if (rmdir(top) < 0)
		abort();
	return 0;
}
