/* init's event loop: a small epoll set of fds with callbacks (the signalfd
 * today; the RPC listening socket later), plus a timeout for deadlines. */
#ifndef APPVM_INIT_LOOP_H
#define APPVM_INIT_LOOP_H
#include <stdint.h>

#define INIT_LOOP_MAX 16

typedef void init_loop_cb(void *arg, int fd, uint32_t events);

struct init_loop_slot {
	int fd;
	init_loop_cb *cb;
	void *arg;
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
/* Stop watching fd (the caller closes it). Returns 0 or -ENOENT. */
int init_loop_del(struct init_loop *l, int fd);
/* Wait up to timeout_ms (-1: forever) and dispatch ready fds. Returns the
 * number dispatched or -errno (EINTR is 0). */
int init_loop_run_once(struct init_loop *l, int timeout_ms);
/* CLOCK_MONOTONIC in milliseconds. */
uint64_t init_loop_now_ms(void);
#endif
