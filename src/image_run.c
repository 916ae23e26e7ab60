/* SPDX-License-Identifier: MIT */
/*
 * image_run: RUN (contract in image.h). The argv is the exec form, or
 * SHELL (default /bin/sh -c) + the command; a command that is exactly one
 * heredoc runs its body with the shell, or, when the body starts with "#!",
 * as a file (written to /.sbs-run-script, 0755, removed after the step and never
 * part of a layer); heredocs mixed with a command are appended to the script
 * so the shell reads them itself, as BuildKit does. The environment is
 * df_vars_run_env() with PATH defaulted; user, WORKDIR and the network
 * (RUN --network=none turns it off) go to sbx_run(). The step runs between
 * snap_take() and snap_diff() (proc and dev, the sandbox's mount points,
 * excluded); a non-zero exit stops the build with its code. Build argument
 * values reach only the step's environment and the hashed cache key, never a
 * log line or the image.
 */
#include "image_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox.h"
#include "snap.h"
#include "util.h"

struct run_argv {
	const char *v[SBX_MAX_ARGS + 1];
	size_t n;
	char *script;                  /* owned: a joined heredoc script */
	char shebang[64];              /* rootfs name of a #! heredoc file, or "" */
};

/* BuildKit's rule: the command is exactly one "<<EOF" word. */
static int heredoc_only(const struct df_inst *ev)
{
	const char *p = ev->shell;
	size_t n;

	if (ev->nhd != 1 || !p)
		return 0;
	while (*p >= '0' && *p <= '9')
		p++;
	if (strncmp(p, "<<", 2))
		return 0;
	p += 2 + (p[2] == '-');
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '"' || *p == '\'')
		p++;
	n = strlen(ev->hd[0].name);
	if (strncmp(p, ev->hd[0].name, n))
		return 0;
	p += n;
	if (*p == '"' || *p == '\'')
		p++;
	return *p == 0;
}

static int push_arg(struct run_argv *a, const char *s)
{
	if (a->n >= SBX_MAX_ARGS)
		return -E2BIG;
	a->v[a->n++] = s;
	a->v[a->n] = NULL;
	return 0;
}

static int push_shell(struct run_argv *a, const struct img_stage *s)
{
	int rc = 0;

	if (!s->cfg.shell) {
		if ((rc = push_arg(a, "/bin/sh")) == 0)
			rc = push_arg(a, "-c");
		return rc;
	}
	for (json *e = json_child(s->cfg.shell); e && rc == 0; e = json_next(e))
		rc = push_arg(a, json_str(e));
	return rc;
}

/* A #! heredoc is written to /.sbs-run-script (0755) and run as a file. */
static int write_script(struct img_ctx *x, struct img_stage *s, const struct df_heredoc *h,
			struct run_argv *a)
{
	int fd, rc;

	/* a fixed name: the script may print its $0 into the image */
	snprintf(a->shebang, sizeof a->shebang, ".sbs-run-script");
	fd = openat(s->rootfd, a->shebang, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0755);
	if (fd < 0)
		return img_fail(x, -errno, "RUN heredoc: %s", strerror(errno));
	rc = util_write_all(fd, h->body, h->len);
	if (rc == 0 && fchmod(fd, 0755) < 0)
		rc = -errno;
	close(fd);
	if (rc < 0)
		return img_fail(x, rc, "RUN heredoc: %s", strerror(-rc));
	if (!(a->script = malloc(strlen(a->shebang) + 2)))
		return -ENOMEM;
	sprintf(a->script, "/%s", a->shebang);
	return push_arg(a, a->script);
}

static int run_argv(struct img_ctx *x, struct img_stage *s, const struct df_inst *ev,
		    struct run_argv *a)
{
	struct buf b = { 0 };
	int rc = 0;

	if (ev->exec) {
		for (size_t i = 0; i < ev->argc && rc == 0; i++)
			rc = push_arg(a, ev->argv[i]);
		return rc;
	}
	if (heredoc_only(ev)) {
		if (!strncmp(ev->hd[0].body, "#!", 2))
			return write_script(x, s, &ev->hd[0], a);
		if ((rc = push_shell(a, s)) == 0)
			rc = push_arg(a, ev->hd[0].body);
		return rc;
	}
	if ((rc = push_shell(a, s)) < 0)
		return rc;
	if (!ev->nhd)
		return push_arg(a, ev->shell);
	/* heredocs mixed with a command: the shell reads them itself */
	rc = buf_printf(&b, "%s\n", ev->shell);
	for (size_t i = 0; i < ev->nhd && rc == 0; i++)
		rc = buf_printf(&b, "%s%s\n", ev->hd[i].body, ev->hd[i].name);
	if (rc < 0) {
		buf_free(&b);
		return rc;
	}
	a->script = (char *)b.data;
	return push_arg(a, a->script);
}

struct run_env {
	struct df_vartab tab;
	char **v;
	size_t n;
};

static void run_env_free(struct run_env *e)
{
	for (size_t i = 0; i < e->n; i++)
		free(e->v[i]);
	free(e->v);
	df_vartab_free(&e->tab);
}

static int run_env(struct img_ctx *x, struct run_env *e)
{
	int rc = df_vars_run_env(&x->vars, &e->tab);

	if (rc == 0 && !df_vartab_get(&e->tab, "PATH", 4))
		rc = df_vartab_set(&e->tab, "PATH", IMG_DEFAULT_PATH);
	if (rc < 0)
		return rc;
	if (e->tab.n > SBX_MAX_ENV)
		return img_fail(x, -E2BIG, "more than %d environment variables", SBX_MAX_ENV);
	if (!(e->v = calloc(e->tab.n + 1, sizeof *e->v)))
		return -ENOMEM;
	for (size_t i = 0; i < e->tab.n; i++) {
		const struct df_var *v = &e->tab.v[i];
		if (asprintf(&e->v[i], "%s=%s", v->name, v->value ? v->value : "") < 0)
			return -ENOMEM;
		e->n++;
	}
	return 0;
}

/* Key material of a RUN: evaluated instruction, argv, env, user, dir, net. */
static int run_key(struct img_ctx *x, struct img_stage *s, const struct df_inst *ev,
		   const struct run_argv *a, const struct run_env *e, int net, struct img_key *k)
{
	struct buf b = { 0 };
	int rc = img_inst_key(ev, &b);

	for (size_t i = 0; i < a->n && rc == 0; i++)
		rc = buf_printf(&b, "argv %s\n", a->shebang[0] && i == 0 ? "(script)" : a->v[i]);
	for (size_t i = 0; i < e->n && rc == 0; i++)
		rc = buf_printf(&b, "env %s\n", e->v[i]);
	if (rc == 0)
		rc = buf_printf(&b, "user %s\nworkdir %s\nnet %d\n", s->cfg.user ? s->cfg.user : "",
				s->cfg.workdir ? s->cfg.workdir : "/", net);
	if (rc == 0)
		img_cache_key(s, x->o, "RUN", b.data, b.len, k);
	wipe(b.data, b.len); /* build args may be secrets */
	buf_free(&b);
	return rc;
}


/* A step's output reaches the log through a pipe and a relay process, never
 * as the log file's own descriptor: a root step could otherwise reopen
 * /proc/self/fd/1 and truncate or rewrite what the log (and so the signed
 * manifest) already holds. Returns the pipe's write end, *relay the pid. */
static int relay_start(int logfd, pid_t *relay)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	*relay = fork();
	if (*relay < 0) {
		int e = -errno;
		close(p[0]);
		close(p[1]);
		return e;
	}
	if (*relay == 0) {
		uint8_t b[16384];
		ssize_t n;

		close(p[1]);
		while ((n = read(p[0], b, sizeof b)) > 0 || (n < 0 && errno == EINTR))
			if (n > 0 && util_write_all(logfd, b, (size_t)n) < 0)
				break;
		_exit(0);
	}
	close(p[0]);
	return p[1];
}

static void relay_end(int wfd, pid_t relay)
{
	close(wfd);
	while (waitpid(relay, NULL, 0) < 0 && errno == EINTR)
		;
}

static int run_step(struct img_ctx *x, struct img_stage *s, const struct run_argv *a,
		    const struct run_env *e, int net, const char *text, const struct img_key *k)
{
	const char *excl[] = { "proc", "dev", a->shebang };
	struct sbx_opts so = { .rootfs = s->root, .argv = a->v, .envp = (const char *const *)e->v,
			       .workdir = s->cfg.workdir && *s->cfg.workdir ? s->cfg.workdir : "/",
			       .user = s->cfg.user ? s->cfg.user : "", .network = net,
			       .out_fd = x->o->log_fd };
	struct snap *before = NULL;
	struct snap_changes ch = { 0 };
	char e2[400] = "";
	int status = 0, rc, devnull = -1;
	pid_t relay = 0;

	/* proc and dev are the sandbox's mount points (it makes and removes
	 * them when the image lacks them): never part of a RUN layer */
	if ((rc = snap_take(s->rootfd, excl, a->shebang[0] ? 3 : 2, &before, e2, sizeof e2)) < 0)
		return img_fail(x, rc, "RUN: snapshot: %s", e2);
	if (so.out_fd < 0 && (so.out_fd = devnull = open("/dev/null", O_WRONLY | O_CLOEXEC)) < 0) {
		rc = img_fail(x, -errno, "/dev/null: %s", strerror(errno));
		goto out;
	}
	if (so.out_fd >= 0 && devnull < 0) {
		if ((rc = relay_start(so.out_fd, &relay)) < 0) {
			rc = img_fail(x, rc, "RUN: output pipe: %s", strerror(-rc));
			goto out;
		}
		so.out_fd = rc;
	}
	rc = sbx_run(&so, &status, e2, sizeof e2);
	if (relay > 0) {
		relay_end(so.out_fd, relay);
		relay = 0;
	}
	if (a->shebang[0])
		unlinkat(s->rootfd, a->shebang, 0);
	if (rc < 0) {
		rc = img_fail(x, rc, "RUN: %s", e2[0] ? e2 : strerror(-rc));
		goto out;
	}
	if (status != 0) {
		rc = img_fail(x, -ECHILD, "RUN returned a non-zero code: %d", status);
		goto out;
	}
	if ((rc = snap_diff(before, s->rootfd, &ch, e2, sizeof e2)) < 0) {
		rc = img_fail(x, rc, "RUN: snapshot: %s", e2);
		goto out;
	}
	rc = img_commit(x, s, ch.v, ch.n, text, k);
out:
	if (devnull >= 0)
		close(devnull);
	snap_changes_free(&ch);
	snap_free(before);
	return rc;
}

int img_run(struct img_ctx *x, struct img_stage *s, const struct df_inst *ev, const char *text)
{
	struct run_argv *a = calloc(1, sizeof *a);
	struct run_env e = { 0 };
	struct img_key k;
	int net = x->o->network && !(ev->network && !strcmp(ev->network, "none"));
	int rc;

	if (!a)
		return -ENOMEM;
	if ((rc = run_argv(x, s, ev, a)) < 0 || (rc = run_env(x, &e)) < 0 ||
	    (rc = run_key(x, s, ev, a, &e, net, &k)) < 0)
		goto out;
	if (a->n == 0) {
		rc = img_fail(x, -EINVAL, "RUN: empty command");
		goto out;
	}
	if ((rc = img_cache_apply(x, s, &k, text)) != 0) {
		if (a->shebang[0])
			unlinkat(s->rootfd, a->shebang, 0);
		rc = rc < 0 ? rc : 0;
		goto out;
	}
	if ((rc = img_stage_sync(x, s)) == 0)
		rc = run_step(x, s, a, &e, net, text, &k);
out:
	if (rc == -E2BIG && x->err[0] == 0)
		rc = img_fail(x, rc, "RUN: more than %d arguments", SBX_MAX_ARGS);
	for (size_t i = 0; i < e.n; i++)
		wipe(e.v[i], strlen(e.v[i]));
	run_env_free(&e);
	free(a->script);
	free(a);
	return rc;
}
