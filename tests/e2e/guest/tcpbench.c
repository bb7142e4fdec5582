/* tcpbench: one timed TCP stream for the network benchmark
 * (scripts/bench/net.sh), run in L1 and in the guests.
 *   tcpbench recv PORT [-]        accept one connection on PORT, read to
 *                                 EOF (with "-": copy it to stdout), close
 *   tcpbench send HOST PORT MIB|- connect (retrying for 60 s while
 *                                 refused), write MIB MiB of zeros (or
 *                                 stdin to its end), half-close, wait for
 *                                 the peer's EOF
 * Both print "bytes=N secs=S mibps=R" (on stderr when stdout carries the
 * data), the clock running from the connection's establishment to its end
 * (CLOCK_MONOTONIC). Exit 0, 1 on an I/O error, 2 on bad arguments. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (64 * 1024)

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int die(const char *what)
{
	fprintf(stderr, "tcpbench: %s: %s\n", what, strerror(errno));
	return 1;
}

static void report(FILE *f, unsigned long long bytes, double secs)
{
	fprintf(f, "bytes=%llu secs=%.3f mibps=%.1f\n", bytes, secs, secs > 0 ? (double)bytes / 1048576.0 / secs : 0.0);
}

/* Write all of buf to fd. 0 or -1. */
static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static int bench_recv(int port, bool out)
{
	static char buf[CHUNK];
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	unsigned long long bytes = 0;
	int one = 1, l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), c;
	double t0;
	ssize_t n;

	if (l < 0 || setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, 1) < 0)
		return die("listen");
	c = accept(l, NULL, NULL);
	if (c < 0)
		return die("accept");
	t0 = now();
	while ((n = read(c, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return die("read");
		}
		bytes += (unsigned long long)n;
		if (out && write_all(1, buf, (size_t)n) < 0)
			return die("stdout");
	}
	report(out ? stderr : stdout, bytes, now() - t0);
	close(c);
	return 0;
}

static int bench_send(const char *host, int port, unsigned long mib, bool from_stdin)
{
	static char buf[CHUNK];
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	unsigned long long left = (unsigned long long)mib << 20, bytes = 0;
	double t0, give_up = now() + 60;
	int s = -1;

	if (inet_pton(AF_INET, host, &a.sin_addr) != 1)
		return 2;
	for (;;) {
		s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (s < 0)
			return die("socket");
		if (connect(s, (struct sockaddr *)&a, sizeof(a)) == 0)
			break;
		if ((errno != ECONNREFUSED && errno != EHOSTUNREACH && errno != ENETUNREACH) || now() > give_up)
			return die("connect");
		close(s);
		usleep(200000);
	}
	t0 = now();
	for (;;) {
		size_t len = sizeof(buf);
		if (from_stdin) {
			ssize_t n = read(0, buf, sizeof(buf));
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return die("stdin");
			len = (size_t)n;
		} else if (left < len) {
			len = (size_t)left;
		}
		if (len == 0)
			break;
		if (write_all(s, buf, len) < 0)
			return die("write");
		bytes += len;
		if (!from_stdin)
			left -= len;
	}
	/* The receiver has everything once it closes its side. */
	shutdown(s, SHUT_WR);
	while (read(s, buf, sizeof(buf)) > 0)
		;
	report(stdout, bytes, now() - t0);
	close(s);
	return 0;
}

int main(int argc, char **argv)
{
	if ((argc == 3 || (argc == 4 && !strcmp(argv[3], "-"))) && !strcmp(argv[1], "recv"))
		return bench_recv(atoi(argv[2]), argc == 4);
	if (argc == 5 && !strcmp(argv[1], "send"))
		return bench_send(argv[2], atoi(argv[3]), strtoul(argv[4], NULL, 10), !strcmp(argv[4], "-"));
	fprintf(stderr, "usage: tcpbench recv PORT [-] | tcpbench send HOST PORT MIB|-\n");
	return 2;
}
