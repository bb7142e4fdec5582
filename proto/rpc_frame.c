/* Frame encoding and decoding (format: proto/README.md). Pure functions over
 * buffers, so the unit tests and fuzzers drive them without sockets. */
#include "proto/rpc.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pb_decode.h>
#include <pb_encode.h>

static void rpc_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t rpc_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void rpc_frame_put_hdr(uint8_t out[RPC_HDR_SIZE], const struct rpc_hdr *h)
{
	rpc_put32(out, h->len);
	rpc_put32(out + 4, h->stream);
	out[8] = h->type;
	out[9] = h->flags;
}

int rpc_frame_get_hdr(const uint8_t in[RPC_HDR_SIZE], struct rpc_hdr *h)
{
	h->len = rpc_get32(in);
	h->stream = rpc_get32(in + 4);
	h->type = in[8];
	h->flags = in[9];
	if (h->len > RPC_MAX_PAYLOAD)
		return -EMSGSIZE;
	if (h->type < RPC_TYPE_REQUEST || h->type > RPC_TYPE_DATA)
		return -EPROTO;
	if (h->flags & ~RPC_FLAG_END)
		return -EPROTO;
	if ((h->flags & RPC_FLAG_END) && h->type != RPC_TYPE_DATA)
		return -EPROTO;
	if (h->stream == 0)
		return -EPROTO;
	return 0;
}

int rpc_buf_reserve(struct rpc_buf *b, size_t n)
{
	if (n > RPC_HDR_SIZE + RPC_MAX_PAYLOAD)
		return -EMSGSIZE;
	if (n <= b->cap)
		return 0;
	/* Grow geometrically, but never past one maximal frame. */
	size_t cap = b->cap ? b->cap : 256;
	while (cap < n)
		cap *= 2;
	if (cap > RPC_HDR_SIZE + RPC_MAX_PAYLOAD)
		cap = RPC_HDR_SIZE + RPC_MAX_PAYLOAD;
	uint8_t *d = realloc(b->data, cap);
	if (!d)
		return -ENOMEM;
	b->data = d;
	b->cap = cap;
	return 0;
}

void rpc_buf_free(struct rpc_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

ssize_t rpc_msg_encode(const pb_msgdesc_t *desc, const void *msg, uint8_t *out, size_t cap)
{
	size_t need;

	if (!pb_get_encoded_size(&need, desc, msg))
		return -EINVAL;
	if (need > cap)
		return -EMSGSIZE;
	pb_ostream_t os = pb_ostream_from_buffer(out, cap);
	if (!pb_encode(&os, desc, msg))
		return -EINVAL;
	return (ssize_t)os.bytes_written;
}

int rpc_msg_decode(const pb_msgdesc_t *desc, void *msg, const uint8_t *in, size_t len,
		   const char **why)
{
	pb_istream_t is = pb_istream_from_buffer(in, len);

	/* pb_decode() zero-initialises msg first (no PB_DECODE_NOINIT). */
	if (!pb_decode(&is, desc, msg)) {
		if (why)
			*why = PB_GET_ERROR(&is);
		return -EBADMSG;
	}
	return 0;
}

/* Start a frame of type/stream with room for extra + the encoded message;
 * returns the message's encoded size through *msg_len. */
static int rpc_frame_start(struct rpc_buf *out, const pb_msgdesc_t *desc, const void *msg,
			   size_t extra, size_t *msg_len)
{
	*msg_len = 0;
	if (desc && !pb_get_encoded_size(msg_len, desc, msg))
		return -EINVAL;
	if (*msg_len > RPC_MAX_PAYLOAD - extra)
		return -EMSGSIZE;
	return rpc_buf_reserve(out, RPC_HDR_SIZE + extra + *msg_len);
}

int rpc_frame_request(struct rpc_buf *out, uint32_t stream, uint32_t method,
		      const pb_msgdesc_t *desc, const void *msg)
{
	size_t mlen;
	int r = rpc_frame_start(out, desc, msg, 4, &mlen);
	if (r < 0)
		return r;
	struct rpc_hdr h = { .len = (uint32_t)(4 + mlen), .stream = stream,
			     .type = RPC_TYPE_REQUEST };
	rpc_frame_put_hdr(out->data, &h);
	rpc_put32(out->data + RPC_HDR_SIZE, method);
	out->len = RPC_HDR_SIZE + 4;
	if (desc) {
		ssize_t n = rpc_msg_encode(desc, msg, out->data + out->len, mlen);
		if (n < 0)
			return (int)n;
		out->len += (size_t)n;
	}
	return 0;
}

int rpc_frame_response(struct rpc_buf *out, uint32_t stream, const struct rpc_status *st,
		       const pb_msgdesc_t *desc, const void *msg)
{
	uint32_t code = st ? st->code : RPC_OK;
	size_t elen = 0;

	if (code != RPC_OK) {
		desc = NULL;
		elen = strnlen(st->msg, RPC_ERR_MAX);
	}
	size_t mlen;
	int r = rpc_frame_start(out, desc, msg, 6 + elen, &mlen);
	if (r < 0)
		return r;
	struct rpc_hdr h = { .len = (uint32_t)(6 + elen + mlen), .stream = stream,
			     .type = RPC_TYPE_RESPONSE };
	uint8_t *p = out->data;
	rpc_frame_put_hdr(p, &h);
	rpc_put32(p + RPC_HDR_SIZE, code);
	p[RPC_HDR_SIZE + 4] = (uint8_t)(elen >> 8);
	p[RPC_HDR_SIZE + 5] = (uint8_t)elen;
	memcpy(p + RPC_HDR_SIZE + 6, st ? st->msg : "", elen);
	out->len = RPC_HDR_SIZE + 6 + elen;
	if (desc) {
		ssize_t n = rpc_msg_encode(desc, msg, p + out->len, mlen);
		if (n < 0)
			return (int)n;
		out->len += (size_t)n;
	}
	return 0;
}

int rpc_frame_parse_request(const uint8_t *p, size_t len, uint32_t *method,
			    const uint8_t **msg, size_t *msg_len)
{
	if (len < 4)
		return -EPROTO;
	*method = rpc_get32(p);
	*msg = p + 4;
	*msg_len = len - 4;
	return 0;
}

int rpc_frame_parse_response(const uint8_t *p, size_t len, struct rpc_status *st,
			     const uint8_t **msg, size_t *msg_len)
{
	if (len < 6)
		return -EPROTO;
	size_t elen = (size_t)p[4] << 8 | p[5];
	if (elen > RPC_ERR_MAX || elen > len - 6)
		return -EPROTO;
	st->code = rpc_get32(p);
	/* The text comes from the peer and ends up on someone's terminal: keep
	 * it to one line of printable ASCII. */
	for (size_t i = 0; i < elen; i++) {
		uint8_t c = p[6 + i];
		st->msg[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	st->msg[elen] = '\0';
	*msg = p + 6 + elen;
	*msg_len = len - 6 - elen;
	return 0;
}

void rpc_status_set(struct rpc_status *st, uint32_t code, const char *fmt, ...)
{
	va_list ap;

	st->code = code;
	va_start(ap, fmt);
	vsnprintf(st->msg, sizeof(st->msg), fmt, ap);
	va_end(ap);
}

const char *rpc_code_name(uint32_t code)
{
	static const char *const names[] = {
		"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
		"NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
		"FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED",
		"INTERNAL", "UNAVAILABLE",
	};
	return code < sizeof(names) / sizeof(names[0]) ? names[code] : "?";
}
