/* PID 1 proper: boot sequence, event loop, reaping, app lifecycle and
 * shutdown (docs/INIT.md).
 *
 * It is also the internal API for services that live inside init's event
 * loop (the Maitred RPC server on vsock port 8888 is the first): they get a
 * start hook with the running init, add their fds to its loop, start child
 * commands whose exit init reports back to them, mount filesystems, and ask
 * for the normal shutdown. Everything runs on init's only thread; callbacks
 * must not block, since init does not reap while they run. */
#ifndef APPVM_INIT_PID1_H
#define APPVM_INIT_PID1_H
#include <sys/types.h>
#include "evloop/evloop.h"
#include "guest-init/config.h"
#include "guest-init/spawn.h"
#include "guest-init/sys.h"

/* Children whose exit a caller of init_pid1_spawn waits for, at most. */
#define INIT_PID1_WATCH_MAX 64

/* The running init; owned by init_pid1_run, valid for the life of PID 1. */
struct init_pid1;

/* Extensions started with init (main.c passes them to init_pid1_run). */
struct init_pid1_hooks {
	/* Called once, after the system is up (mounts, modules, network,
	 * event loop) and before services and the app start, so a service
	 * can listen before anything depends on it. A negative return is
	 * logged as a warning; the boot goes on without that service. */
	int (*start)(struct init_pid1 *p, void *arg);
	void *arg;
};

/* Run as PID 1; never returns. Outside PID 1 it refuses (message on stderr,
 * _exit(111)): init never signals or reboots a system it does not own. */
_Noreturn void init_pid1_run(const struct init_pid1_hooks *hooks);

/* init's event loop, for evloop_add/_set_events/_del of service fds. */
struct evloop *init_pid1_loop(struct init_pid1 *p);

/* The configuration init booted with (read-only). */
const struct init_config *init_pid1_config(const struct init_pid1 *p);

/* Called once when a child started by init_pid1_spawn has been reaped, with
 * its wait status (init_pid1_status maps it to a shell-style number). */
typedef void init_pid1_exit_cb(void *arg, pid_t pid, int wstatus);

/* Start a command as init_spawn_run does (own session, clean signal state,
 * s->stdio to capture its output, s->console for the console), and call
 * on_exit (may be NULL) when it is reaped. Returns the pid, or -errno:
 * -ENOSPC when INIT_PID1_WATCH_MAX children are already watched (nothing
 * started), -EAGAIN during shutdown, or the spawn error with *stage naming
 * the failing step. The child is killed with everything else at shutdown. */
pid_t init_pid1_spawn(struct init_pid1 *p, const struct init_spawn *s,
		      init_pid1_exit_cb *on_exit, void *arg, const char **stage);

/* Forget the exit callback for pid (e.g. the RPC connection that wanted it
 * went away); init still reaps it. Returns 0 or -ENOENT. */
int init_pid1_unwatch(struct init_pid1 *p, pid_t pid);

/* Ask for the normal shutdown (SIGTERM all, init.shutdown_timeout, SIGKILL,
 * sync, unmount, then power off / reboot). It starts once the current
 * callback returns, so an RPC handler can still send its reply. The first
 * request wins. status is what a power-off reports through the exit port
 * when the app has not exited (the app's own status wins when it has). */
void init_pid1_request_shutdown(struct init_pid1 *p, enum init_final how, int status,
				const char *why);

/* Mount one DEV:DIR[:FSTYPE[:OPTS]] entry as init.mount= does (mkdir -p,
 * fstype detected from the superblock when empty). Returns 0 or -errno; the
 * failure is logged naming the entry. Unmounted at shutdown like the rest. */
int init_pid1_mount(struct init_pid1 *p, const struct init_mount_spec *m);

/* Map a wait status to the status reported to the host: the exit code, or
 * 128 + signal number for a killed process (the shell convention). */
int init_pid1_status(int wstatus);
#endif
