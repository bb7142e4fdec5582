#include "vmm/evloop.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

int ev_init(struct evloop *ev)
{
	memset(ev, 0, sizeof(*ev));
	for (unsigned i = 0; i < EV_MAX_WATCH; i++)
		ev->w[i].fd = -1;
	pthread_mutex_init(&ev->lock, NULL);
	ev->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (ev->epfd < 0) {
		int e = -errno;
		pthread_mutex_destroy(&ev->lock);
		return e;
	}
	return 0;
}

void ev_destroy(struct evloop *ev)
{
	if (ev->epfd >= 0)
		close(ev->epfd);
	ev->epfd = -1;
	pthread_mutex_destroy(&ev->lock);
}

int ev_add(struct evloop *ev, int fd, ev_cb cb, void *opaque)
{
	struct epoll_event e = { .events = EPOLLIN };
	int slot = -1, rc = 0;

	pthread_mutex_lock(&ev->lock);
	for (unsigned i = 0; i < EV_MAX_WATCH; i++) {
		if (ev->w[i].fd == fd) {
			rc = -EEXIST;
			goto out;
		}
		if (ev->w[i].fd < 0 && slot < 0)
			slot = (int)i;
	}
	if (slot < 0) {
		rc = -ENOSPC;
		goto out;
	}
	e.data.u32 = (uint32_t)slot;
	if (epoll_ctl(ev->epfd, EPOLL_CTL_ADD, fd, &e) < 0) {
		rc = -errno;
		goto out;
	}
	ev->w[slot] = (struct ev_watch){ .fd = fd, .cb = cb, .opaque = opaque };
out:
	pthread_mutex_unlock(&ev->lock);
	return rc;
}

int ev_del(struct evloop *ev, int fd)
{
	int rc = -ENOENT;

	pthread_mutex_lock(&ev->lock);
	for (unsigned i = 0; i < EV_MAX_WATCH; i++) {
		if (ev->w[i].fd == fd) {
			epoll_ctl(ev->epfd, EPOLL_CTL_DEL, fd, NULL);
			ev->w[i].fd = -1;
			rc = 0;
			break;
		}
	}
	pthread_mutex_unlock(&ev->lock);
	return rc;
}

int ev_run_once(struct evloop *ev, int timeout_ms)
{
	struct epoll_event evs[16];
	int n = epoll_wait(ev->epfd, evs, 16, timeout_ms);

	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n; i++) {
		unsigned slot = evs[i].data.u32;
		struct ev_watch w;

		if (slot >= EV_MAX_WATCH)
			continue;
		pthread_mutex_lock(&ev->lock);
		w = ev->w[slot];
		pthread_mutex_unlock(&ev->lock);
		/* The slot may have been freed by an earlier callback. */
		if (w.fd < 0)
			continue;
		w.cb(w.opaque, w.fd, evs[i].events);
	}
	return n;
}
