/* `vmm sh` (vmm/vshcmd.c) against a control socket whose guest is a real
 * vshd session (tests/unit/ctl_fake.h), run in a child process with its
 * stdio on pipes or on a real PTY: streams apart, stdin EOF, the remote
 * status as the exit status, window size at start and on SIGWINCH, the
 * terminal restored after raw mode, SIGTERM forwarded, and the give-up
 * after a forwarded SIGTERM that nothing acts on. No KVM. */
#include "tests/unit/t.h"
#include "tests/unit/ctl_fake.h"
#include "proto/vsh.h"
#include "vmm/ctlcmd.h"
#include "vmm/vshcmd.h"

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>

static struct fake_vm f;

/* The child: stdio from the given fds, then vmm sh. */
static pid_t run_sh(int in, int out, int err, bool tty, char **argv, int argc)
{
	pid_t pid = fork();

	if (pid == 0) {
		if (tty) {
			setsid();
			ioctl(in, TIOCSCTTY, 0);
		}
		dup2(in, 0);
		dup2(out, 1);
		dup2(err, 2);
		for (int fd = 3; fd < 1024; fd++)
			close(fd);  /* e.g. the write end of our own stdin pipe */
		_exit(vshcmd_main(f.path, argc, argv, 5000));
	}
	return pid;
}

static int wait_status(pid_t pid, int ms)
{
	int st;

	for (int i = 0; i < ms / 10; i++) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 1000 + WTERMSIG(st);
		usleep(10000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return -1;
}

/* Read fd into buf until want appears (NULL: EOF) or ms pass. */
static int read_until(int fd, char *buf, size_t cap, size_t *len, const char *want, int ms)
{
	for (int i = 0; i < ms / 20; i++) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (want && strstr(buf, want))
			return 1;
		if (poll(&p, 1, 20) <= 0)
			continue;
		n = read(fd, buf + *len, cap - 1 - *len);
		if (n <= 0)
			return want ? 0 : 1;
		*len += (size_t)n;
		buf[*len] = 0;
	}
	return want && strstr(buf, want);
}

static void pipes(void)
{
	int in[2], out[2], err[2], st;
	char *argv[] = { "--", "sh", "-c", "cat; echo to-err >&2; exit 6", NULL };
	char o[256] = "", e[256] = "";
	size_t no = 0, ne = 0;
	pid_t pid;

	CHECK(!pipe(in) && !pipe(out) && !pipe(err));
	pid = run_sh(in[0], out[1], err[1], false, argv, 4);
	close(in[0]);
	close(out[1]);
	close(err[1]);
	CHECK_EQ(write(in[1], "piped\n", 6), 6);
	close(in[1]);  /* EOF must reach cat */
	CHECK(read_until(out[0], o, sizeof(o), &no, NULL, 10000));
	CHECK(read_until(err[0], e, sizeof(e), &ne, NULL, 10000));
	st = wait_status(pid, 10000);
	CHECK_EQ(st, 6);
	CHECK(!strcmp(o, "piped\n"));
	CHECK(!strcmp(e, "to-err\n"));
	close(out[0]);
	close(err[0]);
}

static void pty_session(void)
{
	struct winsize ws = { .ws_row = 33, .ws_col = 77 };
	struct termios before, after;
	int m, s, st;
	char o[16384] = "";
	size_t no = 0;
	pid_t pid;

	CHECK_EQ(openpty(&m, &s, NULL, NULL, &ws), 0);
	CHECK_EQ(tcgetattr(s, &before), 0);
	CHECK(before.c_lflag & ICANON);
	pid = run_sh(s, s, s, true, NULL, 0);
	/* A login shell on the guest PTY: the initial size, then a resize. */
	CHECK_EQ(write(m, "echo ready; stty size\r", 22), 22);
	CHECK(read_until(m, o, sizeof(o), &no, "33 77", 10000));
	ws.ws_row = 50;
	ws.ws_col = 132;
	CHECK_EQ(ioctl(m, TIOCSWINSZ, &ws), 0);  /* SIGWINCH to vmm sh */
	usleep(300000);
	CHECK_EQ(write(m, "stty size\r", 10), 10);
	CHECK(read_until(m, o, sizeof(o), &no, "50 132", 10000));
	CHECK_EQ(write(m, "exit 9\r", 7), 7);
	st = wait_status(pid, 10000);
	CHECK_EQ(st, 9);
	/* Raw mode is undone. */
	CHECK_EQ(tcgetattr(s, &after), 0);
	CHECK_EQ(after.c_lflag & (ICANON | ECHO | ISIG), before.c_lflag & (ICANON | ECHO | ISIG));
	CHECK_EQ(after.c_oflag & OPOST, before.c_oflag & OPOST);
	close(m);
	close(s);
}

/* SIGHUP to vmm sh reaches the guest's login shell, which ends with it. */
static void pty_sighup(void)
{
	struct winsize ws = { .ws_row = 24, .ws_col = 80 };
	char o[4096] = "";
	size_t no = 0;
	int m, s;
	pid_t pid;

	CHECK_EQ(openpty(&m, &s, NULL, NULL, &ws), 0);
	pid = run_sh(s, s, s, true, NULL, 0);
	/* Typed before raw mode the line is echoed locally too: only the
	 * guest's output says "ready". */
	CHECK_EQ(write(m, "echo re\"\"ady\r", 13), 13);
	CHECK(read_until(m, o, sizeof(o), &no, "ready", 10000));
	kill(pid, SIGHUP);
	CHECK_EQ(wait_status(pid, 10000), 128 + SIGHUP);
	/* The guest's shell ended: vmm sh did not have to give up on it. */
	read_until(m, o, sizeof(o), &no, "giving up", 300);
	CHECK(strstr(o, "giving up") == NULL);
	close(m);
	close(s);
}

static void sigterm_forwarded(void)
{
	int out[2], null = open("/dev/null", O_RDWR), st;
	char *argv[] = { "--", "sh", "-c", "echo up; exec sleep 100", NULL };
	char o[64] = "";
	size_t no = 0;
	pid_t pid;

	CHECK(!pipe(out));
	pid = run_sh(null, out[1], null, false, argv, 4);
	close(out[1]);
	CHECK(read_until(out[0], o, sizeof(o), &no, "up", 10000));
	kill(pid, SIGTERM);
	st = wait_status(pid, 5000);
	CHECK_EQ(st, 143);  /* the remote sleep's status, not ours */
	close(out[0]);
	close(null);
}

/* A command that ignores SIGTERM: vmm sh gives up after its grace period. */
static void sigterm_grace(void)
{
	int out[2], err[2], null = open("/dev/null", O_RDWR), st;
	char *argv[] = { "--", "sh", "-c", "trap '' TERM; echo up; sleep 100", NULL };
	char o[64] = "", e[512] = "";
	size_t no = 0, ne = 0;
	struct timespec t0, t1;
	pid_t pid;

	CHECK(!pipe(out) && !pipe(err));
	pid = run_sh(null, out[1], err[1], false, argv, 4);
	close(out[1]);
	close(err[1]);
	CHECK(read_until(out[0], o, sizeof(o), &no, "up", 10000));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	kill(pid, SIGTERM);
	st = wait_status(pid, 10000);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	CHECK_EQ(st, 143);
	CHECK(t1.tv_sec - t0.tv_sec >= 2);
	CHECK(read_until(err[0], e, sizeof(e), &ne, "giving up", 1000));
	close(out[0]);
	close(err[0]);
	close(null);
}

/* Bad input: one line and exit 2 before any connection; a missing socket
 * is 3. (Output goes to /dev/null.) */
static void usage_errors(void)
{
	char *extra[] = { "extra", NULL }, *dash[] = { "--", NULL }, *empty[] = { "--", "", NULL };
	char *many[VSH_MAX_ARGS + 3];
	int null = open("/dev/null", O_WRONLY), saved = dup(2);

	dup2(null, 2);
	many[0] = "--";
	for (unsigned i = 1; i < VSH_MAX_ARGS + 2; i++)
		many[i] = "x";
	CHECK_EQ(vshcmd_main(f.path, 1, extra, 1000), CTLCMD_EXIT_USAGE);
	CHECK_EQ(vshcmd_main(f.path, 1, dash, 1000), CTLCMD_EXIT_USAGE);
	CHECK_EQ(vshcmd_main(f.path, 2, empty, 1000), CTLCMD_EXIT_USAGE);
	CHECK_EQ(vshcmd_main(f.path, VSH_MAX_ARGS + 2, many, 1000), CTLCMD_EXIT_USAGE);
	CHECK_EQ(vshcmd_main("/nonexistent/ctl.sock", 0, NULL, 1000), CTLCMD_EXIT_NOSOCK);
	dup2(saved, 2);
	close(saved);
	close(null);
}

int main(void)
{
	t_suite = "vshcmd";
	signal(SIGPIPE, SIG_IGN);
	if (fake_start(&f)) {
		printf("FAIL vshcmd/setup: control socket\n");
		return 1;
	}
	RUN(usage_errors);
	RUN(pipes);
	RUN(pty_session);
	RUN(pty_sighup);
	RUN(sigterm_forwarded);
	RUN(sigterm_grace);
	fake_end(&f);
	return t_done();
}
