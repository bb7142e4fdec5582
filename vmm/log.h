/* Logging for the host side. Messages go to stderr prefixed "vmm: ".
 * The level is the only mutable global besides signal flags (house style). */
#ifndef VMM_LOG_H
#define VMM_LOG_H

enum log_level { LOG_ERR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };
extern int log_level;

void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Rate-limited warning for anything a guest can trigger repeatedly: at most
 * a few lines per second per call site (pass a static counter). */
struct log_ratelimit { long long window_start_ms; unsigned count; };
void log_ratelimited(struct log_ratelimit *rl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
/* State dumps the user asked for (SIGUSR2): shown at every level. */
#define log_state(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_debug(...) do { if (log_level >= LOG_DEBUG) log_msg(LOG_DEBUG, __VA_ARGS__); } while (0)
/* A guest-triggered warning: rate limited per call site. */
#define log_guest(...) do { static struct log_ratelimit rl_; log_ratelimited(&rl_, __VA_ARGS__); } while (0)
#endif
