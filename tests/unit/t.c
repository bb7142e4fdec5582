#include "tests/unit/t.h"
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

int t_case_failed;
const char *t_suite = "unit";
static int t_failures;

void t_run(const char *name, void (*fn)(void))
{
	t_case_failed = 0;
	fflush(stdout);
	fn();
	printf("%s %s/%s\n", t_case_failed ? "FAIL" : "PASS", t_suite, name);
	fflush(stdout);
	t_failures += t_case_failed;
}

int t_done(void)
{
	return t_failures ? 1 : 0;
}

int t_pid_gone_within(pid_t pid, int ms)
{
	for (int t = 0; t <= ms; t += 5) {
		int st;
		pid_t r = waitpid(pid, &st, WNOHANG | __WALL);
		if (r == pid || (r < 0 && kill(pid, 0) < 0 && errno == ESRCH))
			return 1;
		usleep(5000);
	}
	return 0;
}
