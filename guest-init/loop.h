/* init's event loop: a small epoll set of fds with callbacks (the signalfd,
 * captured child output, and later the RPC listening socket and its
 * connections), plus a timeout for deadlines. Callbacks run on init's only
 * thread and must not block: PID 1 stops reaping while they run. */
#ifndef APPVM_INIT_LOOP_H
#define APPVM_INIT_LOOP_H
#include <stdint.h>

#define INIT_LOOP_MAX 64

typedef void init_loop_cb(void *arg, int fd, uint32_t events);

struct init_loop_slot {
	int fd;
	init_loop_cb *cb;
	void *arg;
	uint32_t gen;	/* bumped on reuse: a stale event never reaches a new fd */
};

struct init_loop {
	int epfd;
	struct init_loop_slot slot[INIT_LOOP_MAX];
};

/* Returns 0 or -errno. */
int init_loop_init(struct init_loop *l);
/* Watch fd for EPOLLIN; cb runs from init_loop_run_once. Returns 0, -ENOSPC
 * when the set is full, or -errno. */
int init_loop_add(struct init_loop *l, int fd, init_loop_cb *cb, void *arg);
/* Change what fd is watched for (EPOLLIN, EPOLLOUT, ...; EPOLLERR and
 * EPOLLHUP are always reported). Returns 0, -ENOENT or -errno. */
int init_loop_set_events(struct init_loop *l, int fd, uint32_t events);
/* Stop watching fd (the caller closes it). Safe from inside a callback,
 * also for an fd that is ready later in the same batch. Returns 0 or
 * -ENOENT. */
int init_loop_del(struct init_loop *l, int fd);
/* Wait up to timeout_ms (-1: forever) and dispatch ready fds. Returns the
 * number dispatched or -errno (EINTR is 0). */
int init_loop_run_once(struct init_loop *l, int timeout_ms);
/* CLOCK_MONOTONIC in milliseconds. */
uint64_t init_loop_now_ms(void);
#endif
