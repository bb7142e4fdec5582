/* vm_syslog -> vmm log endpoint pipeline benchmark (scripts/bench/agents.sh,
 * docs/BENCHMARKS.md). Runs the real agent loop (vsl_run, in a child) and
 * vmm's real endpoint (logsvc + svcdir, file sink) on this host, joined by
 * the unix socket vmm's vsock device would forward to (no VM: the vsock hop
 * is measured by scripts/bench/vsock.sh).
 *   1. sustained rate: one sender writes N records to the agent's /dev/log
 *      as fast as it accepts them (blocking sends: the agent's socket
 *      pushes back); records/s until the last one is in the host file, and
 *      a check that all N arrived (0 lost, no loss notice);
 *   2. latency: one record at a time, send -> its line in the host file,
 *      p50/p99, with the default 50 ms flush timer and with --flush-ms 0.
 *   syslog_bench [N [latency_samples]]   (defaults 100000 200) */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "guest-agents/vm_syslog/vm_syslog.h"
#include "vmm/services/logsvc.h"
#include "vmm/services/svcdir.h"

static char dir[64], devlog[96], hostlog[96];

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static pid_t agent(const char *ep, unsigned flush_ms)
{
	pid_t pid;

	unlink(devlog);
	pid = fork();
	if (pid == 0) {
		struct vsl_opts o;
		sigset_t ss;
		for (int fd = 3; fd < 1024; fd++)
			close(fd);
		vsl_opts_default(&o);
		o.socket_path = devlog;
		o.kmsg_path = NULL;
		o.jail = false;
		o.flush_ms = flush_ms;
		setenv("AGENT_UNIX", ep, 1);
		sigemptyset(&ss);
		sigaddset(&ss, SIGTERM);
		sigprocmask(SIG_BLOCK, &ss, NULL);
		_exit(vsl_run(&o) < 0);
	}
	while (access(devlog, F_OK) < 0)
		usleep(1000);
	return pid;
}

static int sender(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_DGRAM, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", devlog);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror(devlog);
		exit(1);
	}
	return fd;
}

/* Count of lines holding "rec-" and whether a loss notice is there. */
static long count_lines(int *lost)
{
	char buf[65536];
	long n = 0;
	int fd = open(hostlog, O_RDONLY);
	ssize_t r;
	char prev = 0;

	*lost = 0;
	if (fd < 0)
		return 0;
	while ((r = read(fd, buf, sizeof(buf))) > 0)
		for (ssize_t i = 0; i < r; i++) {
			if (buf[i] == '\n')
				n++;
			if (prev == ' ' && buf[i] == 'l' && i + 5 < r && !memcmp(buf + i, "lost ", 5))
				*lost = 1;
			prev = buf[i];
		}
	close(fd);
	return n;
}

static off_t fsize(void)
{
	struct stat st;

	return stat(hostlog, &st) == 0 ? st.st_size : 0;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void latency(const char *ep, unsigned flush_ms, int samples)
{
	double *t = calloc((size_t)samples, sizeof(double));
	pid_t pid = agent(ep, flush_ms);
	int fd = sender(), st;

	for (int i = 0; i < samples; i++) {
		char m[64];
		off_t before = fsize();
		int n = snprintf(m, sizeof(m), "<14>bench: lat-%d", i);
		double t0 = now_s();
		if (send(fd, m, (size_t)n, 0) != n)
			exit(1);
		/* The record is in the file once the file grew by its line. */
		while (fsize() == before)
			;
		t[i] = (now_s() - t0) * 1e3;
	}
	qsort(t, (size_t)samples, sizeof(double), cmp);
	printf("logger -> host file latency, flush timer %u ms: p50 %.2f ms, p99 %.2f ms (%d samples)\n", flush_ms,
	       t[samples / 2], t[samples * 99 / 100], samples);
	close(fd);
	kill(pid, SIGTERM);
	waitpid(pid, &st, 0);
	free(t);
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 100000;
	int samples = argc > 2 ? atoi(argv[2]) : 200, lost, fd, st;
	struct vmm_config cfg = { .syslog = SYSLOG_FILE };
	struct svcdir *d;
	struct logsvc *l;
	char ep[160];
	double t0, t1;
	pid_t pid;

	snprintf(dir, sizeof(dir), "/tmp/syslog_bench_XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	snprintf(devlog, sizeof(devlog), "%s/log", dir);
	snprintf(hostlog, sizeof(hostlog), "%s/host.log", dir);
	cfg.syslog_path = hostlog;
	setenv("XDG_RUNTIME_DIR", dir, 1);
	if (logsvc_open(&l, &cfg, "bench") || svcdir_open(&d) || svcdir_listen(d, 9002, logsvc_serve, l))
		return 1;
	snprintf(ep, sizeof(ep), "%s/9002", svcdir_path(d));

	pid = agent(ep, 50);
	fd = sender();
	t0 = now_s();
	for (long i = 0; i < n; i++) {
		char m[96];
		int k = snprintf(m, sizeof(m), "<14>bench[1]: rec-%08ld payload payload payload", i);
		if (send(fd, m, (size_t)k, 0) != k) {
			perror("send");
			return 1;
		}
	}
	t1 = now_s();
	while (count_lines(&lost) < n && now_s() - t1 < 120)
		usleep(10000);
	printf("sustained: %ld records (64-byte messages) in %.2f s = %.0f records/s, sender done after %.2f s; "
	       "%ld arrived, %s\n", n, now_s() - t0, n / (now_s() - t0), t1 - t0, count_lines(&lost),
	       lost ? "LOSS NOTICE PRESENT" : "0 lost");
	close(fd);
	kill(pid, SIGTERM);
	waitpid(pid, &st, 0);
	unlink(hostlog);
	latency(ep, 50, samples);
	unlink(hostlog);
	latency(ep, 0, samples);
	svcdir_close(d);
	logsvc_close(l);
	unlink(hostlog);
	unlink(devlog);
	rmdir(dir);
	return 0;
}
