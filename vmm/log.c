#include "vmm/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

int log_level = LOG_WARN;

static void log_vmsg(const char *fmt, va_list ap)
{
	char buf[512];
	int n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	if (n < 0)
		return;
	if (n > (int)sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	/* The terminal may be in raw mode: a bare \n would not return the carriage. */
	fputs("vmm: ", stderr);
	fwrite(buf, 1, n, stderr);
	fflush(stderr);
}

void log_msg(int level, const char *fmt, ...)
{
	va_list ap;
	if (level > log_level)
		return;
	va_start(ap, fmt);
	log_vmsg(fmt, ap);
	va_end(ap);
}

void log_ratelimited(struct log_ratelimit *rl, const char *fmt, ...)
{
	struct timespec ts;
	long long now;
	va_list ap;

	if (log_level < LOG_WARN)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
	if (now - rl->window_start_ms >= 1000) {
		rl->window_start_ms = now;
		rl->count = 0;
	}
	if (rl->count++ >= 5)
		return;
	va_start(ap, fmt);
	log_vmsg(fmt, ap);
	va_end(ap);
}
