/* benchrun: time VMM start-up the same way for every command, interleaved.
 *
 *   benchrun [-n RUNS] [-w MARKER] [-e STATUS] -- CMD_A ARGS... [:: CMD_B ARGS...]...
 *
 * For each run and each command in turn: take CLOCK_MONOTONIC, fork, exec the
 * command with stdout and stderr on one pipe, note when MARKER (default
 * "boot-time:") first appears in that output ("first": exec to the guest's
 * first instruction when the guest writes the boot-time marker first), then
 * drain the pipe and reap it ("cycle": the whole start -> guest -> teardown).
 * Also parses the command's own "boot-time: X ms" report ("self").
 * A command that exits with another status than STATUS (default 0) or never
 * prints MARKER fails the benchmark: exit 1 with its output.
 *
 * Output, one line per command (microseconds):
 *   bench cmd=N first_min=.. first_med=.. cycle_min=.. cycle_med=.. self_med=..
 * Commands are interleaved so that background load hits all of them alike. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_CMDS 4
#define MAX_RUNS 1000
#define OUT_MAX 8192

struct bench_cmd {
	char **argv;
	double first[MAX_RUNS], cycle[MAX_RUNS], self[MAX_RUNS];
	unsigned nself;
};

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(double *v, unsigned n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Run once; 0 on success, -1 (after printing why) on failure. */
static int bench_once(struct bench_cmd *c, unsigned run, const char *marker, int want)
{
	int fds[2];
	if (pipe(fds) < 0) {
		perror("benchrun: pipe");
		return -1;
	}
	double t0 = now_us();
	pid_t pid = fork();
	if (pid < 0) {
		perror("benchrun: fork");
		return -1;
	}
	if (pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		dup2(fds[1], STDERR_FILENO);
		close(fds[0]);
		close(fds[1]);
		execv(c->argv[0], c->argv);
		fprintf(stderr, "benchrun: %s: %s\n", c->argv[0], strerror(errno));
		_exit(127);
	}
	close(fds[1]);
	char out[OUT_MAX + 1];
	size_t len = 0;
	double first = -1;
	for (;;) {
		char buf[4096];
		ssize_t n = read(fds[0], buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		size_t take = (size_t)n < OUT_MAX - len ? (size_t)n : OUT_MAX - len;
		memcpy(out + len, buf, take);
		len += take;
		out[len] = 0;
		if (first < 0 && strstr(out, marker))
			first = now_us() - t0;
	}
	close(fds[0]);
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR) {
			perror("benchrun: waitpid");
			return -1;
		}
	double cycle = now_us() - t0;
	out[len] = 0;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != want || first < 0) {
		fprintf(stderr, "benchrun: %s: %s (status 0x%x, want exit %d, marker \"%s\" %s); output:\n%s\n",
			c->argv[0], "failed", st, want, marker, first < 0 ? "missing" : "seen", out);
		return -1;
	}
	c->first[run] = first;
	c->cycle[run] = cycle;
	const char *b = strstr(out, "boot-time: ");
	if (b) {
		char *end;
		double ms = strtod(b + 11, &end);
		if (end != b + 11)
			c->self[c->nself++] = ms * 1000;
	}
	return 0;
}

int main(int argc, char **argv)
{
	unsigned runs = 20;
	const char *marker = "boot-time:";
	int want = 0, opt;
	while ((opt = getopt(argc, argv, "+n:w:e:")) != -1) {
		switch (opt) {
		case 'n':
			runs = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'w':
			marker = optarg;
			break;
		case 'e':
			want = atoi(optarg);
			break;
		default:
			goto usage;
		}
	}
	/* getopt consumed the "--" already, unless it was not there. */
	if (optind < argc && strcmp(argv[optind], "--") == 0)
		optind++;
	if (runs == 0 || runs > MAX_RUNS || optind >= argc)
		goto usage;
	static struct bench_cmd cmds[MAX_CMDS];
	unsigned ncmd = 0;
	for (int i = optind; i < argc;) {
		if (ncmd == MAX_CMDS)
			goto usage;
		cmds[ncmd].argv = &argv[i];
		while (i < argc && strcmp(argv[i], "::") != 0)
			i++;
		if (&argv[i] == cmds[ncmd].argv)
			goto usage;
		if (i < argc)
			argv[i++] = NULL;
		ncmd++;
	}
	if (ncmd == 0)
		goto usage;
	for (unsigned r = 0; r < runs; r++)
		for (unsigned c = 0; c < ncmd; c++)
			if (bench_once(&cmds[c], r, marker, want) < 0)
				return 1;
	for (unsigned c = 0; c < ncmd; c++) {
		struct bench_cmd *b = &cmds[c];
		double fmed = median(b->first, runs), cmed = median(b->cycle, runs);
		printf("bench cmd=%u first_min=%.0f first_med=%.0f cycle_min=%.0f cycle_med=%.0f self_med=%.0f\n",
		       c, b->first[0], fmed, b->cycle[0], cmed, b->nself ? median(b->self, b->nself) : -1.0);
	}
	return 0;
usage:
	fprintf(stderr, "usage: benchrun [-n RUNS] [-w MARKER] [-e STATUS] -- CMD ARGS... [:: CMD ARGS...]\n");
	return 2;
}
