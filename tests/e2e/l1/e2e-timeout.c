/* e2e-timeout SECS CMD [ARG...]: run CMD in its own session and process
 * group; if it has not exited after SECS seconds, SIGKILL the whole group (a
 * scenario's vmm and its children included, which busybox timeout would leave
 * behind) and exit 124. Otherwise exit with CMD's status (128+N for signal N).
 * Runs as a tool inside the nested L1 machine and on hosts with vmx/svm. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t timed_out;

static void on_alarm(int sig)
{
	(void)sig;
	timed_out = 1;
}

static int status_code(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return 1;
}

int main(int argc, char **argv)
{
	char *end;
	unsigned long secs;
	pid_t pid;
	int st;

	if (argc < 3) {
		fprintf(stderr, "usage: e2e-timeout SECS CMD [ARG...]\n");
		return 2;
	}
	errno = 0;
	secs = strtoul(argv[1], &end, 10);
	if (errno || *end || end == argv[1] || secs == 0 || secs > 86400) {
		fprintf(stderr, "e2e-timeout: '%s': not a number of seconds in 1..86400\n", argv[1]);
		return 2;
	}
	pid = fork();
	if (pid < 0) {
		perror("e2e-timeout: fork");
		return 1;
	}
	if (pid == 0) {
		setsid();
		execvp(argv[2], argv + 2);
		fprintf(stderr, "e2e-timeout: %s: %s\n", argv[2], strerror(errno));
		_exit(127);
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;   /* no SA_RESTART: waitpid must see EINTR */
	sigaction(SIGALRM, &sa, NULL);
	alarm((unsigned)secs);
	for (;;) {
		pid_t r = waitpid(pid, &st, 0);
		if (r == pid)
			break;
		if (r < 0 && errno == EINTR && timed_out) {
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
				;
			/* Reap what else of the group was ours to wait for (none
			 * normally: the grandchildren are reparented to init). */
			return 124;
		}
		if (r < 0 && errno != EINTR) {
			perror("e2e-timeout: waitpid");
			return 1;
		}
	}
	alarm(0);
	/* The scenario is done; whatever it left running in its group goes. */
	kill(-pid, SIGKILL);
	return status_code(st);
}
