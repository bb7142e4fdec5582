/* Framing: header and payload encoding, validation of hostile headers and
 * payloads, and the read_full/write_full loops (short transfers, EOF, EINTR,
 * timeouts, non-blocking fds).
 *
 * No case may hang (an earlier version of this suite was killed by run-all's
 * 300 s timeout): reads without a deadline are only done where a helper
 * thread is guaranteed to write or shut the socket down, even when its own
 * writes fail, and a watchdog thread fails the suite with a FAIL line naming
 * the case if one runs for more than WD_LIMIT_S seconds. */
#include "tests/unit/t.h"
#include "proto/maitred.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define WD_LIMIT_S 60

static const char *wd_case;
static int64_t wd_start;

static int64_t wd_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *wd_run(void *arg)
{
	(void)arg;
	for (;;) {
		sleep(1);
		if (wd_now() - __atomic_load_n(&wd_start, __ATOMIC_SEQ_CST) > WD_LIMIT_S * 1000) {
			printf("FAIL %s/%s: still running after %d s (hung)\n", t_suite,
			       __atomic_load_n(&wd_case, __ATOMIC_SEQ_CST), WD_LIMIT_S);
			fflush(stdout);
			_exit(1);
		}
	}
	return NULL;
}

/* Started with every signal blocked, so SIGALRM always reaches the case
 * that set the timer (read_full_eintr). */
static void wd_begin(void)
{
	sigset_t all, old;
	pthread_t t;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	__atomic_store_n(&wd_start, wd_now(), __ATOMIC_SEQ_CST);
	pthread_create(&t, NULL, wd_run, NULL);
	pthread_detach(t);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

#define RUN_W(fn) do { __atomic_store_n(&wd_case, #fn, __ATOMIC_SEQ_CST); \
	__atomic_store_n(&wd_start, wd_now(), __ATOMIC_SEQ_CST); RUN(fn); } while (0)

static void hdr_roundtrip(void)
{
	struct rpc_hdr h = { .len = 0x01020304, .stream = 0xa0b0c0d1, .type = RPC_TYPE_DATA,
			     .flags = RPC_FLAG_END };
	uint8_t b[RPC_HDR_SIZE];
	/* len 0x01020304 is above the maximum: encode the bytes, expect refusal. */
	rpc_frame_put_hdr(b, &h);
	const uint8_t want[] = { 1, 2, 3, 4, 0xa0, 0xb0, 0xc0, 0xd1, 3, 1 };
	CHECK(memcmp(b, want, sizeof(want)) == 0);
	struct rpc_hdr g;
	CHECK_EQ(rpc_frame_get_hdr(b, &g), -EMSGSIZE);

	h.len = 77;
	rpc_frame_put_hdr(b, &h);
	CHECK_EQ(rpc_frame_get_hdr(b, &g), 0);
	CHECK_EQ(g.len, 77);
	CHECK_EQ(g.stream, 0xa0b0c0d1);
	CHECK_EQ(g.type, RPC_TYPE_DATA);
	CHECK_EQ(g.flags, RPC_FLAG_END);
}

static int hdr_check(uint32_t len, uint32_t stream, uint8_t type, uint8_t flags)
{
	struct rpc_hdr h = { .len = len, .stream = stream, .type = type, .flags = flags };
	uint8_t b[RPC_HDR_SIZE];
	rpc_frame_put_hdr(b, &h);
	return rpc_frame_get_hdr(b, &h);
}

static void hdr_validation(void)
{
	CHECK_EQ(hdr_check(RPC_MAX_PAYLOAD, 1, RPC_TYPE_REQUEST, 0), 0);
	CHECK_EQ(hdr_check(RPC_MAX_PAYLOAD + 1, 1, RPC_TYPE_REQUEST, 0), -EMSGSIZE);
	CHECK_EQ(hdr_check(0xffffffff, 1, RPC_TYPE_RESPONSE, 0), -EMSGSIZE);
	CHECK_EQ(hdr_check(0, 1, RPC_TYPE_RESPONSE, 0), 0);
	CHECK_EQ(hdr_check(4, 1, 0, 0), -EPROTO);
	CHECK_EQ(hdr_check(4, 1, 4, 0), -EPROTO);
	CHECK_EQ(hdr_check(4, 1, 0xff, 0), -EPROTO);
	CHECK_EQ(hdr_check(4, 0, RPC_TYPE_REQUEST, 0), -EPROTO);
	CHECK_EQ(hdr_check(4, 1, RPC_TYPE_REQUEST, 0x02), -EPROTO);
	CHECK_EQ(hdr_check(4, 1, RPC_TYPE_DATA, 0x80), -EPROTO);
	CHECK_EQ(hdr_check(4, 1, RPC_TYPE_REQUEST, RPC_FLAG_END), -EPROTO);
	CHECK_EQ(hdr_check(4, 1, RPC_TYPE_DATA, RPC_FLAG_END), 0);
}

static void request_frame(void)
{
	struct rpc_buf b = { 0 };
	maitred_SetTimeRequest req = { .sec = 1700000000, .nsec = 5 };
	maitred_SetTimeRequest got;
	uint32_t method;
	const uint8_t *msg;
	size_t mlen;
	struct rpc_hdr h;

	CHECK_EQ(rpc_frame_request(&b, 7, 0x00010005, maitred_SetTimeRequest_fields, &req), 0);
	CHECK(b.len > RPC_HDR_SIZE + 4);
	CHECK_EQ(rpc_frame_get_hdr(b.data, &h), 0);
	CHECK_EQ(h.len, b.len - RPC_HDR_SIZE);
	CHECK_EQ(h.stream, 7);
	CHECK_EQ(h.type, RPC_TYPE_REQUEST);
	CHECK_EQ(rpc_frame_parse_request(b.data + RPC_HDR_SIZE, h.len, &method, &msg, &mlen), 0);
	CHECK_EQ(method, 0x00010005);
	CHECK_EQ(b.data[RPC_HDR_SIZE], 0);
	CHECK_EQ(b.data[RPC_HDR_SIZE + 1], 1);
	CHECK_EQ(b.data[RPC_HDR_SIZE + 3], 5);
	CHECK_EQ(rpc_msg_decode(maitred_SetTimeRequest_fields, &got, msg, mlen, NULL), 0);
	CHECK_EQ(got.sec, 1700000000);
	CHECK_EQ(got.nsec, 5);

	/* Shorter than a method id. */
	CHECK_EQ(rpc_frame_parse_request(b.data + RPC_HDR_SIZE, 3, &method, &msg, &mlen), -EPROTO);
	/* A message-less request (empty message) is just the method id. */
	CHECK_EQ(rpc_frame_request(&b, 9, 42, NULL, NULL), 0);
	CHECK_EQ(b.len, RPC_HDR_SIZE + 4);
	rpc_buf_free(&b);
	CHECK(b.data == NULL);
}

static void response_frame(void)
{
	struct rpc_buf b = { 0 };
	struct rpc_status st;
	const uint8_t *msg;
	size_t mlen;
	struct rpc_hdr h;
	maitred_GetInfoResponse info = { .uptime_ms = 1234, .nprocs = 2 };
	strcpy(info.kernel_release, "6.1.0-appvm");

	/* OK response carries the message. */
	CHECK_EQ(rpc_frame_response(&b, 3, NULL, maitred_GetInfoResponse_fields, &info), 0);
	CHECK_EQ(rpc_frame_get_hdr(b.data, &h), 0);
	CHECK_EQ(h.type, RPC_TYPE_RESPONSE);
	CHECK_EQ(h.stream, 3);
	CHECK_EQ(rpc_frame_parse_response(b.data + RPC_HDR_SIZE, h.len, &st, &msg, &mlen), 0);
	CHECK_EQ(st.code, RPC_OK);
	CHECK_EQ(st.msg[0], '\0');
	maitred_GetInfoResponse got;
	CHECK_EQ(rpc_msg_decode(maitred_GetInfoResponse_fields, &got, msg, mlen, NULL), 0);
	CHECK(strcmp(got.kernel_release, "6.1.0-appvm") == 0);
	CHECK_EQ(got.uptime_ms, 1234);

	/* Error response: status and text, message dropped. */
	struct rpc_status err;
	rpc_status_set(&err, RPC_NOT_FOUND, "no such file: %s", "/x");
	CHECK_EQ(rpc_frame_response(&b, 5, &err, maitred_GetInfoResponse_fields, &info), 0);
	CHECK_EQ(rpc_frame_get_hdr(b.data, &h), 0);
	CHECK_EQ(h.len, 6 + strlen("no such file: /x"));
	CHECK_EQ(rpc_frame_parse_response(b.data + RPC_HDR_SIZE, h.len, &st, &msg, &mlen), 0);
	CHECK_EQ(st.code, RPC_NOT_FOUND);
	CHECK(strcmp(st.msg, "no such file: /x") == 0);
	CHECK_EQ(mlen, 0);

	/* Truncations: shorter than the fixed part, text past the end. */
	uint8_t *p = b.data + RPC_HDR_SIZE;
	CHECK_EQ(rpc_frame_parse_response(p, 5, &st, &msg, &mlen), -EPROTO);
	CHECK_EQ(rpc_frame_parse_response(p, 6, &st, &msg, &mlen), -EPROTO);
	CHECK_EQ(rpc_frame_parse_response(p, h.len - 1, &st, &msg, &mlen), -EPROTO);
	rpc_buf_free(&b);
}

static void response_hostile_text(void)
{
	/* Text length over RPC_ERR_MAX, even when the payload holds it. */
	uint8_t big[6 + 300] = { 0, 0, 0, 2, 0x01, 0x2c };
	memset(big + 6, 'a', 300);
	struct rpc_status st;
	const uint8_t *msg;
	size_t mlen;
	CHECK_EQ(rpc_frame_parse_response(big, sizeof(big), &st, &msg, &mlen), -EPROTO);
	/* Control characters become '?', so a peer cannot drive a terminal. */
	uint8_t esc[] = { 0, 0, 0, 13, 0, 5, 0x1b, '[', '2', 'J', '\n', 0xaa };
	CHECK_EQ(rpc_frame_parse_response(esc, sizeof(esc), &st, &msg, &mlen), 0);
	CHECK_EQ(st.code, RPC_INTERNAL);
	CHECK(strcmp(st.msg, "?[2J?") == 0);
	CHECK_EQ(mlen, 1);
	CHECK_EQ(msg[0], 0xaa);
	/* Long local text is cut at RPC_ERR_MAX. */
	char l[600];
	memset(l, 'x', sizeof(l) - 1);
	l[sizeof(l) - 1] = 0;
	rpc_status_set(&st, RPC_UNKNOWN, "%s", l);
	CHECK_EQ(strlen(st.msg), RPC_ERR_MAX);
	CHECK(strcmp(rpc_code_name(RPC_UNIMPLEMENTED), "UNIMPLEMENTED") == 0);
	CHECK(strcmp(rpc_code_name(999), "?") == 0);
}

static void buf_bounds(void)
{
	struct rpc_buf b = { 0 };
	CHECK_EQ(rpc_buf_reserve(&b, 10), 0);
	CHECK(b.cap >= 10);
	CHECK_EQ(rpc_buf_reserve(&b, RPC_HDR_SIZE + RPC_MAX_PAYLOAD), 0);
	CHECK_EQ(b.cap, RPC_HDR_SIZE + RPC_MAX_PAYLOAD);
	CHECK_EQ(rpc_buf_reserve(&b, RPC_HDR_SIZE + RPC_MAX_PAYLOAD + 1), -EMSGSIZE);
	rpc_buf_free(&b);
	CHECK_EQ(b.cap, 0);
}

static void msg_encode_too_small(void)
{
	maitred_GetInfoResponse info = { .uptime_ms = 99 };
	strcpy(info.hostname, "appliance");
	uint8_t small[4], ok[128];
	CHECK_EQ(rpc_msg_encode(maitred_GetInfoResponse_fields, &info, small, sizeof(small)),
		 -EMSGSIZE);
	ssize_t n = rpc_msg_encode(maitred_GetInfoResponse_fields, &info, ok, sizeof(ok));
	CHECK(n > 0);
	const char *why = NULL;
	maitred_GetInfoResponse got;
	CHECK_EQ(rpc_msg_decode(maitred_GetInfoResponse_fields, &got, ok, (size_t)n - 1, &why),
		 -EBADMSG);
	CHECK(why != NULL);
}

/* ---- I/O loops ---- */

struct dribble {
	int fd;
	const uint8_t *data;
	size_t len;
	size_t chunk;
	int close_after;
};

/* Write in small pieces with pauses so the reader sees short reads. */
static void *dribble_run(void *arg)
{
	struct dribble *d = arg;
	for (size_t off = 0; off < d->len; off += d->chunk) {
		size_t n = d->len - off < d->chunk ? d->len - off : d->chunk;
		if (write(d->fd, d->data + off, n) != (ssize_t)n) {
			/* The reader has no deadline: end its wait. */
			shutdown(d->fd, SHUT_WR);
			return NULL;
		}
		usleep(1000);
	}
	if (d->close_after)
		shutdown(d->fd, SHUT_WR);
	return NULL;
}

static void read_full_short_reads(void)
{
	int sv[2];
	uint8_t data[5000], got[5000];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7);
	CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	struct dribble d = { .fd = sv[1], .data = data, .len = sizeof(data), .chunk = 333 };
	pthread_t t;
	pthread_create(&t, NULL, dribble_run, &d);
	CHECK_EQ(rpc_read_full(sv[0], got, sizeof(got), -1), sizeof(got));
	pthread_join(t, NULL);
	CHECK(memcmp(got, data, sizeof(data)) == 0);

	/* The same with a deadline and a non-blocking fd. */
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	pthread_create(&t, NULL, dribble_run, &d);
	memset(got, 0, sizeof(got));
	CHECK_EQ(rpc_read_full(sv[0], got, sizeof(got), rpc_deadline(10000)), sizeof(got));
	pthread_join(t, NULL);
	CHECK(memcmp(got, data, sizeof(data)) == 0);

	/* Peer closes early: the short count, then 0 at EOF. */
	d.len = 100;
	d.close_after = 1;
	pthread_create(&t, NULL, dribble_run, &d);
	CHECK_EQ(rpc_read_full(sv[0], got, 200, -1), 100);
	pthread_join(t, NULL);
	CHECK_EQ(rpc_read_full(sv[0], got, 200, -1), 0);
	close(sv[0]);
	close(sv[1]);
}

static void read_full_timeout(void)
{
	int sv[2];
	uint8_t b[8];
	CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	CHECK_EQ(write(sv[1], "abc", 3), 3);
	CHECK_EQ(rpc_read_full(sv[0], b, sizeof(b), rpc_deadline(50)), -ETIMEDOUT);
	CHECK_EQ(rpc_wait_readable(sv[0], rpc_deadline(20)), -ETIMEDOUT);
	close(sv[0]);
	close(sv[1]);
}

static volatile sig_atomic_t alarms;
static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

struct late_writer {
	int fd;
};

static void *late_write(void *arg)
{
	struct late_writer *w = arg;
	/* Only write once the reader's read() has been interrupted. */
	for (int i = 0; i < 2000 && alarms < 2; i++)
		usleep(1000);
	if (write(w->fd, "0123456789", 10) != 10)
		shutdown(w->fd, SHUT_WR);
	return NULL;
}

static void read_full_eintr(void)
{
	int sv[2];
	uint8_t b[10];
	struct sigaction sa = { .sa_handler = on_alarm }, old;
	/* No SA_RESTART: read() fails with EINTR and the loop must retry. */
	sigaction(SIGALRM, &sa, &old);
	CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	struct late_writer w = { sv[1] };
	pthread_t t;
	pthread_create(&t, NULL, late_write, &w);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	alarms = 0;
	struct itimerval it = { .it_interval = { 0, 20000 }, .it_value = { 0, 20000 } };
	setitimer(ITIMER_REAL, &it, NULL);
	ssize_t n = rpc_read_full(sv[0], b, sizeof(b), -1);
	struct itimerval off = { 0 };
	setitimer(ITIMER_REAL, &off, NULL);
	pthread_join(t, NULL);
	sigaction(SIGALRM, &old, NULL);
	CHECK(alarms >= 2);
	CHECK_EQ(n, 10);
	CHECK(memcmp(b, "0123456789", 10) == 0);
	close(sv[0]);
	close(sv[1]);
}

struct drain {
	int fd;
	size_t total;
};

static void *drain_run(void *arg)
{
	struct drain *d = arg;
	uint8_t b[997];
	ssize_t n;
	while ((n = read(d->fd, b, sizeof(b))) > 0) {
		d->total += (size_t)n;
		usleep(100);
	}
	return NULL;
}

static void write_full_short_writes(void)
{
	int sv[2];
	size_t len = 3u << 20;
	uint8_t *big = calloc(1, len);
	CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	/* A small non-blocking send buffer forces short writes and EAGAIN. */
	int sz = 4096;
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	struct drain d = { .fd = sv[1] };
	pthread_t t;
	pthread_create(&t, NULL, drain_run, &d);
	CHECK_EQ(rpc_write_full(sv[0], big, len, rpc_deadline(30000)), 0);
	close(sv[0]);
	pthread_join(t, NULL);
	CHECK_EQ(d.total, len);
	close(sv[1]);

	/* Nobody reading and a full buffer: the deadline ends it. */
	CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	CHECK_EQ(rpc_write_full(sv[0], big, len, rpc_deadline(50)), -ETIMEDOUT);
	/* Peer gone: -EPIPE, not SIGPIPE. */
	close(sv[1]);
	CHECK_EQ(rpc_write_full(sv[0], big, 10, -1), -EPIPE);
	close(sv[0]);

	/* A pipe is not a socket: write() fallback. */
	int pf[2];
	CHECK_EQ(pipe(pf), 0);
	CHECK_EQ(rpc_write_full(pf[1], "hello", 5, -1), 0);
	char h[5];
	CHECK_EQ(rpc_read_full(pf[0], h, 5, -1), 5);
	CHECK(memcmp(h, "hello", 5) == 0);
	close(pf[0]);
	close(pf[1]);
	free(big);
}

int main(void)
{
	t_suite = "rpc_frame";
	wd_begin();
	RUN_W(hdr_roundtrip);
	RUN_W(hdr_validation);
	RUN_W(request_frame);
	RUN_W(response_frame);
	RUN_W(response_hostile_text);
	RUN_W(buf_bounds);
	RUN_W(msg_encode_too_small);
	RUN_W(read_full_short_reads);
	RUN_W(read_full_timeout);
	RUN_W(read_full_eintr);
	RUN_W(write_full_short_writes);
	return t_done();
}
