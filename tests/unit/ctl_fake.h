/* A control socket whose "guest" is a real vshd session process behind a
 * fake vsock device: a thread that takes the streams vmm hands over the
 * guest-stream connector (SCM_RIGHTS, the protocol of vmm/virtio.h) and
 * wires each to a forked vshd session. Shared by control_test.c and
 * vshcmd_test.c (static functions; include once). */
#ifndef APPVM_TEST_CTL_FAKE_H
#define APPVM_TEST_CTL_FAKE_H
#include "guest-agents/vsh/vshd_session.h"
#include "vmm/control.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct fake_vm {
	int fail;           /* the fake device refuses (closes) the streams */
	_Atomic uint32_t port;  /* the last port asked for */
	pid_t session;      /* the vshd session process */
	atomic_int stop;    /* the event loop thread */
	atomic_int dev_stop;
	struct evloop ev;
	struct ctl *ctl;
	pthread_t loop, dev;
	bool dev_running;
	int streams[2];     /* [0]: the fake device's end of the connector, [1]: vmm's */
	char path[64];
};

static const struct vshd_opts fake_opts = { .shell = "/bin/sh", .open_timeout_ms = 5000, .drain_timeout_ms = 5000 };

/* The fake device: one "CONNECT <port>\n" + fd from the connector, the fd
 * served by a forked vshd session (or closed when f->fail). False when the
 * connector is gone or the test stops the device. */
static bool fake_device_accept(struct fake_vm *f)
{
	char line[32], cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = line, .iov_len = sizeof(line) - 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct pollfd p = { .fd = f->streams[0], .events = POLLIN };
	struct cmsghdr *cm;
	unsigned port;
	ssize_t n;
	int fd = -1;

	while (poll(&p, 1, 100) == 0)
		if (atomic_load(&f->dev_stop))
			return false;
	if ((n = recvmsg(f->streams[0], &mh, MSG_CMSG_CLOEXEC)) <= 0)
		return false;
	line[n] = 0;
	cm = CMSG_FIRSTHDR(&mh);
	if (cm && cm->cmsg_type == SCM_RIGHTS)
		memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	if (fd < 0 || sscanf(line, "CONNECT %u\n", &port) != 1)
		return false;
	atomic_store(&f->port, port);
	if (f->fail) {
		close(fd);
		return true;
	}
	f->session = fork();
	if (f->session == 0) {
		sigset_t chld;
		sigemptyset(&chld);
		sigaddset(&chld, SIGCHLD);
		sigprocmask(SIG_BLOCK, &chld, NULL);
		/* Like vshd's own session processes, hold nothing of the test's
		 * (a pipe end kept here would hide an EOF). */
		for (int i = 3; i < 1024; i++)
			if (i != fd)
				close(i);
		_exit(-vshd_session_run(fd, &fake_opts));
	}
	close(fd);
	return true;
}

static void *fake_device(void *arg)
{
	struct fake_vm *f = arg;

	while (!atomic_load(&f->dev_stop) && fake_device_accept(f))
		;
	return NULL;
}

/* The device goes away: its end of the connector closes. */
static void fake_device_gone(struct fake_vm *f)
{
	if (!f->dev_running)
		return;
	atomic_store(&f->dev_stop, 1);
	shutdown(f->streams[0], SHUT_RDWR);
	pthread_join(f->dev, NULL);
	close(f->streams[0]);
	f->dev_running = false;
}

static void fake_stop(void *vm)
{
}

static int fake_status(void *vm, char *buf, size_t len)
{
	return snprintf(buf, len, "{}");
}

static void *fake_loop(void *arg)
{
	struct fake_vm *f = arg;

	while (!atomic_load(&f->stop))
		evloop_run_once(&f->ev, 50);
	return NULL;
}

/* Listen on a fresh socket path (f->path) with the event loop on a thread. */
static int fake_start(struct fake_vm *f)
{
	struct ctl_hooks hooks = { .vm = f, .stop = fake_stop, .status_json = fake_status };

	memset(f, 0, sizeof(*f));
	snprintf(f->path, sizeof(f->path), "/tmp/ctl_fake.%d.sock", (int)getpid());
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, f->streams) ||
	    pthread_create(&f->dev, NULL, fake_device, f))
		return -1;
	f->dev_running = true;
	hooks.guest_streams = f->streams[1];
	if (evloop_init(&f->ev) || ctl_open(&f->ctl, f->path, &f->ev, &hooks))
		return -1;
	return pthread_create(&f->loop, NULL, fake_loop, f) ? -1 : 0;
}

static void fake_end(struct fake_vm *f)
{
	atomic_store(&f->stop, 1);
	pthread_join(f->loop, NULL);
	ctl_close(f->ctl);
	evloop_destroy(&f->ev);
	fake_device_gone(f);
	close(f->streams[1]);
}
#endif
