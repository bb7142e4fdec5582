/* Blocking I/O loops for the RPC framing: a frame is only ever handled whole,
 * so every read and write here loops over short transfers and EINTR. */
#include "proto/rpc.h"

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int64_t rpc_io_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t rpc_deadline(int timeout_ms)
{
	return timeout_ms < 0 ? -1 : rpc_io_now() + timeout_ms;
}

/* poll() for events until the deadline; 0 when ready (including error and
 * hang-up conditions, which the following read/write reports). */
static int rpc_io_wait(int fd, short events, int64_t deadline)
{
	for (;;) {
		int tmo = -1;
		if (deadline >= 0) {
			int64_t left = deadline - rpc_io_now();
			if (left <= 0)
				return -ETIMEDOUT;
			tmo = left > 1000000 ? 1000000 : (int)left;
		}
		struct pollfd p = { .fd = fd, .events = events };
		int n = poll(&p, 1, tmo);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -errno;
	}
}

int rpc_wait_readable(int fd, int64_t deadline)
{
	return rpc_io_wait(fd, POLLIN, deadline);
}

/* One read that never blocks when a deadline is set: recv(MSG_DONTWAIT) on
 * sockets, so data already queued costs one syscall and no poll(); other fds
 * (pipes) are polled first, since a read() on a blocking pipe could sleep
 * past the deadline. *sock tracks whether fd is a socket. */
static ssize_t rpc_io_read_some(int fd, uint8_t *p, size_t len, int64_t deadline, int *sock)
{
	if (deadline < 0)
		return read(fd, p, len);
	if (*sock) {
		ssize_t n = recv(fd, p, len, MSG_DONTWAIT);
		if (n >= 0 || errno != ENOTSOCK)
			return n;
		*sock = 0;
	}
	int r = rpc_io_wait(fd, POLLIN, deadline);
	if (r < 0) {
		errno = -r;
		return -1;
	}
	return read(fd, p, len);
}

ssize_t rpc_read_full(int fd, void *buf, size_t len, int64_t deadline)
{
	uint8_t *p = buf;
	size_t got = 0;
	int sock = 1;

	while (got < len) {
		ssize_t n = rpc_io_read_some(fd, p + got, len - got, deadline, &sock);
		if (n > 0) {
			got += (size_t)n;
		} else if (n == 0) {
			break;
		} else if (errno == ETIMEDOUT) {
			return -ETIMEDOUT;
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			int r = rpc_io_wait(fd, POLLIN, deadline);
			if (r < 0)
				return r;
		} else if (errno != EINTR) {
			return -errno;
		}
	}
	return (ssize_t)got;
}

int rpc_write_full(int fd, const void *buf, size_t len, int64_t deadline)
{
	const uint8_t *p = buf;
	size_t done = 0;
	int sock = 1;

	while (done < len) {
		/* A pipe may block in write(): with a deadline, wait first. */
		if (!sock && deadline >= 0) {
			int r = rpc_io_wait(fd, POLLOUT, deadline);
			if (r < 0)
				return r;
		}
		/* send(MSG_NOSIGNAL) so a vanished peer is -EPIPE, not a signal
		 * that kills the caller; MSG_DONTWAIT so a blocking socket cannot
		 * hold us past the deadline inside one big send(), and so the
		 * common case (room in the socket buffer) needs no poll(). write()
		 * for fds that are not sockets. */
		ssize_t n = sock ? send(fd, p + done, len - done, MSG_NOSIGNAL | MSG_DONTWAIT)
				 : write(fd, p + done, len - done);
		if (n >= 0) {
			done += (size_t)n;
		} else if (errno == ENOTSOCK && sock) {
			sock = 0;
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			int r = rpc_io_wait(fd, POLLOUT, deadline);
			if (r < 0)
				return r;
		} else if (errno != EINTR) {
			return -errno;
		}
	}
	return 0;
}
