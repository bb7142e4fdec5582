/* vsh codec (proto/vsh.c): message round trips, the per-direction type
 * rules, hostile headers and OPEN payloads, and the input/output queues over
 * a socketpair (partial messages, back-pressure, EOF). */
#include "tests/unit/t.h"
#include "proto/vsh.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static void put_parse_roundtrip(void)
{
	uint8_t b[VSH_HDR_SIZE + VSH_MAX_PAYLOAD];
	struct vsh_msg m;
	int n = vsh_put(b, sizeof(b), VSH_STDOUT, "hello", 5);

	CHECK_EQ(n, 9);
	CHECK_EQ(b[0], VSH_STDOUT);
	CHECK_EQ(b[1], 0);
	CHECK_EQ(b[2], 0);
	CHECK_EQ(b[3], 5);
	CHECK_EQ(vsh_parse(b, (size_t)n, VSH_FROM_GUEST, &m), 9);
	CHECK_EQ(m.type, VSH_STDOUT);
	CHECK_EQ(m.len, 5);
	CHECK(!memcmp(m.data, "hello", 5));
	/* Every prefix is "need more", never an error or a message. */
	for (int i = 0; i < n; i++)
		CHECK_EQ(vsh_parse(b, (size_t)i, VSH_FROM_GUEST, &m), 0);
	/* The largest payload fits exactly; one more byte does not. */
	memset(b + VSH_HDR_SIZE, 'x', VSH_MAX_PAYLOAD);
	CHECK_EQ(vsh_put(b, sizeof(b), VSH_STDIN, b + VSH_HDR_SIZE, VSH_MAX_PAYLOAD),
		 (int)(VSH_HDR_SIZE + VSH_MAX_PAYLOAD));
	CHECK_EQ(vsh_parse(b, sizeof(b), VSH_FROM_HOST, &m), (int)sizeof(b));
	CHECK_EQ(vsh_put(b, sizeof(b), VSH_STDIN, b, VSH_MAX_PAYLOAD + 1), -EMSGSIZE);
	CHECK_EQ(vsh_put(b, 8, VSH_STDIN, "hello", 5), -EMSGSIZE);
	CHECK_EQ(vsh_put(b, sizeof(b), 0, NULL, 0), -EINVAL);
	CHECK_EQ(vsh_put(b, sizeof(b), 9, NULL, 0), -EINVAL);
}

static void hostile_headers(void)
{
	struct vsh_msg m;
	/* Length above the bound: refused from the header alone. */
	uint8_t big[4] = { VSH_STDOUT, 0, (VSH_MAX_PAYLOAD + 1) >> 8, (VSH_MAX_PAYLOAD + 1) & 0xff };
	uint8_t flags[5] = { VSH_STDOUT, 0x80, 0, 1, 'a' };
	uint8_t type0[4] = { 0, 0, 0, 0 }, type9[4] = { 9, 0, 0, 0 };

	CHECK_EQ(vsh_parse(big, 4, VSH_FROM_GUEST, &m), -EMSGSIZE);
	CHECK_EQ(vsh_parse(flags, 5, VSH_FROM_GUEST, &m), -EPROTO);
	CHECK_EQ(vsh_parse(type0, 4, VSH_FROM_HOST, &m), -EPROTO);
	CHECK_EQ(vsh_parse(type9, 4, VSH_FROM_GUEST, &m), -EPROTO);
}

/* msg builds one message of type t with payload p[0..n) and parses it as
 * sent by dir. */
static int msg(enum vsh_dir dir, uint8_t t, const void *p, size_t n)
{
	uint8_t b[64];
	struct vsh_msg m;
	int len = vsh_put(b, sizeof(b), t, p, n);

	return len < 0 ? len : vsh_parse(b, (size_t)len, dir, &m);
}

static void direction_rules(void)
{
	uint8_t ws[4], ex[2];

	/* The guest may not send what only the host sends, and vice versa. */
	CHECK_EQ(msg(VSH_FROM_GUEST, VSH_OPEN, "x", 1), -EPROTO);
	CHECK_EQ(msg(VSH_FROM_GUEST, VSH_STDIN, "x", 1), -EPROTO);
	CHECK_EQ(msg(VSH_FROM_GUEST, VSH_SIGNAL, "\x02", 1), -EPROTO);
	CHECK_EQ(msg(VSH_FROM_HOST, VSH_STDOUT, "x", 1), -EPROTO);
	CHECK_EQ(msg(VSH_FROM_HOST, VSH_STDERR, "x", 1), -EPROTO);
	vsh_exit_encode(ex, 7 << 8);
	CHECK_EQ(msg(VSH_FROM_HOST, VSH_EXIT, ex, 2), -EPROTO);
	CHECK_EQ(msg(VSH_FROM_GUEST, VSH_EXIT, ex, 2), 6);
	/* EOF: each side ends only its own streams. */
	CHECK_EQ(msg(VSH_FROM_HOST, VSH_EOF, (uint8_t[]){ VSH_STDIN }, 1), 5);
	CHECK_EQ(msg(VSH_FROM_HOST, VSH_EOF, (uint8_t[]){ VSH_STDOUT }, 1), -EPROTO);
	CHECK_EQ(msg(VSH_FROM_GUEST, VSH_EOF, (uint8_t[]){ VSH_STDOUT }, 1), 5);
	CHECK_EQ(msg(VSH_FROM_GUEST, VSH_EOF, (uint8_t[]){ VSH_STDERR }, 1), 5);
	CHECK_EQ(msg(VSH_FROM_GUEST, VSH_EOF, (uint8_t[]){ VSH_STDIN }, 1), -EPROTO);
	CHECK_EQ(msg(VSH_FROM_GUEST, VSH_EOF, NULL, 0), -EPROTO);
	/* Fixed sizes and values. */
	vsh_winsize_encode(ws, 24, 80);
	CHECK_EQ(msg(VSH_FROM_HOST, VSH_WINSIZE, ws, 4), 8);
	CHECK_EQ(msg(VSH_FROM_HOST, VSH_WINSIZE, ws, 3), -EPROTO);
	CHECK_EQ(msg(VSH_FROM_HOST, VSH_SIGNAL, (uint8_t[]){ SIGINT }, 1), 5);
	CHECK_EQ(msg(VSH_FROM_HOST, VSH_SIGNAL, (uint8_t[]){ SIGSEGV }, 1), -EPROTO);
	CHECK_EQ(msg(VSH_FROM_HOST, VSH_SIGNAL, (uint8_t[]){ 0 }, 1), -EPROTO);
	CHECK_EQ(msg(VSH_FROM_HOST, VSH_SIGNAL, (uint8_t[]){ SIGTERM, 0 }, 2), -EPROTO);
	CHECK_EQ(msg(VSH_FROM_GUEST, VSH_EXIT, (uint8_t[]){ 2, 0 }, 2), -EPROTO);
	CHECK_EQ(msg(VSH_FROM_GUEST, VSH_EXIT, ex, 1), -EPROTO);
}

static void fixed_payloads(void)
{
	uint8_t b[8];
	struct vsh_msg m;
	uint16_t r, c;
	int n;

	vsh_winsize_encode(b + VSH_HDR_SIZE, 513, 65535);
	n = vsh_put(b, sizeof(b), VSH_WINSIZE, b + VSH_HDR_SIZE, 4);
	CHECK_EQ(vsh_parse(b, (size_t)n, VSH_FROM_HOST, &m), 8);
	vsh_winsize_decode(&m, &r, &c);
	CHECK_EQ(r, 513);
	CHECK_EQ(c, 65535);

	uint8_t ex[2];
	m = (struct vsh_msg){ .type = VSH_EXIT, .len = 2, .data = ex };
	vsh_exit_encode(ex, 7 << 8);  /* exited with 7 */
	CHECK(WIFEXITED(7 << 8));
	CHECK_EQ(vsh_exit_status(&m), 7);
	vsh_exit_encode(ex, SIGINT);  /* killed by SIGINT */
	CHECK(WIFSIGNALED(SIGINT));
	CHECK_EQ(ex[0], 1);
	CHECK_EQ(vsh_exit_status(&m), 130);
	ex[1] = 0xff;  /* a hostile signal number still maps into 128..255 */
	CHECK_EQ(vsh_exit_status(&m), 255);
}

static void open_roundtrip(void)
{
	uint8_t b[VSH_MAX_PAYLOAD];
	struct vsh_open o;
	char *argv[] = { "sh", "-c", "echo hi", NULL };
	int n = vsh_open_encode(b, sizeof(b), VSH_OPEN_PTY, 40, 132, "xterm-256color", 3, argv);

	CHECK_EQ(n, 6 + 15 + 3 + 3 + 8);
	CHECK_EQ(vsh_open_decode(b, (size_t)n, &o), 0);
	CHECK_EQ(o.flags, VSH_OPEN_PTY);
	CHECK_EQ(o.rows, 40);
	CHECK_EQ(o.cols, 132);
	CHECK(!strcmp(o.term, "xterm-256color"));
	CHECK_EQ(o.argc, 3);
	CHECK(!strcmp(o.argv[0], "sh") && !strcmp(o.argv[1], "-c") && !strcmp(o.argv[2], "echo hi"));
	CHECK(o.argv[3] == NULL);
	/* o owns its strings: wiping the input leaves them intact. */
	memset(b, 0, sizeof(b));
	CHECK(!strcmp(o.argv[2], "echo hi"));
	/* A login shell: no arguments, empty TERM. */
	n = vsh_open_encode(b, sizeof(b), 0, 0, 0, "", 0, NULL);
	CHECK_EQ(n, 7);
	CHECK_EQ(vsh_open_decode(b, (size_t)n, &o), 0);
	CHECK_EQ(o.argc, 0);
	CHECK(o.argv[0] == NULL);
}

static void open_encode_limits(void)
{
	uint8_t b[VSH_MAX_PAYLOAD];
	char *many[VSH_MAX_ARGS + 2];
	static char longarg[VSH_MAX_PAYLOAD];

	for (unsigned i = 0; i < VSH_MAX_ARGS + 1; i++)
		many[i] = "a";
	many[VSH_MAX_ARGS + 1] = NULL;
	CHECK_EQ(vsh_open_encode(b, sizeof(b), 0, 0, 0, "vt100", VSH_MAX_ARGS + 1, many), -E2BIG);
	CHECK(vsh_open_encode(b, sizeof(b), 0, 0, 0, "vt100", VSH_MAX_ARGS, many) > 0);
	CHECK_EQ(vsh_open_encode(b, sizeof(b), 0, 0, 0, "vt 100", 0, NULL), -EINVAL);
	CHECK_EQ(vsh_open_encode(b, sizeof(b), 0x80, 0, 0, "vt100", 0, NULL), -EINVAL);
	CHECK_EQ(vsh_open_encode(b, sizeof(b), 0, 0, 0, "vt100", 1, (char *[]){ "", NULL }), -EINVAL);
	memset(longarg, 'a', sizeof(longarg) - 1);
	CHECK_EQ(vsh_open_encode(b, sizeof(b), 0, 0, 0, "vt100", 1, (char *[]){ longarg, NULL }), -EMSGSIZE);
	CHECK_EQ(vsh_open_encode(b, 6, 0, 0, 0, "", 0, NULL), -EMSGSIZE);
}

static void open_decode_hostile(void)
{
	struct vsh_open o;
	uint8_t b[VSH_MAX_PAYLOAD];
	/* flags, rows(2), cols(2), argc, "vt100\0", "ls\0" */
	const uint8_t good[] = { 1, 0, 24, 0, 80, 1, 'v', 't', '1', '0', '0', 0, 'l', 's', 0 };

	CHECK_EQ(vsh_open_decode(good, sizeof(good), &o), 0);
	/* Every truncation is refused. */
	for (size_t i = 0; i < sizeof(good); i++)
		CHECK_EQ(vsh_open_decode(good, i, &o), -EPROTO);
	memcpy(b, good, sizeof(good));
	b[sizeof(good)] = 'x';  /* trailing bytes */
	CHECK_EQ(vsh_open_decode(b, sizeof(good) + 1, &o), -EPROTO);
	memcpy(b, good, sizeof(good));
	b[0] = 3;  /* unknown flag */
	CHECK_EQ(vsh_open_decode(b, sizeof(good), &o), -EPROTO);
	memcpy(b, good, sizeof(good));
	b[5] = 2;  /* argc larger than the strings present */
	CHECK_EQ(vsh_open_decode(b, sizeof(good), &o), -EPROTO);
	b[5] = VSH_MAX_ARGS + 1;
	CHECK_EQ(vsh_open_decode(b, sizeof(good), &o), -EPROTO);
	memcpy(b, good, sizeof(good));
	b[7] = '\n';  /* control character in TERM */
	CHECK_EQ(vsh_open_decode(b, sizeof(good), &o), -EPROTO);
	/* An empty argument. */
	const uint8_t empty[] = { 0, 0, 0, 0, 0, 1, 0, 0 };
	CHECK_EQ(vsh_open_decode(empty, sizeof(empty), &o), -EPROTO);
	/* TERM of VSH_TERM_MAX - 1 characters is the longest accepted. */
	memset(b, 0, sizeof(b));
	memset(b + 6, 'a', VSH_TERM_MAX - 1);
	CHECK_EQ(vsh_open_decode(b, 6 + VSH_TERM_MAX, &o), 0);
	CHECK_EQ(strlen(o.term), VSH_TERM_MAX - 1);
	memset(b + 6, 'a', VSH_TERM_MAX);
	CHECK_EQ(vsh_open_decode(b, 6 + VSH_TERM_MAX + 1, &o), -EPROTO);
	/* Longer than any message can be. */
	CHECK_EQ(vsh_open_decode(b, VSH_MAX_PAYLOAD + 1, &o), -EPROTO);
}

/* The input queue: messages arrive split across reads and several per read;
 * a hostile length ends the stream; EOF is 0. */
static void in_queue(void)
{
	static struct vsh_in in;
	struct vsh_msg m;
	uint8_t b[64];
	int sv[2], n1, n2;

	CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	memset(&in, 0, sizeof(in));
	CHECK_EQ(vsh_in_fill(&in, sv[1]), -EAGAIN);
	n1 = vsh_put(b, sizeof(b), VSH_STDIN, "abc", 3);
	n2 = vsh_put(b + n1, sizeof(b) - (size_t)n1, VSH_SIGNAL, (uint8_t[]){ SIGTERM }, 1);
	CHECK_EQ(write(sv[0], b, 5), 5);
	CHECK_EQ(vsh_in_fill(&in, sv[1]), 5);
	CHECK_EQ(vsh_in_next(&in, VSH_FROM_HOST, &m), 0);
	CHECK_EQ(write(sv[0], b + 5, (size_t)(n1 + n2 - 5)), n1 + n2 - 5);
	CHECK_EQ(vsh_in_fill(&in, sv[1]), n1 + n2 - 5);
	CHECK_EQ(vsh_in_next(&in, VSH_FROM_HOST, &m), 1);
	CHECK_EQ(m.type, VSH_STDIN);
	CHECK(m.len == 3 && !memcmp(m.data, "abc", 3));
	CHECK_EQ(vsh_in_next(&in, VSH_FROM_HOST, &m), 1);
	CHECK_EQ(m.type, VSH_SIGNAL);
	CHECK_EQ(m.data[0], SIGTERM);
	CHECK_EQ(vsh_in_next(&in, VSH_FROM_HOST, &m), 0);
	/* Hostile: the guest sends stdin. */
	CHECK_EQ(write(sv[0], b, (size_t)n1), n1);
	CHECK(vsh_in_fill(&in, sv[1]) > 0);
	CHECK_EQ(vsh_in_next(&in, VSH_FROM_GUEST, &m), -EPROTO);
	in.len = in.off = 0;
	shutdown(sv[0], SHUT_WR);
	CHECK_EQ(vsh_in_fill(&in, sv[1]), 0);
	close(sv[0]);
	close(sv[1]);
}

/* A full buffer holding one whole maximal message: fill says so, next
 * hands it out, and the space is reused. */
static void in_queue_full(void)
{
	static struct vsh_in in;
	static uint8_t b[2 * (VSH_HDR_SIZE + VSH_MAX_PAYLOAD)];
	static uint8_t pay[VSH_MAX_PAYLOAD];
	struct vsh_msg m;
	int sv[2], n;

	CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	memset(&in, 0, sizeof(in));
	memset(pay, 'p', sizeof(pay));
	n = vsh_put(b, sizeof(b), VSH_STDOUT, pay, sizeof(pay));
	n += vsh_put(b + n, sizeof(b) - (size_t)n, VSH_STDOUT, pay, sizeof(pay));
	CHECK_EQ(write(sv[0], b, (size_t)n), n);
	CHECK_EQ(vsh_in_fill(&in, sv[1]), (int)sizeof(in.buf));
	CHECK_EQ(vsh_in_fill(&in, sv[1]), -ENOBUFS);
	CHECK_EQ(vsh_in_next(&in, VSH_FROM_GUEST, &m), 1);
	CHECK_EQ(m.len, VSH_MAX_PAYLOAD);
	CHECK_EQ(vsh_in_fill(&in, sv[1]), (int)sizeof(in.buf));
	CHECK_EQ(vsh_in_next(&in, VSH_FROM_GUEST, &m), 1);
	CHECK_EQ(m.len, VSH_MAX_PAYLOAD);
	CHECK(m.data[0] == 'p' && m.data[VSH_MAX_PAYLOAD - 1] == 'p');
	close(sv[0]);
	close(sv[1]);
}

/* The output queue: bounded room, back-pressure on a full socket, order
 * kept across partial flushes, EPIPE once the peer is gone. */
static void out_queue(void)
{
	static struct vsh_out o;
	static struct vsh_in in;
	static uint8_t pay[VSH_MAX_PAYLOAD];
	struct vsh_msg m;
	int sv[2], queued = 0, got = 0, sndbuf = 4096;

	CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	memset(&o, 0, sizeof(o));
	memset(&in, 0, sizeof(in));
	CHECK(vsh_out_empty(&o));
	CHECK_EQ(vsh_out_room(&o), VSH_MAX_PAYLOAD);
	for (int i = 0; i < 4; i++) {
		memset(pay, 'a' + i, sizeof(pay));
		CHECK_EQ(vsh_out_put(&o, VSH_STDOUT, pay, sizeof(pay)), 0);
	}
	CHECK_EQ(vsh_out_room(&o), 0);
	CHECK_EQ(vsh_out_put(&o, VSH_STDOUT, "x", 1), -ENOBUFS);
	CHECK_EQ(vsh_out_put(&o, VSH_STDOUT, pay, VSH_MAX_PAYLOAD + 1), -EMSGSIZE);
	queued = 4;
	/* Drain through a small socket buffer: many partial flushes; a fifth
	 * message is queued as soon as there is room again, behind the rest. */
	for (int spin = 0; spin < 100000 && got < queued; spin++) {
		CHECK_EQ(vsh_out_flush(&o, sv[0]), 0);
		int r = vsh_in_fill(&in, sv[1]);
		CHECK(r > 0 || r == -EAGAIN || r == -ENOBUFS);
		while (vsh_in_next(&in, VSH_FROM_GUEST, &m) == 1) {
			if (got < 4) {
				CHECK_EQ(m.type, VSH_STDOUT);
				CHECK_EQ(m.len, VSH_MAX_PAYLOAD);
				CHECK_EQ(m.data[0], 'a' + got);
				CHECK_EQ(m.data[VSH_MAX_PAYLOAD - 1], 'a' + got);
			} else {
				CHECK(m.type == VSH_STDERR && m.len == 1 && m.data[0] == 'e');
			}
			got++;
		}
		if (queued == 4 && vsh_out_room(&o) >= 1) {
			CHECK(got < 4);
			CHECK_EQ(vsh_out_put(&o, VSH_STDERR, "e", 1), 0);
			queued++;
		}
	}
	CHECK_EQ(got, queued);
	CHECK(vsh_out_empty(&o));
	close(sv[1]);
	CHECK_EQ(vsh_out_put(&o, VSH_STDOUT, "x", 1), 0);
	CHECK_EQ(vsh_out_flush(&o, sv[0]), -EPIPE);
	close(sv[0]);
}

static void signals_allowed(void)
{
	CHECK(vsh_signal_ok(SIGHUP));
	CHECK(vsh_signal_ok(SIGINT));
	CHECK(vsh_signal_ok(SIGTERM));
	CHECK(vsh_signal_ok(SIGWINCH));
	CHECK(!vsh_signal_ok(0));
	CHECK(!vsh_signal_ok(SIGSEGV));
	CHECK(!vsh_signal_ok(SIGCHLD));
	CHECK(!vsh_signal_ok(255));
}

int main(void)
{
	t_suite = "vsh";
	RUN(put_parse_roundtrip);
	RUN(hostile_headers);
	RUN(direction_rules);
	RUN(fixed_payloads);
	RUN(open_roundtrip);
	RUN(open_encode_limits);
	RUN(open_decode_hostile);
	RUN(in_queue);
	RUN(in_queue_full);
	RUN(out_queue);
	RUN(signals_allowed);
	return t_done();
}
