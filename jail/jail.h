/* Namespace jail: minijail's builder shape, our own implementation.
 *
 *   struct jail *j = jail_new();
 *   jail_namespace_pid(j); jail_bind(j, "/lib", "/lib", 0); ...   (setters: 0 or -errno)
 *   pid = jail_run(j, argv);      fork + exec inside the jail
 *   pid = jail_fork(j);           fork only; returns 0 in the jailed child
 *   jail_enter(j);                jail this process; aborts on any failure
 *   jail_wait(j, pid, &status);   reap, reporting a seccomp kill's syscall
 *   jail_destroy(j);
 *
 * Child setup order (docs/SANDBOX.md): clone with the namespaces -> uid/gid
 * maps written by the parent -> private mount propagation -> empty tmpfs
 * root with bind mounts (read-only unless asked), /proc for a pid namespace
 * -> pivot_root, old root detached, root read-only -> hostname -> rlimits ->
 * bounding/ambient caps dropped, securebits locked -> gid/uid change -> all
 * capability sets cleared -> no_new_privs -> every fd not on the keep-list
 * closed -> seccomp last (TSYNC) -> exec. A failing step is reported to the
 * parent over a CLOEXEC pipe as "step: strerror" (jail_error()).
 *
 * Not thread-safe; one struct jail may run several children in turn. */
#ifndef APPVM_JAIL_JAIL_H
#define APPVM_JAIL_JAIL_H
#include <linux/filter.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#define JAIL_MAX_BINDS 32
#define JAIL_MAX_KEEP_FDS 64
#define JAIL_MAX_RLIMITS 16
#define JAIL_MAX_MAPS 4

struct jail;

/* NULL when out of memory. */
struct jail *jail_new(void);
void jail_destroy(struct jail *j);

/* Namespaces (clone flags of the child). A user namespace maps the jail's
 * uid/gid 0 to nobody (65534) when the caller is root, else to the caller's
 * ids, unless jail_uid_map()/jail_gid_map() say otherwise; nested user
 * namespaces are disabled inside it (user.max_user_namespaces = 0). */
int jail_namespace_user(struct jail *j);
int jail_namespace_pid(struct jail *j);
int jail_namespace_mount(struct jail *j);
int jail_namespace_net(struct jail *j);
int jail_namespace_ipc(struct jail *j);
/* hostname may be NULL to keep the parent's. */
int jail_namespace_uts(struct jail *j, const char *hostname);
int jail_namespace_cgroup(struct jail *j);
/* One "inside outside count" line of the uid/gid map (implies a user ns). */
int jail_uid_map(struct jail *j, uint32_t inside, uint32_t outside, uint32_t count);
int jail_gid_map(struct jail *j, uint32_t inside, uint32_t outside, uint32_t count);

/* Root: an empty read-only tmpfs (implies a mount namespace). */
int jail_root_tmpfs(struct jail *j);
/* Bind src at dst inside the empty root (implies jail_root_tmpfs), read-only
 * and nosuid unless writable. dst is absolute; src is resolved at jail_run/
 * jail_fork time. -EINVAL for relative or ".." paths, -ENOSPC past
 * JAIL_MAX_BINDS. */
int jail_bind(struct jail *j, const char *src, const char *dst, int writable);

/* A minimal /dev in the jail's root: null, zero, full, random, urandom,
 * bound from the host (mknod is impossible in a user namespace; a
 * read-only bind of a device node still opens for writing). Uses five of
 * the JAIL_MAX_BINDS slots. */
int jail_mount_dev(struct jail *j);

/* Credentials inside the jail (after setup, before caps are cleared). */
int jail_change_uid(struct jail *j, uid_t uid);
int jail_change_gid(struct jail *j, gid_t gid);
int jail_rlimit(struct jail *j, int resource, rlim_t cur, rlim_t max);
/* Keep fd open in the jail (every other fd is closed; for jail_run the
 * kept fds also lose FD_CLOEXEC). */
int jail_keep_fd(struct jail *j, int fd);

/* seccomp program installed last; copied. -E2BIG past 4096 insns. */
int jail_seccomp_filter(struct jail *j, const struct sock_filter *prog, size_t len);
/* Parse and compile a policy file (seccomp-bpf/). On -EINVAL, msg (if not
 * NULL) gets the compiler's "file:line:col: message". */
int jail_seccomp_policy(struct jail *j, const char *path, char *msg, size_t msglen);
/* The same compile on its own: *prog is malloc'd (*len instructions). */
int jail_policy_compile(const char *path, struct sock_filter **prog, size_t *len, char *msg, size_t msglen);
/* Trace the child (PTRACE_SEIZE, exit events only) so jail_wait() can name
 * the syscall that got it killed by seccomp. Tracer exit kills the child.
 * With a pid namespace, jail_fork()'s child is a reaper that traces the
 * jailed process itself and hands the result to jail_wait(). */
int jail_report_violations(struct jail *j);

/* Fork and exec argv[0] (searched in the jail's PATH) inside the jail.
 * Returns the child's pid once exec succeeded, or -errno with jail_error()
 * naming the failing step (the child is reaped). */
pid_t jail_run(struct jail *j, char *const argv[]);
/* Fork into the jail without exec: returns 0 in the jailed child (seccomp
 * installed, only keep-list fds open), the pid in the parent, or -errno. The
 * policy must allow close(2): the child closes the report pipe last. The
 * child dies with the calling thread (PR_SET_PDEATHSIG; a parent that
 * died during the setup is caught too), so call it from a thread that
 * lives as long as the process. With a pid namespace the returned pid is
 * a reaper's: it traces the jailed process (PTRACE_O_EXITKILL: they die
 * together), holds no capability and runs under its own seccomp filter. */
pid_t jail_fork(struct jail *j);
/* After jail_fork() succeeded: the jailed process's pid as the caller
 * sees it, which with a pid namespace is not the returned pid (that is
 * the reaper's); -1 when unknown. For logs and for signalling the device
 * process itself. */
pid_t jail_jailed_pid(const struct jail *j);
/* Jail the calling process (no pid namespace: that needs a fork). Never
 * returns on failure: prints "jail: step: error" and aborts, because a
 * half-dropped privilege cannot be undone. */
void jail_enter(struct jail *j);

/* waitpid() for a jailed child, handling trace stops when
 * jail_report_violations() was set. Returns pid or -errno, *status as
 * waitpid's. */
pid_t jail_wait(struct jail *j, pid_t pid, int *status);
/* After jail_wait() saw a SIGSYS death: the syscall number the filter
 * killed for, or -1 when unknown. */
int jail_violation(const struct jail *j);
/* Last child-setup failure as "step: strerror", "" when none. */
const char *jail_error(const struct jail *j);
/* 1 when that failure was the final execve of jail_run() (the program is
 * missing or not executable inside the jail), 0 otherwise. */
int jail_exec_failed(const struct jail *j);
#endif
