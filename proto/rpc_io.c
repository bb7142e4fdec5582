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

ssize_t rpc_read_full(int fd, void *buf, size_t len, int64_t deadline)
{
	uint8_t *p = buf;
	size_t got = 0;

	while (got < len) {
		/* With a deadline, never enter a read() that could block past it. */
		if (deadline >= 0) {
			int r = rpc_io_wait(fd, POLLIN, deadline);
			if (r < 0)
				return r;
		}
		ssize_t n = read(fd, p + got, len - got);
		if (n > 0) {
			got += (size_t)n;
		} else if (n == 0) {
			break;
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
		if (deadline >= 0) {
			int r = rpc_io_wait(fd, POLLOUT, deadline);
			if (r < 0)
				return r;
		}
		/* send(MSG_NOSIGNAL) so a vanished peer is -EPIPE, not a signal
		 * that kills the caller; MSG_DONTWAIT so a blocking socket cannot
		 * hold us past the deadline inside one big send(). write() for
		 * fds that are not sockets (a blocking pipe may then block). */
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
