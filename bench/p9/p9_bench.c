/* p9 library benchmark: what the server costs on top of the host system
 * calls it makes, measured in-process (no transport, no guest): for each
 * workload the same work is done through p9_handle() with real 9P2000.L
 * messages and directly with system calls, interleaved, best of ROUNDS.
 *   seq write / seq read   FILE_MIB MiB in msize-sized Twrite/Tread chunks
 *                          (the Linux client's unit with msize 512 KiB)
 *                          vs pwrite/pread of the same chunks
 *   metadata               per file what the Linux client sends for
 *                          create + stat + unlink (Twalk clone, Tlcreate,
 *                          Tclunk, Twalk, Tgetattr, Tclunk, Tunlinkat) vs
 *                          openat(O_CREAT|O_EXCL) + close + fstatat + unlinkat
 *
 *   p9_bench DIR [FILE_MIB] [FILES] [ROUNDS]     (DIR: where files go)
 * Prints one line per workload. Numbers go to docs/BENCHMARKS.md by hand. */
#include "p9/p9.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BENCH_MSIZE (512u * 1024)
#define BENCH_IOHDR 23 /* Twrite header: size type tag fid offset count */

struct bench {
	struct p9_server *s;
	int dirfd;
	uint8_t *req, *rep;
	size_t len;
};

static double bench_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void bench_put(struct bench *b, const void *p, size_t n)
{
	memcpy(b->req + b->len, p, n);
	b->len += n;
}

static void bench_u(struct bench *b, uint64_t v, int w)
{
	for (int i = 0; i < w; i++)
		b->req[b->len++] = (uint8_t)(v >> (8 * i));
}

static void bench_s(struct bench *b, const char *s)
{
	bench_u(b, strlen(s), 2);
	bench_put(b, s, strlen(s));
}

static void bench_begin(struct bench *b, uint8_t type)
{
	b->len = 0;
	bench_u(b, 0, 4);
	bench_u(b, type, 1);
	bench_u(b, 1, 2);
}

/* Sends the message built; exits on anything but the expected reply. */
static void bench_rpc(struct bench *b)
{
	for (int i = 0; i < 4; i++)
		b->req[i] = (uint8_t)(b->len >> (8 * i));
	long n = p9_handle(b->s, b->req, b->len, b->rep, BENCH_MSIZE);
	if (n < 7 || b->rep[4] != b->req[4] + 1) {
		fprintf(stderr, "p9_bench: request type %u failed (errno %u)\n", b->req[4],
			n >= 11 ? b->rep[7] | b->rep[8] << 8 : 0);
		exit(1);
	}
}

static void bench_walk(struct bench *b, uint32_t fid, uint32_t newfid, const char *name)
{
	bench_begin(b, 110);
	bench_u(b, fid, 4);
	bench_u(b, newfid, 4);
	bench_u(b, name ? 1 : 0, 2);
	if (name)
		bench_s(b, name);
	bench_rpc(b);
}

static void bench_fid1(struct bench *b, uint8_t type, uint32_t fid)
{
	bench_begin(b, type);
	bench_u(b, fid, 4);
	bench_rpc(b);
}

static void bench_lcreate(struct bench *b, uint32_t fid, const char *name)
{
	bench_begin(b, 14);
	bench_u(b, fid, 4);
	bench_s(b, name);
	bench_u(b, 2, 4);
	bench_u(b, 0644, 4);
	bench_u(b, 0, 4);
	bench_rpc(b);
}

static double bench_sys_io(int fd, uint8_t *buf, uint64_t total, int rd)
{
	size_t chunk = BENCH_MSIZE - BENCH_IOHDR;
	double t0 = bench_now();
	for (uint64_t off = 0; off < total; off += chunk) {
		size_t n = total - off < chunk ? (size_t)(total - off) : chunk;
		ssize_t r = rd ? pread(fd, buf, n, (off_t)off) : pwrite(fd, buf, n, (off_t)off);
		if (r != (ssize_t)n) {
			perror("p9_bench: pread/pwrite");
			exit(1);
		}
	}
	return bench_now() - t0;
}

static double bench_p9_meta(struct bench *b, int files)
{
	char name[32];
	double t0 = bench_now();
	for (int i = 0; i < files; i++) {
		snprintf(name, sizeof(name), "m%d", i);
		bench_walk(b, 0, 2, NULL);
		bench_lcreate(b, 2, name);
		bench_fid1(b, 120, 2);
		bench_walk(b, 0, 3, name);
		bench_begin(b, 24);
		bench_u(b, 3, 4);
		bench_u(b, 0x7ff, 8);
		bench_rpc(b);
		bench_fid1(b, 120, 3);
		bench_begin(b, 76);
		bench_u(b, 0, 4);
		bench_s(b, name);
		bench_u(b, 0, 4);
		bench_rpc(b);
	}
	return bench_now() - t0;
}

static double bench_sys_meta(int dirfd, int files)
{
	char name[32];
	struct stat st;
	double t0 = bench_now();
	for (int i = 0; i < files; i++) {
		snprintf(name, sizeof(name), "s%d", i);
		int fd = openat(dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd < 0 || close(fd) < 0 || fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    unlinkat(dirfd, name, 0) < 0) {
			perror("p9_bench: metadata");
			exit(1);
		}
	}
	return bench_now() - t0;
}

static double bench_min(double a, double b)
{
	return a < b ? a : b;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: p9_bench DIR [FILE_MIB] [FILES] [ROUNDS]\n");
		return 2;
	}
	uint64_t mib = argc > 2 ? strtoull(argv[2], NULL, 0) : 256;
	int files = argc > 3 ? atoi(argv[3]) : 20000;
	int rounds = argc > 4 ? atoi(argv[4]) : 5;
	uint64_t total = mib << 20;
	struct bench b = { 0 };
	struct p9_share_config sh = { .name = "b", .path = argv[1], .dirfd = -1 };
	struct p9_config cfg = { .shares = &sh, .n_shares = 1, .msize_max = BENCH_MSIZE,
				 .root_share = "b" };

	b.req = calloc(1, BENCH_MSIZE);
	b.rep = calloc(1, BENCH_MSIZE);
	uint8_t *buf = calloc(1, BENCH_MSIZE);
	b.s = p9_server_new(&cfg);
	b.dirfd = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (!b.req || !b.rep || !buf || !b.s || b.dirfd < 0) {
		perror("p9_bench: setup");
		return 1;
	}
	bench_begin(&b, 100);
	bench_u(&b, BENCH_MSIZE, 4);
	bench_s(&b, "9P2000.L");
	bench_rpc(&b);
	bench_begin(&b, 104);
	bench_u(&b, 0, 4);
	bench_u(&b, 0xffffffffu, 4);
	bench_s(&b, "bench");
	bench_s(&b, "");
	bench_u(&b, 0, 4);
	bench_rpc(&b);

	double pw = 1e9, sw = 1e9, pr = 1e9, sr = 1e9, pm = 1e9, sm = 1e9;
	for (int r = 0; r < rounds; r++) {
		/* p9: create "p" (fid 1, opened RDWR), write, read */
		bench_walk(&b, 0, 1, NULL);
		bench_lcreate(&b, 1, "p");
		size_t chunk = BENCH_MSIZE - BENCH_IOHDR;
		for (int rd = 0; rd < 2; rd++) {
			double t0 = bench_now();
			for (uint64_t off = 0; off < total; off += chunk) {
				size_t n = total - off < chunk ? (size_t)(total - off) : chunk;
				bench_begin(&b, rd ? 116 : 118);
				bench_u(&b, 1, 4);
				bench_u(&b, off, 8);
				bench_u(&b, n, 4);
				if (!rd)
					b.len += n;
				bench_rpc(&b);
			}
			double t = bench_now() - t0;
			if (rd)
				pr = bench_min(pr, t);
			else
				pw = bench_min(pw, t);
		}
		bench_fid1(&b, 120, 1);
		bench_begin(&b, 76);
		bench_u(&b, 0, 4);
		bench_s(&b, "p");
		bench_u(&b, 0, 4);
		bench_rpc(&b);
		/* direct */
		int fd = openat(b.dirfd, "s", O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd < 0) {
			perror("p9_bench: create");
			return 1;
		}
		sw = bench_min(sw, bench_sys_io(fd, buf, total, 0));
		sr = bench_min(sr, bench_sys_io(fd, buf, total, 1));
		close(fd);
		unlinkat(b.dirfd, "s", 0);
		pm = bench_min(pm, bench_p9_meta(&b, files));
		sm = bench_min(sm, bench_sys_meta(b.dirfd, files));
	}
	double m = (double)total / (1 << 20);
	printf("p9 seq write: %.0f MiB/s   direct pwrite: %.0f MiB/s   p9/direct %.2fx\n", m / pw, m / sw, sw / pw);
	printf("p9 seq read:  %.0f MiB/s   direct pread:  %.0f MiB/s   p9/direct %.2fx\n", m / pr, m / sr, sr / pr);
	printf("p9 create+stat+unlink: %.0f files/s (%.0f requests/s)   direct: %.0f files/s   p9/direct %.2fx\n",
	       files / pm, 7 * files / pm, files / sm, sm / pm);
	p9_server_free(b.s);
	return 0;
}
