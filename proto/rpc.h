/* rpc: a small ttrpc-like framed RPC carrying nanopb messages, used by both
 * the guest server (init, vsock port 8888) and the host client (vmm).
 * The wire format is specified in proto/README.md.
 *
 * Ownership: nothing here closes a caller's fd. Buffers (struct rpc_buf) are
 * owned by whoever embeds them and released with rpc_buf_free(). Functions
 * return 0 (or a byte count) on success and -errno on failure; the meaning of
 * each -errno is stated per function. Everything a peer sends is hostile:
 * lengths are checked against RPC_MAX_PAYLOAD before any body is read. */
#ifndef APPVM_PROTO_RPC_H
#define APPVM_PROTO_RPC_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <pb.h>

/* Frame header: u32 payload length, u32 stream id, u8 type, u8 flags, all
 * big-endian, followed by the payload. */
#define RPC_HDR_SIZE 10u
/* Largest payload either side accepts; checked before reading a body. */
#define RPC_MAX_PAYLOAD (4u << 20)
/* Longest error text carried by a response (longer text is cut). */
#define RPC_ERR_MAX 255u

enum rpc_type {
	RPC_TYPE_REQUEST = 1,
	RPC_TYPE_RESPONSE = 2,
	RPC_TYPE_DATA = 3,
};
/* DATA only: the sender will send no more data on this stream. Every other
 * flag bit is reserved and must be zero. */
#define RPC_FLAG_END 0x01u

/* Status codes: gRPC's numbering, so people reading either recognise them. */
enum rpc_code {
	RPC_OK = 0,
	RPC_CANCELLED = 1,
	RPC_UNKNOWN = 2,
	RPC_INVALID_ARGUMENT = 3,
	RPC_DEADLINE_EXCEEDED = 4,
	RPC_NOT_FOUND = 5,
	RPC_ALREADY_EXISTS = 6,
	RPC_PERMISSION_DENIED = 7,
	RPC_RESOURCE_EXHAUSTED = 8,
	RPC_FAILED_PRECONDITION = 9,
	RPC_ABORTED = 10,
	RPC_OUT_OF_RANGE = 11,
	RPC_UNIMPLEMENTED = 12,
	RPC_INTERNAL = 13,
	RPC_UNAVAILABLE = 14,
};

struct rpc_hdr {
	uint32_t len;    /* payload bytes after the header */
	uint32_t stream; /* chosen by the client, echoed by the server; never 0 */
	uint8_t type;    /* enum rpc_type */
	uint8_t flags;
};

/* The outcome of a call: code 0 or an enum rpc_code, and a NUL-terminated
 * one-line message (printable ASCII only when it came from a peer). */
struct rpc_status {
	uint32_t code;
	char msg[RPC_ERR_MAX + 1];
};

/* A growable byte buffer, at most RPC_HDR_SIZE + RPC_MAX_PAYLOAD bytes. Zero
 * initialise it; reuse it across frames to avoid reallocating. */
struct rpc_buf {
	uint8_t *data;
	size_t len;
	size_t cap;
};

/* ---- rpc_io.c: blocking I/O with an optional deadline ---- */

/* Absolute CLOCK_MONOTONIC deadline in ms for timeout_ms from now; -1 (no
 * deadline) when timeout_ms < 0. */
int64_t rpc_deadline(int timeout_ms);
/* Read exactly len bytes, looping over short reads and EINTR, waiting with
 * poll() when the fd is non-blocking or a deadline is set. Returns len, or
 * fewer bytes (possibly 0) when the peer closed first, -ETIMEDOUT when the
 * deadline passed, or -errno from read(). */
ssize_t rpc_read_full(int fd, void *buf, size_t len, int64_t deadline);
/* Write exactly len bytes, looping over short writes and EINTR, without
 * raising SIGPIPE on sockets. Returns 0, -ETIMEDOUT, or -errno (-EPIPE when
 * the peer is gone). */
int rpc_write_full(int fd, const void *buf, size_t len, int64_t deadline);
/* Wait until fd is readable (or hung up). 0, -ETIMEDOUT, or -errno. */
int rpc_wait_readable(int fd, int64_t deadline);

/* ---- rpc_frame.c: header and payload encoding ---- */

void rpc_frame_put_hdr(uint8_t out[RPC_HDR_SIZE], const struct rpc_hdr *h);
/* Decode and validate a header. -EMSGSIZE when len > RPC_MAX_PAYLOAD,
 * -EPROTO for an unknown type, reserved flag bits, END on a non-DATA frame or
 * stream id 0. Either error means the stream is unrecoverable: close it. */
int rpc_frame_get_hdr(const uint8_t in[RPC_HDR_SIZE], struct rpc_hdr *h);

/* Make sure b can hold n bytes. -EMSGSIZE above a full frame, -ENOMEM. */
int rpc_buf_reserve(struct rpc_buf *b, size_t n);
void rpc_buf_free(struct rpc_buf *b);

/* Encode msg (fields desc) into out. Returns the byte count, or -EMSGSIZE
 * when it does not fit in cap, -EINVAL when nanopb refuses the message. */
ssize_t rpc_msg_encode(const pb_msgdesc_t *desc, const void *msg, uint8_t *out, size_t cap);
/* Decode len bytes into msg (zeroed first). -EBADMSG with nanopb's reason in
 * *why (may be NULL) when the bytes are not a valid, in-bounds message. */
int rpc_msg_decode(const pb_msgdesc_t *desc, void *msg, const uint8_t *in, size_t len,
		   const char **why);

/* Build a whole REQUEST frame in out (replacing its contents): header, u32
 * method id, encoded msg. -EMSGSIZE, -EINVAL, -ENOMEM. */
int rpc_frame_request(struct rpc_buf *out, uint32_t stream, uint32_t method,
		      const pb_msgdesc_t *desc, const void *msg);
/* Build a whole RESPONSE frame: header, u32 status, u16 error length, error
 * text, encoded msg. With st NULL or st->code 0 the status is OK and msg (if
 * desc is not NULL) is encoded; otherwise only the status and text are sent. */
int rpc_frame_response(struct rpc_buf *out, uint32_t stream, const struct rpc_status *st,
		       const pb_msgdesc_t *desc, const void *msg);
/* Split a REQUEST payload into method id and message bytes. -EPROTO when it
 * is shorter than the method id. */
int rpc_frame_parse_request(const uint8_t *p, size_t len, uint32_t *method,
			    const uint8_t **msg, size_t *msg_len);
/* Split a RESPONSE payload into status (text sanitised to printable ASCII)
 * and message bytes. -EPROTO when it is truncated or the error text is longer
 * than RPC_ERR_MAX or runs past the payload. */
int rpc_frame_parse_response(const uint8_t *p, size_t len, struct rpc_status *st,
			     const uint8_t **msg, size_t *msg_len);

/* Set a status: code and a printf-formatted one-line message. */
void rpc_status_set(struct rpc_status *st, uint32_t code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Name of a status code ("INVALID_ARGUMENT"), "?" when unknown. */
const char *rpc_code_name(uint32_t code);

/* ---- rpc_server.c: method table dispatch ---- */

/* One method: its id on the wire and the nanopb descriptors and C struct
 * sizes of its request and response. */
struct rpc_method_desc {
	uint32_t id;
	const char *name;
	const pb_msgdesc_t *req_fields;
	size_t req_size;
	const pb_msgdesc_t *resp_fields;
	size_t resp_size;
};

/* A handler gets the decoded request and a zeroed response to fill. It
 * returns RPC_OK, or an rpc_code (then only st is sent back; st->msg may be
 * set with rpc_status_set, else the code's name is used). It runs on the
 * thread that called rpc_server_dispatch/rpc_server_serve. */
typedef uint32_t rpc_handler_fn(void *ctx, const void *req, void *resp, struct rpc_status *st);

struct rpc_method {
	const struct rpc_method_desc *desc;
	rpc_handler_fn *fn;   /* NULL: answered UNIMPLEMENTED */
};

struct rpc_conn;

/* A deferred handler (rpc_conn only): it gets the decoded request, starts the
 * work (e.g. a child process) and returns at once; the answer comes later
 * from rpc_conn_reply(conn, ...). req stays valid until then. The connection
 * keeps the call's stream and method. */
typedef void rpc_start_fn(void *ctx, struct rpc_conn *conn, const void *req);

struct rpc_async_method {
	const struct rpc_method_desc *desc;
	rpc_start_fn *start;
};

struct rpc_server {
	const struct rpc_method *methods;
	size_t n_methods;
	void *ctx;           /* passed to every handler */
	/* Deferred methods, looked up before methods by rpc_conn only; the
	 * blocking server and rpc_server_dispatch() answer them UNIMPLEMENTED
	 * ("not served here"). */
	const struct rpc_async_method *async_methods;
	size_t n_async;
	int io_timeout_ms;   /* bound on finishing a started frame and on writing a
			      * response; < 0 waits forever. Idle time between
			      * frames is never bounded. */
};

/* The table entries for wire id id, or NULL. */
const struct rpc_method *rpc_server_find(const struct rpc_server *s, uint32_t id);
const struct rpc_async_method *rpc_server_find_async(const struct rpc_server *s, uint32_t id);

/* Handle one decoded frame (header h, payload p of h->len bytes) and put the
 * frame to send back, if any, in out (out->len 0: nothing to send).
 * Unknown method, or one without fn -> UNIMPLEMENTED response, undecodable request message ->
 * INVALID_ARGUMENT response, DATA frame -> UNIMPLEMENTED response (no
 * streaming methods yet). Returns -EPROTO for a frame a client must never send
 * (a RESPONSE, or a REQUEST without method id): close the connection. */
int rpc_server_dispatch(const struct rpc_server *s, const struct rpc_hdr *h, const uint8_t *p,
			struct rpc_buf *out);

/* The same, with the decoded request and the response struct placed in
 * scratch (grown as needed, kept by the caller for the next call and freed
 * with rpc_buf_free) instead of fresh heap blocks. rpc_server_serve and
 * rpc_conn use this. */
int rpc_server_dispatch_with(const struct rpc_server *s, const struct rpc_hdr *h,
			     const uint8_t *p, struct rpc_buf *out, struct rpc_buf *scratch);

/* Serve one connection until the peer closes it: the blocking per-connection
 * loop, meant to run in a child process or thread of its own (see
 * proto/README.md). Requests are answered in order. Returns 0 when the peer
 * closed between frames; -EPROTO/-EMSGSIZE on a malformed frame, -ECONNRESET
 * when it closed mid-frame, -ETIMEDOUT when a frame or response stalled past
 * io_timeout_ms, or -errno from I/O. The caller closes fd in every case. */
int rpc_server_serve(const struct rpc_server *s, int fd);

/* ---- rpc_conn.c: the same server, driven by the caller's event loop ---- */

/* One server connection on a non-blocking fd, for a single-threaded poll()/
 * epoll loop such as the guest init's (proto/README.md, "Embedding"). The
 * loop polls fd for rpc_conn_events() and calls rpc_conn_handle() when it is
 * ready. Only one frame is buffered at a time and no further request is read
 * while a response is still being sent, so a client that does not read its
 * responses stalls only itself. Handlers run inside rpc_conn_handle(). */
struct rpc_conn {
	const struct rpc_server *srv;
	int fd;              /* owned by the caller */
	struct rpc_hdr hdr;  /* of the frame being received, once in.len >= RPC_HDR_SIZE */
	struct rpc_buf in;   /* the frame being received: header, then payload */
	struct rpc_buf out;  /* the response being sent */
	size_t out_off;      /* bytes of out already sent */
	struct rpc_buf scratch; /* request/response structs (rpc_server_dispatch_with) */
	uint64_t frames;     /* frames handled so far */
	/* A deferred call waiting for rpc_conn_reply(): its method (NULL when
	 * none) and stream. While one waits, no further frame is read. */
	const struct rpc_method_desc *pending;
	uint32_t pending_stream;
};

/* Start serving fd (made non-blocking by the caller). */
void rpc_conn_init(struct rpc_conn *c, const struct rpc_server *s, int fd);
/* Free the buffers; does not close fd. */
void rpc_conn_release(struct rpc_conn *c);
/* poll() events to wait for: POLLOUT while a response is being sent, 0
 * while a deferred call waits (poll still reports POLLHUP/POLLERR, and
 * rpc_conn_handle then reports the hang-up), else POLLIN. */
short rpc_conn_events(const struct rpc_conn *c);
/* 1 while a frame is partly received or a response partly sent: the loop may
 * arm a timer and drop a connection that stays so for too long (the blocking
 * loop's io_timeout_ms). */
int rpc_conn_mid_frame(const struct rpc_conn *c);
/* Make progress without blocking: send pending output, read, dispatch every
 * complete frame (at most 16 per call, so one busy client cannot starve the
 * loop; level-triggered polling calls again, so do not use EPOLLET).
 * Returns 0 to keep the connection, 1 when the peer closed it cleanly between
 * frames, or what rpc_server_serve() would fail with (-EPROTO, -EMSGSIZE,
 * -ECONNRESET, -errno): then the caller closes fd and releases c. */
int rpc_conn_handle(struct rpc_conn *c);
/* Answer the deferred call on c: st NULL or code 0 sends resp (the method's
 * response struct), else the error. Then the connection reads requests again
 * (call rpc_conn_handle, or wait for rpc_conn_events). Returns 0, -EINVAL when
 * no call is pending, or rpc_frame_response's error (the call is then
 * answered with INTERNAL instead). When rpc_conn_handle reports the end of a
 * connection whose call is pending (c->pending != NULL), the owner cancels
 * the work and must not reply; rpc_conn_release forgets the call. */
int rpc_conn_reply(struct rpc_conn *c, const struct rpc_status *st, const void *resp);

/* ---- rpc_client.c: unary calls ---- */

struct rpc_client {
	int fd;
	int timeout_ms;       /* per call; < 0 waits forever */
	uint32_t next_stream; /* odd ids, as ttrpc clients use */
	int broken;           /* a call failed mid-way: the stream is out of sync */
	struct rpc_buf buf;
};

/* Use fd (connected by the caller, still owned by the caller). */
void rpc_client_init(struct rpc_client *c, int fd, int timeout_ms);
/* Free the client's buffer; does not close fd. */
void rpc_client_release(struct rpc_client *c);
/* Call method m with req, waiting up to c->timeout_ms for the whole round
 * trip. Returns 0 when a response arrived: st->code is RPC_OK and resp is
 * decoded, or st holds the server's error (resp zeroed). Otherwise -ETIMEDOUT,
 * -ECONNRESET (peer closed), -EPROTO (malformed or mismatched response frame,
 * or bytes after it that no request asked for),
 * -EBADMSG (response message undecodable), -EMSGSIZE, -ENOMEM, -EPIPE (an
 * earlier call broke the connection) or -errno from I/O; after any of these
 * the connection is out of sync and every later call fails with -EPIPE. */
int rpc_client_call(struct rpc_client *c, const struct rpc_method_desc *m, const void *req,
		    void *resp, struct rpc_status *st);
#endif
