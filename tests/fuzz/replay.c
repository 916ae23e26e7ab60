/* SPDX-License-Identifier: MIT */
/*
 * Replays fuzz corpora without libFuzzer: each argument is a file or a
 * directory whose regular files (not subdirectories) are fed, in name order,
 * once each to LLVMFuzzerTestOneInput. Each input is copied into a buffer of
 * exactly its size so that ASan sees any read past its end. `make check`
 * links every fuzz target with this file and replays tests/fuzz/corpus/.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Corpus files are small; anything larger is a mistake worth failing on. */
#define REPLAY_MAX_FILE (16u << 20)

static int replay_file(const char *path)
{
	uint8_t *p = NULL, *exact;
	size_t len = 0;
	int rc = util_read_file(path, REPLAY_MAX_FILE, &p, &len);

	if (rc < 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(-rc));
		return rc;
	}
	exact = malloc(len ? len : 1);
	if (!exact) {
		free(p);
		return -ENOMEM;
	}
	memcpy(exact, p, len);
	free(p);
	LLVMFuzzerTestOneInput(exact, len);
	free(exact);
	return 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Returns the number of files replayed, or -errno. */
static long replay_dir(const char *dir)
{
	char **names = NULL, path[4096];
	size_t n = 0, cap = 0;
	struct dirent *e;
	struct stat st;
	long done = 0;
	DIR *d = opendir(dir);

	if (!d)
		return -errno;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (n == cap) {
			char **nn = realloc(names, (cap = cap ? cap * 2 : 64) * sizeof *names);
			if (!nn) {
				done = -ENOMEM;
				goto out;
			}
			names = nn;
		}
		if (!(names[n] = strdup(e->d_name))) {
			done = -ENOMEM;
			goto out;
		}
		n++;
	}
	qsort(names, n, sizeof *names, by_name);
	for (size_t i = 0; i < n && done >= 0; i++) {
		if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, names[i]) >= sizeof path) {
			done = -ENAMETOOLONG;
			break;
		}
		if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		done = replay_file(path) < 0 ? -EIO : done + 1;
	}
out:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(d);
	return done;
}

int main(int argc, char **argv)
{
	long total = 0, r;
	struct stat st;

	for (int i = 1; i < argc; i++) {
		if (stat(argv[i], &st) < 0) {
			fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
			return 1;
		}
		r = S_ISDIR(st.st_mode) ? replay_dir(argv[i]) : (replay_file(argv[i]) < 0 ? -EIO : 1);
		if (r < 0) {
			fprintf(stderr, "replay: %s: %s\n", argv[i], strerror((int)-r));
			return 1;
		}
		total += r;
	}
	printf("replayed %ld inputs\n", total);
	return 0;
}
