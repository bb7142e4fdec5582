/* guest-init/maitred*.c: the Maitred service driven through rpc_conn over
 * socketpairs, in a real evloop, with a fake init (spawn through
 * init_spawn_run, reaped here by pid; shutdown, clock and mount recorded).
 * The client runs in a thread (rpc_client blocks), the loop on the main
 * thread. Only our own children are ever signalled or waited for. */
#include "guest-init/maitred.h"
#include "tests/unit/t.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/vm_sockets.h>



#define FX_KIDS 64

struct fx {
	struct evloop loop;
	struct init_maitred m;
	struct {
		pid_t pid;
		init_pid1_exit_cb *cb;
		void *arg;
		int wstatus;
		bool reaped;
	} kid[FX_KIDS];
	int nkids;
	int spawns, unwatches, shutdowns;
	bool shutdown_reboot, shutdown_reply_flushed;
	int clock_calls, clock_err;
	struct timespec clock;
	int mounts;
	char mnt_src[64], mnt_dir[64], mnt_type[32], mnt_data[64];
	unsigned long mnt_flags;
};

static pid_t fx_spawn(void *arg, const struct init_spawn *s, init_pid1_exit_cb *cb, void *cb_arg,
		      const char **stage)
{
	struct fx *f = arg;
	pid_t pid;

	f->spawns++;
	if (f->nkids >= FX_KIDS)
		return -ENOSPC;
	pid = init_spawn_run(s, stage);
	if (pid > 0) {
		f->kid[f->nkids].pid = pid;
		f->kid[f->nkids].cb = cb;
		f->kid[f->nkids].arg = cb_arg;
		f->kid[f->nkids].reaped = false;
		f->nkids++;
	}
	return pid;
}

static int fx_unwatch(void *arg, pid_t pid)
{
	struct fx *f = arg;

	f->unwatches++;
	for (int i = 0; i < f->nkids; i++)
		if (f->kid[i].pid == pid) {
			f->kid[i].cb = NULL;
			return 0;
		}
	return -ENOENT;
}

static void fx_shutdown(void *arg, bool reboot)
{
	struct fx *f = arg;

	f->shutdowns++;
	f->shutdown_reboot = reboot;
	/* The reply must already be in the socket when init is asked. */
	f->shutdown_reply_flushed = true;
	for (int i = 0; i < INIT_MAITRED_MAX_CONNS; i++)
		if (f->m.conn[i].fd >= 0 && f->m.conn[i].rc.out_off < f->m.conn[i].rc.out.len)
			f->shutdown_reply_flushed = false;
}

static int fx_clock(void *arg, const struct timespec *ts)
{
	struct fx *f = arg;

	f->clock_calls++;
	f->clock = *ts;
	return f->clock_err;
}

static int fx_mount(void *arg, const char *src, const char *dir, const char *fstype,
		    unsigned long flags, const char *data)
{
	struct fx *f = arg;

	f->mounts++;
	snprintf(f->mnt_src, sizeof(f->mnt_src), "%s", src);
	snprintf(f->mnt_dir, sizeof(f->mnt_dir), "%s", dir);
	snprintf(f->mnt_type, sizeof(f->mnt_type), "%s", fstype);
	snprintf(f->mnt_data, sizeof(f->mnt_data), "%s", data);
	f->mnt_flags = flags;
	return 0;
}

static struct fx *fx_new(void)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct init_maitred_ops ops = {
		.arg = f, .spawn = fx_spawn, .unwatch = fx_unwatch, .shutdown = fx_shutdown,
		.set_clock = fx_clock, .mount = fx_mount,
	};

	CHECK_EQ(evloop_init(&f->loop), 0);
	CHECK_EQ(init_maitred_init(&f->m, &f->loop, &ops), 0);
	return f;
}

/* Reap our own children (by pid, never -1) and call their callbacks, as
 * init's SIGCHLD path does. */
static void fx_reap(struct fx *f)
{
	for (int i = 0; i < f->nkids; i++) {
		int st;

		if (f->kid[i].reaped || waitpid(f->kid[i].pid, &st, WNOHANG) != f->kid[i].pid)
			continue;
		f->kid[i].reaped = true;
		f->kid[i].wstatus = st;
		if (f->kid[i].cb)
			f->kid[i].cb(f->kid[i].arg, f->kid[i].pid, st);
	}
}

static void fx_free(struct fx *f)
{
	init_maitred_release(&f->m);
	/* Whatever is left (detached commands) is ours: wait for it. */
	for (int i = 0; i < f->nkids; i++)
		if (!f->kid[i].reaped) {
			kill(f->kid[i].pid, SIGKILL);
			waitpid(f->kid[i].pid, NULL, 0);
		}
	evloop_destroy(&f->loop);
	free(f);
}

/* A client socket whose other end the service serves. */
static int fx_connect(struct fx *f)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	CHECK_EQ(init_maitred_add_conn(&f->m, sv[1]), 0);
	return sv[0];
}

struct call {
	int fd;
	const struct rpc_method_desc *m;
	const void *req;
	void *resp;
	struct rpc_status st;
	int rc;
	atomic_int done;
};

static void *call_thread(void *a)
{
	struct call *c = a;
	struct rpc_client cl;

	rpc_client_init(&cl, c->fd, 20000);
	c->rc = rpc_client_call(&cl, c->m, c->req, c->resp, &c->st);
	rpc_client_release(&cl);
	atomic_store(&c->done, 1);
	return NULL;
}

/* One call on fd, the loop pumped meanwhile. Returns rpc_client_call's
 * result; the status in *st. */
static int fx_call(struct fx *f, int fd, int idx, const void *req, void *resp,
		   struct rpc_status *st)
{
	struct call c = { .fd = fd, .m = &proto_maitred_methods[idx], .req = req, .resp = resp };
	pthread_t t;

	atomic_init(&c.done, 0);
	if (pthread_create(&t, NULL, call_thread, &c))
		return -EAGAIN;
	while (!atomic_load(&c.done)) {
		evloop_run_once(&f->loop, 5);
		fx_reap(f);
	}
	pthread_join(t, NULL);
	*st = c.st;
	return c.rc;
}

/* ---- pure helpers ---- */

static void peer_and_enabled(void)
{
	struct init_config cfg;

	CHECK(init_maitred_peer_ok(VMADDR_CID_HOST));
	CHECK(!init_maitred_peer_ok(1));	/* VMADDR_CID_LOCAL: loopback */
	CHECK(!init_maitred_peer_ok(3));	/* the guest itself */
	CHECK(!init_maitred_peer_ok(VMADDR_CID_HYPERVISOR));
	CHECK(!init_maitred_peer_ok(VMADDR_CID_ANY));
	init_config_defaults(&cfg);
	CHECK(!init_maitred_enabled(&cfg));	/* auto, not under vmm */
	CHECK_EQ(cfg.rpc_port, 8888);
	cfg.exit_port = 0x510;
	CHECK(init_maitred_enabled(&cfg));	/* auto, vmm announced */
	cfg.rpc = 0;
	CHECK(!init_maitred_enabled(&cfg));
	cfg.exit_port = -1;
	cfg.rpc = 1;
	CHECK(init_maitred_enabled(&cfg));
	init_config_defaults(&cfg);
	CHECK_EQ(init_cmdline_parse("init.rpc=1 init.rpc_port=5000", 29, &cfg, NULL), 0);
	CHECK_EQ(cfg.rpc, 1);
	CHECK_EQ(cfg.rpc_port, 5000);
	CHECK_EQ(init_cmdline_parse("init.rpc=maybe init.rpc_port=0", 30, &cfg, NULL), 2);
	CHECK_EQ(cfg.rpc, -1);
	CHECK_EQ(cfg.rpc_port, 8888);
}

static void take_truncates(void)
{
	static maitred_ExecResponse r;
	uint8_t src[40000];
	bool tr = false;

	memset(src, 'x', sizeof(src));
	memset(&r, 0, sizeof(r));
	CHECK_EQ(init_maitred_take(r.stdout_data.bytes, &r.stdout_data.size,
				   sizeof(r.stdout_data.bytes), src, 31990, &tr), 31990);
	CHECK(!tr);
	CHECK_EQ(init_maitred_take(r.stdout_data.bytes, &r.stdout_data.size,
				   sizeof(r.stdout_data.bytes), src, 10, &tr), 10);
	CHECK(!tr);
	CHECK_EQ(r.stdout_data.size, 32000);
	CHECK_EQ(init_maitred_take(r.stdout_data.bytes, &r.stdout_data.size,
				   sizeof(r.stdout_data.bytes), src, 1, &tr), 0);
	CHECK(tr);
	CHECK_EQ(r.stdout_data.size, 32000);
	tr = false;
	memset(&r, 0, sizeof(r));
	CHECK_EQ(init_maitred_take(r.stderr_data.bytes, &r.stderr_data.size,
				   sizeof(r.stderr_data.bytes), src, sizeof(src), &tr), 32000);
	CHECK(tr);
}

/* A scratch dir with: noexec (mode 644), dir/, good (755) in b/, and a
 * non-executable "tool" in a/ shadowing an executable one in b/. */
static char scratch[64];

static void mkfile(const char *rel, mode_t mode)
{
	char p[160];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", scratch, rel);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, mode);
	CHECK(fd >= 0);
	if (fd >= 0) {
		CHECK_EQ(write(fd, "#!/bin/sh\necho ran\n", 19), 19);
		close(fd);
	}
	chmod(p, mode);
}

static void scratch_make(void)
{
	char p[160];

	snprintf(scratch, sizeof(scratch), "/tmp/init_maitred_test.XXXXXX");
	CHECK(mkdtemp(scratch) != NULL);
	snprintf(p, sizeof(p), "%s/a", scratch);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/b", scratch);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/dir", scratch);
	mkdir(p, 0755);
	mkfile("noexec", 0644);
	mkfile("a/tool", 0644);
	mkfile("b/tool", 0755);
	mkfile("b/only", 0755);
}

static void scratch_remove(void)
{
	const char *rel[] = { "noexec", "a/tool", "b/tool", "b/only" };
	const char *dirs[] = { "a", "b", "dir", "" };
	char p[160];

	for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", scratch, rel[i]);
		unlink(p);
	}
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", scratch, dirs[i]);
		rmdir(p);
	}
}

static void find_exec_rules(void)
{
	char out[512], path[200], want[200];

	/* Running as root, access(X_OK) is true for any file with some x bit
	 * and for directories; the mode-644 files still have none. */
	snprintf(path, sizeof(path), "%s/a:%s/b", scratch, scratch);
	CHECK_EQ(init_maitred_find_exec("tool", path, "/", out, sizeof(out)), 0);
	snprintf(want, sizeof(want), "%s/b/tool", scratch);
	CHECK(!strcmp(out, want));
	CHECK_EQ(init_maitred_find_exec("only", path, "/", out, sizeof(out)), 0);
	CHECK_EQ(init_maitred_find_exec("nosuch", path, "/", out, sizeof(out)), -ENOENT);
	snprintf(path, sizeof(path), "%s/a", scratch);
	CHECK_EQ(init_maitred_find_exec("tool", path, "/", out, sizeof(out)), -EACCES);
	CHECK_EQ(init_maitred_find_exec("sh", NULL, "/", out, sizeof(out)), 0);
	CHECK(!strcmp(out + strlen(out) - 3, "/sh"));
	snprintf(path, sizeof(path), "%s/noexec", scratch);
	CHECK_EQ(init_maitred_find_exec(path, NULL, "/", out, sizeof(out)), -EACCES);
	snprintf(path, sizeof(path), "%s/dir", scratch);
	CHECK_EQ(init_maitred_find_exec(path, NULL, "/", out, sizeof(out)), -EACCES);
	snprintf(path, sizeof(path), "%s/missing", scratch);
	CHECK_EQ(init_maitred_find_exec(path, NULL, "/", out, sizeof(out)), -ENOENT);
	/* Relative names with a '/' resolve against cwd. */
	CHECK_EQ(init_maitred_find_exec("b/only", NULL, scratch, out, sizeof(out)), 0);
	snprintf(want, sizeof(want), "%s/b/only", scratch);
	CHECK(!strcmp(out, want));
	CHECK_EQ(init_maitred_find_exec("./noexec", NULL, scratch, out, sizeof(out)), -EACCES);
	CHECK_EQ(init_maitred_find_exec("", NULL, "/", out, sizeof(out)), -ENOENT);
	CHECK_EQ(init_maitred_find_exec("/bin/sh", NULL, "/", out, 4), -ENAMETOOLONG);
}

static void net_parse(void)
{
	maitred_ConfigureNetworkRequest r;
	struct init_maitred_net n;
	struct rpc_status st;
	char text[512];

	memset(&r, 0, sizeof(r));
	strcpy(r.address, "10.0.2.15");
	r.prefix_len = 24;
	strcpy(r.gateway, "10.0.2.2");
	r.dns_count = 2;
	strcpy(r.dns[0], "10.0.2.3");
	strcpy(r.dns[1], "2001:db8::1");
	r.mtu = 1400;
	CHECK_EQ(init_maitred_net_parse(&r, &n, &st), RPC_OK);
	CHECK(n.has_addr);
	CHECK_EQ(n.mask, htonl(0xffffff00u));
	CHECK_EQ(n.gw, htonl(0x0a000202u));
	CHECK_EQ(n.mtu, 1400);
	CHECK_EQ(init_maitred_resolv_text(&n, text, sizeof(text)) > 0, 1);
	CHECK(strstr(text, "nameserver 10.0.2.3\nnameserver 2001:db8::1\n") != NULL);
	CHECK_EQ(init_maitred_resolv_text(&n, text, 20), -ENOSPC);

	strcpy(r.netmask, "255.0.255.0");
	CHECK_EQ(init_maitred_net_parse(&r, &n, &st), RPC_INVALID_ARGUMENT);
	CHECK(strstr(st.msg, "not contiguous") != NULL);
	strcpy(r.netmask, "255.255.0.0");
	CHECK_EQ(init_maitred_net_parse(&r, &n, &st), RPC_OK);
	CHECK_EQ(n.mask, htonl(0xffff0000u));
	strcpy(r.gateway, "10.1.0.1");
	CHECK_EQ(init_maitred_net_parse(&r, &n, &st), RPC_INVALID_ARGUMENT);
	CHECK(strstr(st.msg, "outside") != NULL);
	r.gateway[0] = '\0';
	r.netmask[0] = '\0';
	r.prefix_len = 33;
	CHECK_EQ(init_maitred_net_parse(&r, &n, &st), RPC_INVALID_ARGUMENT);
	r.prefix_len = 32;
	CHECK_EQ(init_maitred_net_parse(&r, &n, &st), RPC_OK);
	CHECK_EQ(n.mask, 0xffffffffu);
	strcpy(r.address, "fd00::2");
	r.prefix_len = 64;
	CHECK_EQ(init_maitred_net_parse(&r, &n, &st), RPC_OK);
	CHECK(n.has_addr6 && !n.has_addr && n.prefix6 == 64 && !n.has_gw6);
	CHECK(n.addr6[0] == 0xfd && n.addr6[15] == 2);
	strcpy(r.gateway, "fe80::1");
	CHECK_EQ(init_maitred_net_parse(&r, &n, &st), RPC_OK);
	CHECK(n.has_gw6 && n.gw6[0] == 0xfe && n.gw6[15] == 1);
	strcpy(r.gateway, "10.0.2.2");
	CHECK_EQ(init_maitred_net_parse(&r, &n, &st), RPC_INVALID_ARGUMENT);
	r.gateway[0] = '\0';
	r.prefix_len = 129;
	CHECK_EQ(init_maitred_net_parse(&r, &n, &st), RPC_INVALID_ARGUMENT);
	r.prefix_len = 64;
	strcpy(r.netmask, "255.255.255.0");
	CHECK_EQ(init_maitred_net_parse(&r, &n, &st), RPC_INVALID_ARGUMENT);
	r.netmask[0] = '\0';
	r.prefix_len = 32;
	strcpy(r.address, "10.0.2.300");
	CHECK_EQ(init_maitred_net_parse(&r, &n, &st), RPC_INVALID_ARGUMENT);
	strcpy(r.address, "10.0.2.15");
	strcpy(r.dns[1], "dns.example");
	CHECK_EQ(init_maitred_net_parse(&r, &n, &st), RPC_INVALID_ARGUMENT);
	strcpy(r.dns[1], "1.1.1.1");
	r.mtu = 67;
	CHECK_EQ(init_maitred_net_parse(&r, &n, &st), RPC_INVALID_ARGUMENT);
	r.mtu = 0;
	strcpy(r.ifname, "../x");
	CHECK_EQ(init_maitred_net_parse(&r, &n, &st), RPC_INVALID_ARGUMENT);
	memset(&r, 0, sizeof(r));
	strcpy(r.gateway, "10.0.2.2");
	CHECK_EQ(init_maitred_net_parse(&r, &n, &st), RPC_INVALID_ARGUMENT);
	/* Only name servers: fine, nothing else touched. */
	memset(&r, 0, sizeof(r));
	r.dns_count = 1;
	strcpy(r.dns[0], "192.0.2.53");
	CHECK_EQ(init_maitred_net_parse(&r, &n, &st), RPC_OK);
	CHECK(!n.has_addr);
	CHECK_EQ(n.ndns, 1);
}

/* ---- through the wire ---- */

static void get_info(void)
{
	struct fx *f = fx_new();
	int fd = fx_connect(f);
	static maitred_GetInfoResponse r;
	struct rpc_status st;
	struct utsname u;

	CHECK_EQ(fx_call(f, fd, PROTO_MAITRED_GET_INFO, &(maitred_GetInfoRequest){ 0 }, &r, &st), 0);
	CHECK_EQ(st.code, RPC_OK);
	uname(&u);
	CHECK(!strcmp(r.kernel_release, u.release));
	CHECK(!strcmp(r.hostname, u.nodename));
	CHECK(!strcmp(r.init_version, INIT_MAITRED_VERSION));
	CHECK(r.uptime_ms > 0);
	CHECK(r.mem_total_kib > 0);
	CHECK(r.mem_free_kib <= r.mem_total_kib);
	CHECK(r.mem_available_kib > 0 && r.mem_available_kib <= r.mem_total_kib);
	CHECK(r.nprocs > 0);
	/* The same connection serves the next call. */
	CHECK_EQ(fx_call(f, fd, PROTO_MAITRED_GET_INFO, &(maitred_GetInfoRequest){ 0 }, &r, &st), 0);
	CHECK_EQ(st.code, RPC_OK);
	close(fd);
	fx_free(f);
}

static void set_time_bounds(void)
{
	struct fx *f = fx_new();
	int fd = fx_connect(f);
	maitred_SetTimeResponse r;
	struct rpc_status st;

	CHECK_EQ(fx_call(f, fd, PROTO_MAITRED_SET_TIME,
			 &(maitred_SetTimeRequest){ .sec = 1700000000, .nsec = 1000000000u }, &r, &st), 0);
	CHECK_EQ(st.code, RPC_INVALID_ARGUMENT);
	CHECK(strstr(st.msg, "nsec") != NULL);
	CHECK_EQ(fx_call(f, fd, PROTO_MAITRED_SET_TIME,
			 &(maitred_SetTimeRequest){ .sec = -1, .nsec = 0 }, &r, &st), 0);
	CHECK_EQ(st.code, RPC_INVALID_ARGUMENT);
	CHECK_EQ(fx_call(f, fd, PROTO_MAITRED_SET_TIME,
			 &(maitred_SetTimeRequest){ .sec = INT64_MAX, .nsec = 0 }, &r, &st), 0);
	CHECK_EQ(st.code, RPC_INVALID_ARGUMENT);
	CHECK_EQ(f->clock_calls, 0);
	CHECK_EQ(fx_call(f, fd, PROTO_MAITRED_SET_TIME,
			 &(maitred_SetTimeRequest){ .sec = 1700000000, .nsec = 999999999u }, &r, &st), 0);
	CHECK_EQ(st.code, RPC_OK);
	CHECK_EQ(f->clock_calls, 1);
	CHECK_EQ(f->clock.tv_sec, 1700000000);
	CHECK_EQ(f->clock.tv_nsec, 999999999);
	f->clock_err = -EPERM;
	CHECK_EQ(fx_call(f, fd, PROTO_MAITRED_SET_TIME,
			 &(maitred_SetTimeRequest){ .sec = 1, .nsec = 0 }, &r, &st), 0);
	CHECK_EQ(st.code, RPC_PERMISSION_DENIED);
	close(fd);
	fx_free(f);
}

static maitred_ExecRequest xreq;
static maitred_ExecResponse xresp;

static void xset(int argc, ...)
{
	va_list ap;

	memset(&xreq, 0, sizeof(xreq));
	va_start(ap, argc);
	for (int i = 0; i < argc; i++)
		strcpy(xreq.argv[i], va_arg(ap, const char *));
	va_end(ap);
	xreq.argv_count = (pb_size_t)argc;
}

static int xcall(struct fx *f, int fd, struct rpc_status *st)
{
	memset(&xresp, 0, sizeof(xresp));
	return fx_call(f, fd, PROTO_MAITRED_EXEC, &xreq, &xresp, st);
}

static void exec_not_found_denied(void)
{
	struct fx *f = fx_new();
	int fd = fx_connect(f);
	struct rpc_status st;
	char p[160];

	xset(1, "definitely-no-such-command-here");
	CHECK_EQ(xcall(f, fd, &st), 0);
	CHECK_EQ(st.code, RPC_NOT_FOUND);
	CHECK(strstr(st.msg, "not found") != NULL);
	snprintf(p, sizeof(p), "%s/missing", scratch);
	xset(1, p);
	CHECK_EQ(xcall(f, fd, &st), 0);
	CHECK_EQ(st.code, RPC_NOT_FOUND);
	snprintf(p, sizeof(p), "%s/noexec", scratch);
	xset(1, p);
	CHECK_EQ(xcall(f, fd, &st), 0);
	CHECK_EQ(st.code, RPC_PERMISSION_DENIED);
	/* Through the request's own PATH. */
	xset(1, "tool");
	xreq.env_count = 1;
	snprintf(xreq.env[0], sizeof(xreq.env[0]), "PATH=%s/a", scratch);
	CHECK_EQ(xcall(f, fd, &st), 0);
	CHECK_EQ(st.code, RPC_PERMISSION_DENIED);
	CHECK_EQ(f->spawns, 0);	/* decided before anything started */
	snprintf(xreq.env[0], sizeof(xreq.env[0]), "PATH=%s/a:%s/b", scratch, scratch);
	CHECK_EQ(xcall(f, fd, &st), 0);
	CHECK_EQ(st.code, RPC_OK);
	CHECK_EQ(xresp.exit_code, 0);
	CHECK(xresp.stdout_data.size == 4 && !memcmp(xresp.stdout_data.bytes, "ran\n", 4));
	xset(0);
	CHECK_EQ(xcall(f, fd, &st), 0);
	CHECK_EQ(st.code, RPC_INVALID_ARGUMENT);
	xset(1, "sh");
	xreq.env_count = 1;
	strcpy(xreq.env[0], "NOEQUALS");
	CHECK_EQ(xcall(f, fd, &st), 0);
	CHECK_EQ(st.code, RPC_INVALID_ARGUMENT);
	xset(1, "pwd");
	strcpy(xreq.cwd, "/nonexistent/dir");
	CHECK_EQ(xcall(f, fd, &st), 0);
	CHECK_EQ(st.code, RPC_INVALID_ARGUMENT);
	CHECK(strstr(st.msg, "cwd") != NULL);
	close(fd);
	fx_free(f);
}

static void exec_output_status(void)
{
	struct fx *f = fx_new();
	int fd = fx_connect(f);
	struct rpc_status st;

	xset(3, "sh", "-c", "echo out; echo err >&2; exit 3");
	CHECK_EQ(xcall(f, fd, &st), 0);
	CHECK_EQ(st.code, RPC_OK);
	CHECK_EQ(xresp.exit_code, 3);
	CHECK_EQ(xresp.signal, 0);
	CHECK(xresp.pid > 0);
	CHECK(xresp.stdout_data.size == 4 && !memcmp(xresp.stdout_data.bytes, "out\n", 4));
	CHECK(xresp.stderr_data.size == 4 && !memcmp(xresp.stderr_data.bytes, "err\n", 4));
	CHECK(!xresp.stdout_truncated && !xresp.stderr_truncated && !xresp.timed_out);

	xset(1, "cat");
	memcpy(xreq.stdin_data.bytes, "hello stdin", 11);
	xreq.stdin_data.size = 11;
	CHECK_EQ(xcall(f, fd, &st), 0);
	CHECK_EQ(st.code, RPC_OK);
	CHECK(xresp.stdout_data.size == 11 && !memcmp(xresp.stdout_data.bytes, "hello stdin", 11));

	/* No stdin_data: stdin is /dev/null, so cat ends at once. */
	xset(1, "cat");
	CHECK_EQ(xcall(f, fd, &st), 0);
	CHECK_EQ(xresp.stdout_data.size, 0);
	CHECK_EQ(xresp.exit_code, 0);

	xset(3, "sh", "-c", "echo $FOO:$HOME; pwd");
	xreq.env_count = 1;
	strcpy(xreq.env[0], "FOO=bar");
	strcpy(xreq.cwd, "/tmp");
	CHECK_EQ(xcall(f, fd, &st), 0);
	CHECK(xresp.stdout_data.size == 11 && !memcmp(xresp.stdout_data.bytes, "bar:/\n/tmp\n", 11));

	xset(3, "sh", "-c", "kill -9 $$");
	CHECK_EQ(xcall(f, fd, &st), 0);
	CHECK_EQ(st.code, RPC_OK);
	CHECK_EQ(xresp.signal, 9);

	/* Own session: the command is a session leader. */
	xset(3, "sh", "-c", "[ \"$(cut -d' ' -f6 /proc/$$/stat)\" = $$ ]");
	CHECK_EQ(xcall(f, fd, &st), 0);
	CHECK_EQ(xresp.exit_code, 0);
	close(fd);
	fx_free(f);
}

static void exec_truncation(void)
{
	struct fx *f = fx_new();
	int fd = fx_connect(f);
	struct rpc_status st;

	/* 1 MiB on stdout and 100 kB on stderr: both bounded to 32000, the
	 * rest drained, so the command is not stuck on a full pipe. */
	xset(3, "sh", "-c", "head -c 1048576 /dev/zero; head -c 100000 /dev/zero >&2; exit 7");
	CHECK_EQ(xcall(f, fd, &st), 0);
	CHECK_EQ(st.code, RPC_OK);
	CHECK_EQ(xresp.exit_code, 7);
	CHECK_EQ(xresp.stdout_data.size, 32000);
	CHECK_EQ(xresp.stderr_data.size, 32000);
	CHECK(xresp.stdout_truncated && xresp.stderr_truncated);
	CHECK_EQ(xresp.stdout_data.bytes[31999], 0);
	/* Exactly the bound is not truncated. */
	xset(3, "sh", "-c", "head -c 32000 /dev/zero");
	CHECK_EQ(xcall(f, fd, &st), 0);
	CHECK_EQ(xresp.stdout_data.size, 32000);
	CHECK(!xresp.stdout_truncated);
	close(fd);
	fx_free(f);
}

static void exec_timeout_detach(void)
{
	struct fx *f = fx_new();
	int fd = fx_connect(f);
	struct rpc_status st;
	uint64_t t0 = evloop_now_ms();

	xset(2, "sleep", "30");
	xreq.timeout_ms = 200;
	CHECK_EQ(xcall(f, fd, &st), 0);
	CHECK_EQ(st.code, RPC_OK);
	CHECK(xresp.timed_out);
	CHECK_EQ(xresp.signal, SIGKILL);
	CHECK(evloop_now_ms() - t0 < 20000);

	xset(2, "sleep", "2");
	xreq.detach = true;
	CHECK_EQ(xcall(f, fd, &st), 0);
	CHECK_EQ(st.code, RPC_OK);
	CHECK(xresp.pid > 0);
	/* Answered while it still runs. */
	CHECK_EQ(kill((pid_t)xresp.pid, 0), 0);
	CHECK_EQ(f->nkids, 2);
	CHECK(!f->kid[1].reaped);
	close(fd);
	fx_free(f);
}

/* The host hangs up while its Exec runs: the command is killed, its
 * callback dropped, the connection closed. */
static void exec_cancel_on_hangup(void)
{
	struct fx *f = fx_new();
	int fd = fx_connect(f);
	struct rpc_buf b = { 0 };

	xset(2, "sleep", "30");
	CHECK_EQ(rpc_frame_request(&b, 1, proto_maitred_methods[PROTO_MAITRED_EXEC].id,
				   maitred_ExecRequest_fields, &xreq), 0);
	CHECK_EQ(rpc_write_full(fd, b.data, b.len, -1), 0);
	rpc_buf_free(&b);
	for (int i = 0; i < 100 && f->nkids == 0; i++)
		evloop_run_once(&f->loop, 10);
	CHECK_EQ(f->nkids, 1);
	CHECK_EQ(init_maitred_nconns(&f->m), 1);
	close(fd);
	for (int i = 0; i < 200 && !(f->nkids && f->kid[0].reaped); i++) {
		evloop_run_once(&f->loop, 10);
		fx_reap(f);
	}
	CHECK_EQ(init_maitred_nconns(&f->m), 0);
	CHECK_EQ(f->unwatches, 1);
	CHECK(f->kid[0].reaped);
	CHECK(WIFSIGNALED(f->kid[0].wstatus) && WTERMSIG(f->kid[0].wstatus) == SIGKILL);
	fx_free(f);
}

static void shutdown_after_reply(void)
{
	struct fx *f = fx_new();
	int fd = fx_connect(f);
	maitred_ShutdownResponse r;
	struct rpc_status st;

	CHECK_EQ(fx_call(f, fd, PROTO_MAITRED_SHUTDOWN, &(maitred_ShutdownRequest){ .reboot = true },
			 &r, &st), 0);
	CHECK_EQ(st.code, RPC_OK);
	CHECK_EQ(f->shutdowns, 1);
	CHECK(f->shutdown_reboot);
	CHECK(f->shutdown_reply_flushed);
	close(fd);
	fx_free(f);
}

static void mount_checks(void)
{
	struct fx *f = fx_new();
	int fd = fx_connect(f);
	static maitred_MountRequest q;
	maitred_MountResponse r;
	struct rpc_status st;

	memset(&q, 0, sizeof(q));
	strcpy(q.target, "relative/dir");
	strcpy(q.fstype, "tmpfs");
	CHECK_EQ(fx_call(f, fd, PROTO_MAITRED_MOUNT, &q, &r, &st), 0);
	CHECK_EQ(st.code, RPC_INVALID_ARGUMENT);
	strcpy(q.target, "/mnt/../etc");
	CHECK_EQ(fx_call(f, fd, PROTO_MAITRED_MOUNT, &q, &r, &st), 0);
	CHECK_EQ(st.code, RPC_INVALID_ARGUMENT);
	strcpy(q.target, "/mnt/x");
	q.flags = MS_MOVE;
	CHECK_EQ(fx_call(f, fd, PROTO_MAITRED_MOUNT, &q, &r, &st), 0);
	CHECK_EQ(st.code, RPC_INVALID_ARGUMENT);
	CHECK_EQ(f->mounts, 0);
	q.flags = MS_RDONLY | MS_NOSUID;
	strcpy(q.data, "size=1m");
	CHECK_EQ(fx_call(f, fd, PROTO_MAITRED_MOUNT, &q, &r, &st), 0);
	CHECK_EQ(st.code, RPC_OK);
	CHECK_EQ(f->mounts, 1);
	CHECK(!strcmp(f->mnt_src, "tmpfs"));	/* empty source: the fstype */
	CHECK(!strcmp(f->mnt_dir, "/mnt/x"));
	CHECK(!strcmp(f->mnt_type, "tmpfs"));
	CHECK(!strcmp(f->mnt_data, "size=1m"));
	CHECK_EQ(f->mnt_flags, MS_RDONLY | MS_NOSUID);
	/* No fstype: detected from the source's superblock; a file that is
	 * none of ours is refused. */
	q.fstype[0] = '\0';
	snprintf(q.source, sizeof(q.source), "%s/noexec", scratch);
	CHECK_EQ(fx_call(f, fd, PROTO_MAITRED_MOUNT, &q, &r, &st), 0);
	CHECK_EQ(st.code, RPC_INVALID_ARGUMENT);
	CHECK_EQ(f->mounts, 1);
	close(fd);
	fx_free(f);
}

/* Garbage on one connection closes it; another is still served. Unknown
 * methods keep the connection. The 17th connection is refused. */
static void conns_isolated_and_bounded(void)
{
	struct fx *f = fx_new();
	int good = fx_connect(f), bad = fx_connect(f), fds[INIT_MAITRED_MAX_CONNS];
	static maitred_GetInfoResponse r;
	struct rpc_status st;
	uint8_t junk[RPC_HDR_SIZE] = { 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1, 1, 0 };
	char c;
	int sv[2];

	CHECK_EQ(write(bad, junk, sizeof(junk)), (ssize_t)sizeof(junk));
	for (int i = 0; i < 20; i++)
		evloop_run_once(&f->loop, 5);
	CHECK_EQ(read(bad, &c, 1), 0);	/* closed, no answer */
	CHECK_EQ(init_maitred_nconns(&f->m), 1);
	CHECK_EQ(fx_call(f, good, PROTO_MAITRED_GET_INFO, &(maitred_GetInfoRequest){ 0 }, &r, &st), 0);
	CHECK_EQ(st.code, RPC_OK);
	close(bad);

	for (int i = 0; i < INIT_MAITRED_MAX_CONNS - 1; i++)
		fds[i] = fx_connect(f);
	CHECK_EQ(init_maitred_nconns(&f->m), INIT_MAITRED_MAX_CONNS);
	CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	CHECK_EQ(init_maitred_add_conn(&f->m, sv[1]), -ENOSPC);
	CHECK_EQ(read(sv[0], &c, 1), 0);	/* closed at once */
	close(sv[0]);
	for (int i = 0; i < INIT_MAITRED_MAX_CONNS - 1; i++)
		close(fds[i]);
	for (int i = 0; i < 20; i++)
		evloop_run_once(&f->loop, 5);
	CHECK_EQ(init_maitred_nconns(&f->m), 1);
	close(good);
	fx_free(f);
}

/* The real paths, in a child in fresh namespaces (root): ConfigureNetwork
 * over rtnetlink on the new netns's lo, and mount(2) in a private mount
 * namespace. The child reports failures through its exit status. */
static int in_child(int flags, void (*fn)(void))
{
	pid_t pid;
	int st = 0;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (unshare(flags) < 0) {
			printf("  unshare: %s\n", strerror(errno));
			_exit(2);
		}
		fn();
		fflush(stdout);
		_exit(t_case_failed);
	}
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void net_real_child(void)
{
	static struct init_maitred m;
	maitred_ConfigureNetworkRequest r;
	maitred_ConfigureNetworkResponse resp;
	struct rpc_status st;
	struct ifreq ifr;
	char path[128], buf[8192] = "";
	struct ifaddrs *ifa = NULL;
	bool found = false;
	int fd, k;

	snprintf(path, sizeof(path), "%s/resolv.conf", scratch);
	memset(&m, 0, sizeof(m));
	m.ops.resolv_conf = path;
	memset(&r, 0, sizeof(r));
	strcpy(r.ifname, "lo");
	strcpy(r.address, "10.9.8.7");
	r.prefix_len = 24;
	r.mtu = 1400;
	r.dns_count = 1;
	strcpy(r.dns[0], "10.9.8.1");
	CHECK_EQ(init_maitred_configure_network(&m, &r, &resp, &st), RPC_OK);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	CHECK_EQ(ioctl(fd, SIOCGIFMTU, &ifr), 0);
	CHECK_EQ(ifr.ifr_mtu, 1400);
	CHECK_EQ(ioctl(fd, SIOCGIFFLAGS, &ifr), 0);
	CHECK(ifr.ifr_flags & IFF_UP);
	close(fd);
	/* lo keeps its 127.0.0.1 first: look for ours among all addresses. */
	CHECK_EQ(getifaddrs(&ifa), 0);
	for (struct ifaddrs *i = ifa; i; i = i->ifa_next)
		if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET && !strcmp(i->ifa_name, "lo") &&
		    ((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr == htonl(0x0a090807u) &&
		    ((struct sockaddr_in *)i->ifa_netmask)->sin_addr.s_addr == htonl(0xffffff00u))
			found = true;
	freeifaddrs(ifa);
	CHECK(found);
	fd = open(path, O_RDONLY);
	CHECK(fd >= 0);
	k = fd >= 0 ? (int)read(fd, buf, sizeof(buf) - 1) : 0;
	if (fd >= 0)
		close(fd);
	buf[k > 0 ? k : 0] = '\0';
	CHECK(strstr(buf, "\nnameserver 10.9.8.1\n") != NULL);
	unlink(path);
	/* IPv6 with a default route, on a veth (lo has no on-link routes
	 * for a gateway); iproute2 creates the pair. */
	CHECK_EQ(system("ip link add mt0 type veth peer name mt1 && ip link set mt1 up"), 0);
	memset(&r, 0, sizeof(r));
	strcpy(r.ifname, "mt0");
	strcpy(r.address, "fd00::5");
	r.prefix_len = 64;
	strcpy(r.gateway, "fd00::1");
	CHECK_EQ(init_maitred_configure_network(&m, &r, &resp, &st), RPC_OK);
	found = false;
	CHECK_EQ(getifaddrs(&ifa), 0);
	for (struct ifaddrs *i = ifa; i; i = i->ifa_next) {
		const struct sockaddr_in6 *a6 = (const void *)i->ifa_addr;

		if (a6 && a6->sin6_family == AF_INET6 && !strcmp(i->ifa_name, "mt0") &&
		    a6->sin6_addr.s6_addr[0] == 0xfd && a6->sin6_addr.s6_addr[15] == 5)
			found = true;
	}
	freeifaddrs(ifa);
	CHECK(found);
	fd = open("/proc/net/ipv6_route", O_RDONLY);
	k = fd >= 0 ? (int)read(fd, buf, sizeof(buf) - 1) : 0;
	if (fd >= 0)
		close(fd);
	buf[k > 0 ? k : 0] = '\0';
	/* dst ::/0 via fd00::1 */
	CHECK(strstr(buf, "00000000000000000000000000000000 00 00000000000000000000000000000000 00 fd000000000000000000000000000001") != NULL);
	/* IPv4 with a default route on the same link (init_net_config). */
	strcpy(r.address, "10.7.0.5");
	r.prefix_len = 16;
	strcpy(r.gateway, "10.7.0.1");
	CHECK_EQ(init_maitred_configure_network(&m, &r, &resp, &st), RPC_OK);
	fd = open("/proc/net/route", O_RDONLY);
	k = fd >= 0 ? (int)read(fd, buf, sizeof(buf) - 1) : 0;
	if (fd >= 0)
		close(fd);
	buf[k > 0 ? k : 0] = '\0';
	/* mt0, destination 0.0.0.0, gateway 10.7.0.1 (little-endian hex) */
	CHECK(strstr(buf, "mt0\t00000000\t0100070A") != NULL);
	r.gateway[0] = '\0';
	strcpy(r.ifname, "nosuch0");
	CHECK_EQ(init_maitred_configure_network(&m, &r, &resp, &st), RPC_NOT_FOUND);
	/* An unwritable resolv.conf: a clear error naming it. */
	strcpy(r.ifname, "lo");
	r.address[0] = '\0';
	r.prefix_len = 0;
	r.dns_count = 1;
	strcpy(r.dns[0], "10.9.8.1");
	snprintf(path, sizeof(path), "%s/no/such/dir/resolv.conf", scratch);
	CHECK_EQ(init_maitred_configure_network(&m, &r, &resp, &st), RPC_NOT_FOUND);
	CHECK(strstr(st.msg, "resolv.conf") != NULL);
}

static void net_real(void)
{
	CHECK_EQ(in_child(CLONE_NEWNET, net_real_child), 0);
}

static void mount_real_child(void)
{
	static struct init_maitred m;
	static maitred_MountRequest q;
	maitred_MountResponse resp;
	struct rpc_status st;
	struct statfs sf;
	struct stat sb;
	char file[160];
	int fd;

	CHECK_EQ(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
	memset(&m, 0, sizeof(m));
	memset(&q, 0, sizeof(q));
	strcpy(q.source, "tmpfs");
	snprintf(q.target, sizeof(q.target), "%s/dir/sub/mnt", scratch);
	strcpy(q.fstype, "tmpfs");
	strcpy(q.data, "size=1m,mode=0700");
	q.flags = MS_NOSUID;
	/* Without mkdir the missing target is NOT_FOUND. */
	CHECK_EQ(init_maitred_mount(&m, &q, &resp, &st), RPC_NOT_FOUND);
	q.mkdir = true;
	CHECK_EQ(init_maitred_mount(&m, &q, &resp, &st), RPC_OK);
	CHECK_EQ(statfs(q.target, &sf), 0);
	CHECK_EQ(sf.f_type, 0x01021994);	/* TMPFS_MAGIC */
	CHECK(sf.f_flags & ST_NOSUID);
	CHECK_EQ(stat(q.target, &sb), 0);
	CHECK_EQ(sb.st_mode & 07777, 0700);
	/* Remount read-only: writes fail afterwards. */
	q.flags = MS_REMOUNT | MS_RDONLY;
	q.data[0] = '\0';
	CHECK_EQ(init_maitred_mount(&m, &q, &resp, &st), RPC_OK);
	snprintf(file, sizeof(file), "%s/f", q.target);
	fd = open(file, O_WRONLY | O_CREAT, 0644);
	CHECK(fd < 0 && errno == EROFS);
	if (fd >= 0)
		close(fd);
	q.flags = 0;
	strcpy(q.fstype, "nosuchfs");
	CHECK_EQ(init_maitred_mount(&m, &q, &resp, &st), RPC_INVALID_ARGUMENT);
	CHECK(strstr(st.msg, "nosuchfs") != NULL);
	umount2(q.target, MNT_DETACH);
}

static void mount_real(void)
{
	char p[160];

	CHECK_EQ(in_child(CLONE_NEWNS, mount_real_child), 0);
	snprintf(p, sizeof(p), "%s/dir/sub/mnt", scratch);
	rmdir(p);
	snprintf(p, sizeof(p), "%s/dir/sub", scratch);
	rmdir(p);
}

int main(void)
{
	t_suite = "init_maitred";
	signal(SIGPIPE, SIG_IGN);
	scratch_make();
	RUN(peer_and_enabled);
	RUN(take_truncates);
	RUN(find_exec_rules);
	RUN(net_parse);
	RUN(get_info);
	RUN(set_time_bounds);
	RUN(exec_not_found_denied);
	RUN(exec_output_status);
	RUN(exec_truncation);
	RUN(exec_timeout_detach);
	RUN(exec_cancel_on_hangup);
	RUN(shutdown_after_reply);
	RUN(mount_checks);
	RUN(conns_isolated_and_bounded);
	RUN(net_real);
	RUN(mount_real);
	scratch_remove();
	return t_done();
}
