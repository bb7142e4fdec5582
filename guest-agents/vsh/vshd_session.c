/* One vsh session (vshd_session.h, docs/AGENTS.md "vsh"). */
#include "guest-agents/vsh/vshd_session.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "proto/vsh.h"

#define VSHD_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

struct vshd_sess {
	const struct vshd_opts *opts;
	int sock, sigfd;
	pid_t pid;
	bool pty;
	int in_fd;            /* command's stdin: pty master or pipe; -1 once closed */
	int out_fd, err_fd;   /* command's output: pty master / pipes; -1 at EOF */
	bool stdin_eof;       /* host ended stdin: close in_fd once pend is written */
	bool exited;
	int wstatus;
	size_t pend_off, pend_len;   /* host stdin not yet taken by in_fd */
	uint8_t pend[VSH_MAX_PAYLOAD];
	struct vsh_in in;
	struct vsh_out out;
	struct vsh_open open;
};

static int64_t vshd_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int vshd_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

static void vshd_close(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* ---- starting the command ------------------------------------------- */

/* In the child: everything vshd changed goes back to defaults, then exec.
 * Failures are reported as an errno over the close-on-exec pipe errfd. */
static void vshd_child(struct vshd_sess *s, const char *slave, int stdio[3], int errfd)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	sigset_t none;
	char term[VSH_TERM_MAX + 8], *envp[8];
	char *login[] = { "-sh", NULL };
	int n = 0, e;

	for (int sig = 1; sig < NSIG; sig++)
		sigaction(sig, &dfl, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (setsid() < 0)
		goto fail;
	if (slave) {
		/* The first tty a session leader opens becomes its controlling
		 * terminal; TIOCSCTTY makes that explicit (tty_ioctl(4)). */
		int fd = open(slave, O_RDWR);
		if (fd < 0 || ioctl(fd, TIOCSCTTY, 0) < 0)
			goto fail;
		stdio[0] = stdio[1] = stdio[2] = fd;
	}
	for (int i = 0; i < 3; i++)
		if (dup2(stdio[i], i) < 0)
			goto fail;
	umask(022);
	envp[n++] = "PATH=" VSHD_PATH;
	envp[n++] = "HOME=/root";
	envp[n++] = "USER=root";
	envp[n++] = "LOGNAME=root";
	envp[n++] = "SHELL=/bin/sh";
	if (s->open.term[0]) {
		snprintf(term, sizeof(term), "TERM=%s", s->open.term);
		envp[n++] = term;
	}
	envp[n] = NULL;
	/* root's home when the image has one, else /. */
	if (chdir("/root") < 0) {
		envp[1] = "HOME=/";
		if (chdir("/") < 0)
			goto fail;
	}
	environ = envp;
	if (s->open.argc == 0)
		execv(s->opts->shell, login);
	else
		execvp(s->open.argv[0], s->open.argv);
fail:
	e = errno;
	(void)!write(errfd, &e, sizeof(e));
	_exit(127);
}

/* Start the command. 0, or -errno of the step that failed (exec's errno
 * when the program could not run). */
static int vshd_spawn(struct vshd_sess *s)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 }, ep[2], e = 0, rc;
	char slave[64];
	ssize_t n;

	if (s->pty) {
		struct winsize ws = { .ws_row = s->open.rows, .ws_col = s->open.cols };
		int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);

		if (m < 0)
			return -errno;
		if (grantpt(m) < 0 || unlockpt(m) < 0 || ptsname_r(m, slave, sizeof(slave)) != 0) {
			rc = -errno;
			close(m);
			return rc;
		}
		/* The size is in place before the shell first asks for it. */
		if (ws.ws_row && ws.ws_col)
			(void)ioctl(m, TIOCSWINSZ, &ws);
		s->in_fd = m;
	} else if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
		rc = -errno;
		goto fail;
	}
	if (pipe2(ep, O_CLOEXEC) < 0) {
		rc = -errno;
		goto fail;
	}
	s->pid = fork();
	if (s->pid < 0) {
		rc = -errno;
		close(ep[0]);
		close(ep[1]);
		goto fail;
	}
	if (s->pid == 0) {
		close(ep[0]);
		vshd_child(s, s->pty ? slave : NULL, (int[3]){ in[0], out[1], err[1] }, ep[1]);
	}
	close(ep[1]);
	do
		n = read(ep[0], &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	close(ep[0]);
	if (n == (ssize_t)sizeof(e)) {
		while (waitpid(s->pid, NULL, 0) < 0 && errno == EINTR)
			;
		s->pid = -1;
		rc = -(e ? e : EIO);
		goto fail;
	}
	if (s->pty) {
		s->out_fd = dup(s->in_fd);
		if (s->out_fd < 0 || vshd_nonblock(s->in_fd) < 0)
			return -errno;
	} else {
		close(in[0]);
		close(out[1]);
		close(err[1]);
		s->in_fd = in[1];
		s->out_fd = out[0];
		s->err_fd = err[0];
		if (vshd_nonblock(in[1]) || vshd_nonblock(out[0]) || vshd_nonblock(err[0]))
			return -errno;
	}
	return 0;
fail:
	vshd_close(&s->in_fd);
	for (int i = 0; i < 2; i++) {
		vshd_close(&in[i]);
		vshd_close(&out[i]);
		vshd_close(&err[i]);
	}
	return rc;
}

/* ---- relaying --------------------------------------------------------- */

/* Send everything queued, waiting at most until deadline. */
static int vshd_flush_wait(struct vshd_sess *s, int64_t deadline)
{
	while (!vsh_out_empty(&s->out)) {
		int rc = vsh_out_flush(&s->out, s->sock), left;
		struct pollfd p = { .fd = s->sock, .events = POLLOUT };

		if (rc < 0)
			return rc;
		if (vsh_out_empty(&s->out))
			break;
		left = (int)(deadline - vshd_now_ms());
		if (left <= 0)
			return -ETIMEDOUT;
		if (poll(&p, 1, left) < 0 && errno != EINTR)
			return -errno;
	}
	return 0;
}

/* Read one chunk of output into a message of type t. Returns > 0 bytes, 0
 * at EOF (the PTY's EIO once no process holds the slave is EOF too),
 * -EAGAIN when nothing is there, -errno. */
static int vshd_pump_out(struct vshd_sess *s, int *fd, uint8_t t)
{
	uint8_t buf[VSH_MAX_PAYLOAD];
	size_t room = vsh_out_room(&s->out);
	ssize_t n;

	if (room == 0)
		return -ENOBUFS;
	do
		n = read(*fd, buf, room);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return -EAGAIN;
	if (n <= 0) {
		vshd_close(fd);
		return vsh_out_put(&s->out, VSH_EOF, &t, 1);
	}
	vsh_out_put(&s->out, t, buf, (size_t)n);
	return (int)n;
}

/* Write pending host stdin into the command; close it after EOF. */
static void vshd_pump_in(struct vshd_sess *s)
{
	while (s->in_fd >= 0 && s->pend_off < s->pend_len) {
		ssize_t n = write(s->in_fd, s->pend + s->pend_off, s->pend_len - s->pend_off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n < 0) {
			/* The command closed its stdin: what the host sends is dropped. */
			s->pend_off = s->pend_len = 0;
			if (!s->pty)
				vshd_close(&s->in_fd);
			return;
		}
		s->pend_off += (size_t)n;
	}
	s->pend_off = s->pend_len = 0;
	if (s->stdin_eof && !s->pty)
		vshd_close(&s->in_fd);
}

/* A signal from the host goes where a terminal's would: the terminal's
 * foreground process group; and the session leader itself for the
 * signals that end a session. Without a PTY, the command's process group. */
static void vshd_signal(struct vshd_sess *s, int sig)
{
	if (s->exited || s->pid <= 0)
		return;
	if (s->pty) {
		pid_t fg = tcgetpgrp(s->in_fd);
		if (fg > 0)
			kill(-fg, sig);
		if (fg != s->pid && (sig == SIGHUP || sig == SIGTERM || sig == SIGKILL))
			kill(s->pid, sig);
	} else {
		kill(-s->pid, sig);
	}
}

/* One message from the host. 0, or -EPROTO. */
static int vshd_handle(struct vshd_sess *s, const struct vsh_msg *m)
{
	switch (m->type) {
	case VSH_STDIN:
		if (s->in_fd < 0 || s->stdin_eof)
			return 0;  /* nobody reads it any more */
		memcpy(s->pend, m->data, m->len);
		s->pend_off = 0;
		s->pend_len = m->len;
		vshd_pump_in(s);
		return 0;
	case VSH_EOF:
		/* With a PTY the host's terminal sends ^D itself; EOF of the
		 * host's stdin just means no more input. */
		s->stdin_eof = true;
		vshd_pump_in(s);
		return 0;
	case VSH_WINSIZE:
		if (s->pty) {
			struct winsize ws = { 0 };
			vsh_winsize_decode(m, &ws.ws_row, &ws.ws_col);
			/* The kernel sends SIGWINCH to the foreground group. */
			(void)ioctl(s->in_fd, TIOCSWINSZ, &ws);
		}
		return 0;
	case VSH_SIGNAL:
		vshd_signal(s, m->data[0]);
		return 0;
	default:
		return -EPROTO;  /* a second OPEN */
	}
}

/* The command has exited: send what it wrote before (still in the pipes or
 * the PTY), then EXIT. */
static int vshd_finish(struct vshd_sess *s)
{
	int64_t deadline = vshd_now_ms() + s->opts->drain_timeout_ms;
	uint8_t ex[2];
	int rc;

	for (int *fd = &s->out_fd; fd; fd = fd == &s->out_fd ? &s->err_fd : NULL) {
		uint8_t t = fd == &s->out_fd ? VSH_STDOUT : VSH_STDERR;
		while (*fd >= 0) {
			rc = vshd_pump_out(s, fd, t);
			if (rc == -EAGAIN)
				break;  /* a background process still holds it open */
			if (rc == -ENOBUFS && (rc = vshd_flush_wait(s, deadline)) < 0)
				return rc;
		}
	}
	vsh_exit_encode(ex, s->wstatus);
	if (vsh_out_room(&s->out) < sizeof(ex) && (rc = vshd_flush_wait(s, deadline)) < 0)
		return rc;
	vsh_out_put(&s->out, VSH_EXIT, ex, sizeof(ex));
	rc = vshd_flush_wait(s, deadline);
	if (rc == 0)
		shutdown(s->sock, SHUT_WR);
	return rc;
}

static void vshd_reap(struct vshd_sess *s)
{
	struct signalfd_siginfo si;
	int st;

	while (read(s->sigfd, &si, sizeof(si)) > 0)
		;
	if (!s->exited && s->pid > 0 && waitpid(s->pid, &st, WNOHANG) == s->pid) {
		s->exited = true;
		s->wstatus = st;
	}
}

/* Wait for OPEN: the first message, within the open timeout. */
static int vshd_read_open(struct vshd_sess *s)
{
	int64_t deadline = vshd_now_ms() + s->opts->open_timeout_ms;
	struct vsh_msg m;

	for (;;) {
		int rc = vsh_in_next(&s->in, VSH_FROM_HOST, &m), left;
		struct pollfd p = { .fd = s->sock, .events = POLLIN };

		if (rc < 0)
			return rc;
		if (rc == 1) {
			if (m.type != VSH_OPEN || vsh_open_decode(m.data, m.len, &s->open) < 0)
				return -EPROTO;
			s->pty = s->open.flags & VSH_OPEN_PTY;
			return 0;
		}
		left = (int)(deadline - vshd_now_ms());
		if (left <= 0)
			return -ETIMEDOUT;
		if (poll(&p, 1, left) < 0 && errno != EINTR)
			return -errno;
		rc = vsh_in_fill(&s->in, s->sock);
		if (rc == 0)
			return -ECONNRESET;
		if (rc < 0 && rc != -EAGAIN)
			return rc;
	}
}

/* The command could not start: say why on stderr and exit as a shell would
 * (127 not found, 126 not runnable). */
static int vshd_fail_start(struct vshd_sess *s, int err)
{
	char msg[256];
	int n = snprintf(msg, sizeof(msg), "vshd: %s: %s\n",
			 s->open.argc ? s->open.argv[0] : s->opts->shell, strerror(err));

	vsh_out_put(&s->out, VSH_STDERR, msg, n > 0 && (size_t)n < sizeof(msg) ? (size_t)n : 0);
	s->wstatus = (err == ENOENT ? 127 : 126) << 8;
	s->out_fd = s->err_fd = -1;
	return vshd_finish(s);
}

static int vshd_loop(struct vshd_sess *s)
{
	for (;;) {
		struct pollfd p[5];
		struct vsh_msg m;
		int rc = 0;

		if (s->exited)
			return vshd_finish(s);
		/* Messages already buffered (they may have come with OPEN) first. */
		while (!s->pend_len && (rc = vsh_in_next(&s->in, VSH_FROM_HOST, &m)) == 1)
			if ((rc = vshd_handle(s, &m)) < 0)
				return rc;
		if (rc < 0)
			return rc;
		/* Host input is read only once its last stdin is taken, so a
		 * command that stops reading stalls the host (vsock credit), not
		 * our memory. */
		p[0] = (struct pollfd){ .fd = s->sock, .events = (s->pend_len ? 0 : POLLIN) |
								(vsh_out_empty(&s->out) ? 0 : POLLOUT) };
		p[1] = (struct pollfd){ .fd = s->sigfd, .events = POLLIN };
		p[2] = (struct pollfd){ .fd = vsh_out_room(&s->out) ? s->out_fd : -1, .events = POLLIN };
		p[3] = (struct pollfd){ .fd = vsh_out_room(&s->out) ? s->err_fd : -1, .events = POLLIN };
		p[4] = (struct pollfd){ .fd = s->pend_len ? s->in_fd : -1, .events = POLLOUT };
		if (poll(p, 5, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (p[1].revents)
			vshd_reap(s);
		if (p[4].revents)
			vshd_pump_in(s);
		if (p[2].revents && s->out_fd >= 0)
			vshd_pump_out(s, &s->out_fd, VSH_STDOUT);
		if (p[3].revents && s->err_fd >= 0)
			vshd_pump_out(s, &s->err_fd, VSH_STDERR);
		if (p[0].revents & POLLOUT) {
			rc = vsh_out_flush(&s->out, s->sock);
			if (rc < 0)
				return rc;
		}
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			rc = vsh_in_fill(&s->in, s->sock);
			if (rc == 0)
				return -ECONNRESET;
			if (rc < 0 && rc != -EAGAIN && rc != -ENOBUFS)
				return rc;
		}
	}
}

int vshd_session_run(int sock, const struct vshd_opts *opts)
{
	static struct vshd_sess s;
	sigset_t chld;
	int rc;

	memset(&s, 0, sizeof(s));
	s.opts = opts;
	s.sock = sock;
	s.pid = -1;
	s.in_fd = s.out_fd = s.err_fd = -1;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	s.sigfd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
	if (s.sigfd < 0)
		return -errno;
	rc = vshd_nonblock(sock);
	if (rc == 0)
		rc = vshd_read_open(&s);
	if (rc == 0) {
		rc = vshd_spawn(&s);
		if (rc < 0 && s.pid < 0 && rc != -ENOMEM)
			rc = vshd_fail_start(&s, -rc);
		else if (rc == 0)
			rc = vshd_loop(&s);
	}
	if (rc < 0 && !s.exited && s.pid > 0) {
		/* The host is gone or broke the protocol: hang the session up,
		 * as a terminal line drop would. */
		vshd_signal(&s, SIGHUP);
		if (!s.pty)
			kill(-s.pid, SIGCONT);
	}
	vshd_close(&s.in_fd);
	vshd_close(&s.out_fd);
	vshd_close(&s.err_fd);
	close(s.sigfd);
	return rc;
}
