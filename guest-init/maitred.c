/* Maitred in init's event loop: the vsock listener, the connections (each an
 * rpc_conn on a non-blocking fd), Exec with deferred replies, Shutdown, and
 * one loop timer for every deadline. The other handlers are in maitred_sys.c. */
#include "guest-init/maitred.h"
#include "guest-init/log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif

/* The fixed PATH children get (spawn.c's, also in docs/INIT.md). */
#define MAITRED_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static void maitred_arm(struct init_maitred *m);
static void maitred_conn_close(struct init_maitred_conn *c);

/* ---- helpers ---- */

bool init_maitred_peer_ok(uint32_t cid)
{
	/* The seeds' concern: maitred's fixed port must not be reachable by
	 * anything but the host. VMADDR_CID_LOCAL (1) is vsock loopback, the
	 * guest's own CID another way to reach ourselves. */
	return cid == VMADDR_CID_HOST;
}

bool init_maitred_enabled(const struct init_config *cfg)
{
	if (cfg->rpc >= 0)
		return cfg->rpc == 1;
	/* Auto: only when vmm announced itself; elsewhere no host is known to
	 * speak our protocol on vsock. */
	return cfg->exit_port >= 0;
}

size_t init_maitred_take(uint8_t *bytes, pb_size_t *size, size_t cap, const uint8_t *src,
			 size_t n, bool *truncated)
{
	size_t room = cap > *size ? cap - *size : 0;
	size_t k = n < room ? n : room;

	memcpy(bytes + *size, src, k);
	*size = (pb_size_t)(*size + k);
	if (k < n)
		*truncated = true;
	return k;
}

/* 0 when path is an executable regular file, -EACCES when it exists as
 * something else or without execute permission, -ENOENT otherwise. */
static int maitred_exec_ok(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return errno == ENOENT || errno == ENOTDIR ? -ENOENT : -EACCES;
	if (!S_ISREG(st.st_mode) || access(path, X_OK) < 0)
		return -EACCES;
	return 0;
}

int init_maitred_find_exec(const char *name, const char *path, const char *cwd, char *out,
			   size_t n)
{
	int r, err = -ENOENT;

	if (!*name)
		return -ENOENT;
	if (strchr(name, '/')) {
		if (name[0] == '/' || !cwd || !*cwd)
			r = snprintf(out, n, "%s%s", name[0] == '/' ? "" : "/", name);
		else
			r = snprintf(out, n, "%s/%s", cwd, name);
		if (r < 0 || (size_t)r >= n)
			return -ENAMETOOLONG;
		return maitred_exec_ok(out);
	}
	for (const char *d = path ? path : MAITRED_PATH;;) {
		const char *e = strchr(d, ':');
		size_t l = e ? (size_t)(e - d) : strlen(d);

		/* An empty PATH element is the current directory (execvp). */
		if (l == 0)
			r = snprintf(out, n, "%s/%s", cwd && *cwd ? cwd : "", name);
		else
			r = snprintf(out, n, "%.*s/%s", (int)l, d, name);
		if (r >= 0 && (size_t)r < n) {
			int k = maitred_exec_ok(out);

			if (k == 0)
				return 0;
			if (k == -EACCES)
				err = -EACCES;
		}
		if (!e)
			break;
		d = e + 1;
	}
	out[0] = '\0';
	return err;
}

/* SIGKILL to a command's session (its process group: init_spawn makes
 * every command a session leader). Only ever for a pid we started and have
 * not reaped, so the group cannot be someone else's; and the group only as
 * PID 1, where everything in the guest is ours. Elsewhere (unit tests) just
 * the process. */
static void maitred_kill(pid_t pid)
{
	if (pid <= 1)
		return;
	if (getpid() == 1)
		kill(-pid, SIGKILL);
	kill(pid, SIGKILL);
}

/* ---- connections ---- */

static struct init_maitred_conn *maitred_conn_of(struct rpc_conn *rc)
{
	return (struct init_maitred_conn *)rc;
}

int init_maitred_nconns(const struct init_maitred *m)
{
	int n = 0;

	for (int i = 0; i < INIT_MAITRED_MAX_CONNS; i++)
		n += m->conn[i].fd >= 0;
	return n;
}

/* Watch what rpc_conn wants; a deferred call waits with no events (EPOLLHUP
 * and EPOLLERR still come, so a host that goes away is seen). */
static void maitred_conn_events(struct init_maitred_conn *c)
{
	short ev = rpc_conn_events(&c->rc);
	uint32_t e = (ev & POLLIN ? EPOLLIN : 0) | (ev & POLLOUT ? EPOLLOUT : 0);

	/* While a deferred call waits nothing is read; a vsock peer that
	 * closes shows only as EPOLLRDHUP (vsock_poll sets EPOLLHUP only once
	 * our side shut down too), so ask for that. */
	if (c->rc.pending)
		e |= EPOLLRDHUP;

	evloop_set_events(c->m->loop, c->fd, e);
	if (rpc_conn_mid_frame(&c->rc)) {
		if (!c->busy_since_ms)
			c->busy_since_ms = evloop_now_ms();
	} else {
		c->busy_since_ms = 0;
	}
}

/* Make progress on c; closes it on EOF or a protocol error. Then, once a
 * Shutdown reply is completely in the socket, ask init to shut down: the
 * host has its answer before init starts killing things. */
static void maitred_conn_run(struct init_maitred_conn *c)
{
	struct init_maitred *m = c->m;
	int r = rpc_conn_handle(&c->rc);

	if (c->shutdown_after && c->rc.out_off >= c->rc.out.len) {
		c->shutdown_after = false;
		init_log(INIT_LOG_NOTICE, "maitred: %s requested by the host",
			 c->shutdown_reboot ? "reboot" : "power off");
		m->ops.shutdown(m->ops.arg, c->shutdown_reboot);
	}
	if (r != 0) {
		if (r < 0 && r != -ECONNRESET)
			init_log(INIT_LOG_INFO, "maitred: connection dropped: %s", strerror(-r));
		maitred_conn_close(c);
		maitred_arm(m);
		return;
	}
	maitred_conn_events(c);
	maitred_arm(m);
}

static void maitred_on_conn(void *arg, int fd, uint32_t events)
{
	struct init_maitred_conn *c = arg;

	(void)fd;
	if (c->rc.pending && (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))) {
		/* The host hung up (or half-closed) while its Exec runs:
		 * cancel it, nobody can receive the answer. */
		init_log(INIT_LOG_INFO, "maitred: host closed the connection during a call");
		maitred_conn_close(c);
		maitred_arm(c->m);
		return;
	}
	maitred_conn_run(c);
}

static void maitred_exec_cancel(struct init_maitred *m, struct init_maitred_exec *x);

static void maitred_conn_close(struct init_maitred_conn *c)
{
	struct init_maitred *m = c->m;

	if (c->fd < 0)
		return;
	if (c->exec) {
		/* The host went away: nobody wants this command's result. */
		maitred_exec_cancel(m, c->exec);
		c->exec = NULL;
	}
	if (c->shutdown_after) {
		/* The reply may not have made it out, but the host asked. */
		c->shutdown_after = false;
		m->ops.shutdown(m->ops.arg, c->shutdown_reboot);
	}
	evloop_del(m->loop, c->fd);
	close(c->fd);
	rpc_conn_release(&c->rc);
	c->fd = -1;
	c->busy_since_ms = 0;
}

int init_maitred_add_conn(struct init_maitred *m, int fd)
{
	struct init_maitred_conn *c = NULL;
	int fl, r;

	for (int i = 0; i < INIT_MAITRED_MAX_CONNS && !c; i++)
		if (m->conn[i].fd < 0)
			c = &m->conn[i];
	if (!c) {
		close(fd);
		return -ENOSPC;
	}
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	r = evloop_add(m->loop, fd, maitred_on_conn, c);
	if (r < 0) {
		close(fd);
		return r;
	}
	memset(c, 0, sizeof(*c));
	c->m = m;
	c->fd = fd;
	rpc_conn_init(&c->rc, &m->srv, fd);
	return 0;
}

static void maitred_on_accept(void *arg, int lfd, uint32_t events)
{
	struct init_maitred *m = arg;

	(void)events;
	/* A few per wake-up; level-triggered epoll brings us back for more. */
	for (int i = 0; i < 8; i++) {
		struct sockaddr_vm sa;
		socklen_t len = sizeof(sa);
		int fd, r;

		memset(&sa, 0, sizeof(sa));
		fd = accept4(lfd, (struct sockaddr *)&sa, &len, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0)
			return;
		if (m->vsock && (len < sizeof(sa) || sa.svm_family != AF_VSOCK ||
				 !init_maitred_peer_ok(sa.svm_cid))) {
			m->refused++;
			init_log(INIT_LOG_WARN, "maitred: refused a connection from CID %u port %u (only the host, CID 2, may connect)",
				 (unsigned)sa.svm_cid, (unsigned)sa.svm_port);
			close(fd);
			continue;
		}
		r = init_maitred_add_conn(m, fd);
		if (r < 0) {
			m->refused++;
			init_log(INIT_LOG_WARN, "maitred: refused a connection: %s",
				 r == -ENOSPC ? "too many connections" : strerror(-r));
			continue;
		}
		m->accepted++;
	}
}

int init_maitred_vsock_listen(uint32_t port)
{
	struct sockaddr_vm sa;
	int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), r;

	if (fd < 0)
		return -errno;
	memset(&sa, 0, sizeof(sa));
	sa.svm_family = AF_VSOCK;
	sa.svm_cid = VMADDR_CID_ANY;
	sa.svm_port = port;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, INIT_MAITRED_MAX_CONNS) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

int init_maitred_listen(struct init_maitred *m, int fd, bool vsock)
{
	int r = evloop_add(m->loop, fd, maitred_on_accept, m);

	if (r < 0)
		return r;
	m->listen_fd = fd;
	m->vsock = vsock;
	return 0;
}

/* ---- deadlines ---- */

/* Earliest deadline of anything, 0 when none. */
static uint64_t maitred_next(const struct init_maitred *m)
{
	uint64_t next = 0;

	for (int i = 0; i < INIT_MAITRED_MAX_CONNS; i++) {
		const struct init_maitred_conn *c = &m->conn[i];
		uint64_t t[3] = { 0, 0, 0 };

		if (c->fd < 0)
			continue;
		if (c->busy_since_ms)
			t[0] = c->busy_since_ms + INIT_MAITRED_IO_TIMEOUT_MS;
		if (c->exec && !c->exec->exited)
			t[1] = c->exec->deadline_ms;
		if (c->exec && c->exec->exited)
			t[2] = c->exec->grace_ms;
		for (int k = 0; k < 3; k++)
			if (t[k] && (!next || t[k] < next))
				next = t[k];
	}
	return next;
}

static void maitred_arm(struct init_maitred *m)
{
	/* No deadline (0) disarms. */
	evloop_timer_at(&m->timer, maitred_next(m));
}

static void maitred_exec_finish(struct init_maitred_conn *c);
static void maitred_exec_drain(struct init_maitred *m, struct init_maitred_exec *x, bool all);

static void maitred_on_timer(void *arg)
{
	struct init_maitred *m = arg;
	uint64_t now = evloop_now_ms();

	for (int i = 0; i < INIT_MAITRED_MAX_CONNS; i++) {
		struct init_maitred_conn *c = &m->conn[i];
		struct init_maitred_exec *x = c->exec;

		if (c->fd < 0)
			continue;
		if (c->busy_since_ms && now >= c->busy_since_ms + INIT_MAITRED_IO_TIMEOUT_MS) {
			init_log(INIT_LOG_INFO, "maitred: connection stalled mid-frame for %d ms, dropped",
				 INIT_MAITRED_IO_TIMEOUT_MS);
			maitred_conn_close(c);
			continue;
		}
		if (x && !x->exited && x->deadline_ms && now >= x->deadline_ms && !x->timed_out) {
			init_log(INIT_LOG_INFO, "maitred: exec pid %d: timeout, killing its session",
				 (int)x->pid);
			x->timed_out = true;
			x->deadline_ms = 0;
			maitred_kill(x->pid);
		}
		if (x && x->exited && x->grace_ms && now >= x->grace_ms) {
			/* Reaped, but something else still holds its pipes. */
			maitred_exec_drain(m, x, true);
			maitred_exec_finish(c);
		}
	}
	maitred_arm(m);
}

/* ---- Exec ---- */

static void maitred_close_pipe(struct init_maitred *m, int *fd)
{
	if (*fd < 0)
		return;
	evloop_del(m->loop, *fd);
	close(*fd);
	*fd = -1;
}

/* Read what one pipe has now (at most a batch), keeping up to the bound and
 * discarding the rest, so the command never blocks on a full pipe. EOF or
 * an error closes it. */
static void maitred_pipe_read(struct init_maitred *m, struct init_maitred_exec *x, int *fd,
			      bool all)
{
	uint8_t buf[4096];
	size_t got = 0;
	bool is_out = fd == &x->out_fd;

	while (*fd >= 0 && (all || got < INIT_MAITRED_READ_BATCH)) {
		ssize_t n = read(*fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			maitred_close_pipe(m, fd);
			return;
		}
		got += (size_t)n;
		if (is_out)
			init_maitred_take(x->resp.stdout_data.bytes, &x->resp.stdout_data.size,
					  sizeof(x->resp.stdout_data.bytes), buf, (size_t)n,
					  &x->resp.stdout_truncated);
		else
			init_maitred_take(x->resp.stderr_data.bytes, &x->resp.stderr_data.size,
					  sizeof(x->resp.stderr_data.bytes), buf, (size_t)n,
					  &x->resp.stderr_truncated);
		if (all && got >= 4 * INIT_MAITRED_READ_BATCH)
			return;  /* a writer that never stops: enough */
	}
}

static void maitred_exec_drain(struct init_maitred *m, struct init_maitred_exec *x, bool all)
{
	maitred_pipe_read(m, x, &x->out_fd, all);
	maitred_pipe_read(m, x, &x->err_fd, all);
	if (all) {
		maitred_close_pipe(m, &x->out_fd);
		maitred_close_pipe(m, &x->err_fd);
	}
}

static void maitred_exec_free(struct init_maitred *m, struct init_maitred_exec *x)
{
	maitred_close_pipe(m, &x->out_fd);
	maitred_close_pipe(m, &x->err_fd);
	free(x);
}

static void maitred_exec_cancel(struct init_maitred *m, struct init_maitred_exec *x)
{
	if (!x->exited) {
		maitred_kill(x->pid);
		m->ops.unwatch(m->ops.arg, x->pid);
	}
	maitred_exec_free(m, x);
}

/* Reply once the command is reaped and both pipes are at EOF (or the grace
 * after its exit is over). */
static void maitred_exec_finish(struct init_maitred_conn *c)
{
	struct init_maitred *m = c->m;
	struct init_maitred_exec *x = c->exec;
	maitred_ExecResponse *r;

	if (!x || !x->exited)
		return;
	if ((x->out_fd >= 0 || x->err_fd >= 0) && (!x->grace_ms || evloop_now_ms() < x->grace_ms))
		return;
	maitred_exec_drain(m, x, true);
	r = &x->resp;
	r->pid = (uint32_t)x->pid;
	r->timed_out = x->timed_out;
	if (WIFEXITED(x->wstatus))
		r->exit_code = WEXITSTATUS(x->wstatus);
	else if (WIFSIGNALED(x->wstatus))
		r->signal = WTERMSIG(x->wstatus);
	else
		r->exit_code = -1;
	c->exec = NULL;
	rpc_conn_reply(&c->rc, NULL, r);
	maitred_exec_free(m, x);
	maitred_conn_run(c);
}

static void maitred_on_exit(void *arg, pid_t pid, int wstatus)
{
	struct init_maitred_conn *c = arg;
	struct init_maitred_exec *x = c->exec;

	if (!x || x->pid != pid)
		return;
	x->exited = true;
	x->wstatus = wstatus;
	x->grace_ms = evloop_now_ms() + INIT_MAITRED_EOF_GRACE_MS;
	/* Whatever it wrote before exiting is in the pipes now. */
	maitred_exec_drain(c->m, x, false);
	maitred_exec_finish(c);
	if (c->exec)
		maitred_arm(c->m);
}

static void maitred_on_pipe(void *arg, int fd, uint32_t events)
{
	struct init_maitred_conn *c = arg;
	struct init_maitred_exec *x = c->exec;

	(void)events;
	if (!x)
		return;
	maitred_pipe_read(c->m, x, fd == x->out_fd ? &x->out_fd : &x->err_fd, false);
	maitred_exec_finish(c);
}

static int maitred_code_of(int err)
{
	switch (err) {
	case -ENOENT:
		return RPC_NOT_FOUND;
	case -EACCES:
	case -EPERM:
	case -ENOEXEC:
		return RPC_PERMISSION_DENIED;
	case -ENOSPC:
	case -EMFILE:
	case -ENFILE:
	case -ENOMEM:
	case -EAGAIN:
		return RPC_RESOURCE_EXHAUSTED;
	default:
		return RPC_INTERNAL;
	}
}

/* The child's environment: init's defaults (PATH, HOME, TERM) overridden
 * or extended by the request's KEY=VALUE strings. Returns the count, or
 * -EINVAL naming the bad entry in *bad. */
static int maitred_env(const maitred_ExecRequest *r, char *buf, size_t bufn, char **envp,
		       int max, const char **bad, const char **path)
{
	int n = init_spawn_env("", buf, bufn, envp, max);

	if (n < 0)
		return n;
	for (pb_size_t i = 0; i < r->env_count; i++) {
		const char *e = r->env[i], *eq = strchr(e, '=');
		int j;

		if (!eq || eq == e) {
			*bad = e;
			return -EINVAL;
		}
		for (j = 0; j < n; j++)
			if (!strncmp(envp[j], e, (size_t)(eq - e) + 1))
				break;
		if (j == n) {
			if (n >= max - 1)
				return -E2BIG;
			n++;
		}
		envp[j] = (char *)e;
	}
	envp[n] = NULL;
	*path = NULL;
	for (int j = 0; j < n; j++)
		if (!strncmp(envp[j], "PATH=", 5))
			*path = envp[j] + 5;
	return n;
}

/* A non-blocking-read, blocking-write pipe: the child gets the write end
 * (dup2 makes it its stdout, blocking as programs expect). */
static int maitred_pipe(int p[2])
{
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	if (fcntl(p[0], F_SETFL, O_NONBLOCK) < 0) {
		int e = -errno;

		close(p[0]);
		close(p[1]);
		return e;
	}
	return 0;
}

static void maitred_exec_start(void *ctx, struct rpc_conn *rc, const void *reqp)
{
	struct init_maitred *m = ctx;
	struct init_maitred_conn *c = maitred_conn_of(rc);
	const maitred_ExecRequest *r = reqp;
	struct init_maitred_exec *x = NULL;
	struct rpc_status st = { .code = RPC_OK };
	char envbuf[512], full[1280];
	char *argv[33], *envp[48];
	const char *path = NULL, *bad = NULL, *stage = NULL, *cwd = r->cwd[0] ? r->cwd : "/";
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 }, stdio[3];
	struct init_spawn s;
	pid_t pid;
	int e;

	if (r->argv_count == 0 || !r->argv[0][0]) {
		rpc_status_set(&st, RPC_INVALID_ARGUMENT, "exec: empty argv");
		goto reply;
	}
	e = maitred_env(r, envbuf, sizeof(envbuf), envp, (int)(sizeof(envp) / sizeof(envp[0])),
			&bad, &path);
	if (e == -EINVAL) {
		rpc_status_set(&st, RPC_INVALID_ARGUMENT, "exec: env entry '%.64s' is not KEY=VALUE",
			       bad ? bad : "");
		goto reply;
	}
	if (e < 0) {
		rpc_status_set(&st, RPC_INVALID_ARGUMENT, "exec: environment too large");
		goto reply;
	}
	if (!path)
		path = m->ops.default_path ? m->ops.default_path : MAITRED_PATH;
	/* Decided here, not by a failing exec later, so the host can tell
	 * "not found" (127) from "not executable" (126) from a command that
	 * ran and failed. */
	e = init_maitred_find_exec(r->argv[0], path, cwd, full, sizeof(full));
	if (e == -ENOENT) {
		rpc_status_set(&st, RPC_NOT_FOUND, "%.200s: command not found", r->argv[0]);
		goto reply;
	}
	if (e == -EACCES) {
		rpc_status_set(&st, RPC_PERMISSION_DENIED, "%.200s: not executable", r->argv[0]);
		goto reply;
	}
	if (e < 0) {
		rpc_status_set(&st, RPC_INVALID_ARGUMENT, "%.200s: path too long", r->argv[0]);
		goto reply;
	}
	for (pb_size_t i = 0; i < r->argv_count; i++)
		argv[i] = (char *)r->argv[i];
	argv[r->argv_count] = NULL;

	if (!r->detach) {
		x = calloc(1, sizeof(*x));
		if (!x) {
			rpc_status_set(&st, RPC_RESOURCE_EXHAUSTED, "exec: out of memory");
			goto reply;
		}
		x->out_fd = x->err_fd = -1;
	}
	/* stdin_data (at most 16000 bytes by maitred.options) fits in a
	 * fresh pipe's buffer (64 KiB, pipe(7)): write it all now and close,
	 * so the child reads it and then EOF without the loop's help. */
	if (r->stdin_data.size) {
		if ((e = maitred_pipe(in)) < 0)
			goto sys_fail;
		if (write(in[1], r->stdin_data.bytes, r->stdin_data.size) != (ssize_t)r->stdin_data.size) {
			e = -EIO;
			goto sys_fail;
		}
		close(in[1]);
		in[1] = -1;
	}
	if (x && ((e = maitred_pipe(out)) < 0 || (e = maitred_pipe(err)) < 0))
		goto sys_fail;
	stdio[0] = in[0];
	stdio[1] = out[1];
	stdio[2] = err[1];
	memset(&s, 0, sizeof(s));
	s.path = full;
	s.argv = argv;
	s.envp = envp;
	s.stdio = stdio;
	s.workdir = cwd;
	pid = m->ops.spawn(m->ops.arg, &s, x ? maitred_on_exit : NULL, c, &stage);
	if (in[0] >= 0)
		close(in[0]);
	if (out[1] >= 0)
		close(out[1]);
	if (err[1] >= 0)
		close(err[1]);
	in[0] = out[1] = err[1] = -1;
	if (pid < 0) {
		e = (int)pid;
		if (stage && !strcmp(stage, "chdir"))
			rpc_status_set(&st, RPC_INVALID_ARGUMENT, "exec: cwd %.200s: %s", cwd, strerror(-e));
		else
			rpc_status_set(&st, (uint32_t)(e == -EAGAIN ? RPC_UNAVAILABLE : maitred_code_of(e)),
				       "exec %.200s: %s failed: %s", full, stage ? stage : "spawn",
				       e == -EAGAIN ? "init is shutting down" : strerror(-e));
		goto fail_pipes;
	}
	if (!x) {
		maitred_ExecResponse *resp = calloc(1, sizeof(*resp));

		init_log(INIT_LOG_INFO, "maitred: exec %s (pid %d), detached", full, (int)pid);
		if (!resp) {
			rpc_conn_reply(rc, NULL, &(maitred_ExecResponse){ .pid = (uint32_t)pid });
			return;
		}
		resp->pid = (uint32_t)pid;
		rpc_conn_reply(rc, NULL, resp);
		free(resp);
		return;
	}
	x->pid = pid;
	x->out_fd = out[0];
	x->err_fd = err[0];
	out[0] = err[0] = -1;
	if (r->timeout_ms)
		x->deadline_ms = evloop_now_ms() + r->timeout_ms;
	c->exec = x;
	if ((e = evloop_add(m->loop, x->out_fd, maitred_on_pipe, c)) < 0 ||
	    (e = evloop_add(m->loop, x->err_fd, maitred_on_pipe, c)) < 0) {
		/* No loop slot to watch its output: do not leave it running
		 * unobserved. */
		init_log(INIT_LOG_WARN, "maitred: exec %s: cannot watch its output: %s", full,
			 strerror(-e));
		maitred_exec_cancel(m, x);
		c->exec = NULL;
		rpc_status_set(&st, RPC_RESOURCE_EXHAUSTED, "exec: no room in init's event loop");
		goto reply;
	}
	init_log(INIT_LOG_INFO, "maitred: exec %s (pid %d)", full, (int)pid);
	maitred_arm(m);
	return;

sys_fail:
	rpc_status_set(&st, maitred_code_of(e), "exec: pipe: %s", strerror(-e));
fail_pipes:
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (out[i] >= 0)
			close(out[i]);
		if (err[i] >= 0)
			close(err[i]);
	}
	free(x);
reply:
	rpc_conn_reply(rc, &st, NULL);
}

/* ---- Shutdown ---- */

/* Deferred only to see its connection: the reply goes out at once, and
 * the connection asks init to shut down once that reply has been written
 * completely (maitred_conn_run). */
static void maitred_shutdown_start(void *ctx, struct rpc_conn *rc, const void *reqp)
{
	struct init_maitred_conn *c = maitred_conn_of(rc);
	const maitred_ShutdownRequest *r = reqp;

	(void)ctx;
	c->shutdown_after = true;
	c->shutdown_reboot = r->reboot;
	rpc_conn_reply(rc, NULL, &(maitred_ShutdownResponse){ 0 });
}

static const struct rpc_method maitred_methods[] = {
	{ &proto_maitred_methods[PROTO_MAITRED_CONFIGURE_NETWORK], init_maitred_configure_network },
	{ &proto_maitred_methods[PROTO_MAITRED_MOUNT], init_maitred_mount },
	{ &proto_maitred_methods[PROTO_MAITRED_SET_TIME], init_maitred_set_time },
	{ &proto_maitred_methods[PROTO_MAITRED_GET_INFO], init_maitred_get_info },
};

static const struct rpc_async_method maitred_async[] = {
	{ &proto_maitred_methods[PROTO_MAITRED_EXEC], maitred_exec_start },
	{ &proto_maitred_methods[PROTO_MAITRED_SHUTDOWN], maitred_shutdown_start },
};

/* ---- lifetime ---- */

int init_maitred_init(struct init_maitred *m, struct evloop *loop,
		      const struct init_maitred_ops *ops)
{
	memset(m, 0, sizeof(*m));
	m->ops = *ops;
	m->loop = loop;
	m->listen_fd = -1;
	for (int i = 0; i < INIT_MAITRED_MAX_CONNS; i++)
		m->conn[i].fd = -1;
	m->srv.methods = maitred_methods;
	m->srv.n_methods = sizeof(maitred_methods) / sizeof(maitred_methods[0]);
	m->srv.async_methods = maitred_async;
	m->srv.n_async = sizeof(maitred_async) / sizeof(maitred_async[0]);
	m->srv.ctx = m;
	m->srv.io_timeout_ms = INIT_MAITRED_IO_TIMEOUT_MS;
	return evloop_timer_init(loop, &m->timer, maitred_on_timer, m);
}

void init_maitred_release(struct init_maitred *m)
{
	for (int i = 0; i < INIT_MAITRED_MAX_CONNS; i++) {
		m->conn[i].shutdown_after = false;
		maitred_conn_close(&m->conn[i]);
	}
	if (m->listen_fd >= 0) {
		evloop_del(m->loop, m->listen_fd);
		close(m->listen_fd);
		m->listen_fd = -1;
	}
	evloop_timer_release(&m->timer);
}

/* ---- the real init ---- */

static pid_t maitred_pid1_spawn(void *arg, const struct init_spawn *s, init_pid1_exit_cb *cb,
				void *cb_arg, const char **stage)
{
	return init_pid1_spawn(arg, s, cb, cb_arg, stage);
}

static int maitred_pid1_unwatch(void *arg, pid_t pid)
{
	return init_pid1_unwatch(arg, pid);
}

static void maitred_pid1_shutdown(void *arg, bool reboot)
{
	init_pid1_request_shutdown(arg, reboot ? INIT_FINAL_REBOOT : INIT_FINAL_POWEROFF, 0,
				   reboot ? "reboot requested by the host (maitred)" :
				   "power off requested by the host (maitred)");
}

int init_maitred_start(struct init_pid1 *p, void *arg)
{
	const struct init_config *cfg = init_pid1_config(p);
	struct init_maitred_ops ops = {
		.arg = p,
		.spawn = maitred_pid1_spawn,
		.unwatch = maitred_pid1_unwatch,
		.shutdown = maitred_pid1_shutdown,
	};
	struct init_maitred *m;
	int fd, r;

	(void)arg;
	if (!init_maitred_enabled(cfg)) {
		init_log(INIT_LOG_DEBUG, "maitred: off (init.rpc=%s)", cfg->rpc == 0 ? "0" : "auto, not under vmm");
		return 0;
	}
	/* Lives as long as PID 1. */
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	r = init_maitred_init(m, init_pid1_loop(p), &ops);
	if (r < 0) {
		free(m);
		return r;
	}
	fd = init_maitred_vsock_listen(cfg->rpc_port);
	if (fd < 0) {
		init_maitred_release(m);
		free(m);
		if ((fd == -EAFNOSUPPORT || fd == -ENODEV) && cfg->rpc < 0) {
			/* Auto mode on a kernel without vsock (a modular one
			 * that did not load it): nothing to serve on. */
			init_log(INIT_LOG_INFO, "maitred: no vsock in this kernel (%s); not serving",
				 strerror(-fd));
			return 0;
		}
		init_log(INIT_LOG_WARN, "maitred: vsock port %u: %s", cfg->rpc_port, strerror(-fd));
		return fd;
	}
	r = init_maitred_listen(m, fd, true);
	if (r < 0) {
		close(fd);
		init_maitred_release(m);
		free(m);
		return r;
	}
	init_log(INIT_LOG_INFO, "maitred: serving on vsock port %u (host only)", cfg->rpc_port);
	return 0;
}
