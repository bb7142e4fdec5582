/* Server and client: method dispatch, many requests on one connection,
 * unknown methods, truncated / oversize / stalled frames, a malformed frame
 * closing only its own connection (blocking loop and the incremental
 * rpc_conn loop), and the client's handling of hostile responses.
 *
 * Nothing here may hang: every read the test itself does has a deadline, every
 * server thread ends when its peer closes, and a watchdog thread fails the
 * suite if one case runs for more than RPC_TEST_LIMIT_S seconds. */
#include "tests/unit/t.h"
#include "proto/maitred.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define RPC_TEST_LIMIT_S 60
#define IO_MS 10000

/* ---- watchdog ---- */

static const char *wd_case;
static int64_t wd_start;

static int64_t now_ms(void)
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
		int64_t s = __atomic_load_n(&wd_start, __ATOMIC_SEQ_CST);
		if (now_ms() - s > RPC_TEST_LIMIT_S * 1000) {
			printf("FAIL %s/%s: still running after %d s (hung)\n", t_suite,
			       __atomic_load_n(&wd_case, __ATOMIC_SEQ_CST), RPC_TEST_LIMIT_S);
			fflush(stdout);
			_exit(1);
		}
	}
	return NULL;
}

static void wd_begin(void)
{
	sigset_t all, old;
	pthread_t t;
	sigfillset(&all);
	/* The watchdog takes no signals meant for the cases. */
	pthread_sigmask(SIG_BLOCK, &all, &old);
	__atomic_store_n(&wd_start, now_ms(), __ATOMIC_SEQ_CST);
	pthread_create(&t, NULL, wd_run, NULL);
	pthread_detach(t);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

#define RUN_W(fn) do { __atomic_store_n(&wd_case, #fn, __ATOMIC_SEQ_CST); \
	__atomic_store_n(&wd_start, now_ms(), __ATOMIC_SEQ_CST); RUN(fn); } while (0)

/* ---- a test service on Maitred's method table ---- */

struct svc {
	int shutdowns;
	int calls;
};

static uint32_t h_shutdown(void *ctx, const void *req, void *resp, struct rpc_status *st)
{
	struct svc *s = ctx;
	const maitred_ShutdownRequest *r = req;
	__atomic_add_fetch(&s->shutdowns, r->reboot ? 10 : 1, __ATOMIC_SEQ_CST);
	return RPC_OK;
}

/* "Runs" argv: exit code = argc, stdout = the arguments joined by spaces,
 * stderr = stdin backwards; argv[0] "missing" is NOT_FOUND. */
static uint32_t h_exec(void *ctx, const void *req, void *resp, struct rpc_status *st)
{
	struct svc *s = ctx;
	const maitred_ExecRequest *r = req;
	maitred_ExecResponse *o = resp;
	__atomic_add_fetch(&s->calls, 1, __ATOMIC_SEQ_CST);
	if (r->argv_count == 0) {
		rpc_status_set(st, RPC_INVALID_ARGUMENT, "exec: empty argv");
		return st->code;
	}
	if (strcmp(r->argv[0], "missing") == 0) {
		rpc_status_set(st, RPC_NOT_FOUND, "exec: %s: command not found", r->argv[0]);
		return st->code;
	}
	if (strcmp(r->argv[0], "bare-error") == 0)
		return RPC_PERMISSION_DENIED;
	o->exit_code = (int32_t)r->argv_count;
	size_t n = 0;
	for (pb_size_t i = 0; i < r->argv_count; i++) {
		size_t l = strlen(r->argv[i]);
		if (n + l + 1 > sizeof(o->stdout_data.bytes))
			break;
		memcpy(o->stdout_data.bytes + n, r->argv[i], l);
		n += l;
		if (i + 1 < r->argv_count)
			o->stdout_data.bytes[n++] = ' ';
	}
	o->stdout_data.size = (pb_size_t)n;
	for (pb_size_t i = 0; i < r->stdin_data.size; i++)
		o->stderr_data.bytes[i] = r->stdin_data.bytes[r->stdin_data.size - 1 - i];
	o->stderr_data.size = r->stdin_data.size;
	o->pid = 4242;
	return RPC_OK;
}

static uint32_t h_set_time(void *ctx, const void *req, void *resp, struct rpc_status *st)
{
	const maitred_SetTimeRequest *r = req;
	if (r->nsec >= 1000000000u) {
		rpc_status_set(st, RPC_INVALID_ARGUMENT, "set-time: nsec %u out of range", r->nsec);
		return st->code;
	}
	return RPC_OK;
}

static uint32_t h_get_info(void *ctx, const void *req, void *resp, struct rpc_status *st)
{
	maitred_GetInfoResponse *o = resp;
	strcpy(o->kernel_release, "6.1.0-test");
	strcpy(o->init_version, "appvm-init 1");
	o->uptime_ms = 123456789;
	o->nprocs = 7;
	return RPC_OK;
}

/* ConfigureNetwork and Mount are left out: calling them must give
 * UNIMPLEMENTED like an unknown id. Mount is listed with no handler. */
static const struct rpc_method methods[] = {
	{ &proto_maitred_methods[PROTO_MAITRED_SHUTDOWN], h_shutdown },
	{ &proto_maitred_methods[PROTO_MAITRED_EXEC], h_exec },
	{ &proto_maitred_methods[PROTO_MAITRED_SET_TIME], h_set_time },
	{ &proto_maitred_methods[PROTO_MAITRED_GET_INFO], h_get_info },
	{ &proto_maitred_methods[PROTO_MAITRED_MOUNT], NULL },
};

static void srv_init(struct rpc_server *s, struct svc *svc)
{
	memset(svc, 0, sizeof(*svc));
	*s = (struct rpc_server){ .methods = methods, .n_methods = 5, .ctx = svc,
				  .io_timeout_ms = IO_MS };
}

/* ---- rpc_server_serve in a thread ---- */

struct serve_thread {
	pthread_t t;
	const struct rpc_server *s;
	int fd;
	int result;
};

static void *serve_run(void *arg)
{
	struct serve_thread *st = arg;
	st->result = rpc_server_serve(st->s, st->fd);
	/* Like a real server: the connection ends here. */
	close(st->fd);
	return NULL;
}

/* Start serving one end of a fresh socketpair; returns the client end. */
static int serve_start(struct serve_thread *st, const struct rpc_server *s)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	st->s = s;
	st->fd = sv[1];
	st->result = 1;
	pthread_create(&st->t, NULL, serve_run, st);
	return sv[0];
}

static int exec_call(struct rpc_client *c, const char *a0, const char *a1,
		     maitred_ExecResponse *resp, struct rpc_status *st)
{
	/* Per call, not static: client threads call this concurrently. */
	maitred_ExecRequest *req = calloc(1, sizeof(*req));
	if (!req)
		return -ENOMEM;
	strcpy(req->argv[0], a0);
	req->argv_count = 1;
	if (a1) {
		strcpy(req->argv[1], a1);
		req->argv_count = 2;
	}
	int r = rpc_client_call(c, &proto_maitred_methods[PROTO_MAITRED_EXEC], req, resp, st);
	free(req);
	return r;
}

/* Read one whole frame with a deadline: 0, or -errno / -ECONNRESET at EOF. */
static int read_frame(int fd, struct rpc_hdr *h, uint8_t *p, size_t cap)
{
	uint8_t hb[RPC_HDR_SIZE];
	ssize_t n = rpc_read_full(fd, hb, sizeof(hb), rpc_deadline(IO_MS));
	if (n < 0)
		return (int)n;
	if (n < (ssize_t)sizeof(hb))
		return -ECONNRESET;
	int r = rpc_frame_get_hdr(hb, h);
	if (r < 0)
		return r;
	if (h->len > cap)
		return -EMSGSIZE;
	n = rpc_read_full(fd, p, h->len, rpc_deadline(IO_MS));
	if (n < 0)
		return (int)n;
	return (size_t)n == h->len ? 0 : -ECONNRESET;
}

/* EOF within the deadline: 1; data or timeout: 0. */
static int sees_eof(int fd)
{
	uint8_t b;
	return rpc_read_full(fd, &b, 1, rpc_deadline(IO_MS)) == 0;
}

/* ---- dispatch, no sockets ---- */

static void dispatch_cases(void)
{
	struct svc svc;
	struct rpc_server s;
	struct rpc_buf in = { 0 }, out = { 0 };
	struct rpc_hdr h, rh;
	struct rpc_status st;
	const uint8_t *msg;
	size_t mlen;
	srv_init(&s, &svc);

	/* A good GetInfo request. */
	CHECK_EQ(rpc_frame_request(&in, 11, proto_maitred_methods[PROTO_MAITRED_GET_INFO].id,
				   maitred_GetInfoRequest_fields, &(maitred_GetInfoRequest){ 0 }), 0);
	CHECK_EQ(rpc_frame_get_hdr(in.data, &h), 0);
	CHECK_EQ(rpc_server_dispatch(&s, &h, in.data + RPC_HDR_SIZE, &out), 0);
	CHECK_EQ(rpc_frame_get_hdr(out.data, &rh), 0);
	CHECK_EQ(rh.type, RPC_TYPE_RESPONSE);
	CHECK_EQ(rh.stream, 11);
	CHECK_EQ(rpc_frame_parse_response(out.data + RPC_HDR_SIZE, rh.len, &st, &msg, &mlen), 0);
	CHECK_EQ(st.code, RPC_OK);
	maitred_GetInfoResponse info;
	CHECK_EQ(rpc_msg_decode(maitred_GetInfoResponse_fields, &info, msg, mlen, NULL), 0);
	CHECK(strcmp(info.kernel_release, "6.1.0-test") == 0);
	CHECK_EQ(info.uptime_ms, 123456789);

	/* Unknown method id, and a listed method without handler. */
	uint32_t ids[] = { 0x00010063, 0, 0xffffffff, PROTO_METHOD_ID(PROTO_SVC_LOG, 1),
			   proto_maitred_methods[PROTO_MAITRED_MOUNT].id,
			   proto_maitred_methods[PROTO_MAITRED_CONFIGURE_NETWORK].id };
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		CHECK_EQ(rpc_frame_request(&in, 13, ids[i], NULL, NULL), 0);
		CHECK_EQ(rpc_frame_get_hdr(in.data, &h), 0);
		CHECK_EQ(rpc_server_dispatch(&s, &h, in.data + RPC_HDR_SIZE, &out), 0);
		CHECK_EQ(rpc_frame_get_hdr(out.data, &rh), 0);
		CHECK_EQ(rh.stream, 13);
		CHECK_EQ(rpc_frame_parse_response(out.data + RPC_HDR_SIZE, rh.len, &st, &msg, &mlen), 0);
		CHECK_EQ(st.code, RPC_UNIMPLEMENTED);
		CHECK(strstr(st.msg, "unknown method") != NULL);
		CHECK_EQ(mlen, 0);
	}

	/* Undecodable request message: INVALID_ARGUMENT naming the method. */
	uint8_t bad[RPC_HDR_SIZE + 7];
	struct rpc_hdr bh = { .len = 7, .stream = 15, .type = RPC_TYPE_REQUEST };
	rpc_frame_put_hdr(bad, &bh);
	uint32_t id = proto_maitred_methods[PROTO_MAITRED_EXEC].id;
	bad[10] = (uint8_t)(id >> 24); bad[11] = (uint8_t)(id >> 16);
	bad[12] = (uint8_t)(id >> 8); bad[13] = (uint8_t)id;
	bad[14] = 0x0a; bad[15] = 0x7f; bad[16] = 'x'; /* argv: 127 bytes promised, 1 given */
	CHECK_EQ(rpc_server_dispatch(&s, &bh, bad + RPC_HDR_SIZE, &out), 0);
	CHECK_EQ(rpc_frame_get_hdr(out.data, &rh), 0);
	CHECK_EQ(rpc_frame_parse_response(out.data + RPC_HDR_SIZE, rh.len, &st, &msg, &mlen), 0);
	CHECK_EQ(st.code, RPC_INVALID_ARGUMENT);
	CHECK(strstr(st.msg, "maitred.Exec: bad request message") != NULL);
	CHECK_EQ(svc.calls, 0);

	/* Handler errors: its own text, or the code's name when it set none. */
	maitred_ExecRequest *er = calloc(1, sizeof(*er));
	strcpy(er->argv[0], "bare-error");
	er->argv_count = 1;
	CHECK_EQ(rpc_frame_request(&in, 17, id, maitred_ExecRequest_fields, er), 0);
	CHECK_EQ(rpc_frame_get_hdr(in.data, &h), 0);
	CHECK_EQ(rpc_server_dispatch(&s, &h, in.data + RPC_HDR_SIZE, &out), 0);
	CHECK_EQ(rpc_frame_get_hdr(out.data, &rh), 0);
	CHECK_EQ(rpc_frame_parse_response(out.data + RPC_HDR_SIZE, rh.len, &st, &msg, &mlen), 0);
	CHECK_EQ(st.code, RPC_PERMISSION_DENIED);
	CHECK(strcmp(st.msg, "PERMISSION_DENIED") == 0);
	free(er);

	/* DATA frames: no streaming methods yet, answered with an error. */
	struct rpc_hdr dh = { .len = 0, .stream = 19, .type = RPC_TYPE_DATA, .flags = RPC_FLAG_END };
	CHECK_EQ(rpc_server_dispatch(&s, &dh, NULL, &out), 0);
	CHECK_EQ(rpc_frame_get_hdr(out.data, &rh), 0);
	CHECK_EQ(rh.stream, 19);
	CHECK_EQ(rpc_frame_parse_response(out.data + RPC_HDR_SIZE, rh.len, &st, &msg, &mlen), 0);
	CHECK_EQ(st.code, RPC_UNIMPLEMENTED);

	/* Frames a client must never send: the connection is to be closed. */
	struct rpc_hdr rsp = { .len = 6, .stream = 21, .type = RPC_TYPE_RESPONSE };
	CHECK_EQ(rpc_server_dispatch(&s, &rsp, (const uint8_t *)"\0\0\0\0\0\0", &out), -EPROTO);
	CHECK_EQ(out.len, 0);
	struct rpc_hdr shortreq = { .len = 3, .stream = 23, .type = RPC_TYPE_REQUEST };
	CHECK_EQ(rpc_server_dispatch(&s, &shortreq, (const uint8_t *)"\0\1\0", &out), -EPROTO);
	CHECK_EQ(out.len, 0);
	rpc_buf_free(&in);
	rpc_buf_free(&out);
}

/* ---- one connection, many calls ---- */

static void many_sequential_calls(void)
{
	struct svc svc;
	struct rpc_server s;
	struct serve_thread th;
	struct rpc_client c;
	struct rpc_status st;
	maitred_ExecResponse *resp = calloc(1, sizeof(*resp));
	srv_init(&s, &svc);
	int fd = serve_start(&th, &s);
	CHECK(fd >= 0);
	rpc_client_init(&c, fd, IO_MS);

	int bad = 0;
	char arg[32];
	for (int i = 0; i < 2000; i++) {
		snprintf(arg, sizeof(arg), "arg%d", i);
		int r = exec_call(&c, "echo", arg, resp, &st);
		char want[64];
		snprintf(want, sizeof(want), "echo arg%d", i);
		if (r != 0 || st.code != RPC_OK || resp->exit_code != 2 ||
		    resp->stdout_data.size != strlen(want) ||
		    memcmp(resp->stdout_data.bytes, want, strlen(want)) != 0)
			bad++;
		/* Every 100th call an error in between: the connection goes on. */
		if (i % 100 == 50) {
			r = exec_call(&c, "missing", NULL, resp, &st);
			if (r != 0 || st.code != RPC_NOT_FOUND ||
			    strcmp(st.msg, "exec: missing: command not found") != 0 ||
			    resp->stdout_data.size != 0)
				bad++;
		}
	}
	CHECK_EQ(bad, 0);
	CHECK_EQ(svc.calls, 2000 + 20);
	/* Stream ids are odd and advance by two. */
	CHECK_EQ(c.next_stream, 1 + 2 * 2020);

	/* Every method of the table, in one connection. */
	maitred_GetInfoResponse info;
	CHECK_EQ(rpc_client_call(&c, &proto_maitred_methods[PROTO_MAITRED_GET_INFO],
				 &(maitred_GetInfoRequest){ 0 }, &info, &st), 0);
	CHECK_EQ(st.code, RPC_OK);
	CHECK(strcmp(info.init_version, "appvm-init 1") == 0);
	CHECK_EQ(info.nprocs, 7);
	maitred_SetTimeResponse tr;
	CHECK_EQ(rpc_client_call(&c, &proto_maitred_methods[PROTO_MAITRED_SET_TIME],
				 &(maitred_SetTimeRequest){ .sec = 1, .nsec = 1000000000u }, &tr, &st), 0);
	CHECK_EQ(st.code, RPC_INVALID_ARGUMENT);
	CHECK(strcmp(st.msg, "set-time: nsec 1000000000 out of range") == 0);
	CHECK_EQ(rpc_client_call(&c, &proto_maitred_methods[PROTO_MAITRED_SET_TIME],
				 &(maitred_SetTimeRequest){ .sec = 1, .nsec = 5 }, &tr, &st), 0);
	CHECK_EQ(st.code, RPC_OK);
	maitred_MountResponse mr;
	maitred_MountRequest *mq = calloc(1, sizeof(*mq));
	strcpy(mq->target, "/mnt");
	CHECK_EQ(rpc_client_call(&c, &proto_maitred_methods[PROTO_MAITRED_MOUNT], mq, &mr, &st), 0);
	CHECK_EQ(st.code, RPC_UNIMPLEMENTED);
	free(mq);
	maitred_ShutdownResponse sr;
	CHECK_EQ(rpc_client_call(&c, &proto_maitred_methods[PROTO_MAITRED_SHUTDOWN],
				 &(maitred_ShutdownRequest){ .reboot = true }, &sr, &st), 0);
	CHECK_EQ(st.code, RPC_OK);
	CHECK_EQ(svc.shutdowns, 10);

	/* Large request and response (stdin at its bound, stdout near it). */
	maitred_ExecRequest *big = calloc(1, sizeof(*big));
	for (int i = 0; i < 32; i++)
		memset(big->argv[i], 'a' + i % 26, 500);
	big->argv_count = 32;
	big->stdin_data.size = sizeof(big->stdin_data.bytes);
	for (size_t i = 0; i < big->stdin_data.size; i++)
		big->stdin_data.bytes[i] = (uint8_t)i;
	CHECK_EQ(rpc_client_call(&c, &proto_maitred_methods[PROTO_MAITRED_EXEC], big, resp, &st), 0);
	CHECK_EQ(st.code, RPC_OK);
	CHECK_EQ(resp->exit_code, 32);
	CHECK_EQ(resp->stdout_data.size, 32 * 500 + 31);
	CHECK_EQ(resp->stderr_data.size, big->stdin_data.size);
	CHECK_EQ(resp->stderr_data.bytes[0], (uint8_t)(big->stdin_data.size - 1));
	free(big);

	rpc_client_release(&c);
	close(fd);
	pthread_join(th.t, NULL);
	/* The peer closed between frames: a clean end. */
	CHECK_EQ(th.result, 0);
	free(resp);
}

/* Unknown method through the client API: an error status, and the
 * connection stays usable. */
static void client_unknown_method(void)
{
	struct svc svc;
	struct rpc_server s;
	struct serve_thread th;
	struct rpc_client c;
	struct rpc_status st;
	srv_init(&s, &svc);
	int fd = serve_start(&th, &s);
	rpc_client_init(&c, fd, IO_MS);
	struct rpc_method_desc future = proto_maitred_methods[PROTO_MAITRED_GET_INFO];
	future.id = PROTO_METHOD_ID(PROTO_SVC_CRASH, 9);
	maitred_GetInfoResponse info;
	memset(&info, 0x5a, sizeof(info));
	CHECK_EQ(rpc_client_call(&c, &future, &(maitred_GetInfoRequest){ 0 }, &info, &st), 0);
	CHECK_EQ(st.code, RPC_UNIMPLEMENTED);
	CHECK(strstr(st.msg, "unknown method 0x00030009") != NULL);
	/* The response struct is zeroed on error. */
	CHECK_EQ(info.uptime_ms, 0);
	CHECK_EQ(rpc_client_call(&c, &proto_maitred_methods[PROTO_MAITRED_GET_INFO],
				 &(maitred_GetInfoRequest){ 0 }, &info, &st), 0);
	CHECK_EQ(st.code, RPC_OK);
	CHECK_EQ(info.uptime_ms, 123456789);
	/* Stream ids wrap past 2^32 to 1, never 0 (which a server refuses). */
	c.next_stream = 0xffffffffu;
	CHECK_EQ(rpc_client_call(&c, &proto_maitred_methods[PROTO_MAITRED_GET_INFO],
				 &(maitred_GetInfoRequest){ 0 }, &info, &st), 0);
	CHECK_EQ(st.code, RPC_OK);
	CHECK_EQ(c.next_stream, 1);
	CHECK_EQ(rpc_client_call(&c, &proto_maitred_methods[PROTO_MAITRED_GET_INFO],
				 &(maitred_GetInfoRequest){ 0 }, &info, &st), 0);
	CHECK_EQ(c.next_stream, 3);
	rpc_client_release(&c);
	close(fd);
	pthread_join(th.t, NULL);
	CHECK_EQ(th.result, 0);
}

/* Several requests in one write (and one split across writes): the
 * blocking server buffers what it read past a frame and answers in order. */
static void serve_pipelined(void)
{
	struct svc svc;
	struct rpc_server s;
	struct serve_thread th;
	struct rpc_buf one = { 0 }, all = { 0 };
	struct rpc_hdr h;
	struct rpc_status st;
	const uint8_t *msg;
	size_t mlen;
	uint8_t *p = malloc(RPC_MAX_PAYLOAD);
	srv_init(&s, &svc);
	int fd = serve_start(&th, &s);
	maitred_SetTimeRequest tq = { .sec = 1, .nsec = 2 };
	CHECK_EQ(rpc_frame_request(&one, 1, proto_maitred_methods[PROTO_MAITRED_SET_TIME].id,
				   maitred_SetTimeRequest_fields, &tq), 0);
	/* 200 small frames back to back: more than one greedy read holds. */
	CHECK_EQ(rpc_buf_reserve(&all, 200 * one.len), 0);
	for (uint32_t i = 0; i < 200; i++) {
		uint32_t sid = 2 * i + 1;
		one.data[4] = (uint8_t)(sid >> 24); one.data[5] = (uint8_t)(sid >> 16);
		one.data[6] = (uint8_t)(sid >> 8); one.data[7] = (uint8_t)sid;
		memcpy(all.data + i * one.len, one.data, one.len);
	}
	all.len = 200 * one.len;
	/* Split in the middle of a header, then the rest. */
	size_t cut = 57 * one.len + 3;
	CHECK_EQ(rpc_write_full(fd, all.data, cut, rpc_deadline(IO_MS)), 0);
	usleep(20000);
	CHECK_EQ(rpc_write_full(fd, all.data + cut, all.len - cut, rpc_deadline(IO_MS)), 0);
	int bad = 0;
	for (uint32_t i = 0; i < 200; i++) {
		if (read_frame(fd, &h, p, RPC_MAX_PAYLOAD) != 0 || h.stream != 2 * i + 1 ||
		    rpc_frame_parse_response(p, h.len, &st, &msg, &mlen) != 0 || st.code != RPC_OK)
			bad++;
	}
	CHECK_EQ(bad, 0);
	/* A big request right behind a small one in the same write. */
	maitred_ExecRequest *big = calloc(1, sizeof(*big));
	strcpy(big->argv[0], "echo");
	big->argv_count = 1;
	big->stdin_data.size = 16000;
	struct rpc_buf b = { 0 };
	CHECK_EQ(rpc_frame_request(&b, 999, proto_maitred_methods[PROTO_MAITRED_EXEC].id,
				   maitred_ExecRequest_fields, big), 0);
	CHECK_EQ(rpc_buf_reserve(&all, one.len + b.len), 0);
	memcpy(all.data, one.data, one.len);
	memcpy(all.data + one.len, b.data, b.len);
	CHECK_EQ(rpc_write_full(fd, all.data, one.len + b.len, rpc_deadline(IO_MS)), 0);
	CHECK_EQ(read_frame(fd, &h, p, RPC_MAX_PAYLOAD), 0);
	CHECK_EQ(h.stream, 399);
	CHECK_EQ(read_frame(fd, &h, p, RPC_MAX_PAYLOAD), 0);
	CHECK_EQ(h.stream, 999);
	CHECK_EQ(rpc_frame_parse_response(p, h.len, &st, &msg, &mlen), 0);
	maitred_ExecResponse *er = calloc(1, sizeof(*er));
	CHECK_EQ(rpc_msg_decode(maitred_ExecResponse_fields, er, msg, mlen, NULL), 0);
	CHECK_EQ(er->stderr_data.size, 16000);
	close(fd);
	pthread_join(th.t, NULL);
	CHECK_EQ(th.result, 0);
	rpc_buf_free(&one);
	rpc_buf_free(&all);
	rpc_buf_free(&b);
	free(big);
	free(er);
	free(p);
}

/* ---- hostile clients against rpc_server_serve ---- */

/* Send raw bytes, then either close (send_eof) or keep the fd open; return
 * the server's result. */
static int serve_raw(const uint8_t *b, size_t len, int send_eof, int io_ms)
{
	struct svc svc;
	struct rpc_server s;
	struct serve_thread th;
	srv_init(&s, &svc);
	s.io_timeout_ms = io_ms;
	int fd = serve_start(&th, &s);
	if (len && rpc_write_full(fd, b, len, rpc_deadline(IO_MS)) != 0)
		return -9999;
	if (send_eof)
		shutdown(fd, SHUT_WR);
	/* The server ends the connection by itself: we see EOF. */
	int eof = sees_eof(fd);
	close(fd);
	pthread_join(th.t, NULL);
	return eof ? th.result : -9998;
}

static void hostile_frames(void)
{
	uint8_t f[64];
	struct rpc_hdr h = { .len = 100, .stream = 1, .type = RPC_TYPE_REQUEST };
	uint32_t id = proto_maitred_methods[PROTO_MAITRED_GET_INFO].id;

	/* Truncated header, then EOF. */
	rpc_frame_put_hdr(f, &h);
	CHECK_EQ(serve_raw(f, 5, 1, IO_MS), -ECONNRESET);
	/* Truncated body (100 promised, 20 sent), then EOF. */
	memset(f + RPC_HDR_SIZE, 0, 20);
	CHECK_EQ(serve_raw(f, RPC_HDR_SIZE + 20, 1, IO_MS), -ECONNRESET);
	/* Oversize: refused from the header alone, while the peer keeps the
	 * connection open and sends no body (so the body was never awaited). */
	h.len = RPC_MAX_PAYLOAD + 1;
	rpc_frame_put_hdr(f, &h);
	CHECK_EQ(serve_raw(f, RPC_HDR_SIZE, 0, -1), -EMSGSIZE);
	h.len = 0xffffffff;
	rpc_frame_put_hdr(f, &h);
	CHECK_EQ(serve_raw(f, RPC_HDR_SIZE, 0, -1), -EMSGSIZE);
	/* Bad type, reserved flags, stream 0. */
	h = (struct rpc_hdr){ .len = 4, .stream = 1, .type = 9 };
	rpc_frame_put_hdr(f, &h);
	CHECK_EQ(serve_raw(f, RPC_HDR_SIZE, 0, -1), -EPROTO);
	h = (struct rpc_hdr){ .len = 4, .stream = 1, .type = RPC_TYPE_REQUEST, .flags = 0x40 };
	rpc_frame_put_hdr(f, &h);
	CHECK_EQ(serve_raw(f, RPC_HDR_SIZE, 0, -1), -EPROTO);
	h = (struct rpc_hdr){ .len = 4, .stream = 0, .type = RPC_TYPE_REQUEST };
	rpc_frame_put_hdr(f, &h);
	CHECK_EQ(serve_raw(f, RPC_HDR_SIZE, 0, -1), -EPROTO);
	/* A RESPONSE sent to the server. */
	h = (struct rpc_hdr){ .len = 6, .stream = 1, .type = RPC_TYPE_RESPONSE };
	rpc_frame_put_hdr(f, &h);
	memset(f + RPC_HDR_SIZE, 0, 6);
	CHECK_EQ(serve_raw(f, RPC_HDR_SIZE + 6, 0, -1), -EPROTO);
	/* A stalled frame (half a header, then silence) times out. */
	CHECK_EQ(serve_raw(f, 4, 0, 100), -ETIMEDOUT);
	/* A stalled body likewise. */
	h = (struct rpc_hdr){ .len = 8, .stream = 1, .type = RPC_TYPE_REQUEST };
	rpc_frame_put_hdr(f, &h);
	f[10] = (uint8_t)(id >> 24);
	CHECK_EQ(serve_raw(f, RPC_HDR_SIZE + 1, 0, 100), -ETIMEDOUT);
	/* Nothing at all, then EOF: a clean end. */
	CHECK_EQ(serve_raw(f, 0, 1, IO_MS), 0);
}

/* A malformed frame on one connection closes it; another connection to the
 * same server keeps being served, before and after. */
static void malformed_closes_only_its_connection(void)
{
	struct svc svc;
	struct rpc_server s;
	struct serve_thread ta, tb;
	struct rpc_client ca, cb;
	struct rpc_status st;
	maitred_ExecResponse *resp = calloc(1, sizeof(*resp));
	srv_init(&s, &svc);
	int a = serve_start(&ta, &s), b = serve_start(&tb, &s);
	rpc_client_init(&ca, a, IO_MS);
	rpc_client_init(&cb, b, IO_MS);
	CHECK_EQ(exec_call(&ca, "a", NULL, resp, &st), 0);
	CHECK_EQ(exec_call(&cb, "b", NULL, resp, &st), 0);
	CHECK_EQ(st.code, RPC_OK);

	uint8_t junk[RPC_HDR_SIZE] = { 0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 1, 1, 0 };
	CHECK_EQ(rpc_write_full(a, junk, sizeof(junk), rpc_deadline(IO_MS)), 0);
	CHECK(sees_eof(a));
	pthread_join(ta.t, NULL);
	CHECK_EQ(ta.result, -EMSGSIZE);
	/* The client on the closed connection gets an error, not a hang. */
	int r = exec_call(&ca, "a", NULL, resp, &st);
	CHECK(r == -ECONNRESET || r == -EPIPE);
	CHECK_EQ(exec_call(&ca, "a", NULL, resp, &st), -EPIPE);

	for (int i = 0; i < 100; i++) {
		r = exec_call(&cb, "b", "x", resp, &st);
		if (r != 0 || st.code != RPC_OK || resp->exit_code != 2)
			CHECK_EQ(r, 0);
	}
	rpc_client_release(&ca);
	rpc_client_release(&cb);
	close(a);
	close(b);
	pthread_join(tb.t, NULL);
	CHECK_EQ(tb.result, 0);
	free(resp);
}

/* ---- the incremental server: many connections in one poll loop ---- */

#define LOOP_MAX 128

struct loop {
	pthread_t t;
	const struct rpc_server *s;
	int lfd;
	int stop_fd;          /* readable: stop */
	int results[256];     /* how each connection ended */
	int n_results;
	uint64_t frames;
};

static void *loop_run(void *arg)
{
	struct loop *l = arg;
	struct rpc_conn conns[LOOP_MAX];
	int used[LOOP_MAX] = { 0 };

	for (;;) {
		struct pollfd p[LOOP_MAX + 2];
		int map[LOOP_MAX + 2];
		int n = 0;
		p[n] = (struct pollfd){ .fd = l->stop_fd, .events = POLLIN };
		map[n++] = -2;
		p[n] = (struct pollfd){ .fd = l->lfd, .events = POLLIN };
		map[n++] = -1;
		for (int i = 0; i < LOOP_MAX; i++)
			if (used[i]) {
				p[n] = (struct pollfd){ .fd = conns[i].fd, .events = rpc_conn_events(&conns[i]) };
				map[n++] = i;
			}
		if (poll(p, (nfds_t)n, -1) < 0)
			continue;
		if (p[0].revents)
			break;
		if (p[1].revents & POLLIN) {
			int fd = accept4(l->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
			for (int i = 0; fd >= 0 && i < LOOP_MAX; i++)
				if (!used[i]) {
					rpc_conn_init(&conns[i], l->s, fd);
					used[i] = 1;
					fd = -1;
				}
			if (fd >= 0)
				close(fd);
		}
		for (int k = 2; k < n; k++) {
			int i = map[k];
			if (!p[k].revents)
				continue;
			int r = rpc_conn_handle(&conns[i]);
			if (r == 0)
				continue;
			l->frames += conns[i].frames;
			if (l->n_results < 256) {
				l->results[l->n_results] = r;
				__atomic_store_n(&l->n_results, l->n_results + 1, __ATOMIC_SEQ_CST);
			}
			close(conns[i].fd);
			rpc_conn_release(&conns[i]);
			used[i] = 0;
		}
	}
	for (int i = 0; i < LOOP_MAX; i++)
		if (used[i]) {
			close(conns[i].fd);
			rpc_conn_release(&conns[i]);
		}
	return NULL;
}

static int unix_connect(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void conn_loop(void)
{
	struct svc svc;
	struct rpc_server s;
	struct loop l = { 0 };
	struct rpc_status st;
	maitred_ExecResponse *resp = calloc(1, sizeof(*resp));
	char dir[] = "/tmp/rpc_server_test.XXXXXX", path[128];
	int stop[2];
	srv_init(&s, &svc);
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/sock", dir);
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	l.lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK_EQ(bind(l.lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	CHECK_EQ(listen(l.lfd, 16), 0);
	CHECK_EQ(pipe(stop), 0);
	l.s = &s;
	l.stop_fd = stop[0];
	pthread_create(&l.t, NULL, loop_run, &l);

	int fa = unix_connect(path), fb = unix_connect(path), fc = unix_connect(path);
	CHECK(fa >= 0 && fb >= 0 && fc >= 0);
	struct rpc_client ca, cb;
	rpc_client_init(&ca, fa, IO_MS);
	rpc_client_init(&cb, fb, IO_MS);

	/* Interleaved calls on two connections. */
	int bad = 0;
	for (int i = 0; i < 500; i++) {
		if (exec_call(&ca, "a", NULL, resp, &st) != 0 || st.code || resp->exit_code != 1)
			bad++;
		if (exec_call(&cb, "b", "c", resp, &st) != 0 || st.code || resp->exit_code != 2)
			bad++;
	}
	CHECK_EQ(bad, 0);

	/* A request sent one byte at a time is reassembled. */
	struct rpc_buf req = { 0 };
	maitred_SetTimeRequest tq = { .sec = 5, .nsec = 6 };
	CHECK_EQ(rpc_frame_request(&req, 77, proto_maitred_methods[PROTO_MAITRED_SET_TIME].id,
				   maitred_SetTimeRequest_fields, &tq), 0);
	for (size_t i = 0; i < req.len; i++) {
		CHECK_EQ(rpc_write_full(fc, req.data + i, 1, rpc_deadline(IO_MS)), 0);
		usleep(200);
	}
	struct rpc_hdr h;
	uint8_t p[512];
	const uint8_t *msg;
	size_t mlen;
	CHECK_EQ(read_frame(fc, &h, p, sizeof(p)), 0);
	CHECK_EQ(h.stream, 77);
	CHECK_EQ(rpc_frame_parse_response(p, h.len, &st, &msg, &mlen), 0);
	CHECK_EQ(st.code, RPC_OK);

	/* Pipelined: three requests in one write, three responses in order. */
	struct rpc_buf three = { 0 };
	CHECK_EQ(rpc_buf_reserve(&three, 3 * req.len), 0);
	for (int i = 0; i < 3; i++) {
		req.data[7] = (uint8_t)(101 + 2 * i); /* stream id low byte */
		memcpy(three.data + i * req.len, req.data, req.len);
	}
	CHECK_EQ(rpc_write_full(fc, three.data, 3 * req.len, rpc_deadline(IO_MS)), 0);
	for (int i = 0; i < 3; i++) {
		CHECK_EQ(read_frame(fc, &h, p, sizeof(p)), 0);
		CHECK_EQ(h.stream, 101 + 2 * i);
	}
	rpc_buf_free(&three);

	/* Malformed frame on c: c is closed, a and b carry on. */
	uint8_t junk[RPC_HDR_SIZE] = { 0, 0, 0, 4, 0, 0, 0, 1, 7, 0 };
	CHECK_EQ(rpc_write_full(fc, junk, sizeof(junk), rpc_deadline(IO_MS)), 0);
	CHECK(sees_eof(fc));
	for (int i = 0; i < 50; i++) {
		if (exec_call(&ca, "a", NULL, resp, &st) != 0 || st.code)
			bad++;
		if (exec_call(&cb, "b", NULL, resp, &st) != 0 || st.code)
			bad++;
	}
	CHECK_EQ(bad, 0);

	/* Oversize on a fresh connection: closed from the header alone. */
	int fd2 = unix_connect(path);
	struct rpc_hdr big = { .len = RPC_MAX_PAYLOAD + 1, .stream = 1, .type = RPC_TYPE_REQUEST };
	uint8_t hb[RPC_HDR_SIZE];
	rpc_frame_put_hdr(hb, &big);
	CHECK_EQ(rpc_write_full(fd2, hb, sizeof(hb), rpc_deadline(IO_MS)), 0);
	CHECK(sees_eof(fd2));
	close(fd2);

	/* Clean close of a, then stop the loop. */
	rpc_client_release(&ca);
	close(fa);
	CHECK_EQ(exec_call(&cb, "b", NULL, resp, &st), 0);
	rpc_client_release(&cb);
	CHECK_EQ(write(stop[1], "x", 1), 1);
	pthread_join(l.t, NULL);
	close(fb);
	close(fc);
	close(stop[0]);
	close(stop[1]);
	close(l.lfd);
	unlink(path);
	rmdir(dir);
	rpc_buf_free(&req);

	/* c ended with -EPROTO, the oversize one with -EMSGSIZE, a cleanly. */
	int eproto = 0, emsgsize = 0, clean = 0;
	for (int i = 0; i < l.n_results; i++) {
		eproto += l.results[i] == -EPROTO;
		emsgsize += l.results[i] == -EMSGSIZE;
		clean += l.results[i] == 1;
	}
	CHECK_EQ(eproto, 1);
	CHECK_EQ(emsgsize, 1);
	CHECK_EQ(clean, 1);
	CHECK_EQ(svc.calls, 1000 + 100 + 1);
	free(resp);
}

/* 100 connections open at once on one poll loop, used from 4 client
 * threads round-robin: all served, all closed cleanly. */
#define MANY_CONNS 100
#define MANY_THREADS 4

struct many_client {
	pthread_t t;
	int fds[MANY_CONNS / MANY_THREADS];
	int bad;
};

static void *many_run(void *arg)
{
	struct many_client *m = arg;
	struct rpc_client c[MANY_CONNS / MANY_THREADS];
	struct rpc_status st;
	maitred_ExecResponse *resp = calloc(1, sizeof(*resp));
	char a1[32];
	for (int i = 0; i < MANY_CONNS / MANY_THREADS; i++)
		rpc_client_init(&c[i], m->fds[i], IO_MS);
	for (int round = 0; round < 10; round++)
		for (int i = 0; i < MANY_CONNS / MANY_THREADS; i++) {
			snprintf(a1, sizeof(a1), "%d.%d", round, i);
			char want[64];
			snprintf(want, sizeof(want), "x %s", a1);
			int r = exec_call(&c[i], "x", a1, resp, &st);
			if (r != 0 || st.code != RPC_OK ||
			    resp->stdout_data.size != strlen(want) ||
			    memcmp(resp->stdout_data.bytes, want, strlen(want)) != 0) {
				if (!m->bad)
					printf("  connection %d round %d: call returned %d, status %u %s\n",
					       i, round, r, st.code, st.msg);
				m->bad++;
			}
		}
	for (int i = 0; i < MANY_CONNS / MANY_THREADS; i++)
		rpc_client_release(&c[i]);
	free(resp);
	return NULL;
}

static void conn_loop_many(void)
{
	struct svc svc;
	struct rpc_server s;
	struct loop l = { 0 };
	struct many_client mc[MANY_THREADS];
	char dir[] = "/tmp/rpc_server_test.XXXXXX", path[128];
	int stop[2];
	srv_init(&s, &svc);
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/sock", dir);
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	l.lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK_EQ(bind(l.lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	CHECK_EQ(listen(l.lfd, 128), 0);
	CHECK_EQ(pipe(stop), 0);
	l.s = &s;
	l.stop_fd = stop[0];
	pthread_create(&l.t, NULL, loop_run, &l);

	int opened = 0;
	for (int t = 0; t < MANY_THREADS; t++) {
		mc[t].bad = 0;
		for (int i = 0; i < MANY_CONNS / MANY_THREADS; i++) {
			mc[t].fds[i] = unix_connect(path);
			opened += mc[t].fds[i] >= 0;
		}
	}
	CHECK_EQ(opened, MANY_CONNS);
	for (int t = 0; t < MANY_THREADS; t++)
		pthread_create(&mc[t].t, NULL, many_run, &mc[t]);
	int bad = 0;
	for (int t = 0; t < MANY_THREADS; t++) {
		pthread_join(mc[t].t, NULL);
		bad += mc[t].bad;
	}
	CHECK_EQ(bad, 0);
	CHECK_EQ(svc.calls, MANY_CONNS * 10);
	for (int t = 0; t < MANY_THREADS; t++)
		for (int i = 0; i < MANY_CONNS / MANY_THREADS; i++)
			close(mc[t].fds[i]);
	/* Wait until the loop has seen every close, then stop it. */
	for (int i = 0; i < 1000 && __atomic_load_n(&l.n_results, __ATOMIC_SEQ_CST) < MANY_CONNS; i++)
		usleep(10000);
	CHECK_EQ(write(stop[1], "x", 1), 1);
	pthread_join(l.t, NULL);
	int clean = 0;
	for (int i = 0; i < l.n_results; i++)
		clean += l.results[i] == 1;
	CHECK_EQ(clean, MANY_CONNS);
	close(stop[0]);
	close(stop[1]);
	close(l.lfd);
	unlink(path);
	rmdir(dir);
}

/* rpc_conn by hand: partial frames, and a client that does not read its
 * responses stalls only itself (no further request is read, the loop is
 * told to wait for POLLOUT, nothing blocks). */
static void conn_backpressure(void)
{
	struct svc svc;
	struct rpc_server s;
	struct rpc_conn c;
	int sv[2];
	srv_init(&s, &svc);
	CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	int small = 4096;
	setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	rpc_conn_init(&c, &s, sv[1]);

	/* Nothing yet: keep waiting for input. */
	CHECK_EQ(rpc_conn_handle(&c), 0);
	CHECK_EQ(rpc_conn_mid_frame(&c), 0);
	CHECK_EQ(rpc_conn_events(&c), POLLIN);

	/* An Exec whose response (~16 KiB of stdout) cannot fit the socket. */
	maitred_ExecRequest *req = calloc(1, sizeof(*req));
	for (int i = 0; i < 32; i++)
		memset(req->argv[i], 'x', 500);
	req->argv_count = 32;
	struct rpc_buf f = { 0 };
	CHECK_EQ(rpc_frame_request(&f, 1, proto_maitred_methods[PROTO_MAITRED_EXEC].id,
				   maitred_ExecRequest_fields, req), 0);
	/* Half of it first: a partial frame, no dispatch yet. */
	size_t half = f.len / 2;
	CHECK_EQ(rpc_write_full(sv[0], f.data, 7, rpc_deadline(IO_MS)), 0);
	CHECK_EQ(rpc_conn_handle(&c), 0);
	CHECK_EQ(rpc_conn_mid_frame(&c), 1);
	CHECK_EQ(rpc_write_full(sv[0], f.data + 7, half - 7, rpc_deadline(IO_MS)), 0);
	CHECK_EQ(rpc_conn_handle(&c), 0);
	CHECK_EQ(svc.calls, 0);
	CHECK_EQ(rpc_conn_mid_frame(&c), 1);
	/* The rest, plus a second request right behind it. */
	struct rpc_buf g = { 0 };
	CHECK_EQ(rpc_frame_request(&g, 3, proto_maitred_methods[PROTO_MAITRED_GET_INFO].id, NULL,
				   NULL), 0);
	CHECK_EQ(rpc_write_full(sv[0], f.data + half, f.len - half, rpc_deadline(IO_MS)), 0);
	CHECK_EQ(rpc_write_full(sv[0], g.data, g.len, rpc_deadline(IO_MS)), 0);
	CHECK_EQ(rpc_conn_handle(&c), 0);
	CHECK_EQ(svc.calls, 1);
	/* The response is stuck: wait for POLLOUT, and the GetInfo request
	 * stays unread however often the loop calls in. */
	CHECK_EQ(rpc_conn_events(&c), POLLOUT);
	CHECK_EQ(rpc_conn_mid_frame(&c), 1);
	uint64_t frames = c.frames;
	for (int i = 0; i < 5; i++)
		CHECK_EQ(rpc_conn_handle(&c), 0);
	CHECK_EQ(c.frames, frames);

	/* The client reads: both responses come out, in order. */
	struct rpc_hdr h;
	uint8_t *p = malloc(RPC_MAX_PAYLOAD);
	struct rpc_status st;
	const uint8_t *msg;
	size_t mlen;
	size_t got = 0;
	uint8_t hb[RPC_HDR_SIZE];
	/* Drive the server while reading, as a poll loop would. */
	while (got < RPC_HDR_SIZE) {
		CHECK_EQ(rpc_conn_handle(&c), 0);
		ssize_t n = recv(sv[0], hb + got, RPC_HDR_SIZE - got, MSG_DONTWAIT);
		if (n > 0)
			got += (size_t)n;
	}
	CHECK_EQ(rpc_frame_get_hdr(hb, &h), 0);
	CHECK_EQ(h.stream, 1);
	got = 0;
	for (int i = 0; got < h.len && i < 100000; i++) {
		CHECK_EQ(rpc_conn_handle(&c), 0);
		ssize_t n = recv(sv[0], p + got, h.len - got, MSG_DONTWAIT);
		if (n > 0)
			got += (size_t)n;
	}
	CHECK_EQ(got, h.len);
	CHECK_EQ(rpc_frame_parse_response(p, h.len, &st, &msg, &mlen), 0);
	CHECK_EQ(st.code, RPC_OK);
	CHECK(mlen > 16000);
	CHECK_EQ(rpc_conn_handle(&c), 0);
	CHECK_EQ(read_frame(sv[0], &h, p, RPC_MAX_PAYLOAD), 0);
	CHECK_EQ(h.stream, 3);
	CHECK_EQ(c.frames, 2);
	CHECK_EQ(rpc_conn_mid_frame(&c), 0);
	CHECK_EQ(rpc_conn_events(&c), POLLIN);
	/* Clean close between frames. */
	shutdown(sv[0], SHUT_WR);
	CHECK_EQ(rpc_conn_handle(&c), 1);
	rpc_conn_release(&c);
	/* Close in the middle of a frame: -ECONNRESET. */
	close(sv[0]);
	close(sv[1]);
	CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
	rpc_conn_init(&c, &s, sv[1]);
	CHECK_EQ(rpc_write_full(sv[0], g.data, g.len - 1, rpc_deadline(IO_MS)), 0);
	shutdown(sv[0], SHUT_WR);
	CHECK_EQ(rpc_conn_handle(&c), -ECONNRESET);
	rpc_conn_release(&c);
	close(sv[0]);
	close(sv[1]);
	rpc_buf_free(&f);
	rpc_buf_free(&g);
	free(req);
	free(p);
}

/* Deferred replies: an async Exec is started and answered later, the
 * connection reads nothing meanwhile, a hang-up while waiting is reported. */
struct async_svc {
	struct rpc_conn *conn;
	char arg0[64];
	int started;
};

static void a_exec_start(void *ctx, struct rpc_conn *conn, const void *req)
{
	struct async_svc *a = ctx;
	const maitred_ExecRequest *r = req;
	a->started++;
	a->conn = conn;
	snprintf(a->arg0, sizeof(a->arg0), "%s", r->argv_count ? r->argv[0] : "");
	if (strcmp(a->arg0, "now") == 0) {
		static maitred_ExecResponse o;
		memset(&o, 0, sizeof(o));
		o.exit_code = 42;
		rpc_conn_reply(conn, NULL, &o);
	}
}

static const struct rpc_async_method async_methods[] = {
	{ &proto_maitred_methods[PROTO_MAITRED_EXEC], a_exec_start },
};

static void send_exec(int fd, uint32_t stream, const char *a0)
{
	maitred_ExecRequest *q = calloc(1, sizeof(*q));
	struct rpc_buf b = { 0 };
	strcpy(q->argv[0], a0);
	q->argv_count = 1;
	CHECK_EQ(rpc_frame_request(&b, stream, proto_maitred_methods[PROTO_MAITRED_EXEC].id,
				   maitred_ExecRequest_fields, q), 0);
	CHECK_EQ(rpc_write_full(fd, b.data, b.len, rpc_deadline(IO_MS)), 0);
	rpc_buf_free(&b);
	free(q);
}

static void conn_deferred(void)
{
	struct async_svc a = { 0 };
	struct rpc_server s = { .methods = methods + 3, .n_methods = 1, .ctx = &a,
				.async_methods = async_methods, .n_async = 1,
				.io_timeout_ms = IO_MS };
	struct rpc_conn c;
	int sv[2];
	struct rpc_hdr h;
	uint8_t *p = malloc(RPC_MAX_PAYLOAD);
	struct rpc_status st;
	const uint8_t *msg;
	size_t mlen;
	maitred_ExecResponse *er = calloc(1, sizeof(*er));
	/* s.methods + 3 is GetInfo; its handler ignores ctx. */
	CHECK(methods[3].desc == &proto_maitred_methods[PROTO_MAITRED_GET_INFO]);

	CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	rpc_conn_init(&c, &s, sv[1]);
	CHECK_EQ(rpc_conn_reply(&c, NULL, er), -EINVAL);

	/* Exec "later", and a GetInfo right behind it. */
	send_exec(sv[0], 5, "later");
	struct rpc_buf g = { 0 };
	CHECK_EQ(rpc_frame_request(&g, 7, proto_maitred_methods[PROTO_MAITRED_GET_INFO].id, NULL,
				   NULL), 0);
	CHECK_EQ(rpc_write_full(sv[0], g.data, g.len, rpc_deadline(IO_MS)), 0);
	CHECK_EQ(rpc_conn_handle(&c), 0);
	CHECK_EQ(a.started, 1);
	CHECK(strcmp(a.arg0, "later") == 0);
	CHECK(a.conn == &c);
	CHECK(c.pending == &proto_maitred_methods[PROTO_MAITRED_EXEC]);
	CHECK_EQ(rpc_conn_events(&c), 0);
	CHECK_EQ(rpc_conn_mid_frame(&c), 0);
	for (int i = 0; i < 3; i++)
		CHECK_EQ(rpc_conn_handle(&c), 0);
	CHECK_EQ(c.frames, 1);
	uint8_t x;
	CHECK_EQ(recv(sv[0], &x, 1, MSG_DONTWAIT), -1);

	/* The answer: then the GetInfo is served, responses in order. */
	er->exit_code = 7;
	CHECK_EQ(rpc_conn_reply(&c, NULL, er), 0);
	CHECK(c.pending == NULL);
	CHECK_EQ(rpc_conn_events(&c), POLLOUT);
	CHECK_EQ(rpc_conn_handle(&c), 0);
	CHECK_EQ(read_frame(sv[0], &h, p, RPC_MAX_PAYLOAD), 0);
	CHECK_EQ(h.stream, 5);
	CHECK_EQ(rpc_frame_parse_response(p, h.len, &st, &msg, &mlen), 0);
	CHECK_EQ(st.code, RPC_OK);
	memset(er, 0, sizeof(*er));
	CHECK_EQ(rpc_msg_decode(maitred_ExecResponse_fields, er, msg, mlen, NULL), 0);
	CHECK_EQ(er->exit_code, 7);
	CHECK_EQ(read_frame(sv[0], &h, p, RPC_MAX_PAYLOAD), 0);
	CHECK_EQ(h.stream, 7);
	CHECK_EQ(c.frames, 2);

	/* Answered from inside start. */
	send_exec(sv[0], 9, "now");
	CHECK_EQ(rpc_conn_handle(&c), 0);
	CHECK(c.pending == NULL);
	CHECK_EQ(read_frame(sv[0], &h, p, RPC_MAX_PAYLOAD), 0);
	CHECK_EQ(h.stream, 9);
	CHECK_EQ(rpc_frame_parse_response(p, h.len, &st, &msg, &mlen), 0);
	CHECK_EQ(rpc_msg_decode(maitred_ExecResponse_fields, er, msg, mlen, NULL), 0);
	CHECK_EQ(er->exit_code, 42);

	/* An error answer. */
	send_exec(sv[0], 11, "nosuch");
	CHECK_EQ(rpc_conn_handle(&c), 0);
	struct rpc_status nf;
	rpc_status_set(&nf, RPC_NOT_FOUND, "exec: nosuch: command not found");
	CHECK_EQ(rpc_conn_reply(&c, &nf, NULL), 0);
	CHECK_EQ(rpc_conn_handle(&c), 0);
	CHECK_EQ(read_frame(sv[0], &h, p, RPC_MAX_PAYLOAD), 0);
	CHECK_EQ(h.stream, 11);
	CHECK_EQ(rpc_frame_parse_response(p, h.len, &st, &msg, &mlen), 0);
	CHECK_EQ(st.code, RPC_NOT_FOUND);
	CHECK(strcmp(st.msg, "exec: nosuch: command not found") == 0);

	/* A bad request message never reaches start. */
	int started = a.started;
	uint32_t id = proto_maitred_methods[PROTO_MAITRED_EXEC].id;
	uint8_t bad[RPC_HDR_SIZE + 6] = { 0, 0, 0, 6, 0, 0, 0, 13, 1, 0, (uint8_t)(id >> 24),
					  (uint8_t)(id >> 16), (uint8_t)(id >> 8), (uint8_t)id,
					  0x0a, 0x40 };
	CHECK_EQ(rpc_write_full(sv[0], bad, sizeof(bad), rpc_deadline(IO_MS)), 0);
	CHECK_EQ(rpc_conn_handle(&c), 0);
	CHECK_EQ(a.started, started);
	CHECK(c.pending == NULL);
	CHECK_EQ(read_frame(sv[0], &h, p, RPC_MAX_PAYLOAD), 0);
	CHECK_EQ(rpc_frame_parse_response(p, h.len, &st, &msg, &mlen), 0);
	CHECK_EQ(st.code, RPC_INVALID_ARGUMENT);

	/* The blocking dispatcher does not serve deferred methods. */
	struct rpc_buf out = { 0 };
	struct rpc_hdr bh;
	send_exec(sv[0], 15, "x");
	/* Take the frame off the server's end ourselves and dispatch it. */
	uint8_t *f = malloc(RPC_MAX_PAYLOAD);
	CHECK_EQ(read_frame(sv[1], &bh, f, RPC_MAX_PAYLOAD), 0);
	CHECK_EQ(rpc_server_dispatch(&s, &bh, f, &out), 0);
	CHECK_EQ(rpc_frame_get_hdr(out.data, &h), 0);
	CHECK_EQ(rpc_frame_parse_response(out.data + RPC_HDR_SIZE, h.len, &st, &msg, &mlen), 0);
	CHECK_EQ(st.code, RPC_UNIMPLEMENTED);
	CHECK(strstr(st.msg, "maitred.Exec (0x00010002): not served here") != NULL);
	rpc_buf_free(&out);
	free(f);

	/* Hang-up while a call waits: reported, the call still marked so its
	 * owner can cancel the work. */
	send_exec(sv[0], 17, "long");
	CHECK_EQ(rpc_conn_handle(&c), 0);
	CHECK(c.pending != NULL);
	close(sv[0]);
	CHECK_EQ(rpc_conn_handle(&c), -ECONNRESET);
	CHECK(c.pending != NULL);
	rpc_conn_release(&c);
	CHECK(c.pending == NULL);
	close(sv[1]);
	rpc_buf_free(&g);
	free(er);
	free(p);
}

/* ---- hostile servers against the client ---- */

struct fake_server {
	pthread_t t;
	int fd;
	int mode;
};

enum { FS_WRONG_STREAM, FS_OVERSIZE, FS_CLOSE, FS_SILENT, FS_BAD_MSG, FS_REQUEST, FS_EXTRA,
       FS_SLOW };

static void *fake_run(void *arg)
{
	struct fake_server *f = arg;
	struct rpc_hdr h;
	uint8_t p[4096];
	struct rpc_buf out = { 0 };

	if (read_frame(f->fd, &h, p, sizeof(p)) < 0)
		goto out;
	switch (f->mode) {
	case FS_WRONG_STREAM:
		rpc_frame_response(&out, h.stream + 2, NULL, NULL, NULL);
		break;
	case FS_OVERSIZE: {
		struct rpc_hdr b = { .len = RPC_MAX_PAYLOAD + 1, .stream = h.stream,
				     .type = RPC_TYPE_RESPONSE };
		rpc_buf_reserve(&out, RPC_HDR_SIZE);
		rpc_frame_put_hdr(out.data, &b);
		out.len = RPC_HDR_SIZE;
		break;
	}
	case FS_CLOSE:
		goto out;
	case FS_SILENT: {
		/* Wait for the client to give up and close. */
		uint8_t x;
		rpc_read_full(f->fd, &x, 1, rpc_deadline(IO_MS));
		goto out;
	}
	case FS_BAD_MSG: {
		rpc_frame_response(&out, h.stream, NULL, NULL, NULL);
		uint8_t junk[] = { 0x0a, 0x50, 'x' };
		rpc_buf_reserve(&out, out.len + sizeof(junk));
		memcpy(out.data + out.len, junk, sizeof(junk));
		out.len += sizeof(junk);
		uint32_t l = (uint32_t)(out.len - RPC_HDR_SIZE);
		out.data[3] = (uint8_t)l;
		break;
	}
	case FS_REQUEST:
		rpc_frame_request(&out, h.stream, 1, NULL, NULL);
		break;
	case FS_EXTRA:
		/* A good response plus a byte nobody asked for, in one write. */
		rpc_frame_response(&out, h.stream, NULL, NULL, NULL);
		rpc_buf_reserve(&out, out.len + 1);
		out.data[out.len++] = 0;
		break;
	case FS_SLOW: {
		/* A good response in three pieces: 3 header bytes, the rest of
		 * the header and part of the body, the remainder. */
		maitred_GetInfoResponse *o = calloc(1, sizeof(*o));
		strcpy(o->hostname, "slow");
		rpc_frame_response(&out, h.stream, NULL, maitred_GetInfoResponse_fields, o);
		free(o);
		size_t cut[] = { 0, 3, RPC_HDR_SIZE + 4, out.len };
		for (int i = 0; i < 3; i++) {
			rpc_write_full(f->fd, out.data + cut[i], cut[i + 1] - cut[i],
				       rpc_deadline(IO_MS));
			usleep(20000);
		}
		out.len = 0;
		break;
	}
	}
	rpc_write_full(f->fd, out.data, out.len, rpc_deadline(IO_MS));
	/* Keep the connection open until the client closes it. */
	uint8_t x;
	rpc_read_full(f->fd, &x, 1, rpc_deadline(IO_MS));
out:
	rpc_buf_free(&out);
	close(f->fd);
	return NULL;
}

static int client_vs(int mode, int timeout_ms, struct rpc_status *st)
{
	int sv[2];
	struct fake_server f = { .mode = mode };
	struct rpc_client c;
	maitred_GetInfoResponse info;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -9999;
	f.fd = sv[1];
	pthread_create(&f.t, NULL, fake_run, &f);
	rpc_client_init(&c, sv[0], timeout_ms);
	int r = rpc_client_call(&c, &proto_maitred_methods[PROTO_MAITRED_GET_INFO],
				&(maitred_GetInfoRequest){ 0 }, &info, st);
	struct rpc_status st2;
	int again = rpc_client_call(&c, &proto_maitred_methods[PROTO_MAITRED_GET_INFO],
				    &(maitred_GetInfoRequest){ 0 }, &info, &st2);
	rpc_client_release(&c);
	close(sv[0]);
	pthread_join(f.t, NULL);
	/* Any transport failure poisons the connection for later calls. */
	if (r < 0 && r != -EBADMSG && again != -EPIPE)
		return -9997;
	return r;
}

static void client_hostile_servers(void)
{
	struct rpc_status st;
	CHECK_EQ(client_vs(FS_WRONG_STREAM, IO_MS, &st), -EPROTO);
	CHECK_EQ(client_vs(FS_OVERSIZE, IO_MS, &st), -EMSGSIZE);
	CHECK_EQ(client_vs(FS_CLOSE, IO_MS, &st), -ECONNRESET);
	CHECK_EQ(client_vs(FS_SILENT, 100, &st), -ETIMEDOUT);
	CHECK_EQ(client_vs(FS_REQUEST, IO_MS, &st), -EPROTO);
	CHECK_EQ(client_vs(FS_EXTRA, IO_MS, &st), -EPROTO);
	/* A response arriving in pieces is reassembled. */
	CHECK_EQ(client_vs(FS_SLOW, IO_MS, &st), 0);
	CHECK_EQ(st.code, RPC_OK);
	/* A whole but undecodable message: reported, stream still in sync. */
	CHECK_EQ(client_vs(FS_BAD_MSG, IO_MS, &st), -EBADMSG);
	CHECK_EQ(st.code, RPC_INTERNAL);
	CHECK(strstr(st.msg, "bad response message") != NULL);
}

int main(void)
{
	t_suite = "rpc_server";
	/* A vanished peer must be -EPIPE, never a fatal SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	wd_begin();
	RUN_W(dispatch_cases);
	RUN_W(many_sequential_calls);
	RUN_W(client_unknown_method);
	RUN_W(serve_pipelined);
	RUN_W(hostile_frames);
	RUN_W(malformed_closes_only_its_connection);
	RUN_W(conn_loop);
	RUN_W(conn_loop_many);
	RUN_W(conn_backpressure);
	RUN_W(conn_deferred);
	RUN_W(client_hostile_servers);
	return t_done();
}
