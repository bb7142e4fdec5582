/* Native RPC benchmark: unary round trips over a unix socket, server in a
 * child process (rpc_server_serve, the blocking per-connection loop), client
 * in the parent (rpc_client_call). Prints one line per call kind:
 *   native <call> n=N p50_us=X p99_us=Y rps=Z
 * scripts/bench/rpc.sh runs it next to the gRPC C++ equivalent
 * (bench/rpc/grpc_bench.cc) doing the same calls on the same messages.
 *
 *   rpc_bench [-n CALLS] [-s STDIN_BYTES] [-c server|conn|raw]
 * -c conn serves with the incremental rpc_conn loop (poll) instead.
 * -c raw is the floor: the same request and response bytes ping-ponged with
 * plain write()/read() loops, no framing code, no encoding, no dispatch
 * (printed as "raw <call>"), so the cost of the library itself shows. */
#include "proto/maitred.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint32_t rpc_bench_info(void *ctx, const void *req, void *resp, struct rpc_status *st)
{
	maitred_GetInfoResponse *o = resp;
	strcpy(o->kernel_release, "6.1.0-appvm");
	strcpy(o->kernel_version, "#1 SMP PREEMPT_DYNAMIC");
	strcpy(o->hostname, "appliance");
	strcpy(o->init_version, "appvm-init 0.1");
	o->uptime_ms = 123456;
	o->load1_milli = 120;
	o->mem_total_kib = 262144;
	o->mem_free_kib = 200000;
	o->nprocs = 12;
	return RPC_OK;
}

/* Exec stand-in: stdin comes back as stdout (no process is run). */
static uint32_t rpc_bench_exec(void *ctx, const void *req, void *resp, struct rpc_status *st)
{
	const maitred_ExecRequest *r = req;
	maitred_ExecResponse *o = resp;
	memcpy(o->stdout_data.bytes, r->stdin_data.bytes, r->stdin_data.size);
	o->stdout_data.size = r->stdin_data.size;
	o->pid = 1;
	return RPC_OK;
}

static const struct rpc_method rpc_bench_methods[] = {
	{ &proto_maitred_methods[PROTO_MAITRED_GET_INFO], rpc_bench_info },
	{ &proto_maitred_methods[PROTO_MAITRED_EXEC], rpc_bench_exec },
};

static const struct rpc_server rpc_bench_server = {
	.methods = rpc_bench_methods, .n_methods = 2, .io_timeout_ms = 10000,
};

static int64_t rpc_bench_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int rpc_bench_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

/* The incremental server on one connection, as an event loop would run it. */
static int rpc_bench_conn_loop(int fd)
{
	struct rpc_conn c;
	int r = 0;
	rpc_conn_init(&c, &rpc_bench_server, fd);
	while (r == 0) {
		struct pollfd p = { .fd = fd, .events = rpc_conn_events(&c) };
		if (poll(&p, 1, -1) < 0 && errno != EINTR)
			break;
		r = rpc_conn_handle(&c);
	}
	rpc_conn_release(&c);
	return r == 1 ? 0 : r;
}

/* Raw floor: read req_len bytes, write resp_len bytes, until EOF. */
static int rpc_bench_raw_server(int fd, size_t req_len, size_t resp_len)
{
	static uint8_t b[RPC_HDR_SIZE + 65536];
	for (;;) {
		ssize_t n = rpc_read_full(fd, b, req_len, -1);
		if (n == 0)
			return 0;
		if (n != (ssize_t)req_len || rpc_write_full(fd, b, resp_len, -1) != 0)
			return 1;
	}
}

/* Encoded sizes of one call's request and response frames. */
static void rpc_bench_sizes(const struct rpc_method_desc *m, const void *req, void *resp,
			    size_t *req_len, size_t *resp_len)
{
	struct rpc_buf b = { 0 };
	rpc_frame_request(&b, 1, m->id, m->req_fields, req);
	*req_len = b.len;
	const struct rpc_method *h = NULL;
	for (size_t i = 0; i < rpc_bench_server.n_methods; i++)
		if (rpc_bench_server.methods[i].desc == m)
			h = &rpc_bench_server.methods[i];
	struct rpc_status st = { 0 };
	memset(resp, 0, m->resp_size);
	h->fn(NULL, req, resp, &st);
	rpc_frame_response(&b, 1, NULL, m->resp_fields, resp);
	*resp_len = b.len;
	rpc_buf_free(&b);
}

static int rpc_bench_raw(int fd, const char *name, int n, size_t req_len, size_t resp_len)
{
	static uint8_t b[RPC_HDR_SIZE + 65536];
	int64_t *lat = malloc(sizeof(*lat) * (size_t)n);
	if (!lat)
		return -ENOMEM;
	for (int i = 0; i < n / 10 + 100 + n; i++) {
		int64_t a = rpc_bench_ns();
		if (rpc_write_full(fd, b, req_len, -1) != 0 ||
		    rpc_read_full(fd, b, resp_len, -1) != (ssize_t)resp_len) {
			free(lat);
			return -EIO;
		}
		if (i >= n / 10 + 100)
			lat[i - (n / 10 + 100)] = rpc_bench_ns() - a;
	}
	int64_t total = 0;
	for (int i = 0; i < n; i++)
		total += lat[i];
	qsort(lat, (size_t)n, sizeof(*lat), rpc_bench_cmp);
	printf("raw %s n=%d p50_us=%.1f p99_us=%.1f rps=%.0f\n", name, n, lat[n / 2] / 1000.0,
	       lat[(size_t)n * 99 / 100] / 1000.0, n * 1e9 / total);
	free(lat);
	return 0;
}

static int rpc_bench_run(struct rpc_client *c, const char *name, int n,
			 const struct rpc_method_desc *m, const void *req, void *resp)
{
	int64_t *lat = malloc(sizeof(*lat) * (size_t)n);
	struct rpc_status st;
	if (!lat)
		return -ENOMEM;
	for (int i = 0; i < n / 10 + 100; i++) /* warm-up */
		if (rpc_client_call(c, m, req, resp, &st) != 0 || st.code)
			return -EIO;
	int64_t t0 = rpc_bench_ns();
	for (int i = 0; i < n; i++) {
		int64_t a = rpc_bench_ns();
		if (rpc_client_call(c, m, req, resp, &st) != 0 || st.code) {
			free(lat);
			return -EIO;
		}
		lat[i] = rpc_bench_ns() - a;
	}
	int64_t total = rpc_bench_ns() - t0;
	qsort(lat, (size_t)n, sizeof(*lat), rpc_bench_cmp);
	printf("native %s n=%d p50_us=%.1f p99_us=%.1f rps=%.0f\n", name, n,
	       lat[n / 2] / 1000.0, lat[(size_t)n * 99 / 100] / 1000.0, n * 1e9 / total);
	free(lat);
	return 0;
}

int main(int argc, char **argv)
{
	int n = 20000, stdin_bytes = 4096, opt;
	const char *mode = "server";
	while ((opt = getopt(argc, argv, "n:s:c:")) != -1) {
		switch (opt) {
		case 'n': n = atoi(optarg); break;
		case 's': stdin_bytes = atoi(optarg); break;
		case 'c': mode = optarg; break;
		default:
			fprintf(stderr, "usage: rpc_bench [-n CALLS] [-s STDIN_BYTES] [-c server|conn]\n");
			return 2;
		}
	}
	int raw = strcmp(mode, "raw") == 0;
	if (n < 1 || stdin_bytes < 0 || stdin_bytes > 16000 ||
	    (strcmp(mode, "server") != 0 && strcmp(mode, "conn") != 0 && !raw)) {
		fprintf(stderr, "rpc_bench: -n must be >= 1, -s 0..16000, -c server|conn|raw\n");
		return 2;
	}
	static maitred_GetInfoResponse info;
	static maitred_ExecRequest ex;
	static maitred_ExecResponse exr;
	strcpy(ex.argv[0], "cat");
	ex.argv_count = 1;
	for (int i = 0; i < stdin_bytes; i++)
		ex.stdin_data.bytes[i] = (uint8_t)i;
	ex.stdin_data.size = (pb_size_t)stdin_bytes;
	char name[32];
	snprintf(name, sizeof(name), "exec_echo_%dB", stdin_bytes);
	const struct rpc_method_desc *gm = &proto_maitred_methods[PROTO_MAITRED_GET_INFO];
	const struct rpc_method_desc *em = &proto_maitred_methods[PROTO_MAITRED_EXEC];
	size_t sz[2][2];
	rpc_bench_sizes(gm, &(maitred_GetInfoRequest){ 0 }, &info, &sz[0][0], &sz[0][1]);
	rpc_bench_sizes(em, &ex, &exr, &sz[1][0], &sz[1][1]);

	char dir[] = "/tmp/rpc_bench.XXXXXX";
	if (!mkdtemp(dir)) {
		perror("rpc_bench: mkdtemp");
		return 1;
	}
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	snprintf(a.sun_path, sizeof(a.sun_path), "%s/sock", dir);
	int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(lfd, 4) < 0) {
		perror("rpc_bench: listen");
		return 1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		perror("rpc_bench: fork");
		return 1;
	}
	if (pid == 0) {
		signal(SIGPIPE, SIG_IGN);
		int fd = accept4(lfd, NULL, NULL, strcmp(mode, "conn") == 0 ? SOCK_NONBLOCK : 0);
		if (fd < 0)
			_exit(1);
		int r;
		if (raw) {
			r = rpc_bench_raw_server(fd, sz[0][0], sz[0][1]);
			if (r == 0) {
				close(fd);
				fd = accept4(lfd, NULL, NULL, 0);
				r = fd < 0 || rpc_bench_raw_server(fd, sz[1][0], sz[1][1]);
			}
		} else {
			r = strcmp(mode, "conn") == 0 ? rpc_bench_conn_loop(fd)
						      : rpc_server_serve(&rpc_bench_server, fd);
		}
		_exit(r == 0 ? 0 : 1);
	}
	close(lfd);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		perror("rpc_bench: connect");
		return 1;
	}
	int r;
	if (raw) {
		r = rpc_bench_raw(fd, "getinfo", n, sz[0][0], sz[0][1]);
		close(fd);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (r == 0 && (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0))
			r = -errno;
		if (r == 0)
			r = rpc_bench_raw(fd, name, n, sz[1][0], sz[1][1]);
	} else {
		struct rpc_client c;
		rpc_client_init(&c, fd, 10000);
		r = rpc_bench_run(&c, "getinfo", n, gm, &(maitred_GetInfoRequest){ 0 }, &info);
		if (r == 0)
			r = rpc_bench_run(&c, name, n, em, &ex, &exr);
		rpc_client_release(&c);
	}
	close(fd);
	int ws = 0;
	waitpid(pid, &ws, 0);
	unlink(a.sun_path);
	rmdir(dir);
	if (r < 0 || !WIFEXITED(ws) || WEXITSTATUS(ws) != 0) {
		fprintf(stderr, "rpc_bench: a call failed (%d) or the server did not end cleanly\n", r);
		return 1;
	}
	return 0;
}
