/* p9check: file operations busybox has no applet for, for the 9p client
 * test (tests/e2e/scenarios/p9_client.sh):
 *   p9check mmap FILE  writes a pattern into FILE through a shared mapping
 *                      (ftruncate, mmap MAP_SHARED, msync), closes it and
 *                      reads it back with read(2)
 *   p9check lock FILE  POSIX write lock + unlock (fcntl F_SETLKW) and
 *                      flock(LOCK_EX/LOCK_UN): v9fs sends Tlock for each
 *   p9check seq DIR    benchmark (scripts/bench/p9v.sh): write 64 MiB to
 *                      DIR/seq in 1 MiB writes + fsync, read it back;
 *                      prints "write_mibs=X read_mibs=Y"
 *   p9check meta DIR   benchmark: 500 x (create, stat, unlink) of a small
 *                      file; prints "meta_ops=X" (files per second)
 * Prints "ok" and exits 0, or names the failing step and exits 1; 2 on bad
 * arguments. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define P9CHECK_SEQ_MIB 64
#define P9CHECK_META_FILES 500

#define P9CHECK_SIZE (3 * 4096 + 123)

static unsigned char p9check_byte(size_t i)
{
	return (unsigned char)(i * 7 + i / 4096);
}

static int p9check_mmap(const char *path)
{
	static unsigned char back[P9CHECK_SIZE];

	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || ftruncate(fd, P9CHECK_SIZE) < 0) {
		perror("p9check mmap: open/ftruncate");
		return 1;
	}
	unsigned char *m = mmap(NULL, P9CHECK_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		perror("p9check mmap: mmap");
		return 1;
	}
	for (size_t i = 0; i < P9CHECK_SIZE; i++)
		m[i] = p9check_byte(i);
	if (msync(m, P9CHECK_SIZE, MS_SYNC) < 0 || munmap(m, P9CHECK_SIZE) < 0 || close(fd) < 0) {
		perror("p9check mmap: msync/munmap/close");
		return 1;
	}
	fd = open(path, O_RDONLY);
	if (fd < 0 || read(fd, back, sizeof(back)) != P9CHECK_SIZE) {
		perror("p9check mmap: read back");
		return 1;
	}
	close(fd);
	for (size_t i = 0; i < P9CHECK_SIZE; i++)
		if (back[i] != p9check_byte(i)) {
			printf("mismatch at %zu\n", i);
			return 1;
		}
	return 0;
}


static int p9check_lock(const char *path)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 10 };
	int fd = open(path, O_RDWR | O_CREAT, 0644);
	if (fd < 0) {
		perror("p9check lock: open");
		return 1;
	}
	if (fcntl(fd, F_SETLKW, &fl) < 0) {
		perror("p9check lock: F_SETLKW F_WRLCK");
		return 1;
	}
	fl.l_type = F_UNLCK;
	if (fcntl(fd, F_SETLK, &fl) < 0) {
		perror("p9check lock: F_SETLK F_UNLCK");
		return 1;
	}
	if (flock(fd, LOCK_EX) < 0 || flock(fd, LOCK_UN) < 0) {
		perror("p9check lock: flock");
		return 1;
	}
	close(fd);
	return 0;
}

static double p9check_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int p9check_seq(const char *dir)
{
	static char buf[1 << 20];
	char path[4096];
	double t0, t1, t2;
	int fd;

	snprintf(path, sizeof(path), "%s/seq", dir);
	memset(buf, 0x5a, sizeof(buf));
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	t0 = p9check_now();
	for (int i = 0; fd >= 0 && i < P9CHECK_SEQ_MIB; i++)
		if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf)) {
			perror("p9check seq: write");
			return 1;
		}
	if (fd < 0 || fsync(fd) < 0 || close(fd) < 0) {
		perror("p9check seq: open/fsync/close");
		return 1;
	}
	t1 = p9check_now();
	fd = open(path, O_RDONLY);
	for (int i = 0; fd >= 0 && i < P9CHECK_SEQ_MIB; i++)
		if (read(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf) || buf[4096] != 0x5a) {
			perror("p9check seq: read");
			return 1;
		}
	t2 = p9check_now();
	if (fd < 0)
		return 1;
	close(fd);
	unlink(path);
	printf("write_mibs=%.1f read_mibs=%.1f\n", P9CHECK_SEQ_MIB / (t1 - t0), P9CHECK_SEQ_MIB / (t2 - t1));
	return 0;
}

static int p9check_meta(const char *dir)
{
	char path[4096];
	struct stat st;
	double t0 = p9check_now(), t1;

	for (int i = 0; i < P9CHECK_META_FILES; i++) {
		snprintf(path, sizeof(path), "%s/m%d", dir, i);
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
		if (fd < 0 || write(fd, "x", 1) != 1 || close(fd) < 0 || stat(path, &st) < 0 || st.st_size != 1 ||
		    unlink(path) < 0) {
			perror("p9check meta");
			return 1;
		}
	}
	t1 = p9check_now();
	printf("meta_ops=%.0f\n", P9CHECK_META_FILES / (t1 - t0));
	return 0;
}

int main(int argc, char **argv)
{
	int r;

	if (argc != 3) {
		fprintf(stderr, "usage: p9check mmap|lock FILE, p9check seq|meta DIR\n");
		return 2;
	}
	if (strcmp(argv[1], "mmap") == 0)
		r = p9check_mmap(argv[2]);
	else if (strcmp(argv[1], "lock") == 0)
		r = p9check_lock(argv[2]);
	else if (strcmp(argv[1], "seq") == 0)
		return p9check_seq(argv[2]);
	else if (strcmp(argv[1], "meta") == 0)
		return p9check_meta(argv[2]);
	else {
		fprintf(stderr, "p9check: unknown mode '%s'\n", argv[1]);
		return 2;
	}
	if (r == 0)
		printf("ok\n");
	return r;
}
