/* p9check: file operations busybox has no applet for, for the 9p client
 * test (tests/e2e/scenarios/p9_client.sh):
 *   p9check mmap FILE  writes a pattern into FILE through a shared mapping
 *                      (ftruncate, mmap MAP_SHARED, msync), closes it and
 *                      reads it back with read(2)
 *   p9check lock FILE  POSIX write lock + unlock (fcntl F_SETLKW) and
 *                      flock(LOCK_EX/LOCK_UN): v9fs sends Tlock for each
 * Prints "ok" and exits 0, or names the failing step and exits 1; 2 on bad
 * arguments. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <unistd.h>

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

int main(int argc, char **argv)
{
	int r;

	if (argc != 3) {
		fprintf(stderr, "usage: p9check mmap|lock FILE\n");
		return 2;
	}
	if (strcmp(argv[1], "mmap") == 0)
		r = p9check_mmap(argv[2]);
	else if (strcmp(argv[1], "lock") == 0)
		r = p9check_lock(argv[2]);
	else {
		fprintf(stderr, "p9check: unknown mode '%s'\n", argv[1]);
		return 2;
	}
	if (r == 0)
		printf("ok\n");
	return r;
}
