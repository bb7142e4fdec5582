/* bootbench: time a VMM's boot of a guest, measured the same way for any
 * VMM, from the exec of the VMM to events the parent observes.
 *
 *   bootbench [-d FIFO] [-m MARKER] [-t SECS] -- CMD [ARG...]
 *
 * Runs CMD with stdout and stderr on pipes and records, in milliseconds since
 * just before fork+exec (CLOCK_MONOTONIC):
 *   init_ms    first stdout line containing MARKER (default "BENCH-INIT"):
 *              the guest's /init has run and its console output got out;
 *   port_ms    the boot-time port write became visible: a "boot-time:" line
 *              on stderr (our vmm) or the byte 123 read from FIFO (-d; QEMU
 *              with an isa-debugcon at 0x3f0 writing to that FIFO);
 *   self_ms    the number in the VMM's own "boot-time: N ms since exec";
 *   exit_ms    the VMM exited (the guest reset itself after the marker).
 * Prints one line "init_ms=.. port_ms=.. self_ms=.. exit_ms=.. status=.."
 * ("-" for events that did not happen) and exits 0 if CMD exited 0 and the
 * init marker was seen, 1 otherwise. An empty MARKER (-m '') expects none:
 * then only exit_ms counts (e.g. a `vmm exec` round trip). CMD's output is
 * kept in memory only for matching, and its last 4 KiB go to stderr when
 * the run failed; a timeout (-t, default 600) kills CMD. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct linebuf {
	char buf[4096];
	size_t len;
};

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Append data and hand every complete line (or a full buffer) to match. */
static void feed(struct linebuf *lb, const char *data, size_t n,
		 void (*match)(const char *line, void *arg), void *arg)
{
	for (size_t i = 0; i < n; i++) {
		if (data[i] == '\n' || lb->len == sizeof(lb->buf) - 1) {
			lb->buf[lb->len] = '\0';
			match(lb->buf, arg);
			lb->len = 0;
			if (data[i] == '\n')
				continue;
		}
		lb->buf[lb->len++] = data[i];
	}
}

/* The last sizeof(buf) bytes CMD wrote (stdout and stderr interleaved). */
struct tail {
	char buf[4096];
	size_t pos;
	int wrapped;
};

static void tail_add(struct tail *t, const char *data, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		t->buf[t->pos++] = data[i];
		if (t->pos == sizeof(t->buf)) {
			t->pos = 0;
			t->wrapped = 1;
		}
	}
}

static void tail_dump(const struct tail *t)
{
	if (t->wrapped)
		fwrite(t->buf + t->pos, 1, sizeof(t->buf) - t->pos, stderr);
	fwrite(t->buf, 1, t->pos, stderr);
	fputc('\n', stderr);
}

struct result {
	double t0, init_ms, port_ms, self_ms, exit_ms;
	const char *marker;
};

static void match_out(const char *line, void *arg)
{
	struct result *r = arg;

	if (r->init_ms < 0 && r->marker[0] && strstr(line, r->marker))
		r->init_ms = now_ms() - r->t0;
}

static void match_err(const char *line, void *arg)
{
	struct result *r = arg;
	const char *p = strstr(line, "boot-time:");

	if (p && r->port_ms < 0) {
		r->port_ms = now_ms() - r->t0;
		r->self_ms = strtod(p + strlen("boot-time:"), NULL);
	}
}

static void print_ms(const char *key, double v)
{
	if (v < 0)
		printf("%s=- ", key);
	else
		printf("%s=%.0f ", key, v);
}

int main(int argc, char **argv)
{
	const char *fifo = NULL;
	unsigned timeout = 600;
	struct result r = { .init_ms = -1, .port_ms = -1, .self_ms = -1, .exit_ms = -1,
			    .marker = "BENCH-INIT" };
	int opt, out[2], err[2], dfd = -1, st = 0;
	struct linebuf lo = { .len = 0 }, le = { .len = 0 };
	static struct tail tl;
	int killed = 0;

	while ((opt = getopt(argc, argv, "+d:m:t:")) != -1) {
		switch (opt) {
		case 'd': fifo = optarg; break;
		case 'm': r.marker = optarg; break;
		case 't': timeout = (unsigned)strtoul(optarg, NULL, 10); break;
		default: goto usage;
		}
	}
	if (optind >= argc || timeout == 0) {
usage:
		fprintf(stderr, "usage: bootbench [-d FIFO] [-m MARKER] [-t SECS] -- CMD [ARG...]\n");
		return 2;
	}
	if (fifo) {
		/* Open before the VMM so its blocking open for writing completes. */
		dfd = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		if (dfd < 0) {
			fprintf(stderr, "bootbench: %s: %s\n", fifo, strerror(errno));
			return 1;
		}
	}
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
		perror("bootbench: pipe");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	r.t0 = now_ms();
	pid_t pid = fork();
	if (pid < 0) {
		perror("bootbench: fork");
		return 1;
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY);
		dup2(devnull, 0);
		dup2(out[1], 1);
		dup2(err[1], 2);
		execvp(argv[optind], argv + optind);
		fprintf(stderr, "bootbench: %s: %s\n", argv[optind], strerror(errno));
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	int open_fds = 2;
	while (open_fds > 0) {
		struct pollfd p[3] = {
			{ .fd = out[0], .events = POLLIN },
			{ .fd = err[0], .events = POLLIN },
			{ .fd = dfd, .events = POLLIN },
		};
		double left = timeout * 1e3 - (now_ms() - r.t0);
		if (left <= 0) {
			fprintf(stderr, "bootbench: timeout after %u s, killing %s\n", timeout, argv[optind]);
			kill(pid, SIGKILL);
			killed = 1;
			break;
		}
		int n = poll(p, 3, (int)(left > 1000 ? 1000 : left));
		if (n < 0 && errno != EINTR) {
			perror("bootbench: poll");
			break;
		}
		char buf[4096];
		for (int i = 0; i < 3 && n > 0; i++) {
			if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			ssize_t k = read(p[i].fd, buf, sizeof(buf));
			if (i == 2) {
				/* FIFO: writer not open yet / closed reads 0; keep polling
				 * only while data may come. */
				for (ssize_t j = 0; j < k; j++)
					if ((unsigned char)buf[j] == 123 && r.port_ms < 0)
						r.port_ms = now_ms() - r.t0;
				if (k == 0 && (p[i].revents & POLLHUP)) {
					close(dfd);
					dfd = -1;
				}
				continue;
			}
			if (k <= 0) {
				close(p[i].fd);
				if (i == 0)
					out[0] = -1;
				else
					err[0] = -1;
				open_fds--;
				continue;
			}
			tail_add(&tl, buf, (size_t)k);
			if (i == 0)
				feed(&lo, buf, (size_t)k, match_out, &r);
			else
				feed(&le, buf, (size_t)k, match_err, &r);
		}
	}
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	r.exit_ms = now_ms() - r.t0;
	print_ms("init_ms", r.init_ms);
	print_ms("port_ms", r.port_ms);
	print_ms("self_ms", r.self_ms);
	print_ms("exit_ms", r.exit_ms);
	printf("status=%d\n", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	fflush(stdout);
	int ok = !killed && WIFEXITED(st) && WEXITSTATUS(st) == 0 &&
		 (r.init_ms >= 0 || !r.marker[0]);
	if (!ok) {
		fprintf(stderr, "bootbench: %s failed%s; the end of its output:\n", argv[optind],
			killed ? " (timeout)" : "");
		tail_dump(&tl);
	}
	return ok ? 0 : 1;
}
