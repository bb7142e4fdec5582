/* mapio: copies to and from a file mapping whose pages are gone (the file
 * shrank: SIGBUS, mmap(2)) fail with -EIO and leave the process able to
 * copy again; a fault outside a copy still ends the process. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/unit/t.h"
#include "vmm/mapio.h"

#define PAGES 4

static char path[64];
static int fd = -1;
static uint8_t *map;
static long pg;

/* A file of PAGES pages, mapped shared, then shrunk to one page: the
 * mapping's later pages now SIGBUS when touched. */
static void setup(void)
{
	pg = sysconf(_SC_PAGESIZE);
	snprintf(path, sizeof(path), "/dev/shm/mapiotest-%d", getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	CHECK(fd >= 0);
	CHECK_EQ(ftruncate(fd, PAGES * pg), 0);
	map = mmap(NULL, PAGES * pg, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(map != MAP_FAILED);
	memset(map, 0x5a, PAGES * pg);
	CHECK_EQ(ftruncate(fd, pg), 0);
}

static void teardown(void)
{
	munmap(map, PAGES * pg);
	close(fd);
	unlink(path);
}

static void copies_and_faults(void)
{
	uint8_t buf[64];

	setup();
	CHECK_EQ(mapio_init(), 0);
	CHECK_EQ(mapio_init(), 0);  /* once per process; again is a no-op */
	CHECK_EQ(mapio_copy(buf, map + 8, sizeof(buf)), 0);
	CHECK_EQ(buf[0], 0x5a);
	CHECK_EQ(buf[63], 0x5a);
	/* Both directions across the end, many times: the handler stays. */
	for (int i = 0; i < 5; i++) {
		CHECK_EQ(mapio_copy(buf, map + 2 * pg, sizeof(buf)), -EIO);
		CHECK_EQ(mapio_copy(map + 3 * pg - 8, buf, sizeof(buf)), -EIO);
		/* A copy that starts in the file and runs past its end. */
		CHECK_EQ(mapio_copy(buf, map + pg - 32, sizeof(buf)), -EIO);
	}
	memset(buf, 0x11, sizeof(buf));
	CHECK_EQ(mapio_copy(map, buf, sizeof(buf)), 0);
	CHECK_EQ(pread(fd, buf, 1, 63), 1);
	CHECK_EQ(buf[0], 0x11);
	teardown();
}

static void *thread_copy(void *arg)
{
	uint8_t buf[16];

	(void)arg;
	return (void *)(long)mapio_copy(buf, map + 2 * pg, sizeof(buf));
}

static void faults_per_thread(void)
{
	pthread_t t;
	void *ret;

	setup();
	CHECK_EQ(mapio_init(), 0);
	CHECK_EQ(pthread_create(&t, NULL, thread_copy, NULL), 0);
	CHECK_EQ(pthread_join(t, &ret), 0);
	CHECK_EQ((long)ret, -EIO);
	teardown();
}

/* Outside a copy a SIGBUS is what it was: the end of the process. */
static void fault_outside_copy_kills(void)
{
	pid_t pid;
	int st;

	setup();
	CHECK_EQ(mapio_init(), 0);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 2);  /* a sanitizer's report is expected: keep it out of the log */
		volatile uint8_t v = map[2 * pg];
		(void)v;
		_exit(0);
	}
	CHECK_EQ(waitpid(pid, &st, 0), pid);
	/* SIGBUS itself; a sanitizer's SIGBUS report exits non-zero. */
	CHECK(WIFSIGNALED(st) ? WTERMSIG(st) == SIGBUS : WEXITSTATUS(st) != 0);
	teardown();
}

int main(void)
{
	t_suite = "mapio";
	RUN(copies_and_faults);
	RUN(faults_per_thread);
	RUN(fault_outside_copy_kills);
	return t_done();
}
