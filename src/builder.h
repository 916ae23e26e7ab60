/* SPDX-License-Identifier: MIT */
/*
 * builder: one process per build, forked from the API process. It gets the
 * parameters, writes the build log, and reports progress through status
 * lines on a pipe ("status <text>\n"), which the API turns into the status
 * object. Its exit code becomes "exiting due to a non-zero return value".
 *
 * The build pipeline itself (git fetch, Dockerfile build, push, signing)
 * arrives with the build issue; this version validates the parameters, logs,
 * and fails with a clear status.
 */
#ifndef SBS_BUILDER_H
#define SBS_BUILDER_H

#include <sys/types.h>
#include "json.h"

struct builder_run {
	pid_t pid;
	int status_fd;      /* read end of the progress pipe (non-blocking) */
};

/* Forks the builder. log_path is truncated and written by the child. */
int builder_start(const json *params, const char *log_path, struct builder_run *out);
/* The command line named in the failure status for exit code rc. */
const char *builder_failed_cmd(int rc);

#endif
