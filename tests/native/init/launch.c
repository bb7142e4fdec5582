/* launch ROOT: the benchmark's PID-namespace launcher. Like the suites'
 * unshare(1) pipeline, but it records CLOCK_MONOTONIC (ns) in ROOT/out/t0
 * immediately before execve("/sbin/init"), so the benchmark can measure
 * init's own exec-to-app time. Exits with the namespace init's fate:
 * 128 + signal (130 power off, 129 reboot) or its exit status. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char p[4096], q[4096];
	pid_t pid;
	int st;

	if (argc != 2) {
		fprintf(stderr, "usage: launch ROOT\n");
		return 100;
	}
	if (unshare(CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWNET | CLONE_NEWIPC |
		    CLONE_NEWCGROUP) < 0) {
		perror("unshare");
		return 111;
	}
	pid = fork();
	if (pid < 0) {
		perror("fork");
		return 111;
	}
	if (pid == 0) {
		struct timespec ts;
		char *av[] = { "/sbin/init", NULL }, *ev[] = { "TERM=linux", NULL };
		int fd;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
			_exit(111);
		snprintf(p, sizeof(p), "%s/proc", argv[1]);
		if (mount("proc", p, "proc", 0, NULL) < 0)
			_exit(111);
		snprintf(q, sizeof(q), "%s/.cmdline", argv[1]);
		snprintf(p, sizeof(p), "%s/proc/cmdline", argv[1]);
		if (mount(q, p, NULL, MS_BIND, NULL) < 0)
			_exit(111);
		snprintf(q, sizeof(q), "%s/.core_pattern", argv[1]);
		snprintf(p, sizeof(p), "%s/proc/sys/kernel/core_pattern", argv[1]);
		if (mount(q, p, NULL, MS_BIND, NULL) < 0)
			_exit(111);
		snprintf(q, sizeof(q), "%s/.printk_devkmsg", argv[1]);
		snprintf(p, sizeof(p), "%s/proc/sys/kernel/printk_devkmsg", argv[1]);
		if (mount(q, p, NULL, MS_BIND, NULL) < 0)
			_exit(111);
		if (chroot(argv[1]) < 0 || chdir("/") < 0)
			_exit(111);
		fd = open("/out/t0", O_WRONLY | O_CREAT | O_TRUNC, 0644);
		clock_gettime(CLOCK_MONOTONIC, &ts);
		dprintf(fd, "%lld\n", (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
		close(fd);
		execve(av[0], av, ev);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		;
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return WEXITSTATUS(st);
}
