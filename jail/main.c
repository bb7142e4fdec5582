/* build/jail: run a program in a sandbox built by jail/ (like minijail0).
 * Options and exit codes in jail_cli.h / jail_cli_usage(). */
#include "jail/jail.h"
#include "jail/jail_cli.h"
#include "seccomp-bpf/scbpf.h"
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

/* The jailed child, for the forwarding handler (a signal flag in spirit:
 * written once before the handlers are installed). Always > 0 when read. */
static volatile sig_atomic_t jail_main_child;
/* Signals forwarded so far. */
static volatile sig_atomic_t jail_main_nsig;

/* Forward a terminating signal to our own child only. The program may be
 * pid 1 of its namespace, which ignores signals it has no handler for:
 * the second one becomes SIGKILL, which pid 1 cannot refuse from outside
 * its namespace (pid_namespaces(7)). */
static void jail_main_forward(int sig)
{
	pid_t pid = (pid_t)jail_main_child;

	if (++jail_main_nsig >= 2)
		sig = SIGKILL;
	if (pid > 1)
		kill(pid, sig);
}

int main(int argc, char **argv)
{
	static const int fwd[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };
	struct jail *j = jail_new();
	struct jail_cli cli;
	char err[512];
	int st, r;
	pid_t pid;

	if (!j) {
		fprintf(stderr, "jail: out of memory\n");
		return JAIL_EXIT_SETUP;
	}
	if (jail_cli_parse(&cli, j, argc, argv, err, sizeof(err)) < 0) {
		fprintf(stderr, "jail: %s (jail -h for usage)\n", err);
		return JAIL_EXIT_USAGE;
	}
	if (cli.help) {
		fputs(jail_cli_usage(), stdout);
		return 0;
	}
	if (cli.policy) {
		r = jail_seccomp_policy(j, cli.policy, err, sizeof(err));
		if (r == -EINVAL) {
			fprintf(stderr, "jail: %s\n", err);
			return JAIL_EXIT_POLICY;
		}
		if (r < 0) {
			fprintf(stderr, "jail: -S %s: %s\n", cli.policy, strerror(-r));
			return JAIL_EXIT_POLICY;
		}
		if (cli.report)
			jail_report_violations(j);
	}
	fflush(NULL);
	pid = jail_run(j, cli.argv);
	if (pid < 0) {
		fprintf(stderr, "jail: %s\n", jail_error(j));
		if (jail_exec_failed(j))
			return pid == -ENOENT ? JAIL_EXIT_NOTFOUND : JAIL_EXIT_NOEXEC;
		return JAIL_EXIT_SETUP;
	}
	jail_main_child = pid;
	for (size_t i = 0; i < sizeof(fwd) / sizeof(fwd[0]); i++) {
		struct sigaction sa = { .sa_handler = jail_main_forward };
		sigemptyset(&sa.sa_mask);
		sigaction(fwd[i], &sa, NULL);
	}
	if ((r = jail_wait(j, pid, &st)) < 0) {
		fprintf(stderr, "jail: wait for %s: %s\n", cli.argv[0], strerror(-r));
		return JAIL_EXIT_SETUP;
	}
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WTERMSIG(st) == SIGSYS) {
		int nr = jail_violation(j);
		const char *name = nr >= 0 ? scbpf_syscall_name(nr) : NULL;
		if (name)
			fprintf(stderr, "jail: %s killed by seccomp: syscall %s (%d) not allowed\n", cli.argv[0],
				name, nr);
		else if (nr >= 0)
			fprintf(stderr, "jail: %s killed by seccomp: syscall %d not allowed\n", cli.argv[0], nr);
		else
			fprintf(stderr, "jail: %s killed by SIGSYS\n", cli.argv[0]);
	}
	return 128 + WTERMSIG(st);
}
