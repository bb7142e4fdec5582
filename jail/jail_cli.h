/* Command line of build/jail (minijail0's option letters where they exist):
 *
 *   jail [-U] [-p] [-v] [-e] [-l] [-N] [-n] [-d] [--uts[=HOST]] [-u UID] [-g GID]
 *        [-b SRC[,DST[,rw]]]... [-R RES,CUR,MAX]... [-k FD]... [-S POLICY]
 *        [--no-report] [--] PROG [ARGS...]
 *
 * Parsing is kept apart from main() so unit tests can feed it bad input. */
#ifndef APPVM_JAIL_JAIL_CLI_H
#define APPVM_JAIL_JAIL_CLI_H
#include "jail/jail.h"

/* Exit codes of build/jail for its own failures; anything else is the
 * jailed program's status (128 + N when killed by signal N). */
#define JAIL_EXIT_USAGE 125     /* bad option or argument */
#define JAIL_EXIT_POLICY 124    /* -S POLICY does not parse or compile */
#define JAIL_EXIT_SETUP 123     /* a sandbox setup step failed */
#define JAIL_EXIT_NOEXEC 126    /* PROG found but not executable */
#define JAIL_EXIT_NOTFOUND 127  /* PROG not found inside the jail */

struct jail_cli {
	char **argv;          /* PROG ARGS..., NULL-terminated (points into argv) */
	const char *policy;   /* -S */
	int report;           /* name the syscall of a seccomp kill (default on) */
	int help;
};

/* Parse argc/argv into c and the setters of j. Returns 0, or -EINVAL with a
 * one-line message in err naming the bad argument. */
int jail_cli_parse(struct jail_cli *c, struct jail *j, int argc, char **argv, char *err, size_t errlen);
/* The usage text. */
const char *jail_cli_usage(void);
#endif
