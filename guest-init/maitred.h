/* Maitred inside init: the guest's RPC service (proto/maitred.proto) on
 * vsock port 8888, served from init's single-threaded event loop with
 * rpc_conn (proto/README.md, "Embedding"). Only the host (CID 2) may
 * connect: anything else, including the guest's own processes through vsock
 * loopback, is closed at once. Exec runs commands as init's children in their
 * own session and answers when they are reaped and their output is drained
 * (a deferred rpc_conn reply), so the loop never blocks on a command.
 *
 * The service reaches init only through struct init_maitred_ops, so unit
 * tests drive it with fakes (tests/unit/init_maitred_test.c) and the real
 * init plugs in init_pid1_* (init_maitred_start). docs/INIT.md, "RPC service". */
#ifndef APPVM_INIT_MAITRED_H
#define APPVM_INIT_MAITRED_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "evloop/evloop.h"
#include "guest-init/config.h"
#include "guest-init/pid1.h"
#include "guest-init/spawn.h"
#include "proto/maitred.h"
#include "proto/rpc.h"

#ifndef APPVM_VERSION
#define APPVM_VERSION "0.1"
#endif
#define INIT_MAITRED_VERSION "appvm-init " APPVM_VERSION

/* Concurrent connections; more are accepted and closed at once. Each takes
 * one loop slot, a waiting Exec two more (its stdout and stderr pipes). */
#define INIT_MAITRED_MAX_CONNS 16
/* A frame that started arriving (or a response being sent) must be done
 * within this, or the connection is dropped; idle time between frames is
 * unbounded, as in the blocking server. */
#define INIT_MAITRED_IO_TIMEOUT_MS 10000
/* After an Exec'd command is reaped, how long its pipes may stay open (a
 * background grandchild holding stdout) before the reply goes out with what
 * was read so far. */
#define INIT_MAITRED_EOF_GRACE_MS 500
/* Bytes read from one output pipe per loop callback, so a chatty command
 * cannot starve the rest of init. */
#define INIT_MAITRED_READ_BATCH 65536

/* What the service needs from init. init_maitred_start fills it with
 * init_pid1's functions; unit tests pass fakes. NULL set_clock / mount /
 * resolv_conf use clock_settime(2), mount(2) and /etc/resolv.conf. */
struct init_maitred_ops {
	void *arg;
	/* init_pid1_spawn: start s, call cb(cb_arg, pid, wstatus) once reaped. */
	pid_t (*spawn)(void *arg, const struct init_spawn *s, init_pid1_exit_cb *cb,
		       void *cb_arg, const char **stage);
	/* init_pid1_unwatch: never call cb for pid. */
	int (*unwatch)(void *arg, pid_t pid);
	/* init_pid1_request_shutdown (status 0 when the app has not exited). */
	void (*shutdown)(void *arg, bool reboot);
	int (*set_clock)(void *arg, const struct timespec *ts);
	int (*mount)(void *arg, const char *src, const char *dir, const char *fstype,
		     unsigned long flags, const char *data);
	const char *resolv_conf;
	/* The PATH searched for Exec's argv[0] when the request's env has
	 * none (init's children's default). */
	const char *default_path;
};

struct init_maitred;

/* A command started by Exec, waiting to be answered (detach=false). */
struct init_maitred_exec {
	pid_t pid;
	int out_fd, err_fd;	/* read ends, -1 once at EOF or closed */
	bool exited;
	int wstatus;
	bool timed_out;
	uint64_t deadline_ms;	/* timeout_ms expiry (0: none) */
	uint64_t grace_ms;	/* after the exit: stop waiting for EOF (0: not yet) */
	maitred_ExecResponse resp;
};

struct init_maitred_conn {
	struct rpc_conn rc;	/* first: rpc_conn callbacks find us from it */
	struct init_maitred *m;
	int fd;			/* -1: slot free */
	uint64_t busy_since_ms;	/* when it went mid-frame (0: not) */
	bool shutdown_after;	/* Shutdown answered: request it once sent */
	bool shutdown_reboot;
	struct init_maitred_exec *exec;	/* the pending Exec, or NULL */
};

struct init_maitred {
	struct init_maitred_ops ops;
	struct evloop *loop;
	struct rpc_server srv;
	int listen_fd;		/* -1: none */
	bool vsock;		/* listen_fd is AF_VSOCK: check the peer's CID */
	struct evloop_timer timer;	/* the next deadline of all connections and Execs */
	struct init_maitred_conn conn[INIT_MAITRED_MAX_CONNS];
	uint64_t accepted, refused;	/* counters for the log and the tests */
};

/* Set up the service on loop (fds added there): a timer, no listener yet.
 * Returns 0 or -errno. */
int init_maitred_init(struct init_maitred *m, struct evloop *loop,
		      const struct init_maitred_ops *ops);
/* Stop: close every connection (pending Execs are killed and unwatched),
 * the listener and the timer. */
void init_maitred_release(struct init_maitred *m);
/* Take over a listening socket (non-blocking). With vsock, peers other than
 * VMADDR_CID_HOST are refused. Returns 0 or -errno. */
int init_maitred_listen(struct init_maitred *m, int fd, bool vsock);
/* Serve an already connected socket (tests: a socketpair end); takes
 * ownership of fd in every case. Returns 0, -ENOSPC (closed: too many) or
 * -errno. */
int init_maitred_add_conn(struct init_maitred *m, int fd);
/* Live connections. */
int init_maitred_nconns(const struct init_maitred *m);

/* Open AF_VSOCK port on VMADDR_CID_ANY, listening, non-blocking. Returns the
 * fd or -errno (-EAFNOSUPPORT: the kernel has no vsock). */
int init_maitred_vsock_listen(uint32_t port);
/* Whether a vsock peer may talk to us: only the host, CID 2. */
bool init_maitred_peer_ok(uint32_t cid);
/* Whether init serves the RPC under cfg: init.rpc=1, or init.rpc=auto (the
 * default) with vmm's appvm.exit_port= announcement present. */
bool init_maitred_enabled(const struct init_config *cfg);

/* The start hook for init_pid1_run: arg unused. Listens on init.rpc_port
 * when init_maitred_enabled(); returns 0, or -errno (init logs it and boots
 * on without the service). */
int init_maitred_start(struct init_pid1 *p, void *arg);

/* ---- helpers, exposed for the unit tests ---- */

/* Find name (argv[0]) as execvp(3) would: containing '/', name itself
 * (relative to cwd); otherwise each directory of path. The full path goes to
 * out. Returns 0, -ENOENT (nowhere), -EACCES (found, but only as something
 * not executable: a directory or a file without x permission), or
 * -ENAMETOOLONG. */
int init_maitred_find_exec(const char *name, const char *path, const char *cwd, char *out,
			   size_t n);
/* Append up to n bytes of src to a bounded output field (bytes/size of
 * capacity cap); what does not fit is dropped and sets *truncated. Returns
 * the bytes kept. */
size_t init_maitred_take(uint8_t *bytes, pb_size_t *size, size_t cap, const uint8_t *src,
			 size_t n, bool *truncated);

/* Method handlers of maitred_sys.c (the synchronous ones); ctx is the
 * struct init_maitred. */
uint32_t init_maitred_get_info(void *ctx, const void *req, void *resp, struct rpc_status *st);
uint32_t init_maitred_set_time(void *ctx, const void *req, void *resp, struct rpc_status *st);
uint32_t init_maitred_mount(void *ctx, const void *req, void *resp, struct rpc_status *st);
uint32_t init_maitred_configure_network(void *ctx, const void *req, void *resp,
					struct rpc_status *st);

/* ConfigureNetwork, parsed and validated (maitred_sys.c). */
struct init_maitred_net {
	char ifname[16];	/* empty: the first ethernet interface */
	bool has_addr;		/* IPv4: */
	uint32_t addr, mask, gw;	/* network order; gw 0: no default route */
	bool has_addr6;		/* IPv6 (prefix_len, no netmask): */
	uint8_t addr6[16], gw6[16];
	unsigned prefix6;
	bool has_gw6;
	unsigned mtu;		/* 0: leave */
	int ndns;
	char dns[4][46];
};
/* Returns RPC_OK or RPC_INVALID_ARGUMENT with st set. */
uint32_t init_maitred_net_parse(const maitred_ConfigureNetworkRequest *r,
				struct init_maitred_net *out, struct rpc_status *st);
/* resolv.conf text for the name servers into buf. Returns its length or
 * -ENOSPC. */
int init_maitred_resolv_text(const struct init_maitred_net *n, char *buf, size_t len);
#endif
