/* Run a unit-test case in a forked child inside a fresh network namespace
 * (unshare(CLONE_NEWNET), needs root): no host interface is ever seen or
 * touched. The case fails when the child's checks did. */
#ifndef TESTS_UNIT_NETNS_H
#define TESTS_UNIT_NETNS_H
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/unit/t.h"

static inline void in_netns(void (*fn)(void))
{
	pid_t pid;
	int st = 0;

	fflush(stdout);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		alarm(30);
		if (unshare(CLONE_NEWNET) < 0) {
			printf("  unshare(CLONE_NEWNET): %s\n", strerror(errno));
			_exit(1);
		}
		fn();
		fflush(stdout);
		_exit(t_case_failed);
	}
	CHECK_EQ(waitpid(pid, &st, 0), pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

#define NS(fn) static void ns_##fn(void) { in_netns(fn); }
#endif
