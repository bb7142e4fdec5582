/* Client side: one unary call at a time on a caller-connected fd. */
#include "proto/rpc.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

void rpc_client_init(struct rpc_client *c, int fd, int timeout_ms)
{
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->timeout_ms = timeout_ms;
	c->next_stream = 1;
}

void rpc_client_release(struct rpc_client *c)
{
	rpc_buf_free(&c->buf);
}

/* First read of a response: at least this much room, so a small response
 * arrives in one read. */
#define RPC_CLIENT_GREEDY 4096u

/* Wait until readable, then one read of whatever is there (at most cap):
 * the byte count, 0 at EOF, or -errno / -ETIMEDOUT. */
static ssize_t rpc_client_read_some(int fd, uint8_t *p, size_t cap, int64_t deadline)
{
	int sock = 1;
	for (;;) {
		int r = rpc_wait_readable(fd, deadline);
		if (r < 0)
			return r;
		ssize_t n = sock ? recv(fd, p, cap, MSG_DONTWAIT) : read(fd, p, cap);
		if (n >= 0)
			return n;
		if (errno == ENOTSOCK && sock)
			sock = 0;
		else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			return -errno;
	}
}

static int rpc_client_roundtrip(struct rpc_client *c, const struct rpc_method_desc *m,
				const void *req, void *resp, struct rpc_status *st)
{
	int64_t dl = rpc_deadline(c->timeout_ms);
	uint32_t stream = c->next_stream;
	struct rpc_hdr h;

	/* Odd ids, wrapping past 0 (which is reserved). */
	c->next_stream += 2;
	if (c->next_stream == 0 || c->next_stream < stream)
		c->next_stream = 1;

	int r = rpc_frame_request(&c->buf, stream, m->id, m->req_fields, req);
	if (r < 0)
		return r;
	/* From here until the whole response is read, a failure leaves the
	 * stream out of sync. */
	c->broken = 1;
	r = rpc_write_full(c->fd, c->buf.data, c->buf.len, dl);
	if (r < 0)
		return r;

	/* Read the response with as few syscalls as possible (they dominate a
	 * local round trip): wait, then take everything there is in one read,
	 * which is normally the whole frame; only the rest, if any, after. */
	r = rpc_buf_reserve(&c->buf, RPC_CLIENT_GREEDY);
	if (r < 0)
		return r;
	ssize_t got = rpc_client_read_some(c->fd, c->buf.data, c->buf.cap, dl);
	if (got < 0)
		return (int)got;
	if (got == 0)
		return -ECONNRESET;
	if ((size_t)got < RPC_HDR_SIZE) {
		ssize_t n = rpc_read_full(c->fd, c->buf.data + got, RPC_HDR_SIZE - (size_t)got, dl);
		if (n < 0)
			return (int)n;
		if ((size_t)n < RPC_HDR_SIZE - (size_t)got)
			return -ECONNRESET;
		got = RPC_HDR_SIZE;
	}
	r = rpc_frame_get_hdr(c->buf.data, &h);
	if (r < 0)
		return r;
	if (h.type != RPC_TYPE_RESPONSE || h.stream != stream)
		return -EPROTO;
	size_t need = RPC_HDR_SIZE + (size_t)h.len;
	/* One request is outstanding, so one frame can come back: anything
	 * past it was never asked for. */
	if ((size_t)got > need)
		return -EPROTO;
	r = rpc_buf_reserve(&c->buf, need);
	if (r < 0)
		return r;
	if ((size_t)got < need) {
		ssize_t n = rpc_read_full(c->fd, c->buf.data + got, need - (size_t)got, dl);
		if (n < 0)
			return (int)n;
		if ((size_t)n < need - (size_t)got)
			return -ECONNRESET;
	}
	c->buf.len = need;

	const uint8_t *msg;
	size_t mlen;
	r = rpc_frame_parse_response(c->buf.data + RPC_HDR_SIZE, h.len, st, &msg, &mlen);
	if (r < 0)
		return r;
	if (st->code != RPC_OK) {
		c->broken = 0;
		memset(resp, 0, m->resp_size);
		return 0;
	}
	/* The whole frame is consumed: the stream is in sync again whatever
	 * the message holds. */
	c->broken = 0;
	const char *why = NULL;
	r = rpc_msg_decode(m->resp_fields, resp, msg, mlen, &why);
	if (r < 0)
		rpc_status_set(st, RPC_INTERNAL, "%s: bad response message: %s", m->name,
			       why ? why : "decode failed");
	return r;
}

int rpc_client_call(struct rpc_client *c, const struct rpc_method_desc *m, const void *req,
		    void *resp, struct rpc_status *st)
{
	st->code = RPC_OK;
	st->msg[0] = '\0';
	if (c->broken)
		return -EPIPE;
	int r = rpc_client_roundtrip(c, m, req, resp, st);
	/* Free a buffer that grew for one big message (Exec output) so an idle
	 * client does not keep megabytes around. */
	if (c->buf.cap > 65536)
		rpc_buf_free(&c->buf);
	return r;
}
