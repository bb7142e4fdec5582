/* crashme segv|abort: crash on purpose for crash_collector's e2e scenario
 * (tests/e2e/scenarios/agent_crash.sh). segv stores to address 0x10
 * (SIGSEGV, SEGV_MAPERR, si_addr 0x10); abort calls abort() (SIGABRT).
 * RLIMIT_CORE is raised first, so a core is written whatever the limit
 * inherited from init. Exit 2 on bad arguments. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

/* Read at run time, so the compiler cannot see the store is bad. */
static volatile uintptr_t crashme_addr = 0x10;

int main(int argc, char **argv)
{
	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };

	if (argc != 2 || (strcmp(argv[1], "segv") && strcmp(argv[1], "abort"))) {
		fprintf(stderr, "usage: crashme segv|abort\n");
		return 2;
	}
	setrlimit(RLIMIT_CORE, &rl);
	if (!strcmp(argv[1], "abort"))
		abort();
	*(volatile int *)crashme_addr = 1;
	return 1;
}
