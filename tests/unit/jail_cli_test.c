/* build/jail's option parser: accepted command lines and one case per kind
 * of bad input, each with its exact one-line message. */
#include "jail/jail.h"
#include "jail/jail_cli.h"
#include "tests/unit/t.h"
#include <errno.h>
#include <string.h>

/* Parse a NULL-terminated argument list; returns jail_cli_parse's result. */
static int parse(struct jail_cli *c, char *err, size_t len, char **args)
{
	int argc = 0;
	struct jail *j = jail_new();
	int r;

	while (args[argc])
		argc++;
	r = jail_cli_parse(c, j, argc, args, err, len);
	jail_destroy(j);
	return r;
}

static void expect_error(char **args, const char *msg)
{
	struct jail_cli c;
	char err[512];

	CHECK_EQ(parse(&c, err, sizeof(err), args), -EINVAL);
	if (strcmp(err, msg)) {
		printf("  got '%s'\n  expected '%s'\n", err, msg);
		t_case_failed = 1;
	}
}

static void test_accepts(void)
{
	struct jail_cli c;
	char err[512];
	char *a1[] = { "jail", "-U", "-p", "-v", "-e", "-l", "-N", "-n", "--uts=box", "-u", "1000", "-g", "1000",
		       "-b", "/lib", "-b", "/tmp,/scratch,rw", "-b", "/usr,/usr,ro", "-R", "NOFILE,64,128",
		       "-R", "RLIMIT_AS,unlimited,unlimited", "-k", "5", "-S", "x.policy", "--", "/bin/prog",
		       "-p", "arg", NULL };

	CHECK_EQ(parse(&c, err, sizeof(err), a1), 0);
	CHECK(c.argv && !strcmp(c.argv[0], "/bin/prog") && !strcmp(c.argv[1], "-p") && !strcmp(c.argv[2], "arg") &&
	      !c.argv[3]);
	CHECK(c.policy && !strcmp(c.policy, "x.policy"));
	CHECK_EQ(c.report, 1);
	CHECK_EQ(c.help, 0);

	/* The first non-option ends the options (no "--" needed). */
	char *a2[] = { "jail", "--no-report", "prog", "-U", NULL };
	CHECK_EQ(parse(&c, err, sizeof(err), a2), 0);
	CHECK(!strcmp(c.argv[0], "prog") && !strcmp(c.argv[1], "-U"));
	CHECK_EQ(c.report, 0);
	CHECK(c.policy == NULL);

	char *a3[] = { "jail", "-h", NULL };
	CHECK_EQ(parse(&c, err, sizeof(err), a3), 0);
	CHECK_EQ(c.help, 1);
	CHECK(strstr(jail_cli_usage(), "-S POLICY") != NULL);
}

static void test_errors(void)
{
	char *e1[] = { "jail", NULL };
	expect_error(e1, "missing PROG");
	char *e2[] = { "jail", "-x", "prog", NULL };
	expect_error(e2, "unknown option '-x'");
	char *e3[] = { "jail", "--bogus", "prog", NULL };
	expect_error(e3, "unknown option '--bogus'");
	char *e4[] = { "jail", "-u", NULL };
	expect_error(e4, "option '-u' needs an argument");
	char *e5[] = { "jail", "-u", "root", "prog", NULL };
	expect_error(e5, "-u 'root': expected a number 0..4294967294");
	char *e6[] = { "jail", "-g", "4294967295", "prog", NULL };
	expect_error(e6, "-g '4294967295': expected a number 0..4294967294");
	char *e7[] = { "jail", "-b", "lib", "prog", NULL };
	expect_error(e7, "-b 'lib': source must be an absolute path");
	char *e8[] = { "jail", "-b", "/lib,/a/../b", "prog", NULL };
	expect_error(e8, "-b '/lib,/a/../b': destination must be absolute, without '.' or '..'");
	char *e9[] = { "jail", "-b", "/lib,/lib,yes", "prog", NULL };
	expect_error(e9, "-b '/lib,/lib,yes': bad flag 'yes' (rw or ro)");
	char *e10[] = { "jail", "-R", "NOFILE,64", "prog", NULL };
	expect_error(e10, "-R 'NOFILE,64': expected RES,CUR,MAX");
	char *e11[] = { "jail", "-R", "FILES,1,2", "prog", NULL };
	expect_error(e11, "-R 'FILES,1,2': unknown resource 'FILES'");
	char *e12[] = { "jail", "-R", "NOFILE,x,2", "prog", NULL };
	expect_error(e12, "-R 'NOFILE,x,2': bad soft limit 'x'");
	char *e13[] = { "jail", "-R", "NOFILE,3,99999999999999999999999", "prog", NULL };
	expect_error(e13, "-R 'NOFILE,3,99999999999999999999999': bad hard limit '99999999999999999999999'");
	char *e14[] = { "jail", "-R", "NOFILE,9,2", "prog", NULL };
	expect_error(e14, "-R 'NOFILE,9,2': soft limit above hard limit");
	char *e15[] = { "jail", "-k", "-1", "prog", NULL };
	expect_error(e15, "-k '-1': expected a file descriptor number");
	char *e16[] = { "jail", "-S", "a", "-S", "b", "prog", NULL };
	expect_error(e16, "-S given twice ('a', 'b')");
	char *e17[] = { "jail", "--uts=0123456789012345678901234567890123456789012345678901234567890123456789",
			"prog", NULL };
	expect_error(e17, "--uts: bad hostname '0123456789012345678901234567890123456789012345678901234567890123456789' (1..64 bytes)");
	char *e18[] = { "jail", "-pU", "prog", NULL };
	expect_error(e18, "unknown option '-pU'");
	/* More binds than the jail holds. */
	char *many[2 + 2 * (JAIL_MAX_BINDS + 1) + 2];
	int n = 0;
	many[n++] = "jail";
	for (int i = 0; i <= JAIL_MAX_BINDS; i++) {
		many[n++] = "-b";
		many[n++] = "/lib";
	}
	many[n++] = "prog";
	many[n] = NULL;
	expect_error(many, "-b '/lib': more than 32 binds");
}

int main(void)
{
	t_suite = "jail_cli";
	RUN(test_accepts);
	RUN(test_errors);
	return t_done();
}
