/* jail library: setter validation, and real jails (namespaces need root,
 * which CI has; tests/native/jail.sh holds the escape suite). Children
 * leave with _exit() so the sanitizer runtime's exit hooks stay in the
 * parent. No signal is ever sent but SIGKILL to a child pid this test
 * forked. */
#include "jail/jail.h"
#include "tests/unit/t.h"
#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int count_fds(void)
{
	int n = 0;

	for (int fd = 0; fd < 1024; fd++)
		n += fcntl(fd, F_GETFD) >= 0;
	return n;
}

static void test_setters(void)
{
	struct jail *j = jail_new();
	struct sock_filter ret = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	static struct sock_filter big[4097];
	char msg[300];

	CHECK(j != NULL);
	if (!j)
		return;
	CHECK_EQ(jail_bind(j, "/lib", "lib", 0), -EINVAL);
	CHECK_EQ(jail_bind(j, "/lib", "/a/../b", 0), -EINVAL);
	CHECK_EQ(jail_bind(j, "/lib", "/a/./b", 0), -EINVAL);
	CHECK_EQ(jail_bind(j, "/lib", "/", 0), -EINVAL);
	CHECK_EQ(jail_bind(j, "", "/x", 0), -EINVAL);
	for (int i = 0; i < JAIL_MAX_BINDS; i++)
		CHECK_EQ(jail_bind(j, "/lib", "/lib", 0), 0);
	CHECK_EQ(jail_bind(j, "/lib", "/lib", 0), -ENOSPC);
	CHECK_EQ(jail_rlimit(j, RLIMIT_NOFILE, 10, 5), -EINVAL);
	CHECK_EQ(jail_rlimit(j, -1, 1, 1), -EINVAL);
	CHECK_EQ(jail_rlimit(j, RLIMIT_NOFILE, 5, 10), 0);
	CHECK_EQ(jail_keep_fd(j, -1), -EBADF);
	CHECK_EQ(jail_keep_fd(j, 3), 0);
	CHECK_EQ(jail_keep_fd(j, 3), 0); /* duplicates are fine */
	CHECK_EQ(jail_uid_map(j, 0, 0xffffffffu, 2), -EINVAL);
	CHECK_EQ(jail_uid_map(j, 0, 1000, 0), -EINVAL);
	for (int i = 0; i < JAIL_MAX_MAPS; i++)
		CHECK_EQ(jail_gid_map(j, (uint32_t)i, 1000 + (uint32_t)i, 1), 0);
	CHECK_EQ(jail_gid_map(j, 9, 9, 1), -ENOSPC);
	CHECK_EQ(jail_change_uid(j, (uid_t)-1), -EINVAL);
	CHECK_EQ(jail_namespace_uts(j, ""), -EINVAL);
	CHECK_EQ(jail_namespace_uts(j, "01234567890123456789012345678901234567890123456789012345678901234"), -EINVAL);
	CHECK_EQ(jail_namespace_uts(j, "box"), 0);
	CHECK_EQ(jail_seccomp_filter(j, &ret, 0), -EINVAL);
	CHECK_EQ(jail_seccomp_filter(j, big, 4097), -E2BIG);
	CHECK_EQ(jail_seccomp_filter(j, &ret, 1), 0);
	CHECK_EQ(jail_error(j)[0], 0);
	jail_destroy(j);

	/* A bad policy comes back with the compiler's file:line:col message. */
	char path[] = "/tmp/jail-test-policy.XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	CHECK_EQ(write(fd, "read: 1\nwrite: arg0 === 1\n", 26), 26);
	close(fd);
	j = jail_new();
	CHECK_EQ(jail_seccomp_policy(j, path, msg, sizeof(msg)), -EINVAL);
	char want[200];
	snprintf(want, sizeof(want), "%s:2:15: expected a constant, got '='", path);
	if (strcmp(msg, want)) {
		printf("  got '%s'\n  want '%s'\n", msg, want);
		t_case_failed = 1;
	}
	CHECK_EQ(jail_seccomp_policy(j, "/nonexistent/x.policy", msg, sizeof(msg)), -ENOENT);
	unlink(path);
	jail_destroy(j);
}

/* The namespaces a device process gets. */
static struct jail *full_jail(void)
{
	struct jail *j = jail_new();

	if (!j)
		return NULL;
	jail_namespace_user(j);
	jail_namespace_pid(j);
	jail_namespace_mount(j);
	jail_namespace_net(j);
	jail_namespace_ipc(j);
	jail_namespace_uts(j, "jailtest");
	jail_namespace_cgroup(j);
	return j;
}

/* What the jailed child of test_fork_keep_list found, written to the pipe. */
struct fork_report {
	int pid;            /* getpid() inside: 1 in a new pid namespace */
	int kept_open;      /* the kept fd is open */
	int other_closed;   /* the not-kept fd is closed */
	int caps_empty;     /* capget: every set empty */
	int no_new_privs;
	int bounding_empty;
	int root_entries;   /* entries in "/" (the tmpfs root: the binds and proc) */
	int bind_readonly;  /* creating a file in the read-only bind fails with EROFS */
	int nofile;         /* RLIMIT_NOFILE hard limit */
	char hostname[32];
};

static void fork_child_report(int out, int other)
{
	struct fork_report r = { 0 };
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];
	struct rlimit rl;
	struct stat st;

	r.pid = getpid();
	r.kept_open = fcntl(out, F_GETFD) >= 0;
	r.other_closed = fcntl(other, F_GETFD) < 0 && errno == EBADF;
	r.caps_empty = syscall(SYS_capget, &hdr, data) == 0 && !data[0].effective && !data[0].permitted &&
		       !data[0].inheritable && !data[1].effective && !data[1].permitted;
	r.no_new_privs = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1;
	r.bounding_empty = prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN, 0, 0, 0) == 0 &&
			   prctl(PR_CAPBSET_READ, CAP_NET_ADMIN, 0, 0, 0) == 0;
	r.root_entries = (stat("/lib", &st) == 0) + (stat("/proc/1", &st) == 0) + (stat("/etc", &st) == 0) * 100 +
			 (stat("/tmp", &st) == 0) * 100;
	r.bind_readonly = open("/lib/jail-test-file", O_WRONLY | O_CREAT, 0644) < 0 && errno == EROFS;
	r.nofile = getrlimit(RLIMIT_NOFILE, &rl) == 0 ? (int)rl.rlim_max : -1;
	gethostname(r.hostname, sizeof(r.hostname) - 1);
	if (write(out, &r, sizeof(r)) != (ssize_t)sizeof(r))
		_exit(3);
	_exit(0);
}

/* jail_fork(): the device-process path. Only the keep-list survives, the
 * child is pid 1 of its namespace behind a reaper, capabilities are gone,
 * the root is the tmpfs with the read-only bind, and the exit status
 * comes back through the reaper. */
static void test_fork_keep_list(void)
{
	struct jail *j = full_jail();
	struct fork_report r = { 0 };
	int p[2], other = open("/dev/null", O_RDONLY);

	CHECK(j && other >= 0 && pipe(p) == 0);
	CHECK_EQ(jail_keep_fd(j, p[1]), 0);
	CHECK_EQ(jail_bind(j, "/lib", "/lib", 0), 0);
	CHECK_EQ(jail_rlimit(j, RLIMIT_NOFILE, 50, 60), 0);
	pid_t pid = jail_fork(j);
	if (pid == 0)
		fork_child_report(p[1], other);
	close(p[1]);
	CHECK(pid > 0);
	if (pid < 0)
		printf("  jail_fork: %s\n", jail_error(j));
	CHECK_EQ(read(p[0], &r, sizeof(r)), (long)sizeof(r));
	close(p[0]);
	close(other);
	int st = -1;
	if (pid > 0)
		CHECK_EQ(jail_wait(j, pid, &st), pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHECK_EQ(r.pid, 1);
	CHECK_EQ(r.kept_open, 1);
	CHECK_EQ(r.other_closed, 1);
	CHECK_EQ(r.caps_empty, 1);
	CHECK_EQ(r.no_new_privs, 1);
	CHECK_EQ(r.bounding_empty, 1);
	CHECK_EQ(r.root_entries, 2);
	CHECK_EQ(r.bind_readonly, 1);
	CHECK_EQ(r.nofile, 60);
	CHECK(strcmp(r.hostname, "jailtest") == 0);
	jail_destroy(j);
}

/* The jailed child's exit status comes back through jail_fork's reaper. */
static void test_fork_exit_status(void)
{
	struct jail *j = full_jail();
	int st = -1;

	pid_t pid = jail_fork(j);
	if (pid == 0)
		_exit(42);
	CHECK(pid > 0);
	if (pid > 0)
		CHECK_EQ(jail_wait(j, pid, &st), pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 42);
	jail_destroy(j);
}

/* A failing setup step comes back over the pipe naming the step and errno,
 * and leaks no fd in the parent. */
static void test_setup_errors(void)
{
	struct jail *j = full_jail();
	int before = count_fds();

	CHECK_EQ(jail_bind(j, "/nonexistent/jail-src", "/x", 0), 0);
	pid_t pid = jail_fork(j);
	if (pid == 0)
		_exit(0); /* must not get here */
	CHECK_EQ(pid, -ENOENT);
	CHECK(strcmp(jail_error(j), "bind /nonexistent/jail-src: No such file or directory") == 0);
	if (t_case_failed)
		printf("  error '%s'\n", jail_error(j));
	CHECK_EQ(jail_exec_failed(j), 0);
	char *argv[] = { "/bin/true", NULL };
	CHECK_EQ(jail_run(j, argv), -ENOENT);
	CHECK(strcmp(jail_error(j), "bind /nonexistent/jail-src: No such file or directory") == 0);
	jail_destroy(j);

	/* A fd on the keep-list that is not open. */
	j = full_jail();
	CHECK_EQ(jail_keep_fd(j, 900), 0);
	CHECK_EQ(jail_run(j, argv), -EBADF);
	CHECK(strcmp(jail_error(j), "keep fd 900: Bad file descriptor") == 0);
	jail_destroy(j);

	/* exec failure is told apart from setup failure. */
	j = full_jail();
	char *missing[] = { "/no/such/program", NULL };
	CHECK_EQ(jail_run(j, missing), -ENOENT);
	CHECK_EQ(jail_exec_failed(j), 1);
	CHECK(strcmp(jail_error(j), "execve /no/such/program: No such file or directory") == 0);
	jail_destroy(j);
	CHECK_EQ(count_fds(), before);
}

/* jail_run(): fork + exec, exit status, namespaces visible to the program. */
static void test_run(void)
{
	struct jail *j = full_jail();
	char *argv[] = { "/bin/sh", "-c", "[ $$ = 1 ] && [ \"$(hostname)\" = jailtest ] && exit 7; exit 1", NULL };
	int st = -1;

	for (int fd = 0; fd < 3; fd++)
		jail_keep_fd(j, fd);
	pid_t pid = jail_run(j, argv);
	CHECK(pid > 0);
	if (pid < 0)
		printf("  jail_run: %s\n", jail_error(j));
	if (pid > 0)
		CHECK_EQ(jail_wait(j, pid, &st), pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 7);
	jail_destroy(j);
}

/* A filter that kills getppid(2) and allows the rest: the child dies of
 * SIGSYS and jail_wait() names the syscall. */
static void test_seccomp_violation(void)
{
	struct sock_filter prog[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct jail *j = jail_new();
	int st = -1;

	jail_namespace_user(j);
	jail_namespace_net(j);
	CHECK_EQ(jail_seccomp_filter(j, prog, sizeof(prog) / sizeof(prog[0])), 0);
	CHECK_EQ(jail_report_violations(j), 0);
	pid_t pid = jail_fork(j);
	if (pid == 0) {
		syscall(SYS_getppid);
		_exit(0);
	}
	CHECK(pid > 0);
	if (pid > 0)
		CHECK_EQ(jail_wait(j, pid, &st), pid);
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS);
	CHECK_EQ(jail_violation(j), SYS_getppid);
	jail_destroy(j);
}

/* The same with a pid namespace: jail_fork() returns the reaper's pid, the
 * reaper traces the jailed process and jail_wait() still names the call. */
static void test_seccomp_violation_pidns(void)
{
	struct sock_filter prog[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct jail *j = full_jail();
	int st = -1;

	CHECK_EQ(jail_seccomp_filter(j, prog, sizeof(prog) / sizeof(prog[0])), 0);
	CHECK_EQ(jail_report_violations(j), 0);
	for (int round = 0; round < 2; round++) {
		pid_t pid = jail_fork(j);
		if (pid == 0) {
			if (round == 0)
				syscall(SYS_getppid);
			_exit(9);
		}
		CHECK(pid > 0);
		if (pid < 0)
			printf("  jail_fork: %s\n", jail_error(j));
		if (pid > 0)
			CHECK_EQ(jail_wait(j, pid, &st), pid);
		if (round == 0) {
			CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS);
			CHECK_EQ(jail_violation(j), SYS_getppid);
		} else {
			/* A clean exit reports no violation. */
			CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 9);
			CHECK_EQ(jail_violation(j), -1);
		}
	}
	jail_destroy(j);
}

/* Field "Name:\t<n>" of /proc/PID/status as a number (hex for Cap*), -1
 * when missing. */
static long long proc_status(pid_t pid, const char *name, int base)
{
	char path[64], line[256];
	long long v = -1;
	size_t n = strlen(name);

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, name, n) && line[n] == ':')
			v = strtoll(line + n + 1, NULL, base);
	fclose(f);
	return v;
}

/* With a pid namespace, jail_fork() returns the reaper; the reaper holds
 * no capability, has no_new_privs and a seccomp filter, and the jailed
 * pid it reports is another process, pid 1 inside, whose SIGKILL comes
 * back through the reaper. */
static void test_fork_reaper_locked(void)
{
	struct jail *j = full_jail();
	int p[2], st = -1;
	char b;

	CHECK(j && pipe(p) == 0);
	CHECK_EQ(jail_keep_fd(j, p[0]), 0);
	pid_t pid = jail_fork(j);
	if (pid == 0) {
		ssize_t n = read(p[0], &b, 1); /* until the test kills us */
		_exit(n == 1 ? 5 : 6);
	}
	close(p[0]);
	CHECK(pid > 0);
	pid_t jailed = jail_jailed_pid(j);
	CHECK(jailed > 0 && jailed != pid);
	/* The reaper locks itself down right after releasing the child. */
	for (int i = 0; i < 200 && proc_status(pid, "Seccomp", 10) != 2; i++)
		usleep(5000);
	CHECK_EQ(proc_status(pid, "Seccomp", 10), 2);
	CHECK_EQ(proc_status(pid, "NoNewPrivs", 10), 1);
	CHECK_EQ(proc_status(pid, "CapEff", 16), 0);
	CHECK_EQ(proc_status(pid, "CapPrm", 16), 0);
	CHECK_EQ(proc_status(pid, "CapBnd", 16), 0);
	CHECK_EQ(proc_status(jailed, "Seccomp", 10), 0); /* no filter asked for */
	CHECK_EQ(proc_status(jailed, "CapEff", 16), 0);
	if (jailed > 1)
		kill(jailed, SIGKILL);
	if (pid > 0)
		CHECK_EQ(jail_wait(j, pid, &st), pid);
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	close(p[1]);
	jail_destroy(j);
}

/* No jailed process outlives its caller, even one killed by SIGKILL: a
 * middle process forks a jail and is killed; the reaper and the jailed
 * process (reparented to this test, a child subreaper) must die of
 * SIGKILL too. */
static void test_fork_dies_with_caller(void)
{
	int p[2], st = -1;
	pid_t got[2] = { -1, -1 };

	CHECK_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
	CHECK_EQ(pipe(p), 0);
	pid_t mid = fork();
	if (mid == 0) {
		struct jail *j = full_jail();
		close(p[0]);
		pid_t pid = jail_fork(j);
		if (pid == 0) {
			for (;;)
				pause();
		}
		pid_t ids[2] = { pid, jail_jailed_pid(j) };
		if (write(p[1], ids, sizeof(ids)) != (ssize_t)sizeof(ids))
			_exit(3);
		for (;;)
			pause();
	}
	close(p[1]);
	CHECK(mid > 0);
	CHECK_EQ(read(p[0], got, sizeof(got)), (long)sizeof(got));
	close(p[0]);
	CHECK(got[0] > 1 && got[1] > 1);
	if (mid > 1)
		kill(mid, SIGKILL);
	CHECK_EQ(waitpid(mid, &st, 0), mid);
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

/* jail_enter() jails the calling process (here a forked child); on a
 * request it cannot honour it aborts instead of returning half-jailed. */
static void test_enter(void)
{
	int p[2], st = -1;
	char got = 0;

	CHECK_EQ(pipe(p), 0);
	pid_t pid = fork();
	if (pid == 0) {
		struct jail *j = jail_new();
		close(p[0]);
		jail_namespace_user(j);
		jail_namespace_net(j);
		jail_keep_fd(j, p[1]);
		jail_enter(j);
		struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
		struct __user_cap_data_struct data[2];
		int ok = syscall(SYS_capget, &hdr, data) == 0 && !data[0].effective && !data[0].permitted &&
			 prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1 && fcntl(p[0], F_GETFD) < 0;
		char c = ok ? 'y' : 'n';
		if (write(p[1], &c, 1) != 1)
			_exit(3);
		_exit(0);
	}
	close(p[1]);
	CHECK(pid > 0);
	CHECK_EQ(read(p[0], &got, 1), 1);
	CHECK_EQ(got, 'y');
	close(p[0]);
	CHECK_EQ(waitpid(pid, &st, 0), pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);

	/* A pid namespace cannot be entered in place: abort, not return. */
	pid = fork();
	if (pid == 0) {
		struct jail *j = jail_new();
		int devnull = open("/dev/null", O_WRONLY);
		dup2(devnull, 2); /* keep the expected message out of the log */
		jail_namespace_pid(j);
		jail_enter(j);
		_exit(0);
	}
	CHECK(pid > 0);
	CHECK_EQ(waitpid(pid, &st, 0), pid);
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT);
}

int main(void)
{
	t_suite = "jail";
	RUN(test_setters);
	if (geteuid() != 0) {
		/* Namespaces with uid maps for root callers; CI runs as root. */
		printf("SKIP jail/namespaces: not root\n");
		return t_done();
	}
	RUN(test_fork_keep_list);
	RUN(test_fork_exit_status);
	RUN(test_fork_reaper_locked);
	RUN(test_fork_dies_with_caller);
	RUN(test_setup_errors);
	RUN(test_run);
	RUN(test_seccomp_violation);
	RUN(test_seccomp_violation_pidns);
	RUN(test_enter);
	return t_done();
}
