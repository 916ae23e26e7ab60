/* SPDX-License-Identifier: MIT */
/*
 * builder: the per-build process (builder.h). The child drops every key the
 * parent held (keeper_close wipes them) before touching user input.
 */
#include "builder.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "keeper.h"
#include "util.h"

enum { RC_NOT_AVAILABLE = 1, RC_PARAMS = 2 };

static void blog(FILE *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void blog(FILE *f, const char *fmt, ...)
{
	char ts[32];
	va_list ap;
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(ts, sizeof ts, "%Y-%m-%d %H:%M:%S", &tm);
	fprintf(f, "%s,000  root       INFO    ", ts);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
	fflush(f);
}

static void progress(int fd, const char *status)
{
	char line[128];
	int n = snprintf(line, sizeof line, "status %s\n", status);
	if (n > 0 && write(fd, line, (size_t)n) < 0)
		_exit(99);
}

static int run(const json *params, FILE *log, int sfd)
{
	blog(log, "starting a build");
	blog(log, "cleaning up the local github repo and the github access credential");
	progress(sfd, "cleaned up");
	if (!json_get_str(params, "GITHUB_URL") || !json_get_str(params, "DOCKER_REPO")) {
		blog(log, "missing GITHUB_URL or DOCKER_REPO: run init or update");
		return RC_PARAMS;
	}
	blog(log, "the build pipeline (git fetch, Dockerfile build, push, signing) "
		  "is not part of this sbsd version");
	return RC_NOT_AVAILABLE;
}

const char *builder_failed_cmd(int rc)
{
	switch (rc) {
	case RC_NOT_AVAILABLE:
		return "build (pipeline not available in this sbsd version)";
	case RC_PARAMS:
		return "build (parameters incomplete: run init or update)";
	default:
		return "build";
	}
}

int builder_start(const json *params, const char *log_path, struct builder_run *out)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		int e = errno;
		close(p[0]);
		close(p[1]);
		return -e;
	}
	if (pid == 0) {
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		setpgid(0, 0);
		keeper_close();
		/* Let go of every client connection, the listener and the loop's
		 * descriptors: a build must not keep a connection alive. */
		long max = sysconf(_SC_OPEN_MAX);
		for (long fd = 3; fd < (max > 0 && max < 65536 ? max : 65536); fd++)
			if (fd != p[1])
				close((int)fd);
		FILE *log = fopen(log_path, "we");
		if (!log)
			_exit(98);
		int rc = run(params, log, p[1]);
		blog(log, "completed a build, return code = %d", rc);
		fclose(log);
		_exit(rc);
	}
	setpgid(pid, pid);
	close(p[1]);
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	out->pid = pid;
	out->status_fd = p[0];
	return 0;
}
