#include "guest-init/loop.h"

#include <errno.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

uint64_t init_loop_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int init_loop_init(struct init_loop *l)
{
	for (int i = 0; i < INIT_LOOP_MAX; i++) {
		l->slot[i].fd = -1;
		l->slot[i].gen = 0;
	}
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	return l->epfd < 0 ? -errno : 0;
}

int init_loop_add(struct init_loop *l, int fd, init_loop_cb *cb, void *arg)
{
	for (int i = 0; i < INIT_LOOP_MAX; i++) {
		struct epoll_event ev = { .events = EPOLLIN };

		if (l->slot[i].fd >= 0)
			continue;
		l->slot[i].gen++;
		ev.data.u64 = (uint64_t)l->slot[i].gen << 32 | (uint32_t)i;
		if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
			return -errno;
		l->slot[i].fd = fd;
		l->slot[i].cb = cb;
		l->slot[i].arg = arg;
		return 0;
	}
	return -ENOSPC;
}

int init_loop_set_events(struct init_loop *l, int fd, uint32_t events)
{
	for (int i = 0; i < INIT_LOOP_MAX; i++) {
		struct epoll_event ev = { .events = events };

		if (l->slot[i].fd != fd)
			continue;
		ev.data.u64 = (uint64_t)l->slot[i].gen << 32 | (uint32_t)i;
		return epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) < 0 ? -errno : 0;
	}
	return -ENOENT;
}

int init_loop_del(struct init_loop *l, int fd)
{
	for (int i = 0; i < INIT_LOOP_MAX; i++) {
		if (l->slot[i].fd != fd)
			continue;
		epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
		l->slot[i].fd = -1;
		return 0;
	}
	return -ENOENT;
}

int init_loop_run_once(struct init_loop *l, int timeout_ms)
{
	struct epoll_event ev[INIT_LOOP_MAX];
	int n = epoll_wait(l->epfd, ev, INIT_LOOP_MAX, timeout_ms), done = 0;

	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n; i++) {
		uint32_t s = (uint32_t)ev[i].data.u64, gen = (uint32_t)(ev[i].data.u64 >> 32);

		/* A callback may have removed (or removed and reused) a later
		 * slot in this batch. */
		if (s < INIT_LOOP_MAX && l->slot[s].fd >= 0 && l->slot[s].gen == gen) {
			l->slot[s].cb(l->slot[s].arg, l->slot[s].fd, ev[i].events);
			done++;
		}
	}
	return done;
}
