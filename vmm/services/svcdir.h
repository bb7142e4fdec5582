/* vmm's own vsock endpoints (docs/AGENTS.md): a private 0700 directory with
 * one listening unix socket per host port, named by the port number. The
 * vsock device forwards a guest connection to host port P there
 * (vsock_set_svc_dir), so the endpoints never call into the device and the
 * device never calls into them: only a path and sockets cross, which also
 * works once the device runs in a jailed process of its own (bind the
 * directory in).
 *
 * Each endpoint has an accept thread; each accepted connection is served on
 * a thread of its own (at most SVCDIR_MAX_CONNS per endpoint at once; more
 * are closed at once) by the endpoint's serve function, which owns nothing
 * of the fd: svcdir closes it when serve returns.
 *
 * Ownership: struct svcdir owns the directory, sockets and threads;
 * svcdir_close stops everything and removes the directory. */
#ifndef VMM_SERVICES_SVCDIR_H
#define VMM_SERVICES_SVCDIR_H
#include <stdint.h>

#define SVCDIR_MAX_ENDPOINTS 4
#define SVCDIR_MAX_CONNS 4

struct svcdir;

/* Serve one connection (blocking fd) until the peer is done. Runs on its own
 * thread; must return once the fd reports EOF (svcdir_close shuts every
 * connection down). */
typedef void svcdir_serve_fn(void *ctx, int fd);

/* Create the directory: $XDG_RUNTIME_DIR or $TMPDIR or /tmp, then
 * "vmm-<pid>-XXXXXX" (mkdtemp, mode 0700). 0 or -errno (logged). */
int svcdir_open(struct svcdir **out);
const char *svcdir_path(const struct svcdir *s);
/* Listen on DIR/<port> and serve each connection with fn(ctx, fd). 0, -ENOSPC
 * past SVCDIR_MAX_ENDPOINTS, or -errno. */
int svcdir_listen(struct svcdir *s, uint32_t port, svcdir_serve_fn *fn, void *ctx);
/* Stop accepting, shut down live connections, join every thread, unlink the
 * sockets and remove the directory. NULL ok. */
void svcdir_close(struct svcdir *s);
#endif
