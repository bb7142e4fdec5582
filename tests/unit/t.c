#include "tests/unit/t.h"
#include <stdio.h>

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
