/* Server side: method table dispatch and the blocking per-connection loop.
 * A malformed frame ends only its own connection; everything else (unknown
 * method, bad message, handler failure) is answered with an error status and
 * the connection keeps going, like ttrpc. */
#include "proto/rpc.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

const struct rpc_method *rpc_server_find(const struct rpc_server *s, uint32_t id)
{
	for (size_t i = 0; i < s->n_methods; i++)
		if (s->methods[i].desc->id == id)
			return &s->methods[i];
	return NULL;
}

const struct rpc_async_method *rpc_server_find_async(const struct rpc_server *s, uint32_t id)
{
	for (size_t i = 0; i < s->n_async; i++)
		if (s->async_methods[i].desc->id == id)
			return &s->async_methods[i];
	return NULL;
}

static int rpc_server_error(struct rpc_buf *out, uint32_t stream, struct rpc_status *st)
{
	if (st->msg[0] == '\0')
		rpc_status_set(st, st->code, "%s", rpc_code_name(st->code));
	return rpc_frame_response(out, stream, st, NULL, NULL);
}

int rpc_server_dispatch(const struct rpc_server *s, const struct rpc_hdr *h, const uint8_t *p,
			struct rpc_buf *out)
{
	struct rpc_buf scratch = { 0 };
	int r = rpc_server_dispatch_with(s, h, p, out, &scratch);
	rpc_buf_free(&scratch);
	return r;
}

int rpc_server_dispatch_with(const struct rpc_server *s, const struct rpc_hdr *h,
			     const uint8_t *p, struct rpc_buf *out, struct rpc_buf *scratch)
{
	struct rpc_status st = { .code = RPC_OK };
	uint32_t id;
	const uint8_t *msg;
	size_t mlen;

	out->len = 0;
	if (h->type == RPC_TYPE_RESPONSE)
		return -EPROTO;
	if (h->type == RPC_TYPE_DATA) {
		rpc_status_set(&st, RPC_UNIMPLEMENTED, "stream %u: no streaming methods",
			       h->stream);
		return rpc_server_error(out, h->stream, &st);
	}
	if (rpc_frame_parse_request(p, h->len, &id, &msg, &mlen) < 0)
		return -EPROTO;

	const struct rpc_method *m = rpc_server_find(s, id);
	if (!m || !m->fn) {
		const struct rpc_async_method *a = rpc_server_find_async(s, id);
		if (a)
			rpc_status_set(&st, RPC_UNIMPLEMENTED, "%s (0x%08x): not served here",
				       a->desc->name, id);
		else
			rpc_status_set(&st, RPC_UNIMPLEMENTED, "unknown method 0x%08x", id);
		return rpc_server_error(out, h->stream, &st);
	}
	const struct rpc_method_desc *d = m->desc;
	/* Fixed-size nanopb structs, some large (Exec's: ~110 KiB together),
	 * so not on the stack; in the caller's scratch buffer, which the
	 * connection loops keep across calls (a fresh calloc per call costs
	 * page faults on every request). */
	size_t req_room = (d->req_size + 15) & ~(size_t)15;
	int r = rpc_buf_reserve(scratch, req_room + d->resp_size);
	if (r < 0) {
		rpc_status_set(&st, RPC_RESOURCE_EXHAUSTED, "%s: out of memory", d->name);
		return rpc_server_error(out, h->stream, &st);
	}
	void *req = scratch->data, *resp = scratch->data + req_room;
	/* Handlers get zeroed structs, whatever the previous call left. */
	memset(req, 0, d->req_size);
	memset(resp, 0, d->resp_size);
	const char *why = NULL;
	if (rpc_msg_decode(d->req_fields, req, msg, mlen, &why) < 0) {
		rpc_status_set(&st, RPC_INVALID_ARGUMENT, "%s: bad request message: %s",
			       d->name, why ? why : "decode failed");
		return rpc_server_error(out, h->stream, &st);
	}
	st.code = m->fn(s->ctx, req, resp, &st);
	if (st.code != RPC_OK)
		return rpc_server_error(out, h->stream, &st);
	r = rpc_frame_response(out, h->stream, NULL, d->resp_fields, resp);
	if (r < 0) {
		/* The handler filled in something unencodable: report it rather
		 * than drop the connection. */
		rpc_status_set(&st, RPC_INTERNAL, "%s: cannot encode response (%s)", d->name,
			       strerror(-r));
		r = rpc_server_error(out, h->stream, &st);
	}
	return r;
}

/* Between frames: wait as long as it takes for the next frame to start, and
 * take whatever is there (at most cap bytes: often a whole request, or
 * several pipelined ones) in one read. Returns the byte count (0 at EOF) or
 * -errno. */
static ssize_t rpc_server_read_start(int fd, uint8_t *p, size_t cap)
{
	for (;;) {
		ssize_t n = read(fd, p, cap);
		if (n >= 0)
			return n;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			int r = rpc_wait_readable(fd, -1);
			if (r < 0)
				return r;
		} else if (errno != EINTR) {
			return -errno;
		}
	}
}

/* Room for the first read of a frame: small requests arrive in one read. */
#define RPC_SERVE_GREEDY 4096u
/* Buffers that grew past this for one big frame are freed once idle. */
#define RPC_SERVE_KEEP 65536u

int rpc_server_serve(const struct rpc_server *s, int fd)
{
	struct rpc_buf in = { 0 }, out = { 0 }, scratch = { 0 };
	size_t have = 0; /* bytes in in.data, from the start of the next frame */
	struct rpc_hdr h;
	int r;

	for (;;) {
		/* Idle between frames is fine (the first bytes are awaited
		 * without deadline); once a frame starts it must arrive within
		 * io_timeout_ms so a stalled peer cannot pin us. */
		if (have == 0) {
			r = rpc_buf_reserve(&in, RPC_SERVE_GREEDY);
			if (r < 0)
				break;
			ssize_t got = rpc_server_read_start(fd, in.data, in.cap);
			if (got <= 0) {
				r = (int)got;
				break;
			}
			have = (size_t)got;
		}
		int64_t dl = rpc_deadline(s->io_timeout_ms);
		if (have < RPC_HDR_SIZE) {
			size_t rest = RPC_HDR_SIZE - have;
			ssize_t n = rpc_read_full(fd, in.data + have, rest, dl);
			if (n < 0 || (size_t)n < rest) {
				r = n < 0 ? (int)n : -ECONNRESET;
				break;
			}
			have = RPC_HDR_SIZE;
		}
		/* Length is checked here, before any of the body is read. */
		r = rpc_frame_get_hdr(in.data, &h);
		if (r < 0)
			break;
		size_t need = RPC_HDR_SIZE + (size_t)h.len;
		r = rpc_buf_reserve(&in, need);
		if (r < 0)
			break;
		if (have < need) {
			ssize_t n = rpc_read_full(fd, in.data + have, need - have, dl);
			if (n < 0 || (size_t)n < need - have) {
				r = n < 0 ? (int)n : -ECONNRESET;
				break;
			}
			have = need;
		}
		r = rpc_server_dispatch_with(s, &h, in.data + RPC_HDR_SIZE, &out, &scratch);
		if (r < 0)
			break;
		if (out.len) {
			r = rpc_write_full(fd, out.data, out.len, rpc_deadline(s->io_timeout_ms));
			if (r < 0)
				break;
		}
		/* Keep what already arrived of the next frame(s). */
		have -= need;
		if (have)
			memmove(in.data, in.data + need, have);
		/* Do not pin megabytes between frames after one big call. */
		if (have == 0 && in.cap > RPC_SERVE_KEEP)
			rpc_buf_free(&in);
		if (out.cap > RPC_SERVE_KEEP)
			rpc_buf_free(&out);
	}
	rpc_buf_free(&in);
	rpc_buf_free(&out);
	rpc_buf_free(&scratch);
	return r;
}
