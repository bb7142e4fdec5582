/* init's log: lines "<N>init: message" to /dev/kmsg so they reach the host
 * console with the kernel's own messages (Documentation/ABI/testing/dev-kmsg),
 * stderr until /dev/kmsg is available. */
#ifndef APPVM_INIT_LOG_H
#define APPVM_INIT_LOG_H

/* syslog priorities, as /dev/kmsg expects in its "<N>" prefix. */
#define INIT_LOG_ERR 3
#define INIT_LOG_WARN 4
#define INIT_LOG_NOTICE 5
#define INIT_LOG_INFO 6
#define INIT_LOG_DEBUG 7

/* Messages above this priority are dropped (init.loglevel). */
extern int init_log_level;

/* Switch the sink to path (opened O_APPEND, close-on-exec). Returns 0 or
 * -errno; the previous sink stays in use on failure. */
int init_log_open(const char *path);
/* Close the sink (before unmounting /dev); later messages go to stderr. */
void init_log_close(void);
void init_log(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#endif
