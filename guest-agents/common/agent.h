/* guest-agents/common: what every guest agent (vm_syslog, crash_collector,
 * vshd) shares. docs/AGENTS.md has the port plan and the wire formats.
 *
 *   agent_cmdline_get()     a key from the kernel command line
 *   agent_endpoint_*()      where the host service is: vsock CID 2 port P
 *                           (announced by vmm as appvm.<name>=P), or a unix
 *                           socket for tests (AGENT_UNIX=PATH)
 *   agent_connect()         one connection attempt, bounded in time
 *   agent_backoff_*()       retry delays: min doubling to max, reset on success
 *   agent_jail()            own uid/gid, no capabilities, no_new_privs, and an
 *                           empty read-only root (pivot_root) where the root is
 *                           not the initramfs; aborts when a step fails
 *
 * Everything returns 0/positive or -errno; nothing keeps global state. The
 * RPC itself is proto/rpc.h (framing) with nanopb messages under proto/. */
#ifndef APPVM_GUEST_AGENTS_AGENT_H
#define APPVM_GUEST_AGENTS_AGENT_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* vsock ports (docs/AGENTS.md). The host (CID 2) listens on the first two,
 * inside vmm; the guest listens on vsh's. */
#define AGENT_PORT_SYSLOG 9002u
#define AGENT_PORT_CRASH 9003u
#define AGENT_PORT_VSH 9005u
/* virtio 1.2 §5.10.4: the host is CID 2. */
#define AGENT_HOST_CID 2u

/* Own uids/gids of the agents (no name needed in /etc/passwd). */
#define AGENT_UID_SYSLOG 401u
#define AGENT_UID_CRASH 402u
#define AGENT_UID_VSH 403u

/* Longest kernel command line we read (x86 COMMAND_LINE_SIZE is 2048). */
#define AGENT_CMDLINE_MAX 4096

/* Read /proc/cmdline (or path, for tests) into buf, NUL-terminated. Returns
 * the length or -errno. */
ssize_t agent_cmdline_read(const char *path, char *buf, size_t n);
/* Find key=value in a command line (words split on blanks, double quotes
 * group as the kernel's next_arg() does; only words before "--"). Copies the
 * value (NUL-terminated) into val. Returns 1 when found, 0 when absent,
 * -E2BIG when the value does not fit in n (val is then ""). The last
 * occurrence wins, as for the kernel's own parameters. */
int agent_cmdline_get(const char *cmdline, const char *key, char *val, size_t n);
/* Parse a size: decimal bytes with an optional K/M/G suffix (binary).
 * Returns 0 or -EINVAL (empty, junk, overflow, outside [min, max]). */
int agent_parse_size(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* Where an agent's host service is. */
struct agent_endpoint {
	uint32_t cid, port;   /* vsock, when unix_path is empty */
	char unix_path[108];  /* tests: a unix stream socket instead */
};

/* The endpoint of service name ("syslog", "crash"): vmm announces it on the
 * kernel command line as appvm.<name>=PORT. The environment variable
 * AGENT_UNIX=PATH (tests, native runs) replaces it with a unix socket.
 * Returns 0, -ENOENT when not announced (the agent has nothing to talk
 * to), -EINVAL for a malformed port. */
int agent_endpoint_get(const char *cmdline, const char *name, struct agent_endpoint *ep);

/* One connection attempt to ep, waiting at most timeout_ms. Returns a
 * connected, blocking, close-on-exec stream fd, or -errno
 * (-ECONNREFUSED/-ECONNRESET: nobody listens; -ETIMEDOUT). */
int agent_connect(const struct agent_endpoint *ep, int timeout_ms);

/* Retry delays: min_ms, doubling, capped at max_ms; reset after success. */
struct agent_backoff {
	unsigned min_ms, max_ms, cur_ms;
};
void agent_backoff_init(struct agent_backoff *b, unsigned min_ms, unsigned max_ms);
/* The delay to wait before the next attempt (and double it for later). */
unsigned agent_backoff_next(struct agent_backoff *b);
void agent_backoff_reset(struct agent_backoff *b);

/* Drop privileges for good (jail/jail.h's jail_enter): a new mount namespace
 * with an empty read-only tmpfs root when "/" is not the initramfs (pivot_root
 * cannot leave rootfs, pivot_root(2)), then uid/gid, every capability
 * cleared, no_new_privs, and every fd but keep[0..nkeep) and stderr closed.
 * Returns 1 when the root was replaced, 0 when it was kept; aborts (after a
 * "jail: step: error" line) when a step fails, as a half-dropped privilege
 * cannot be undone. mountinfo is /proc/self/mountinfo (tests pass another). */
int agent_jail(uid_t uid, gid_t gid, const int *keep, size_t nkeep, const char *mountinfo);
/* 1 when mountinfo (a /proc/self/mountinfo text) shows "/" on rootfs, 0 when
 * not, -errno when it cannot be read. */
int agent_root_is_rootfs(const char *mountinfo);

/* Monotonic milliseconds. */
uint64_t agent_now_ms(void);
#endif
