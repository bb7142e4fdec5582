#include "vmm/control.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "proto/maitred.h"
#include "proto/rpc.h"
#include "proto/vmctl.h"
#include "proto/vsh.h"
#include "vmm/device.h"
#include "vmm/log.h"
#include "vmm/usock.h"
#include "vmm/virtio.h"

/* A started frame must finish within this; idle time between frames is free. */
#define CTL_IO_TIMEOUT_MS 10000
/* A relayed guest call (e.g. Exec) may run long; the client bounds it too. */
#define CTL_GUEST_TIMEOUT_MS (15 * 60 * 1000)

struct ctl {
	struct evloop *ev;
	struct ctl_hooks hooks;
	int listen_fd;
	char path[108];
	pthread_mutex_t lock;
	pthread_cond_t idle;
	unsigned nthreads;
	int closing;
	int fds[CTL_MAX_CONNS];   /* live client and guest fds, for shutdown */
};

struct ctl_conn {
	struct ctl *ctl;
	int fd;
	int guest_fd;
};

/* A numeric constant as a string literal, for messages built at compile time. */
#define CTL_STR_(x) #x
#define CTL_STR(x) CTL_STR_(x)

static int ctl_track(struct ctl *c, int fd)
{
	int rc = -ENOSPC;

	pthread_mutex_lock(&c->lock);
	for (unsigned i = 0; i < CTL_MAX_CONNS; i++) {
		if (c->fds[i] < 0) {
			c->fds[i] = fd;
			rc = 0;
			break;
		}
	}
	pthread_mutex_unlock(&c->lock);
	return rc;
}

static void ctl_untrack_close(struct ctl *c, int fd)
{
	pthread_mutex_lock(&c->lock);
	for (unsigned i = 0; i < CTL_MAX_CONNS; i++)
		if (c->fds[i] == fd)
			c->fds[i] = -1;
	pthread_mutex_unlock(&c->lock);
	close(fd);
}

/* ---- VmControl handlers ---- */

/* The VM is stopped after the reply is written (ctl_conn_thread), so the
 * client learns that the stop was accepted. */
static uint32_t ctl_h_stop(void *ctx, const void *req, void *resp, struct rpc_status *st)
{
	return RPC_OK;
}

static uint32_t ctl_h_status(void *ctx, const void *req, void *resp, struct rpc_status *st)
{
	struct ctl *c = ctx;
	vmctl_StatusResponse *r = resp;
	int n = c->hooks.status_json(c->hooks.vm, r->json, sizeof(r->json));

	if (n < 0) {
		rpc_status_set(st, RPC_INTERNAL, "status: %s", strerror(-n));
		return RPC_INTERNAL;
	}
	return RPC_OK;
}

/* DeviceControl: the privileged half of a run-time device request. The
 * directory is opened here, in the VMM (as the user vmm runs as,
 * devdir_open), never in the device, which may be jailed with no file
 * system: it gets the fd.
 * A delivered request answers OK with the device's errno in the response. */
static uint32_t ctl_h_device(void *ctx, const void *req, void *resp, struct rpc_status *st)
{
	struct ctl *c = ctx;
	const vmctl_DeviceControlRequest *r = req;
	vmctl_DeviceControlResponse *out = resp;
	int fd = -1, rc;

	if (!c->hooks.device_control) {
		rpc_status_set(st, RPC_UNIMPLEMENTED, "%s", "no device control");
		return RPC_UNIMPLEMENTED;
	}
	if (r->open_dir[0]) {
		bool hardened;

		fd = devdir_open(r->open_dir, r->open_ro, &hardened);
		if (fd < 0) {
			out->error = -fd;
			return RPC_OK;
		}
	}
	rc = c->hooks.device_control(c->hooks.vm, r->device, r->msg.bytes, r->msg.size, fd);
	if (fd >= 0)
		close(fd);
	out->error = rc < 0 ? -rc : 0;
	if (rc < 0)
		log_info("control: %s request failed: %s", r->device, strerror(-rc));
	return RPC_OK;
}

static const struct rpc_method ctl_methods[] = {
	{ &proto_vmctl_methods[PROTO_VMCTL_STOP], ctl_h_stop },
	{ &proto_vmctl_methods[PROTO_VMCTL_STATUS], ctl_h_status },
	{ &proto_vmctl_methods[PROTO_VMCTL_DEVICE_CONTROL], ctl_h_device },
};

/* Read one frame into buf: 0, -ECONNRESET at a clean EOF before a header
 * (reported as 1), or -errno. */
static int ctl_read_frame(int fd, struct rpc_buf *buf, struct rpc_hdr *h, int first_timeout_ms)
{
	uint8_t hdr[RPC_HDR_SIZE];
	ssize_t n;
	int rc;

	n = rpc_read_full(fd, hdr, sizeof(hdr), rpc_deadline(first_timeout_ms));
	if (n == 0)
		return 1;
	if (n < 0)
		return (int)n;
	if ((size_t)n < sizeof(hdr))
		return -ECONNRESET;
	rc = rpc_frame_get_hdr(hdr, h);
	if (rc)
		return rc;
	rc = rpc_buf_reserve(buf, RPC_HDR_SIZE + h->len);
	if (rc)
		return rc;
	memcpy(buf->data, hdr, RPC_HDR_SIZE);
	n = rpc_read_full(fd, buf->data + RPC_HDR_SIZE, h->len, rpc_deadline(CTL_IO_TIMEOUT_MS));
	if (n < 0)
		return (int)n;
	if ((size_t)n < h->len)
		return -ECONNRESET;
	buf->len = RPC_HDR_SIZE + h->len;
	return 0;
}

static int ctl_error_reply(int fd, uint32_t stream, uint32_t code, const char *fmt, const char *arg)
{
	struct rpc_buf out = { 0 };
	struct rpc_status st;
	int rc;

	rpc_status_set(&st, code, fmt, arg);
	rc = rpc_frame_response(&out, stream, &st, NULL, NULL);
	if (rc == 0)
		rc = rpc_write_full(fd, out.data, out.len, rpc_deadline(CTL_IO_TIMEOUT_MS));
	rpc_buf_free(&out);
	return rc;
}

/* A stream to guest port: hand one end of a new socketpair to the
 * connector with "CONNECT <port>\n" (vmm/virtio.h). The device answers
 * only by wiring or closing it: a refusal reads as EOF. Never blocks: a
 * connector whose queue is full means the device is not keeping up. */
static int ctl_guest_connect(const struct ctl *c, uint32_t port)
{
	char line[32], cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = line };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	int sv[2], rc = 0;

	if (c->hooks.guest_streams < 0)
		return -ENODEV;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	iov.iov_len = (size_t)snprintf(line, sizeof(line), VIRTIO_STREAM_CONNECT " %u\n", port);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &sv[1], sizeof(int));
	if (sendmsg(c->hooks.guest_streams, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		rc = -errno;
	close(sv[1]);
	if (rc < 0) {
		close(sv[0]);
		return rc;
	}
	return sv[0];
}

/* Forward one request frame to the guest and its response back. */
static int ctl_relay(struct ctl_conn *cc, const struct rpc_buf *req, const struct rpc_hdr *h)
{
	struct ctl *c = cc->ctl;
	struct rpc_buf resp = { 0 };
	struct rpc_hdr rh;
	int rc;

	if (cc->guest_fd < 0) {
		int g = ctl_guest_connect(c, PROTO_MAITRED_PORT);
		if (g < 0)
			return ctl_error_reply(cc->fd, h->stream, RPC_UNAVAILABLE,
					       "guest service on vsock port " CTL_STR(PROTO_MAITRED_PORT) " not reachable: %s",
					       strerror(-g));
		if (ctl_track(c, g)) {
			close(g);
			return ctl_error_reply(cc->fd, h->stream, RPC_RESOURCE_EXHAUSTED, "%s", "too many connections");
		}
		cc->guest_fd = g;
	}
	rc = rpc_write_full(cc->guest_fd, req->data, req->len, rpc_deadline(CTL_IO_TIMEOUT_MS));
	if (rc == 0)
		rc = ctl_read_frame(cc->guest_fd, &resp, &rh, CTL_GUEST_TIMEOUT_MS);
	if (rc == 0 && (rh.type != RPC_TYPE_RESPONSE || rh.stream != h->stream))
		rc = -EPROTO;
	if (rc) {
		/* The guest side is out of sync or gone: drop it, tell the client. */
		ctl_untrack_close(c, cc->guest_fd);
		cc->guest_fd = -1;
		rpc_buf_free(&resp);
		return ctl_error_reply(cc->fd, h->stream, RPC_UNAVAILABLE,
				       "guest service on vsock port " CTL_STR(PROTO_MAITRED_PORT) " did not answer: %s",
				       rc == 1 ? "connection closed (service not running?)" : strerror(-rc));
	}
	rc = rpc_write_full(cc->fd, resp.data, resp.len, rpc_deadline(CTL_IO_TIMEOUT_MS));
	rpc_buf_free(&resp);
	return rc;
}

/* Copy bytes both ways between a and b until both directions have ended,
 * passing each EOF on as a half-close. One buffer per direction, and a side
 * is only read while its buffer is empty, so a peer that stops reading
 * stalls only its own direction. */
static void ctl_splice(int a, int b)
{
	/* 2 x 8 KiB: control threads run on 64 KiB stacks. */
	struct { int from, to; uint8_t buf[8192]; size_t off, len; bool eof; } d[2] = {
		{ .from = a, .to = b }, { .from = b, .to = a },
	};

	while (!d[0].eof || !d[1].eof) {
		struct pollfd p[4];

		for (int i = 0; i < 2; i++) {
			p[2 * i] = (struct pollfd){ .fd = d[i].eof || d[i].len ? -1 : d[i].from, .events = POLLIN };
			p[2 * i + 1] = (struct pollfd){ .fd = d[i].len ? d[i].to : -1, .events = POLLOUT };
		}
		if (poll(p, 4, -1) < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		for (int i = 0; i < 2; i++) {
			ssize_t n;

			if (p[2 * i].revents) {
				n = recv(d[i].from, d[i].buf, sizeof(d[i].buf), MSG_DONTWAIT);
				if (n > 0) {
					d[i].off = 0;
					d[i].len = (size_t)n;
				} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
					d[i].eof = true;
					shutdown(d[i].to, SHUT_WR);
				}
			}
			if (p[2 * i + 1].revents) {
				n = send(d[i].to, d[i].buf + d[i].off, d[i].len - d[i].off, MSG_DONTWAIT | MSG_NOSIGNAL);
				if (n < 0 && errno != EAGAIN && errno != EINTR)
					return;  /* the receiving side is gone */
				if (n > 0) {
					d[i].off += (size_t)n;
					if (d[i].off == d[i].len)
						d[i].off = d[i].len = 0;
				}
			}
		}
	}
}

/* OpenShell: connect to the guest's vshd, say OK, then relay raw bytes (the
 * vsh stream, proto/vsh.h) until the session ends. vmm does not parse them:
 * both ends check every message themselves. Returns when this connection is
 * done (it carries no more frames). */
static void ctl_open_shell(struct ctl_conn *cc, const struct rpc_hdr *h)
{
	struct ctl *c = cc->ctl;
	struct rpc_buf out = { 0 };
	int g = ctl_guest_connect(c, VSH_PORT), rc;

	if (g < 0) {
		ctl_error_reply(cc->fd, h->stream, RPC_UNAVAILABLE,
				"guest vshd on vsock port 9005 not reachable: %s", strerror(-g));
		return;
	}
	if (ctl_track(c, g)) {
		close(g);
		ctl_error_reply(cc->fd, h->stream, RPC_RESOURCE_EXHAUSTED, "%s", "too many connections");
		return;
	}
	rc = rpc_frame_response(&out, h->stream, NULL, NULL, NULL);
	if (rc == 0)
		rc = rpc_write_full(cc->fd, out.data, out.len, rpc_deadline(CTL_IO_TIMEOUT_MS));
	rpc_buf_free(&out);
	if (rc == 0)
		ctl_splice(cc->fd, g);
	ctl_untrack_close(c, g);
}

static void *ctl_conn_thread(void *arg)
{
	struct ctl_conn *cc = arg;
	struct ctl *c = cc->ctl;
	struct rpc_server srv = { .methods = ctl_methods, .n_methods = sizeof(ctl_methods) / sizeof(ctl_methods[0]), .ctx = c, .io_timeout_ms = CTL_IO_TIMEOUT_MS };
	struct rpc_buf buf = { 0 }, out = { 0 };
	struct rpc_hdr h;

	for (;;) {
		uint32_t method;
		const uint8_t *msg;
		size_t msg_len;
		int rc = ctl_read_frame(cc->fd, &buf, &h, -1);

		if (rc)
			break;  /* EOF, malformed frame or I/O error: close this connection */
		if (h.type != RPC_TYPE_REQUEST ||
		    rpc_frame_parse_request(buf.data + RPC_HDR_SIZE, h.len, &method, &msg, &msg_len))
			break;
		if (method == proto_vmctl_methods[PROTO_VMCTL_OPEN_SHELL].id) {
			ctl_open_shell(cc, &h);
			break;
		} else if ((method >> 16) == PROTO_SVC_VMCTL) {
			out.len = 0;
			if (rpc_server_dispatch(&srv, &h, buf.data + RPC_HDR_SIZE, &out) < 0)
				break;
			if (out.len && rpc_write_full(cc->fd, out.data, out.len, rpc_deadline(CTL_IO_TIMEOUT_MS)))
				break;
			if (method == proto_vmctl_methods[PROTO_VMCTL_STOP].id) {
				log_info("control: stop requested");
				c->hooks.stop(c->hooks.vm);
			}
		} else if ((method >> 16) == PROTO_SVC_MAITRED) {
			if (ctl_relay(cc, &buf, &h))
				break;
		} else {
			if (ctl_error_reply(cc->fd, h.stream, RPC_UNIMPLEMENTED, "%s", "unknown service"))
				break;
		}
	}
	rpc_buf_free(&buf);
	rpc_buf_free(&out);
	if (cc->guest_fd >= 0)
		ctl_untrack_close(c, cc->guest_fd);
	ctl_untrack_close(c, cc->fd);
	free(cc);
	pthread_mutex_lock(&c->lock);
	c->nthreads--;
	pthread_cond_broadcast(&c->idle);
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

static void ctl_on_accept(void *opaque, int fd, uint32_t events)
{
	struct ctl *c = opaque;
	struct ctl_conn *cc;
	pthread_attr_t attr;
	pthread_t t;
	int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC);

	if (cfd < 0)
		return;
	if (!usock_peer_ok(cfd, "control socket")) {
		close(cfd);
		return;
	}
	cc = calloc(1, sizeof(*cc));
	if (!cc || ctl_track(c, cfd)) {
		log_guest("control: too many connections, refusing one");
		free(cc);
		close(cfd);
		return;
	}
	cc->ctl = c;
	cc->fd = cfd;
	cc->guest_fd = -1;
	pthread_mutex_lock(&c->lock);
	c->nthreads++;
	pthread_mutex_unlock(&c->lock);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	if (pthread_create(&t, &attr, ctl_conn_thread, cc)) {
		pthread_mutex_lock(&c->lock);
		c->nthreads--;
		pthread_mutex_unlock(&c->lock);
		ctl_untrack_close(c, cfd);
		free(cc);
	}
	pthread_attr_destroy(&attr);
}

int ctl_open(struct ctl **out, const char *path, struct evloop *ev, const struct ctl_hooks *hooks)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct ctl *c;
	int fd, rc;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		log_err("-s %s: socket path too long (max %zu bytes)", path, sizeof(sa.sun_path) - 1);
		return dev_input_error(-ENAMETOOLONG);
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if ((rc = usock_bind_private(fd, &sa)) < 0) {
		int probe;

		errno = -rc;
		if (errno != EADDRINUSE)
			goto fail;
		/* A stale socket from a VM that died is replaced; a live one is not. */
		probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			close(probe);
			close(fd);
			log_err("-s %s: another VM is using this control socket", path);
			return dev_input_error(-EADDRINUSE);
		}
		if (probe >= 0)
			close(probe);
		unlink(path);
		if ((rc = usock_bind_private(fd, &sa)) < 0) {
			errno = -rc;
			goto fail;
		}
	}
	if (listen(fd, 64) < 0)
		goto fail;
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return -ENOMEM;
	}
	c->ev = ev;
	c->hooks = *hooks;
	c->listen_fd = fd;
	strcpy(c->path, path);
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->idle, NULL);
	for (unsigned i = 0; i < CTL_MAX_CONNS; i++)
		c->fds[i] = -1;
	rc = evloop_add(ev, fd, ctl_on_accept, c);
	if (rc) {
		ctl_close(c);
		return rc;
	}
	*out = c;
	return 0;
fail:
	rc = -errno;
	log_err("-s %s: cannot listen: %s", path, strerror(errno));
	close(fd);
	return rc;
}

void ctl_close(struct ctl *c)
{
	struct timespec ts;

	if (!c)
		return;
	evloop_del(c->ev, c->listen_fd);
	close(c->listen_fd);
	unlink(c->path);
	pthread_mutex_lock(&c->lock);
	c->closing = 1;
	for (unsigned i = 0; i < CTL_MAX_CONNS; i++)
		if (c->fds[i] >= 0)
			shutdown(c->fds[i], SHUT_RDWR);
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 2;
	while (c->nthreads && pthread_cond_timedwait(&c->idle, &c->lock, &ts) == 0)
		;
	pthread_mutex_unlock(&c->lock);
	/* Threads still running after the grace period hold c: leak it rather
	 * than free memory they may touch; the process is about to exit. */
	if (c->nthreads == 0) {
		pthread_mutex_destroy(&c->lock);
		pthread_cond_destroy(&c->idle);
		free(c);
	}
}
