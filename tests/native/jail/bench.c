/* Jail creation benchmark (scripts/bench/jail.sh): time from jail_fork()
 * or jail_run() to the jailed child running its first instruction of user
 * code, for several configurations; prints min / median / mean / max.
 *
 *   jail-bench [ITERATIONS]            (needs root)
 *   jail-bench --child FD              (internal: jail_run's program)
 *
 * "ready" is measured with a kept pipe: the child writes one byte as soon
 * as it runs (after seccomp is installed); the parent's clock stops when
 * that byte arrives. Reaping is timed apart. */
#include "jail/jail.h"
#include "seccomp-bpf/scbpf.h"
#include "seccomp-bpf/scbpf_policy.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { CFG_PLAIN_FORK, CFG_FORK_NS, CFG_FORK_FULL_NONET, CFG_FORK_FULL, CFG_RUN_FULL, CFG_COUNT };

static const char *const cfg_names[CFG_COUNT] = {
	"fork() + pipe, no jail (baseline)",
	"jail_fork: user+pid+mount+ipc+uts ns",
	"jail_fork: full jail, no net ns",
	"jail_fork: full jail (issue target)",
	"jail_run:  full jail + exec",
};

/* Device-like policy: what the child and a small device need. */
static const char bench_policy[] =
	"read: 1\nwrite: 1\nclose: 1\nexit_group: 1\nexit: 1\nfutex: 1\nepoll_wait: 1\nepoll_ctl: 1\n"
	"ppoll: 1\nrecvmsg: 1\nsendmsg: 1\nmmap: arg2 in ~PROT_EXEC\nmunmap: 1\nbrk: 1\n"
	"rt_sigreturn: 1\nrt_sigprocmask: 1\nexecve: 1\narch_prctl: 1\nset_tid_address: 1\n"
	"ioctl: arg1 == KVM_RUN || arg1 == FIONBIO\nfcntl: 1\nprctl: 1\n";

static double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int bench_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* This binary's path: bound into the jail as /bench for jail_run. */
static char bench_self[4096];

static struct jail *bench_jail(int cfg, int keep, const struct sock_filter *prog, int n)
{
	struct jail *j = jail_new();

	if (!j)
		return NULL;
	jail_keep_fd(j, keep);
	jail_namespace_user(j);
	jail_namespace_pid(j);
	jail_namespace_ipc(j);
	jail_namespace_uts(j, "bench");
	if (cfg == CFG_FORK_NS)
		return j;
	if (cfg != CFG_FORK_FULL_NONET)
		jail_namespace_net(j);
	jail_namespace_cgroup(j);
	jail_bind(j, "/lib", "/lib", 0);
	jail_bind(j, "/usr", "/usr", 0);
	jail_bind(j, bench_self, "/bench", 0);
	jail_rlimit(j, RLIMIT_NOFILE, 64, 64);
	jail_seccomp_filter(j, prog, (size_t)n);
	return j;
}

/* One measured run: ms until ready into *ready, reap time into *reap. */
static int bench_once(int cfg, const struct sock_filter *prog, int n, double *ready, double *reap)
{
	int p[2], st;
	char b, fdarg[16];
	pid_t pid;

	if (pipe(p) < 0)
		return -errno;
	struct jail *j = cfg == CFG_PLAIN_FORK ? NULL : bench_jail(cfg, p[1], prog, n);
	double t0 = bench_now();
	if (cfg == CFG_PLAIN_FORK) {
		pid = fork();
	} else if (cfg == CFG_RUN_FULL) {
		snprintf(fdarg, sizeof(fdarg), "%d", p[1]);
		char *argv[] = { "/bench", "--child", fdarg, NULL };
		pid = jail_run(j, argv);
	} else {
		pid = jail_fork(j);
	}
	if (pid == 0) {
		ssize_t w = write(p[1], "r", 1);
		_exit(w == 1 ? 0 : 1);
	}
	close(p[1]);
	if (pid < 0) {
		fprintf(stderr, "jail-bench: %s: %s\n", cfg_names[cfg], j ? jail_error(j) : strerror(-pid));
		close(p[0]);
		jail_destroy(j);
		return pid;
	}
	ssize_t r = read(p[0], &b, 1);
	double t1 = bench_now();
	close(p[0]);
	if (j)
		jail_wait(j, pid, &st);
	else
		waitpid(pid, &st, 0);
	double t2 = bench_now();
	jail_destroy(j);
	if (r != 1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "jail-bench: %s: child did not report (status %#x)\n", cfg_names[cfg], st);
		return -EIO;
	}
	*ready = t1 - t0;
	*reap = t2 - t1;
	return 0;
}

int main(int argc, char **argv)
{
	static struct sock_filter prog[SCBPF_MAX_INSNS];
	struct scbpf_policy p;
	struct scbpf_policy_err err;
	int iters = 200, n;

	if (argc == 3 && !strcmp(argv[1], "--child")) {
		ssize_t w = write(atoi(argv[2]), "r", 1);
		return w == 1 ? 0 : 1;
	}
	if (argc == 2)
		iters = atoi(argv[1]);
	if (iters < 1 || iters > 100000) {
		fprintf(stderr, "jail-bench: ITERATIONS must be 1..100000\n");
		return 2;
	}
	ssize_t l = readlink("/proc/self/exe", bench_self, sizeof(bench_self) - 1);
	if (l <= 0) {
		fprintf(stderr, "jail-bench: cannot find its own binary\n");
		return 1;
	}
	bench_self[l] = 0;
	scbpf_policy_init(&p);
	if (scbpf_policy_parse_buf(&p, "bench.policy", bench_policy, sizeof(bench_policy) - 1, NULL, NULL, &err) < 0 ||
	    (n = scbpf_compile(&p, prog, SCBPF_MAX_INSNS, &err)) < 0) {
		fprintf(stderr, "jail-bench: %s\n", err.msg);
		return 1;
	}
	scbpf_policy_free(&p);
	double *ready = calloc((size_t)iters, sizeof(double)), *reap = calloc((size_t)iters, sizeof(double));
	if (!ready || !reap)
		return 1;
	printf("time to create and enter a jail, %d runs each (ms; target <= 2 ms for the full jail):\n", iters);
	printf("  %-40s %7s %7s %7s %7s   %s\n", "configuration", "min", "median", "mean", "max", "reap (median)");
	for (int cfg = 0; cfg < CFG_COUNT; cfg++) {
		double sum = 0;
		/* One untimed warm-up run (page cache, first-use allocations). */
		if (bench_once(cfg, prog, n, &ready[0], &reap[0]) < 0)
			return 1;
		for (int i = 0; i < iters; i++) {
			if (bench_once(cfg, prog, n, &ready[i], &reap[i]) < 0)
				return 1;
			sum += ready[i];
		}
		qsort(ready, (size_t)iters, sizeof(double), bench_cmp);
		qsort(reap, (size_t)iters, sizeof(double), bench_cmp);
		printf("  %-40s %7.3f %7.3f %7.3f %7.3f   %.3f\n", cfg_names[cfg], ready[0], ready[iters / 2],
		       sum / iters, ready[iters - 1], reap[iters / 2]);
	}
	free(ready);
	free(reap);
	return 0;
}
