/* Escape suite from inside real device processes (issue 11): every attempt
 * runs in its own sandbox_spawn() child under the embedded virtio_blk
 * policy, holding what a virtio-blk device process holds: the disk image
 * fd and the socketpair to the VMM (this process plays the VMM). Each must
 * be blocked: the process is killed by the filter at exactly that syscall
 * (the reaper names it), or the call fails with an errno. Controls run
 * some attempts in a plain child and must succeed there, so a broken
 * attempt cannot pass by failing everywhere.
 *
 * Test-only: built with APPVM_TEST as $(O)/e2e/sandbox-escape (vmm/build.mk),
 * run by tests/native/sandbox.sh (root) and the e2e scenario sandbox_escape
 * in the nested L1 machine, whose / is rootfs. Prints "PASS/FAIL
 * native/sandbox_escape/NAME" lines; exit 0 when all passed. Only pids > 1
 * this program spawned are ever signalled (SIGKILL to its device processes);
 * the attempts themselves send only SIGCONT. */
#ifndef APPVM_TEST
#error "test-only: build with -DAPPVM_TEST=1"
#endif
#include "vmm/sandbox.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define S "native/sandbox_escape"

/* Read by the "other device" attempt from a second device process. */
static char pattern[64] = "device memory pattern";

struct env {
	char dir[64];          /* the disk image's directory */
	char image[96];        /* its path */
	char secret[96];       /* a host file next to it */
	char sock_path[108];   /* a host unix socket listening */
	int disk_fd;           /* given to the device */
	int stray_fd;          /* open in the VMM, not given */
	pid_t vmm;             /* this process */
	pid_t other;           /* another device process */
};

/* What an attempt reports when its call returned: 0 escaped, else errno. */
struct outcome {
	int err;
};

struct attempt {
	const char *name;
	const char *syscall;   /* the filter must kill at this one (NULL: errno expected) */
	long (*fn)(const struct env *e);  /* >= 0 success, -errno failure */
	int control;           /* also run unsandboxed: must succeed there */
};

static long ret(long r)
{
	return r < 0 ? -errno : r;
}

static long a_etc_shadow(const struct env *e) { (void)e; return ret(syscall(SYS_openat, AT_FDCWD, "/etc/shadow", O_RDONLY)); }
static long a_proc1_root(const struct env *e)
{
	char p[128];
	snprintf(p, sizeof(p), "/proc/1/root%s", e->secret);
	return ret(syscall(SYS_openat, AT_FDCWD, p, O_RDONLY));
}
static long a_dev_kvm(const struct env *e) { (void)e; return ret(syscall(SYS_openat, AT_FDCWD, "/dev/kvm", O_RDWR)); }
static long a_image_dir(const struct env *e) { return ret(syscall(SYS_openat, AT_FDCWD, e->dir, O_RDONLY | O_DIRECTORY)); }
static long a_open_legacy(const struct env *e) { return ret(syscall(SYS_open, e->image, O_RDONLY)); }
static long a_proc_self_fd(const struct env *e)
{
	char p[64];
	snprintf(p, sizeof(p), "/proc/self/fd/%d", e->disk_fd);
	return ret(syscall(SYS_openat, AT_FDCWD, p, O_RDWR));
}
static long a_ptrace_vmm(const struct env *e) { return ret(syscall(SYS_ptrace, PTRACE_ATTACH, e->vmm, 0, 0)); }
static long a_kill_vmm(const struct env *e) { return ret(syscall(SYS_kill, e->vmm, SIGCONT)); }
static long a_tgkill_other(const struct env *e) { return ret(syscall(SYS_tgkill, e->other, e->other, SIGCONT)); }
static long a_mount(const struct env *e) { (void)e; return ret(syscall(SYS_mount, "none", "/", "tmpfs", 0, NULL)); }
static long a_umount(const struct env *e) { (void)e; return ret(syscall(SYS_umount2, "/", MNT_DETACH)); }
static long a_unshare(const struct env *e) { (void)e; return ret(syscall(SYS_unshare, CLONE_NEWUSER | CLONE_NEWNS)); }
static long a_setns(const struct env *e) { return ret(syscall(SYS_setns, e->disk_fd, 0)); }
static long a_inet(const struct env *e) { (void)e; return ret(syscall(SYS_socket, AF_INET, SOCK_STREAM, 0)); }
static long a_netlink(const struct env *e) { (void)e; return ret(syscall(SYS_socket, AF_NETLINK, SOCK_RAW, 0)); }
static long a_packet(const struct env *e) { (void)e; return ret(syscall(SYS_socket, AF_PACKET, SOCK_RAW, 0)); }
static long a_host_unix(const struct env *e)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	long fd = syscall(SYS_socket, AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0)
		return -errno;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", e->sock_path);
	return ret(syscall(SYS_connect, fd, &sa, sizeof(sa)));
}
static long a_execve(const struct env *e)
{
	char *const argv[] = { "/bin/sh", NULL };
	(void)e;
	return ret(syscall(SYS_execve, "/bin/sh", argv, NULL));
}
static long a_setuid(const struct env *e) { (void)e; return ret(syscall(SYS_setuid, 0)); }
static long a_bpf(const struct env *e)
{
	union bpf_attr attr;
	(void)e;
	memset(&attr, 0, sizeof(attr));
	attr.map_type = BPF_MAP_TYPE_ARRAY;
	attr.key_size = 4;
	attr.value_size = 4;
	attr.max_entries = 1;
	return ret(syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof(attr)));
}
static long a_perf(const struct env *e)
{
	struct perf_event_attr attr = { .type = PERF_TYPE_SOFTWARE, .size = sizeof(attr), .config = PERF_COUNT_SW_CPU_CLOCK };
	(void)e;
	return ret(syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0));
}
static long a_userfaultfd(const struct env *e) { (void)e; return ret(syscall(SYS_userfaultfd, O_CLOEXEC)); }
static long a_io_uring(const struct env *e)
{
	char params[120] = { 0 };
	(void)e;
	return ret(syscall(SYS_io_uring_setup, 4, params));
}
static long a_keyctl(const struct env *e) { (void)e; return ret(syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3, 0)); }
static long a_stray_fd(const struct env *e) { return ret(syscall(SYS_write, e->stray_fd, "x", 1)); }
static long a_setrlimit(const struct env *e)
{
	struct rlimit rl = { 1024, 1024 };
	(void)e;
	return ret(syscall(SYS_setrlimit, RLIMIT_NOFILE, &rl));
}
static long a_prlimit(const struct env *e)
{
	struct rlimit rl = { 1024, 1024 };
	(void)e;
	return ret(syscall(SYS_prlimit64, 0, RLIMIT_NPROC, &rl, NULL));
}
static long a_proc_mem(const struct env *e)
{
	char p[64];
	snprintf(p, sizeof(p), "/proc/%d/mem", (int)e->other);
	return ret(syscall(SYS_openat, AT_FDCWD, p, O_RDONLY));
}
static long a_vm_readv(const struct env *e)
{
	char buf[sizeof(pattern)];
	struct iovec l = { buf, sizeof(buf) }, r = { pattern, sizeof(pattern) };
	long n = syscall(SYS_process_vm_readv, e->other, &l, 1, &r, 1, 0);
	return n < 0 ? -errno : memcmp(buf, pattern, sizeof(buf)) == 0 ? n : -EIO;
}
static long a_fork(const struct env *e) { (void)e; return ret(syscall(SYS_fork)); }
static long a_chroot(const struct env *e) { (void)e; return ret(syscall(SYS_chroot, "/proc")); }
static long a_mmap_exec(const struct env *e)
{
	(void)e;
	void *p = (void *)syscall(SYS_mmap, NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? -errno : 0;
}
static long a_grow_image(const struct env *e) { return ret(syscall(SYS_fallocate, e->disk_fd, 0, 0, 1L << 30)); }
static long a_disk_ioctl(const struct env *e) { int n; return ret(syscall(SYS_ioctl, e->disk_fd, FIONREAD, &n)); }
/* No signal disposition can change, here ignoring SIGSYS (vmm/mapio.c's
 * SIGBUS handler is installed by the VMM before the fork). */
static long a_sigaction_sigsys(const struct env *e)
{
	struct { void *handler; unsigned long flags; void *restorer; unsigned long mask; } ka = { SIG_IGN, 0, 0, 0 };

	(void)e;
	return ret(syscall(SYS_rt_sigaction, SIGSYS, &ka, NULL, sizeof(ka.mask)));
}

static const struct attempt attempts[] = {
	{ "open_etc_shadow", "openat", a_etc_shadow, 0 },
	{ "open_proc_1_root", "openat", a_proc1_root, 0 },
	{ "open_dev_kvm", "openat", a_dev_kvm, 0 },
	{ "open_image_dir", "openat", a_image_dir, 1 },
	{ "open_legacy_syscall", "open", a_open_legacy, 1 },
	{ "reopen_disk_via_proc", "openat", a_proc_self_fd, 1 },
	{ "ptrace_vmm", "ptrace", a_ptrace_vmm, 0 },
	{ "kill_vmm", "kill", a_kill_vmm, 1 },
	{ "tgkill_other_device", "tgkill", a_tgkill_other, 1 },
	{ "mount", "mount", a_mount, 0 },
	{ "umount_root", "umount2", a_umount, 0 },
	{ "unshare_userns", "unshare", a_unshare, 0 },
	{ "setns", "setns", a_setns, 0 },
	{ "socket_inet", "socket", a_inet, 1 },
	{ "socket_netlink", "socket", a_netlink, 1 },
	{ "socket_packet", "socket", a_packet, 0 },
	{ "connect_host_unix", "socket", a_host_unix, 1 },
	{ "execve", "execve", a_execve, 0 },
	{ "setuid", "setuid", a_setuid, 0 },
	{ "bpf", "bpf", a_bpf, 0 },
	{ "perf_event_open", "perf_event_open", a_perf, 0 },
	{ "userfaultfd", "userfaultfd", a_userfaultfd, 0 },
	{ "io_uring_setup", "io_uring_setup", a_io_uring, 0 },
	{ "keyctl", "keyctl", a_keyctl, 0 },
	{ "write_fd_not_given", NULL, a_stray_fd, 1 },
	{ "raise_rlimit_setrlimit", "setrlimit", a_setrlimit, 0 },
	{ "raise_rlimit_prlimit", "prlimit64", a_prlimit, 0 },
	{ "other_device_proc_mem", "openat", a_proc_mem, 1 },
	{ "other_device_process_vm_readv", "process_vm_readv", a_vm_readv, 1 },
	{ "fork", "fork", a_fork, 0 },
	{ "chroot", "chroot", a_chroot, 0 },
	{ "mmap_exec", "mmap", a_mmap_exec, 1 },
	{ "grow_disk_image", "fallocate", a_grow_image, 0 },
	{ "ioctl_disk", "ioctl", a_disk_ioctl, 0 },
	{ "sigaction", "rt_sigaction", a_sigaction_sigsys, 1 },
};

struct body_arg {
	const struct env *e;
	const struct attempt *a;
};

/* The device process: make the attempt, report its result if it returns. */
static int attempt_body(void *arg, int sock)
{
	const struct body_arg *b = arg;
	long r = b->a->fn(b->e);
	struct outcome o = { r >= 0 ? 0 : (int)-r };

	return syscall(SYS_write, sock, &o, sizeof(o)) == (long)sizeof(o) ? 0 : 3;
}

/* Waits in read(2) on its socketpair (the device policies allow no poll
 * or sleep), which vmm keeps open: until killed. */
static int sleep_body(void *arg, int sock)
{
	char b;

	(void)arg;
	while (syscall(SYS_read, sock, &b, 1) >= 0 || errno == EINTR)
		;
	return 4;
}

static int run_attempt(const struct env *e, const struct attempt *a)
{
	struct sandbox_config c;
	struct sandbox_proc p;
	struct body_arg b = { e, a };
	struct outcome o;
	char err[600], line[256];

	sandbox_config_init(&c, "virtio-blk", "virtio_blk");
	if (sandbox_config_keep(&c, e->disk_fd) < 0 || sandbox_spawn(&c, attempt_body, &b, &p, err, sizeof(err)) < 0) {
		printf("FAIL " S "/%s: sandbox_spawn: %s\n", a->name, err);
		return 1;
	}
	ssize_t n = read(p.sock, &o, sizeof(o));
	int st = sandbox_reap(&p, line, sizeof(line));
	sandbox_release(&p);
	if (n == (ssize_t)sizeof(o) && o.err == 0) {
		printf("FAIL " S "/%s: ESCAPED: the call succeeded in the device process\n", a->name);
		return 1;
	}
	if (a->syscall) {
		char want[96];
		snprintf(want, sizeof(want), "died: seccomp violation: %s", a->syscall);
		const char *w = strstr(line, want);
		if (st >= 0 && WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS && w && !w[strlen(want)]) {
			printf("PASS " S "/%s: blocked (seccomp violation: %s)\n", a->name, a->syscall);
			return 0;
		}
		printf("FAIL " S "/%s: want a kill at %s, got %s%s%s\n", a->name, a->syscall,
		       n == (ssize_t)sizeof(o) ? strerror(o.err) : "", n == (ssize_t)sizeof(o) ? "; " : "", line);
		return 1;
	}
	if (n == (ssize_t)sizeof(o) && o.err && st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0) {
		printf("PASS " S "/%s: blocked (%s)\n", a->name, strerror(o.err));
		return 0;
	}
	printf("FAIL " S "/%s: want an errno, got %s\n", a->name, line);
	return 1;
}

/* What a virtio-blk device does (write, read back, flush, discard) on the
 * disk fd it was given: the policy must let it work. */
static long a_disk_io(const struct env *e)
{
	char w[512], r[512];

	memset(w, 0x5a, sizeof(w));
	if (syscall(SYS_pwrite64, e->disk_fd, w, sizeof(w), 4096) != (long)sizeof(w) ||
	    syscall(SYS_pread64, e->disk_fd, r, sizeof(r), 4096) != (long)sizeof(r) ||
	    syscall(SYS_fdatasync, e->disk_fd) < 0)
		return -errno;
	if (memcmp(w, r, sizeof(r)))
		return -EIO;
	/* Discard: FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE. */
	return ret(syscall(SYS_fallocate, e->disk_fd, 0x02 | 0x01, 4096, 4096));
}

static int run_positive(const struct env *e)
{
	static const struct attempt io = { "disk_io", NULL, a_disk_io, 0 };
	struct sandbox_config c;
	struct sandbox_proc p;
	struct body_arg b = { e, &io };
	struct outcome o = { -1 };
	char err[600], line[256];

	sandbox_config_init(&c, "virtio-blk", "virtio_blk");
	if (sandbox_config_keep(&c, e->disk_fd) < 0 || sandbox_spawn(&c, attempt_body, &b, &p, err, sizeof(err)) < 0) {
		printf("FAIL " S "/device_disk_io: sandbox_spawn: %s\n", err);
		return 1;
	}
	ssize_t n = read(p.sock, &o, sizeof(o));
	sandbox_reap(&p, line, sizeof(line));
	sandbox_release(&p);
	if (n == (ssize_t)sizeof(o) && o.err == 0) {
		printf("PASS " S "/device_disk_io: write, read back, flush, discard work in the jail\n");
		return 0;
	}
	printf("FAIL " S "/device_disk_io: %s%s\n", n == (ssize_t)sizeof(o) ? strerror(o.err) : "", line);
	return 1;
}

/* The same attempt in a plain child: it must work there. */
static int run_control(const struct env *e, const struct attempt *a)
{
	int pp[2], st;
	struct outcome o = { -1 };

	if (pipe(pp) < 0)
		return 1;
	pid_t pid = fork();
	if (pid == 0) {
		struct body_arg b = { e, a };
		close(pp[0]);
		_exit(attempt_body(&b, pp[1]));
	}
	close(pp[1]);
	ssize_t n = pid > 0 ? read(pp[0], &o, sizeof(o)) : -1;
	close(pp[0]);
	if (pid > 0)
		waitpid(pid, &st, 0);
	if (n == (ssize_t)sizeof(o) && o.err == 0) {
		printf("PASS " S "/control_%s: works outside the sandbox\n", a->name);
		return 0;
	}
	printf("FAIL " S "/control_%s: does not work outside the sandbox either (%s)\n", a->name,
	       n == (ssize_t)sizeof(o) ? strerror(o.err) : "no report");
	return 1;
}

int main(void)
{
	struct env e = { .vmm = getpid() };
	struct sandbox_config c;
	struct sandbox_proc other;
	char err[600], path[160];
	int fails = 0, lfd;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (geteuid() != 0) {
		printf("SKIP " S "/all: needs root (namespaces, uid maps)\n");
		return 0;
	}
	snprintf(e.dir, sizeof(e.dir), "/tmp/sandbox-escape.XXXXXX");
	if (!mkdtemp(e.dir)) {
		printf("FAIL " S "/setup: mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	snprintf(e.image, sizeof(e.image), "%s/disk.img", e.dir);
	snprintf(e.sock_path, sizeof(e.sock_path), "%s/host.sock", e.dir);
	snprintf(e.secret, sizeof(e.secret), "%s/secret", e.dir);
	snprintf(path, sizeof(path), "%s", e.secret);
	e.disk_fd = open(e.image, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	e.stray_fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", e.sock_path);
	if (e.disk_fd < 0 || e.stray_fd < 0 || lfd < 0 || ftruncate(e.disk_fd, 1 << 20) < 0 ||
	    bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 64) < 0) {
		printf("FAIL " S "/setup: %s\n", strerror(errno));
		return 1;
	}
	/* Another device process whose memory the attempts go after. */
	sandbox_config_init(&c, "virtio-rng", "virtio_rng");
	if (sandbox_spawn(&c, sleep_body, NULL, &other, err, sizeof(err)) < 0) {
		printf("FAIL " S "/setup: other device: %s\n", err);
		return 1;
	}
	e.other = other.pid;

	size_t n = sizeof(attempts) / sizeof(attempts[0]);
	for (size_t i = 0; i < n; i++)
		fails += run_attempt(&e, &attempts[i]);
	for (size_t i = 0; i < n; i++)
		if (attempts[i].control)
			fails += run_control(&e, &attempts[i]);
	/* The device's own job still works under the same policy. */
	fails += run_positive(&e);

	sandbox_kill(&other, NULL, 0);
	sandbox_release(&other);
	close(lfd);
	unlink(e.sock_path);
	unlink(path);
	unlink(e.image);
	rmdir(e.dir);
	printf("%s " S "/summary: %zu attempts, %d failures\n", fails ? "FAIL" : "PASS", n, fails);
	return fails ? 1 : 0;
}
