#include "guest-init/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int init_log_level = INIT_LOG_INFO;
/* The sink is log state like the level: one per process, set once /dev is
 * mounted, closed before /dev is unmounted. */
static int init_log_fd = -1;

int init_log_open(const char *path)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_NOCTTY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (init_log_fd >= 0)
		close(init_log_fd);
	init_log_fd = fd;
	return 0;
}

void init_log_close(void)
{
	if (init_log_fd >= 0)
		close(init_log_fd);
	init_log_fd = -1;
}

void init_log(int prio, const char *fmt, ...)
{
	char line[1024];
	int n, saved = errno;
	va_list ap;

	if (prio > init_log_level)
		return;
	/* One write per line: /dev/kmsg takes each write() as one record. */
	n = snprintf(line, sizeof(line), "<%d>init: ", prio);
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	if (init_log_fd < 0 || write(init_log_fd, line, (size_t)n) < 0)
		(void)!write(STDERR_FILENO, line, (size_t)n);
	errno = saved;
}
