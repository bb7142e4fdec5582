/* libFuzzer target: the vsh codec (proto/vsh.c) on a byte stream from a
 * hostile peer. The first input byte picks the sender (even: host, odd:
 * guest); the rest is what it sent on one connection.
 *  1. Parsed message by message with vsh_parse: every accepted message lies
 *     inside the input, has a type its sender may send, and its payload
 *     decodes (OPEN re-encodes to the same bytes; WINSIZE, EXIT and SIGNAL
 *     values stay in range).
 *  2. The same bytes go through a socketpair in odd-sized pieces into
 *     vsh_in_fill/vsh_in_next, which must yield the same messages in the
 *     same order and stop at the same error.
 *  3. Every accepted message is queued with vsh_out_put and flushed, and
 *     must come out byte for byte as it went in.
 * Corpus: tests/fuzz/corpus/vsh/. */
#include "proto/vsh.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define FUZZ_MAX_MSGS 4096

struct fuzz_seen {
	uint8_t type;
	uint16_t len;
	size_t off;  /* payload offset in the input */
};

static void fuzz_check_open(const struct vsh_msg *m)
{
	static struct vsh_open o;
	static uint8_t again[VSH_MAX_PAYLOAD];

	if (vsh_open_decode(m->data, m->len, &o) != 0)
		return;
	if (o.argc > VSH_MAX_ARGS || o.argv[o.argc] != NULL || strlen(o.term) >= VSH_TERM_MAX)
		__builtin_trap();
	for (unsigned i = 0; i < o.argc; i++)
		if (o.argv[i] < o.strs || o.argv[i] >= o.strs + sizeof(o.strs) || !o.argv[i][0])
			__builtin_trap();
	/* Decoding loses nothing: encoding the result gives the input back. */
	int n = vsh_open_encode(again, sizeof(again), o.flags, o.rows, o.cols, o.term, o.argc, o.argv);
	if (n != m->len || memcmp(again, m->data, (size_t)n))
		__builtin_trap();
}

static void fuzz_check_msg(const struct vsh_msg *m, enum vsh_dir dir)
{
	uint16_t r, c;

	switch (m->type) {
	case VSH_OPEN:
		if (dir != VSH_FROM_HOST)
			__builtin_trap();
		fuzz_check_open(m);
		break;
	case VSH_WINSIZE:
		if (m->len != 4)
			__builtin_trap();
		vsh_winsize_decode(m, &r, &c);
		break;
	case VSH_EXIT: {
		int st = vsh_exit_status(m);
		if (dir != VSH_FROM_GUEST || st < 0 || st > 255)
			__builtin_trap();
		break;
	}
	case VSH_SIGNAL:
		if (m->len != 1 || !vsh_signal_ok(m->data[0]))
			__builtin_trap();
		break;
	case VSH_STDIN:
	case VSH_STDOUT:
	case VSH_STDERR:
	case VSH_EOF:
		break;
	default:
		__builtin_trap();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fuzz_seen seen[FUZZ_MAX_MSGS];
	static struct vsh_in in;
	static struct vsh_out out;
	static struct vsh_in back;
	enum vsh_dir dir;
	struct vsh_msg m;
	size_t off = 0, nseen = 0, sent = 0, piece;
	int end, rc, sv[2], ov[2];

	if (size < 1 || size > 256 * 1024)
		return 0;
	dir = data[0] & 1 ? VSH_FROM_GUEST : VSH_FROM_HOST;
	piece = 1 + data[0] / 2;
	data++;
	size--;

	/* 1. Direct parse. */
	for (;;) {
		end = vsh_parse(data + off, size - off, dir, &m);
		if (end <= 0)
			break;
		if ((size_t)end > size - off || m.data != data + off + VSH_HDR_SIZE ||
		    (size_t)end != VSH_HDR_SIZE + m.len || m.len > VSH_MAX_PAYLOAD)
			__builtin_trap();
		fuzz_check_msg(&m, dir);
		if (nseen < FUZZ_MAX_MSGS)
			seen[nseen++] = (struct fuzz_seen){ m.type, m.len, off + VSH_HDR_SIZE };
		off += (size_t)end;
	}
	if (end < 0 && end != -EPROTO && end != -EMSGSIZE)
		__builtin_trap();

	/* 2. Through the input queue in pieces; 3. back out through the
	 * output queue. */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) < 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, ov) < 0)
		abort();
	memset(&in, 0, sizeof(in));
	memset(&out, 0, sizeof(out));
	memset(&back, 0, sizeof(back));
	size_t got = 0, echoed = 0;
	rc = 0;
	for (int spin = 0; spin < 1000000; spin++) {
		if (sent < size) {
			size_t n = size - sent < piece ? size - sent : piece;
			ssize_t w = write(sv[0], data + sent, n);
			if (w > 0)
				sent += (size_t)w;
			if (sent == size)
				shutdown(sv[0], SHUT_WR);
		} else if (size == 0) {
			shutdown(sv[0], SHUT_WR);
		}
		int f = vsh_in_fill(&in, sv[1]);
		if (f < 0 && f != -EAGAIN && f != -ENOBUFS)
			__builtin_trap();
		while (vsh_out_room(&out) >= VSH_MAX_PAYLOAD && (rc = vsh_in_next(&in, dir, &m)) == 1) {
			if (got >= nseen || got >= FUZZ_MAX_MSGS)
				break;
			if (seen[got].type != m.type || seen[got].len != m.len ||
			    memcmp(data + seen[got].off, m.data, m.len))
				__builtin_trap();
			if (vsh_out_put(&out, m.type, m.data, m.len) != 0)
				__builtin_trap();
			got++;
		}
		if (vsh_out_flush(&out, ov[0]) != 0)
			__builtin_trap();
		for (;;) {
			while (vsh_in_next(&back, dir, &m) == 1) {
				if (echoed >= got || seen[echoed].type != m.type || seen[echoed].len != m.len ||
				    memcmp(data + seen[echoed].off, m.data, m.len))
					__builtin_trap();
				echoed++;
			}
			if (vsh_in_fill(&back, ov[1]) <= 0)
				break;
		}
		if (rc < 0 || (f == 0 && rc == 0) || got >= FUZZ_MAX_MSGS)
			break;
	}
	/* The queue stops where the direct parse stopped, with the same error. */
	if (got < FUZZ_MAX_MSGS && (got != nseen || (end < 0 && rc != end)))
		__builtin_trap();
	/* Whatever was queued arrived (the last flush saw an empty socket). */
	if (!vsh_out_empty(&out) || echoed != got)
		__builtin_trap();
	close(sv[0]);
	close(sv[1]);
	close(ov[0]);
	close(ov[1]);
	return 0;
}
