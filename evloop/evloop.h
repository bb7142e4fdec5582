/* The event loop vmm's main thread and guest-init's PID 1 both run: an epoll
 * set of fds with callbacks, plus one-shot deadline timers (a timerfd each,
 * watched like any other fd).
 *
 * Threads: evloop_run_once runs on one thread (the loop thread) and calls
 * the callbacks there, with the loop's lock not held, so a callback may add,
 * change or remove any fd, its own included. evloop_add / _set_events /
 * _del and the timer calls are safe from any thread (one mutex; single-
 * threaded users pay an uncontended lock). A removal from the loop thread
 * (inside a callback or between runs) is final at once: no event of that fd
 * reaches a callback again, not even one already read in the current batch.
 * A removal from another thread does not wait for a callback that is
 * already running or about to: the caller closes the fd only when it knows
 * the callback no longer runs.
 *
 * Slots carry a generation (epoll's data is gen << 32 | slot), so an event
 * read in a batch for a slot that an earlier callback of the same batch
 * freed, or freed and gave to another fd, is dropped instead of reaching the
 * new owner. */
#ifndef APPVM_EVLOOP_H
#define APPVM_EVLOOP_H
#include <pthread.h>
#include <stdint.h>

/* Watched fds (timers included), at most. guest-init's budget: 16 Maitred
 * connections with two Exec pipes each, its listener and timer, the
 * signalfd and services' fds. */
#define EVLOOP_MAX 64

/* events: what epoll reported (EPOLLIN, EPOLLOUT, EPOLLERR, EPOLLHUP...). */
typedef void evloop_cb(void *arg, int fd, uint32_t events);
typedef void evloop_timer_cb(void *arg);

struct evloop_slot {
	int fd;			/* -1: free */
	evloop_cb *cb;
	void *arg;
	uint32_t gen;		/* bumped on reuse: a stale event never reaches a new fd */
};

struct evloop {
	int epfd;
	pthread_mutex_t lock;	/* the slots and epoll_ctl on epfd */
	struct evloop_slot slot[EVLOOP_MAX];
};

/* A one-shot timer at an absolute CLOCK_MONOTONIC deadline (evloop_now_ms
 * units). Owned by the caller; it holds a timerfd and one loop slot from
 * evloop_timer_init to evloop_timer_release. */
struct evloop_timer {
	struct evloop *l;
	int fd;			/* the timerfd; -1 before init and after release */
	evloop_timer_cb *cb;
	void *arg;
};

/* Returns 0 or -errno (nothing to release then). */
int evloop_init(struct evloop *l);
/* Close the epoll fd. Watched fds are the callers': they are not closed;
 * timers must be released first. */
void evloop_destroy(struct evloop *l);
/* Watch fd for EPOLLIN; cb(arg, fd, events) runs from evloop_run_once.
 * The caller keeps owning fd and closes it after evloop_del. Returns 0,
 * -EEXIST when fd is already watched, -ENOSPC when EVLOOP_MAX fds are, or
 * epoll_ctl's -errno (-EPERM: a regular file, which epoll cannot watch). */
int evloop_add(struct evloop *l, int fd, evloop_cb *cb, void *arg);
/* Change what fd is watched for (EPOLLIN, EPOLLOUT, ...; EPOLLERR and
 * EPOLLHUP are always reported). Returns 0, -ENOENT or -errno. */
int evloop_set_events(struct evloop *l, int fd, uint32_t events);
/* Stop watching fd (the caller closes it). Safe from inside a callback,
 * also for an fd that is ready later in the same batch. Returns 0 or
 * -ENOENT. */
int evloop_del(struct evloop *l, int fd);
/* Wait up to timeout_ms (-1: forever) and dispatch what is ready. Returns
 * the number of callbacks run, or -errno (EINTR is 0). */
int evloop_run_once(struct evloop *l, int timeout_ms);
/* CLOCK_MONOTONIC in milliseconds. */
uint64_t evloop_now_ms(void);

/* Make t a disarmed timer on l: cb(arg) runs on the loop thread once per
 * deadline reached. Returns 0 or -errno (t->fd is -1 then, nothing to
 * release); uses one of l's slots. */
int evloop_timer_init(struct evloop *l, struct evloop_timer *t, evloop_timer_cb *cb, void *arg);
/* Fire once at deadline_ms (evloop_now_ms units; a past one fires at the
 * next run), replacing any earlier deadline; 0 disarms. An expiry not yet
 * dispatched is forgotten either way. Returns 0 or -errno. */
int evloop_timer_at(struct evloop_timer *t, uint64_t deadline_ms);
/* Disarm, stop watching and close the timerfd; cb never runs again (from
 * the loop thread; see the threads note above). Safe on a timer whose init
 * failed or that was already released. */
void evloop_timer_release(struct evloop_timer *t);
#endif
