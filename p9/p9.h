/* p9: a 9P2000.L file server library, independent of any transport.
 *
 * A transport (the virtio-9p device) hands p9_handle() one whole request
 * message and gets one whole reply message back; the library never blocks on
 * anything but the host file system, keeps no global state, and treats every
 * byte of a request as hostile. docs/P9.md describes the protocol coverage,
 * the security model and the uid mapping policies.
 *
 * Name space (seneschal's model): the server's root is a synthetic, read-only
 * directory that starts empty; every grant appears in it as a top-level
 * directory NAME backed by one host directory. An attach with aname "" gets
 * that root (or config.root_share when set), an attach with aname NAME gets
 * the grant's directory itself.
 *
 * Not thread-safe: one server is driven by one thread (the device's worker).
 */
#ifndef APPVM_P9_H
#define APPVM_P9_H
#include <stddef.h>
#include <stdint.h>

/* Bounds. A grant name is one path component. */
#define P9_MAX_SHARES 64
#define P9_NAME_MAX 255
/* Smallest msize we negotiate: a header plus a page of payload. */
#define P9_MSIZE_MIN 4096
/* Smallest reply buffer p9_handle() can answer into (an Rlerror). */
#define P9_REPLY_MIN 11

enum p9_uid_policy {
	/* Files are created as, and owned by, the server's uid/gid. The guest
	 * sees every file the server owns as owned by guest_uid/guest_gid and
	 * other files with their host ids; chown to anything else fails with
	 * EPERM. Mode bits are kept on the host (set-id bits never). */
	P9_UID_MAPPED,
	/* The server runs as root (in its user namespace): new files get the
	 * attaching guest uid and the requested gid, chown is passed through,
	 * host ids are reported as they are. p9_server_new() refuses it when
	 * geteuid() != 0. */
	P9_UID_PASSTHROUGH,
};

struct p9_share_config {
	const char *name;  /* top-level name, one component, <= P9_NAME_MAX */
	const char *path;  /* host directory, used when dirfd < 0 */
	int dirfd;         /* or an open directory fd (dup'ed; caller keeps it) */
	int ro;            /* refuse every mutation with EROFS */
};

struct p9_config {
	const struct p9_share_config *shares;
	size_t n_shares;
	uint32_t msize_max;  /* 0: 512 KiB; at least P9_MSIZE_MIN */
	uint32_t fid_limit;  /* fids per connection; 0: 4096 */
	enum p9_uid_policy uid_policy;
	uint32_t guest_uid, guest_gid; /* P9_UID_MAPPED: owner shown to the guest */
	const char *root_share; /* attach with aname "" gets this grant, if set */
	/* The caller's seccomp filter has no fchmodat2 (a toolchain whose
	 * syscall table predates it): chmod of a FIFO or socket answers EPERM
	 * without trying, as on a kernel before 6.6, instead of a call the
	 * filter would kill the process for. */
	int no_fchmodat2;
#ifdef APPVM_TEST
	/* Tests: resolve with the O_NOFOLLOW per-component walk even where
	 * openat2() exists, so both resolvers are exercised. */
	int force_walk;
#endif
};

struct p9_server;

/* Creates a server owning dup'ed fds of the configured shares. Returns NULL
 * with errno set: EINVAL for a bad name, duplicate, bound or policy, or the
 * error opening a share directory. */
struct p9_server *p9_server_new(const struct p9_config *cfg);
/* Frees the server, its fids and its shares' fds. NULL is fine. */
void p9_server_free(struct p9_server *s);

/* Serves one request: req[0..len) is one message (its size field may be
 * smaller than len; trailing bytes are ignored). Writes one reply message into
 * reply[0..cap) and returns its length. Every protocol error is an Rlerror
 * reply; a negative errno means no reply at all could be formed: -EINVAL when
 * the request is shorter than a header (no tag to answer), -ENOBUFS when cap
 * is below P9_REPLY_MIN. The reply is never longer than the negotiated msize. */
long p9_handle(struct p9_server *s, const uint8_t *req, size_t len, uint8_t *reply, size_t cap);

/* Grants host_path (a directory, opened O_PATH here; the caller trusts the
 * path) as top-level directory name. 0 or -errno: -EINVAL bad name, -EEXIST
 * name in use, -ENOSPC P9_MAX_SHARES reached, or the open's error. */
int p9_grant(struct p9_server *s, const char *host_path, const char *name, int ro);
/* The same with an open directory fd (dup'ed; the caller keeps its fd). */
int p9_grant_fd(struct p9_server *s, int dirfd, const char *name, int ro);
/* Revokes a grant: its name disappears, and every fid inside it turns stale
 * at once (open files closed; later requests get ESTALE, clunk works).
 * 0 or -ENOENT. */
int p9_revoke(struct p9_server *s, const char *name);

/* The msize negotiated by the last Tversion (msize_max before one). */
uint32_t p9_msize(const struct p9_server *s);
/* Fids in use; for tests and the device's status. */
uint32_t p9_fid_count(const struct p9_server *s);
#endif
