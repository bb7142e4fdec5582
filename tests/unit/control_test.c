/* The control socket's OpenShell (vmm/control.c): vmm answers OK and then
 * relays bytes both ways between the client and the guest's vsh port. The
 * "guest" here is a real vshd session process (guest-agents/vsh) on a
 * socketpair handed out by a fake guest_connect hook, so the whole path but
 * the vsock device runs: client -> unix socket -> relay -> vshd -> /bin/sh.
 * Also: an unreachable guest (UNAVAILABLE), and ctl_close ending a live
 * session. No KVM. */
#include "tests/unit/t.h"
#include "guest-agents/vsh/vshd_session.h"
#include "proto/rpc.h"
#include "proto/vmctl.h"
#include "proto/vsh.h"
#include "vmm/control.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

struct fake_vm {
	int fail;           /* guest_connect's error, 0: connect */
	uint32_t port;      /* the last port asked for */
	pid_t session;      /* the vshd session process */
	atomic_int stop;
	struct evloop ev;
};

static const struct vshd_opts opts = { .shell = "/bin/sh", .open_timeout_ms = 5000, .drain_timeout_ms = 5000 };

static int fake_connect(void *vm, uint32_t port)
{
	struct fake_vm *f = vm;
	int sv[2];

	f->port = port;
	if (f->fail)
		return f->fail;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	f->session = fork();
	if (f->session == 0) {
		sigset_t chld;
		sigemptyset(&chld);
		sigaddset(&chld, SIGCHLD);
		sigprocmask(SIG_BLOCK, &chld, NULL);
		close(sv[0]);
		_exit(-vshd_session_run(sv[1], &opts));
	}
	close(sv[1]);
	return sv[0];
}

static void fake_stop(void *vm)
{
}

static int fake_status(void *vm, char *buf, size_t len)
{
	return snprintf(buf, len, "{}");
}

static void *loop_thread(void *arg)
{
	struct fake_vm *f = arg;

	while (!atomic_load(&f->stop))
		ev_run_once(&f->ev, 50);
	return NULL;
}

static int client_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	strcpy(sa.sun_path, path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int open_shell(int fd, struct rpc_status *st)
{
	struct rpc_client cl;
	vmctl_OpenShellResponse resp;
	int rc;

	rpc_client_init(&cl, fd, 5000);
	rc = rpc_client_call(&cl, &proto_vmctl_methods[PROTO_VMCTL_OPEN_SHELL], &(vmctl_OpenShellRequest){ 0 },
			     &resp, st);
	rpc_client_release(&cl);
	return rc;
}

static void send_msg(int fd, uint8_t type, const void *p, size_t n)
{
	uint8_t b[VSH_HDR_SIZE + VSH_MAX_PAYLOAD];
	int len = vsh_put(b, sizeof(b), type, p, n);

	CHECK(len > 0 && write(fd, b, (size_t)len) == len);
}

/* Read the guest's messages until EXIT or EOF (at most 5 s): stdout and
 * stderr text, the status (-1 without EXIT); 1 when the stream then ended. */
static int read_session(int fd, char *out, char *err, size_t n, int *status)
{
	static struct vsh_in in;
	size_t no = 0, ne = 0;
	struct vsh_msg m;

	memset(&in, 0, sizeof(in));
	*status = -1;
	out[0] = err[0] = 0;
	for (int spins = 0; spins < 100; spins++) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int rc;

		if (poll(&p, 1, 50) <= 0)
			continue;
		rc = vsh_in_fill(&in, fd);
		while (vsh_in_next(&in, VSH_FROM_GUEST, &m) == 1) {
			if (m.type == VSH_STDOUT && no + m.len < n) {
				memcpy(out + no, m.data, m.len);
				out[no += m.len] = 0;
			} else if (m.type == VSH_STDERR && ne + m.len < n) {
				memcpy(err + ne, m.data, m.len);
				err[ne += m.len] = 0;
			} else if (m.type == VSH_EXIT) {
				*status = vsh_exit_status(&m);
			}
		}
		if (rc == 0)
			return 1;
	}
	return 0;
}

static void open_shell_relays(void)
{
	static struct fake_vm f;
	struct ctl_hooks hooks = { .vm = &f, .stop = fake_stop, .status_json = fake_status, .guest_connect = fake_connect };
	char path[64], out[256], err[256], *argv[] = { "sh", "-c", "cat; echo e >&2; exit 5", NULL };
	uint8_t open[VSH_MAX_PAYLOAD];
	struct rpc_status st;
	struct ctl *c = NULL;
	pthread_t t;
	int fd, status, n;

	memset(&f, 0, sizeof(f));
	snprintf(path, sizeof(path), "/tmp/control_test.%d.sock", (int)getpid());
	CHECK_EQ(ev_init(&f.ev), 0);
	CHECK_EQ(ctl_open(&c, path, &f.ev, &hooks), 0);
	CHECK_EQ(pthread_create(&t, NULL, loop_thread, &f), 0);

	/* A session end to end. */
	fd = client_connect(path);
	CHECK(fd >= 0);
	CHECK_EQ(open_shell(fd, &st), 0);
	CHECK_EQ(st.code, RPC_OK);
	CHECK_EQ(f.port, VSH_PORT);
	n = vsh_open_encode(open, sizeof(open), 0, 0, 0, "", 3, argv);
	send_msg(fd, VSH_OPEN, open, (size_t)n);
	send_msg(fd, VSH_STDIN, "through the relay\n", 18);
	send_msg(fd, VSH_EOF, (uint8_t[]){ VSH_STDIN }, 1);
	/* vshd's half-close after EXIT reaches the client too. */
	CHECK_EQ(read_session(fd, out, err, sizeof(out), &status), 1);
	CHECK(!strcmp(out, "through the relay\n"));
	CHECK(!strcmp(err, "e\n"));
	CHECK_EQ(status, 5);
	close(fd);
	CHECK(waitpid(f.session, NULL, 0) == f.session);

	/* No guest side: UNAVAILABLE, naming the port. */
	f.fail = -ENOTCONN;
	fd = client_connect(path);
	CHECK_EQ(open_shell(fd, &st), 0);
	CHECK_EQ(st.code, RPC_UNAVAILABLE);
	CHECK(strstr(st.msg, "9005") != NULL);
	close(fd);
	f.fail = 0;

	/* The VM going away ends a live session: the client sees EOF. */
	fd = client_connect(path);
	CHECK_EQ(open_shell(fd, &st), 0);
	CHECK_EQ(st.code, RPC_OK);
	char *sleeper[] = { "sleep", "100", NULL };
	n = vsh_open_encode(open, sizeof(open), 0, 0, 0, "", 2, sleeper);
	send_msg(fd, VSH_OPEN, open, (size_t)n);
	usleep(200000);
	atomic_store(&f.stop, 1);
	pthread_join(t, NULL);
	ctl_close(c);
	CHECK_EQ(read_session(fd, out, err, sizeof(out), &status), 1);
	CHECK_EQ(status, -1);
	close(fd);
	CHECK(waitpid(f.session, NULL, 0) == f.session);
	ev_destroy(&f.ev);
}

int main(void)
{
	t_suite = "control";
	signal(SIGPIPE, SIG_IGN);
	RUN(open_shell_relays);
	return t_done();
}
