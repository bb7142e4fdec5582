/* Starting processes from PID 1: clean signal state, own session, the
 * console as stdio, optional uid/gid, then exec. Errors in the child come
 * back over a close-on-exec pipe, so the caller learns "exec failed: ENOENT"
 * instead of seeing an exit status 127 later. */
#ifndef APPVM_INIT_SPAWN_H
#define APPVM_INIT_SPAWN_H
#include <stdbool.h>
#include <sys/types.h>

struct init_spawn {
	const char *path;
	char *const *argv;
	char *const *envp;
	const char *console;	/* opened as fds 0-2; NULL keeps init's */
	/* When set: the child's fds 0-2 become stdio[0..2] (-1: /dev/null),
	 * overriding console. This is how a caller captures output: pass
	 * pipe write ends (close-on-exec is fine, dup2 clears it) and keep
	 * the read ends. The caller still owns and closes its fds. */
	const int *stdio;
	const char *workdir;	/* NULL: / */
	bool ctty;		/* make the console the controlling terminal */
	bool set_ids;
	uid_t uid;
	gid_t gid;
};

/* Fork and exec. Returns the child pid, or -errno when fork failed or the
 * child could not be set up / exec'd (then *stage names the failing step,
 * and the child has already been reaped). */
pid_t init_spawn_run(const struct init_spawn *s, const char **stage);

/* user= value -> ids: "UID", "UID:GID", or a name looked up in passwd_path
 * (an /etc/passwd file). Returns 0, -ENOENT (unknown name) or -EINVAL. */
int init_spawn_user(const char *user, const char *passwd_path, uid_t *uid, gid_t *gid);

/* Build envp for children into buf: PATH, HOME, TERM (from init's own
 * environment when the kernel passed one), then the words of extra
 * ("KEY=VALUE ...", later ones override earlier). Returns the count or
 * -EINVAL / -E2BIG. */
int init_spawn_env(const char *extra, char *buf, size_t bufn, char **envp, int max);
#endif
