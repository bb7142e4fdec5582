/* vshd's session (guest-agents/vsh/vshd_session.c) against a socketpair,
 * with real commands (/bin/sh) on real pipes and a real PTY: output
 * separation, stdin EOF, exit statuses, window size, signals, output
 * drained before EXIT, a command that cannot start, and hostile or absent
 * hosts. No KVM. */
#include "tests/unit/t.h"
#include "guest-agents/vsh/vshd_session.h"
#include "proto/vsh.h"

#include <errno.h>
#include <stdio.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const struct vshd_opts opts = { .shell = "/bin/sh", .open_timeout_ms = 2000, .drain_timeout_ms = 5000 };

struct host {
	int fd;
	pid_t pid;         /* the session process */
	struct vsh_in in;
	char out[256 * 1024], err[4096];
	size_t nout, nerr;
	int status;        /* vsh_exit_status, -1 before EXIT */
	int eofs;          /* EOF messages seen */
	bool after_exit;   /* a message came after EXIT */
};

static struct host h;

/* Start a session process on one end of a socketpair. */
static void host_start(void)
{
	int sv[2];
	sigset_t chld;

	memset(&h, 0, sizeof(h));
	h.status = -1;
	CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	h.pid = fork();
	if (h.pid == 0) {
		close(sv[0]);
		sigemptyset(&chld);
		sigaddset(&chld, SIGCHLD);
		sigprocmask(SIG_BLOCK, &chld, NULL);
		_exit(-vshd_session_run(sv[1], &opts));
	}
	close(sv[1]);
	h.fd = sv[0];
}

static void host_send(uint8_t type, const void *p, size_t n)
{
	uint8_t b[VSH_HDR_SIZE + VSH_MAX_PAYLOAD];
	int len = vsh_put(b, sizeof(b), type, p, n);

	CHECK(len > 0);
	CHECK_EQ(write(h.fd, b, (size_t)len), len);
}

static void host_open(uint8_t flags, uint16_t rows, uint16_t cols, unsigned argc, char **argv)
{
	uint8_t b[VSH_MAX_PAYLOAD];
	int n = vsh_open_encode(b, sizeof(b), flags, rows, cols, "vt100", argc, argv);

	CHECK(n > 0);
	host_send(VSH_OPEN, b, (size_t)n);
}

/* Read messages until EXIT or until want appears in stdout (want NULL:
 * EXIT), at most ms. Returns 1 when reached. */
static int host_until(const char *want, int ms)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct vsh_msg m;
		struct pollfd p = { .fd = h.fd, .events = POLLIN };
		int rc;

		while ((rc = vsh_in_next(&h.in, VSH_FROM_GUEST, &m)) == 1) {
			if (h.status >= 0)
				h.after_exit = true;
			if (m.type == VSH_STDOUT && h.nout + m.len <= sizeof(h.out) - 1) {
				memcpy(h.out + h.nout, m.data, m.len);
				h.out[h.nout += m.len] = 0;
			} else if (m.type == VSH_STDERR && h.nerr + m.len <= sizeof(h.err) - 1) {
				memcpy(h.err + h.nerr, m.data, m.len);
				h.err[h.nerr += m.len] = 0;
			} else if (m.type == VSH_EOF) {
				h.eofs++;
			} else if (m.type == VSH_EXIT) {
				h.status = vsh_exit_status(&m);
			}
		}
		CHECK_EQ(rc, 0);
		if (want ? strstr(h.out, want) != NULL : h.status >= 0)
			return 1;
		clock_gettime(CLOCK_MONOTONIC, &t);
		int left = ms - (int)((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0 || poll(&p, 1, left) <= 0)
			return 0;
		rc = vsh_in_fill(&h.in, h.fd);
		if (rc <= 0 && rc != -EAGAIN)
			return want ? 0 : h.status >= 0;
	}
}

/* Close our end and collect the session process's result (-errno). */
static int host_end(void)
{
	int st = 0;

	close(h.fd);
	CHECK_EQ(waitpid(h.pid, &st, 0), h.pid);
	CHECK(WIFEXITED(st));
	return -WEXITSTATUS(st);
}

static void pipes_separate_streams(void)
{
	char *argv[] = { "sh", "-c", "cat; echo to-err >&2; exit 3", NULL };

	host_start();
	host_open(0, 0, 0, 3, argv);
	host_send(VSH_STDIN, "hello\n", 6);
	host_send(VSH_EOF, (uint8_t[]){ VSH_STDIN }, 1);
	CHECK(host_until(NULL, 5000));
	CHECK(!strcmp(h.out, "hello\n"));
	CHECK(!strcmp(h.err, "to-err\n"));
	CHECK_EQ(h.status, 3);
	CHECK_EQ(h.eofs, 2);  /* stdout and stderr ended before EXIT */
	CHECK(!h.after_exit);
	CHECK_EQ(host_end(), 0);
}

/* Output written just before exit arrives whole, before EXIT. */
static void output_drained_before_exit(void)
{
	char *argv[] = { "sh", "-c", "head -c 200000 /dev/zero | tr '\\0' x; exit 0", NULL };

	host_start();
	host_open(0, 0, 0, 3, argv);
	host_send(VSH_EOF, (uint8_t[]){ VSH_STDIN }, 1);
	CHECK(host_until(NULL, 10000));
	CHECK_EQ(h.nout, 200000);
	CHECK(h.out[0] == 'x' && h.out[199999] == 'x');
	CHECK_EQ(h.status, 0);
	CHECK_EQ(host_end(), 0);
}

static void pty_size_term_and_exit(void)
{
	char *argv[] = { "sh", "-c", "stty size; echo T=$TERM; tty >/dev/null && echo is-tty; exit 7", NULL };

	host_start();
	host_open(VSH_OPEN_PTY, 33, 77, 3, argv);
	CHECK(host_until(NULL, 5000));
	CHECK(strstr(h.out, "33 77") != NULL);
	CHECK(strstr(h.out, "T=vt100") != NULL);
	CHECK(strstr(h.out, "is-tty") != NULL);
	CHECK_EQ(h.status, 7);
	CHECK_EQ(host_end(), 0);
}

/* Type the interrupt character c until the command exits, at most 10 s.
 * One byte is not enough: dash (sh -c catches SIGINT) defers a SIGINT that
 * lands between two foreground commands until the next one ends, so a ^C
 * typed just after stty printed can leave `sleep 100` running, as at a
 * real terminal, where the user presses ^C again. */
static int host_interrupt(const char *c)
{
	for (int i = 0; i < 20; i++) {
		host_send(VSH_STDIN, c, 1);
		if (host_until(NULL, 500))
			return 1;
	}
	return 0;
}

/* A resize reaches the terminal; ^C as a byte on the PTY interrupts the
 * foreground command. */
static void pty_resize_and_ctrl_c(void)
{
	char *argv[] = { "sh", "-c", "echo ready; read x; stty size; sleep 100; echo after-sleep; exit 5", NULL };
	uint8_t ws[4];

	host_start();
	host_open(VSH_OPEN_PTY, 24, 80, 3, argv);
	CHECK(host_until("ready", 5000));
	vsh_winsize_encode(ws, 50, 132);
	host_send(VSH_WINSIZE, ws, 4);
	host_send(VSH_STDIN, "\r", 1);
	CHECK(host_until("50 132", 5000));
	CHECK(host_interrupt("\x03"));
	/* The whole foreground group (sh -c and its sleep) gets SIGINT. */
	CHECK_EQ(h.status, 130);
	CHECK(strstr(h.out, "after-sleep") == NULL);
	CHECK_EQ(host_end(), 0);
}

/* ^\ as a byte: SIGQUIT for the foreground group. */
static void pty_ctrl_backslash(void)
{
	char *argv[] = { "sh", "-c", "echo ready; sleep 100; echo after-sleep", NULL };

	host_start();
	host_open(VSH_OPEN_PTY, 24, 80, 3, argv);
	CHECK(host_until("ready", 5000));
	CHECK(host_interrupt("\x1c"));
	CHECK_EQ(h.status, 128 + SIGQUIT);
	CHECK(strstr(h.out, "after-sleep") == NULL);
	CHECK_EQ(host_end(), 0);
}

static void signal_forwarded(void)
{
	char *argv[] = { "sleep", "100", NULL };

	host_start();
	host_open(0, 0, 0, 2, argv);
	usleep(100000);
	host_send(VSH_SIGNAL, (uint8_t[]){ SIGTERM }, 1);
	CHECK(host_until(NULL, 5000));
	CHECK_EQ(h.status, 128 + SIGTERM);
	CHECK_EQ(host_end(), 0);
}

static void not_found_127(void)
{
	char *argv[] = { "no-such-command-anywhere", NULL };

	host_start();
	host_open(0, 0, 0, 1, argv);
	CHECK(host_until(NULL, 5000));
	CHECK_EQ(h.status, 127);
	CHECK(strstr(h.err, "no-such-command-anywhere") != NULL);
	CHECK_EQ(host_end(), 0);
}

static void login_shell(void)
{
	host_start();
	host_open(0, 0, 0, 0, NULL);
	/* A login shell's $0 starts with '-'. */
	host_send(VSH_STDIN, "echo \"zero=$0\"; exit 4\n", 23);
	CHECK(host_until(NULL, 5000));
	CHECK(strstr(h.out, "zero=-sh") != NULL);
	CHECK_EQ(h.status, 4);
	CHECK_EQ(host_end(), 0);
}

/* Hostile hosts: guest-only messages, a second OPEN, no OPEN at all. */
static void hostile_host(void)
{
	char *argv[] = { "sleep", "100", NULL };

	host_start();
	host_send(VSH_STDIN, "x", 1);  /* before OPEN */
	CHECK_EQ(host_end(), -EPROTO);

	host_start();
	host_open(0, 0, 0, 2, argv);
	host_open(0, 0, 0, 2, argv);
	CHECK_EQ(host_end(), -EPROTO);

	host_start();
	host_open(0, 0, 0, 2, argv);
	uint8_t bad[4] = { VSH_EXIT, 0, 0, 0 };
	CHECK_EQ(write(h.fd, bad, 4), 4);
	CHECK_EQ(host_end(), -EPROTO);

	host_start();  /* silent host: OPEN deadline */
	CHECK(!host_until(NULL, 3000));
	CHECK_EQ(host_end(), -ETIMEDOUT);
}

/* 1 while pid is alive (not gone and not a zombie). */
static int alive(long pid)
{
	char path[64], buf[256], *p;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	p = fgets(buf, sizeof(buf), f);
	fclose(f);
	p = p ? strrchr(buf, ')') : NULL;
	return p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}

/* The host vanishing hangs the command up instead of leaving it behind. */
static void host_gone_hangs_up(void)
{
	char *argv[] = { "sh", "-c", "echo pid=$$; exec sleep 100", NULL };
	long pid = 0;
	int i;

	host_start();
	host_open(0, 0, 0, 3, argv);
	CHECK(host_until("\n", 5000));
	CHECK_EQ(sscanf(h.out, "pid=%ld", &pid), 1);
	CHECK(pid > 0 && alive(pid));
	CHECK_EQ(host_end(), -ECONNRESET);
	for (i = 0; i < 50 && alive(pid); i++)
		usleep(100000);
	CHECK(!alive(pid));
}

int main(void)
{
	t_suite = "vshd_session";
	signal(SIGPIPE, SIG_IGN);
	RUN(pipes_separate_streams);
	RUN(output_drained_before_exit);
	RUN(pty_size_term_and_exit);
	RUN(pty_resize_and_ctrl_c);
	RUN(pty_ctrl_backslash);
	RUN(signal_forwarded);
	RUN(not_found_127);
	RUN(login_shell);
	RUN(hostile_host);
	RUN(host_gone_hangs_up);
	return t_done();
}
