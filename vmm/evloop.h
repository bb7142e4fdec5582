/* The main thread's event loop: epoll over fds with callbacks. Callbacks
 * run on the loop thread only; ev_add/ev_del are safe from any thread. */
#ifndef VMM_EVLOOP_H
#define VMM_EVLOOP_H
#include <pthread.h>
#include <stdint.h>

#define EV_MAX_WATCH 64

typedef void (*ev_cb)(void *opaque, int fd, uint32_t events);

struct ev_watch {
	int fd;             /* -1: free slot */
	ev_cb cb;
	void *opaque;
};

struct evloop {
	int epfd;
	pthread_mutex_t lock;
	struct ev_watch w[EV_MAX_WATCH];
};

int ev_init(struct evloop *ev);
void ev_destroy(struct evloop *ev);
/* Watch fd for input. -EEXIST if already watched, -ENOSPC, -EPERM (fd type
 * epoll cannot watch, e.g. a regular file), -errno. */
int ev_add(struct evloop *ev, int fd, ev_cb cb, void *opaque);
int ev_del(struct evloop *ev, int fd);
/* Wait up to timeout_ms (-1: forever) and dispatch. Returns the number of
 * callbacks run, or -errno (EINTR is 0). */
int ev_run_once(struct evloop *ev, int timeout_ms);
#endif
