/* vsh: the remote-shell stream between vshd (guest, vsock port VSH_PORT)
 * and `vmm sh` (host, through the VMM's control socket). docs/AGENTS.md
 * "vsh" specifies the wire format; this is its only codec, linked by both
 * sides.
 *
 * A connection carries messages: a 4-byte header (u8 type, u8 flags that
 * must be 0, u16 big-endian payload length <= VSH_MAX_PAYLOAD) and the
 * payload. Each side accepts only the types the other side may send
 * (enum vsh_dir); anything else, an oversized length or a malformed payload
 * is a protocol error after which the connection is closed.
 *
 * Everything here is pure over caller-owned buffers, except vsh_in_fill and
 * vsh_out_flush, which do one non-blocking read or write. Functions return
 * 0/positive or -errno as stated; none allocates or keeps a pointer. */
#ifndef APPVM_PROTO_VSH_H
#define APPVM_PROTO_VSH_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* docs/AGENTS.md port plan (guest-agents/common/agent.h AGENT_PORT_VSH). */
#define VSH_PORT 9005u
#define VSH_HDR_SIZE 4u
/* Largest payload: checked on the header alone, before buffering a body. */
#define VSH_MAX_PAYLOAD 4096u
#define VSH_MAX_ARGS 32u
/* TERM value, NUL included. */
#define VSH_TERM_MAX 64u
/* An output queue holds this many full messages. */
#define VSH_OUT_CAP (4u * (VSH_HDR_SIZE + VSH_MAX_PAYLOAD))

enum vsh_type {
	VSH_OPEN = 1,    /* host: the first and only request (struct vsh_open) */
	VSH_STDIN = 2,   /* host: bytes for the command's stdin / the terminal */
	VSH_STDOUT = 3,  /* guest: command output (the terminal's, with a PTY) */
	VSH_STDERR = 4,  /* guest: stderr (pipe mode; vshd's own errors) */
	VSH_EOF = 5,     /* either: u8 stream (VSH_STDIN, VSH_STDOUT, VSH_STDERR) ended */
	VSH_WINSIZE = 6, /* host: u16 rows, u16 cols */
	VSH_SIGNAL = 7,  /* host: u8 signal number, one of VSH_SIGNALS */
	VSH_EXIT = 8,    /* guest, last: u8 kind (0 exited, 1 killed by signal), u8 value */
};

/* Who is speaking: messages are checked against the sender's set. */
enum vsh_dir {
	VSH_FROM_HOST = 0,
	VSH_FROM_GUEST = 1,
};

/* Flags of VSH_OPEN. */
#define VSH_OPEN_PTY 0x01u

/* The start request: OPEN payload is u8 flags, u16 rows, u16 cols, u8
 * argc, then TERM and argc arguments, each NUL-terminated, nothing after.
 * argc 0 means a login shell. */
struct vsh_open {
	uint8_t flags;
	uint16_t rows, cols;
	char term[VSH_TERM_MAX];
	unsigned argc;
	char *argv[VSH_MAX_ARGS + 1]; /* point into strs; argv[argc] NULL */
	char strs[VSH_MAX_PAYLOAD];
};

/* One decoded message; data points into the buffer it was parsed from. */
struct vsh_msg {
	uint8_t type;
	uint16_t len;
	const uint8_t *data;
};

/* Encode a header + payload into out. Returns the total size, -EMSGSIZE
 * when len > VSH_MAX_PAYLOAD or it does not fit cap, -EINVAL for an unknown
 * type. */
int vsh_put(uint8_t *out, size_t cap, uint8_t type, const void *data, size_t len);
/* Parse one message from the start of buf as sent by dir. Returns the bytes
 * it takes (> 0), 0 when buf holds only part of it, -EMSGSIZE for a length
 * above VSH_MAX_PAYLOAD, -EPROTO for a reserved flag, a type dir may not
 * send, or a fixed-size payload of the wrong size or value (EOF of a stream
 * dir does not own, a signal outside VSH_SIGNALS, an EXIT kind > 1). */
int vsh_parse(const uint8_t *buf, size_t len, enum vsh_dir dir, struct vsh_msg *m);

/* OPEN payload for flags/rows/cols/term/argv (argc entries). -E2BIG for
 * argc > VSH_MAX_ARGS, -EINVAL for a TERM vsh_open_decode would refuse or an
 * empty argument, -EMSGSIZE when it exceeds cap or VSH_MAX_PAYLOAD. */
int vsh_open_encode(uint8_t *out, size_t cap, uint8_t flags, uint16_t rows, uint16_t cols,
		    const char *term, unsigned argc, char *const *argv);
/* Decode an OPEN payload into o (copied: o does not point into p). -EPROTO
 * when truncated, with unknown flags, bytes after the last argument, more
 * than VSH_MAX_ARGS or empty arguments, or a TERM longer than
 * VSH_TERM_MAX - 1 or not of [A-Za-z0-9._+-] (it reaches terminfo look-ups). */
int vsh_open_decode(const uint8_t *p, size_t len, struct vsh_open *o);

/* Fixed-size payloads. The decoders assume a message vsh_parse accepted. */
void vsh_winsize_encode(uint8_t out[4], uint16_t rows, uint16_t cols);
void vsh_winsize_decode(const struct vsh_msg *m, uint16_t *rows, uint16_t *cols);
/* EXIT from a wait() status: exited with code, or killed by a signal. */
void vsh_exit_encode(uint8_t out[2], int wstatus);
/* The status `vmm sh` exits with: the code, or 128 + signal. */
int vsh_exit_status(const struct vsh_msg *m);
/* 1 when sig may travel in a SIGNAL message (HUP INT QUIT KILL USR1 USR2
 * TERM CONT STOP TSTP WINCH). */
bool vsh_signal_ok(unsigned sig);

/* Input side: bytes read from a connection, parsed message by message. */
struct vsh_in {
	uint8_t buf[VSH_HDR_SIZE + VSH_MAX_PAYLOAD];
	size_t len, off; /* valid bytes; bytes already handed out */
};
/* One read() into the free space (after dropping consumed bytes). Returns
 * the bytes read (> 0), 0 at EOF, -EAGAIN when nothing is there, -ENOBUFS
 * when the buffer is full (a message is pending: call vsh_in_next), or
 * -errno. */
int vsh_in_fill(struct vsh_in *in, int fd);
/* Next complete message: 1 and *m (valid until the next fill/next call), 0
 * when more bytes are needed, or vsh_parse's error (close the connection). */
int vsh_in_next(struct vsh_in *in, enum vsh_dir dir, struct vsh_msg *m);

/* Output side: encoded messages waiting for a writable connection. */
struct vsh_out {
	uint8_t buf[VSH_OUT_CAP];
	size_t off, len; /* first unsent byte, end of data */
};
/* Largest payload one more message can carry now (0: flush first). */
size_t vsh_out_room(const struct vsh_out *o);
/* Queue one message. -ENOBUFS when it does not fit now, else vsh_put's
 * errors. */
int vsh_out_put(struct vsh_out *o, uint8_t type, const void *data, size_t len);
static inline bool vsh_out_empty(const struct vsh_out *o)
{
	return o->off == o->len;
}
/* Write what is queued without blocking (send with MSG_NOSIGNAL on a
 * socket). 0 when the queue emptied or the fd would block, -errno (-EPIPE:
 * peer gone). */
int vsh_out_flush(struct vsh_out *o, int fd);
#endif
