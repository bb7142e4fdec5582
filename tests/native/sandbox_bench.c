/* Device-process benchmark for scripts/bench/jail.sh (issue 11): the
 * start-up cost of sandbox_spawn() (call -> the jailed device body runs
 * and answers on its socketpair) and of sandbox_kill() (SIGKILL -> reaped),
 * and the private memory of a device process and of its reaper, forked
 * from a VMM-like parent holding 256 MiB of touched shared guest RAM (a
 * memfd, as vmm/gm.c) and 32 MiB of touched private heap. Numbers for
 * docs/BENCHMARKS.md; nothing is enforced. Root (namespaces).
 *
 *   sandbox-bench [RUNS]      (default 200) */
#include "vmm/sandbox.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

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

/* Private_Clean + Private_Dirty of pid in KiB (smaps_rollup), -1 if gone. */
static long bench_private_kib(pid_t pid)
{
	char path[64], line[256];
	long sum = -1, v;

	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Private_Clean: %ld kB", &v) == 1 || sscanf(line, "Private_Dirty: %ld kB", &v) == 1)
			sum = (sum < 0 ? 0 : sum) + v;
	fclose(f);
	return sum;
}

/* The device body: answer once, then wait like an idle device. */
static int bench_body(void *arg, int sock)
{
	(void)arg;
	if (syscall(SYS_write, sock, "r", 1) != 1)
		return 3;
	while (syscall(SYS_poll, NULL, 0, -1) >= 0 || errno == EINTR)
		;
	return 4;
}

int main(int argc, char **argv)
{
	int runs = argc == 2 ? atoi(argv[1]) : 200;
	size_t ram = 256u << 20, heap = 32u << 20;

	if (runs < 1 || runs > 100000) {
		fprintf(stderr, "sandbox-bench: RUNS must be 1..100000\n");
		return 2;
	}
	int memfd = (int)syscall(SYS_memfd_create, "bench-ram", 1u /* MFD_CLOEXEC */);
	char *g = memfd < 0 || ftruncate(memfd, (off_t)ram) < 0 ? MAP_FAILED :
		  mmap(NULL, ram, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	char *h = malloc(heap);
	if (g == MAP_FAILED || !h) {
		fprintf(stderr, "sandbox-bench: guest RAM / heap: %s\n", strerror(errno));
		return 1;
	}
	memset(g, 1, ram);
	memset(h, 2, heap);
	double *start = calloc((size_t)runs, sizeof(double)), *stop = calloc((size_t)runs, sizeof(double));
	double *dev_kib = calloc((size_t)runs, sizeof(double)), *reaper_kib = calloc((size_t)runs, sizeof(double));
	if (!start || !stop || !dev_kib || !reaper_kib)
		return 1;
	for (int i = -1; i < runs; i++) { /* run -1: untimed warm-up */
		struct sandbox_config c;
		struct sandbox_proc p;
		char err[600], b;
		sandbox_config_init(&c, "virtio-blk", "virtio_blk");
		sandbox_config_keep(&c, memfd);
		double t0 = bench_now();
		if (sandbox_spawn(&c, bench_body, NULL, &p, err, sizeof(err)) < 0 || read(p.sock, &b, 1) != 1) {
			fprintf(stderr, "sandbox-bench: %s\n", err);
			return 1;
		}
		double t1 = bench_now();
		long dk = bench_private_kib(p.pid), rk = bench_private_kib(p.reaper);
		double t2 = bench_now();
		sandbox_kill(&p, NULL, 0);
		double t3 = bench_now();
		sandbox_release(&p);
		if (i >= 0) {
			start[i] = t1 - t0;
			stop[i] = t3 - t2;
			dev_kib[i] = (double)dk;
			reaper_kib[i] = (double)rk;
		}
	}
	qsort(start, (size_t)runs, sizeof(double), bench_cmp);
	qsort(stop, (size_t)runs, sizeof(double), bench_cmp);
	qsort(dev_kib, (size_t)runs, sizeof(double), bench_cmp);
	qsort(reaper_kib, (size_t)runs, sizeof(double), bench_cmp);
	printf("device processes (virtio_blk policy, full jail), %d runs, parent with %zu MiB shared guest RAM"
	       " + %zu MiB heap touched:\n", runs, ram >> 20, heap >> 20);
	printf("  %-34s %8s %8s %8s\n", "", "min", "median", "max");
	printf("  %-34s %8.3f %8.3f %8.3f\n", "sandbox_spawn -> body runs (ms)", start[0], start[runs / 2], start[runs - 1]);
	printf("  %-34s %8.3f %8.3f %8.3f\n", "sandbox_kill -> reaped (ms)", stop[0], stop[runs / 2], stop[runs - 1]);
	printf("  %-34s %8.0f %8.0f %8.0f\n", "device private RSS (KiB)", dev_kib[0], dev_kib[runs / 2], dev_kib[runs - 1]);
	printf("  %-34s %8.0f %8.0f %8.0f\n", "reaper private RSS (KiB)", reaper_kib[0], reaper_kib[runs / 2],
	       reaper_kib[runs - 1]);
	return 0;
}
