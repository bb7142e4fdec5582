/* Client side: one unary call at a time on a caller-connected fd. */
#include "proto/rpc.h"

#include <errno.h>
#include <string.h>

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

static int rpc_client_roundtrip(struct rpc_client *c, const struct rpc_method_desc *m,
				const void *req, void *resp, struct rpc_status *st)
{
	int64_t dl = rpc_deadline(c->timeout_ms);
	uint32_t stream = c->next_stream;
	uint8_t hb[RPC_HDR_SIZE];
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

	/* The response cannot be there yet: wait first rather than try a read
	 * that would only say EAGAIN. */
	r = rpc_wait_readable(c->fd, dl);
	if (r < 0)
		return r;
	ssize_t n = rpc_read_full(c->fd, hb, RPC_HDR_SIZE, dl);
	if (n < 0)
		return (int)n;
	if ((size_t)n < RPC_HDR_SIZE)
		return -ECONNRESET;
	r = rpc_frame_get_hdr(hb, &h);
	if (r < 0)
		return r;
	if (h.type != RPC_TYPE_RESPONSE || h.stream != stream)
		return -EPROTO;
	r = rpc_buf_reserve(&c->buf, h.len ? h.len : 1);
	if (r < 0)
		return r;
	n = rpc_read_full(c->fd, c->buf.data, h.len, dl);
	if (n < 0)
		return (int)n;
	if ((size_t)n < h.len)
		return -ECONNRESET;
	c->buf.len = h.len;

	const uint8_t *msg;
	size_t mlen;
	r = rpc_frame_parse_response(c->buf.data, h.len, st, &msg, &mlen);
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
