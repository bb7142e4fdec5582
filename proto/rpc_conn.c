/* Server side, incremental: the per-connection state machine of
 * rpc_server_serve() turned inside out, so a single-threaded event loop (the
 * guest's PID 1) can serve many connections without a thread or child each.
 * Same framing rules: the header is validated, and its length checked against
 * RPC_MAX_PAYLOAD, before a byte of the body is read; a malformed frame ends
 * only this connection. */
#include "proto/rpc.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Frames dispatched per rpc_conn_handle() call before yielding to the loop. */
#define RPC_CONN_BATCH 16
/* Buffers that grew past this for one big frame are freed once it is done,
 * so an idle connection does not pin megabytes. */
#define RPC_CONN_KEEP 65536

void rpc_conn_init(struct rpc_conn *c, const struct rpc_server *s, int fd)
{
	memset(c, 0, sizeof(*c));
	c->srv = s;
	c->fd = fd;
}

void rpc_conn_release(struct rpc_conn *c)
{
	rpc_buf_free(&c->in);
	rpc_buf_free(&c->out);
	rpc_buf_free(&c->scratch);
	c->out_off = 0;
	c->pending = NULL;
}

short rpc_conn_events(const struct rpc_conn *c)
{
	if (c->out_off < c->out.len)
		return POLLOUT;
	return c->pending ? 0 : POLLIN;
}

int rpc_conn_mid_frame(const struct rpc_conn *c)
{
	return c->in.len > 0 || c->out_off < c->out.len;
}

/* Send what is pending. 0 when all is out, -EAGAIN when the socket is full,
 * -errno otherwise. */
static int rpc_conn_flush(struct rpc_conn *c)
{
	while (c->out_off < c->out.len) {
		ssize_t n = send(c->fd, c->out.data + c->out_off, c->out.len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == ENOTSOCK)
			n = write(c->fd, c->out.data + c->out_off, c->out.len - c->out_off);
		if (n >= 0) {
			c->out_off += (size_t)n;
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			return -EAGAIN;
		} else if (errno != EINTR) {
			return -errno;
		}
	}
	c->out.len = c->out_off = 0;
	if (c->out.cap > RPC_CONN_KEEP)
		rpc_buf_free(&c->out);
	return 0;
}

/* Read towards the end of the current frame (never past it, so exactly one
 * frame is ever buffered). 1 when the frame is complete, 0 when the socket
 * has nothing more now, -ECONNRESET / -errno / header errors otherwise, and
 * 2 for a clean close between frames. */
static int rpc_conn_fill(struct rpc_conn *c)
{
	for (;;) {
		size_t want = c->in.len < RPC_HDR_SIZE ? RPC_HDR_SIZE : RPC_HDR_SIZE + c->hdr.len;
		if (c->in.len == want)
			return 1;
		int r = rpc_buf_reserve(&c->in, want);
		if (r < 0)
			return r;
		ssize_t n = read(c->fd, c->in.data + c->in.len, want - c->in.len);
		if (n == 0)
			return c->in.len == 0 ? 2 : -ECONNRESET;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return -errno;
		}
		size_t before = c->in.len;
		c->in.len += (size_t)n;
		if (before < RPC_HDR_SIZE && c->in.len == RPC_HDR_SIZE) {
			/* The length is checked here, before the body is read. */
			r = rpc_frame_get_hdr(c->in.data, &c->hdr);
			if (r < 0)
				return r;
		}
	}
}

/* While a deferred call waits nothing is read, so a peer that hangs up is
 * only seen through poll()'s POLLHUP/POLLERR: -ECONNRESET then, else 0. */
static int rpc_conn_check_hup(struct rpc_conn *c)
{
	struct pollfd p = { .fd = c->fd, .events = 0 };
	if (poll(&p, 1, 0) < 0)
		return errno == EINTR ? 0 : -errno;
	return (p.revents & (POLLHUP | POLLERR | POLLNVAL)) ? -ECONNRESET : 0;
}

/* A short error response on stream into c->out. */
static int rpc_conn_error(struct rpc_conn *c, uint32_t stream, struct rpc_status *st)
{
	if (st->msg[0] == '\0')
		rpc_status_set(st, st->code, "%s", rpc_code_name(st->code));
	c->out_off = 0;
	return rpc_frame_response(&c->out, stream, st, NULL, NULL);
}

/* A REQUEST for a deferred method: decode it into scratch (it stays there,
 * since nothing else is read until the reply) and hand it to m->start. */
static int rpc_conn_start(struct rpc_conn *c, const struct rpc_async_method *m,
			  const uint8_t *msg, size_t mlen)
{
	const struct rpc_method_desc *d = m->desc;
	struct rpc_status st = { .code = RPC_OK };
	int r = rpc_buf_reserve(&c->scratch, d->req_size ? d->req_size : 1);
	if (r < 0) {
		rpc_status_set(&st, RPC_RESOURCE_EXHAUSTED, "%s: out of memory", d->name);
		return rpc_conn_error(c, c->hdr.stream, &st);
	}
	memset(c->scratch.data, 0, d->req_size);
	const char *why = NULL;
	if (rpc_msg_decode(d->req_fields, c->scratch.data, msg, mlen, &why) < 0) {
		rpc_status_set(&st, RPC_INVALID_ARGUMENT, "%s: bad request message: %s", d->name,
			       why ? why : "decode failed");
		return rpc_conn_error(c, c->hdr.stream, &st);
	}
	c->pending = d;
	c->pending_stream = c->hdr.stream;
	/* It may reply before returning; rpc_conn_handle then carries on. */
	m->start(c->srv->ctx, c, c->scratch.data);
	return 0;
}

/* Dispatch the complete frame in c->in. */
static int rpc_conn_dispatch(struct rpc_conn *c)
{
	const uint8_t *p = c->in.data + RPC_HDR_SIZE;
	uint32_t id;
	const uint8_t *msg;
	size_t mlen;

	if (c->hdr.type == RPC_TYPE_REQUEST &&
	    rpc_frame_parse_request(p, c->hdr.len, &id, &msg, &mlen) == 0) {
		const struct rpc_async_method *m = rpc_server_find_async(c->srv, id);
		if (m && m->start)
			return rpc_conn_start(c, m, msg, mlen);
	}
	c->out_off = 0;
	return rpc_server_dispatch_with(c->srv, &c->hdr, p, &c->out, &c->scratch);
}

int rpc_conn_reply(struct rpc_conn *c, const struct rpc_status *st, const void *resp)
{
	const struct rpc_method_desc *d = c->pending;
	struct rpc_status e;
	int r;

	if (!d)
		return -EINVAL;
	c->pending = NULL;
	c->out_off = 0;
	if (!st || st->code == RPC_OK) {
		r = rpc_frame_response(&c->out, c->pending_stream, NULL, d->resp_fields, resp);
		if (r == 0)
			return 0;
		rpc_status_set(&e, RPC_INTERNAL, "%s: cannot encode response (%s)", d->name,
			       strerror(-r));
	} else {
		e = *st;
		e.msg[RPC_ERR_MAX] = '\0';
		r = 0;
	}
	int r2 = rpc_conn_error(c, c->pending_stream, &e);
	return r < 0 ? r : r2;
}

int rpc_conn_handle(struct rpc_conn *c)
{
	for (int i = 0; i < RPC_CONN_BATCH; i++) {
		int r = rpc_conn_flush(c);
		if (r == -EAGAIN)
			return 0;
		if (r < 0)
			return r;
		if (c->pending)
			return rpc_conn_check_hup(c);
		r = rpc_conn_fill(c);
		if (r == 2)
			return 1;
		if (r <= 0)
			return r;
		r = rpc_conn_dispatch(c);
		c->in.len = 0;
		if (c->in.cap > RPC_CONN_KEEP)
			rpc_buf_free(&c->in);
		if (r < 0)
			return r;
		c->frames++;
	}
	/* Batch used up: push out the last response, then let the loop
	 * serve others; poll() reports the fd again if more is waiting. */
	int r = rpc_conn_flush(c);
	if (r == 0 && c->pending)
		return rpc_conn_check_hup(c);
	return r == -EAGAIN ? 0 : r;
}
