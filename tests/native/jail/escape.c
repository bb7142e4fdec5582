/* Escape attempts for tests/native/jail.sh, run inside a jail built by
 * build/jail. Each mode tries one way out and reports on stdout:
 *   "BLOCKED <mode>: <how it failed>"   exit 0
 *   "ESCAPED <mode>: <what worked>"     exit 1
 *   "ERROR <mode>: <why>"               exit 2 (bad arguments, broken test)
 * Modes (one per test case):
 *   read FILE          open and read a host file outside the binds
 *   write_ro DIR       create a file in a read-only bind, remount it rw
 *   mount DIR          mount a tmpfs, unmount a bind to see what is below
 *   unshare DIR        unshare a user (or mount) namespace to regain
 *                      capabilities, then remount the read-only bind DIR rw
 *   kill PID, ptrace PID   signal / attach to a host process the test
 *                      started (PID > 1 only: never -1, 0 or a group)
 *   connect IP PORT... TCP connect to a listener on the host
 *   module             init_module / finit_module
 *   time               clock_settime / settimeofday / adjtimex
 *   rlimit CUR MAX     check RLIMIT_NOFILE is CUR/MAX, try to raise it
 *   fds KEEP...        every open fd >= 3 must be in KEEP, each KEEP open
 *   caps               every capability set empty, no_new_privs set
 *   syscall            print, then call uname(2) (not in the test policy)
 *   chroot             chroot + chdir("..") walk (needs CAP_SYS_CHROOT)
 *   mknod DIR          create a block device node for the host's disk
 * Helper modes outside the jail:
 *   listen PORTFILE    listen on 0.0.0.0:random, write the port, accept
 *                      connections for at most 60 s */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/timex.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

static const char *mode = "?";

static int blocked(const char *fmt, const char *what, int err)
{
	printf("BLOCKED %s: ", mode);
	printf(fmt, what);
	printf(": %s\n", strerror(err));
	return 0;
}

static int escaped(const char *fmt, const char *what)
{
	printf("ESCAPED %s: ", mode);
	printf(fmt, what);
	printf("\n");
	return 1;
}

static int error(const char *why)
{
	printf("ERROR %s: %s\n", mode, why);
	return 2;
}

/* Every attempt of a mode must fail; the first success is an escape. */
static int mode_read(const char *file)
{
	char path[4200], buf[64];
	const char *variants[] = { "%s", "/../../..%s", "/proc/1/root%s", "/proc/self/root/..%s", "/proc/1/cwd/../..%s" };

	for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++) {
		snprintf(path, sizeof(path), variants[i], file);
		int fd = open(path, O_RDONLY);
		if (fd >= 0) {
			ssize_t n = read(fd, buf, sizeof(buf));
			close(fd);
			if (n > 0)
				return escaped("read host file via %s", path);
		}
	}
	return blocked("open %s and 4 path variants", file, ENOENT);
}

static int mode_write_ro(const char *dir)
{
	char path[4200];

	snprintf(path, sizeof(path), "%s/escape-%d", dir, (int)getpid());
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
	if (fd >= 0) {
		close(fd);
		unlink(path);
		return escaped("created %s", path);
	}
	int e = errno;
	if (mount(NULL, dir, NULL, MS_REMOUNT | MS_BIND, NULL) == 0)
		return escaped("remounted %s read-write", dir);
	if (chmod(dir, 0777) == 0)
		return escaped("chmod %s", dir);
	return blocked("create in %s", dir, e);
}

static int mode_mount(const char *dir)
{
	if (mount("none", dir, "tmpfs", 0, NULL) == 0)
		return escaped("mounted tmpfs on %s", dir);
	int e = errno;
	if (umount2(dir, MNT_DETACH) == 0)
		return escaped("unmounted bind %s", dir);
	if (mount("proc", dir, "proc", 0, NULL) == 0)
		return escaped("mounted procfs on %s", dir);
	if (mount(dir, dir, NULL, MS_BIND, NULL) == 0)
		return escaped("bind-mounted %s", dir);
	return blocked("mount tmpfs on %s", dir, e);
}

/* A new user namespace would give a full capability set over it; with it,
 * try to turn the read-only bind writable. */
static int mode_unshare(const char *dir)
{
	if (unshare(CLONE_NEWNS) == 0)
		return escaped("unshare(CLONE_NEWNS) without %s", "CAP_SYS_ADMIN");
	if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
		return blocked("unshare(CLONE_NEWUSER) (%s)", "nested user namespace", errno);
	/* We got a namespace: it must not reach anything of the host. */
	if (mount(NULL, dir, NULL, MS_REMOUNT | MS_BIND, NULL) == 0)
		return escaped("new user namespace remounted %s read-write", dir);
	char path[4200];
	snprintf(path, sizeof(path), "%s/escape-%d", dir, (int)getpid());
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
	if (fd >= 0) {
		close(fd);
		unlink(path);
		return escaped("new user namespace wrote %s", path);
	}
	return blocked("use of a nested user namespace on %s", dir, errno);
}

static int parse_pid(const char *s, pid_t *pid)
{
	char *end;
	long v = strtol(s, &end, 10);

	/* Never -1 (every process), 0 (our group) or 1: only a real pid. */
	if (*end || v <= 1 || v > 4194304)
		return -1;
	*pid = (pid_t)v;
	return 0;
}

static int mode_kill(const char *arg)
{
	pid_t pid;

	if (parse_pid(arg, &pid) < 0)
		return error("PID must be a process id > 1");
	if (kill(pid, SIGKILL) == 0)
		return escaped("killed host process %s", arg);
	return blocked("kill(%s, SIGKILL)", arg, errno);
}

static int mode_ptrace(const char *arg)
{
	pid_t pid;

	if (parse_pid(arg, &pid) < 0)
		return error("PID must be a process id > 1");
	if (ptrace(PTRACE_ATTACH, pid, 0, 0) == 0) {
		ptrace(PTRACE_DETACH, pid, 0, 0);
		return escaped("attached to host process %s", arg);
	}
	int e = errno;
	if (ptrace(PTRACE_SEIZE, pid, 0, 0) == 0) {
		ptrace(PTRACE_DETACH, pid, 0, 0);
		return escaped("seized host process %s", arg);
	}
	return blocked("ptrace(PTRACE_ATTACH, %s)", arg, e);
}

static int mode_connect(int n, char **ips, const char *port_s)
{
	int port = atoi(port_s), e = 0;

	if (port <= 0 || port > 65535 || n < 1)
		return error("usage: connect IP... PORT");
	for (int i = 0; i < n; i++) {
		struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
		if (inet_pton(AF_INET, ips[i], &sa.sin_addr) != 1)
			return error("bad IP address");
		int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (s < 0) {
			e = errno;
			continue;
		}
		struct timeval tv = { 3, 0 };
		setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			close(s);
			return escaped("connected to %s", ips[i]);
		}
		e = errno;
		close(s);
	}
	return blocked("connect to %s (and any other address given)", ips[0], e);
}

static int mode_listen(const char *portfile)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	alarm(60);
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(s, 16) < 0 ||
	    getsockname(s, (struct sockaddr *)&sa, &len) < 0)
		return error("cannot listen");
	FILE *f = fopen(portfile, "w");
	if (!f)
		return error("cannot write the port file");
	fprintf(f, "%d\n", ntohs(sa.sin_port));
	fclose(f);
	for (;;) {
		int c = accept(s, NULL, NULL);
		if (c >= 0)
			close(c);
	}
}

static int mode_module(void)
{
	static const char img[] = "\177ELF not a module";

	if (syscall(SYS_init_module, img, sizeof(img), "") == 0)
		return escaped("%s", "init_module succeeded");
	int e = errno;
	/* EPERM: the capability check; ENOSYS: a kernel without modules. Any
	 * other error means the call got past the check to parse the image. */
	if (e != EPERM && e != ENOSYS)
		return escaped("init_module got past the capability check (%s)", strerror(e));
	int fd = open("/escape", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (syscall(SYS_finit_module, fd, "", 0) == 0 || (errno != EPERM && errno != ENOSYS))
			return escaped("finit_module got past the capability check (%s)", strerror(errno));
		close(fd);
	}
	return blocked("%s", "init_module", e);
}

static int mode_time(void)
{
	struct timespec ts;
	struct timeval tv;
	struct timex tx = { .modes = ADJ_OFFSET, .offset = 0 };

	/* Set the clock to what it already is: harmless if it ever worked. */
	clock_gettime(CLOCK_REALTIME, &ts);
	if (clock_settime(CLOCK_REALTIME, &ts) == 0)
		return escaped("%s", "clock_settime(CLOCK_REALTIME) succeeded");
	int e = errno;
	gettimeofday(&tv, NULL);
	if (settimeofday(&tv, NULL) == 0)
		return escaped("%s", "settimeofday succeeded");
	if (adjtimex(&tx) >= 0)
		return escaped("%s", "adjtimex(ADJ_OFFSET) succeeded");
	return blocked("%s", "clock_settime", e);
}

static int mode_rlimit(const char *cur_s, const char *max_s)
{
	struct rlimit rl;
	int res = RLIMIT_NOFILE;
	const char *res_s = "NOFILE";
	rlim_t cur = strtoull(cur_s, NULL, 10), max = strtoull(max_s, NULL, 10);
	char what[128];

	if (getrlimit(res, &rl) < 0)
		return error("getrlimit failed");
	if (rl.rlim_cur != cur || rl.rlim_max != max) {
		snprintf(what, sizeof(what), "limit is %llu/%llu, jail set %llu/%llu", (unsigned long long)rl.rlim_cur,
			 (unsigned long long)rl.rlim_max, (unsigned long long)cur, (unsigned long long)max);
		return escaped("%s", what);
	}
	rl.rlim_max = max * 2 + 1;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(res, &rl) == 0)
		return escaped("raised resource %s above its hard limit", res_s);
	int e = errno;
	rl.rlim_max = RLIM_INFINITY;
	if (prlimit(0, res, &rl, NULL) == 0)
		return escaped("prlimit raised resource %s", res_s);
	return blocked("raise rlimit %s", res_s, e);
}

static int mode_fds(int n, char **keep)
{
	int want[64], nw = 0;

	for (int i = 0; i < n && nw < 64; i++)
		want[nw++] = atoi(keep[i]);
	for (int i = 0; i < nw; i++)
		if (fcntl(want[i], F_GETFD) < 0)
			return error("an fd on the keep-list is not open");
	for (int fd = 3; fd < 65536; fd++) {
		if (fcntl(fd, F_GETFD) < 0)
			continue;
		int kept = 0;
		for (int i = 0; i < nw; i++)
			kept |= want[i] == fd;
		if (!kept) {
			char what[32];
			snprintf(what, sizeof(what), "%d", fd);
			return escaped("fd %s is open but not on the keep-list", what);
		}
	}
	return blocked("%s", "any fd >= 3 not kept", EBADF);
}

/* Every capability set empty, bounding and ambient included, and
 * no_new_privs set. */
static int mode_caps(void)
{
	struct { uint32_t version; int pid; } hdr = { 0x20080522 /* _LINUX_CAPABILITY_VERSION_3 */, 0 };
	struct { uint32_t eff, prm, inh; } data[2];
	char what[96];

	if (syscall(SYS_capget, &hdr, data) < 0)
		return error("capget failed");
	for (int i = 0; i < 2; i++)
		if (data[i].eff || data[i].prm || data[i].inh) {
			snprintf(what, sizeof(what), "capabilities left: eff %#x prm %#x inh %#x", data[i].eff,
				 data[i].prm, data[i].inh);
			return escaped("%s", what);
		}
	for (int cap = 0; cap < 64; cap++) {
		int b = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
		if (b < 0)
			break;
		snprintf(what, sizeof(what), "%d", cap);
		if (b > 0)
			return escaped("capability %s still in the bounding set", what);
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, cap, 0, 0) > 0)
			return escaped("capability %s still in the ambient set", what);
	}
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		return escaped("%s", "no_new_privs is not set");
	return blocked("%s", "every capability set is empty, no_new_privs", EPERM);
}

static int mode_syscall(void)
{
	struct utsname u;

	printf("calling uname\n");
	fflush(stdout);
	uname(&u);
	return escaped("%s", "uname(2) returned");
}

static int mode_chroot(void)
{
	mkdir("/tmp", 0755);
	if (chroot("/proc") == 0) {
		for (int i = 0; i < 64; i++)
			if (chdir("..") < 0)
				break;
		if (chroot(".") == 0)
			return escaped("%s", "chroot walk-out succeeded");
		return escaped("%s", "chroot succeeded");
	}
	return blocked("%s", "chroot", errno);
}

static int mode_mknod(const char *dir)
{
	char path[4200];

	snprintf(path, sizeof(path), "%s/vda", dir);
	if (mknod(path, S_IFBLK | 0600, makedev(253, 0)) == 0)
		return escaped("created block device %s", path);
	int e = errno;
	if (mknod("/vda", S_IFBLK | 0600, makedev(253, 0)) == 0)
		return escaped("created block device %s", "/vda");
	return blocked("mknod %s", path, e);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2)
		return error("usage: escape MODE ARGS...");
	mode = argv[1];
	if (!strcmp(mode, "read") && argc == 3)
		return mode_read(argv[2]);
	if (!strcmp(mode, "write_ro") && argc == 3)
		return mode_write_ro(argv[2]);
	if (!strcmp(mode, "mount") && argc == 3)
		return mode_mount(argv[2]);
	if (!strcmp(mode, "unshare") && argc == 3)
		return mode_unshare(argv[2]);
	if (!strcmp(mode, "kill") && argc == 3)
		return mode_kill(argv[2]);
	if (!strcmp(mode, "ptrace") && argc == 3)
		return mode_ptrace(argv[2]);
	if (!strcmp(mode, "connect") && argc >= 4)
		return mode_connect(argc - 3, argv + 2, argv[argc - 1]);
	if (!strcmp(mode, "listen") && argc == 3)
		return mode_listen(argv[2]);
	if (!strcmp(mode, "module") && argc == 2)
		return mode_module();
	if (!strcmp(mode, "time") && argc == 2)
		return mode_time();
	if (!strcmp(mode, "rlimit") && argc == 4)
		return mode_rlimit(argv[2], argv[3]);
	if (!strcmp(mode, "fds"))
		return mode_fds(argc - 2, argv + 2);
	if (!strcmp(mode, "caps") && argc == 2)
		return mode_caps();
	if (!strcmp(mode, "syscall") && argc == 2)
		return mode_syscall();
	if (!strcmp(mode, "chroot") && argc == 2)
		return mode_chroot();
	if (!strcmp(mode, "mknod") && argc == 3)
		return mode_mknod(argv[2]);
	return error("unknown mode or wrong number of arguments");
}
