/* vshd: the guest half of `vmm sh` (docs/AGENTS.md "vsh"). Listens on
 * vsock port VSH_PORT, accepts the host (CID 2) only, and serves each
 * connection in a forked process (vshd_session.c).
 *
 * Privileges: vshd is a root shell service, so it keeps what a root login
 * needs: uid 0, every capability, and no no_new_privs (setuid programs must
 * work in the shell). agent_jail() would take exactly that away, so vshd
 * does not call it; it limits what reaches it instead: only CID 2, at most
 * VSHD_MAX_SESSIONS at once, OPEN within a deadline, bounded messages parsed
 * in the per-connection process, and a clean environment, signal state and
 * fd table for the command.
 *
 *   vshd [--port N] [--shell PATH]
 * Exit: 100 usage, 111 system failure (tini/s6 conventions). */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

#include "guest-agents/common/agent.h"
#include "guest-agents/vsh/vshd_session.h"
#include "proto/vsh.h"

_Static_assert(VSH_PORT == AGENT_PORT_VSH, "proto/vsh.h and the agents' port plan disagree");

#define VSHD_MAX_SESSIONS 16
#define VSHD_EXIT_USAGE 100
#define VSHD_EXIT_SYSTEM 111

struct vshd {
	struct vshd_opts opts;
	uint32_t port;
	int listen_fd, sigfd;
	unsigned sessions;
};

static int vshd_usage(const char *what, const char *arg)
{
	fprintf(stderr, "vshd: %s '%s'\nusage: vshd [--port N] [--shell PATH]\n", what, arg);
	return VSHD_EXIT_USAGE;
}

static int vshd_args(struct vshd *d, int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--port") && i + 1 < argc) {
			char *end;
			unsigned long v = strtoul(argv[++i], &end, 10);
			if (!*argv[i] || *end || v == 0 || v >= 0xffffffffUL)
				return vshd_usage("--port: expected a vsock port 1..4294967294, got", argv[i]);
			d->port = (uint32_t)v;
		} else if (!strcmp(argv[i], "--shell") && i + 1 < argc) {
			if (argv[++i][0] != '/')
				return vshd_usage("--shell: expected an absolute path, got", argv[i]);
			d->opts.shell = argv[i];
		} else {
			return vshd_usage("unknown argument", argv[i]);
		}
	}
	return 0;
}

static int vshd_listen(uint32_t port)
{
	struct sockaddr_vm sa = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY, .svm_port = port };
	int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 8) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	return fd;
}

static void vshd_reap(struct vshd *d)
{
	struct signalfd_siginfo si;

	while (read(d->sigfd, &si, sizeof(si)) > 0)
		;
	while (waitpid(-1, NULL, WNOHANG) > 0)
		if (d->sessions)
			d->sessions--;
}

static void vshd_accept(struct vshd *d)
{
	struct sockaddr_vm sa;
	socklen_t len = sizeof(sa);
	int fd = accept4(d->listen_fd, (struct sockaddr *)&sa, &len, SOCK_CLOEXEC);
	pid_t pid;

	if (fd < 0)
		return;
	/* virtio 1.2 §5.10.4: the host is CID 2. Guest processes (loopback,
	 * CID 1 or our own CID) must not get a root shell this way. */
	if (len < sizeof(sa) || sa.svm_family != AF_VSOCK || sa.svm_cid != AGENT_HOST_CID) {
		fprintf(stderr, "vshd: refused a connection from CID %u port %u (only the host, CID 2, may connect)\n",
			(unsigned)sa.svm_cid, (unsigned)sa.svm_port);
		close(fd);
		return;
	}
	if (d->sessions >= VSHD_MAX_SESSIONS) {
		fprintf(stderr, "vshd: %d sessions already, refusing one\n", VSHD_MAX_SESSIONS);
		close(fd);
		return;
	}
	pid = fork();
	if (pid == 0) {
		int rc;

		close(d->listen_fd);
		close(d->sigfd);
		rc = vshd_session_run(fd, &d->opts);
		if (rc < 0 && rc != -ECONNRESET && rc != -EPIPE)
			fprintf(stderr, "vshd: session from port %u: %s\n", (unsigned)sa.svm_port, strerror(-rc));
		_exit(rc < 0 ? 1 : 0);
	}
	if (pid > 0)
		d->sessions++;
	else
		fprintf(stderr, "vshd: fork: %s\n", strerror(errno));
	close(fd);
}

int main(int argc, char **argv)
{
	static struct vshd d = {
		.opts = { .shell = "/bin/sh", .open_timeout_ms = 10000, .drain_timeout_ms = 10000 },
		.port = VSH_PORT,
	};
	sigset_t chld;
	int rc = vshd_args(&d, argc, argv);

	if (rc)
		return rc;
	/* A host that goes away mid-write must not kill us. */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	d.sigfd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
	d.listen_fd = vshd_listen(d.port);
	if (d.sigfd < 0 || d.listen_fd < 0) {
		fprintf(stderr, "vshd: cannot listen on vsock port %u: %s\n", (unsigned)d.port,
			strerror(d.listen_fd < 0 ? -d.listen_fd : errno));
		return VSHD_EXIT_SYSTEM;
	}
	fprintf(stderr, "vshd: listening on vsock port %u\n", (unsigned)d.port);
	for (;;) {
		struct pollfd p[2] = { { .fd = d.listen_fd, .events = POLLIN }, { .fd = d.sigfd, .events = POLLIN } };

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "vshd: poll: %s\n", strerror(errno));
			return VSHD_EXIT_SYSTEM;
		}
		if (p[1].revents)
			vshd_reap(&d);
		if (p[0].revents)
			vshd_accept(&d);
	}
}
