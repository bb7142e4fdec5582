/* stamp: the benchmark's app. Records CLOCK_MONOTONIC (ns) at its start in
 * /out/t1, and PID 1's VmRSS/VmHWM lines in /out/rss, then exits 0. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(void)
{
	struct timespec ts;
	char buf[4096];
	FILE *f;
	int fd;
	ssize_t n;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	f = fopen("/out/t1", "w");
	if (!f)
		return 1;
	fprintf(f, "%lld\n", (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
	fclose(f);
	fd = open("/proc/1/status", O_RDONLY);
	n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	if (n <= 0)
		return 1;
	buf[n] = '\0';
	f = fopen("/out/rss", "w");
	for (char *l = strtok(buf, "\n"); l; l = strtok(NULL, "\n"))
		if (!strncmp(l, "VmRSS", 5) || !strncmp(l, "VmHWM", 5))
			fprintf(f, "%s\n", l);
	fclose(f);
	return 0;
}
