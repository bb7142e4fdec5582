/* Services from /etc/init/services/NAME.conf: plain key=value lines
 *   exec=/usr/bin/daemon      (required; absolute path)
 *   args=--flag 'two words'   (split like init.args)
 *   env=KEY=VALUE OTHER=x
 *   user=daemon | 1000 | 1000:1000
 *   respawn=yes|no            (default no)
 *   after=OTHER               (start after service OTHER)
 * started in name order (after= moves a service behind another). A respawning
 * service is restarted with backoff and given up after INIT_SVC_BURST
 * restarts within INIT_SVC_WINDOW_MS, as maitred does. */
#ifndef APPVM_INIT_SVC_H
#define APPVM_INIT_SVC_H
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "guest-init/config.h"

#define INIT_SVC_MAX 32
#define INIT_SVC_FILE_MAX 8192
#define INIT_SVC_BURST 10
#define INIT_SVC_WINDOW_MS 30000
#define INIT_SVC_BACKOFF_MIN_MS 100
#define INIT_SVC_BACKOFF_MAX_MS 1000
/* A run this long resets the backoff. */
#define INIT_SVC_STABLE_MS 10000

struct init_svc {
	char name[64];
	char exec[INIT_PATH_MAX];
	char args[512];
	char env[512];
	char user[64];
	char after[64];
	bool respawn;
	/* Runtime state. */
	pid_t pid;
	bool given_up;
	unsigned restarts;
	uint64_t restart_ms[INIT_SVC_BURST];
	unsigned backoff_ms;
	uint64_t started_ms;
	uint64_t next_start_ms;	/* 0: nothing scheduled */
};

struct init_svcs {
	int n;
	struct init_svc svc[INIT_SVC_MAX];
};

/* Parse one .conf text (len bytes). name is the file name without .conf.
 * Unknown keys and bad lines are warnings naming name:line. Returns 0, or
 * -EINVAL when the service is unusable (no exec=, bad name). */
int init_svc_parse(const char *name, const char *text, size_t len, struct init_svc *svc,
		   const struct init_warn *w);

/* Read dir/\*.conf (regular files, at most INIT_SVC_MAX, each at most
 * INIT_SVC_FILE_MAX bytes) in name order, then apply after=. A missing dir is
 * no services. Returns the number loaded. */
int init_svc_load_dir(const char *dir, struct init_svcs *svcs, const struct init_warn *w);

/* Reorder so every service follows the one its after= names; unknown names
 * and cycles are warnings and keep name order. */
void init_svc_order(struct init_svcs *svcs, const struct init_warn *w);

enum init_svc_action {
	INIT_SVC_DONE,		/* not respawning: stays down */
	INIT_SVC_RESTART,	/* next_start_ms set */
	INIT_SVC_GIVE_UP,	/* too many restarts in the window */
};

/* Decide what to do when a service exited at now_ms (pure; unit-tested). */
enum init_svc_action init_svc_on_exit(struct init_svc *svc, uint64_t now_ms);

/* Start one service now; logs failures. Returns 0 or -errno. */
int init_svc_start(struct init_svc *svc, const char *console, uint64_t now_ms);

/* Hand a reaped pid to the services. Returns 1 when it was one. */
int init_svc_reaped(struct init_svcs *svcs, pid_t pid, int status, uint64_t now_ms);

/* Start services whose restart time has come. Returns the earliest pending
 * restart time, or 0 when none is pending. */
uint64_t init_svc_run_due(struct init_svcs *svcs, const char *console, uint64_t now_ms);

/* Stop scheduling restarts (shutdown). */
void init_svc_stop_all(struct init_svcs *svcs);
#endif
