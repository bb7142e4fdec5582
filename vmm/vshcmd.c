/* `vmm sh` (vshcmd.h, docs/AGENTS.md "vsh"). */
#include "vmm/vshcmd.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "proto/rpc.h"
#include "proto/vmctl.h"
#include "proto/vsh.h"
#include "vmm/ctlcmd.h"

/* After forwarding SIGHUP/SIGTERM, how long the guest gets to report the
 * command's end before vmm gives up on it and exits itself. */
#define VSHCMD_SIGNAL_GRACE_MS 3000

struct vshcmd {
	const char *sock;
	int fd, sigfd;
	bool tty;               /* stdin is a terminal: raw mode, PTY requested */
	bool raw;               /* saved holds the terminal's modes to restore */
	struct termios saved;
	bool stdin_open;
	bool heard;             /* the guest has sent something */
	int status;             /* the remote exit status, -1 until EXIT */
	int fatal_sig;          /* a forwarded SIGHUP/SIGTERM: exit 128+N at the deadline */
	int64_t deadline_ms;
	struct vsh_in in;
	struct vsh_out out;
};

static int64_t vshcmd_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Raw mode as cfmakeraw(3): every key, ^C and ^\ included, goes to the
 * guest's terminal, whose line discipline turns them into signals. */
static int vshcmd_raw(struct vshcmd *v)
{
	struct termios t;

	if (tcgetattr(STDIN_FILENO, &v->saved) < 0)
		return -errno;
	t = v->saved;
	cfmakeraw(&t);
	if (tcsetattr(STDIN_FILENO, TCSANOW, &t) < 0)
		return -errno;
	v->raw = true;
	return 0;
}

static void vshcmd_restore(struct vshcmd *v)
{
	if (v->raw)
		tcsetattr(STDIN_FILENO, TCSADRAIN, &v->saved);
	v->raw = false;
}

static void vshcmd_winsize(struct vshcmd *v, uint16_t *rows, uint16_t *cols)
{
	struct winsize ws = { 0 };

	*rows = *cols = 0;
	if (v->tty && ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0) {
		*rows = ws.ws_row;
		*cols = ws.ws_col;
	}
}

static int vshcmd_send_open(struct vshcmd *v, int argc, char **argv)
{
	uint8_t p[VSH_MAX_PAYLOAD];
	const char *term = getenv("TERM");
	uint16_t rows, cols;
	int n;

	vshcmd_winsize(v, &rows, &cols);
	n = vsh_open_encode(p, sizeof(p), v->tty ? VSH_OPEN_PTY : 0, rows, cols, term ? term : "",
			    (unsigned)argc, argv);
	if (n == -EINVAL && term)  /* a TERM vsh does not carry: none */
		n = vsh_open_encode(p, sizeof(p), v->tty ? VSH_OPEN_PTY : 0, rows, cols, "", (unsigned)argc, argv);
	if (n < 0)
		return n;
	return vsh_out_put(&v->out, VSH_OPEN, p, (size_t)n);
}

/* Write all of p to a local fd (stdout/stderr), waiting when it is full. */
static int vshcmd_write(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			struct pollfd pf = { .fd = fd, .events = POLLOUT };
			poll(&pf, 1, 1000);
			continue;
		}
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* One message from vshd. 0, or -EPROTO. */
static int vshcmd_handle(struct vshcmd *v, const struct vsh_msg *m)
{
	v->heard = true;
	switch (m->type) {
	case VSH_STDOUT:
		/* A local reader gone (vmm sh ... | head) is not the guest's fault:
		 * drop the output, keep waiting for the status. */
		(void)vshcmd_write(STDOUT_FILENO, m->data, m->len);
		return 0;
	case VSH_STDERR:
		(void)vshcmd_write(STDERR_FILENO, m->data, m->len);
		return 0;
	case VSH_EOF:
		return 0;
	case VSH_EXIT:
		v->status = vsh_exit_status(m);
		return 0;
	default:
		return -EPROTO;  /* vsh_in_next only passes guest messages */
	}
}

static void vshcmd_signal(struct vshcmd *v)
{
	struct signalfd_siginfo si;

	while (read(v->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGWINCH) {
			uint8_t ws[4];
			uint16_t rows, cols;

			vshcmd_winsize(v, &rows, &cols);
			vsh_winsize_encode(ws, rows, cols);
			if (v->tty)
				vsh_out_put(&v->out, VSH_WINSIZE, ws, sizeof(ws));
			continue;
		}
		/* The out queue keeps room for these: signals are never lost to
		 * a full queue of stdin (vshcmd_loop reads stdin only while a
		 * whole message plus this fits). */
		vsh_out_put(&v->out, VSH_SIGNAL, &(uint8_t){ (uint8_t)si.ssi_signo }, 1);
		if ((si.ssi_signo == SIGHUP || si.ssi_signo == SIGTERM) && !v->fatal_sig) {
			v->fatal_sig = (int)si.ssi_signo;
			v->deadline_ms = vshcmd_now_ms() + VSHCMD_SIGNAL_GRACE_MS;
		}
	}
}

/* Relay until EXIT arrives and the connection ends. Returns the exit code. */
static int vshcmd_loop(struct vshcmd *v)
{
	uint8_t buf[VSH_MAX_PAYLOAD];

	for (;;) {
		struct pollfd p[3];
		struct vsh_msg m;
		int rc, tmo = -1;

		while ((rc = vsh_in_next(&v->in, VSH_FROM_GUEST, &m)) == 1)
			if (vshcmd_handle(v, &m) < 0)
				break;
		if (rc < 0) {
			fprintf(stderr, "vmm: %s: vshd sent a malformed message (%s)\r\n", v->sock, strerror(-rc));
			return CTLCMD_EXIT_LOST;
		}
		if (v->status >= 0)
			return v->status;
		if (v->fatal_sig) {
			tmo = (int)(v->deadline_ms - vshcmd_now_ms());
			if (tmo <= 0) {
				fprintf(stderr, "vmm: %s: no exit status %d ms after forwarding signal %d, giving up\r\n",
					v->sock, VSHCMD_SIGNAL_GRACE_MS, v->fatal_sig);
				return 128 + v->fatal_sig;
			}
		}
		/* Stdin is read only while a maximal message and two small ones
		 * (a signal, a window size) still fit. */
		bool room = vsh_out_room(&v->out) == VSH_MAX_PAYLOAD;
		p[0] = (struct pollfd){ .fd = v->fd, .events = POLLIN | (vsh_out_empty(&v->out) ? 0 : POLLOUT) };
		p[1] = (struct pollfd){ .fd = v->stdin_open && room ? STDIN_FILENO : -1, .events = POLLIN };
		p[2] = (struct pollfd){ .fd = v->sigfd, .events = POLLIN };
		if (poll(p, 3, tmo) < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "vmm: poll: %s\r\n", strerror(errno));
			return CTLCMD_EXIT_FAILURE;
		}
		if (p[2].revents)
			vshcmd_signal(v);
		if (p[1].revents) {
			ssize_t n = read(STDIN_FILENO, buf, VSH_MAX_PAYLOAD - 2 * (VSH_HDR_SIZE + 4));
			if (n > 0) {
				vsh_out_put(&v->out, VSH_STDIN, buf, (size_t)n);
			} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
				v->stdin_open = false;
				vsh_out_put(&v->out, VSH_EOF, &(uint8_t){ VSH_STDIN }, 1);
			}
		}
		if (!vsh_out_empty(&v->out) && vsh_out_flush(&v->out, v->fd) < 0) {
			/* The guest end is gone; what it sent before is still read. */
			v->out.off = v->out.len = 0;
			v->stdin_open = false;
		}
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			rc = vsh_in_fill(&v->in, v->fd);
			if (rc == 0 || (rc < 0 && rc != -EAGAIN && rc != -ENOBUFS)) {
				while (vsh_in_next(&v->in, VSH_FROM_GUEST, &m) == 1 && vshcmd_handle(v, &m) == 0)
					;
				if (v->status >= 0)
					return v->status;
				if (!v->heard) {
					fprintf(stderr, "vmm: %s: vshd did not answer (not running in the guest?)\r\n", v->sock);
					return CTLCMD_EXIT_NOGUEST;
				}
				fprintf(stderr, "vmm: %s: connection to the guest ended before the exit status\r\n", v->sock);
				return CTLCMD_EXIT_LOST;
			}
		}
	}
}

int vshcmd_main(const char *sock, int argc, char **argv, int timeout_ms)
{
	static struct vshcmd v;
	struct rpc_status st;
	vmctl_OpenShellResponse resp;
	sigset_t sigs;
	int rc;

	memset(&v, 0, sizeof(v));
	v.sock = sock;
	v.status = -1;
	v.stdin_open = true;
	if (argc && strcmp(argv[0], "--"))
		return ctlcmd_usage("sh: unexpected argument '%s' (the command goes after --)", argv[0]);
	if (argc) {
		argc--;
		argv++;
		if (!argc)
			return ctlcmd_usage("sh: missing command after --%s", "");
	}
	if ((unsigned)argc > VSH_MAX_ARGS)
		return ctlcmd_usage("sh: too many arguments (max %s)", "32");
	for (int i = 0; i < argc; i++)
		if (!argv[i][0])
			return ctlcmd_usage("sh: empty argument%s", "");
	v.tty = isatty(STDIN_FILENO);
	/* Checked before connecting: the whole OPEN must fit one message. */
	rc = vshcmd_send_open(&v, argc, argv);
	if (rc < 0)
		return ctlcmd_usage("sh: command line too long for one vsh message (%s bytes at most)", "4096");

	v.fd = ctlcmd_connect(sock);
	if (v.fd < 0)
		return -v.fd;
	rc = ctlcmd_call_fd(v.fd, sock, &proto_vmctl_methods[PROTO_VMCTL_OPEN_SHELL], &(vmctl_OpenShellRequest){ 0 },
			    &resp, timeout_ms, &st);
	if (rc == 0 && st.code != RPC_OK) {
		fprintf(stderr, "vmm: sh: %s\n", st.msg);
		rc = st.code == RPC_UNIMPLEMENTED ? CTLCMD_EXIT_FAILURE : CTLCMD_EXIT_NOGUEST;
	}
	if (rc) {
		close(v.fd);
		return rc;
	}

	/* Signals arrive through a signalfd so none is lost between poll()s:
	 * HUP/TERM/INT/QUIT are forwarded, WINCH becomes a window size. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGQUIT);
	sigaddset(&sigs, SIGWINCH);
	sigaddset(&sigs, SIGPIPE);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	sigdelset(&sigs, SIGPIPE);
	v.sigfd = signalfd(-1, &sigs, SFD_NONBLOCK | SFD_CLOEXEC);
	if (v.sigfd < 0) {
		fprintf(stderr, "vmm: sh: signalfd: %s\n", strerror(errno));
		close(v.fd);
		return CTLCMD_EXIT_FAILURE;
	}
	if (v.tty && (rc = vshcmd_raw(&v)) < 0) {
		fprintf(stderr, "vmm: sh: cannot put the terminal in raw mode: %s\n", strerror(-rc));
		close(v.sigfd);
		close(v.fd);
		return CTLCMD_EXIT_FAILURE;
	}
	rc = vshcmd_loop(&v);
	vshcmd_restore(&v);
	close(v.sigfd);
	close(v.fd);
	return rc;
}
