/* The control socket's OpenShell (vmm/control.c): vmm answers OK and then
 * relays bytes both ways between the client and the guest's vsh port. The
 * "guest" here is a real vshd session process (guest-agents/vsh) on the
 * stream vmm hands over the guest-stream connector to a fake vsock device
 * (tests/unit/ctl_fake.h), so the whole path but the vsock device runs:
 * client -> unix socket -> relay -> vshd -> /bin/sh. Also: a refused stream
 * (EOF), a device gone (UNAVAILABLE), and ctl_close ending a live session.
 * And who may use the socket at all: it is root command execution in the
 * guest (Maitred Exec is relayed), so it is created 0600 whatever the umask,
 * and a peer that is neither our uid nor root is refused even when the
 * file's mode lets it connect (SO_PEERCRED). No KVM. */
#include "tests/unit/t.h"
#include "tests/unit/ctl_fake.h"
#include "proto/rpc.h"
#include "proto/vmctl.h"
#include "proto/vsh.h"
#include "vmm/control.h"

#include <poll.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

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

/* The port the fake device was asked for, once its thread took the
 * CONNECT (OpenShell answers as soon as the connector sent it), at most 5 s. */
static uint32_t device_port(struct fake_vm *f)
{
	for (int i = 0; i < 500 && !atomic_load(&f->port); i++)
		usleep(10000);
	return atomic_load(&f->port);
}

static void open_shell_relays(void)
{
	static struct fake_vm f;
	char out[256], err[256], *argv[] = { "sh", "-c", "cat; echo e >&2; exit 5", NULL };
	const char *path = f.path;
	uint8_t open[VSH_MAX_PAYLOAD];
	struct rpc_status st;
	int fd, status, n;

	CHECK_EQ(fake_start(&f), 0);

	/* A session end to end. */
	fd = client_connect(path);
	CHECK(fd >= 0);
	CHECK_EQ(open_shell(fd, &st), 0);
	CHECK_EQ(st.code, RPC_OK);
	CHECK_EQ(device_port(&f), VSH_PORT);
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

	/* The device refuses the stream (guest driver not up, guest RST):
	 * the session ends at once, without an exit status. */
	f.fail = 1;
	atomic_store(&f.port, 0);
	fd = client_connect(path);
	CHECK_EQ(open_shell(fd, &st), 0);
	CHECK_EQ(st.code, RPC_OK);
	CHECK_EQ(read_session(fd, out, err, sizeof(out), &status), 1);
	CHECK_EQ(status, -1);
	CHECK_EQ(atomic_load(&f.port), VSH_PORT);
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
	/* The device gone (its end of the connector closed): UNAVAILABLE,
	 * naming the port, while the live session goes on. */
	fake_device_gone(&f);
	{
		int fd2 = client_connect(path);
		CHECK_EQ(open_shell(fd2, &st), 0);
		CHECK_EQ(st.code, RPC_UNAVAILABLE);
		CHECK(strstr(st.msg, "9005") != NULL);
		close(fd2);
	}
	CHECK(waitpid(f.session, NULL, WNOHANG) == 0);
	fake_end(&f);
	CHECK_EQ(read_session(fd, out, err, sizeof(out), &status), 1);
	CHECK_EQ(status, -1);
	close(fd);
	CHECK(waitpid(f.session, NULL, 0) == f.session);
}

/* ---- who may use the socket at all ---- */

static char priv_dir[64], priv_path[128];
static unsigned status_calls;

static int f_status(void *vm, char *buf, size_t len)
{
	status_calls++;
	return snprintf(buf, len, "{\"state\":\"running\"}");
}
static void f_stop(void *vm) {}

/* `vmm status` as uid (a forked child): 0 answered, 1 refused. */
static int status_as(uid_t uid)
{
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		vmctl_StatusResponse resp;
		struct rpc_status rs;
		struct rpc_client cl;
		int fd;

		alarm(60);
		if (uid && setresuid(uid, uid, uid) < 0)
			_exit(3);
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", priv_path);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			_exit(errno == EACCES ? 4 : 5);
		rpc_client_init(&cl, fd, 5000);
		int rc = rpc_client_call(&cl, &proto_vmctl_methods[PROTO_VMCTL_STATUS],
					 &(vmctl_StatusRequest){ 0 }, &resp, &rs);
		_exit(rc == 0 && rs.code == RPC_OK && strstr(resp.json, "running") ? 0 : 1);
	}
	return waitpid(pid, &st, 0) == pid && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Serve the event loop while a child talks to the socket. */
static int serve_status_as(struct evloop *ev, uid_t uid)
{
	pid_t pid;
	int st = -1;

	fflush(stdout);
	pid = fork();
	if (pid == 0)
		_exit(status_as(uid));
	/* Bounded by the child's alarm; a loaded machine may need long. */
	for (int i = 0; i < 6500; i++) {
		evloop_run_once(ev, 10);
		if (waitpid(pid, &st, WNOHANG) == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return -1;
}

static void socket_private_and_peer_checked(void)
{
	struct ctl_hooks hooks = { .stop = f_stop, .status_json = f_status, .guest_streams = -1 };
	struct evloop ev;
	struct ctl *c;
	struct stat st;
	mode_t old = umask(0);

	CHECK_EQ(evloop_init(&ev), 0);
	CHECK_EQ(ctl_open(&c, priv_path, &ev, &hooks), 0);
	umask(old);
	CHECK_EQ(stat(priv_path, &st), 0);
	CHECK_EQ(st.st_mode & 07777, 0600);
	/* Our own uid: served. */
	CHECK_EQ(serve_status_as(&ev, 0), 0);
	CHECK_EQ(status_calls, 1);
	if (geteuid() == 0) {
		/* nobody: the mode keeps it out... */
		CHECK_EQ(serve_status_as(&ev, 65534), 4);
		/* ...and with the mode opened up, SO_PEERCRED still does. */
		CHECK_EQ(chmod(priv_path, 0666), 0);
		CHECK_EQ(serve_status_as(&ev, 65534), 1);
		CHECK_EQ(status_calls, 1);
	}
	ctl_close(c);
	evloop_destroy(&ev);
}

/* DeviceControl: vmm opens open_dir itself (O_PATH) and hands the fd with
 * the message to the device hook; a path that cannot be opened answers its
 * errno without reaching the device; the device's errno comes back. */
static struct { int calls, fd_dir, ret; char dev[32], msg[64]; } dc;

static int f_device(void *vm, const char *device, const void *msg, size_t len, int fd)
{
	struct stat sb;

	dc.calls++;
	snprintf(dc.dev, sizeof(dc.dev), "%s", device);
	snprintf(dc.msg, sizeof(dc.msg), "%.*s", (int)len, (const char *)msg);
	dc.fd_dir = fd >= 0 && fstat(fd, &sb) == 0 && S_ISDIR(sb.st_mode);
	return dc.ret;
}

struct dc_call { const char *path, *dir; int error, rc; };

static void *dc_client(void *arg)
{
	struct dc_call *k = arg;
	static vmctl_DeviceControlRequest req;
	vmctl_DeviceControlResponse resp = { 0 };
	struct rpc_status rs;
	struct rpc_client cl;
	int fd = client_connect(k->path);

	memset(&req, 0, sizeof(req));
	strcpy(req.device, "virtio-9p");
	memcpy(req.msg.bytes, "share - x rw", 12);
	req.msg.size = 12;
	snprintf(req.open_dir, sizeof(req.open_dir), "%s", k->dir);
	rpc_client_init(&cl, fd, 10000);
	k->rc = rpc_client_call(&cl, &proto_vmctl_methods[PROTO_VMCTL_DEVICE_CONTROL], &req, &resp, &rs);
	if (k->rc == 0 && rs.code != RPC_OK)
		k->rc = -EPROTO;
	rpc_client_release(&cl);
	k->error = (int)resp.error;
	close(fd);
	return NULL;
}

static int dc_call(struct evloop *ev, const char *dir)
{
	struct dc_call k = { .path = priv_path, .dir = dir, .rc = -1 };
	pthread_t t;
	void *ret;

	CHECK_EQ(pthread_create(&t, NULL, dc_client, &k), 0);
	for (int i = 0; i < 3000 && pthread_tryjoin_np(t, &ret) != 0; i++)
		evloop_run_once(ev, 10);
	CHECK_EQ(k.rc, 0);
	return k.error;
}

static void device_control(void)
{
	struct ctl_hooks hooks = { .stop = f_stop, .status_json = f_status, .device_control = f_device,
				   .guest_streams = -1 };
	struct evloop ev;
	struct ctl *c;
	char file[300];

	memset(&dc, 0, sizeof(dc));
	CHECK_EQ(evloop_init(&ev), 0);
	CHECK_EQ(ctl_open(&c, priv_path, &ev, &hooks), 0);
	CHECK_EQ(dc_call(&ev, priv_dir), 0);
	CHECK(dc.calls == 1 && dc.fd_dir);
	CHECK(!strcmp(dc.dev, "virtio-9p") && !strcmp(dc.msg, "share - x rw"));
	/* Not a directory, or missing: the device never sees it. */
	snprintf(file, sizeof(file), "%s", priv_path);
	CHECK_EQ(dc_call(&ev, file), ENOTDIR);
	snprintf(file, sizeof(file), "%s/nope", priv_dir);
	CHECK_EQ(dc_call(&ev, file), ENOENT);
	CHECK_EQ(dc.calls, 1);
	/* The device's answer comes back; no open_dir means no fd. */
	dc.ret = -EEXIST;
	CHECK_EQ(dc_call(&ev, ""), EEXIST);
	CHECK(dc.calls == 2 && !dc.fd_dir);
	ctl_close(c);
	evloop_destroy(&ev);
}

int main(void)
{
	t_suite = "control";
	signal(SIGPIPE, SIG_IGN);
	RUN(open_shell_relays);
	snprintf(priv_dir, sizeof(priv_dir), "/tmp/control_test.XXXXXX");
	if (!mkdtemp(priv_dir))
		return 1;
	chmod(priv_dir, 0755);  /* other uids may reach the socket file in it */
	snprintf(priv_path, sizeof(priv_path), "%s/ctl.sock", priv_dir);
	RUN(socket_private_and_peer_checked);
	RUN(device_control);
	rmdir(priv_dir);
	return t_done();
}
