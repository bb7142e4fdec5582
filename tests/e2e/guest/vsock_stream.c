/* vsock streaming peer for the vsock_* e2e scenarios, both ends in one
 * static binary (built by tests/e2e/run into $O/e2e/vsock_stream).
 *
 * Guest side (AF_VSOCK):
 *   vsock_stream serve PORT        accept connections forever, one child each;
 *                                  per connection a 1-byte command:
 *     'R' <u64 N> <N bytes>        sink: reply "SUM <hex> <count>\n"
 *     'W' <u64 N>                  source: send N pattern bytes, then EOF
 *     'E' <bytes...>               echo until EOF, then EOF
 *     'Q'                          sync and reset the VM (reboot=k: vmm exits 0)
 *   vsock_stream gsend PORT N      connect to the host (CID 2) PORT, send N
 *                                  pattern bytes, half-close, print the host's
 *                                  reply line; exit 0 when it matches
 *   vsock_stream gconnect PORT     connect to the host PORT and report
 *                                  "refused" (exit 0) or "connected" (exit 1)
 * Host side (the vmm's --vsock unix socket, "CONNECT <port>\n" handshake):
 *   vsock_stream hsend PATH PORT N     'R': N bytes to the guest, compare SUM
 *   vsock_stream hrecv PATH PORT N     'W': N bytes from the guest, verify
 *   vsock_stream hmany PATH PORT K SZ  K connections at once, each echoing SZ
 *                                      bytes of its own pattern
 *   vsock_stream hquit PATH PORT       'Q': end the guest
 *   vsock_stream hsink LISTENPATH N    accept one connection on LISTENPATH
 *                                      (the vmm's PATH_<port>), expect N
 *                                      pattern bytes, answer "SUM ..."
 * Host-side commands retry the handshake for up to 60 s (the guest may still
 * be booting) and print one line of result; exit 0 on success.
 *
 * The pattern is xorshift64 words; the checksum FNV-1a 64 over the bytes. */
#include <errno.h>
#include <fcntl.h>
#include <linux/vm_sockets.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (64u << 10)

struct pat {
	uint64_t s;
	uint8_t w[8];
	unsigned used;
};

static void pat_init(struct pat *p, uint64_t seed)
{
	p->s = seed * 0x9e3779b97f4a7c15ull + 1;
	p->used = 8;
}

static void pat_fill(struct pat *p, uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p->used == 8) {
			p->s ^= p->s << 13;
			p->s ^= p->s >> 7;
			p->s ^= p->s << 17;
			memcpy(p->w, &p->s, 8);
			p->used = 0;
		}
		b[i] = p->w[p->used++];
	}
}

static uint64_t fnv(uint64_t h, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}
#define FNV0 0xcbf29ce484222325ull

static int write_full(int fd, const void *b, size_t n)
{
	while (n) {
		ssize_t r = write(fd, b, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		b = (const char *)b + r;
		n -= (size_t)r;
	}
	return 0;
}

static ssize_t read_full(int fd, void *b, size_t n)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = read(fd, (char *)b + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

/* Read a line (without consuming past '\n'), byte by byte. */
static int read_line(int fd, char *buf, size_t cap)
{
	size_t n = 0;
	while (n + 1 < cap) {
		ssize_t r = read(fd, buf + n, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		if (buf[n] == '\n') {
			buf[n] = 0;
			return 0;
		}
		n++;
	}
	return -1;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Wait until fd is ready for events; every STALL_S seconds without it,
 * say where the stream `who` stands (a stall shows in the logs while it
 * lasts, not only when a timeout kills us). */
#define STALL_S 30
static void wait_ready(int fd, short events, const char *who, uint64_t done, uint64_t n)
{
	struct pollfd p = { .fd = fd, .events = events };
	int waited = 0;

	while (poll(&p, 1, STALL_S * 1000) == 0) {
		waited += STALL_S;
		printf("%s: STALL: no progress for %d s at %llu of %llu bytes\n", who, waited,
		       (unsigned long long)done, (unsigned long long)n);
		fflush(stdout);
	}
}

/* Sink N bytes from fd; returns the checksum, *count the bytes seen. */
static uint64_t sink(int fd, uint64_t n, uint64_t *count, const char *who)
{
	static uint8_t buf[CHUNK];
	uint64_t h = FNV0;
	*count = 0;
	while (*count < n) {
		size_t want = n - *count < CHUNK ? (size_t)(n - *count) : CHUNK;
		ssize_t r;

		wait_ready(fd, POLLIN, who, *count, n);
		r = read(fd, buf, want);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		h = fnv(h, buf, (size_t)r);
		*count += (uint64_t)r;
	}
	return h;
}

static int source(int fd, uint64_t n, uint64_t seed, uint64_t *sum, const char *who)
{
	static uint8_t buf[CHUNK];
	struct pat p;
	uint64_t h = FNV0, total = n;
	pat_init(&p, seed);
	while (n) {
		size_t k = n < CHUNK ? (size_t)n : CHUNK;
		pat_fill(&p, buf, k);
		h = fnv(h, buf, k);
		wait_ready(fd, POLLOUT, who, total - n, total);
		if (write_full(fd, buf, k))
			return -1;
		n -= k;
	}
	if (sum)
		*sum = h;
	return 0;
}

static uint64_t expected_sum(uint64_t n, uint64_t seed)
{
	static uint8_t buf[CHUNK];
	struct pat p;
	uint64_t h = FNV0;
	pat_init(&p, seed);
	while (n) {
		size_t k = n < CHUNK ? (size_t)n : CHUNK;
		pat_fill(&p, buf, k);
		h = fnv(h, buf, k);
		n -= k;
	}
	return h;
}

/* ---- guest side ------------------------------------------------------- */

static void serve_one(int c)
{
	static uint8_t buf[CHUNK];
	uint8_t cmd;
	uint64_t n, count, h;
	char line[64];

	if (read_full(c, &cmd, 1) != 1)
		_exit(1);
	switch (cmd) {
	case 'R':
		if (read_full(c, &n, 8) != 8)
			_exit(1);
		h = sink(c, n, &count, "guest sink 'R'");
		snprintf(line, sizeof(line), "SUM %016llx %llu\n", (unsigned long long)h, (unsigned long long)count);
		write_full(c, line, strlen(line));
		break;
	case 'W':
		if (read_full(c, &n, 8) != 8)
			_exit(1);
		if (source(c, n, 2, NULL, "guest source 'W'"))
			_exit(1);
		break;
	case 'E':
		for (;;) {
			ssize_t r = read(c, buf, sizeof(buf));
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0 || write_full(c, buf, (size_t)r))
				break;
		}
		break;
	case 'Q':
		sync();
		reboot(RB_AUTOBOOT);
		_exit(1);
	default:
		_exit(1);
	}
	shutdown(c, SHUT_WR);
	/* Wait for the host's EOF so the close is clean. */
	while (read(c, buf, sizeof(buf)) > 0)
		;
	_exit(0);
}

static int serve(unsigned port)
{
	struct sockaddr_vm sa = { .svm_family = AF_VSOCK, .svm_port = port, .svm_cid = VMADDR_CID_ANY };
	int l = socket(AF_VSOCK, SOCK_STREAM, 0);

	signal(SIGCHLD, SIG_IGN);  /* children are reaped by the kernel */
	if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(l, 256) < 0) {
		perror("vsock_stream: serve");
		return 1;
	}
	printf("vsock_stream: serving port %u\n", port);
	fflush(stdout);
	for (;;) {
		int c = accept(l, NULL, NULL);
		if (c < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			perror("vsock_stream: accept");
			return 1;
		}
		if (fork() == 0) {
			close(l);
			serve_one(c);
		}
		close(c);
	}
}

static int vsock_dial(unsigned port)
{
	struct sockaddr_vm sa = { .svm_family = AF_VSOCK, .svm_port = port, .svm_cid = VMADDR_CID_HOST };
	int fd = socket(AF_VSOCK, SOCK_STREAM, 0);

	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	return fd;
}

static int gsend(unsigned port, uint64_t n)
{
	char line[64], want[64];
	uint64_t h;
	double t0 = now_s();
	int fd = vsock_dial(port);

	if (fd < 0) {
		printf("gsend: connect to host port %u: %s\n", port, strerror(-fd));
		return 1;
	}
	if (source(fd, n, 3, &h, "gsend")) {
		printf("gsend: write: %s\n", strerror(errno));
		return 1;
	}
	shutdown(fd, SHUT_WR);
	wait_ready(fd, POLLIN, "gsend: waiting for the SUM line", n, n);
	if (read_line(fd, line, sizeof(line))) {
		printf("gsend: no reply from the host\n");
		return 1;
	}
	snprintf(want, sizeof(want), "SUM %016llx %llu", (unsigned long long)h, (unsigned long long)n);
	printf("gsend: sent %llu bytes in %.2f s, host says \"%s\", want \"%s\"\n", (unsigned long long)n,
	       now_s() - t0, line, want);
	return strcmp(line, want) != 0;
}

static int gconnect(unsigned port)
{
	int fd = vsock_dial(port);

	if (fd >= 0) {
		printf("gconnect: port %u: connected\n", port);
		return 1;
	}
	printf("gconnect: port %u: refused (%s)\n", port, strerror(-fd));
	return fd == -ECONNRESET || fd == -ECONNREFUSED ? 0 : 1;
}

/* ---- host side -------------------------------------------------------- */

/* Connect to the vmm's socket and do the handshake, retrying while the
 * guest is not answering yet. Returns the fd or -1. */
static int host_dial(const char *path, unsigned port, int quiet)
{
	double t_end = now_s() + 60;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	do {
		char line[64];
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);

		if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			snprintf(line, sizeof(line), "CONNECT %u\n", port);
			if (write_full(fd, line, strlen(line)) == 0 && read_line(fd, line, sizeof(line)) == 0 &&
			    strncmp(line, "OK ", 3) == 0)
				return fd;
		}
		if (fd >= 0)
			close(fd);
		usleep(200000);
	} while (now_s() < t_end);
	if (!quiet)
		printf("host: no handshake with guest port %u through %s within 60 s\n", port, path);
	return -1;
}

static int hsend(const char *path, unsigned port, uint64_t n)
{
	char line[64], want[64];
	uint64_t h;
	double t0;
	int fd = host_dial(path, port, 0);

	if (fd < 0)
		return 1;
	t0 = now_s();
	if (write_full(fd, "R", 1) || write_full(fd, &n, 8) || source(fd, n, 1, &h, "hsend")) {
		printf("hsend: write failed: %s\n", strerror(errno));
		return 1;
	}
	wait_ready(fd, POLLIN, "hsend: waiting for the SUM line", n, n);
	if (read_line(fd, line, sizeof(line))) {
		printf("hsend: no SUM line from the guest\n");
		return 1;
	}
	snprintf(want, sizeof(want), "SUM %016llx %llu", (unsigned long long)h, (unsigned long long)n);
	printf("hsend: %llu bytes host->guest in %.2f s (%.1f MiB/s); guest says \"%s\", want \"%s\"\n",
	       (unsigned long long)n, now_s() - t0, n / 1048576.0 / (now_s() - t0), line, want);
	return strcmp(line, want) != 0;
}

static int hrecv(const char *path, unsigned port, uint64_t n)
{
	uint64_t count, h, want = expected_sum(n, 2);
	double t0;
	char extra;
	int fd = host_dial(path, port, 0);

	if (fd < 0)
		return 1;
	t0 = now_s();
	if (write_full(fd, "W", 1) || write_full(fd, &n, 8)) {
		printf("hrecv: write failed\n");
		return 1;
	}
	h = sink(fd, n, &count, "hrecv");
	printf("hrecv: %llu of %llu bytes guest->host in %.2f s (%.1f MiB/s); sum %016llx, want %016llx\n",
	       (unsigned long long)count, (unsigned long long)n, now_s() - t0, count / 1048576.0 / (now_s() - t0),
	       (unsigned long long)h, (unsigned long long)want);
	if (read(fd, &extra, 1) != 0) {
		printf("hrecv: the guest sent more than asked, or no EOF\n");
		return 1;
	}
	return count != n || h != want;
}

struct hconn {
	int fd;
	uint64_t sent, rcvd;
	struct pat out, chk;
	int bad, done;
};

static int hmany(const char *path, unsigned port, unsigned k, uint64_t size)
{
	static uint8_t buf[CHUNK], exp[CHUNK];
	struct hconn *c = calloc(k, sizeof(*c));
	struct pollfd *p = calloc(k, sizeof(*p));
	unsigned done = 0, bad = 0;
	double t0 = now_s(), t_end = t0 + 600;

	if (!c || !p)
		return 1;
	/* Open them all before any data moves: K connections live at once. */
	for (unsigned i = 0; i < k; i++) {
		c[i].fd = host_dial(path, port, 0);
		if (c[i].fd < 0) {
			printf("hmany: connection %u of %u failed\n", i, k);
			return 1;
		}
		fcntl(c[i].fd, F_SETFL, O_NONBLOCK);
		pat_init(&c[i].out, 100 + i);
		pat_init(&c[i].chk, 100 + i);
		if (write_full(c[i].fd, "E", 1))
			return 1;
	}
	printf("hmany: %u connections open after %.2f s\n", k, now_s() - t0);
	while (done < k && now_s() < t_end) {
		for (unsigned i = 0; i < k; i++) {
			p[i].fd = c[i].done ? -1 : c[i].fd;
			p[i].events = POLLIN | (c[i].sent < size ? POLLOUT : 0);
		}
		if (poll(p, k, 1000) < 0 && errno != EINTR)
			break;
		for (unsigned i = 0; i < k; i++) {
			if (c[i].done)
				continue;
			if ((p[i].revents & POLLOUT) && c[i].sent < size) {
				size_t n = size - c[i].sent < 4096 ? (size_t)(size - c[i].sent) : 4096;
				struct pat save = c[i].out;
				ssize_t w;
				pat_fill(&c[i].out, buf, n);
				w = write(c[i].fd, buf, n);
				if (w < 0) {
					c[i].out = save;
					w = 0;
				} else if ((size_t)w < n) {
					/* Regenerate: keep the pattern position exact. */
					c[i].out = save;
					pat_fill(&c[i].out, buf, (size_t)w);
				}
				c[i].sent += (uint64_t)w;
				if (c[i].sent == size)
					shutdown(c[i].fd, SHUT_WR);
			}
			if (p[i].revents & (POLLIN | POLLHUP | POLLERR)) {
				ssize_t r = read(c[i].fd, buf, sizeof(buf));
				if (r > 0) {
					pat_fill(&c[i].chk, exp, (size_t)r);
					if (memcmp(buf, exp, (size_t)r) != 0)
						c[i].bad = 1;
					c[i].rcvd += (uint64_t)r;
				} else if (r == 0 || errno != EAGAIN) {
					c[i].done = 1;
					done++;
					if (c[i].bad || c[i].rcvd != size) {
						printf("hmany: connection %u: %llu of %llu bytes echoed%s\n", i,
						       (unsigned long long)c[i].rcvd, (unsigned long long)size,
						       c[i].bad ? ", with wrong bytes" : "");
						bad++;
					}
				}
			}
		}
	}
	printf("hmany: %u connections x %llu bytes echoed in %.2f s: %u done, %u bad\n", k,
	       (unsigned long long)size, now_s() - t0, done, bad);
	return done != k || bad != 0;
}

static int hsink(const char *lpath, uint64_t n)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	uint64_t count, h, want = expected_sum(n, 3);
	char line[64];
	int l = socket(AF_UNIX, SOCK_STREAM, 0), c;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", lpath);
	unlink(lpath);
	if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(l, 4) < 0) {
		printf("hsink: %s: %s\n", lpath, strerror(errno));
		return 1;
	}
	printf("hsink: listening on %s\n", lpath);
	fflush(stdout);
	c = accept(l, NULL, NULL);
	if (c < 0)
		return 1;
	h = sink(c, n, &count, "hsink");
	snprintf(line, sizeof(line), "SUM %016llx %llu\n", (unsigned long long)h, (unsigned long long)count);
	write_full(c, line, strlen(line));
	printf("hsink: %llu bytes guest->host, sum %016llx, want %016llx\n", (unsigned long long)count,
	       (unsigned long long)h, (unsigned long long)want);
	return count != n || h != want;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	if (argc == 3 && !strcmp(argv[1], "serve"))
		return serve((unsigned)strtoul(argv[2], NULL, 0));
	if (argc == 4 && !strcmp(argv[1], "gsend"))
		return gsend((unsigned)strtoul(argv[2], NULL, 0), strtoull(argv[3], NULL, 0));
	if (argc == 3 && !strcmp(argv[1], "gconnect"))
		return gconnect((unsigned)strtoul(argv[2], NULL, 0));
	if (argc == 5 && !strcmp(argv[1], "hsend"))
		return hsend(argv[2], (unsigned)strtoul(argv[3], NULL, 0), strtoull(argv[4], NULL, 0));
	if (argc == 5 && !strcmp(argv[1], "hrecv"))
		return hrecv(argv[2], (unsigned)strtoul(argv[3], NULL, 0), strtoull(argv[4], NULL, 0));
	if (argc == 6 && !strcmp(argv[1], "hmany"))
		return hmany(argv[2], (unsigned)strtoul(argv[3], NULL, 0), (unsigned)strtoul(argv[4], NULL, 0),
			     strtoull(argv[5], NULL, 0));
	if (argc == 4 && !strcmp(argv[1], "hquit")) {
		int fd = host_dial(argv[2], (unsigned)strtoul(argv[3], NULL, 0), 0);
		return fd < 0 || write_full(fd, "Q", 1);
	}
	if (argc == 4 && !strcmp(argv[1], "hsink"))
		return hsink(argv[2], strtoull(argv[3], NULL, 0));
	fprintf(stderr, "usage: vsock_stream serve PORT | gsend PORT N | gconnect PORT |\n"
			"       hsend PATH PORT N | hrecv PATH PORT N | hmany PATH PORT K SIZE | hquit PATH PORT |\n"
			"       hsink LISTENPATH N\n");
	return 2;
}
