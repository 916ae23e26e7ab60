/* SPDX-License-Identifier: MIT */
/*
 * init: PID 1 of the appliance (mounts, entropy wait, spawn, reap, signal
 * forwarding, power-off) and the network set-up its server child performs
 * from the kernel command line. See init.h for the contract.
 */
#include "init.h"
#include "limits.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

void init_console(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int fd, n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof line - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof line - 2)
		n = (int)sizeof line - 2;
	line[n++] = '\n';
	fd = open("/dev/console", O_WRONLY | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		fd = 2;
	if (write(fd, line, (size_t)n) < 0) {
		/* nowhere left to report to */
	}
	if (fd != 2)
		close(fd);
}

void init_poweroff(void)
{
	sync();
	if (umount2(INIT_DATA_MNT, 0) < 0 && errno != EINVAL && errno != ENOENT) {
		init_console("sbs init: unmounting %s: %s (lazy unmount)", INIT_DATA_MNT,
			     strerror(errno));
		umount2(INIT_DATA_MNT, MNT_DETACH);
	}
	sync();
	init_console("sbs init: powering off");
	reboot(RB_POWER_OFF);
	/* only reached when reboot is not permitted (not PID 1 in a real boot) */
	for (;;)
		pause();
}

static void fatal(const char *what, int err) __attribute__((noreturn));
static void fatal(const char *what, int err)
{
	init_console("sbs init: FATAL: %s: %s", what, strerror(err));
	init_poweroff();
}

struct mnt {
	const char *src, *dir, *type, *opts;
	unsigned long flags;
};

static const struct mnt mounts[] = {
	{ "proc", "/proc", "proc", NULL, MS_NOSUID | MS_NODEV | MS_NOEXEC },
	{ "sysfs", "/sys", "sysfs", NULL, MS_NOSUID | MS_NODEV | MS_NOEXEC },
	{ "devtmpfs", "/dev", "devtmpfs", "mode=0755", MS_NOSUID | MS_NOEXEC },
	{ "tmpfs", "/tmp", "tmpfs", "mode=1777", MS_NOSUID | MS_NODEV },
};

static void mount_all(void)
{
	for (size_t i = 0; i < sizeof mounts / sizeof mounts[0]; i++) {
		const struct mnt *m = &mounts[i];

		if (mkdir(m->dir, 0755) < 0 && errno != EEXIST)
			fatal(m->dir, errno);
		if (mount(m->src, m->dir, m->type, m->flags, m->opts) < 0 && errno != EBUSY)
			fatal(m->dir, errno);
	}
}

/* cgroup2 on /sys/fs/cgroup, for the RUN steps' limits (src/sandbox_cg.c).
 * A kernel without cgroups has no such file system: then there are none. */
static void mount_cgroup(void)
{
	if (mount("cgroup2", INIT_CGROUP_MNT, "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0 &&
	    errno != ENODEV && errno != ENOENT)
		log_warn("init: mounting cgroup2 on %s: %s (RUN steps get no cgroup limits)",
			 INIT_CGROUP_MNT, strerror(errno));
}

/* Polls getrandom(GRND_NONBLOCK) until the kernel RNG is initialised. */
static void wait_entropy(void)
{
	int64_t t0 = now_ms();
	uint8_t b[16];

	for (;;) {
		ssize_t r = getrandom(b, sizeof b, GRND_NONBLOCK);

		if (r == (ssize_t)sizeof b) {
			log_info("init: kernel RNG ready after %lld ms", (long long)(now_ms() - t0));
			break;
		}
		if (r < 0 && errno != EAGAIN && errno != EINTR) {
			log_err("init: getrandom: %s", strerror(errno));
			break;
		}
		if (now_ms() - t0 > INIT_RNG_WAIT_MS) {
			log_warn("init: kernel RNG not ready after %d ms; key generation will "
				 "block until it is", INIT_RNG_WAIT_MS);
			break;
		}
		sleep_ms(INIT_POLL_MS);
	}
	wipe(b, sizeof b);
}

/* Reaps everything; returns 1 when the server child was among them. */
static int reap(pid_t server, int *status)
{
	int st, gone = 0;
	pid_t p;

	while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
		if (p == server) {
			*status = st;
			gone = 1;
		}
	}
	return gone;
}

static void supervise(pid_t server, const sigset_t *set) __attribute__((noreturn));
static void supervise(pid_t server, const sigset_t *set)
{
	struct timespec tick = { 1, 0 };
	int64_t kill_at = 0;
	int status = 0;

	for (;;) {
		siginfo_t si;
		int sig = sigtimedwait(set, &si, &tick);

		if (sig == SIGINT || sig == SIGTERM) {
			if (!kill_at) {
				log_info("init: %s: stopping the server",
					 sig == SIGINT ? "ctrl-alt-del (power button)" : "SIGTERM");
				kill(server, SIGTERM);
				kill_at = now_ms() + INIT_STOP_MS;
			}
		}
		if (reap(server, &status))
			break;
		if (kill_at && now_ms() > kill_at) {
			log_warn("init: the server did not stop within %d ms; killing it",
				 INIT_STOP_MS);
			kill(server, SIGKILL);
			kill_at = now_ms() + INIT_STOP_MS;
		}
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		log_info("init: the server stopped");
	else if (WIFEXITED(status))
		init_console("sbs init: the server exited with status %d (reason above)",
			     WEXITSTATUS(status));
	else
		init_console("sbs init: the server was killed by signal %d",
			     WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	kill(-1, SIGKILL);
	while (waitpid(-1, NULL, 0) > 0)
		;
	init_poweroff();
}

int init_pid1(void)
{
	sigset_t set, old;
	pid_t pid;

	umask(022);
	mount_all();
	mount_cgroup();
	if (reboot(RB_DISABLE_CAD) < 0)
		log_warn("init: cannot disable ctrl-alt-del: %s", strerror(errno));
	wait_entropy();
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, &old);
	pid = fork();
	if (pid < 0)
		fatal("fork of the server", errno);
	if (pid == 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		setsid();
		return 0;
	}
	supervise(pid, &set);
}

/* ---- network (server child) ---- */

static int if_up(int s, const char *name)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof ifr);
	snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", name);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		return -errno;
	ifr.ifr_flags |= IFF_UP;
	return ioctl(s, SIOCSIFFLAGS, &ifr) < 0 ? -errno : 0;
}

static int if_addr(int s, const char *name, unsigned long req, struct in_addr a)
{
	struct ifreq ifr;
	struct sockaddr_in sin;

	memset(&ifr, 0, sizeof ifr);
	memset(&sin, 0, sizeof sin);
	snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", name);
	sin.sin_family = AF_INET;
	sin.sin_addr = a;
	memcpy(&ifr.ifr_addr, &sin, sizeof sin);
	return ioctl(s, req, &ifr) < 0 ? -errno : 0;
}

static int route_default(int s, struct in_addr gw)
{
	struct rtentry rt;
	struct sockaddr_in sin;

	memset(&rt, 0, sizeof rt);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	memcpy(&rt.rt_dst, &sin, sizeof sin);
	memcpy(&rt.rt_genmask, &sin, sizeof sin);
	sin.sin_addr = gw;
	memcpy(&rt.rt_gateway, &sin, sizeof sin);
	rt.rt_flags = RTF_UP | RTF_GATEWAY;
	return ioctl(s, SIOCADDRT, &rt) < 0 && errno != EEXIST ? -errno : 0;
}

/* Finds "key=value" among the space-separated words of the command line and
 * copies value into out (bounded). 1 found, 0 absent, -EINVAL too long. */
static int cmdline_get(const char *cl, const char *key, char *out, size_t cap)
{
	size_t kl = strlen(key);

	for (const char *p = cl; *p;) {
		size_t wl;

		p += strspn(p, " \t\n");
		wl = strcspn(p, " \t\n");
		if (wl > kl && strncmp(p, key, kl) == 0 && p[kl] == '=') {
			if (wl - kl - 1 >= cap)
				return -EINVAL;
			memcpy(out, p + kl + 1, wl - kl - 1);
			out[wl - kl - 1] = 0;
			return 1;
		}
		p += wl;
	}
	return 0;
}

/* "A.B.C.D/N" -> address and netmask. */
static int parse_cidr(char *s, struct in_addr *ip, struct in_addr *mask)
{
	char *slash = strchr(s, '/');
	uint64_t n = 24;

	if (slash) {
		*slash = 0;
		if (util_parse_u64(slash + 1, strlen(slash + 1), 32, &n) < 0)
			return -EINVAL;
	}
	if (inet_pton(AF_INET, s, ip) != 1)
		return -EINVAL;
	mask->s_addr = htonl(n ? 0xffffffffu << (32 - n) : 0);
	return 0;
}

static int net_eth0(int s, const char *cl)
{
	char ipw[32], gww[32];
	struct in_addr ip, mask, gw;
	int64_t t0 = now_ms();
	int rc, hasgw;

	rc = cmdline_get(cl, "sbs.ip", ipw, sizeof ipw);
	if (rc <= 0) {
		if (rc < 0 || cmdline_get(cl, "sbs.gw", gww, sizeof gww) != 0)
			goto bad;
		log_info("init: no sbs.ip= on the kernel command line; only lo is up");
		return 0;
	}
	hasgw = cmdline_get(cl, "sbs.gw", gww, sizeof gww);
	if (hasgw < 0 || parse_cidr(ipw, &ip, &mask) < 0 ||
	    (hasgw && inet_pton(AF_INET, gww, &gw) != 1))
		goto bad;
	while (if_nametoindex("eth0") == 0) {
		if (now_ms() - t0 > INIT_DEV_WAIT_MS) {
			log_err("init: no eth0 after %d ms (is a virtio-net-ccw device attached?)",
				INIT_DEV_WAIT_MS);
			return -ENODEV;
		}
		sleep_ms(INIT_POLL_MS);
	}
	if ((rc = if_addr(s, "eth0", SIOCSIFADDR, ip)) < 0 ||
	    (rc = if_addr(s, "eth0", SIOCSIFNETMASK, mask)) < 0 || (rc = if_up(s, "eth0")) < 0 ||
	    (hasgw && (rc = route_default(s, gw)) < 0)) {
		log_err("init: configuring eth0: %s", strerror(-rc));
		return rc;
	}
	log_info("init: eth0 %s%s%s", ipw, hasgw ? " via " : "", hasgw ? gww : "");
	return 0;
bad:
	log_err("init: expected sbs.ip=A.B.C.D/N and optionally sbs.gw=A.B.C.D on the kernel "
		"command line");
	return -EINVAL;
}

/* sbs.dns=A.B.C.D[,A.B.C.D...] -> /etc/resolv.conf (musl reads it; without
 * one it asks 127.0.0.1). RUN steps with network get it bound read-only. */
static int net_dns(const char *cl)
{
	char w[INIT_MAX_DNS * 16], tok[sizeof w], out[INIT_MAX_DNS * 32], *save = NULL;
	size_t n = 0;
	unsigned cnt = 0;
	int rc = cmdline_get(cl, "sbs.dns", w, sizeof w);

	if (rc == 0)
		return 0;
	if (rc > 0) {
		memcpy(tok, w, sizeof w);
		for (char *a = strtok_r(tok, ",", &save); a; a = strtok_r(NULL, ",", &save)) {
			struct in_addr ip;

			if (++cnt > INIT_MAX_DNS || inet_pton(AF_INET, a, &ip) != 1) {
				rc = -EINVAL;
				break;
			}
			n += (size_t)snprintf(out + n, sizeof out - n, "nameserver %s\n", a);
		}
	}
	if (rc < 0 || cnt == 0) {
		log_err("init: expected sbs.dns=A.B.C.D[,A.B.C.D] (at most %d, IPv4)", INIT_MAX_DNS);
		return -EINVAL;
	}
	if ((rc = util_write_atomic(INIT_RESOLV_CONF, out, n, 0644)) < 0) {
		log_err("init: writing %s: %s", INIT_RESOLV_CONF, strerror(-rc));
		return rc;
	}
	log_info("init: name servers %s in %s", w, INIT_RESOLV_CONF);
	return 0;
}

/* /proc files report size 0: read until EOF, at most cap - 1 bytes. */
static int read_proc(const char *path, char *out, size_t cap)
{
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return -errno;
	while (got < cap - 1) {
		ssize_t r = read(fd, out + got, cap - 1 - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			rc = -errno;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	out[got] = 0;
	close(fd);
	return rc;
}

/* Copies the "Name:   value" line of a /proc status text (value only). */
static void status_field(const char *text, const char *name, char *out, size_t cap)
{
	const char *p = strstr(text, name);
	size_t n;

	snprintf(out, cap, "?");
	if (!p)
		return;
	p += strlen(name);
	p += strspn(p, " \t");
	n = strcspn(p, "\n");
	snprintf(out, cap, "%.*s", (int)n, p);
}

/* sbs.rss=1 (bench/boot.sh): a child of the server waits until the server
 * accepts on 127.0.0.1:SBS_PORT (bounded), prints the server's resident
 * memory on the console and exits; the server reaps it. */
static void rss_reporter(void)
{
	static char st[4096];
	char rss[32], hwm[32], path[64];
	const char *ps = getenv("SBS_PORT");
	uint64_t port = 443;
	pid_t server = getpid();
	int64_t t0 = now_ms();

	if (ps && util_parse_u64(ps, strlen(ps), 65535, &port) < 0)
		return;
	if (fork() != 0)
		return;
	for (;;) {
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
					 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		int up = s >= 0 && connect(s, (struct sockaddr *)&a, sizeof a) == 0;

		if (s >= 0)
			close(s);
		if (up)
			break;
		if (now_ms() - t0 > INIT_RSS_WAIT_MS)
			_exit(0);
		sleep_ms(INIT_POLL_MS * 5);
	}
	snprintf(path, sizeof path, "/proc/%d/status", (int)server);
	if (read_proc(path, st, sizeof st) == 0) {
		status_field(st, "VmRSS:", rss, sizeof rss);
		status_field(st, "VmHWM:", hwm, sizeof hwm);
		init_console("sbs init: sbsd memory after boot: VmRSS %s, VmHWM %s", rss, hwm);
	}
	_exit(0);
}

int init_net(void)
{
	static char cl[INIT_MAX_CMDLINE + 1];
	int s = -1, rc;

	rc = read_proc("/proc/cmdline", cl, sizeof cl);
	if (rc < 0) {
		log_err("init: cannot read /proc/cmdline: %s", strerror(-rc));
		return rc;
	}
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0) {
		rc = -errno;
		log_err("init: socket: %s", strerror(-rc));
		goto out;
	}
	if ((rc = if_up(s, "lo")) < 0) {
		log_err("init: cannot bring lo up: %s", strerror(-rc));
		goto out;
	}
	rc = net_eth0(s, cl);
	if (rc == 0)
		rc = net_dns(cl);
	if (rc == 0) {
		char v[8];

		if (cmdline_get(cl, "sbs.rss", v, sizeof v) == 1 && !strcmp(v, "1"))
			rss_reporter();
	}
out:
	if (s >= 0)
		close(s);
	return rc;
}
