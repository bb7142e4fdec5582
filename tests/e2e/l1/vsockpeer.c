/* The host side of the hostile guest's vsock cases (tests/native/hostile.sh,
 * docs/HOSTILE.md): unix-socket endpoints behind vmm's --vsock PATH.
 *
 *   vsockpeer serve PATH     listen on PATH_5000 (sink: read and discard),
 *                            PATH_5001 (source: write 256 KiB, then read),
 *                            PATH_5002 (close at once), PATH_5003 (never
 *                            read); runs until killed
 *   vsockpeer connect PATH PORT
 *                            host-initiated connections: connect to PATH,
 *                            send "CONNECT PORT\n", again until one is
 *                            answered (40 s at most), keep that one 10 s
 *
 * Exit: 0, 1 on a setup failure (named on stderr), 2 on bad usage. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define NPORTS 4
#define MAXFD 4096
#define SOURCE_BYTES (256 * 1024)

enum { SINK, SOURCE, CLOSE, HOLD };

struct peer {
	struct pollfd pfd[MAXFD];
	int kind[MAXFD];
	unsigned sent[MAXFD];
	unsigned n;
};

static int listen_on(const char *path, unsigned port)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_%u", path, port) >= (int)sizeof(sa.sun_path)) {
		fprintf(stderr, "vsockpeer: %s: path too long\n", path);
		return -1;
	}
	unlink(sa.sun_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4096) < 0) {
		fprintf(stderr, "vsockpeer: %s: %s\n", sa.sun_path, strerror(errno));
		return -1;
	}
	return fd;
}

static void peer_add(struct peer *p, int fd, int kind, short events)
{
	if (p->n >= MAXFD) {
		close(fd);
		return;
	}
	p->pfd[p->n] = (struct pollfd){ .fd = fd, .events = events };
	p->kind[p->n] = kind;
	p->sent[p->n] = 0;
	p->n++;
}

static void peer_drop(struct peer *p, unsigned i)
{
	close(p->pfd[i].fd);
	p->n--;
	p->pfd[i] = p->pfd[p->n];
	p->kind[i] = p->kind[p->n];
	p->sent[i] = p->sent[p->n];
}

static int serve(const char *path)
{
	static struct peer p;
	static char buf[65536];
	struct rlimit rl = { MAXFD + 64, MAXFD + 64 };

	setrlimit(RLIMIT_NOFILE, &rl);
	memset(buf, 'P', sizeof(buf));
	for (unsigned k = 0; k < NPORTS; k++) {
		int fd = listen_on(path, 5000 + k);
		if (fd < 0)
			return 1;
		peer_add(&p, fd, -1 - (int)k, POLLIN);
	}
	for (;;) {
		if (poll(p.pfd, p.n, -1) < 0 && errno != EINTR)
			return 1;
		for (unsigned i = 0; i < p.n; i++) {
			struct pollfd *f = &p.pfd[i];
			if (!f->revents)
				continue;
			if (p.kind[i] < 0) {
				int kind = -1 - p.kind[i], fd;
				while ((fd = accept4(f->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
					if (kind == CLOSE)
						close(fd);
					else
						peer_add(&p, fd, kind, kind == HOLD ? 0 : kind == SOURCE ? POLLIN | POLLOUT : POLLIN);
				}
				continue;
			}
			if (f->revents & POLLOUT) {
				ssize_t n = send(f->fd, buf, SOURCE_BYTES - p.sent[i] < sizeof(buf) ? SOURCE_BYTES - p.sent[i]
												  : sizeof(buf), MSG_NOSIGNAL);
				if (n > 0)
					p.sent[i] += (unsigned)n;
				if (n < 0 && errno != EAGAIN) {
					peer_drop(&p, i--);
					continue;
				}
				if (p.sent[i] >= SOURCE_BYTES)
					f->events = POLLIN;
			}
			if (f->revents & (POLLIN | POLLHUP | POLLERR)) {
				ssize_t n = read(f->fd, buf, sizeof(buf));
				memset(buf, 'P', sizeof(buf));
				if (n == 0 || (n < 0 && errno != EAGAIN))
					peer_drop(&p, i--);
			}
		}
	}
}

/* vmm drops host connections whose REQUEST the guest has not answered
 * within 2 s, and all of them when the driver (re)starts the device: keep
 * connecting until one is answered (OK line) or refused after the guest
 * saw it, for at most 40 s. */
static int connect_to(const char *path, const char *port)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char line[32];
	time_t end = time(NULL) + 40;

	if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path) >= (int)sizeof(sa.sun_path))
		return 2;
	int n = snprintf(line, sizeof(line), "CONNECT %s\n", port);
	while (time(NULL) < end) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return 1;
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 && write(fd, line, (size_t)n) == n) {
			struct pollfd p = { .fd = fd, .events = POLLIN };
			char buf[64];
			if (poll(&p, 1, 5000) > 0 && read(fd, buf, sizeof(buf)) > 0) {
				sleep(10);  /* answered: keep it open a while */
				close(fd);
				return 0;
			}
		}
		close(fd);
		nanosleep(&(struct timespec){ 0, 200000000 }, NULL);
	}
	fprintf(stderr, "vsockpeer: no answer from %s\n", path);
	return 1;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "serve"))
		return serve(argv[2]);
	if (argc == 4 && !strcmp(argv[1], "connect"))
		return connect_to(argv[2], argv[3]);
	fprintf(stderr, "usage: vsockpeer serve PATH | vsockpeer connect PATH PORT\n");
	return 2;
}
