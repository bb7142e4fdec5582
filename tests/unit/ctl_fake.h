/* A control socket whose "guest" is a real vshd session process: shared by
 * control_test.c and vshcmd_test.c (static functions; include once). */
#ifndef APPVM_TEST_CTL_FAKE_H
#define APPVM_TEST_CTL_FAKE_H
#include "guest-agents/vsh/vshd_session.h"
#include "vmm/control.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct fake_vm {
	int fail;           /* guest_connect's error, 0: connect */
	uint32_t port;      /* the last port asked for */
	pid_t session;      /* the vshd session process */
	atomic_int stop;
	struct evloop ev;
	struct ctl *ctl;
	pthread_t loop;
	char path[64];
};

static const struct vshd_opts fake_opts = { .shell = "/bin/sh", .open_timeout_ms = 5000, .drain_timeout_ms = 5000 };

/* guest_connect: a socketpair whose other end a forked vshd session serves. */
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
		/* Like vshd's own session processes, hold nothing of the test's
		 * (a pipe end kept here would hide an EOF). */
		for (int fd = 3; fd < 1024; fd++)
			if (fd != sv[1])
				close(fd);
		_exit(-vshd_session_run(sv[1], &fake_opts));
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

static void *fake_loop(void *arg)
{
	struct fake_vm *f = arg;

	while (!atomic_load(&f->stop))
		ev_run_once(&f->ev, 50);
	return NULL;
}

/* Listen on a fresh socket path (f->path) with the event loop on a thread. */
static int fake_start(struct fake_vm *f)
{
	struct ctl_hooks hooks = { .vm = f, .stop = fake_stop, .status_json = fake_status, .guest_connect = fake_connect };

	memset(f, 0, sizeof(*f));
	snprintf(f->path, sizeof(f->path), "/tmp/ctl_fake.%d.sock", (int)getpid());
	if (ev_init(&f->ev) || ctl_open(&f->ctl, f->path, &f->ev, &hooks))
		return -1;
	return pthread_create(&f->loop, NULL, fake_loop, f) ? -1 : 0;
}

static void fake_end(struct fake_vm *f)
{
	atomic_store(&f->stop, 1);
	pthread_join(f->loop, NULL);
	ctl_close(f->ctl);
	ev_destroy(&f->ev);
}
#endif
