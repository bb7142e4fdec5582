/* vmm/sandbox.c: policies (embedded = runtime compile, what each allows
 * and refuses, the --seccomp-policy-dir override and its errors), death
 * descriptions, and real device processes (root: namespaces): the jail a
 * device gets, death noticed through the pidfd within 1 s and named
 * (SIGKILL, a seccomp violation by syscall name, an exit status), no
 * device process left when its VMM is SIGKILLed, and the VMM's own thread
 * filters. No KVM. Device bodies leave with _exit() (sandbox_spawn). Only
 * pids > 1 this test spawned are ever signalled. */
#include "vmm/sandbox.h"
#include "seccomp-bpf/scbpf.h"
#include "seccomp-bpf/scbpf_bpf.h"
#include "tests/unit/t.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/falloc.h>
#include <linux/kvm.h>
#include <sched.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define POLICY_DIR "vmm/devices/policy/x86_64"

static const char *const policies[] = { "virtio_blk", "virtio_rng", "virtio_vsock", "virtio_9p", "vmm_main", "vmm_vcpu" };
/* The first three must refuse every path syscall (test_policy_rules);
 * virtio_9p resolves guest paths beneath its share fds (openat, unshare
 * CLONE_FS: tests/unit/virtio_9p_test.c checks its rules). */

/* Action of the named policy (embedded) for syscall nr with args. */
static uint32_t verdict(const char *policy, int nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3)
{
	struct sock_filter *prog = NULL;
	size_t len = 0;
	struct seccomp_data d = { .nr = nr, .arch = AUDIT_ARCH_X86_64, .args = { a0, a1, a2, a3 } };

	if (sandbox_policy(NULL, policy, &prog, &len, NULL, 0) < 0)
		return 0xdeadbeef;
	uint32_t act = scbpf_interp_run(prog, len, &d, NULL) & SECCOMP_RET_ACTION_FULL;
	free(prog);
	return act;
}

#define ALLOW SECCOMP_RET_ALLOW
#define KILL SECCOMP_RET_KILL_PROCESS

/* The embedded filters are the tree's files compiled, and pass the
 * kernel's checker rules. */
static void test_policy_embedded(void)
{
	for (size_t i = 0; i < sizeof(policies) / sizeof(policies[0]); i++) {
		struct sock_filter *emb = NULL, *rt = NULL;
		size_t elen = 0, rlen = 0, bad;
		char msg[512];
		CHECK_EQ(sandbox_policy(NULL, policies[i], &emb, &elen, msg, sizeof(msg)), 0);
		CHECK_EQ(sandbox_policy(POLICY_DIR, policies[i], &rt, &rlen, msg, sizeof(msg)), 0);
		CHECK(elen > 0 && elen == rlen && emb && rt && memcmp(emb, rt, elen * sizeof(*emb)) == 0);
		CHECK(emb && scbpf_interp_check(emb, elen, &bad) == 0);
		free(emb);
		free(rt);
	}
	struct sock_filter *p = NULL;
	size_t len;
	CHECK_EQ(sandbox_policy(NULL, "common_device", &p, &len, NULL, 0), -ENOENT); /* include-only */
	CHECK_EQ(sandbox_policy(NULL, "virtio_gpu", &p, &len, NULL, 0), -ENOENT);
	CHECK_EQ(sandbox_policy(NULL, "../virtio_blk", &p, &len, NULL, 0), -EINVAL);
	CHECK_EQ(sandbox_policy("/etc", "virtio_blk/x", &p, &len, NULL, 0), -EINVAL);
	CHECK_EQ(sandbox_policy(NULL, "", &p, &len, NULL, 0), -EINVAL);
}

/* --seccomp-policy-dir: the file in DIR wins over the embedded one; a
 * missing file is -ENOENT, a bad one -EINVAL with file:line:col. */
static void test_policy_dir(void)
{
	char dir[] = "/tmp/sandbox-test.XXXXXX", path[128], msg[512];
	struct sock_filter *p = NULL;
	size_t len = 0;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/virtio_rng.policy", dir);
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	if (f) {
		fputs("getrandom: 1\nexit_group: 1\n", f);
		fclose(f);
	}
	CHECK_EQ(sandbox_policy(dir, "virtio_rng", &p, &len, msg, sizeof(msg)), 0);
	struct seccomp_data d = { .nr = SYS_getrandom, .arch = AUDIT_ARCH_X86_64, .args = { 0, 16, 2 } };
	/* GRND_RANDOM (2) passes this file, not the embedded policy. */
	CHECK(p && scbpf_interp_run(p, len, &d, NULL) == SECCOMP_RET_ALLOW);
	CHECK_EQ(verdict("virtio_rng", SYS_getrandom, 0, 16, 2, 0), KILL);
	free(p);
	CHECK_EQ(sandbox_policy(dir, "virtio_blk", &p, &len, msg, sizeof(msg)), -ENOENT);
	f = fopen(path, "w");
	if (f) {
		fputs("getrandom: 1\nread: arg0 =! 1\n", f);
		fclose(f);
	}
	CHECK_EQ(sandbox_policy(dir, "virtio_rng", &p, &len, msg, sizeof(msg)), -EINVAL);
	char want[256];
	snprintf(want, sizeof(want), "%s:2:12: invalid operator '='", path);
	if (strcmp(msg, want)) {
		printf("  got '%s'\n  want '%s'\n", msg, want);
		t_case_failed = 1;
	}
	/* sandbox_spawn passes the message on, naming the file. */
	struct sandbox_config c;
	struct sandbox_proc pr;
	char err[600];
	sandbox_config_init(&c, "virtio-rng", "virtio_rng");
	c.policy_dir = dir;
	CHECK_EQ(sandbox_spawn(&c, NULL, NULL, &pr, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, want) != NULL);
	unlink(path);
	rmdir(dir);
}

/* What the device policies allow and refuse (each rule's condition both
 * ways, and the attempts of the escape suite). */
static void test_policy_rules(void)
{
	/* common: eventfds, the socketpair, malloc without PROT_EXEC. */
	CHECK_EQ(verdict("virtio_blk", SYS_read, 5, 0, 8, 0), ALLOW);
	CHECK_EQ(verdict("virtio_blk", SYS_mmap, 0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS), ALLOW);
	CHECK_EQ(verdict("virtio_blk", SYS_mmap, 0, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE), KILL);
	CHECK_EQ(verdict("virtio_blk", SYS_mprotect, 0, 4096, PROT_READ | PROT_EXEC, 0), KILL);
	CHECK_EQ(verdict("virtio_blk", SYS_writev, 2, 0, 1, 0), ALLOW);
	CHECK_EQ(verdict("virtio_blk", SYS_writev, 7, 0, 1, 0), KILL);
	CHECK_EQ(verdict("virtio_blk", SYS_madvise, 0, 4096, MADV_DONTNEED, 0), ALLOW);
	CHECK_EQ(verdict("virtio_blk", SYS_madvise, 0, 4096, MADV_HWPOISON, 0), KILL);
	/* blk: I/O at an offset, flush, discard/zeroes without growing. */
	CHECK_EQ(verdict("virtio_blk", SYS_pread64, 4, 0, 512, 0), ALLOW);
	CHECK_EQ(verdict("virtio_blk", SYS_pwritev, 4, 0, 2, 0), ALLOW);
	CHECK_EQ(verdict("virtio_blk", SYS_fdatasync, 4, 0, 0, 0), ALLOW);
	CHECK_EQ(verdict("virtio_blk", SYS_fallocate, 4, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 0), ALLOW);
	CHECK_EQ(verdict("virtio_blk", SYS_fallocate, 4, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, 0, 0), ALLOW);
	CHECK_EQ(verdict("virtio_blk", SYS_fallocate, 4, 0, 0, 1 << 30), KILL);
	CHECK_EQ(verdict("virtio_blk", SYS_getrandom, 0, 16, 0, 0), KILL);
	/* rng: getrandom with flags 0 only. */
	CHECK_EQ(verdict("virtio_rng", SYS_getrandom, 0, 16, 0, 0), ALLOW);
	CHECK_EQ(verdict("virtio_rng", SYS_getrandom, 0, 16, 2, 0), KILL);
	CHECK_EQ(verdict("virtio_rng", SYS_pread64, 4, 0, 512, 0), KILL);
	/* vsock: unix stream sockets only. */
	CHECK_EQ(verdict("virtio_vsock", SYS_socket, AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, 0), ALLOW);
	CHECK_EQ(verdict("virtio_vsock", SYS_socket, AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, 0), KILL);
	CHECK_EQ(verdict("virtio_vsock", SYS_socket, AF_UNIX, SOCK_DGRAM, 0, 0), KILL);
	CHECK_EQ(verdict("virtio_vsock", SYS_setsockopt, 5, SOL_SOCKET, SO_SNDBUF, 0), ALLOW);
	CHECK_EQ(verdict("virtio_vsock", SYS_setsockopt, 5, SOL_SOCKET, SO_BINDTODEVICE, 0), KILL);
	/* Escape suite attempts: refused by every device policy. */
	static const int never[] = { SYS_openat, SYS_open, SYS_execve, SYS_execveat, SYS_ptrace, SYS_kill, SYS_tgkill,
				     SYS_mount, SYS_unshare, SYS_setns, SYS_setuid, SYS_bpf, SYS_perf_event_open,
				     SYS_userfaultfd, SYS_io_uring_setup, SYS_keyctl, SYS_setrlimit, SYS_prlimit64,
				     SYS_process_vm_readv, SYS_clone, SYS_clone3, SYS_fork, SYS_chroot, SYS_pivot_root };
	for (size_t p = 0; p < 3; p++)
		for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++) {
			uint32_t v = verdict(policies[p], never[i], 0, 0, 0, 0);
			if (v != KILL) {
				printf("  %s allows %s\n", policies[p], scbpf_syscall_name(never[i]));
				t_case_failed = 1;
			}
		}
	/* The vCPU thread: KVM_RUN yes, creating a VM or opening files no. */
	CHECK_EQ(verdict("vmm_vcpu", SYS_ioctl, 9, 0xae80 /* KVM_RUN */, 0, 0), ALLOW);
	CHECK_EQ(verdict("vmm_vcpu", SYS_ioctl, 9, 0xae01 /* KVM_CREATE_VM */, 0, 0), KILL);
	CHECK_EQ(verdict("vmm_vcpu", SYS_openat, 0, 0, 0, 0), KILL);
	CHECK_EQ(verdict("vmm_vcpu", SYS_ioctl, 9, KVM_IOEVENTFD, 0, 0), ALLOW);
	/* musl's ioctl(int, int) sign-extends an _IOR request; glibc does not. */
	CHECK_EQ(verdict("vmm_vcpu", SYS_ioctl, 9, (uint64_t)(int64_t)(int32_t)KVM_GET_REGS, 0, 0), ALLOW);
	CHECK_EQ(verdict("vmm_vcpu", SYS_ioctl, 9, (uint32_t)KVM_GET_REGS, 0, 0), ALLOW);
	CHECK_EQ(verdict("vmm_main", SYS_ioctl, 9, (uint64_t)(int64_t)(int32_t)KVM_GET_VCPU_EVENTS, 0, 0), ALLOW);
	CHECK_EQ(verdict("vmm_main", SYS_getsockopt, 5, SOL_SOCKET, SO_PEERCRED, 0), ALLOW);
	/* --serial file rotation on a vCPU thread: that one open, no other. */
	CHECK_EQ(verdict("vmm_vcpu", SYS_open, 0, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_LARGEFILE, 0644, 0),
		 ALLOW);
	CHECK_EQ(verdict("vmm_vcpu", SYS_open, 0, O_RDONLY, 0, 0), KILL);
	CHECK_EQ(verdict("vmm_vcpu", SYS_open, 0, O_RDWR | O_CREAT, 0644, 0), KILL);
	CHECK_EQ(verdict("vmm_main", SYS_execve, 0, 0, 0, 0), KILL);
	/* Control-client threads, never a process. */
	CHECK_EQ(verdict("vmm_main", SYS_clone, CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
			 CLONE_SYSVSEM | CLONE_SETTLS | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID | CLONE_DETACHED, 0, 0, 0),
		 ALLOW);
	CHECK_EQ(verdict("vmm_main", SYS_clone, SIGCHLD, 0, 0, 0), KILL);
	CHECK_EQ(verdict("vmm_main", SYS_clone, CLONE_NEWUSER | CLONE_VM | CLONE_THREAD, 0, 0, 0), KILL);
	CHECK_EQ(verdict("vmm_main", SYS_accept4, 3, 0, 0, 0), ALLOW);
	/* The event loop (evloop/evloop.c) waits with epoll_pwait by that name,
	 * under musl and glibc alike: glibc's epoll_wait(2) is not needed. */
	CHECK_EQ(verdict("vmm_main", SYS_epoll_pwait, 3, 0, 0, 0), ALLOW);
	CHECK_EQ(verdict("vmm_main", SYS_epoll_wait, 3, 0, 0, 0), KILL);
}

static void test_describe(void)
{
	char b[96];

	sandbox_describe(SIGSYS, SYS_openat, b, sizeof(b));
	CHECK(strcmp(b, "seccomp violation: openat") == 0);
	sandbox_describe(SIGSYS, 9999, b, sizeof(b));
	CHECK(strcmp(b, "seccomp violation: syscall 9999") == 0);
	sandbox_describe(SIGSYS, -1, b, sizeof(b)); /* SIGSYS sent, not a filter kill */
	CHECK(strncmp(b, "killed by signal 31 (", 21) == 0);
	sandbox_describe(SIGKILL, -1, b, sizeof(b));
	CHECK(strncmp(b, "killed by signal 9 (", 20) == 0);
	sandbox_describe(3 << 8, -1, b, sizeof(b));
	CHECK(strcmp(b, "exited with status 3") == 0);
	struct sandbox_config c;
	sandbox_config_init(&c, "d", "virtio_blk");
	CHECK_EQ(c.uid, 65534);
	CHECK_EQ(c.gid, 65534);
	CHECK_EQ(c.userns, 1);
	CHECK_EQ(c.nofile, 0);
	CHECK_EQ(c.nproc, 0);
	CHECK_EQ(sandbox_config_keep(&c, -1), -EBADF);
	CHECK_EQ(sandbox_config_keep(&c, 999), -EBADF);
	for (int i = 0; i < SANDBOX_MAX_FDS; i++)
		CHECK_EQ(sandbox_config_keep(&c, 0), 0);
	CHECK_EQ(sandbox_config_keep(&c, 0), -ENOSPC);
	CHECK_EQ(sandbox_config_bind(&c, "tmp", "/tmp", 0), -EINVAL);
	CHECK_EQ(sandbox_config_bind(&c, "/tmp", "tmp", 0), -EINVAL);
	for (int i = 0; i < SANDBOX_MAX_BINDS; i++)
		CHECK_EQ(sandbox_config_bind(&c, "/tmp", "/tmp", 0), 0);
	CHECK_EQ(sandbox_config_bind(&c, "/tmp", "/tmp", 0), -ENOSPC);
}

/* ---- real device processes (root) ---- */

/* What a device process finds itself in, sent over its socket. */
struct env_report {
	int pid, uid_ok, kept_open, others_closed, caps_empty, no_new_privs, seccomp;
	long nofile, nproc, core;
	int root_entries, root_readonly;
};

static long limit_of(int res)
{
	struct rlimit rl;

	return syscall(SYS_prlimit64, 0, res, NULL, &rl) == 0 ? (long)rl.rlim_max : -1;
}

struct env_arg {
	int kept;
};

static int env_body(void *arg, int sock)
{
	const struct env_arg *a = arg;
	struct env_report r = { 0 };
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];
	struct stat st;

	r.pid = (int)syscall(SYS_getpid);
	r.uid_ok = syscall(SYS_getuid) == 0; /* root of its user namespace, 65534 outside */
	r.kept_open = syscall(SYS_fcntl, a->kept, F_GETFD) >= 0;
	r.others_closed = 1;
	for (int fd = 0; fd < 256; fd++)
		if (fd != a->kept && fd != sock && fd != 2 && syscall(SYS_fcntl, fd, F_GETFD) >= 0)
			r.others_closed = 0;
	r.caps_empty = syscall(SYS_capget, &hdr, data) == 0 && !data[0].effective && !data[0].permitted &&
		       !data[0].inheritable && !data[1].effective && !data[1].permitted;
	r.no_new_privs = (int)syscall(SYS_prctl, PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
	r.seccomp = (int)syscall(SYS_prctl, PR_GET_SECCOMP, 0, 0, 0, 0);
	r.nofile = limit_of(RLIMIT_NOFILE);
	r.nproc = limit_of(RLIMIT_NPROC);
	r.core = limit_of(RLIMIT_CORE);
	r.root_entries = (syscall(SYS_newfstatat, AT_FDCWD, "/proc/1", &st, 0) == 0) +
			 (syscall(SYS_newfstatat, AT_FDCWD, "/etc", &st, 0) == 0) * 10 +
			 (syscall(SYS_newfstatat, AT_FDCWD, "/tmp", &st, 0) == 0) * 100 +
			 (syscall(SYS_newfstatat, AT_FDCWD, "/sock/env.policy", &st, 0) == 0) * 1000;
	r.root_readonly = syscall(SYS_mkdirat, AT_FDCWD, "/x", 0755) < 0 && errno == EROFS;
	return syscall(SYS_write, sock, &r, sizeof(r)) == (long)sizeof(r) ? 0 : 3;
}

/* A policy for env_body: the common device rules plus what it inspects. */
static int write_env_policy(char *dir)
{
	char path[128], cwd[1024];

	/* 0755: the device (65534 outside) looks into it through a bind. */
	if (!mkdtemp(dir) || chmod(dir, 0755) < 0 || !getcwd(cwd, sizeof(cwd)))
		return -1;
	snprintf(path, sizeof(path), "%s/env.policy", dir);
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	fprintf(f, "@include %s/" POLICY_DIR "/common_device.policy\n"
		   "getpid: 1\ngetuid: 1\nfcntl: 1\ncapget: 1\nprctl: 1\nprlimit64: arg2 == 0\n"
		   "newfstatat: 1\nmkdirat: 1\n", cwd);
	return fclose(f);
}

static void test_spawn_env(void)
{
	char dir[] = "/tmp/sandbox-env.XXXXXX", err[600], path[128];
	struct sandbox_config c;
	struct sandbox_proc p;
	struct env_report r = { 0 };
	int kept = open("/dev/null", O_RDONLY | O_CLOEXEC), other = open("/dev/null", O_RDONLY);

	CHECK_EQ(write_env_policy(dir), 0);
	sandbox_config_init(&c, "test-env", "env");
	c.policy_dir = dir;
	CHECK_EQ(sandbox_config_keep(&c, kept), 0);
	CHECK_EQ(sandbox_config_keep(&c, 2), 0);
	CHECK_EQ(sandbox_config_bind(&c, dir, "/sock", 0), 0);
	struct env_arg a = { kept };
	int rc = sandbox_spawn(&c, env_body, &a, &p, err, sizeof(err));
	CHECK_EQ(rc, 0);
	if (rc < 0) {
		printf("  %s\n", err);
	} else {
		CHECK(p.pid > 1 && p.pid != p.reaper && p.pidfd >= 0 && p.sock >= 0);
		CHECK_EQ(read(p.sock, &r, sizeof(r)), (long)sizeof(r));
		char line[200];
		CHECK_EQ(sandbox_reap(&p, line, sizeof(line)), 0);
		sandbox_release(&p);
	}
	CHECK_EQ(r.pid, 1);
	CHECK_EQ(r.uid_ok, 1);
	CHECK_EQ(r.kept_open, 1);
	CHECK_EQ(r.others_closed, 1);
	CHECK_EQ(r.caps_empty, 1);
	CHECK_EQ(r.no_new_privs, 1);
	CHECK_EQ(r.seccomp, 2);
	CHECK_EQ(r.nofile, 0);
	CHECK_EQ(r.nproc, 0);
	CHECK_EQ(r.core, 0);
	CHECK_EQ(r.root_entries, 1001); /* /proc and the bind: an otherwise empty tmpfs root */
	CHECK_EQ(r.root_readonly, 1);
	close(kept);
	close(other);
	snprintf(path, sizeof(path), "%s/env.policy", dir);
	unlink(path);
	rmdir(dir);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static int block_body(void *arg, int sock)
{
	char b;

	(void)arg;
	return syscall(SYS_read, sock, &b, 1) == 1 ? 0 : 4; /* until killed */
}

/* Blocks without a syscall the device policies would refuse (they allow
 * no poll or sleep) and never leaves by itself: until killed. */
static int sleep_body(void *arg, int sock)
{
	(void)arg;
	(void)sock;
	for (;;)
		__asm__ volatile("pause");
}

static int openat_body(void *arg, int sock)
{
	(void)arg;
	(void)sock;
	syscall(SYS_openat, AT_FDCWD, "/etc/shadow", O_RDONLY);
	return 0;
}

static int exit7_body(void *arg, int sock)
{
	(void)arg;
	(void)sock;
	return 7;
}

/* A failing jail step comes back as -errno and one line naming it. */
static void test_spawn_error(void)
{
	struct sandbox_config c;
	struct sandbox_proc p;
	char err[600], want[64];
	/* A high number: the socketpair must not reuse it. */
	int fd = dup2(0, 900);

	sandbox_config_init(&c, "virtio-blk", "virtio_blk");
	CHECK_EQ(sandbox_config_keep(&c, fd), 0);
	close(fd); /* gone by the time the jail keeps it */
	CHECK_EQ(sandbox_spawn(&c, exit7_body, NULL, &p, err, sizeof(err)), -EBADF);
	snprintf(want, sizeof(want), "jail: keep fd %d: Bad file descriptor", fd);
	CHECK(strcmp(err, want) == 0);
	if (strcmp(err, want))
		printf("  got '%s'\n", err);
}

/* Spawn body under virtio_blk's embedded policy; optionally SIGKILL the
 * device process; the pidfd must turn readable within 1 s; returns the
 * death line. */
static void death_line(sandbox_fn body, int kill_it, char *line, size_t len)
{
	struct sandbox_config c;
	struct sandbox_proc p;
	char err[600];

	line[0] = 0;
	sandbox_config_init(&c, "virtio-blk", "virtio_blk");
	int rc = sandbox_spawn(&c, body, NULL, &p, err, sizeof(err));
	CHECK_EQ(rc, 0);
	if (rc < 0) {
		printf("  %s\n", err);
		return;
	}
	if (kill_it && p.pid > 1)
		kill(p.pid, SIGKILL);
	long long t0 = now_ms();
	struct pollfd pfd = { p.pidfd, POLLIN, 0 };
	CHECK_EQ(poll(&pfd, 1, 1000), 1);
	CHECK(now_ms() - t0 < 1000);
	sandbox_reap(&p, line, len);
	char want[64];
	snprintf(want, sizeof(want), "device virtio-blk (pid %d) died: ", (int)p.pid);
	CHECK(strncmp(line, want, strlen(want)) == 0);
	sandbox_release(&p);
}

static void test_death_noticed(void)
{
	char line[200];

	death_line(block_body, 1, line, sizeof(line));
	CHECK(strstr(line, "died: killed by signal 9 (") != NULL);
	death_line(openat_body, 0, line, sizeof(line));
	CHECK(strstr(line, "died: seccomp violation: openat") != NULL);
	if (!strstr(line, "openat"))
		printf("  got '%s'\n", line);
	death_line(exit7_body, 0, line, sizeof(line));
	CHECK(strstr(line, "died: exited with status 7") != NULL);
}

static int eof_body(void *arg, int sock)
{
	char b;

	(void)arg;
	return syscall(SYS_read, sock, &b, 1) == 0 ? 0 : 5; /* 0 at end of file */
}

/* vmm's shutdown of a device process: its socket closes and a device
 * loop leaves (exit 0, nothing logged); one that does not leave is
 * killed after the timeout. */
static void test_stop(void)
{
	struct sandbox_config c;
	struct sandbox_proc p;
	char err[600];
	long long t0;
	int st;

	sandbox_config_init(&c, "virtio-blk", "virtio_blk");
	CHECK_EQ(sandbox_spawn(&c, eof_body, NULL, &p, err, sizeof(err)), 0);
	t0 = now_ms();
	st = sandbox_stop(&p, 1000);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHECK(now_ms() - t0 < 1000);
	CHECK_EQ(sandbox_stop(&p, 1000), -ECHILD);
	sandbox_release(&p);

	CHECK_EQ(sandbox_spawn(&c, sleep_body, NULL, &p, err, sizeof(err)), 0);
	t0 = now_ms();
	st = sandbox_stop(&p, 200);
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	CHECK(now_ms() - t0 >= 200);
	sandbox_release(&p);
}

/* A VMM killed by SIGKILL takes its device processes along: a middle
 * process spawns one and is killed; the device process and its reaper,
 * reparented to this test (a child subreaper), must die too. */
static void test_vmm_sigkill(void)
{
	int pp[2], st;
	pid_t got[2] = { -1, -1 };

	CHECK_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
	CHECK_EQ(pipe(pp), 0);
	pid_t vmm = fork();
	if (vmm == 0) {
		struct sandbox_config c;
		struct sandbox_proc p;
		close(pp[0]);
		sandbox_config_init(&c, "virtio-blk", "virtio_blk");
		if (sandbox_spawn(&c, sleep_body, NULL, &p, NULL, 0) < 0)
			_exit(3);
		pid_t ids[2] = { p.pid, p.reaper };
		if (write(pp[1], ids, sizeof(ids)) != (ssize_t)sizeof(ids))
			_exit(3);
		for (;;)
			pause();
	}
	close(pp[1]);
	CHECK(vmm > 0);
	CHECK_EQ(read(pp[0], got, sizeof(got)), (long)sizeof(got));
	close(pp[0]);
	if (vmm > 1)
		kill(vmm, SIGKILL);
	CHECK_EQ(waitpid(vmm, &st, 0), vmm);
	for (int i = 0; i < 2; i++) {
		CHECK(got[i] > 1);
		if (got[i] > 1 && !t_pid_gone_within(got[i], 1000)) {
			printf("  pid %d survived\n", (int)got[i]);
			t_case_failed = 1;
			kill(got[i], SIGKILL);
		}
	}
	CHECK_EQ(prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0), 0);
}

static void *thread_openat(void *arg)
{
	int *go = arg;
	char b;

	if (read(go[0], &b, 1) == 1)
		syscall(SYS_openat, AT_FDCWD, "/dev/null", O_RDONLY);
	return NULL;
}

/* The VMM's thread filters. A thread that existed before the main thread
 * installed vmm_main with TSYNC has it too: its openat kills the process;
 * without TSYNC it stays unfiltered and the process exits normally. The
 * vCPU filter allows write and kills on openat. */
static void test_vmm_filters(void)
{
	for (int mode = 0; mode < 3; mode++) {
		int st = -1;
		pid_t pid = fork();
		if (pid == 0) {
			pthread_t t;
			int go[2], devnull = open("/dev/null", O_WRONLY);
			dup2(devnull, 2); /* the sanitizer's SIGSYS report stays out of the log */
			if (pipe(go) < 0 || pthread_create(&t, NULL, thread_openat, go) != 0)
				_exit(3);
			if (sandbox_vmm_filter(mode == 2 ? SANDBOX_VMM_VCPU : SANDBOX_VMM_MAIN, NULL, mode == 1, NULL,
					       0) < 0)
				_exit(4);
			if (syscall(SYS_write, devnull, "x", 1) != 1)
				_exit(5);
			if (mode == 2)
				syscall(SYS_openat, AT_FDCWD, "/dev/null", O_RDONLY);
			if (syscall(SYS_write, go[1], "g", 1) != 1)
				_exit(6);
			pthread_join(t, NULL);
			syscall(SYS_exit_group, 7); /* not _exit: its sanitizer hooks */
		}
		CHECK(pid > 0);
		CHECK_EQ(waitpid(pid, &st, 0), pid);
		if (mode == 0)
			CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 7);
		else
			CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS);
		if (t_case_failed)
			printf("  mode %d: status %#x\n", mode, st);
	}
}

int main(void)
{
	t_suite = "sandbox";
	RUN(test_policy_embedded);
	RUN(test_policy_dir);
	RUN(test_policy_rules);
	RUN(test_describe);
	if (geteuid() != 0) {
		printf("SKIP sandbox/processes: not root\n");
		return t_done();
	}
	RUN(test_spawn_env);
	RUN(test_spawn_error);
	RUN(test_death_noticed);
	RUN(test_stop);
	RUN(test_vmm_sigkill);
	RUN(test_vmm_filters);
	return t_done();
}
