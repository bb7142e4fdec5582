/* ctxsw: what one hand-off between two tasks costs, between two threads of
 * one process and between two processes (scripts/bench/sandbox.sh).
 *
 *   ctxsw [ROUNDS]      (default 20000)
 *
 * Two tasks pinned to the same CPU pass a byte back and forth over two
 * pipes ROUNDS times, so every hand-off is a context switch; prints
 * "thread_ns=N process_ns=N" (nanoseconds per round trip, i.e. two
 * switches and four pipe calls; best of 3). Why: a jailed virtio device
 * is a process of its own, so every wake-up between it and vmm's vCPU
 * thread switches address spaces, while a device thread
 * (--disable-sandbox) shares vmm's. On hardware with PCID that costs
 * little; under QEMU's TCG every CR3 load empties the emulated TLB, which
 * makes the nested machine's sandbox-vs-threads ratios a worst case. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct pair {
	int ab[2], ba[2];  /* a -> b, b -> a */
	long rounds;
};

static int pin0(void)
{
	cpu_set_t s;

	CPU_ZERO(&s);
	CPU_SET(0, &s);
	return sched_setaffinity(0, sizeof(s), &s);
}

/* b: echo every byte back. */
static void *echo(void *arg)
{
	struct pair *p = arg;
	char c;

	pin0();
	for (long i = 0; i < p->rounds; i++)
		if (read(p->ab[0], &c, 1) != 1 || write(p->ba[1], &c, 1) != 1)
			break;
	return NULL;
}

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* One measurement: ns per round trip, or 0 on failure. */
static uint64_t run(long rounds, int processes)
{
	struct pair p = { .rounds = rounds };
	pthread_t t;
	pid_t pid = -1;
	uint64_t t0, t1;
	char c = 'x';
	long i;

	if (pipe(p.ab) || pipe(p.ba))
		return 0;
	if (processes) {
		pid = fork();
		if (pid < 0)
			return 0;
		if (pid == 0) {
			echo(&p);
			_exit(0);
		}
	} else if (pthread_create(&t, NULL, echo, &p)) {
		return 0;
	}
	t0 = now_ns();
	for (i = 0; i < rounds; i++)
		if (write(p.ab[1], &c, 1) != 1 || read(p.ba[0], &c, 1) != 1)
			break;
	t1 = now_ns();
	if (processes)
		waitpid(pid, NULL, 0);
	else
		pthread_join(t, NULL);
	close(p.ab[0]);
	close(p.ab[1]);
	close(p.ba[0]);
	close(p.ba[1]);
	return i == rounds ? (t1 - t0) / (uint64_t)rounds : 0;
}

int main(int argc, char **argv)
{
	long rounds = argc > 1 ? atol(argv[1]) : 20000;
	uint64_t best[2] = { 0, 0 };

	if (rounds <= 0) {
		fprintf(stderr, "ctxsw: ROUNDS '%s': not a positive number\n", argv[1]);
		return 2;
	}
	if (pin0()) {
		perror("ctxsw: sched_setaffinity");
		return 1;
	}
	for (int k = 0; k < 3; k++)
		for (int m = 0; m < 2; m++) {
			uint64_t ns = run(rounds, m);
			if (!ns) {
				fprintf(stderr, "ctxsw: a %s round failed\n", m ? "process" : "thread");
				return 1;
			}
			if (!best[m] || ns < best[m])
				best[m] = ns;
		}
	printf("thread_ns=%llu process_ns=%llu\n", (unsigned long long)best[0], (unsigned long long)best[1]);
	return 0;
}
