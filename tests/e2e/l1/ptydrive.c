/* ptydrive: run a command on a new pseudo-terminal and drive it like a
 * person at a terminal would, step by step (the e2e vsh scenario drives
 * `vmm sh` with it; scripts/bench measures keystroke round trips).
 *
 *   ptydrive [-t SECS] [-r ROWS] [-c COLS] [-l LOG] STEP... -- CMD [ARG]...
 *
 * Steps (TEXT takes \r \n \t \\ \xHH escapes):
 *   expect:TEXT   wait until TEXT appears in the output after the previous match
 *   send:TEXT     type TEXT
 *   resize:RxC    set the terminal size (the kernel sends SIGWINCH to CMD)
 *   sleep:MS      pause
 *   rtt:N         N times: type 'x', wait for its echo; then erase them with
 *                 ^U; prints "rtt n=N min_us= p50_us= p90_us= max_us="
 *   exit:N        wait for CMD to exit with status N (128+S for signal S)
 * Every output byte goes to LOG (default: none). Exit 0 when every step
 * passed, 1 with a line naming the failed step and the output tail, 2 usage. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define PTYD_BUF (1u << 20)

struct ptyd {
	int master, log, timeout_ms;
	pid_t pid;
	int status;       /* wait status once exited, -1 before */
	char *buf;        /* all output so far */
	size_t len, mark; /* bytes; where the next expect starts searching */
};

static long long ptyd_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static size_t ptyd_unescape(const char *s, char *out, size_t cap)
{
	size_t n = 0;

	for (; *s && n < cap; s++) {
		if (*s != '\\' || !s[1]) {
			out[n++] = *s;
			continue;
		}
		s++;
		switch (*s) {
		case 'r': out[n++] = '\r'; break;
		case 'n': out[n++] = '\n'; break;
		case 't': out[n++] = '\t'; break;
		case 'x': {
			char hex[3] = { s[1], s[1] ? s[2] : 0, 0 };
			out[n++] = (char)strtol(hex, NULL, 16);
			s += strlen(hex);
			break;
		}
		default: out[n++] = *s; break;
		}
	}
	return n;
}

/* Read what the terminal has, waiting up to ms. 0, or -1 once the master
 * reports the end (every slave closed and output read). */
static int ptyd_pump(struct ptyd *p, int ms)
{
	struct pollfd pf = { .fd = p->master, .events = POLLIN };
	char tmp[4096];
	ssize_t n;

	if (poll(&pf, 1, ms) <= 0)
		return 0;
	n = read(p->master, tmp, sizeof(tmp));
	if (n <= 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	if (p->log >= 0)
		(void)!write(p->log, tmp, (size_t)n);
	if (p->len + (size_t)n > PTYD_BUF) {
		/* Keep the newest half; the search mark moves with it. */
		size_t drop = p->len / 2;
		memmove(p->buf, p->buf + drop, p->len - drop);
		p->len -= drop;
		p->mark = p->mark > drop ? p->mark - drop : 0;
	}
	memcpy(p->buf + p->len, tmp, (size_t)n);
	p->len += (size_t)n;
	return 0;
}

static void ptyd_reap(struct ptyd *p)
{
	int st;

	if (p->status < 0 && waitpid(p->pid, &st, WNOHANG) == p->pid)
		p->status = st;
}

static int ptyd_expect(struct ptyd *p, const char *text, size_t tl, int ms)
{
	long long end = ptyd_now_us() + (long long)ms * 1000;

	for (;;) {
		char *hit = memmem(p->buf + p->mark, p->len - p->mark, text, tl);
		if (hit) {
			p->mark = (size_t)(hit - p->buf) + tl;
			return 0;
		}
		if (ptyd_now_us() >= end)
			return -1;
		if (ptyd_pump(p, 50) < 0 && !memmem(p->buf + p->mark, p->len - p->mark, text, tl))
			return -1;
	}
}

static int ptyd_send(struct ptyd *p, const char *s, size_t n)
{
	while (n) {
		ssize_t w = write(p->master, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

static int ptyd_cmp(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

static int ptyd_rtt(struct ptyd *p, int n)
{
	long long *t = calloc((size_t)n, sizeof(*t));

	if (!t)
		return -1;
	for (int i = 0; i < n; i++) {
		long long t0 = ptyd_now_us();
		p->mark = p->len;
		if (ptyd_send(p, "x", 1) || ptyd_expect(p, "x", 1, p->timeout_ms)) {
			free(t);
			return -1;
		}
		t[i] = ptyd_now_us() - t0;
	}
	qsort(t, (size_t)n, sizeof(*t), ptyd_cmp);
	printf("rtt n=%d min_us=%lld p50_us=%lld p90_us=%lld max_us=%lld\n", n, t[0], t[n / 2],
	       t[(n * 9) / 10], t[n - 1]);
	fflush(stdout);
	free(t);
	return ptyd_send(p, "\x15", 1);  /* ^U: erase the typed x's */
}

static int ptyd_wait_exit(struct ptyd *p, int want)
{
	long long end = ptyd_now_us() + (long long)p->timeout_ms * 1000;
	int got;

	while (p->status < 0 && ptyd_now_us() < end) {
		ptyd_pump(p, 50);
		ptyd_reap(p);
	}
	if (p->status < 0) {
		fprintf(stderr, "ptydrive: command still running after %d ms\n", p->timeout_ms);
		return -1;
	}
	got = WIFSIGNALED(p->status) ? 128 + WTERMSIG(p->status) : WEXITSTATUS(p->status);
	if (got != want) {
		fprintf(stderr, "ptydrive: command exited with %d, want %d\n", got, want);
		return -1;
	}
	return 0;
}

static int ptyd_step(struct ptyd *p, const char *step)
{
	static char text[8192];
	const char *arg = strchr(step, ':');
	size_t n;

	if (!arg)
		return -2;
	arg++;
	n = ptyd_unescape(arg, text, sizeof(text));
	if (!strncmp(step, "expect:", 7))
		return ptyd_expect(p, text, n, p->timeout_ms);
	if (!strncmp(step, "send:", 5))
		return ptyd_send(p, text, n);
	if (!strncmp(step, "sleep:", 6)) {
		long long end = ptyd_now_us() + atoll(arg) * 1000;
		while (ptyd_now_us() < end)
			ptyd_pump(p, 10);
		return 0;
	}
	if (!strncmp(step, "resize:", 7)) {
		struct winsize ws = { 0 };
		unsigned r, c;
		if (sscanf(arg, "%ux%u", &r, &c) != 2)
			return -2;
		ws.ws_row = (unsigned short)r;
		ws.ws_col = (unsigned short)c;
		return ioctl(p->master, TIOCSWINSZ, &ws) < 0 ? -1 : 0;
	}
	if (!strncmp(step, "rtt:", 4))
		return atoi(arg) > 0 ? ptyd_rtt(p, atoi(arg)) : -2;
	if (!strncmp(step, "exit:", 5))
		return ptyd_wait_exit(p, atoi(arg));
	return -2;
}

static void ptyd_tail(const struct ptyd *p)
{
	size_t from = p->len > 600 ? p->len - 600 : 0;

	fprintf(stderr, "ptydrive: last output (escaped):\n");
	for (size_t i = from; i < p->len; i++) {
		unsigned char c = (unsigned char)p->buf[i];
		if (c == '\n')
			fputc('\n', stderr);
		else if (c < 0x20 || c > 0x7e)
			fprintf(stderr, "\\x%02x", c);
		else
			fputc(c, stderr);
	}
	fputc('\n', stderr);
}

int main(int argc, char **argv)
{
	static struct ptyd p = { .log = -1, .timeout_ms = 30000, .status = -1 };
	struct winsize ws = { .ws_row = 24, .ws_col = 80 };
	char slave[64];
	int i, first, dashdash = -1, opt;

	while ((opt = getopt(argc, argv, "+t:r:c:l:")) != -1) {
		switch (opt) {
		case 't': p.timeout_ms = atoi(optarg) * 1000; break;
		case 'r': ws.ws_row = (unsigned short)atoi(optarg); break;
		case 'c': ws.ws_col = (unsigned short)atoi(optarg); break;
		case 'l':
			p.log = open(optarg, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
			if (p.log < 0) {
				perror(optarg);
				return 2;
			}
			break;
		default:
			return 2;
		}
	}
	first = optind;
	for (i = first; i < argc; i++)
		if (!strcmp(argv[i], "--")) {
			dashdash = i;
			break;
		}
	if (dashdash < 0 || dashdash + 1 >= argc || p.timeout_ms <= 0) {
		fprintf(stderr, "usage: ptydrive [-t SECS] [-r ROWS] [-c COLS] [-l LOG] STEP... -- CMD [ARG]...\n");
		return 2;
	}
	p.buf = malloc(PTYD_BUF);
	p.master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (!p.buf || p.master < 0 || grantpt(p.master) || unlockpt(p.master) ||
	    ptsname_r(p.master, slave, sizeof(slave)) || ioctl(p.master, TIOCSWINSZ, &ws) < 0) {
		perror("ptydrive: pty");
		return 1;
	}
	p.pid = fork();
	if (p.pid == 0) {
		int fd;
		setsid();
		fd = open(slave, O_RDWR);
		if (fd < 0 || ioctl(fd, TIOCSCTTY, 0) < 0)
			_exit(126);
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
		execvp(argv[dashdash + 1], argv + dashdash + 1);
		_exit(127);
	}
	if (p.pid < 0) {
		perror("ptydrive: fork");
		return 1;
	}
	for (i = first; i < dashdash; i++) {
		int rc = ptyd_step(&p, argv[i]);
		if (rc == -2) {
			fprintf(stderr, "ptydrive: bad step '%s'\n", argv[i]);
			kill(p.pid, SIGKILL);
			return 2;
		}
		if (rc < 0) {
			fprintf(stderr, "ptydrive: step %d '%s' failed\n", i - first + 1, argv[i]);
			ptyd_tail(&p);
			kill(p.pid, SIGKILL);
			return 1;
		}
	}
	ptyd_reap(&p);
	if (p.status < 0)
		kill(p.pid, SIGKILL);
	return 0;
}
