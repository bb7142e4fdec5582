/* libFuzzer target: the frame decoder, as a server and a client see it.
 * The input is the byte stream a peer sends on one connection.
 *  1. Decoded frame by frame with rpc_frame_get_hdr; REQUEST and DATA frames
 *     go through rpc_server_dispatch on the Maitred method table (handlers
 *     fill in answers), whose reply must itself parse as a RESPONSE on the
 *     same stream; RESPONSE frames go through rpc_frame_parse_response and
 *     the response decoder of the method the stream id picks.
 *  2. The same bytes are fed through a socketpair into the incremental
 *     server (rpc_conn_handle, with deferred methods answered from start
 *     and from the loop), which must end the connection (EOF or a
 *     malformed frame) and never crash.
 *  3. And into the blocking server (rpc_server_serve), with a peer thread
 *     that writes the input and drains the responses.
 * Corpus: tests/fuzz/corpus/rpc_frame/. */
#include "proto/maitred.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static uint32_t rpc_fuzz_exec(void *ctx, const void *req, void *resp, struct rpc_status *st)
{
	const maitred_ExecRequest *r = req;
	maitred_ExecResponse *o = resp;
	if (r->argv_count == 0) {
		rpc_status_set(st, RPC_INVALID_ARGUMENT, "exec: empty argv");
		return st->code;
	}
	size_t n = strlen(r->argv[0]);
	memcpy(o->stdout_data.bytes, r->argv[0], n);
	o->stdout_data.size = (pb_size_t)n;
	memcpy(o->stderr_data.bytes, r->stdin_data.bytes, r->stdin_data.size);
	o->stderr_data.size = r->stdin_data.size;
	o->exit_code = (int32_t)r->env_count;
	return RPC_OK;
}

static uint32_t rpc_fuzz_info(void *ctx, const void *req, void *resp, struct rpc_status *st)
{
	maitred_GetInfoResponse *o = resp;
	strcpy(o->kernel_release, "6.1.0-fuzz");
	o->uptime_ms = 1;
	return RPC_OK;
}

static uint32_t rpc_fuzz_mount(void *ctx, const void *req, void *resp, struct rpc_status *st)
{
	const maitred_MountRequest *r = req;
	/* Echo peer text into the status, as a real handler's errors do. */
	rpc_status_set(st, RPC_NOT_FOUND, "mount %s on %s: no such device", r->source, r->target);
	return st->code;
}

static uint32_t rpc_fuzz_ok(void *ctx, const void *req, void *resp, struct rpc_status *st)
{
	return RPC_OK;
}

static const struct rpc_method rpc_fuzz_methods[] = {
	{ &proto_maitred_methods[PROTO_MAITRED_SHUTDOWN], rpc_fuzz_ok },
	{ &proto_maitred_methods[PROTO_MAITRED_EXEC], rpc_fuzz_exec },
	{ &proto_maitred_methods[PROTO_MAITRED_CONFIGURE_NETWORK], rpc_fuzz_ok },
	{ &proto_maitred_methods[PROTO_MAITRED_MOUNT], rpc_fuzz_mount },
	{ &proto_maitred_methods[PROTO_MAITRED_SET_TIME], rpc_fuzz_ok },
	{ &proto_maitred_methods[PROTO_MAITRED_GET_INFO], rpc_fuzz_info },
};

/* Deferred methods for rpc_conn: Shutdown answers from inside start,
 * ConfigureNetwork is answered by the connection loop below (the blocking
 * dispatcher finds ConfigureNetwork in both tables and uses the plain one). */
static void rpc_fuzz_start_now(void *ctx, struct rpc_conn *conn, const void *req)
{
	maitred_ShutdownResponse o = { 0 };
	if (rpc_conn_reply(conn, NULL, &o) != 0)
		__builtin_trap();
}

static void rpc_fuzz_start_later(void *ctx, struct rpc_conn *conn, const void *req)
{
}

static const struct rpc_async_method rpc_fuzz_async[] = {
	{ &proto_maitred_methods[PROTO_MAITRED_SHUTDOWN], rpc_fuzz_start_now },
	{ &proto_maitred_methods[PROTO_MAITRED_CONFIGURE_NETWORK], rpc_fuzz_start_later },
};

static const struct rpc_server rpc_fuzz_server = {
	.methods = rpc_fuzz_methods,
	.n_methods = sizeof(rpc_fuzz_methods) / sizeof(rpc_fuzz_methods[0]),
	.async_methods = rpc_fuzz_async,
	.n_async = sizeof(rpc_fuzz_async) / sizeof(rpc_fuzz_async[0]),
	.io_timeout_ms = 1000,
};

/* Check a reply the server built: one whole RESPONSE frame on stream. */
static void rpc_fuzz_check_reply(const struct rpc_buf *out, uint32_t stream)
{
	struct rpc_hdr h;
	struct rpc_status st;
	const uint8_t *msg;
	size_t mlen;
	if (out->len < RPC_HDR_SIZE || rpc_frame_get_hdr(out->data, &h) != 0 ||
	    h.type != RPC_TYPE_RESPONSE || h.stream != stream || h.len != out->len - RPC_HDR_SIZE ||
	    rpc_frame_parse_response(out->data + RPC_HDR_SIZE, h.len, &st, &msg, &mlen) != 0)
		__builtin_trap();
	/* Errors carry no message; the text is printable. */
	if (st.code != RPC_OK && mlen != 0)
		__builtin_trap();
	for (const char *p = st.msg; *p; p++)
		if (*p < 0x20 || *p > 0x7e)
			__builtin_trap();
}

static void rpc_fuzz_frames(const uint8_t *data, size_t size)
{
	struct rpc_buf out = { 0 };
	void *resp = NULL;
	size_t resp_cap = 0;

	while (size >= RPC_HDR_SIZE) {
		struct rpc_hdr h;
		if (rpc_frame_get_hdr(data, &h) < 0)
			break;
		if (h.len > RPC_MAX_PAYLOAD)
			__builtin_trap(); /* get_hdr must have refused it */
		if (h.len > size - RPC_HDR_SIZE)
			break; /* truncated */
		const uint8_t *p = data + RPC_HDR_SIZE;
		if (h.type == RPC_TYPE_RESPONSE) {
			struct rpc_status st;
			const uint8_t *msg;
			size_t mlen;
			if (rpc_frame_parse_response(p, h.len, &st, &msg, &mlen) == 0) {
				if (strlen(st.msg) > RPC_ERR_MAX || msg + mlen != p + h.len)
					__builtin_trap();
				const struct rpc_method_desc *m =
					&proto_maitred_methods[h.stream % PROTO_MAITRED_N];
				if (m->resp_size > resp_cap) {
					free(resp);
					resp = malloc(m->resp_size);
					resp_cap = m->resp_size;
				}
				(void)rpc_msg_decode(m->resp_fields, resp, msg, mlen, NULL);
			}
			/* The server refuses RESPONSE frames. */
			if (rpc_server_dispatch(&rpc_fuzz_server, &h, p, &out) != -EPROTO || out.len)
				__builtin_trap();
		} else {
			int r = rpc_server_dispatch(&rpc_fuzz_server, &h, p, &out);
			if (r == 0)
				rpc_fuzz_check_reply(&out, h.stream);
			else if (r != -EPROTO || h.type != RPC_TYPE_REQUEST || h.len >= 4)
				__builtin_trap();
		}
		data += RPC_HDR_SIZE + h.len;
		size -= RPC_HDR_SIZE + h.len;
	}
	rpc_buf_free(&out);
	free(resp);
}

static void rpc_fuzz_conn(const uint8_t *data, size_t size)
{
	int sv[2];
	uint8_t sink[4096];
	struct rpc_conn c;
	size_t off = 0;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	rpc_conn_init(&c, &rpc_fuzz_server, sv[1]);
	if (size == 0)
		shutdown(sv[0], SHUT_WR);
	int r = 0;
	for (int i = 0; i < 100000 && r == 0; i++) {
		if (off < size) {
			ssize_t n = write(sv[0], data + off, size - off);
			if (n > 0)
				off += (size_t)n;
			if (off == size)
				shutdown(sv[0], SHUT_WR);
		}
		r = rpc_conn_handle(&c);
		if (r == 0 && c.pending) {
			maitred_ConfigureNetworkResponse o = { 0 };
			if (c.pending != &proto_maitred_methods[PROTO_MAITRED_CONFIGURE_NETWORK] ||
			    rpc_conn_events(&c) != 0 || rpc_conn_reply(&c, NULL, &o) != 0)
				__builtin_trap();
		}
		while (read(sv[0], sink, sizeof(sink)) > 0)
			;
	}
	/* Input ends with EOF, so the connection must have ended. */
	if (r == 0)
		__builtin_trap();
	if (r != 1 && r != -EPROTO && r != -EMSGSIZE && r != -ECONNRESET && r != -EPIPE)
		__builtin_trap();
	rpc_conn_release(&c);
	close(sv[0]);
	close(sv[1]);
}

/* The blocking server: a peer thread feeds the input and drains responses
 * through poll(), so neither side can wedge the other. */
struct rpc_fuzz_peer {
	int fd;
	const uint8_t *data;
	size_t size;
};

static void *rpc_fuzz_peer_run(void *arg)
{
	struct rpc_fuzz_peer *p = arg;
	uint8_t sink[4096];
	size_t off = 0;
	if (p->size == 0)
		shutdown(p->fd, SHUT_WR);
	for (;;) {
		struct pollfd pf = { .fd = p->fd, .events = POLLIN | (off < p->size ? POLLOUT : 0) };
		if (poll(&pf, 1, -1) < 0)
			continue;
		if ((pf.revents & POLLOUT) && off < p->size) {
			ssize_t n = send(p->fd, p->data + off, p->size - off, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n > 0)
				off += (size_t)n;
			else if (n < 0 && errno != EAGAIN && errno != EINTR)
				off = p->size; /* server gone */
			if (off == p->size)
				shutdown(p->fd, SHUT_WR);
		}
		if (pf.revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = recv(p->fd, sink, sizeof(sink), MSG_DONTWAIT);
			if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
				return NULL;
		}
	}
}

static void rpc_fuzz_serve(const uint8_t *data, size_t size)
{
	int sv[2];
	pthread_t t;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	struct rpc_fuzz_peer p = { .fd = sv[0], .data = data, .size = size };
	if (pthread_create(&t, NULL, rpc_fuzz_peer_run, &p) != 0)
		abort();
	int r = rpc_server_serve(&rpc_fuzz_server, sv[1]);
	shutdown(sv[1], SHUT_RDWR);
	pthread_join(t, NULL);
	if (r != 0 && r != -EPROTO && r != -EMSGSIZE && r != -ECONNRESET && r != -EPIPE)
		__builtin_trap();
	close(sv[0]);
	close(sv[1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	rpc_fuzz_frames(data, size);
	if (size <= 256 * 1024) {
		rpc_fuzz_conn(data, size);
		rpc_fuzz_serve(data, size);
	}
	return 0;
}
