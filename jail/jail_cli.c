/* build/jail's option parser; option letters follow minijail0(1) so a
 * minijail0 command line mostly carries over:
 *   -U user ns, -p pid ns (+ /proc), -v mount ns, -e net ns, -l ipc ns,
 *   -N cgroup ns, --uts[=HOST], -d minimal /dev, -n no_new_privs (always set; accepted for
 *   compatibility), -u/-g ids, -b binds, -R rlimits, -S policy.
 * -k FD keeps an fd open (minijail0 has no equivalent). */
#include "jail/jail_cli.h"
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define JAIL_CLI_MAX_ARG 1024

__attribute__((format(printf, 3, 4)))
static int jail_cli_fail(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Unsigned decimal number (or "unlimited" when allowed) into *out. */
static int jail_cli_number(const char *s, unsigned long long max, int unlimited, unsigned long long *out)
{
	unsigned long long v = 0;

	if (unlimited && !strcmp(s, "unlimited")) {
		*out = RLIM_INFINITY;
		return 0;
	}
	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		unsigned d = (unsigned)(*s - '0');
		if (v > (max - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

static int jail_cli_rlimit_res(const char *name)
{
	static const struct { const char *name; int res; } t[] = {
		{ "AS", RLIMIT_AS }, { "CORE", RLIMIT_CORE }, { "CPU", RLIMIT_CPU },
		{ "DATA", RLIMIT_DATA }, { "FSIZE", RLIMIT_FSIZE }, { "LOCKS", RLIMIT_LOCKS },
		{ "MEMLOCK", RLIMIT_MEMLOCK }, { "MSGQUEUE", RLIMIT_MSGQUEUE }, { "NICE", RLIMIT_NICE },
		{ "NOFILE", RLIMIT_NOFILE }, { "NPROC", RLIMIT_NPROC }, { "RSS", RLIMIT_RSS },
		{ "RTPRIO", RLIMIT_RTPRIO }, { "RTTIME", RLIMIT_RTTIME },
		{ "SIGPENDING", RLIMIT_SIGPENDING }, { "STACK", RLIMIT_STACK },
	};

	if (!strncmp(name, "RLIMIT_", 7))
		name += 7;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (!strcmp(name, t[i].name))
			return t[i].res;
	return -1;
}

/* -R RES,CUR,MAX */
static int jail_cli_rlimit(struct jail *j, const char *arg, char *err, size_t errlen)
{
	char buf[128], *cur, *max;
	unsigned long long c, m;
	int res, r;

	if (strlen(arg) >= sizeof(buf))
		return jail_cli_fail(err, errlen, "-R '%.40s...': too long", arg);
	strcpy(buf, arg);
	if (!(cur = strchr(buf, ',')) || !(max = strchr(cur + 1, ',')))
		return jail_cli_fail(err, errlen, "-R '%s': expected RES,CUR,MAX", arg);
	*cur++ = 0;
	*max++ = 0;
	if ((res = jail_cli_rlimit_res(buf)) < 0)
		return jail_cli_fail(err, errlen, "-R '%s': unknown resource '%s'", arg, buf);
	if (jail_cli_number(cur, ~0ull, 1, &c) < 0)
		return jail_cli_fail(err, errlen, "-R '%s': bad soft limit '%s'", arg, cur);
	if (jail_cli_number(max, ~0ull, 1, &m) < 0)
		return jail_cli_fail(err, errlen, "-R '%s': bad hard limit '%s'", arg, max);
	if ((r = jail_rlimit(j, res, (rlim_t)c, (rlim_t)m)) < 0)
		return jail_cli_fail(err, errlen, "-R '%s': %s", arg,
				     r == -EINVAL ? "soft limit above hard limit" : strerror(-r));
	return 0;
}

/* -b SRC[,DST[,rw]] (minijail0 also takes 1 for writable). */
static int jail_cli_bind(struct jail *j, const char *arg, char *err, size_t errlen)
{
	char buf[2 * JAIL_CLI_MAX_ARG + 8], *dst, *flag;
	int writable = 0, r;

	if (strlen(arg) >= sizeof(buf))
		return jail_cli_fail(err, errlen, "-b '%.40s...': too long", arg);
	strcpy(buf, arg);
	dst = strchr(buf, ',');
	if (dst) {
		*dst++ = 0;
		flag = strchr(dst, ',');
		if (flag) {
			*flag++ = 0;
			if (!strcmp(flag, "rw") || !strcmp(flag, "1"))
				writable = 1;
			else if (strcmp(flag, "ro") && strcmp(flag, "0"))
				return jail_cli_fail(err, errlen, "-b '%s': bad flag '%s' (rw or ro)", arg, flag);
		}
		if (!*dst)
			dst = buf;
	} else {
		dst = buf;
	}
	if (buf[0] != '/')
		return jail_cli_fail(err, errlen, "-b '%s': source must be an absolute path", arg);
	r = jail_bind(j, buf, dst, writable);
	if (r == -ENOSPC)
		return jail_cli_fail(err, errlen, "-b '%s': more than %d binds", arg, JAIL_MAX_BINDS);
	if (r < 0)
		return jail_cli_fail(err, errlen, "-b '%s': destination must be absolute, without '.' or '..'", arg);
	return 0;
}

const char *jail_cli_usage(void)
{
	return "usage: jail [OPTIONS] [--] PROG [ARGS...]\n"
	       "  -U             new user namespace (jail root = nobody outside; implied when not root)\n"
	       "  -p             new pid namespace with its own /proc (implies -v)\n"
	       "  -v             new mount namespace (private propagation)\n"
	       "  -e             new network namespace (no interfaces but a down lo)\n"
	       "  -l             new IPC namespace\n"
	       "  -N             new cgroup namespace\n"
	       "  --uts[=HOST]   new UTS namespace, optionally with hostname HOST\n"
	       "  -n             no_new_privs (always set; accepted for minijail0 compatibility)\n"
	       "  -u UID, -g GID change to this uid/gid inside the jail\n"
	       "  -b SRC[,DST[,rw]]  bind SRC at DST in an empty read-only tmpfs root\n"
	       "                 (read-only unless rw; implies -v)\n"
	       "  -d             a minimal /dev (null, zero, full, random, urandom) in the root\n"
	       "  -R RES,CUR,MAX set rlimit RES (NOFILE, NPROC, AS, ...; CUR/MAX number or unlimited)\n"
	       "  -k FD          keep FD open (0, 1, 2 are always kept; every other fd is closed)\n"
	       "  -S POLICY      install the seccomp policy (minijail syntax) last\n"
	       "  --no-report    do not trace PROG to name the syscall of a seccomp kill\n"
	       "TERM/INT/HUP/QUIT/USR1/USR2 are forwarded to PROG; a second one kills it.\n"
	       "exit: PROG's status (128+N if killed by signal N); 123 setup failed, 124 bad policy,\n"
	       "      125 usage, 126 PROG not executable, 127 PROG not found\n";
}

int jail_cli_parse(struct jail_cli *c, struct jail *j, int argc, char **argv, char *err, size_t errlen)
{
	int i, user = 0, want_ns = 0;

	memset(c, 0, sizeof(*c));
	c->report = 1;
	err[0] = 0;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *val = NULL;
		unsigned long long v;

		if (strlen(a) > JAIL_CLI_MAX_ARG)
			return jail_cli_fail(err, errlen, "argument %d is longer than %d bytes", i, JAIL_CLI_MAX_ARG);
		if (!strcmp(a, "--")) {
			i++;
			break;
		}
		if (a[0] != '-' || !a[1])
			break;
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			c->help = 1;
			return 0;
		}
		if (!strcmp(a, "--no-report")) {
			c->report = 0;
			continue;
		}
		if (!strcmp(a, "--uts") || !strncmp(a, "--uts=", 6)) {
			if (jail_namespace_uts(j, a[5] ? a + 6 : NULL) < 0)
				return jail_cli_fail(err, errlen, "--uts: bad hostname '%s' (1..64 bytes)", a + 6);
			want_ns = 1;
			continue;
		}
		if (a[1] == '-' || a[2])
			return jail_cli_fail(err, errlen, "unknown option '%s'", a);
		if (strchr("ugbRkS", a[1])) {
			if (i + 1 >= argc)
				return jail_cli_fail(err, errlen, "option '%s' needs an argument", a);
			val = argv[++i];
			if (strlen(val) > JAIL_CLI_MAX_ARG)
				return jail_cli_fail(err, errlen, "argument of '%s' is longer than %d bytes", a,
						     JAIL_CLI_MAX_ARG);
		}
		switch (a[1]) {
		case 'U': user = 1; break;
		case 'p': jail_namespace_pid(j); want_ns = 1; break;
		case 'v': jail_namespace_mount(j); want_ns = 1; break;
		case 'e': jail_namespace_net(j); want_ns = 1; break;
		case 'l': jail_namespace_ipc(j); want_ns = 1; break;
		case 'N': jail_namespace_cgroup(j); want_ns = 1; break;
		case 'n': break;
		case 'd':
			if (jail_mount_dev(j) < 0)
				return jail_cli_fail(err, errlen, "-d: more than %d binds", JAIL_MAX_BINDS);
			want_ns = 1;
			break;
		case 'u':
		case 'g':
			/* (uid_t)-1 means "unchanged" to the kernel: refuse it. */
			if (jail_cli_number(val, 0xfffffffeull, 0, &v) < 0)
				return jail_cli_fail(err, errlen, "-%c '%s': expected a number 0..4294967294", a[1], val);
			if (a[1] == 'u')
				jail_change_uid(j, (uid_t)v);
			else
				jail_change_gid(j, (gid_t)v);
			break;
		case 'b':
			if (jail_cli_bind(j, val, err, errlen) < 0)
				return -EINVAL;
			want_ns = 1;
			break;
		case 'R':
			if (jail_cli_rlimit(j, val, err, errlen) < 0)
				return -EINVAL;
			break;
		case 'k':
			if (jail_cli_number(val, 1u << 20, 0, &v) < 0)
				return jail_cli_fail(err, errlen, "-k '%s': expected a file descriptor number", val);
			if (jail_keep_fd(j, (int)v) < 0)
				return jail_cli_fail(err, errlen, "-k '%s': more than %d kept fds", val, JAIL_MAX_KEEP_FDS);
			break;
		case 'S':
			if (c->policy)
				return jail_cli_fail(err, errlen, "-S given twice ('%s', '%s')", c->policy, val);
			c->policy = val;
			break;
		default:
			return jail_cli_fail(err, errlen, "unknown option '%s'", a);
		}
	}
	if (i >= argc)
		return jail_cli_fail(err, errlen, "missing PROG");
	c->argv = argv + i;
	/* Without root, namespaces other than the user one need one. */
	if (user || (want_ns && geteuid() != 0))
		jail_namespace_user(j);
	for (int fd = 0; fd < 3; fd++)
		jail_keep_fd(j, fd);
	return 0;
}
