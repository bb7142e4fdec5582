#include "evloop/evloop.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

static uint64_t evloop_data(const struct evloop *l, int slot)
{
	return (uint64_t)l->slot[slot].gen << 32 | (uint32_t)slot;
}

/* Slot watching fd, or -1. Called with the lock held. */
static int evloop_find(const struct evloop *l, int fd)
{
	for (int i = 0; i < EVLOOP_MAX; i++)
		if (l->slot[i].fd == fd)
			return i;
	return -1;
}

uint64_t evloop_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int evloop_init(struct evloop *l)
{
	int r;

	memset(l, 0, sizeof(*l));
	for (int i = 0; i < EVLOOP_MAX; i++)
		l->slot[i].fd = -1;
	r = pthread_mutex_init(&l->lock, NULL);
	if (r)
		return -r;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		r = -errno;
		pthread_mutex_destroy(&l->lock);
		return r;
	}
	return 0;
}

void evloop_destroy(struct evloop *l)
{
	if (l->epfd >= 0)
		close(l->epfd);
	l->epfd = -1;
	pthread_mutex_destroy(&l->lock);
}

int evloop_add(struct evloop *l, int fd, evloop_cb *cb, void *arg)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int s = -1, r = 0;

	pthread_mutex_lock(&l->lock);
	for (int i = 0; i < EVLOOP_MAX; i++) {
		if (l->slot[i].fd == fd) {
			r = -EEXIST;
			goto out;
		}
		if (l->slot[i].fd < 0 && s < 0)
			s = i;
	}
	if (s < 0) {
		r = -ENOSPC;
		goto out;
	}
	l->slot[s].gen++;
	ev.data.u64 = evloop_data(l, s);
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		r = -errno;
		goto out;
	}
	l->slot[s].fd = fd;
	l->slot[s].cb = cb;
	l->slot[s].arg = arg;
out:
	pthread_mutex_unlock(&l->lock);
	return r;
}

int evloop_set_events(struct evloop *l, int fd, uint32_t events)
{
	struct epoll_event ev = { .events = events };
	int s, r = -ENOENT;

	pthread_mutex_lock(&l->lock);
	s = evloop_find(l, fd);
	if (s >= 0) {
		ev.data.u64 = evloop_data(l, s);
		r = epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) < 0 ? -errno : 0;
	}
	pthread_mutex_unlock(&l->lock);
	return r;
}

int evloop_del(struct evloop *l, int fd)
{
	int s;

	pthread_mutex_lock(&l->lock);
	s = evloop_find(l, fd);
	if (s >= 0) {
		/* Fails only if the caller already closed fd, which removed it
		 * from the set anyway. */
		epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
		l->slot[s].fd = -1;
	}
	pthread_mutex_unlock(&l->lock);
	return s >= 0 ? 0 : -ENOENT;
}

int evloop_run_once(struct evloop *l, int timeout_ms)
{
	struct epoll_event ev[EVLOOP_MAX];
	/* epoll_pwait with no mask: musl's epoll_wait is this call, glibc's is
	 * epoll_wait(2); naming it keeps vmm's main-thread seccomp policy to
	 * the one call in either libc. */
	int n = epoll_pwait(l->epfd, ev, EVLOOP_MAX, timeout_ms, NULL), done = 0;

	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n; i++) {
		uint32_t s = (uint32_t)ev[i].data.u64, gen = (uint32_t)(ev[i].data.u64 >> 32);
		struct evloop_slot w = { .fd = -1 };

		/* An earlier callback of this batch (or another thread) may have
		 * freed this slot, or freed it and given it to another fd. */
		pthread_mutex_lock(&l->lock);
		if (s < EVLOOP_MAX && l->slot[s].gen == gen)
			w = l->slot[s];
		pthread_mutex_unlock(&l->lock);
		if (w.fd < 0)
			continue;
		w.cb(w.arg, w.fd, ev[i].events);
		done++;
	}
	return done;
}

/* ---- timers ---- */

static void evloop_timer_on_fd(void *arg, int fd, uint32_t events)
{
	struct evloop_timer *t = arg;
	uint64_t ticks;

	(void)events;
	/* Nothing to read (EAGAIN): the expiry epoll reported was replaced or
	 * disarmed by evloop_timer_at earlier in this batch. */
	if (read(fd, &ticks, sizeof(ticks)) != (ssize_t)sizeof(ticks))
		return;
	t->cb(t->arg);
}

int evloop_timer_init(struct evloop *l, struct evloop_timer *t, evloop_timer_cb *cb, void *arg)
{
	int r;

	t->l = l;
	t->cb = cb;
	t->arg = arg;
	t->fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (t->fd < 0)
		return -errno;
	r = evloop_add(l, t->fd, evloop_timer_on_fd, t);
	if (r < 0) {
		close(t->fd);
		t->fd = -1;
	}
	return r;
}

int evloop_timer_at(struct evloop_timer *t, uint64_t deadline_ms)
{
	struct itimerspec its;

	if (t->fd < 0)
		return -EBADF;
	/* A zero it_value disarms (timerfd_settime(2)); an absolute time in
	 * the past expires at once. */
	memset(&its, 0, sizeof(its));
	its.it_value.tv_sec = (time_t)(deadline_ms / 1000);
	its.it_value.tv_nsec = (long)(deadline_ms % 1000) * 1000000;
	return timerfd_settime(t->fd, TFD_TIMER_ABSTIME, &its, NULL) < 0 ? -errno : 0;
}

void evloop_timer_release(struct evloop_timer *t)
{
	if (t->fd < 0)
		return;
	evloop_del(t->l, t->fd);
	close(t->fd);
	t->fd = -1;
}
