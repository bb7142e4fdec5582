/* Sandbox: the process side of a jailed device, independent of virtio
 * (docs/SANDBOX.md has the threat model).
 *
 *   struct sandbox_config c;
 *   sandbox_config_init(&c, "virtio-blk", "virtio_blk");
 *   sandbox_config_keep(&c, disk_fd); ...      (0 or -errno)
 *   struct sandbox_proc p;
 *   sandbox_spawn(&c, blk_serve, blk, &p, err, sizeof(err));
 *   ... epoll on p.pidfd: readable once the device process died ...
 *   sandbox_reap(&p, line, sizeof(line));   logs "device virtio-blk (pid 812)
 *                                            died: seccomp violation: openat"
 *   sandbox_release(&p);
 *
 * sandbox_spawn() forks (no exec) through jail_fork(): the child keeps only
 * the keep-list fds and one end of a SOCK_SEQPACKET socketpair to the VMM,
 * and enters a jail: user namespace (its root is uid/gid 65534 outside,
 * configurable) or a plain uid/gid change; pid, mount, ipc, uts, net and
 * cgroup namespaces; an empty read-only tmpfs root (pivot_root, or where /
 * is rootfs, move-mount + chroot); every capability dropped from every set;
 * no_new_privs; RLIMIT_NOFILE/NPROC/CORE 0 by default; PR_SET_PDEATHSIG;
 * the device's seccomp policy last. Then it calls fn(arg, sock) and exits
 * with its return value. Mappings made before the fork (guest RAM, a
 * MAP_SHARED memfd) stay mapped in the child.
 *
 * A seccomp violation kills the device process (SECCOMP_RET_KILL_PROCESS);
 * the jail's reaper, which traces it (exit events only), reads the
 * syscall at the exit stop and hands it up, so the name in the log does
 * not depend on anything the (possibly compromised) device process does.
 *
 * Call sandbox_spawn() from the thread that lives as long as the VMM (the
 * main thread; PR_SET_PDEATHSIG follows the forking thread), before other
 * threads take locks the child would need. */
#ifndef VMM_SANDBOX_H
#define VMM_SANDBOX_H
#include <linux/filter.h>
#include <stddef.h>
#include <sys/resource.h>
#include <sys/types.h>

#define SANDBOX_MAX_FDS 32
#define SANDBOX_MAX_BINDS 4
/* "nobody"/"nogroup": the default ids of a device process. */
#define SANDBOX_NOBODY 65534

struct jail;

struct sandbox_config {
	const char *name;        /* "virtio-blk": the process in log lines */
	const char *policy;      /* "virtio_blk": <policy>.policy */
	const char *policy_dir;  /* NULL: the policies embedded at build time */
	int keep[SANDBOX_MAX_FDS];
	int nkeep;
	struct { const char *src, *dst; int writable; } binds[SANDBOX_MAX_BINDS];
	int nbinds;
	int userns;              /* 1: user namespace mapping its root to uid/gid */
	uid_t uid;
	gid_t gid;
	rlim_t nofile, nproc;    /* RLIMIT_NOFILE / RLIMIT_NPROC in the jail */
};

/* Defaults: user namespace, uid/gid 65534, RLIMIT_NOFILE = RLIMIT_NPROC =
 * 0 (no new fd, no new process or thread), embedded policies. name and
 * policy are not copied. */
void sandbox_config_init(struct sandbox_config *c, const char *name, const char *policy);
/* Keep fd open in the device process. -EBADF, -ENOSPC past SANDBOX_MAX_FDS. */
int sandbox_config_keep(struct sandbox_config *c, int fd);
/* Bind src at dst in the device's empty root (read-only unless writable):
 * only for what a device must reach by path, e.g. the directory of
 * virtio-vsock's PATH_<port> sockets. Strings are not copied. -EINVAL for
 * a relative path, -ENOSPC past SANDBOX_MAX_BINDS. */
int sandbox_config_bind(struct sandbox_config *c, const char *src, const char *dst, int writable);

struct sandbox_proc {
	char name[32];
	pid_t pid;         /* the device process, as this process sees it */
	pid_t reaper;      /* the jail's reaper: our child, mirrors pid's exit */
	int pidfd;         /* pidfd of the reaper: readable once pid died */
	int sock;          /* the VMM's end of the socketpair */
	struct jail *jail;
};

/* The device process's body: runs jailed, with its filter installed;
 * sock is its end of the socketpair. The return value is its exit status. */
typedef int (*sandbox_fn)(void *arg, int sock);

/* Spawn fn in a jailed child. 0 or -errno; err (if not NULL) gets one line
 * naming the failing step ("virtio_blk.policy: ...", "jail: bind ...").
 * Never returns in the child. */
int sandbox_spawn(const struct sandbox_config *c, sandbox_fn fn, void *arg, struct sandbox_proc *p,
		  char *err, size_t errlen);

/* Wait for the device process to have died (at once when pidfd is
 * readable), reap it, and describe it in line as "device NAME (pid N)
 * died: WHY", WHY being "seccomp violation: SYSCALL", "killed by signal N
 * (NAME)" or "exited with status N"; the line is logged too. Returns the
 * wait status or -errno. */
int sandbox_reap(struct sandbox_proc *p, char *line, size_t len);
/* WHY for a wait status and the violating syscall number (-1 for none). */
void sandbox_describe(int status, int violation, char *buf, size_t len);
/* End the device process as vmm shuts down: shut down sock (a device
 * loop reads end of file and leaves), wait up to timeout_ms for it to
 * die, SIGKILL it after that, and reap it. Logs only a death that was not
 * a clean exit, or the kill. Returns the wait status or -errno. */
int sandbox_stop(struct sandbox_proc *p, int timeout_ms);
/* SIGKILL the device process (the reaper follows), then reap it. */
int sandbox_kill(struct sandbox_proc *p, char *line, size_t len);
/* Close the VMM's fds of a reaped device process. */
void sandbox_release(struct sandbox_proc *p);

/* The compiled filter of policy NAME: DIR/NAME.policy compiled now when
 * dir is not NULL (crosvm's --seccomp-policy-dir), else the one embedded
 * at build time. *prog is malloc'd. -ENOENT for a name with no embedded
 * policy or no file in dir, -EINVAL with msg "file:line:col: ..." for a
 * policy that does not compile. */
int sandbox_policy(const char *dir, const char *name, struct sock_filter **prog, size_t *len, char *msg,
		   size_t msglen);

/* The VMM's own threads (Firecracker filters its VMM and vCPU threads). */
enum sandbox_vmm_thread {
	SANDBOX_VMM_MAIN,  /* vmm_main.policy: event loop, control socket, legacy devices */
	SANDBOX_VMM_VCPU,  /* vmm_vcpu.policy: KVM_RUN and exit handling */
};
/* Install that policy on the calling thread (no_new_privs set first). With
 * tsync, every thread of the process gets it too (SECCOMP_FILTER_FLAG_TSYNC;
 * -EAGAIN when a thread cannot take it). Filters stack: a thread filtered
 * by both must pass both. 0 or -errno, msg as sandbox_policy(). */
int sandbox_vmm_filter(enum sandbox_vmm_thread which, const char *dir, int tsync, char *msg, size_t msglen);
#endif
