/* vsock_selfconnect [PORT]: from inside the guest, try to talk to the guest's
 * own Maitred service (default port 8888) through vsock loopback, the way a
 * hostile guest process would, and report what happened:
 *
 *   E2E-GUEST: loopback=ok          control: a listener of our own on another
 *                                   port is reachable via VMADDR_CID_LOCAL, so
 *                                   loopback works and a refusal below means
 *                                   init refused us
 *   E2E-GUEST: local=refused|ANSWERED   connect to CID 1 (VMADDR_CID_LOCAL)
 *   E2E-GUEST: own=refused|ANSWERED     connect to the guest's own CID
 *
 * "refused" covers a failed connect and a connection closed without a
 * response to a GetInfo request (frame per proto/README.md, written by hand:
 * this helper does not link the RPC library). Exit 0 when both are refused
 * and the control worked, 1 when init answered, 3 when loopback itself does
 * not work, 2 on usage errors. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif
#define CONTROL_PORT 47123

static int vconnect(unsigned cid, unsigned port)
{
	struct sockaddr_vm sa;
	int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	memset(&sa, 0, sizeof(sa));
	sa.svm_family = AF_VSOCK;
	sa.svm_cid = cid;
	sa.svm_port = port;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	return fd;
}

/* Send a GetInfo request (method 0x00010006, stream 1, empty message) and
 * wait up to 3 s for any byte back. 1: answered, 0: closed/reset/silent. */
static int probe(unsigned cid, unsigned port, const char *what)
{
	static const unsigned char req[] = {
		0, 0, 0, 4,  0, 0, 0, 1,  1, 0,  0, 1, 0, 6,
	};
	struct pollfd p;
	unsigned char b;
	int fd = vconnect(cid, port), r;

	if (fd < 0) {
		printf("E2E-GUEST: %s=refused connect=%s\n", what, strerror(-fd));
		return 0;
	}
	if (write(fd, req, sizeof(req)) != (ssize_t)sizeof(req)) {
		printf("E2E-GUEST: %s=refused write=%s\n", what, strerror(errno));
		close(fd);
		return 0;
	}
	p.fd = fd;
	p.events = POLLIN;
	r = poll(&p, 1, 3000);
	if (r == 1 && read(fd, &b, 1) == 1) {
		printf("E2E-GUEST: %s=ANSWERED\n", what);
		close(fd);
		return 1;
	}
	printf("E2E-GUEST: %s=refused after_connect=%s\n", what, r == 0 ? "silent" : "closed");
	close(fd);
	return 0;
}

/* Our own listener on CONTROL_PORT, reached through CID 1. */
static int control(void)
{
	struct sockaddr_vm sa;
	int l = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0), c, a;
	char b = 0;

	if (l < 0)
		return -errno;
	memset(&sa, 0, sizeof(sa));
	sa.svm_family = AF_VSOCK;
	sa.svm_cid = VMADDR_CID_ANY;
	sa.svm_port = CONTROL_PORT;
	if (bind(l, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(l, 1) < 0) {
		close(l);
		return -errno;
	}
	c = vconnect(VMADDR_CID_LOCAL, CONTROL_PORT);
	if (c < 0) {
		close(l);
		return c;
	}
	a = accept(l, NULL, NULL);
	if (a < 0 || write(c, "x", 1) != 1 || read(a, &b, 1) != 1 || b != 'x') {
		close(l);
		close(c);
		if (a >= 0)
			close(a);
		return -EIO;
	}
	close(a);
	close(c);
	close(l);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned port = 8888, own = 0;
	int fd, r, answered = 0;

	if (argc > 2 || (argc == 2 && (port = (unsigned)strtoul(argv[1], NULL, 10)) == 0)) {
		fprintf(stderr, "usage: vsock_selfconnect [PORT]\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	r = control();
	printf("E2E-GUEST: loopback=%s\n", r == 0 ? "ok" : strerror(-r));
	answered |= probe(VMADDR_CID_LOCAL, port, "local");
	fd = open("/dev/vsock", O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && ioctl(fd, IOCTL_VM_SOCKETS_GET_LOCAL_CID, &own) == 0 && own > 2) {
		char what[32];

		snprintf(what, sizeof(what), "own");
		printf("E2E-GUEST: own_cid=%u\n", own);
		answered |= probe(own, port, what);
	} else {
		printf("E2E-GUEST: own=unknown_cid\n");
	}
	if (fd >= 0)
		close(fd);
	if (answered)
		return 1;
	return r == 0 ? 0 : 3;
}
